"""GET /api/v1/hours: minutes per volunteer, approved and pending, within what the caller may see."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import hours
from volunteers.duties import today as shanghai_today  # the station's date, not the machine's (UTC)


def period():
    today = shanghai_today()
    return {"from": (today - timedelta(days=60)).isoformat(), "to": today.isoformat()}


def test_the_answer_has_the_design_fields_and_matches_the_tally(login_as, town):
    response = login_as(COORDINATOR).get("/api/v1/hours", query_string=period())
    assert response.status_code == 200
    rows = response.json
    assert rows and set(rows[0]) == {"volunteer_id", "name", "approved_minutes", "pending_minutes"}
    station = town.user(COORDINATOR).station_id
    expected = hours.tally(town.session, station, date.fromisoformat(period()["from"]), date.fromisoformat(period()["to"]))
    assert [(r["volunteer_id"], r["approved_minutes"], r["pending_minutes"]) for r in rows] == \
        [(r.id, r.approved_minutes, r.pending_minutes) for r in expected]
    assert all(isinstance(r["approved_minutes"], int) for r in rows)


def test_a_volunteer_sees_only_themself(login_as, town):
    client = login_as(VOLUNTEER)
    rows = client.get("/api/v1/hours", query_string=period()).json
    assert [r["volunteer_id"] for r in rows] == [town.user(VOLUNTEER).id]
    other = client.get("/api/v1/hours", query_string=period() | {"volunteer": town.user(VOLUNTEER_G3).id})
    assert other.status_code == 404 and other.json["error"]["code"] == "not_found"


def test_an_officer_sees_only_their_grids(login_as, town):
    rows = login_as(OFFICER_G12).get("/api/v1/hours", query_string=period()).json
    homes = {town.session.get(type(town.user(VOLUNTEER)), r["volunteer_id"]).home_grid_id for r in rows}
    assert homes and homes <= {town.grid("G1").id, town.grid("G2").id}
    assert login_as(OFFICER_G12).get("/api/v1/hours", query_string=period() | {"grid": town.grid("G3").id}).status_code == 404
    g3 = login_as(OFFICER_G34).get("/api/v1/hours", query_string=period() | {"grid": town.grid("G3").id}).json
    assert g3 and all(town.session.get(type(town.user(VOLUNTEER)), r["volunteer_id"]).home_grid_id == town.grid("G3").id
                      for r in g3)


def test_filters_by_team_and_volunteer(login_as, town):
    client = login_as(COORDINATOR)
    one = client.get("/api/v1/hours", query_string=period() | {"volunteer": town.user(VOLUNTEER).id}).json
    assert [r["volunteer_id"] for r in one] == [town.user(VOLUNTEER).id]
    assert client.get("/api/v1/hours", query_string=period() | {"team": 1}).status_code == 200
    assert client.get("/api/v1/hours", query_string=period() | {"team": 99999}).status_code == 404


@pytest.mark.parametrize("query, status, code", [
    ({}, 400, "missing_field"), ({"from": "2026-13-01", "to": "2026-12-01"}, 400, "bad_date"),
    ({"from": "yesterday", "to": "2026-12-01"}, 400, "bad_date"), ({"from": "2026-11-02", "to": "2026-11-01"}, 422, "bad_period"),
    ({"from": "2026-11-01", "to": "2026-11-30", "volunteer": "abc"}, 400, "bad_number"),
    ({"from": "2026-11-01", "to": "2026-11-30", "grid": "99999999999999"}, 404, "not_found"),
])
def test_bad_input_is_a_clear_translated_error(login_as, town, query, status, code):
    response = login_as(COORDINATOR).get("/api/v1/hours", query_string=query)
    assert response.status_code == status and response.json["error"]["code"] == code
    assert response.json["error"]["message"]

