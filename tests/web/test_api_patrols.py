"""The patrol API through HTTP, exactly as DESIGN.md's table: me, checkpoints, start, check in, end; Bearer tokens and
session + CSRF; idempotent client_ids; and every error code as JSON in the error format, never a 500, nothing
half-written. (The rules themselves are unit-tested in tests/test_patrols.py.)"""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.factories import count
from volunteers import accounts, demo, geo, grids
from volunteers.models import CheckIn, Patrol, User, utcnow

from tests.conftest import COORDINATOR, ON_POSTGRES, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3

EN = {"Accept-Language": "en"}


def cid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def assert_error(response, status: int, code: str | None = None) -> str:
    """The DESIGN.md error shape: {"error": {"code", "message"}} with this status; returns the message."""
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json", response.text
    error = response.get_json()["error"]
    assert set(error) == {"code", "message"}
    assert isinstance(error["message"], str) and error["message"].strip()
    if code is not None:
        assert error["code"] == code, error
    return error["message"]


@pytest.fixture
def api(login_as):
    """A logged-in client for this phone that reads English (msgids), so messages can be asserted."""

    def _client(phone: str = VOLUNTEER):
        client = login_as(phone)
        client.post("/lang", data={"lang": "en"})
        return client

    return _client


def start(client, n: int = 1, **extra):
    return client.post("/api/v1/patrols", json={"client_id": cid(n), **extra})


def at(cp, n: int = 100, **extra) -> dict:
    """A GPS check-in standing on the checkpoint."""
    return {"client_id": cid(n), "lat": cp.lat, "lon": cp.lon, "accuracy_m": 8, "checkpoint_id": cp.id,
            "recorded_at": utcnow().isoformat(), **extra}


@pytest.fixture
def running(api, town):
    """The volunteer's client with a patrol running: (client, patrol id)."""
    client = api(VOLUNTEER)
    response = start(client)
    assert response.status_code == 201
    return client, response.json["id"]


# --- Happy paths -----------------------------------------------------------------------------------

@pytest.mark.parametrize("phone, role, grid_codes", [
    (VOLUNTEER, "volunteer", ["G1"]),
    (VOLUNTEER_G3, "volunteer", ["G3"]),
    (OFFICER_G12, "officer", ["G1", "G2"]),
    (OFFICER_G34, "officer", ["G3", "G4"]),
    (COORDINATOR, "coordinator", ["G1", "G2", "G3", "G4"]),
])
def test_me_says_who_i_am_with_my_grids_and_teams(api, town, phone, role, grid_codes):
    user = town.user(phone)
    me = api(phone).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json == {"id": user.id, "name": user.name, "role": role,
                       "grid_ids": sorted(town.grid(c).id for c in grid_codes),
                       "team_ids": accounts.team_ids(town.session, user)}


def test_volunteers_are_in_at_least_one_team(api, town):
    assert api(VOLUNTEER).get("/api/v1/me").json["team_ids"]


@pytest.mark.parametrize("phone, grid_codes", [(VOLUNTEER, ["G1"]), (VOLUNTEER_G3, ["G3"]),
                                               (OFFICER_G12, ["G1", "G2"])])
def test_checkpoints_lists_only_the_checkpoints_of_my_grids(api, town, phone, grid_codes):
    listed = api(phone).get("/api/v1/checkpoints")
    assert listed.status_code == 200 and isinstance(listed.json, list)
    expected = {cp.id: code for code in grid_codes for cp in town.checkpoints(code)}
    assert {row["id"]: row["grid"] for row in listed.json} == expected
    first = town.checkpoints(grid_codes[0])[0]
    row = next(r for r in listed.json if r["id"] == first.id)
    assert {k: row[k] for k in ("name", "lat", "lon", "radius_m")} == {
        "name": first.name, "lat": first.lat, "lon": first.lon, "radius_m": first.radius_m}


def test_a_volunteer_starts_checks_in_and_ends_a_patrol(api, town, session):
    client = api(VOLUNTEER)
    started = start(client)
    assert started.status_code == 201
    patrol_id = started.json["id"]
    assert isinstance(patrol_id, int) and started.json["started_at"].endswith("Z")

    cp = town.checkpoints("G1")[0]
    checked = client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=at(cp))
    assert checked.status_code == 201
    assert checked.json["checkpoint_id"] == cp.id and checked.json["distance_m"] == 0
    assert isinstance(checked.json["id"], int) and checked.json["flags"] == []

    ended = client.post(f"/api/v1/patrols/{patrol_id}/end")
    assert ended.status_code == 200
    assert ended.json["id"] == patrol_id and ended.json["ended_at"].endswith("Z") and ended.json["minutes"] == 0
    assert session.get(Patrol, patrol_id).ended_at is not None

    mine = client.get("/api/v1/patrols").json
    assert mine[0]["id"] == patrol_id and mine[0]["checkpoints"] == [cp.name]
    assert mine[0]["client_id"] == cid(1)  # how a phone finds the patrol it started (offline-patrol.js)


def test_a_gps_check_in_without_a_checkpoint_id_takes_the_nearest_point(running, town):
    client, patrol_id = running
    cp = town.checkpoints("G1")[1]
    body = at(cp)
    del body["checkpoint_id"]
    checked = client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body)
    assert checked.status_code == 201 and checked.json["checkpoint_id"] == cp.id


def test_a_qr_check_in_needs_no_gps(running, town, app):
    client, patrol_id = running
    cp = town.checkpoints("G1")[2]
    checked = client.post(f"/api/v1/patrols/{patrol_id}/checkins",
                          json={"client_id": cid(5), "qr": grids.qr_code(cp, app.config["SECRET_KEY"])})
    assert checked.status_code == 201 and checked.json["checkpoint_id"] == cp.id
    assert checked.json["distance_m"] is None


def test_ending_twice_returns_the_first_end(running):
    client, patrol_id = running
    first = client.post(f"/api/v1/patrols/{patrol_id}/end")
    again = client.post(f"/api/v1/patrols/{patrol_id}/end")
    assert again.status_code == 200 and again.json["ended_at"] == first.json["ended_at"]


def test_a_form_encoded_body_works_like_json(running, town):
    client, patrol_id = running
    cp = town.checkpoints("G1")[0]
    checked = client.post(f"/api/v1/patrols/{patrol_id}/checkins", data={k: str(v) for k, v in at(cp).items()})
    assert checked.status_code == 201 and checked.json["checkpoint_id"] == cp.id


# --- Auth: Bearer tokens and session + CSRF -----------------------------------------------------------

@pytest.fixture
def csrf_app(make_app):
    """An app that checks CSRF tokens, with the demo town (built here: make_app gives a fresh database)."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"]) as db:
        demo.build(db)
    return app


def token_for(app, phone: str) -> str:
    with Session(app.extensions["volunteers.engine"]) as db:
        return accounts.issue_token(db, user=db.exec(select(User).where(User.phone == phone)).one())


def test_a_bearer_token_works_without_a_csrf_token(csrf_app):
    client = csrf_app.test_client()
    bearer = {"Authorization": f"Bearer {token_for(csrf_app, VOLUNTEER)}"}
    me = client.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200 and me.json["role"] == "volunteer"
    started = client.post("/api/v1/patrols", json={"client_id": cid(1)}, headers=bearer)
    assert started.status_code == 201
    # The token logs in for that one request only: no session cookie carries it over.
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Bearer ", "Basic dXNlcjpwYXNz", "bearer"])
def test_a_wrong_or_malformed_authorization_header_is_401(app, town, header):
    assert_error(app.test_client().get("/api/v1/me", headers={"Authorization": header}), 401, "unauthorized")


def test_a_session_post_needs_the_csrf_token_in_the_header(csrf_app):
    client = csrf_app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post("/login", data={"phone": VOLUNTEER, "password": demo.PASSWORD,
                                       "csrf_token": token}).status_code == 302
    with Session(csrf_app.extensions["volunteers.engine"]) as db:
        before = count(db, Patrol)
        assert_error(client.post("/api/v1/patrols", json={"client_id": cid(1)}), 400, "csrf")
        assert_error(client.post("/api/v1/patrols", json={"client_id": cid(1)}, headers={"X-CSRFToken": "forged"}),
                     400, "csrf")
        assert count(db, Patrol) == before
        home = client.get("/")
        header_token = re.search(r'data-csrf="([^"]+)"', home.text).group(1)
        started = client.post("/api/v1/patrols", json={"client_id": cid(1)}, headers={"X-CSRFToken": header_token})
        assert started.status_code == 201
        assert count(db, Patrol) == before + 1
    # Reading needs no token.
    assert client.get("/api/v1/me").status_code == 200


def test_a_token_of_a_suspended_account_stops_working(app, town, session):
    client = app.test_client()
    user = town.user(VOLUNTEER)
    bearer = {"Authorization": f"Bearer {accounts.issue_token(session, user=user)}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    user.status = "suspended"
    session.add(user)
    session.commit()
    assert_error(client.get("/api/v1/me", headers=bearer), 401, "unauthorized")


# --- Idempotency -----------------------------------------------------------------------------------

def test_retrying_a_start_returns_the_same_patrol(api, town, session):
    client = api(VOLUNTEER)
    before = count(session, Patrol)
    first = start(client, 7)
    again = start(client, 7)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert count(session, Patrol) == before + 1


def test_a_client_id_in_another_spelling_is_the_same_id(api, town):
    client = api(VOLUNTEER)
    first = client.post("/api/v1/patrols", json={"client_id": cid(7)})
    again = client.post("/api/v1/patrols", json={"client_id": "  " + cid(7).upper().replace("-", "") + " "})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]


def test_a_start_client_id_reused_with_different_content_is_409(api, town, session):
    client = api(VOLUNTEER)
    started = start(client, 7, recorded_at=(utcnow() - timedelta(minutes=3)).isoformat())
    assert started.status_code == 201
    before = count(session, Patrol)
    assert_error(start(client, 7, recorded_at=(utcnow() - timedelta(minutes=9)).isoformat()), 409, "client_id_reused")
    # Another volunteer cannot take over (or learn about) someone else's patrol by its client_id.
    assert_error(start(api(VOLUNTEER_G3), 7), 409, "client_id_reused")
    assert count(session, Patrol) == before


def test_retrying_a_check_in_returns_the_same_check_in(running, town, session):
    client, patrol_id = running
    body = at(town.checkpoints("G1")[0], n=50)
    first = client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body)
    before = count(session, CheckIn)
    again = client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert count(session, CheckIn) == before


@pytest.mark.parametrize("change", [{"lat": 30.2518}, {"accuracy_m": 9}, {"recorded_at": "2020-01-01T00:00:00Z"},
                                    {"checkpoint_id": None}])
def test_a_check_in_client_id_reused_with_different_content_is_409(running, town, session, change):
    client, patrol_id = running
    body = at(town.checkpoints("G1")[0], n=50)
    assert client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body).status_code == 201
    before = count(session, CheckIn)
    assert_error(client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body | change), 409, "client_id_reused")
    assert count(session, CheckIn) == before


def test_a_retried_check_in_still_answers_after_the_patrol_ended(running, town):
    client, patrol_id = running
    body = at(town.checkpoints("G1")[0], n=50)
    first = client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body)
    client.post(f"/api/v1/patrols/{patrol_id}/end")
    again = client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]


# --- Errors ------------------------------------------------------------------------------------------

def post_raw(client, url: str, data: str):
    return client.post(url, data=data, content_type="application/json")


@pytest.mark.parametrize("raw", ['{"client_id": ', "[1, 2]", '"a string"', "null", "not json at all", "{'a': 1}"])
def test_a_start_with_a_body_that_is_not_a_json_object_is_400(api, town, session, raw):
    before = count(session, Patrol)
    assert_error(post_raw(api(VOLUNTEER), "/api/v1/patrols", raw), 400, "bad_json")
    assert count(session, Patrol) == before


@pytest.mark.parametrize("body, code", [
    ({}, "missing_field"),
    ({"client_id": ""}, "missing_field"),
    ({"client_id": 12}, "missing_field"),
    ({"client_id": "not-a-uuid"}, "bad_client_id"),
    ({"client_id": cid(1), "recorded_at": "yesterday"}, "bad_time"),
    ({"client_id": cid(1), "recorded_at": "2026-01-01T08:00:00"}, "bad_time"),
    ({"client_id": cid(1), "recorded_at": 1767225600}, "bad_time"),
])
def test_a_start_with_bad_fields_is_400(api, town, session, body, code):
    before = count(session, Patrol)
    assert_error(api(VOLUNTEER).post("/api/v1/patrols", json=body), 400, code)
    assert count(session, Patrol) == before


def test_a_second_open_patrol_is_409(running, session):
    client, _patrol_id = running
    before = count(session, Patrol)
    message = assert_error(start(client, 2), 409, "patrol_open")
    assert "already have a patrol running" in message
    assert count(session, Patrol) == before


@pytest.mark.parametrize("raw", ['{"client_id": ', "[]", "42"])
def test_a_check_in_with_a_body_that_is_not_a_json_object_is_400(running, session, raw):
    client, patrol_id = running
    before = count(session, CheckIn)
    assert_error(post_raw(client, f"/api/v1/patrols/{patrol_id}/checkins", raw), 400, "bad_json")
    assert count(session, CheckIn) == before


@pytest.mark.parametrize("change, status, code", [
    ({"client_id": None}, 400, "missing_field"),
    ({"client_id": "1234"}, 400, "bad_client_id"),
    ({"lat": "abc"}, 400, "bad_number"),
    ({"lon": [120]}, 400, "bad_number"),
    ({"lat": True}, 400, "bad_number"),
    ({"lat": None}, 400, "missing_field"),
    ({"accuracy_m": None}, 400, "missing_field"),
    ({"accuracy_m": "about ten"}, 400, "bad_number"),
    ({"recorded_at": "25/11/2026 08:30"}, 400, "bad_time"),
    ({"recorded_at": "2026-11-25T08:30:00"}, 400, "bad_time"),
    ({"checkpoint_id": "first"}, 400, "bad_number"),
    ({"lat": 91}, 422, "out_of_range"),
    ({"lat": -90.5}, 422, "out_of_range"),
    ({"lon": 181}, 422, "out_of_range"),
    ({"accuracy_m": -1}, 422, "out_of_range"),
    ({"lat": "NaN"}, 422, "out_of_range"),
    ({"lon": "inf"}, 422, "out_of_range"),
    ({"accuracy_m": 500}, 422, "low_accuracy"),
    ({"qr": "PAV1-1-AAAAAAAAAA"}, 422, "bad_qr"),
    ({"qr": "hello"}, 422, "bad_qr"),
    ({"qr": "PAV1-99999999999-AAAAAAAAAA"}, 422, "bad_qr"),
    ({"checkpoint_id": 999999}, 404, "not_found"),
    ({"checkpoint_id": 2 ** 40}, 404, "not_found"),
])
def test_a_bad_check_in_is_a_clear_error_and_writes_nothing(running, town, session, change, status, code):
    client, patrol_id = running
    body = {k: v for k, v in (at(town.checkpoints("G1")[0]) | change).items() if v is not None}
    before = count(session, CheckIn)
    assert_error(client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body), status, code)
    assert count(session, CheckIn) == before


def test_a_check_in_at_a_checkpoint_of_another_grid_is_404(running, town, session):
    client, patrol_id = running
    before = count(session, CheckIn)
    message = assert_error(client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=at(town.checkpoints("G3")[0])),
                           404, "not_found")
    assert "not in your grid" in message
    assert count(session, CheckIn) == before


def test_a_qr_code_of_another_grid_is_refused(running, town, session, app):
    client, patrol_id = running
    foreign = town.checkpoints("G3")[0]
    response = client.post(f"/api/v1/patrols/{patrol_id}/checkins",
                           json={"client_id": cid(9), "qr": grids.qr_code(foreign, app.config["SECRET_KEY"])})
    assert_error(response, 422, "wrong_checkpoint")
    assert session.exec(select(CheckIn).where(CheckIn.client_id == cid(9))).first() is None


def test_a_qr_code_signed_with_another_key_is_refused(running, town):
    client, patrol_id = running
    forged = grids.qr_code(town.checkpoints("G1")[0], "someone-elses-key")
    assert_error(client.post(f"/api/v1/patrols/{patrol_id}/checkins", json={"client_id": cid(9), "qr": forged}),
                 422, "bad_qr")


def test_too_far_says_how_far(running, town, session):
    client, patrol_id = running
    cp = town.checkpoints("G1")[0]
    where = (cp.lat + 0.018, cp.lon)  # about 2 km north
    before = count(session, CheckIn)
    response = client.post(f"/api/v1/patrols/{patrol_id}/checkins",
                           json=at(cp, lat=where[0], lon=where[1]))
    message = assert_error(response, 422, "too_far")
    distance = round(geo.distance_m(where, (cp.lat, cp.lon)))
    assert 1900 < distance < 2100
    assert f"{distance} m" in message and cp.name in message
    assert count(session, CheckIn) == before


def test_low_accuracy_says_how_far_and_how_rough(running, town):
    client, patrol_id = running
    cp = town.checkpoints("G1")[0]
    message = assert_error(client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=at(cp, accuracy_m=400)),
                           422, "low_accuracy")
    assert "±400 m" in message and "0 m from" in message


def test_error_messages_are_chinese_by_default(login_as, town):
    client = login_as(VOLUNTEER)
    message = assert_error(client.post("/api/v1/patrols", json={}), 400, "missing_field")
    assert re.search(r"[\u4e00-\u9fff]", message), message


@pytest.mark.parametrize("method, suffix", [("post", "/checkins"), ("post", "/end"), ("get", "")])
@pytest.mark.parametrize("patrol_id", [999999, 2 ** 40])
def test_an_unknown_patrol_is_404(api, town, method, suffix, patrol_id):
    client = api(VOLUNTEER)
    response = getattr(client, method)(f"/api/v1/patrols/{patrol_id}{suffix}",
                                       json=at(town.checkpoints("G1")[0]) if method == "post" else None)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method, suffix", [("post", "/checkins"), ("post", "/end"), ("get", "")])
def test_another_volunteers_patrol_is_404(running, api, town, session, method, suffix):
    _client, patrol_id = running
    other = api(VOLUNTEER_G3)
    before = count(session, CheckIn)
    response = getattr(other, method)(f"/api/v1/patrols/{patrol_id}{suffix}",
                                      json=at(town.checkpoints("G3")[0]) if method == "post" else None)
    assert_error(response, 404, "not_found")
    assert count(session, CheckIn) == before
    session.expire_all()
    assert session.get(Patrol, patrol_id).ended_at is None


def test_a_volunteer_of_the_same_grid_cannot_see_my_patrol_either(running, api):
    _client, patrol_id = running
    assert_error(api("13800000202").get(f"/api/v1/patrols/{patrol_id}"), 404, "not_found")


def test_an_officer_sees_but_cannot_end_a_volunteers_patrol(running, api, session):
    _client, patrol_id = running
    officer = api(OFFICER_G12)
    assert officer.get(f"/api/v1/patrols/{patrol_id}").status_code == 200
    assert_error(officer.post(f"/api/v1/patrols/{patrol_id}/end"), 403, "forbidden")
    assert_error(officer.post(f"/api/v1/patrols/{patrol_id}/checkins", json={"client_id": cid(3)}), 403, "forbidden")
    session.expire_all()
    assert session.get(Patrol, patrol_id).ended_at is None
    # An officer of other grids does not even see it.
    assert_error(api(OFFICER_G34).post(f"/api/v1/patrols/{patrol_id}/end"), 404, "not_found")


def test_a_check_in_after_the_end_is_409(running, town, session):
    client, patrol_id = running
    assert client.post(f"/api/v1/patrols/{patrol_id}/end").status_code == 200
    before = count(session, CheckIn)
    later = (utcnow() + timedelta(minutes=1)).isoformat()
    cp = town.checkpoints("G1")[0]
    without_time = {k: v for k, v in at(cp, n=101).items() if k != "recorded_at"}  # "now", after the end
    for body in (at(cp, recorded_at=later), without_time):
        assert_error(client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body), 409, "patrol_ended")
    assert count(session, CheckIn) == before


def test_a_check_in_made_offline_before_the_end_is_still_accepted(running, town):
    client, patrol_id = running
    body = at(town.checkpoints("G1")[0], recorded_at=utcnow().isoformat())
    client.post(f"/api/v1/patrols/{patrol_id}/end")
    assert client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=body).status_code == 201


def test_an_end_with_a_bad_time_is_400_and_leaves_the_patrol_open(running, session):
    client, patrol_id = running
    assert_error(client.post(f"/api/v1/patrols/{patrol_id}/end", json={"recorded_at": "soon"}), 400, "bad_time")
    assert_error(post_raw(client, f"/api/v1/patrols/{patrol_id}/end", "[1]"), 400, "bad_json")
    session.expire_all()
    assert session.get(Patrol, patrol_id).ended_at is None


@pytest.mark.parametrize("method, url", [
    ("get", "/api/v1/patrols/1/end"), ("get", "/api/v1/patrols/1/checkins"), ("delete", "/api/v1/me"),
    ("put", "/api/v1/patrols"), ("post", "/api/v1/checkpoints"), ("patch", "/api/v1/patrols/1"),
])
def test_a_wrong_method_on_an_api_url_is_405_json(api, town, method, url):
    assert_error(getattr(api(VOLUNTEER), method)(url), 405, "method_not_allowed")


def test_an_unknown_api_url_is_404_json(api, town):
    assert_error(api(VOLUNTEER).get("/api/v1/nothing-here"), 404, "not_found")


@pytest.mark.parametrize("field, raw", [
    ("lat", "1" + "0" * 400), ("accuracy_m", "1" + "0" * 400), ("lat", "1e400"), ("checkpoint_id", "1e400"),
    ("checkpoint_id", "1" + "0" * 400), ("checkpoint_id", "1.5"), ("checkpoint_id", "{}"),
    ("recorded_at", '"0001-01-01T00:00:00+01:00"'), ("recorded_at", '"9999-12-31T23:59:59-01:00"'),
    ("recorded_at", '"2026-11-25T08:30:00+25:00"'), ("client_id", "[]"), ("qr", "123"), ("qr", '"\\u0000"'),
])
def test_odd_json_values_are_clear_errors_not_500(running, town, session, field, raw):
    client, patrol_id = running
    body = {k: v for k, v in at(town.checkpoints("G1")[0]).items() if k != field}
    text = json.dumps(body)[:-1] + f', "{field}": {raw}}}'
    before = count(session, CheckIn)
    response = post_raw(client, f"/api/v1/patrols/{patrol_id}/checkins", text)
    assert response.status_code in (400, 404, 422), response.text
    assert_error(response, response.status_code)
    assert count(session, CheckIn) == before


BROKEN_CLOCKS = ["0001-01-01T00:00:00-14:00", "0001-01-20T00:00:00Z", "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z",
                 "2100-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]


@pytest.mark.parametrize("when", BROKEN_CLOCKS)
def test_a_check_in_time_from_a_broken_clock_is_422_and_writes_nothing(running, town, session, when):
    client, patrol_id = running
    before = count(session, CheckIn)
    message = assert_error(client.post(f"/api/v1/patrols/{patrol_id}/checkins",
                                       json=at(town.checkpoints("G1")[0], recorded_at=when)), 422, "out_of_range")
    assert "recorded_at" in message and "2000-01-01" in message
    assert count(session, CheckIn) == before


@pytest.mark.parametrize("when", BROKEN_CLOCKS)
def test_a_patrol_start_or_end_time_from_a_broken_clock_is_422_and_changes_nothing(running, api, session, when):
    client, patrol_id = running
    assert_error(client.post(f"/api/v1/patrols/{patrol_id}/end", json={"recorded_at": when}), 422, "out_of_range")
    session.rollback()
    assert session.get(Patrol, patrol_id).ended_at is None
    other = api("13800000202")
    before = count(session, Patrol)
    assert_error(start(other, 2, recorded_at=when), 422, "out_of_range")
    assert count(session, Patrol) == before


def test_the_earliest_and_latest_accepted_device_times(running, town):
    client, patrol_id = running
    cp = town.checkpoints("G1")[0]
    for n, when in enumerate(["2000-01-01T00:00:00Z", "2099-12-31T23:59:59Z"]):
        checked = client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=at(cp, n=200 + n, recorded_at=when))
        assert checked.status_code == 201, checked.text


@pytest.mark.parametrize("what", ["start", "check_in"])
def test_a_patrol_or_check_in_is_saved_together_with_its_audit_event_or_not_at_all(running, api, town, session,
                                                                                   monkeypatch, what):
    from volunteers import audit

    def audit_fails(*args, **kwargs):
        raise RuntimeError("the audit trail could not be written")

    client, patrol_id = running
    other = api("13800000202")
    before = count(session, Patrol), count(session, CheckIn)
    monkeypatch.setattr(audit, "record", audit_fails)
    monkeypatch.setattr(audit, "insert", audit_fails)  # the hot path's Core INSERT of the same row (issue 13)
    # PostgreSQL writes the row and its audit event in one statement: there the audit part fails in the database
    # (an address longer than its column), which must fail the whole statement.
    real_params = audit.audit_params
    monkeypatch.setattr(audit, "audit_params", lambda **kw: real_params(**kw) | {"audit_ip": "9" * 65})
    with pytest.raises((RuntimeError, sa.exc.DataError)):
        if what == "start":
            start(other, 3)
        else:
            client.post(f"/api/v1/patrols/{patrol_id}/checkins", json=at(town.checkpoints("G1")[0]))
    assert (count(session, Patrol), count(session, CheckIn)) == before


def test_a_first_check_in_runs_three_statements_on_postgres_four_on_sqlite_and_no_client_id_look_up(app, town):
    """Issue 13's hot path: the token, one read (the patrol, the checkpoint, the flags' probe), then the check-in
    and its audit row — one statement on PostgreSQL, two on SQLite; the client_id is only looked up when the INSERT
    collides (a retry), never before."""
    import sqlalchemy as sa

    volunteer = town.user(VOLUNTEER)
    token = accounts.issue_token(town.session, user=volunteer)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    patrol = client.post("/api/v1/patrols", json={"client_id": cid(1)}, headers=headers)
    assert patrol.status_code == 201, patrol.text
    cp = town.checkpoints("G1")[0]
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    engine = app.extensions["volunteers.engine"]
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        body = at(cp)
        checked = client.post(f"/api/v1/patrols/{patrol.json['id']}/checkins", json=body, headers=headers)
        again = client.post(f"/api/v1/patrols/{patrol.json['id']}/checkins", json=body, headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert checked.status_code == 201, checked.text
    assert (again.status_code, again.json["id"]) == (200, checked.json["id"])  # the retry still answers the same
    first = statements[:statements.index(next(s for s in statements if "INSERT INTO audit_event" in s)) + 1]
    assert len(first) == (3 if ON_POSTGRES else 4), first
    assert not any("checkin.client_id =" in s for s in first if s.startswith("SELECT")), first
