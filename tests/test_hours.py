"""The hours ledger: derivation rules and their edges, manual entries, decisions, corrections, locked months,
star levels, the tally (one query, every view), the monthly evaluation and the exports."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import hazards, hours, patrols, photos, tasks
from volunteers.errors import Conflict, Forbidden, Invalid, NotFound
from volunteers.models import (Assignment, AuditEvent, CheckIn, MonthCertification, Patrol, Route, ServiceRecord, Task,
                               TeamMember, utcnow)

UTC = timezone.utc


def at(text: str) -> datetime:
    """A Shanghai wall-clock time, e.g. '2025-03-01 08:00', as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=hours.SHANGHAI).astimezone(UTC)


def patrol(session, town, start: str, end: str, phone=VOLUNTEER, checkin=True, route=True) -> Patrol:
    """An ended patrol on the volunteer's home route, with a check-in at its first point unless told otherwise."""
    user = town.user(phone)
    grid_route = session.exec(select(Route).where(Route.grid_id == user.home_grid_id)).first()
    p = Patrol(client_id=str(uuid.uuid4()), fingerprint="t", user_id=user.id, route_id=grid_route.id if route else None,
               station_id=user.station_id, started_at=at(start), ended_at=at(end))  # as patrols.start sets it
    session.add(p)
    session.flush()
    if checkin:
        cp = town.checkpoints(town.session.get(type(town.grid("G1")), user.home_grid_id).code)[0]
        session.add(CheckIn(client_id=str(uuid.uuid4()), fingerprint="t", patrol_id=p.id, checkpoint_id=cp.id,
                            method="qr", recorded_at=at(start) + timedelta(minutes=5)))
    session.commit()
    return p


def derive(session, p):
    record = hours.from_patrol(session, p)
    session.commit()
    return record


# --- derivation rules ---------------------------------------------------------------------------------------

def test_an_ended_patrol_becomes_a_pending_record_of_its_minutes_in_its_routes_grid(town, session):
    record = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 09:35:59"))
    assert (record.source, record.status, record.minutes, record.flags) == ("patrol", "pending", 95, [])
    assert record.grid_id == town.grid("G1").id and record.month == "2025-03"


def test_deriving_twice_gives_the_same_record(town, session):
    p = patrol(session, town, "2025-03-03 08:00", "2025-03-03 09:00")
    first, second = derive(session, p), derive(session, p)
    assert first.id == second.id
    assert session.exec(select(sa.func.count()).select_from(ServiceRecord).where(ServiceRecord.patrol_id == p.id)).one() == 1


def test_a_patrol_without_a_route_counts_for_the_volunteers_home_grid(town, session):
    record = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 09:00", phone=VOLUNTEER_G3, route=False,
                                    checkin=False))
    assert record.grid_id == town.grid("G3").id


def test_a_patrol_with_no_check_in_at_a_must_visit_point_is_flagged_for_review(town, session):
    record = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 09:00", checkin=False))
    assert record.flags == ["no_checkpoint"] and record.minutes == 60 and record.status == "pending"


def test_one_patrol_counts_at_most_twelve_hours(town, session):
    record = derive(session, patrol(session, town, "2025-03-03 06:00", "2025-03-04 07:00"))
    assert record.minutes == 720 and "capped" in record.flags


def test_exactly_twelve_hours_is_not_capped(town, session):
    record = derive(session, patrol(session, town, "2025-03-03 06:00", "2025-03-03 18:00"))
    assert record.minutes == 720 and record.flags == []


def test_a_patrol_over_midnight_belongs_to_the_day_and_month_it_started(town, session):
    record = derive(session, patrol(session, town, "2025-03-31 23:30", "2025-04-01 00:45"))
    assert record.minutes == 75 and record.month == "2025-03"


def test_the_month_is_taken_in_shanghai_time_not_utc(town, session):
    # 00:30 on 1 April in Shanghai is still 31 March in UTC.
    record = derive(session, patrol(session, town, "2025-04-01 00:30", "2025-04-01 01:30"))
    assert record.starts_at.month == 3 and record.month == "2025-04"
    april = hours.tally(session, town.user(VOLUNTEER).station_id, date(2025, 4, 1), date(2025, 4, 30))
    march = hours.tally(session, town.user(VOLUNTEER).station_id, date(2025, 3, 1), date(2025, 3, 31))
    assert [r.pending_minutes for r in april] == [60] and march == []


def test_overlapping_patrols_count_only_the_minutes_not_yet_counted(town, session):
    first = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 10:00"))
    second = derive(session, patrol(session, town, "2025-03-03 09:30", "2025-03-03 11:00"))
    inside = derive(session, patrol(session, town, "2025-03-03 08:15", "2025-03-03 08:45"))
    assert first.minutes == 120 and first.flags == []
    assert second.minutes == 60 and "overlap" in second.flags
    assert inside.minutes == 0 and "overlap" in inside.flags


def test_a_rejected_record_does_not_cover_later_ones(town, session):
    first = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 10:00"))
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[first.id], approve=False, reason="假记录")
    second = derive(session, patrol(session, town, "2025-03-03 09:00", "2025-03-03 10:00"))
    assert second.minutes == 60 and second.flags == []


def test_rejecting_a_record_gives_the_pending_records_it_shortened_their_minutes_back(town, session):
    first = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 10:00"))
    second = derive(session, patrol(session, town, "2025-03-03 09:00", "2025-03-03 11:00"))
    third = derive(session, patrol(session, town, "2025-03-03 09:30", "2025-03-03 10:30"))
    assert (second.minutes, third.minutes) == (60, 0)
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[first.id], approve=False, reason="假记录")
    session.expire_all()
    second, third = session.get(ServiceRecord, second.id), session.get(ServiceRecord, third.id)
    # The second now counts whole; the third is still inside the second, so it stays at nothing.
    assert (second.minutes, second.flags) == (120, [])
    assert (third.minutes, third.flags) == (0, ["overlap"])
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "service_record.recount")).all()


def test_a_rejection_leaves_decided_records_and_other_people_alone(town, session):
    first = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 10:00"))
    approved = derive(session, patrol(session, town, "2025-03-03 09:00", "2025-03-03 11:00"))
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[approved.id], approve=True)
    other = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 10:00", phone="13800000202"))
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[first.id], approve=False, reason="假记录")
    session.expire_all()
    assert session.get(ServiceRecord, approved.id).minutes == 60
    assert session.get(ServiceRecord, other.id).minutes == 120


def test_a_rejection_gives_a_long_patrol_back_only_up_to_the_cap(town, session):
    first = derive(session, patrol(session, town, "2025-03-03 06:00", "2025-03-03 10:00"))
    long = derive(session, patrol(session, town, "2025-03-03 06:00", "2025-03-03 20:00"))
    assert (long.minutes, long.flags) == (600, ["overlap"])
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[first.id], approve=False, reason="重复")
    session.expire_all()
    assert (session.get(ServiceRecord, long.id).minutes, session.get(ServiceRecord, long.id).flags) == (720, ["capped"])


def test_other_peoples_patrols_do_not_overlap(town, session):
    derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 10:00"))
    other = derive(session, patrol(session, town, "2025-03-03 08:00", "2025-03-03 10:00", phone="13800000202"))
    assert other.minutes == 120


def verified_assignment(session, town, start: str, end: str, phone=VOLUNTEER) -> Assignment:
    """A past shift in G1 whose assignment was done, then verified by the grid's officer through tasks.act."""
    user = town.user(phone)
    task = Task(client_id=str(uuid.uuid4()), fingerprint="t", station_id=user.station_id, grid_id=town.grid("G1").id,
                kind="patrol", title="夜巡", starts_at=at(start), ends_at=at(end))
    session.add(task)
    session.flush()
    a = Assignment(task_id=task.id, volunteer_id=user.id, state="done")
    session.add(a)
    session.commit()
    return tasks.act(session, user=town.user(OFFICER_G12), assignment_id=a.id, action="verify")


def test_a_verified_assignment_becomes_a_record_of_its_shifts_minutes(town, session):
    a = verified_assignment(session, town, "2025-03-05 19:00", "2025-03-05 21:30")
    record = session.exec(select(ServiceRecord).where(ServiceRecord.assignment_id == a.id)).one()
    assert (record.source, record.minutes, record.status, record.grid_id) == ("assignment", 150, "pending", town.grid("G1").id)
    assert hours.from_assignment(session, a).id == record.id


def test_a_no_show_earns_nothing(town, session):
    user = town.user(VOLUNTEER)
    task = Task(client_id=str(uuid.uuid4()), fingerprint="t", station_id=user.station_id, grid_id=town.grid("G1").id,
                kind="patrol", title="夜巡", starts_at=at("2025-03-05 19:00"), ends_at=at("2025-03-05 21:00"))
    session.add(task)
    session.flush()
    a = Assignment(task_id=task.id, volunteer_id=user.id, state="accepted")
    session.add(a)
    session.commit()
    tasks.act(session, user=town.user(OFFICER_G12), assignment_id=a.id, action="no_show")
    assert session.exec(select(ServiceRecord).where(ServiceRecord.assignment_id == a.id)).first() is None


def test_a_patrol_during_a_verified_shift_is_not_counted_twice(town, session):
    verified_assignment(session, town, "2025-03-05 19:00", "2025-03-05 21:00")
    record = derive(session, patrol(session, town, "2025-03-05 20:00", "2025-03-05 22:00"))
    assert record.minutes == 60 and "overlap" in record.flags


def test_ending_a_patrol_files_its_record(quiet_day, session):
    town = quiet_day
    user = town.user(VOLUNTEER)
    p, _ = patrols.start(session, user=user, client_id=str(uuid.uuid4()))
    p.started_at = utcnow() - timedelta(minutes=42)
    session.add(p)
    session.commit()
    patrols.end(session, user=user, patrol_id=p.id)
    record = session.exec(select(ServiceRecord).where(ServiceRecord.patrol_id == p.id)).one()
    assert record.minutes == 42 and record.flags == ["no_checkpoint"]
    patrols.end(session, user=user, patrol_id=p.id)  # a retry files nothing more
    assert session.exec(select(sa.func.count()).select_from(ServiceRecord).where(ServiceRecord.patrol_id == p.id)).one() == 1


# --- manual entries, decisions, corrections, locks ------------------------------------------------------------

def manual(session, town, day="2025-03-10", minutes="90", by=COORDINATOR, phone=VOLUNTEER, reason="消防培训"):
    return hours.add_manual(session, user=town.user(by), data={"volunteer_id": str(town.user(phone).id), "day": day,
                                                               "minutes": minutes, "reason": reason})


def test_the_coordinator_adds_hours_by_hand_with_a_reason(town, session):
    record = manual(session, town)
    assert (record.source, record.minutes, record.status, record.reason, record.month) == \
        ("manual", 90, "pending", "消防培训", "2025-03")
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "service_record.manual")).first()


@pytest.mark.parametrize("data, code", [
    ({"reason": ""}, "reason_required"), ({"minutes": "0"}, "out_of_range"), ({"minutes": "abc"}, "bad_number"),
    ({"day": "2025-13-01"}, "bad_date"), ({"day": "2099-01-01"}, "in_the_future"),
])
def test_a_manual_entry_needs_a_reason_sane_minutes_and_a_real_past_day(town, session, data, code):
    values = {"day": "2025-03-10", "minutes": "90", "reason": "培训"} | data
    with pytest.raises(Invalid) as err:
        manual(session, town, **values)
    assert err.value.code == code


@pytest.mark.parametrize("phone", [OFFICER_G12, VOLUNTEER])
def test_only_the_coordinator_adds_hours_by_hand(town, session, phone):
    with pytest.raises(Forbidden):
        manual(session, town, by=phone)


def test_an_officer_approves_records_of_their_grids_one_or_many(town, session):
    one, two = manual(session, town), manual(session, town, day="2025-03-11")
    decided = hours.decide(session, user=town.user(OFFICER_G12), record_ids=[one.id, two.id], approve=True)
    assert [r.status for r in decided] == ["approved", "approved"]
    assert decided[0].decided_by_id == town.user(OFFICER_G12).id
    assert hours.decide(session, user=town.user(OFFICER_G12), record_ids=[one.id], approve=True)[0].status == "approved"


def test_a_rejection_needs_a_reason(town, session):
    record = manual(session, town)
    with pytest.raises(Invalid):
        hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=False, reason=" ")
    rejected = hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=False, reason="重复登记")
    assert rejected[0].status == "rejected" and rejected[0].rejection_reason == "重复登记"


def test_an_officer_cannot_decide_another_grids_records_and_a_batch_is_all_or_nothing(town, session):
    mine, theirs = manual(session, town), manual(session, town, phone=VOLUNTEER_G3)
    with pytest.raises(NotFound):
        hours.decide(session, user=town.user(OFFICER_G12), record_ids=[mine.id, theirs.id], approve=True)
    session.expire_all()
    assert session.get(ServiceRecord, mine.id).status == "pending"


def test_a_volunteer_cannot_approve_their_own_hours(town, session):
    record = manual(session, town)
    with pytest.raises(Forbidden):
        hours.decide(session, user=town.user(VOLUNTEER), record_ids=[record.id], approve=True)


def test_a_decided_record_is_never_changed_but_corrected_by_a_linked_record(town, session):
    record = manual(session, town)
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=True)
    with pytest.raises(Conflict):
        hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=False, reason="错")
    fix = hours.correct(session, user=town.user(OFFICER_G12), record_id=record.id,
                        data={"minutes": "-30", "reason": "实际只有一小时"})
    assert (fix.source, fix.corrects_id, fix.minutes, fix.status) == ("correction", record.id, -30, "pending")
    hours.decide(session, user=town.user(COORDINATOR), record_ids=[fix.id], approve=True)
    session.expire_all()
    assert session.get(ServiceRecord, record.id).minutes == 90
    total = hours.summary(session, town.user(VOLUNTEER))["total"]
    assert total.approved_minutes - sum(r.minutes for r in session.exec(select(ServiceRecord).where(
        ServiceRecord.volunteer_id == town.user(VOLUNTEER).id, ServiceRecord.status == "approved",
        ServiceRecord.id.not_in([record.id, fix.id])))) == 60


def test_only_approved_records_are_corrected(town, session):
    record = manual(session, town)
    with pytest.raises(Conflict):
        hours.correct(session, user=town.user(OFFICER_G12), record_id=record.id, data={"minutes": "10", "reason": "x"})
    with pytest.raises(NotFound):
        hours.correct(session, user=town.user(OFFICER_G34), record_id=record.id, data={"minutes": "10", "reason": "x"})


def test_a_certified_month_is_locked(town, session):
    approved, pending = manual(session, town), manual(session, town, day="2025-03-12")
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[approved.id], approve=True)
    with pytest.raises(Conflict) as err:
        hours.certify(session, user=town.user(COORDINATOR), month="2025-03")
    assert err.value.code == "pending_left"
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[pending.id], approve=False, reason="无据")
    cert = hours.certify(session, user=town.user(COORDINATOR), month="2025-03")
    assert hours.certify(session, user=town.user(COORDINATOR), month="2025-03").id == cert.id
    with pytest.raises(Conflict) as err:
        manual(session, town, day="2025-03-20")
    assert err.value.code == "month_locked" and "2025-03" in str(err.value)
    # a correction of a locked record lands in the open current month
    fix = hours.correct(session, user=town.user(COORDINATOR), record_id=approved.id, data={"minutes": "15", "reason": "漏记"})
    assert fix.month == hours.month_of(utcnow())


def test_a_pending_record_in_a_locked_month_cannot_be_decided(town, session):
    record = manual(session, town)
    session.add(MonthCertification(station_id=record.station_id, month="2025-03"))
    session.commit()
    with pytest.raises(Conflict) as err:
        hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=True)
    assert err.value.code == "month_locked"


def test_a_patrol_that_arrives_after_its_month_was_certified_is_filed_in_the_open_month_and_can_be_decided(town, session):
    station_id = town.user(VOLUNTEER).station_id
    session.add(MonthCertification(station_id=station_id, month="2025-03"))
    session.commit()
    record = derive(session, patrol(session, town, "2025-03-31 22:00", "2025-03-31 23:30"))
    assert record.month == hours.month_of(utcnow()) and hours.FLAG_LATE in record.flags
    assert record.starts_at == at("2025-03-31 22:00") and record.minutes == 90  # when it happened is kept
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=True)
    session.refresh(record)
    assert record.status == "approved"


@pytest.mark.parametrize("month, error", [("2025-3", Invalid), ("soon", Invalid), (None, Invalid)])
def test_certify_needs_a_month(town, session, month, error):
    with pytest.raises(error):
        hours.certify(session, user=town.user(COORDINATOR), month=month)


def test_the_current_month_cannot_be_certified_and_officers_cannot_certify(town, session):
    with pytest.raises(Invalid):
        hours.certify(session, user=town.user(COORDINATOR), month=hours.month_of(utcnow()))
    with pytest.raises(Forbidden):
        hours.certify(session, user=town.user(OFFICER_G12), month="2025-03")


# --- stars ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hours_done, level, to_next", [
    (0, 0, 100), (99.5, 0, 0.5), (100, 1, 200), (299, 1, 1), (300, 2, 300), (600, 3, 400), (1000, 4, 500),
    (1499, 4, 1), (1500, 5, 0), (4000, 5, 0),
])
def test_star_levels(hours_done, level, to_next):
    stars = hours.star_level(int(hours_done * 60))
    assert stars["level"] == level and stars["hours_to_next"] == to_next


def test_progress_to_the_next_star_is_a_percentage_of_the_step():
    assert hours.star_level(200 * 60)["percent"] == 50


# --- the tally --------------------------------------------------------------------------------------------------

def test_the_tally_counts_approved_and_pending_and_ignores_rejected_in_every_view(town, session):
    officer = town.user(OFFICER_G12)
    a, c = manual(session, town, minutes="60"), manual(session, town, minutes="500")
    manual(session, town, minutes="30")  # stays pending
    hours.decide(session, user=officer, record_ids=[a.id], approve=True)
    hours.decide(session, user=officer, record_ids=[c.id], approve=False, reason="错")
    station = officer.station_id
    args = (session, station, date(2025, 3, 1), date(2025, 3, 31))
    [v] = hours.tally(*args)
    assert (v.id, v.approved_minutes, v.pending_minutes, v.approved_hours) == (town.user(VOLUNTEER).id, 60, 30, 1.0)
    [g] = hours.tally(*args, by="grid")
    assert (g.id, g.approved_minutes, g.pending_minutes) == (town.grid("G1").id, 60, 30)
    teams = hours.tally(*args, by="team")
    members = set(session.exec(select(TeamMember.team_id).where(TeamMember.user_id == town.user(VOLUNTEER).id)))
    assert {t.id for t in teams} == members and all(t.approved_minutes == 60 for t in teams)


def test_the_tally_filters_and_scopes(town, session):
    manual(session, town, minutes="60")
    manual(session, town, minutes="45", phone=VOLUNTEER_G3)
    args = (session, town.user(VOLUNTEER).station_id, date(2025, 3, 1), date(2025, 3, 31))
    assert {r.pending_minutes for r in hours.tally(*args)} == {60, 45}
    assert [r.pending_minutes for r in hours.tally(*args, grid_ids=[town.grid("G3").id])] == [45]
    assert hours.tally(*args, grid_ids=[]) == []
    assert [r.pending_minutes for r in hours.tally(*args, grid_id=town.grid("G1").id)] == [60]
    assert [r.pending_minutes for r in hours.tally(*args, volunteer_id=town.user(VOLUNTEER_G3).id)] == [45]
    team = session.exec(select(TeamMember.team_id).where(TeamMember.user_id == town.user(VOLUNTEER).id)).first()
    assert 60 in [r.pending_minutes for r in hours.tally(*args, team_id=team)]
    assert hours.tally(session, 999, date(2025, 3, 1), date(2025, 3, 31)) == []


def test_the_tally_periods_are_whole_local_days(town, session):
    derive(session, patrol(session, town, "2025-03-10 23:50", "2025-03-11 00:20"))
    station = town.user(VOLUNTEER).station_id
    assert hours.tally(session, station, date(2025, 3, 10), date(2025, 3, 10))[0].pending_minutes == 30
    assert hours.tally(session, station, date(2025, 3, 11), date(2025, 3, 11)) == []


def test_the_tally_refuses_a_backwards_period_or_an_unknown_view(town, session):
    with pytest.raises(Invalid):
        hours.tally(session, 1, date(2025, 3, 2), date(2025, 3, 1))
    with pytest.raises(Invalid):
        hours.tally(session, 1, date(2025, 3, 1), date(2025, 3, 2), by="street")


def test_the_tally_is_one_query(town, session):
    manual(session, town)
    statements = []
    engine = session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        for by in hours.TALLY_VIEWS:
            hours.tally(session, 1, date(2025, 3, 1), date(2025, 3, 31), by=by)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3 and all("GROUP BY" in s.upper() for s in selects)


def test_a_volunteers_summary_and_stars(town, session):
    user = town.user(VOLUNTEER)
    record = manual(session, town, minutes="600")
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=True)
    s = hours.summary(session, user, today=date(2025, 3, 31))
    assert s["month"].approved_minutes == 600 and s["year"].approved_minutes == 600
    assert s["total"].approved_minutes >= 600 and s["stars"]["level"] == hours.star_level(s["total"].approved_minutes)["level"]
    assert hours.summary(session, user, today=date(2025, 4, 15))["month"].approved_minutes == 0


# --- monthly evaluation ----------------------------------------------------------------------------------------

def test_the_monthly_evaluation_per_grid_and_team(town, session):
    p1 = patrol(session, town, "2025-03-03 08:00", "2025-03-03 09:00")
    patrol(session, town, "2025-03-04 08:00", "2025-03-04 09:00", checkin=False)
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[derive(session, p1).id], approve=True)
    verified_assignment(session, town, "2025-03-05 19:00", "2025-03-05 21:00")
    rows = {r.id: r for r in hours.evaluation(session, town.user(VOLUNTEER).station_id, "2025-03", by="grid")}
    g1 = rows[town.grid("G1").id]
    route_points = len(town.checkpoints("G1"))
    assert (g1.volunteers_active, g1.turnouts, g1.approved_minutes, g1.tasks_done, g1.tasks_no_show) == (1, 2, 60, 1, 0)
    assert (g1.points_expected, g1.points_visited) == (2 * route_points, 1)
    assert g1.coverage == round(100 / (2 * route_points), 1)
    assert rows[town.grid("G3").id].turnouts == 0 and rows[town.grid("G3").id].coverage is None
    teams = hours.evaluation(session, town.user(VOLUNTEER).station_id, "2025-03", by="team")
    assert sum(t.turnouts for t in teams) >= 2


def test_the_evaluation_counts_a_hazard_in_the_month_it_was_closed(town, session, tmp_path):
    """Closing stamps hazard.closed_at (the state is final); 月考评 counts the hazard in that month, for its grid and
    for its reporter's teams, and in no other month."""
    store, volunteer, officer = photos.PhotoStore(tmp_path), town.user(VOLUNTEER), town.user(OFFICER_G12)
    cp = town.checkpoints("G1")[0]
    hazard, _ = hazards.report(session, user=volunteer, uploads=[], store=store, data={
        "client_id": str(uuid.uuid4()), "kind": "hazard", "category": "fire", "description": "楼道堆放纸箱",
        "lat": cp.lat, "lon": cp.lon, "accuracy_m": 10})
    month, station = hours.month_of(utcnow()), volunteer.station_id
    year, number = map(int, month.split("-"))
    last_month = f"{year - (number == 1)}-{(number - 2) % 12 + 1:02d}"

    def closed(month, by="grid"):
        return {r.id: r.hazards_closed for r in hours.evaluation(session, station, month, by=by)}
    before, before_teams, before_last = closed(month), closed(month, "team"), closed(last_month)
    for to in ("accepted", "assigned", "rectifying", "rectified", "closed"):
        who = town.user(COORDINATOR) if to == "closed" else officer
        hazard = hazards.transition(session, user=who, hazard_id=hazard.id, data={"to": to, "note": "已处理"},
                                    photo=None, store=store)
    assert hazard.status == "closed" and hazard.closed_at is not None
    assert abs((hazard.closed_at - utcnow()).total_seconds()) < 60
    grid = hazard.grid_id
    assert closed(month)[grid] == before[grid] + 1 and closed(last_month) == before_last
    teams = [m.team_id for m in session.exec(select(TeamMember).where(TeamMember.user_id == volunteer.id))]
    after_teams = closed(month, "team")
    assert teams and all(after_teams[t] == before_teams[t] + 1 for t in teams)


# --- exports -----------------------------------------------------------------------------------------------------

def test_the_xlsx_export_has_chinese_headers_and_numbers_as_numbers(town, session):
    record = manual(session, town, minutes="95")
    hours.decide(session, user=town.user(OFFICER_G12), record_ids=[record.id], approve=True)
    rows = hours.tally(session, 1, date(2025, 3, 1), date(2025, 3, 31))
    book = openpyxl.load_workbook(io.BytesIO(hours.export_xlsx(rows, "volunteer", date(2025, 3, 1), date(2025, 3, 31))))
    sheet = book.active
    assert sheet["B1"].value == "志愿者" and sheet["C1"].value == "已审核时长（小时）"
    assert sheet["B2"].value == town.user(VOLUNTEER).name
    assert sheet["C2"].value == pytest.approx(1.58) and isinstance(sheet["C2"].value, float)
    assert sheet["E2"].value == 95 and isinstance(sheet["E2"].value, int)
    assert sheet["G2"].value.date() == date(2025, 3, 1)


def test_the_csv_export_starts_with_a_bom_and_reads_back(town, session):
    manual(session, town, minutes="30")
    rows = hours.tally(session, 1, date(2025, 3, 1), date(2025, 3, 31), by="grid")
    data = hours.export_csv(rows, "grid", date(2025, 3, 1), date(2025, 3, 31))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][1] == "网格" and table[1][1] == town.grid("G1").name and table[1][3] == "0.50"
