"""Duty pages: the pattern form, the list, and the week schedule — as pages, as htmx partials, and who may see them."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlmodel import func, select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER
from volunteers import duties
from volunteers.models import Duty, Task

HX = {"HX-Request": "true"}


def pattern(town, **overrides):
    """A valid 护学岗 pattern for G1 as the form sends it."""
    start = duties.today()
    data = {"title": "护学岗 二小", "kind": "school_gate", "grid": str(town.grid("G1").id), "team_id": "",
            "checkpoint_id": "", "place": "二小校门", "weekdays": ["0", "1", "2", "3", "4"], "start_1": "07:20",
            "end_1": "08:00", "start_2": "16:30", "end_2": "17:20", "start_3": "", "end_3": "",
            "first_day": start.isoformat(), "last_day": (start + timedelta(days=60)).isoformat(), "skip_dates": "",
            "capacity": "2"}
    data.update(overrides)
    return data


def counts(town) -> tuple[int, int]:
    s = town.session
    s.expire_all()
    return s.exec(select(func.count()).select_from(Duty)).one(), s.exec(select(func.count()).select_from(Task)).one()


def test_the_week_view_is_a_full_page_and_a_partial(english, town):
    client = english(OFFICER_G12)
    full = client.get(f"/duties/week?grid={town.grid('G1').id}")
    assert full.status_code == 200
    assert "<html" in full.text and 'id="week"' in full.text and "护学岗" in full.text
    assert "HX-Request" in full.headers["Vary"]
    part = client.get(f"/duties/week?grid={town.grid('G1').id}", headers=HX)
    assert part.status_code == 200
    assert "<html" not in part.text and part.text.lstrip().startswith("<section") and "护学岗" in part.text


def test_the_week_view_shows_gaps_and_moves_by_weeks(english, town):
    client = english(OFFICER_G12)
    page = client.get("/duties/week").text
    assert "missing" in page and 'class="gap' in page
    monday = duties.monday_of(duties.today())
    far = client.get(f"/duties/week?week={(monday + timedelta(days=70)).isoformat()}").text
    assert 'id="no-shifts"' in far
    assert f"week={(monday + timedelta(days=77)).isoformat()}" in far


def test_the_week_view_prints_on_its_own_stylesheet(english):
    client = english(COORDINATOR)
    page = client.get("/duties/week").text
    assert 'media="print"' in page and "css/print.css" in page
    css = client.get("/static/css/print.css").text
    assert "@media print" in css and "landscape" in css


@pytest.mark.parametrize("url", ["/duties/", "/duties/new", "/duties/week"])
def test_volunteers_may_not_see_duty_pages(login_as, url):
    assert login_as(VOLUNTEER).get(url).status_code == 403


@pytest.mark.parametrize("url", ["/duties/", "/duties/new", "/duties/week"])
def test_strangers_are_sent_to_log_in(client, town, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ["/duties/", "/duties/new", "/duties/week"])
def test_coordinators_see_duty_pages(login_as, url):
    assert login_as(COORDINATOR).get(url).status_code == 200


def test_an_officer_cannot_see_another_grids_week(login_as, town):
    assert login_as(OFFICER_G34).get(f"/duties/week?grid={town.grid('G1').id}").status_code == 404
    assert login_as(OFFICER_G12).get(f"/duties/week?grid={town.grid('G1').id}").status_code == 200


def test_an_officer_cannot_make_shifts_for_another_grids_duty(login_as, town):
    duty = town.session.exec(select(Duty).where(Duty.kind == "school_gate")).one()  # G1's; G3 has a rota too
    assert login_as(OFFICER_G34).post(f"/duties/{duty.id}/generate").status_code == 404
    assert login_as(VOLUNTEER).post(f"/duties/{duty.id}/generate").status_code == 403
    assert login_as(OFFICER_G12).post(f"/duties/{duty.id}/generate").status_code == 302


def test_the_duty_list_shows_the_demo_pattern(english):
    page = english(OFFICER_G12).get("/duties/").text
    assert "护学岗" in page and "07:20–08:00" in page


def test_a_new_pattern_makes_two_weeks_of_shifts_and_shows_the_week(english, town):
    before = counts(town)
    response = english(OFFICER_G12).post("/duties/new", data=pattern(town))
    assert response.status_code == 302 and "/duties/week" in response.headers["Location"]
    duties_after, tasks_after = counts(town)
    assert duties_after == before[0] + 1
    assert tasks_after > before[1]


def test_an_officer_cannot_create_a_pattern_in_another_grid(english, town):
    before = counts(town)
    response = english(OFFICER_G34).post("/duties/new", data=pattern(town))
    assert response.status_code == 403
    assert counts(town) == before


@pytest.mark.parametrize("overrides, status, message", [
    ({"end_1": "07:00"}, 422, "The end must be after the start."),
    ({"last_day": "2000-01-01"}, 422, "The last day must not be before the first day."),
    ({"weekdays": []}, 422, "Choose at least one day of the week."),
    ({"start_1": "25:99"}, 422, "is not a time of day"),
    ({"capacity": "0"}, 422, "must be between 1 and"),
    ({"capacity": "-3"}, 422, "must be between 1 and"),
    ({"capacity": "many"}, 400, "must be a number"),
    ({"skip_dates": "2025-13-40"}, 400, "is not a date"),
    ({"title": ""}, 400, "is required"),
])
def test_bad_patterns_are_refused_with_a_reason_and_nothing_saved(english, town, overrides, status, message):
    before = counts(town)
    response = english(OFFICER_G12).post("/duties/new", data=pattern(town, **overrides))
    assert response.status_code == status
    assert message in response.text and 'id="form-error"' in response.text
    assert 'value="护学岗 二小"' in response.text or overrides.get("title") == ""
    assert counts(town) == before


def test_a_bad_pattern_through_htmx_returns_only_the_form(english, town):
    response = english(OFFICER_G12).post("/duties/new", data=pattern(town, weekdays=[]), headers=HX)
    assert response.status_code == 422
    assert "<html" not in response.text and 'id="duty-form"' in response.text


def test_the_officer_home_links_to_the_week_view(english):
    assert 'id="week-link"' in english(OFFICER_G12).get("/").text


def test_a_new_pattern_through_htmx_goes_to_the_week_as_a_whole_page(english, town):
    response = english(OFFICER_G12).post("/duties/new", data=pattern(town), headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/duties/week?grid=")


# --- Changing and stopping a pattern ---------------------------------------------------------------------

def saved_pattern(english, town, **overrides) -> Duty:
    assert english(OFFICER_G12).post("/duties/new", data=pattern(town, **overrides)).status_code == 302
    town.session.expire_all()
    return town.session.exec(select(Duty).order_by(Duty.id.desc())).first()


def test_the_edit_form_is_filled_with_the_pattern_as_page_and_partial(english, town):
    duty = saved_pattern(english, town)
    officer = english(OFFICER_G12)
    full = officer.get(f"/duties/{duty.id}/edit")
    assert full.status_code == 200 and "<html" in full.text and "Change the duty" in full.text
    assert 'value="护学岗 二小"' in full.text and 'value="16:30"' in full.text and f'action="/duties/{duty.id}/edit"' in full.text
    part = officer.get(f"/duties/{duty.id}/edit", headers=HX)
    assert part.status_code == 200 and "<html" not in part.text and 'id="duty-form"' in part.text
    assert f'/duties/{duty.id}/edit' in officer.get("/duties/").text


def test_changing_a_pattern_through_the_page_moves_its_shifts(english, town):
    duty = saved_pattern(english, town)
    response = english(OFFICER_G12).post(f"/duties/{duty.id}/edit", data=pattern(town, capacity="5"))
    assert response.status_code == 302 and "/duties/week" in response.headers["Location"]
    town.session.expire_all()
    assert town.session.get(Duty, duty.id).capacity == 5
    future = town.session.exec(select(Task).where(Task.duty_id == duty.id, Task.starts_at > duties.utcnow())).all()
    assert future and all(t.capacity == 5 for t in future)


def test_a_bad_change_comes_back_in_the_form_with_the_reason(english, town):
    duty = saved_pattern(english, town)
    response = english(OFFICER_G12).post(f"/duties/{duty.id}/edit", headers=HX, data=pattern(town, end_1="07:00"))
    assert response.status_code == 422 and "The end must be after the start." in response.text
    assert "<html" not in response.text and f'action="/duties/{duty.id}/edit"' in response.text
    town.session.expire_all()
    assert town.session.get(Duty, duty.id).windows[0] == ["07:20", "08:00"]


def test_stopping_a_new_pattern_deletes_it_and_its_shifts(english, town):
    duty_id = saved_pattern(english, town, first_day=(duties.today() + timedelta(days=1)).isoformat()).id
    page = english(OFFICER_G12).get("/duties/").text
    assert f'/duties/{duty_id}/stop' in page and "data-confirm" in page
    response = english(OFFICER_G12).post(f"/duties/{duty_id}/stop")
    assert response.status_code == 302
    town.session.expire_all()
    assert town.session.get(Duty, duty_id) is None
    assert town.session.exec(select(func.count()).select_from(Task).where(Task.duty_id == duty_id)).one() == 0


@pytest.mark.parametrize("phone, status", [(VOLUNTEER, 403), (OFFICER_G34, 404), (COORDINATOR, 200)])
def test_who_may_open_the_edit_form(login_as, town, phone, status):
    duty = town.session.exec(select(Duty).where(Duty.kind == "school_gate")).one()  # G1's; G3 has a rota too
    assert login_as(phone).get(f"/duties/{duty.id}/edit").status_code == status


@pytest.mark.parametrize("phone, status", [(VOLUNTEER, 403), (OFFICER_G34, 404)])
def test_others_may_not_change_or_stop_a_pattern(login_as, town, phone, status):
    duty = town.session.exec(select(Duty).where(Duty.kind == "school_gate")).one()  # G1's; G3 has a rota too
    client = login_as(phone)
    assert client.post(f"/duties/{duty.id}/edit", data=pattern(town)).status_code == status
    assert client.post(f"/duties/{duty.id}/stop").status_code == status
    town.session.expire_all()
    assert town.session.get(Duty, duty.id) is not None


def test_unknown_duties_are_404(login_as):
    client = login_as(OFFICER_G12)
    assert client.get("/duties/99999/edit").status_code == 404
    assert client.post("/duties/99999/stop").status_code == 404
    assert client.get(f"/duties/{10**30}/edit").status_code == 404


def test_a_new_pattern_sent_twice_makes_one_duty_and_one_set_of_shifts(english, town):
    client = english(OFFICER_G12)
    cid = re.search(r'name="client_id" value="([0-9a-f-]{36})"', client.get("/duties/new").text).group(1)
    before = counts(town)
    first = client.post("/duties/new", data=pattern(town, client_id=cid))
    after_first = counts(town)
    again = client.post("/duties/new", data=pattern(town, client_id=cid))
    assert first.status_code == again.status_code == 302
    assert counts(town) == after_first and after_first[0] == before[0] + 1 and after_first[1] > before[1]
    other = client.post("/duties/new", data=pattern(town, client_id=cid, title="护学岗 三小"))
    assert other.status_code == 409 and "already used for a different request" in other.text
    assert counts(town) == after_first


def test_the_edit_form_carries_no_client_id(english, town):
    duty = saved_pattern(english, town)
    assert 'name="client_id"' not in english(OFFICER_G12).get(f"/duties/{duty.id}/edit").text


def test_two_copies_of_one_submit_at_the_same_instant_save_once_and_the_other_answers_as_a_retry(english, town,
                                                                                                monkeypatch):
    """The race: the other copy is saved between this one's "saved already?" check and its insert. Simulated by
    letting the check see nothing; the unique client_id then stops the second duty, and the copy is answered with
    the first duty as a retry is (issue 17: the race loser replays the winner)."""
    client = english(OFFICER_G12)
    cid = str(uuid.uuid4())
    first = client.post("/duties/new", data=pattern(town, client_id=cid))
    assert first.status_code == 302
    after_first = counts(town)
    monkeypatch.setattr(duties.clientids, "earlier",
                        lambda _s, _m, _cid, _by, content: (duties.clientids.fingerprint(content), None))
    racing = client.post("/duties/new", data=pattern(town, client_id=cid))
    assert racing.status_code == 302 and racing.headers["Location"] == first.headers["Location"]
    assert counts(town) == after_first
    other = client.post("/duties/new", data=pattern(town, client_id=cid, title="护学岗 三小"))
    assert other.status_code == 409 and "already used for a different request" in other.text
    assert counts(town) == after_first


# --- The week on a phone: day by day from today (issue 15) ------------------------------------------------

def test_the_week_as_a_day_list_starts_today_with_the_past_days_folded_after(english, town):
    today = duties.today()
    page = english(OFFICER_G12).get("/duties/week").text
    days = re.search(r'id="week-days">(.*?)<div class="table-scroll">', page, re.S).group(1)
    listed = re.findall(r'<details class="week-day[^"]*" id="day-(\d{4}-\d\d-\d\d)"', days)
    assert listed[0] == today.isoformat()
    past = re.search(r'<details class="fold week-past" id="week-past">(.*)', days, re.S)
    earlier = [d for d in listed if d < today.isoformat()]
    assert listed == sorted(d for d in listed if d >= today.isoformat()) + earlier
    assert (past is not None) == bool(earlier) and all(f'id="day-{d}"' in past.group(1) for d in earlier)
    assert re.search(rf'<details class="week-day today[^"]*" id="day-{today.isoformat()}" open>', days)
    assert 'class="table-scroll"' in page  # the desktop grid is still there for wide screens


def test_the_day_list_marks_each_gap_in_red_and_counts_it(english, town, session):
    page = english(OFFICER_G12).get("/duties/week").text
    days = re.search(r'id="week-days">(.*?)<div class="table-scroll">', page, re.S).group(1)
    gaps = re.findall(r'<li class="row day-shift gap" id="day-shift-(\d+)">(.*?)</li>', days, re.S)
    assert gaps
    for task_id, row in gaps:
        task = session.get(Task, int(task_id))
        assert "missing" in row and task.title in row
    assert 'class="row day-shift" id="day-shift-' in days  # a filled shift is not red


def test_another_week_lists_every_day_from_monday(english, town):
    monday = duties.monday_of(duties.today()) + timedelta(days=7)
    page = english(OFFICER_G12).get(f"/duties/week?week={monday.isoformat()}").text
    days = re.search(r'id="week-days">(.*?)<div class="table-scroll">', page, re.S).group(1)
    assert re.findall(r'id="day-(\d{4}-\d\d-\d\d)"', days) == [(monday + timedelta(days=n)).isoformat() for n in range(7)]
    assert 'id="week-past"' not in days
