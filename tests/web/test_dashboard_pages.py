"""The officer dashboard, its live partial, the 统计 page, a patrol's replay, `flask missed`, and who may see them:
a volunteer sees no dashboard, an officer only their grids, the coordinator the station."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta, timezone

import pytest
from sqlmodel import select

from volunteers import coverage, grids, dashboard
from volunteers.models import (Assignment, CheckIn, Hazard, MissedCheckpointAlert, Notification, ServiceRecord,
                               Task, Team, TeamMember, utcnow)

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3

HX = {"HX-Request": "true"}
PAGES = ["/dashboard/", "/dashboard/stats"]


def assert_full(response):
    assert response.status_code == 200, response.text
    assert "<html" in response.text and "</html>" in response.text
    assert "HX-Request" in response.headers.get("Vary", "")


def assert_fragment(response, starts_with: str):
    assert response.status_code == 200, response.text
    assert "<html" not in response.text and "<body" not in response.text
    assert response.text.lstrip().startswith(starts_with), response.text[:200]


def dashboard_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert match, "the map data is missing"
    return json.loads(match.group(1))


@pytest.fixture
def on_patrol(login_as, town, quiet_day):
    """Volunteer 13800000201 (G1) on patrol with one GPS check-in and a breadcrumb: (patrol id, checkpoint)."""
    client = login_as(VOLUNTEER)
    start = utcnow() - timedelta(minutes=20)
    patrol_id = client.post("/api/v1/patrols", json={"client_id": str(uuid.uuid4()),
                                                     "recorded_at": start.isoformat()}).json["id"]
    cp = town.checkpoints("G1")[0]
    assert client.post(f"/api/v1/patrols/{patrol_id}/checkins", json={
        "client_id": str(uuid.uuid4()), "checkpoint_id": cp.id, "lat": cp.lat, "lon": cp.lon, "accuracy_m": 6,
        "recorded_at": (start + timedelta(minutes=5)).isoformat()}).status_code == 201
    points = [{"lat": cp.lat + 0.0003 * i, "lon": cp.lon, "accuracy_m": 9, "recorded_at": (start + timedelta(minutes=6 + i)).isoformat()}
              for i in range(3)]
    assert client.post(f"/api/v1/patrols/{patrol_id}/positions",
                       json={"client_id": str(uuid.uuid4()), "points": points}).status_code == 201
    return patrol_id, cp


def patrol_shift(town, code="G1", start=None, hours=2, capacity=3, title="晚间巡逻") -> Task:
    start = start or utcnow() - timedelta(minutes=30)
    grid = town.grid(code)
    task = Task(client_id=str(uuid.uuid4()), fingerprint="t", station_id=grid.station_id, grid_id=grid.id, kind="patrol",
                title=title, starts_at=start, ends_at=start + timedelta(hours=hours), capacity=capacity)
    town.session.add(task)
    town.session.commit()
    return task


# --- Pages and partials -------------------------------------------------------------------------------

def test_the_dashboard_as_full_page_and_live_partial(english, town):
    client = english(OFFICER_G12)
    page = client.get("/dashboard/")
    assert_full(page)
    assert 'id="dashboard-live"' in page.text and 'hx-trigger="every 15s"' in page.text
    assert 'data-dashboard-map' in page.text and "dashboard-map.js" in page.text
    assert '<svg' in page.text and 'id="coverage"' in page.text
    fragment = client.get("/dashboard/", headers=HX)
    assert_fragment(fragment, '<script type="application/json" id="dashboard-data">')
    assert 'id="on-patrol"' in fragment.text and 'id="dashboard-live"' not in fragment.text
    assert 'id="coverage"' not in fragment.text


def test_a_boosted_link_gets_the_whole_dashboard(english, town):
    assert_full(english(OFFICER_G12).get("/dashboard/", headers={**HX, "HX-Boosted": "true"}))


def test_the_refresh_interval_comes_from_the_configuration(english, app, town):
    app.config["DASHBOARD_REFRESH_S"] = 1
    assert 'hx-trigger="every 1s"' in english(OFFICER_G12).get("/dashboard/").text


def test_the_officer_sees_their_grids_and_who_is_on_patrol_with_the_last_position(english, town, on_patrol):
    patrol_id, cp = on_patrol
    html = english(OFFICER_G12).get("/dashboard/").text
    volunteer = town.user(VOLUNTEER)
    row = re.search(rf'id="on-patrol-{patrol_id}".*?</li>', html, re.S).group(0)
    assert volunteer.name in row and "138****0201" in row and "13800000201" not in html
    assert "· 1 check-in<" in row and f"{cp.lat + 0.0006:.5f}" in row  # the newest breadcrumb point
    data = dashboard_data(html)
    assert {g["code"] for g in data["grids"]} == {"G1", "G2"}
    [person] = data["people"]
    assert person["id"] == patrol_id and volunteer.name in person["label"]
    assert person["url"] == f"/dashboard/patrols/{patrol_id}"
    assert re.search(r"Patrols today</dt><dd[^>]*>(\d+)<", html).group(1) != "0"


def test_the_other_officer_sees_neither_the_patrol_nor_the_grid(english, town, on_patrol):
    patrol_id, cp = on_patrol
    html = english(OFFICER_G34).get("/dashboard/").text
    assert f'id="on-patrol-{patrol_id}"' not in html and town.user(VOLUNTEER).name not in html
    data = dashboard_data(html)
    assert {g["code"] for g in data["grids"]} == {"G3", "G4"}
    assert cp.name not in html and data["people"] == []


def test_the_coordinator_sees_the_whole_station(english, town, on_patrol):
    patrol_id, _cp = on_patrol
    html = english(COORDINATOR).get("/dashboard/").text
    assert {g["code"] for g in dashboard_data(html)["grids"]} == {"G1", "G2", "G3", "G4"}
    assert f'id="on-patrol-{patrol_id}"' in html


def test_must_visit_points_are_coloured_for_todays_shift(english, town, on_patrol, quiet_day):
    _patrol_id, visited = on_patrol
    task = patrol_shift(town)
    html = english(OFFICER_G12).get("/dashboard/").text
    shift = re.search(rf'id="shift-{task.id}".*?</div>', html, re.S).group(0)
    assert task.title in shift
    route = grids.first_route(town.session, town.grid("G1").id)
    for cp in grids.route_checkpoints(town.session, route.id):
        expected = "Visited" if cp.id == visited.id else "Not yet"
        assert re.search(rf"{re.escape(cp.name)} · <strong>{expected}</strong>", shift), (cp.name, expected)
    statuses = {p["label"].split(" · ")[0]: p["status"] for p in dashboard_data(html)["points"]}
    assert statuses[visited.name] == "visited"


def test_an_ended_shift_shows_missed_points_and_tells_the_officers_once_when_the_dashboard_loads(english, town, quiet_day):
    now = utcnow()
    midnight = coverage.day_bounds(coverage.local_day(now))[0]
    end = now - coverage.ALERT_GRACE - timedelta(minutes=1)
    task = patrol_shift(town, start=end - timedelta(hours=2), hours=2)
    client = english(OFFICER_G12)
    html = client.get("/dashboard/").text
    if end > midnight:  # the shift ended today: it is listed with its missed points
        assert re.search(r"<strong>Missed</strong>", re.search(rf'id="shift-{task.id}".*?</div>', html, re.S).group(0))
    else:  # in the first minutes after midnight it was yesterday's: not listed, but the officers are still told
        assert f'id="shift-{task.id}"' not in html
    client.get("/dashboard/", headers=HX)
    town.session.rollback()
    assert len(town.session.exec(select(MissedCheckpointAlert).where(MissedCheckpointAlert.task_id == task.id)).all()) == 1
    officer = town.user(OFFICER_G12)
    notes = town.session.exec(select(Notification).where(Notification.user_id == officer.id,
                                                         Notification.link == f"/dashboard/?task={task.id}")).all()
    assert len(notes) == 1


def test_flask_missed_tells_the_officers_once(app, town, quiet_day):
    task = patrol_shift(town, start=utcnow() - timedelta(hours=3), hours=2)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["missed"])
    assert first.exit_code == 0 and "missed must-visit points: 1" in first.output
    assert "missed must-visit points: 0" in runner.invoke(args=["missed"]).output
    town.session.rollback()
    assert town.session.exec(select(MissedCheckpointAlert)).one().task_id == task.id


def test_todays_tasks_show_unfilled_places(english, town, quiet_day):
    task = patrol_shift(town, capacity=3, title="白天巡逻")
    town.session.add(Assignment(task_id=task.id, volunteer_id=town.user(VOLUNTEER).id, state="accepted"))
    town.session.commit()
    html = english(OFFICER_G12).get("/dashboard/").text
    row = re.search(rf'id="task-today-{task.id}".*?</li>', html, re.S).group(0)
    assert "2 of 3 places unfilled" in row


def test_a_night_shift_that_began_before_midnight_is_among_todays_tasks(english, town, quiet_day):
    midnight = coverage.day_bounds(coverage.local_day(utcnow()))[0]
    night = patrol_shift(town, start=midnight - timedelta(hours=2), hours=(utcnow() - midnight).total_seconds() / 3600 + 3,
                         title="夜巡")
    yesterday = patrol_shift(town, start=midnight - timedelta(hours=4), hours=2, title="昨晚巡逻")
    html = english(OFFICER_G12).get("/dashboard/").text
    assert f'id="task-today-{night.id}"' in html and f'id="shift-{night.id}"' in html
    assert f'id="task-today-{yesterday.id}"' not in html


def test_overdue_hazards_are_marked_in_the_list_and_on_the_map(english, town, session):
    hazard = session.exec(select(Hazard).where(Hazard.grid_id == town.grid("G1").id,
                                               Hazard.status.not_in(("closed", "rejected", "duplicate")))).first()
    hazard.deadline = utcnow() - timedelta(days=1)
    session.add(hazard)
    session.commit()
    html = english(OFFICER_G12).get("/dashboard/").text
    row = re.search(rf'<li class="row overdue" id="open-hazard-{hazard.id}".*?</li>', html, re.S)
    assert row and "Overdue" in row.group(0)
    [mark] = [h for h in dashboard_data(html)["hazards"] if h["url"] == f"/hazards/{hazard.id}"]
    assert mark["overdue"] is True


def test_the_numbers_count_this_months_hazards(english, town, session):
    html = english(COORDINATOR).get("/dashboard/").text
    found = int(re.search(r'id="n-hazards-found">(\d+)<', html).group(1))
    start = utcnow().astimezone(timezone(timedelta(hours=8))).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    expected = len([h for h in session.exec(select(Hazard)).all() if h.reported_at >= start])
    assert found == expected


def test_closings_count_in_the_month_of_the_last_closing(english, town, session):
    """A report closed this month counts once in "closed this month" and in this month's bar, also when it was closed
    before, reopened and closed again (hazard.closed_at, as 月考评 counts); a closing last month counts there."""
    def numbers():
        html = english(OFFICER_G12).get("/dashboard/").text
        bars = [closed for _month, _found, closed in dashboard.hazards_per_month(session, town.user(OFFICER_G12))]
        return int(re.search(r'id="n-hazards-closed">(\d+)<', html).group(1)), bars

    before, bars_before = numbers()
    now = utcnow()
    last_month = now.astimezone(timezone(timedelta(hours=8))).replace(day=1) - timedelta(days=3)
    mine = [h for h in session.exec(select(Hazard).where(Hazard.grid_id == town.grid("G1").id,
                                                         Hazard.status.not_in(("closed", "rejected", "duplicate"))))]
    assert len(mine) >= 2, "the demo town's G1 needs two open reports"
    mine[0].status, mine[0].closed_at = "closed", now - timedelta(minutes=1)
    mine[1].status, mine[1].closed_at = "closed", last_month
    session.add_all(mine[:2])
    session.commit()
    after, bars_after = numbers()
    assert after == before + 1
    assert len(bars_after) == len(bars_before) == 6
    assert bars_after[-1] == bars_before[-1] + 1 and bars_after[-2] == bars_before[-2] + 1


def test_the_stats_page_as_full_page_and_partial_with_readable_svg(english, town):
    client = english(OFFICER_G12)
    page = client.get("/dashboard/stats")
    assert_full(page)
    for chart in ("chart-turnouts", "chart-hazards", "chart-hours"):
        assert f'id="{chart}"' in page.text
    svg = re.search(r'<svg[^>]*id="chart-hazards".*?</svg>', page.text, re.S).group(0)
    assert "<title>Hazards found and closed per month</title>" in svg
    assert ">Found<" in svg and ">Closed<" in svg and "url(#hatch-chart-hazards)" in svg  # a pattern, not only colour
    assert "style=" not in page.text.split("<main")[1] and "<script>" not in page.text
    assert "This week" in page.text and "Last week" in page.text and "G1 · " in page.text and "G3 · " not in page.text
    fragment = client.get("/dashboard/stats", headers=HX)
    assert_fragment(fragment, '<div class="charts" id="stats">')


def test_turnouts_per_week_has_eight_bars_with_numbers(english, town):
    svg = re.search(r'<svg[^>]*id="chart-turnouts".*?</svg>', english(COORDINATOR).get("/dashboard/stats").text, re.S).group(0)
    assert svg.count("<rect") == 8 + 1  # eight bars and the pattern's background
    numbers = [int(n) for n in re.findall(r'fill="#212121">(\d+)</text>', svg)]
    assert len(numbers) == 8 and sum(numbers) > 0  # the demo town patrolled in the last weeks


def team_hours(client) -> dict[str, float]:
    svg = re.search(r'<svg[^>]*id="chart-hours".*?</svg>', client.get("/dashboard/stats").text, re.S).group(0)
    return {name: float(h) for h, name in re.findall(r'>([\d.]+)h</text><text[^>]*>([^<]+)</text>', svg)}


def test_hours_per_team_come_from_approved_service_records_of_this_month(english, town, session):
    volunteer = town.user(VOLUNTEER)
    team_id = session.exec(select(TeamMember.team_id).where(TeamMember.user_id == volunteer.id)).first()
    team = session.get(Team, team_id)
    officer, other = english(OFFICER_G12), english(OFFICER_G34)
    before, other_before = team_hours(officer), team_hours(other)
    now = utcnow()
    month = now.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m")
    for minutes, status in ((90, "approved"), (600, "pending")):
        session.add(ServiceRecord(station_id=volunteer.station_id, volunteer_id=volunteer.id, grid_id=town.grid("G1").id,
                                  source="manual", starts_at=now, ends_at=now, month=month, minutes=minutes, status=status))
    last_month = (now - timedelta(days=40)).astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m")
    session.add(ServiceRecord(station_id=volunteer.station_id, volunteer_id=volunteer.id, grid_id=town.grid("G1").id,
                              source="manual", starts_at=now - timedelta(days=40), ends_at=now - timedelta(days=40),
                              month=last_month, minutes=6000, status="approved"))
    session.commit()
    after = team_hours(officer)
    assert abs(after[team.name] - before.get(team.name, 0) - 1.5) < 0.11  # only this month's approved minutes
    assert team_hours(other) == other_before  # not in the other officer's grids


def test_the_replay_as_full_page_and_partial(english, town, on_patrol):
    patrol_id, cp = on_patrol
    client = english(OFFICER_G12)
    page = client.get(f"/dashboard/patrols/{patrol_id}")
    assert_full(page)
    data = json.loads(re.search(r'id="track-data">(.*?)</script>', page.text, re.S).group(1))
    assert len(data["line"]) == 3 and data["line"][0] == [cp.lat, cp.lon]
    assert len(data["checkins"]) == 1 and cp.name in data["checkins"][0]["label"]
    assert "data-track-map" in page.text and town.user(VOLUNTEER).name in page.text
    fragment = client.get(f"/dashboard/patrols/{patrol_id}", headers=HX)
    assert_fragment(fragment, '<section class="card" id="track">')
    assert "3 positions" in fragment.text and cp.name in fragment.text


def test_the_patrol_page_links_officers_to_the_replay(english, on_patrol):
    patrol_id, _cp = on_patrol
    assert f'href="/dashboard/patrols/{patrol_id}"' in english(OFFICER_G12).get(f"/patrols/{patrol_id}").text


def test_the_officer_home_links_to_the_dashboard_and_statistics(english, town):
    html = english(OFFICER_G12).get("/").text
    assert 'href="/dashboard/"' in html and 'href="/dashboard/stats"' in html


# --- Access ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_a_volunteer_sees_no_dashboard(login_as, url, headers):
    response = login_as(VOLUNTEER).get(url, headers=headers)
    assert response.status_code == 403
    assert "dashboard-data" not in response.text and "<svg" not in response.text


def test_a_volunteer_cannot_replay_even_their_own_patrol_on_the_dashboard(login_as, on_patrol):
    patrol_id, _cp = on_patrol
    assert login_as(VOLUNTEER).get(f"/dashboard/patrols/{patrol_id}").status_code == 403


@pytest.mark.parametrize("phone, status", [(OFFICER_G12, 200), (COORDINATOR, 200), (OFFICER_G34, 404),
                                           (VOLUNTEER_G3, 403)])
def test_replay_access(login_as, on_patrol, phone, status):
    patrol_id, cp = on_patrol
    response = login_as(phone).get(f"/dashboard/patrols/{patrol_id}")
    assert response.status_code == status
    if status != 200:
        assert "track-data" not in response.text


def test_an_unknown_patrol_replay_is_404(login_as, town):
    assert login_as(OFFICER_G12).get("/dashboard/patrols/999999").status_code == 404


@pytest.mark.parametrize("url", PAGES + ["/dashboard/patrols/1"])
def test_strangers_are_sent_to_log_in(client, town, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_on_first_start_the_demo_shows_people_on_patrol_and_todays_shifts(english, town):
    """The demo town has two volunteers out now (G1 and G3) and a daily 网格巡逻 in G1 and G3."""
    html = english(OFFICER_G12).get("/dashboard/").text
    data = dashboard_data(html)
    assert [p["label"] for p in data["people"]] and all("G3" not in p["label"] for p in data["people"])
    assert town.user("13800000205").name in html and town.user("13800000213").name not in html
    assert "网格巡逻" in html
    assert any(p["status"] in ("visited", "missed", "late", "not_yet") for p in data["points"])


# --- One definition of "visited today" (issue 15) -----------------------------------------------------------

def point_state(html: str, element_id: str) -> str:
    row = re.search(rf'<li class="row point-(\w+)" id="{element_id}"', html)
    assert row, element_id
    return row.group(1)


def test_the_officer_home_and_the_dashboard_count_a_check_in_before_the_running_shift_alike(english, town, on_patrol):
    """Checked in 15 minutes ago, before a shift that began 10 minutes ago: not yet for this shift, on both screens."""
    _patrol_id, cp = on_patrol
    shift = patrol_shift(town, start=utcnow() - timedelta(minutes=10))
    client = english(OFFICER_G12)
    home, board = client.get("/").text, client.get("/dashboard/").text
    assert point_state(home, f"home-point-{cp.id}") == point_state(board, f"point-{cp.id}") == "not_yet"
    assert shift.starts_at > utcnow() - timedelta(minutes=11)
    grid = town.grid("G1").id
    for html, block in ((home, f"visits-{grid}"), (board, f"dashboard-visits-{grid}")):
        line = re.search(rf'id="{block}">(.*?)</p>', html, re.S).group(1)
        assert "This shift (" in line and "): 0 of 3 must-visit points visited" in line
        assert "Only check-ins during this shift count." in line


def test_without_a_shift_both_screens_count_any_check_in_today(english, town, on_patrol):
    patrol_id, cp = on_patrol
    checked_in = town.session.exec(select(CheckIn.recorded_at).where(CheckIn.patrol_id == patrol_id)).one()
    if coverage.local_day(checked_in) != coverage.local_day(utcnow()):
        pytest.skip("just after midnight the check-in (15 minutes ago) was yesterday's")
    client = english(OFFICER_G12)
    home, board = client.get("/").text, client.get("/dashboard/").text
    assert point_state(home, f"home-point-{cp.id}") == point_state(board, f"point-{cp.id}") == "visited"
    grid = town.grid("G1").id
    for html, block in ((home, f"visits-{grid}"), (board, f"dashboard-visits-{grid}")):
        line = re.search(rf'id="{block}">(.*?)</p>', html, re.S).group(1)
        assert "Today (no shift): 1 of 3 must-visit points visited" in line
        assert "A check-in at any time today counts." in line


def test_after_todays_shift_a_point_missed_in_it_stays_missed_on_both_screens(english, town, quiet_day):
    earlier = patrol_shift(town, start=utcnow() - timedelta(hours=3), hours=1)
    if coverage.local_day(earlier.ends_at) != coverage.local_day(utcnow()):
        pytest.skip("just after midnight the ended shift was yesterday's")
    cp = town.checkpoints("G1")[0]
    client = english(OFFICER_G12)
    home, board = client.get("/").text, client.get("/dashboard/").text
    assert earlier.ends_at < utcnow()
    assert point_state(home, f"home-point-{cp.id}") == point_state(board, f"point-{cp.id}") == "missed"
    assert "Today's shifts: 0 of 3 must-visit points visited in every shift" in home
    assert "Today's shifts: 0 of 3 must-visit points visited in every shift" in board


# --- The phone-sized dashboard: what needs action first (issue 15) -------------------------------------------

def test_what_needs_action_comes_before_the_map_with_counts_and_top_items(english, town, session):
    # Exactly one overdue report in the officer's grids: the demo's own deadlines (one already past) moved ahead.
    mine = session.exec(select(Hazard).where(Hazard.grid_id.in_([town.grid("G1").id, town.grid("G2").id]),
                                             Hazard.status.not_in(("closed", "rejected", "duplicate")))
                        .order_by(Hazard.id)).all()
    for other in mine[1:]:
        other.deadline = utcnow() + timedelta(days=3) if other.deadline else None
        session.add(other)
    hazard = mine[0]
    hazard.deadline = utcnow() - timedelta(days=1)
    session.add(hazard)
    session.commit()
    html = english(OFFICER_G12).get("/dashboard/").text
    assert html.index('id="needs-action"') < html.index('id="on-patrol"') < html.index("data-dashboard-map")
    assert html.index("data-dashboard-map") < html.index('id="fold-points"')
    counts = re.search(r'id="needs-action">(.*?)</section>', html, re.S).group(1)
    assert re.search(r'id="count-overdue"><a href="#fold-hazards">\s*<strong>1</strong> overdue reports', counts)
    assert f'id="action-hazard-{hazard.id}"' in counts and "Overdue" in counts
    # the long lists are folded below the map
    assert re.search(r'<details class="card fold" id="fold-hazards">', html)
    assert f'id="open-hazard-{hazard.id}"' in html


def test_empty_places_of_tasks_not_over_yet_need_action_and_the_others_do_not(english, town, quiet_day):
    coming = patrol_shift(town, start=utcnow() + timedelta(minutes=5), capacity=3, title="白天巡逻")
    over = patrol_shift(town, start=utcnow() - timedelta(hours=3), hours=1, capacity=2, title="早班巡逻")
    if coverage.local_day(over.starts_at) != coverage.local_day(utcnow()):
        pytest.skip("just after midnight the ended shift was yesterday's")
    html = english(OFFICER_G12).get("/dashboard/").text
    counts = re.search(r'id="needs-action">(.*?)</section>', html, re.S).group(1)
    assert f'id="action-task-{coming.id}"' in counts and "3 places empty" in counts
    assert f'id="action-task-{over.id}"' not in counts
    assert f'id="task-today-{over.id}"' in html  # still among today's tasks, folded


def test_the_live_refresh_carries_the_folded_lists_out_of_band(english, town):
    fragment = english(OFFICER_G12).get("/dashboard/", headers=HX).text
    assert 'id="needs-action"' in fragment
    assert '<div id="dashboard-more" hx-swap-oob="innerHTML">' in fragment and 'id="fold-points"' in fragment
