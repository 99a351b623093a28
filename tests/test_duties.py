"""Duties without HTTP: patterns, the week schedule's cells, and reminders sent once through the SMS adapter."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import func, select

from tests.conftest import OFFICER_G12, OFFICER_G34
from volunteers import duties, sms
from volunteers.errors import Conflict, Forbidden, Invalid, NotFound
from volunteers.models import Assignment, Duty, Notification, Task, utcnow
from volunteers.tasks import SHANGHAI

MONDAY = date(2030, 3, 4)  # a Monday far from the demo's own shifts


def make_duty(town, code="G1", title="晚间巡逻", capacity=2, windows=(("19:00", "20:00"),), weekdays=(0, 2)):
    officer = town.user("13800000101" if code in ("G1", "G2") else "13800000102")
    grid = town.grid(code)
    duty = Duty(station_id=grid.station_id, grid_id=grid.id, kind="patrol", title=title, weekdays=list(weekdays),
                windows=[list(w) for w in windows], first_day=MONDAY - timedelta(days=14),
                last_day=MONDAY + timedelta(days=30), capacity=capacity)
    town.session.add(duty)
    town.session.flush()
    made = duties.generate(town.session, user=officer, duty=duty, first=MONDAY - timedelta(days=7),
                           last=MONDAY + timedelta(days=13))
    return duty, made


def take(town, task, phones, state="accepted"):
    for phone in phones:
        town.session.add(Assignment(task_id=task.id, volunteer_id=town.user(phone).id, state=state))
    town.session.commit()


def cells_of(rows, title):
    return [row for row in rows if row.title == title]


def test_the_week_grid_counts_people_and_gaps_for_the_chosen_week_only(town):
    _duty, made = make_duty(town)
    this_week = [t for t in made if MONDAY <= t.starts_at.astimezone(SHANGHAI).date() < MONDAY + timedelta(days=7)]
    monday_task, wednesday_task = this_week
    take(town, monday_task, ["13800000201", "13800000202"])
    take(town, wednesday_task, ["13800000203"])
    take(town, wednesday_task, ["13800000204"], state="declined")
    rows = cells_of(duties.week_rows(town.session, grid_ids=[town.grid("G1").id], monday=MONDAY), "晚间巡逻")
    assert len(rows) == 1
    row = rows[0]
    assert (row.start, row.end) == ("19:00", "20:00")
    assert [len(day) for day in row.cells] == [1, 0, 1, 0, 0, 0, 0]
    monday, wednesday = row.cells[0][0], row.cells[2][0]
    assert (monday.filled, monday.missing) == (2, 0)
    assert (wednesday.filled, wednesday.missing) == (1, 1)
    assert wednesday.names == [town.user("13800000203").name]


def test_the_week_grid_leaves_out_other_grids_and_other_teams(town):
    make_duty(town, code="G3", title="南山夜巡")
    g1 = duties.week_rows(town.session, grid_ids=[town.grid("G1").id], monday=MONDAY)
    g3 = duties.week_rows(town.session, grid_ids=[town.grid("G3").id], monday=MONDAY)
    assert not cells_of(g1, "南山夜巡") and cells_of(g3, "南山夜巡")
    assert duties.week_rows(town.session, grid_ids=[town.grid("G3").id], monday=MONDAY, team_id=999) == []


def test_the_week_grid_is_one_query(town, app):
    make_duty(town)
    import sqlalchemy as sa
    statements = []
    engine = app.extensions["volunteers.engine"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        town.session.expire_all()
        duties.week_rows(town.session, grid_ids=[town.grid("G1").id], monday=MONDAY)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert len([s for s in statements if "FROM task" in s]) == 1


def test_a_night_shift_sits_on_the_day_it_starts(town):
    make_duty(town, title="夜班", windows=(("23:00", "01:00"),), weekdays=(6,))
    row = cells_of(duties.week_rows(town.session, grid_ids=[town.grid("G1").id], monday=MONDAY), "夜班")[0]
    assert [len(day) for day in row.cells] == [0, 0, 0, 0, 0, 0, 1]


# --- Expanding a pattern into shifts --------------------------------------------------------------------

GATE_MONDAY = date(2026, 11, 30)


def school_gate(**overrides) -> Duty:
    values = dict(station_id=1, grid_id=1, kind="school_gate", title="青石小学护学岗", weekdays=[0, 1, 2, 3, 4],
                  windows=[["07:20", "08:00"], ["16:30", "17:20"]], skip_dates=[], first_day=GATE_MONDAY,
                  last_day=GATE_MONDAY + timedelta(days=13), capacity=2)
    values.update(overrides)
    return Duty(**values)


def test_a_school_gate_pattern_makes_two_posts_each_school_day_in_shanghai_time():
    shifts = duties.expand(school_gate(), GATE_MONDAY, GATE_MONDAY + timedelta(days=6))
    assert len(shifts) == 10
    first_start, first_end = shifts[0]
    assert first_start == datetime(2026, 11, 29, 23, 20, tzinfo=timezone.utc)  # 07:20 in Shanghai is UTC+8, no DST
    assert first_end - first_start == timedelta(minutes=40)
    assert all(start.astimezone(SHANGHAI).weekday() < 5 for start, _ in shifts)


def test_skipped_dates_and_the_pattern_bounds_are_respected():
    duty = school_gate(skip_dates=["2026-12-01"], last_day=GATE_MONDAY + timedelta(days=2))
    days = {start.astimezone(SHANGHAI).date() for start, _ in duties.expand(duty)}
    assert days == {GATE_MONDAY, GATE_MONDAY + timedelta(days=2)}


def test_a_night_patrol_ends_the_next_morning():
    duty = school_gate(kind="patrol", weekdays=[4], windows=[["22:00", "02:00"]])
    start, end = duties.expand(duty, GATE_MONDAY, GATE_MONDAY + timedelta(days=6))[0]
    assert end - start == timedelta(hours=4)
    assert end.astimezone(SHANGHAI).weekday() == 5


def test_a_malformed_window_is_refused():
    with pytest.raises(Invalid):
        duties.expand(school_gate(windows=[["7h20", "08:00"]]))


def test_generating_a_duty_twice_makes_each_shift_once(session, town):
    officer = town.user(OFFICER_G12)
    start = (utcnow() + timedelta(days=1)).astimezone(SHANGHAI).date()
    duty = school_gate(station_id=officer.station_id, grid_id=town.grid("G1").id, first_day=start,
                       last_day=start + timedelta(days=13))
    session.add(duty)
    session.commit()
    made = duties.generate(session, user=officer, duty=duty, first=start, last=start + timedelta(days=6))
    again = duties.generate(session, user=officer, duty=duty, first=start, last=start + timedelta(days=6))
    assert len(made) == 10 and again == []
    with pytest.raises(Forbidden):
        duties.generate(session, user=town.user(OFFICER_G34), duty=duty, first=start, last=start)


def form(town, **overrides):
    data = {"title": "护学岗", "kind": "school_gate", "grid": str(town.grid("G1").id), "weekdays": ["0", "4"],
            "start_1": "07:20", "end_1": "08:00", "first_day": "2030-03-04", "last_day": "2030-06-30",
            "skip_dates": "2030-03-08， 2030-04-05", "capacity": "2"}
    data.update(overrides)
    return data


def test_a_pattern_is_read_from_the_form(town):
    duty = duties.parse_pattern(town.session, user=town.user("13800000101"), data=form(town))
    assert duty.weekdays == [0, 4] and duty.windows == [["07:20", "08:00"]]
    assert duty.skip_dates == ["2030-03-08", "2030-04-05"] and duty.capacity == 2


@pytest.mark.parametrize("overrides, code", [
    ({"end_1": "07:20"}, "ends_before_start"), ({"last_day": "2030-03-01"}, "last_before_first"),
    ({"weekdays": ["7", "01"]}, "no_weekday"), ({"start_1": "7:2"}, "bad_time"), ({"capacity": "0"}, "bad_capacity"),
    ({"start_1": "", "end_1": ""}, "no_window"), ({"kind": "party"}, "bad_choice"), ({"team_id": "9999"}, "unknown_team"),
])
def test_bad_patterns_are_refused(town, overrides, code):
    with pytest.raises(Invalid) as err:
        duties.parse_pattern(town.session, user=town.user("13800000101"), data=form(town, **overrides))
    assert err.value.code == code


def test_a_pattern_in_another_officers_grid_is_forbidden(town):
    with pytest.raises(Forbidden):
        duties.parse_pattern(town.session, user=town.user("13800000102"), data=form(town))


def test_creating_a_pattern_makes_the_next_two_weeks(town):
    now = datetime(2030, 3, 4, 0, 0, tzinfo=timezone.utc)  # Monday 08:00 in Shanghai
    duty, made = duties.create_pattern(town.session, user=town.user("13800000101"),
                                       data=form(town, first_day="2030-03-01", skip_dates="2030-03-08"), now=now)
    days = sorted(t.starts_at.astimezone(SHANGHAI).date() for t in made)
    assert days == [date(2030, 3, 4), date(2030, 3, 11), date(2030, 3, 15)]


def test_a_retried_pattern_gives_the_saved_duty_and_its_shifts_and_is_never_someone_elses(town):
    cid = str(uuid.uuid4())
    now = datetime(2030, 3, 4, 0, 0, tzinfo=timezone.utc)
    g1_officer, g3_officer = town.user("13800000101"), town.user("13800000102")
    duty, made = duties.create_pattern(town.session, user=g1_officer, data=form(town, client_id=cid), now=now)
    town.session.commit()
    again, shown = duties.create_pattern(town.session, user=g1_officer, data=form(town, client_id=cid), now=now)
    assert again.id == duty.id and [t.id for t in shown] == [t.id for t in made]
    with pytest.raises(Conflict):
        duties.create_pattern(town.session, user=g1_officer, data=form(town, client_id=cid, capacity="3"), now=now)
    g3 = form(town, client_id=cid, grid=str(town.grid("G3").id))
    with pytest.raises(Conflict):
        duties.create_pattern(town.session, user=g3_officer, data=g3, now=now)
    assert town.session.exec(select(func.count()).select_from(Duty).where(Duty.client_id == cid)).one() == 1


# --- Changing and stopping a pattern -----------------------------------------------------------------------

MONDAY_8AM = datetime(2030, 3, 4, 0, 0, tzinfo=timezone.utc)  # Monday 08:00 in Shanghai


def shifts_of(town, duty) -> list[Task]:
    town.session.expire_all()
    return list(town.session.exec(select(Task).where(Task.duty_id == duty.id).order_by(Task.starts_at)))


def messages_to(town, phone, message) -> int:
    return town.session.exec(select(func.count()).select_from(Notification).where(
        Notification.user_id == town.user(phone).id, Notification.message == message)).one()


def test_changing_the_size_keeps_the_shifts_and_their_people_and_tells_them(town):
    officer = town.user("13800000101")
    duty, made = duties.create_pattern(town.session, user=officer, data=form(town, skip_dates=""), now=MONDAY_8AM)
    town.session.commit()
    take(town, made[-1], ["13800000201"])
    _, kept, cancelled, new = duties.update_pattern(town.session, user=officer, duty_id=duty.id,
                                                    data=form(town, skip_dates="", capacity="3", title="护学岗 一小"),
                                                    now=MONDAY_8AM)
    assert (kept, cancelled, new) == (len(made) - 1, 0, [])  # the Monday 07:20 shift had started at 08:00
    later = [t for t in shifts_of(town, duty) if t.starts_at > MONDAY_8AM]
    assert all(t.capacity == 3 and t.title == "护学岗 一小" for t in later)
    assert messages_to(town, "13800000201", duties.CHANGED) == 1


def test_moving_the_days_cancels_shifts_that_no_longer_fit_and_makes_the_new_ones(town):
    officer = town.user("13800000101")
    duty, made = duties.create_pattern(town.session, user=officer, data=form(town, skip_dates=""), now=MONDAY_8AM)
    town.session.commit()
    friday = next(t for t in made if t.starts_at.astimezone(SHANGHAI).weekday() == 4)
    take(town, friday, ["13800000201"])
    started = [t.id for t in made if t.starts_at <= MONDAY_8AM]
    _, kept, cancelled, new = duties.update_pattern(town.session, user=officer, duty_id=duty.id,
                                                    data=form(town, skip_dates="", weekdays=["0", "2"]), now=MONDAY_8AM)
    days = [t.starts_at.astimezone(SHANGHAI).weekday() for t in shifts_of(town, duty) if t.starts_at > MONDAY_8AM]
    assert set(days) == {0, 2} and cancelled == 2 and len(new) == 2
    assert [t.id for t in shifts_of(town, duty) if t.starts_at <= MONDAY_8AM] == started  # history stays
    assert messages_to(town, "13800000201", duties.CANCELLED) == 1
    assert town.session.get(Task, friday.id) is None


def test_a_bad_change_is_refused_and_nothing_moves(town):
    officer = town.user("13800000101")
    duty, made = duties.create_pattern(town.session, user=officer, data=form(town), now=MONDAY_8AM)
    town.session.commit()
    with pytest.raises(Invalid):
        duties.update_pattern(town.session, user=officer, duty_id=duty.id, data=form(town, capacity="0"),
                              now=MONDAY_8AM)
    town.session.rollback()
    assert len(shifts_of(town, duty)) == len(made) and town.session.get(Duty, duty.id).capacity == 2


def test_another_grids_officer_cannot_change_or_stop_a_pattern(town):
    duty, _made = duties.create_pattern(town.session, user=town.user("13800000101"), data=form(town), now=MONDAY_8AM)
    town.session.commit()
    other = town.user("13800000102")
    with pytest.raises(NotFound):
        duties.update_pattern(town.session, user=other, duty_id=duty.id, data=form(town), now=MONDAY_8AM)
    with pytest.raises(NotFound):
        duties.stop_pattern(town.session, user=other, duty_id=duty.id, now=MONDAY_8AM)


def test_stopping_a_pattern_keeps_its_past_shifts_and_cancels_those_to_come(town):
    officer = town.user("13800000101")
    duty, made = duties.create_pattern(town.session, user=officer, data=form(town, skip_dates=""), now=MONDAY_8AM)
    town.session.commit()
    take(town, made[-1], ["13800000201"])
    deleted, cancelled = duties.stop_pattern(town.session, user=officer, duty_id=duty.id, now=MONDAY_8AM)
    assert not deleted and cancelled == len(made) - 1
    left = shifts_of(town, duty)
    assert [t.id for t in left] == [made[0].id] and left[0].starts_at <= MONDAY_8AM
    assert town.session.get(Duty, duty.id).last_day == date(2030, 3, 4)
    assert messages_to(town, "13800000201", duties.CANCELLED) == 1


def test_stopping_a_pattern_before_its_first_shift_deletes_it(town):
    officer = town.user("13800000101")
    duty, made = duties.create_pattern(town.session, user=officer, data=form(town, first_day="2030-03-05"),
                                       now=MONDAY_8AM)
    town.session.commit()
    deleted, cancelled = duties.stop_pattern(town.session, user=officer, duty_id=duty.id, now=MONDAY_8AM)
    assert deleted and cancelled == len(made) > 0
    assert town.session.get(Duty, duty.id) is None


# --- Reminders ---------------------------------------------------------------------------------------------

def soon_shift(town, starts_in: timedelta, now: datetime) -> Task:
    grid = town.grid("G1")
    task = Task(client_id=f"soon-{starts_in}", fingerprint="t", station_id=grid.station_id, grid_id=grid.id,
                kind="patrol", title="早巡", starts_at=now + starts_in, ends_at=now + starts_in + timedelta(hours=1),
                capacity=3)
    town.session.add(task)
    town.session.commit()
    return task


def no_demo_shift_soon(town) -> None:
    """The demo's own shifts that start within two hours lose their accepted people: a test that counts reminders must
    not meet the school gate's 16:30 post (it did between 07:30 and 08:30 UTC)."""
    now = datetime.now(timezone.utc)
    soon = select(Task.id).where(Task.starts_at > now - timedelta(minutes=5), Task.starts_at <= now + timedelta(hours=2))
    for assignment in town.session.exec(select(Assignment).where(Assignment.task_id.in_(soon),
                                                                 Assignment.state == "accepted")):
        town.session.delete(assignment)
    town.session.commit()


def reminders(town) -> int:
    town.session.expire_all()
    return town.session.exec(select(func.count()).select_from(Notification)
                             .where(Notification.message == duties.REMINDER)).one()


def test_a_shift_within_the_hour_is_reminded_once_by_sms(town):
    now = datetime(2030, 3, 4, 0, 0, tzinfo=timezone.utc)
    task = soon_shift(town, timedelta(minutes=30), now)
    take(town, task, ["13800000201"])
    take(town, task, ["13800000202"], state="offered")
    later = soon_shift(town, timedelta(minutes=90), now)
    take(town, later, ["13800000203"])
    adapter = sms.LoggingSms()
    assert duties.remind_upcoming(town.session, now, sms=adapter) == 1
    assert adapter.sent == [("13800000201", "Reminder: “早巡” starts at 08:30.")]
    assert reminders(town) == 1
    assert duties.remind_upcoming(town.session, now + timedelta(minutes=5), sms=adapter) == 0
    assert len(adapter.sent) == 1 and reminders(town) == 1


def test_a_started_shift_gets_no_reminder(town):
    now = datetime(2030, 3, 4, 0, 0, tzinfo=timezone.utc)
    task = soon_shift(town, timedelta(minutes=-5), now)
    take(town, task, ["13800000201"])
    adapter = sms.LoggingSms()
    assert duties.remind_upcoming(town.session, now, sms=adapter) == 0 and adapter.sent == []


def test_the_sms_backend_comes_from_config():
    assert isinstance(sms.backend(None), sms.LoggingSms)
    assert isinstance(sms.backend("log"), sms.LoggingSms)
    with pytest.raises(ValueError, match="Unknown SMS_BACKEND"):
        sms.backend("carrier-pigeon")


def test_the_sms_backend_is_read_from_the_environment(tmp_path):
    from volunteers import config
    settings = config.load(str(tmp_path), {"VOLUNTEERS_SMS_BACKEND": "carrier-pigeon", "SECRET_KEY": "x"}, None)
    assert settings["SMS_BACKEND"] == "carrier-pigeon"
    assert config.load(str(tmp_path), {"SECRET_KEY": "x"}, None).get("SMS_BACKEND") in (None, "log")


def test_an_unknown_sms_backend_stops_the_app(make_app):
    with pytest.raises(ValueError, match="SMS_BACKEND"):
        make_app(SMS_BACKEND="carrier-pigeon")


def test_flask_remind_sends_through_the_configured_adapter(app, town):
    now = datetime.now(timezone.utc)
    task = soon_shift(town, timedelta(minutes=20), now)
    take(town, task, ["13800000201"])
    result = app.test_cli_runner().invoke(args=["remind"])
    assert result.exit_code == 0, result.output
    assert "Reminders sent:" in result.output and "Reminders sent: 0" not in result.output
    mine = town.session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    assert town.session.exec(select(Notification).where(Notification.link == duties.reminder_link(mine.id))).one()


def test_flask_jobs_once_sends_the_reminders_and_a_second_round_sends_none(app, town):
    no_demo_shift_soon(town)
    task = soon_shift(town, timedelta(minutes=20), datetime.now(timezone.utc))
    take(town, task, ["13800000201"])
    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "--once"])
    assert first.exit_code == 0, first.output
    assert "remind: 1" in first.output
    second = runner.invoke(args=["jobs", "--once"])
    assert second.exit_code == 0 and "remind: 0" in second.output


def test_a_failing_job_does_not_stop_the_others_and_fails_the_round(app, town):
    from volunteers.web import jobs

    def broken() -> int:
        raise RuntimeError("the SMS gateway is down")

    no_demo_shift_soon(town)
    app.extensions[jobs.EXTENSION] = {"broken": broken, **app.extensions[jobs.EXTENSION]}
    result = app.test_cli_runner().invoke(args=["jobs", "--once"])
    assert result.exit_code == 1
    assert "broken: FAILED" in result.output and "remind: 0" in result.output


def test_jobs_refuses_a_silly_interval(app):
    result = app.test_cli_runner().invoke(args=["jobs", "--every", "1"])
    assert result.exit_code == 2 and "--every" in result.output


def test_the_demo_has_a_school_gate_duty_with_gaps(town):
    duty = town.session.exec(select(Duty).where(Duty.title == "护学岗")).one()
    assert duty.windows == [["07:20", "08:00"], ["16:30", "17:20"]] and duty.capacity == 2
    rows = duties.week_rows(town.session, grid_ids=[duty.grid_id], monday=duties.monday_of(duties.today()))
    cells = [c for row in cells_of(rows, "护学岗") for day in row.cells for c in day]
    assert len(cells) == 10
    assert any(c.missing for c in cells) and any(c.filled == 2 for c in cells)
