"""Task pages: my tasks (today first) with accept / decline / done, open places to claim, the officer's list with
verify and no-show, the new-task form (also as a hazard's follow-up), as full pages and htmx partials, and who may
reach what."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlmodel import func, select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3, begun
from volunteers import hazards, tasks
from volunteers.models import Assignment, Station, Task, Team, utcnow
from volunteers.duties import today as shanghai_today
from volunteers.tasks import SHANGHAI

HX = {"HX-Request": "true"}
OTHER_VOLUNTEER_G1 = "13800000202"


def later(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


@pytest.fixture
def give(session, town):
    """A task given through the domain by the G1/G2 officer, offered to the G1 volunteer unless told otherwise."""

    def _give(**data) -> tuple[Task, Assignment | None]:
        body = {"client_id": str(uuid.uuid4()), "kind": "patrol", "title": "夜间巡逻", "grid": town.grid("G1").id,
                "starts_at": later(2), "ends_at": later(4), "place": "东街菜场门口",
                "volunteer_ids": [town.user(VOLUNTEER).id]}
        body.update(data)
        task, _ = tasks.create(session, user=town.user(OFFICER_G12), data=body)
        offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).first()
        return task, offer

    _give.session = session
    return _give


def state(session, assignment_id: int) -> str:
    session.expire_all()
    return session.get(Assignment, assignment_id).state


def task_count(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Task)).one()


def form(town, **overrides) -> dict:
    """A valid new-task form: tomorrow 07:20–08:00 Beijing time at the G1 school gate, for the G1 volunteer."""
    tomorrow = (utcnow().astimezone(SHANGHAI) + timedelta(days=1)).date().isoformat()
    data = {"client_id": str(uuid.uuid4()), "kind": "school_gate", "title": "青石小学护学岗", "grid": str(town.grid("G1").id),
            "start_date": tomorrow, "start_time": "07:20", "end_time": "08:00", "capacity": "2", "place": "校门口",
            "notes": "", "team_id": "", "volunteer_ids": [str(town.user(VOLUNTEER).id)]}
    data.update(overrides)
    return data


# --- My tasks ------------------------------------------------------------------------------------------------

def test_a_volunteer_sees_the_offer_as_a_card_with_accept_and_decline(english, give):
    task, offer = give()
    page = english(VOLUNTEER).get("/tasks/")
    assert page.status_code == 200 and "<html" in page.text
    assert f'id="assignment-{offer.id}"' in page.text and "夜间巡逻" in page.text and "东街菜场门口" in page.text
    assert "Patrol shift" in page.text and "Offered" in page.text
    assert f"/tasks/assignments/{offer.id}/accept" in page.text and f"/tasks/assignments/{offer.id}/decline" in page.text
    assert f"/tasks/assignments/{offer.id}/verify" not in page.text


def test_the_task_list_is_also_a_partial_for_htmx(english, give):
    give()
    partial = english(VOLUNTEER).get("/tasks/", headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.text and 'id="tasks"' in partial.text
    assert "夜间巡逻" in partial.text
    assert partial.headers.get("Vary", "").find("HX-Request") >= 0


def test_times_are_shown_in_beijing_time(english, give):
    start = (utcnow() + timedelta(days=1)).astimezone(SHANGHAI).replace(hour=7, minute=20, second=0, microsecond=0)
    give(starts_at=start.isoformat(), ends_at=(start + timedelta(minutes=40)).isoformat())
    page = english(VOLUNTEER).get("/tasks/").text
    assert "7:20" in page and "8:00" in page


def test_todays_task_comes_before_a_later_one(english, give):
    give(title="后天巡逻", starts_at=later(50), ends_at=later(52))
    give(title="今天巡逻", starts_at=later(0.5), ends_at=later(1))
    page = english(VOLUNTEER).get("/tasks/").text
    assert page.index("今天巡逻") < page.index("后天巡逻")


def test_open_places_of_my_grid_can_be_claimed_through_the_page(english, give, session, town):
    task, _ = give(volunteer_ids=[], capacity=2, title="开放岗位")
    client = english(VOLUNTEER)
    page = client.get("/tasks/").text
    assert f'id="open-{task.id}"' in page and f"/tasks/{task.id}/claim" in page
    assert english(VOLUNTEER_G3).get("/tasks/").text.count("开放岗位") == 0  # another grid's volunteer
    partial = client.post(f"/tasks/{task.id}/claim", headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.text and "You have taken this place" in partial.text
    mine = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    assert mine.volunteer_id == town.user(VOLUNTEER).id and mine.state == "accepted"
    assert f'id="assignment-{mine.id}"' in partial.text and f'id="open-{task.id}"' not in partial.text


def test_open_places_are_folded_by_day_with_the_first_day_open(english, town):
    html = english(VOLUNTEER).get("/tasks/").text
    days = re.findall(r'<details class="action open-day" id="open-day-(\d{4}-\d\d-\d\d)"( open)?>', html)
    assert len(days) >= 3  # the demo's 护学岗 and 网格巡逻 fill the coming week
    assert [d for d, _open in days] == sorted(d for d, _open in days)
    assert days[0][1] == " open" and not any(opened for _d, opened in days[1:])
    first = html.split(f'id="open-day-{days[0][0]}"', 1)[1].split("</summary>", 1)[0]
    today = shanghai_today()
    expected = {today.isoformat(): "Today", (today + timedelta(days=1)).isoformat(): "Tomorrow"}.get(days[0][0])
    if expected:
        assert expected in first
    assert re.search(r"· \d+ shifts? with places", first)
    # Each day holds only shifts that start on that day, Beijing time.
    for day, _open in days:
        group = html.split(f'id="open-day-{day}"', 1)[1].split("</details>", 1)[0]
        shown = re.findall(r'id="open-(\d+)"', group)
        assert shown and all(town.session.get(Task, int(i)).starts_at.astimezone(SHANGHAI).date().isoformat() == day
                             for i in shown)


def test_the_volunteer_home_lists_what_is_left_of_today(english, give, town, quiet_day):
    starts, ends = utcnow() + timedelta(minutes=5), utcnow() + timedelta(minutes=35)
    if starts.astimezone(SHANGHAI).date() != shanghai_today():  # 23:55 in Beijing: nothing of it is left today
        starts, ends = utcnow() - timedelta(minutes=1), utcnow() + timedelta(minutes=3)
    task, _ = give(title="今天的巡逻", starts_at=starts.isoformat(), ends_at=ends.isoformat())
    page = english(VOLUNTEER).get("/").text
    assert 'id="today-tasks"' in page and "今天的巡逻" in page and "Offered" in page
    mine = town.session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    assert f"/tasks/#assignment-{mine.id}" in page
    assert 'id="today-tasks"' not in english(VOLUNTEER_G3).get("/").text


def test_an_officers_tasks_are_folded_with_work_to_verify_first_then_by_day(english, give, town, session):
    done_task, _ = give(title="待确认的活", starts_at=later(1), ends_at=later(2))
    done_task.starts_at, done_task.ends_at = utcnow() - timedelta(hours=2), utcnow() - timedelta(hours=1)
    offer = session.exec(select(Assignment).where(Assignment.task_id == done_task.id)).one()
    offer.state = "done"
    session.add_all([done_task, offer])
    session.commit()
    far, _ = give(title="十天后", starts_at=later(240), ends_at=later(241))
    html = english(OFFICER_G12).get("/tasks/").text
    folds = re.findall(r'<details class="action open-day task-group(?: inner)?" id="tasks-([\w-]+)"( open)?>', html)
    assert folds[0] == ("to-verify", " open")
    verify = html.split('id="tasks-to-verify"', 1)[1].split("</details>", 1)[0]
    waiting = re.search(r"Done, waiting for you to verify · (\d+) tasks?<", verify)
    assert f'id="task-{done_task.id}"' in verify and waiting  # with the demo's last day of shifts
    assert int(waiting.group(1)) == verify.count('class="card task-card"')
    assert f"{waiting.group(1)} places done, waiting for you to verify" in html.split('id="tasks-counts"', 1)[1]
    assert html.count(f'id="task-{done_task.id}"') == 1  # not again under its day
    far_day = far.starts_at.astimezone(SHANGHAI).date().isoformat()
    assert (far_day, "") in folds and f'id="task-{far.id}"' in html.split(f'id="tasks-{far_day}"', 1)[1]
    # With work waiting to be verified, every day is folded (today too): the first phone screen is for that work.
    assert all(opened == "" for key, opened in folds[1:])
    assert ("other-days", "") in folds and folds.index(("other-days", "")) < folds.index((far_day, ""))


def noon_tomorrow() -> tuple[str, str]:
    """Tomorrow 12:00–13:00 Beijing time: clear of the demo's 护学岗 shifts, which G1 volunteers hold at 07:20 and 16:30."""
    from datetime import datetime, time
    day = (utcnow().astimezone(SHANGHAI) + timedelta(days=1)).date()
    start = datetime.combine(day, time(12, 0), SHANGHAI)
    return start.isoformat(), (start + timedelta(hours=1)).isoformat()


def test_a_full_task_is_no_longer_open_and_a_claim_is_refused_with_409(english, give, session, town):
    starts, ends = noon_tomorrow()
    task, _ = give(volunteer_ids=[], capacity=1, title="一个位置", starts_at=starts, ends_at=ends)
    assert f'id="open-{task.id}"' in english(VOLUNTEER).get("/tasks/").text
    assert english(OTHER_VOLUNTEER_G1).post(f"/tasks/{task.id}/claim").status_code == 302
    client = english(VOLUNTEER)
    assert f'id="open-{task.id}"' not in client.get("/tasks/").text
    refused = client.post(f"/tasks/{task.id}/claim", headers=HX)
    assert refused.status_code == 409 and "already has all the people" in refused.text
    assert session.exec(select(func.count()).select_from(Assignment).where(Assignment.task_id == task.id)).one() == 1


# --- The whole way: accept → done → verify ---------------------------------------------------------------

def test_accept_done_verify_through_the_pages(english, give, session, town):
    cp = town.checkpoints("G1")[0]
    task, offer = give(kind="publicity", title="反诈宣传", checkpoint_id=cp.id, capacity=1)
    volunteer = english(VOLUNTEER)
    accepted = volunteer.post(f"/tasks/assignments/{offer.id}/accept", headers=HX)
    assert accepted.status_code == 200 and "<html" not in accepted.text
    assert f'id="assignment-{offer.id}"' in accepted.text and "Accepted" in accepted.text
    assert 'name="people"' in accepted.text and "data-task-gps" in accepted.text  # publicity asks for the reach
    begun(session, task)
    done = volunteer.post(f"/tasks/assignments/{offer.id}/done", headers=HX,
                          data={"lat": str(cp.lat), "lon": str(cp.lon), "accuracy_m": "9", "people": "35",
                                "leaflets": "60", "app_installs": "12"})
    assert done.status_code == 200 and "Done" in done.text
    session.expire_all()
    saved = session.get(Assignment, offer.id)
    assert saved.state == "done" and saved.reach == {"people": 35, "leaflets": 60, "app_installs": 12}
    assert saved.distance_m is not None and saved.distance_m < 1

    officer = english(OFFICER_G12)
    listing = officer.get("/tasks/").text
    assert f"/tasks/assignments/{offer.id}/verify" in listing and "138****0201" in listing
    verified = officer.post(f"/tasks/assignments/{offer.id}/verify", headers=HX)
    assert verified.status_code == 200 and f'id="task-{task.id}"' in verified.text and "Verified" in verified.text
    assert state(session, offer.id) == "verified"


def test_plain_posts_redirect_with_a_flash(english, give, session):
    _, offer = give()
    client = english(VOLUNTEER)
    response = client.post(f"/tasks/assignments/{offer.id}/accept")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/tasks/"
    assert "Saved. The task is now: Accepted." in client.get("/tasks/").text
    assert state(session, offer.id) == "accepted"


def test_declining_needs_a_reason(english, give, session):
    _, offer = give()
    client = english(VOLUNTEER)
    refused = client.post(f"/tasks/assignments/{offer.id}/decline", headers=HX, data={"reason": " "})
    assert refused.status_code == 422 and "Please write the reason." in refused.text
    assert f'id="assignment-{offer.id}"' in refused.text
    assert state(session, offer.id) == "offered"
    declined = client.post(f"/tasks/assignments/{offer.id}/decline", headers=HX, data={"reason": "孩子生病"})
    assert declined.status_code == 200 and "孩子生病" in declined.text
    assert state(session, offer.id) == "declined"


def test_an_illegal_step_is_409_with_the_card(english, give, session):
    _, offer = give()
    response = english(VOLUNTEER).post(f"/tasks/assignments/{offer.id}/done", headers=HX)
    assert response.status_code == 409 and f'id="assignment-{offer.id}"' in response.text
    assert state(session, offer.id) == "offered"


def test_the_officer_marks_a_no_show_once_the_shift_has_begun(english, give, session):
    task, offer = give()
    english(VOLUNTEER).post(f"/tasks/assignments/{offer.id}/accept")
    officer = english(OFFICER_G12)
    card = officer.get("/tasks/").text.split(f'id="task-{task.id}"', 1)[1].split("</section>", 1)[0]
    assert f"/tasks/assignments/{offer.id}/no_show" not in card
    early = officer.post(f"/tasks/assignments/{offer.id}/no_show", headers=HX)
    assert early.status_code == 409 and "has not started yet" in early.text
    task.starts_at = utcnow() - timedelta(minutes=15)
    session.add(task)
    session.commit()
    card = officer.get("/tasks/").text.split(f'id="task-{task.id}"', 1)[1].split("</section>", 1)[0]
    assert f"/tasks/assignments/{offer.id}/no_show" in card
    response = officer.post(f"/tasks/assignments/{offer.id}/no_show", headers=HX)
    assert response.status_code == 200 and "Did not come" in response.text
    assert state(session, offer.id) == "no_show"


# --- Who may reach what ------------------------------------------------------------------------------------

@pytest.mark.parametrize("phone, status", [(VOLUNTEER, 200), (OFFICER_G12, 200), (OFFICER_G34, 200),
                                           (COORDINATOR, 200)])
def test_everyone_logged_in_has_a_task_list_but_sees_only_their_own(english, give, phone, status):
    give(title="只给G1")
    page = english(phone).get("/tasks/")
    assert page.status_code == status
    assert ("只给G1" in page.text) is (phone != OFFICER_G34)
    assert ('id="new-task"' in page.text) is (phone != VOLUNTEER)


@pytest.mark.parametrize("phone, status", [(VOLUNTEER, 403), (VOLUNTEER_G3, 403), (OFFICER_G12, 200),
                                           (OFFICER_G34, 200), (COORDINATOR, 200)])
def test_only_officers_and_the_coordinator_reach_the_new_task_form(english, phone, status):
    assert english(phone).get("/tasks/new").status_code == status


def test_a_volunteer_cannot_post_a_task(english, town, session):
    before = task_count(session)
    assert english(VOLUNTEER).post("/tasks/new", data=form(town)).status_code == 403
    assert task_count(session) == before


@pytest.mark.parametrize("method, url", [("GET", "/tasks/"), ("GET", "/tasks/new"), ("POST", "/tasks/new"),
                                         ("POST", "/tasks/assignments/1/accept"), ("POST", "/tasks/1/claim")])
def test_strangers_are_sent_to_log_in(client, town, method, url):
    response = client.open(url, method=method)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert client.open(url, method=method, headers=HX).status_code == 401


@pytest.mark.parametrize("phone, action, status", [
    (VOLUNTEER, "verify", 403),              # the volunteer cannot verify their own work
    (OTHER_VOLUNTEER_G1, "accept", 404),     # another volunteer's assignment does not exist for them
    (OFFICER_G34, "verify", 404),            # an officer of another grid
    (OFFICER_G12, "accept", 403),            # the officer cannot answer for the volunteer
    (OFFICER_G12, "verify", 200),
    (COORDINATOR, "verify", 200),
    (VOLUNTEER, "explode", 404),
])
def test_the_action_matrix(english, give, session, phone, action, status):
    task, offer = give()
    volunteer = english(VOLUNTEER)
    volunteer.post(f"/tasks/assignments/{offer.id}/accept")
    begun(session, task)
    volunteer.post(f"/tasks/assignments/{offer.id}/done")
    response = english(phone).post(f"/tasks/assignments/{offer.id}/{action}", headers=HX)
    assert response.status_code == status
    assert state(session, offer.id) == ("verified" if status == 200 else "done")


@pytest.mark.parametrize("phone, status", [(VOLUNTEER, 302), (VOLUNTEER_G3, 404), (OFFICER_G12, 403),
                                           (OFFICER_G34, 404), (COORDINATOR, 403)])
def test_the_claim_matrix(english, give, session, phone, status):
    task, _ = give(volunteer_ids=[], capacity=2)
    assert english(phone).post(f"/tasks/{task.id}/claim").status_code == status
    taken = session.exec(select(func.count()).select_from(Assignment).where(Assignment.task_id == task.id)).one()
    assert taken == (1 if status == 302 else 0)


# --- Giving a task ---------------------------------------------------------------------------------------------

def test_the_form_is_a_full_page_and_a_partial(english, town):
    client = english(OFFICER_G12)
    page = client.get("/tasks/new")
    assert page.status_code == 200 and "<html" in page.text and 'id="task-form"' in page.text
    assert 'name="client_id"' in page.text and 'name="start_date"' in page.text
    assert town.user(VOLUNTEER).name in page.text and "138****0201" in page.text
    assert "G1" in page.text and "G3" not in page.text  # only the officer's grids
    partial = client.get("/tasks/new", headers=HX)
    assert partial.status_code == 200 and "<html" not in partial.text and 'id="task-form"' in partial.text


def test_an_officer_gives_a_task_in_beijing_time(english, town, session):
    client = english(OFFICER_G12)
    data = form(town)
    response = client.post("/tasks/new", data=data)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/tasks/"
    task = session.exec(select(Task).where(Task.title == "青石小学护学岗")).one()
    start = task.starts_at.astimezone(SHANGHAI)
    assert start.date().isoformat() == data["start_date"] and (start.hour, start.minute) == (7, 20)
    assert task.ends_at - task.starts_at == timedelta(minutes=40) and task.capacity == 2
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    assert offer.volunteer_id == town.user(VOLUNTEER).id
    assert "青石小学护学岗" in client.get("/tasks/").text


def test_a_team_gets_the_offer(english, town, session):
    team = session.exec(select(Team).where(Team.kind == "school_gate")).one()
    response = english(OFFICER_G12).post("/tasks/new", data=form(town, team_id=str(team.id), volunteer_ids=[],
                                                                 capacity="5"))
    assert response.status_code == 302
    task = session.exec(select(Task).where(Task.team_id == team.id)).one()
    assert session.exec(select(func.count()).select_from(Assignment).where(Assignment.task_id == task.id)).one() >= 1


def other_station_team(session) -> str:
    other = Station(code="X", name="别的派出所")
    session.add(other)
    session.flush()
    team = Team(station_id=other.id, name="外站队", kind="auxiliary")
    session.add(team)
    session.commit()
    return str(team.id)


@pytest.mark.parametrize("case, status, message", [
    ("end_before_start", 422, "The end must be after the start."),
    ("past", 422, "This time window is already over."),
    ("capacity_zero", 422, "The number of people needed must be between 1 and 200."),
    ("capacity_negative", 422, "The number of people needed must be between 1 and 200."),
    ("unknown_volunteer", 422, "Volunteer #999999 is not known here."),
    ("volunteer_of_another_grid", 403, "is not a volunteer of this grid."),
    ("team_of_another_station", 422, "There is no such team at this station."),
    ("grid_of_another_officer", 403, "You can only give tasks in your own grids."),
    ("no_title", 400, "is required."),
])
def test_bad_input_comes_back_with_the_message_and_the_input(english, town, session, case, status, message):
    yesterday = (utcnow().astimezone(SHANGHAI) - timedelta(days=1)).date().isoformat()
    overrides = {
        "end_before_start": {"start_time": "09:00", "end_time": "08:00", "end_date": form(town)["start_date"]},
        "past": {"start_date": yesterday},
        "capacity_zero": {"capacity": "0"},
        "capacity_negative": {"capacity": "-3"},
        "unknown_volunteer": {"volunteer_ids": ["999999"]},
        "volunteer_of_another_grid": {"volunteer_ids": [str(town.user(VOLUNTEER_G3).id)]},
        "team_of_another_station": {"team_id": other_station_team(session) if case == "team_of_another_station" else ""},
        "grid_of_another_officer": {"grid": str(town.grid("G3").id)},
        "no_title": {"title": " "},
    }[case]
    before = task_count(session)
    client = english(OFFICER_G12)
    data = form(town, notes="带上反光背心", **overrides)
    response = client.post("/tasks/new", data=data)
    assert response.status_code == status, response.text
    assert message in response.text and 'id="form-error"' in response.text
    assert "带上反光背心" in response.text and data["client_id"] in response.text  # the input is kept
    assert task_count(session) == before
    partial = client.post("/tasks/new", data=data, headers=HX)
    assert partial.status_code == status and "<html" not in partial.text and message in partial.text


# --- A hazard's follow-up ---------------------------------------------------------------------------------------

@pytest.fixture
def hazard(session, town):
    data = {"client_id": str(uuid.uuid4()), "kind": "hazard", "category": "fire", "description": "楼道堆放杂物",
            "address": "东街5号", "lat": "30.2535", "lon": "120.0952", "accuracy_m": "8"}
    report, _ = hazards.report(session, user=town.user(VOLUNTEER), data=data, uploads=[], store=None)
    return report


def test_the_hazard_page_links_officers_to_a_follow_up_task(english, hazard):
    link = f'href="/tasks/new?hazard={hazard.id}"'
    assert link in english(OFFICER_G12).get(f"/hazards/{hazard.id}").text
    assert link not in english(VOLUNTEER).get(f"/hazards/{hazard.id}").text


def test_a_follow_up_task_is_prefilled_from_the_hazard(english, town, hazard, session):
    client = english(OFFICER_G12)
    page = client.get(f"/tasks/new?hazard={hazard.id}")
    assert page.status_code == 200
    assert '<option value="hazard_followup" selected' in page.text
    assert f'name="hazard_id" value="{hazard.id}"' in page.text
    assert f"Follow-up of report #{hazard.id}" in page.text and "东街5号" in page.text
    assert f'<option value="{hazard.grid_id}" selected' in page.text
    response = client.post("/tasks/new", data=form(town, kind="hazard_followup", title="复查", hazard_id=str(hazard.id)))
    assert response.status_code == 302
    assert session.exec(select(Task).where(Task.hazard_id == hazard.id)).one().kind == "hazard_followup"


@pytest.mark.parametrize("phone, status", [(OFFICER_G34, 404), (VOLUNTEER, 403)])
def test_no_follow_up_of_a_hazard_one_cannot_see(english, hazard, phone, status):
    assert english(phone).get(f"/tasks/new?hazard={hazard.id}").status_code == status
    assert english(OFFICER_G12).get("/tasks/new?hazard=abc").status_code == 404


def test_home_pages_link_to_the_tasks(english):
    assert 'href="/tasks/"' in english(VOLUNTEER).get("/").text
    assert 'href="/tasks/"' in english(OFFICER_G12).get("/").text


# --- A photo of the post with "done" ------------------------------------------------------------------------

FILES = __import__("pathlib").Path(__file__).resolve().parent.parent / "files"


def accepted_offer(give, english):
    """An offer the G1 volunteer accepted, on a shift that has begun (so it can be marked done)."""
    task, offer = give()
    volunteer = english(VOLUNTEER)
    assert volunteer.post(f"/tasks/assignments/{offer.id}/accept", headers=HX).status_code == 200
    begun(give.session, task)
    return task, offer, volunteer


def test_the_done_form_offers_an_optional_photo_sent_as_multipart(english, give):
    _task, offer, volunteer = accepted_offer(give, english)
    card = volunteer.get("/tasks/").text
    assert f'id="photo-{offer.id}"' in card and 'capture="environment"' in card
    assert 'enctype="multipart/form-data"' in card
    # On a phone the step goes through the outbox to the API (saved first, sent when there is signal).
    assert f'data-outbox-url="/api/v1/assignments/{offer.id}/done"' in card and 'data-outbox="assignment"' in card


def test_done_with_a_photo_stores_it_stripped_and_the_officer_sees_it(english, give, session, town):
    task, offer, volunteer = accepted_offer(give, english)
    with open(FILES / "gps.jpg", "rb") as f:
        done = volunteer.post(f"/tasks/assignments/{offer.id}/done", headers=HX,
                              data={"photo": (f, "post.jpg")}, content_type="multipart/form-data")
    assert done.status_code == 200 and state(session, offer.id) == "done"
    photo_ids = tasks.done_photos(session, [offer.id])[offer.id]
    assert len(photo_ids) == 1
    mine = volunteer.get(f"/photos/{photo_ids[0]}")
    assert mine.status_code == 200 and mine.mimetype == "image/jpeg"
    assert b"Exif" not in mine.data[:4096]  # the GPS EXIF of the upload is gone

    officer = english(OFFICER_G12)
    listing = officer.get("/tasks/").text
    assert f"/photos/{photo_ids[0]}/thumb" in listing
    assert officer.get(f"/photos/{photo_ids[0]}/thumb").status_code == 200
    # Neither another volunteer nor the officer of other grids may see it.
    assert english(OTHER_VOLUNTEER_G1).get(f"/photos/{photo_ids[0]}").status_code == 404
    assert english(OFFICER_G34).get(f"/photos/{photo_ids[0]}").status_code == 404


def test_done_with_something_that_is_not_a_photo_is_422_and_stays_accepted(english, give, session):
    _task, offer, volunteer = accepted_offer(give, english)
    with open(FILES / "not-an-image.jpg", "rb") as f:
        done = volunteer.post(f"/tasks/assignments/{offer.id}/done", headers=HX,
                              data={"photo": (f, "post.jpg")}, content_type="multipart/form-data")
    assert done.status_code == 422 and f'id="assignment-{offer.id}"' in done.text
    assert state(session, offer.id) == "accepted"
    assert tasks.done_photos(session, [offer.id]) == {}


def test_done_without_a_photo_still_works_with_an_empty_file_field(english, give, session):
    _task, offer, volunteer = accepted_offer(give, english)
    done = volunteer.post(f"/tasks/assignments/{offer.id}/done", headers=HX,
                          data={"photo": (__import__("io").BytesIO(b""), "")}, content_type="multipart/form-data")
    assert done.status_code == 200 and state(session, offer.id) == "done"
    assert tasks.done_photos(session, [offer.id]) == {}


def test_in_chinese_an_accepted_task_reads_yi_jieshou_not_the_reports_yi_shouli(app, login_as, give, session):
    """"Accepted" is one English word but two Chinese ones: NP_("assignment", …) keeps them apart."""
    from flask_babel import force_locale

    from volunteers.web.views import translate
    _task, offer = give()
    accepted = login_as(VOLUNTEER).post(f"/tasks/assignments/{offer.id}/accept", headers=HX)
    assert accepted.status_code == 200
    assert "已接受" in accepted.text and "已受理" not in accepted.text
    with app.test_request_context(), force_locale("zh_CN"):
        assert translate(tasks.STATE_LABELS["accepted"]) == "已接受"
        assert translate(hazards.STATE_LABELS["accepted"]) == "已受理"


def test_a_chinese_error_names_the_field_in_chinese_and_the_api_keeps_the_raw_name(login_as, town):
    officer = login_as(OFFICER_G12)
    page = officer.post("/tasks/new", data=form(town, title=" "))
    assert page.status_code == 400 and "“标题”必须填写。" in page.text and "“title”" not in page.text
    body = {"client_id": str(uuid.uuid4()), "kind": "patrol", "title": "", "grid": town.grid("G1").id,
            "starts_at": later(2), "ends_at": later(3), "volunteer_ids": [town.user(VOLUNTEER).id]}
    api = officer.post("/api/v1/tasks", json=body)
    assert api.status_code == 400 and "title" in api.get_json()["error"]["message"]


# --- Calling off a task ------------------------------------------------------------------------------------

def test_the_officer_calls_off_a_task_and_everyone_on_it_is_told_why(english, give, session, town):
    from volunteers.models import Notification
    task, offer = give(title="周末集市安保")
    task_id = task.id
    officer = english(OFFICER_G12)
    assert f'/tasks/{task_id}/cancel' in officer.get("/tasks/").text
    refused = officer.post(f"/tasks/{task_id}/cancel", headers=HX, data={"reason": " "})
    assert refused.status_code == 400 and task_count(session) > 0
    done = officer.post(f"/tasks/{task_id}/cancel", headers=HX, data={"reason": "下雨，集市取消"})
    assert done.status_code == 200 and 'id="tasks"' in done.text and "周末集市安保" in done.text
    session.expire_all()
    assert session.get(Task, task_id) is None
    told = session.exec(select(Notification).where(Notification.user_id == town.user(VOLUNTEER).id,
                                                    Notification.message == tasks.CANCELLED)).all()
    assert len(told) == 1 and told[0].params["reason"] == "下雨，集市取消"


def test_a_started_task_or_a_duty_shift_cannot_be_called_off_and_others_may_not(english, give, session, town):
    started, _offer = give(starts_at=later(-1), ends_at=later(1))
    officer = english(OFFICER_G12)
    assert officer.post(f"/tasks/{started.id}/cancel", headers=HX, data={"reason": "x"}).status_code == 409
    # A shift in the officer's own grid: the demo also has G3's rota, which this officer may not even see (404).
    shift = session.exec(select(Task).where(Task.duty_id.is_not(None), Task.grid_id == town.grid("G1").id,
                                            Task.starts_at > utcnow()).order_by(Task.starts_at)).first()
    assert f'/tasks/{shift.id}/cancel' not in officer.get("/tasks/").text
    assert officer.post(f"/tasks/{shift.id}/cancel", data={"reason": "x"}).status_code == 409
    later_task, _ = give()
    assert english(OFFICER_G34).post(f"/tasks/{later_task.id}/cancel", data={"reason": "x"}).status_code == 404
    assert english(VOLUNTEER).post(f"/tasks/{later_task.id}/cancel", data={"reason": "x"}).status_code == 403
    session.expire_all()
    assert session.get(Task, later_task.id) is not None and session.get(Task, started.id) is not None


# --- Evidence first -------------------------------------------------------------------------------------------

def test_done_before_the_shift_begins_is_409_not_started_on_the_page_and_the_api(english, give, session):
    task, offer = give()
    volunteer = english(VOLUNTEER)
    volunteer.post(f"/tasks/assignments/{offer.id}/accept", headers=HX)
    card = volunteer.get("/tasks/").text
    assert f'id="not-started-{offer.id}"' in card  # said before the press, the form kept for a page opened offline
    page = volunteer.post(f"/tasks/assignments/{offer.id}/done", headers=HX, data={"no_location": "1"})
    assert page.status_code == 409 and "has not started yet" in page.text and f'id="assignment-{offer.id}"' in page.text
    api = volunteer.post(f"/api/v1/assignments/{offer.id}/done", json={"no_location": True})
    assert api.status_code == 409 and api.json["error"]["code"] == "not_started"
    assert state(session, offer.id) == "accepted"
    begun(session, task)
    api = volunteer.post(f"/api/v1/assignments/{offer.id}/done", json={"no_location": True})
    assert api.status_code == 200 and api.json["state"] == "done" and api.json["no_location"] is True


def test_the_officer_sees_the_evidence_and_its_flags_in_words_beside_each_assignment(english, login_as, give, session,
                                                                                      town):
    gate = town.checkpoints("G1")[1]
    task, offer = give(checkpoint_id=gate.id)
    volunteer = english(VOLUNTEER)
    volunteer.post(f"/tasks/assignments/{offer.id}/accept", headers=HX)
    begun(session, task)
    assert volunteer.post(f"/tasks/assignments/{offer.id}/done", headers=HX,
                          data={"lat": str(gate.lat + 0.01), "lon": str(gate.lon), "accuracy_m": "10"}).status_code == 200
    listing = english(OFFICER_G12).get("/tasks/").text
    row = listing.split(f'id="assignment-{offer.id}"', 1)[1].split("</li>", 1)[0]
    assert "Location sent with done" in row and "m from the post" in row and "Far from the post" in row
    row = login_as(OFFICER_G12).get("/tasks/").text.split(f'id="assignment-{offer.id}"', 1)[1].split("</li>", 1)[0]
    assert "离岗位太远" in row and "米" in row
    assert "flagged" not in row


def test_an_explicit_no_location_is_kept_and_shown(english, give, session):
    task, offer = give()
    volunteer = english(VOLUNTEER)
    volunteer.post(f"/tasks/assignments/{offer.id}/accept", headers=HX)
    begun(session, task)
    volunteer.post(f"/tasks/assignments/{offer.id}/done", headers=HX, data={"no_location": "1"})
    session.expire_all()
    assert session.get(Assignment, offer.id).no_location
    row = english(OFFICER_G12).get("/tasks/").text.split(f'id="assignment-{offer.id}"', 1)[1].split("</li>", 1)[0]
    assert "The volunteer said: no location" in row and "No evidence: no location, no photo" in row
