"""The hazard API through HTTP: multipart reports, idempotent retries, the state machine, private photos,
and clear JSON errors (never a 500) for every kind of bad input."""
from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session, select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import accounts, demo, photos
from volunteers.models import Hazard, Photo, User

FILES = Path(__file__).parent.parent / "files"
VOLUNTEER_G1_OTHER = "13800000202"


def cell(row: int, col: int) -> tuple[float, float]:
    return demo.ORIGIN[0] + (row + 0.5) * demo.STEP_LAT, demo.ORIGIN[1] + (col + 0.5) * demo.STEP_LON


IN_G1, OUTSIDE = cell(1, 0), cell(5, 5)


def photo(name: str = "gps.jpg") -> tuple[io.BytesIO, str]:
    return io.BytesIO((FILES / name).read_bytes()), name


def form(client_id: str | None = None, point=IN_G1, photos=(), **fields) -> dict:
    data = {"client_id": client_id or str(uuid.uuid4()), "kind": "hazard", "category": "fire",
            "description": "楼道堆放纸箱"} | fields
    if point is not None:
        data |= {"lat": str(point[0]), "lon": str(point[1]), "accuracy_m": "12"}
    if photos:
        data["photo"] = [photo(p) if isinstance(p, str) else p for p in photos]
    return data


def post_report(client, **kw):
    return client.post("/api/v1/hazards", data=form(**kw), content_type="multipart/form-data")


def stored_files(app) -> list[Path]:
    root = Path(app.config["DATA_DIR"]) / "photos"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, response.text
    assert response.is_json, response.text
    error = response.json["error"]
    assert error["message"] and isinstance(error["message"], str)
    if code:
        assert error["code"] == code, error


@pytest.fixture
def volunteer(login_as):
    return login_as(VOLUNTEER)


@pytest.fixture
def officer(login_as):
    return login_as(OFFICER_G12)


@pytest.fixture
def reported(volunteer):
    """A G1 fire hazard with one photo, reported through the API."""
    response = post_report(volunteer, photos=["gps.jpg"])
    assert response.status_code == 201
    return response.json


# --- reporting ----------------------------------------------------------------------------------------

def test_a_report_with_photos_is_created_in_the_grid_of_its_point(app, volunteer):
    response = post_report(volunteer, photos=["gps.jpg", "rotated.jpg", "plain.png"])
    assert response.status_code == 201, response.text
    body = response.json
    assert (body["grid"], body["status"]) == ("G1", "reported") and isinstance(body["id"], int)
    assert len(body["photos"]) == 3 and len(stored_files(app)) == 6  # each with its thumbnail


def test_a_heic_photo_the_phone_could_not_shrink_is_kept_as_a_jpeg(app, volunteer):
    """Chrome on Android cannot draw a HEIC to a canvas to shrink it, so the outbox sends the file as taken."""
    response = post_report(volunteer, photos=["iphone.heic"])
    assert response.status_code == 201, response.text
    [url] = response.json["photos"]
    got = volunteer.get(url)
    assert got.status_code == 200 and got.mimetype == "image/jpeg" and got.data[:3] == b"\xff\xd8\xff"


def test_a_report_outside_every_grid_has_no_grid(volunteer):
    response = post_report(volunteer, point=OUTSIDE)
    assert response.status_code == 201 and response.json["grid"] is None and response.json["grid_id"] is None


def test_a_report_by_address_only_is_accepted(volunteer):
    response = post_report(volunteer, point=None, address="青石小学东门对面")
    assert response.status_code == 201 and response.json["grid"] is None


def test_a_retry_returns_the_first_report_with_200(app, volunteer, session):
    client_id = str(uuid.uuid4())
    first = post_report(volunteer, client_id=client_id, photos=["gps.jpg"])
    again = post_report(volunteer, client_id=client_id, photos=["gps.jpg"])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"] and again.json["photos"] == first.json["photos"]
    assert len(session.exec(select(Hazard).where(Hazard.client_id == client_id)).all()) == 1
    assert len(stored_files(app)) == 2


@pytest.mark.parametrize("change", [{"description": "另一件事"}, {"photos": ["rotated.jpg"]}, {"photos": []}],
                         ids=["description", "photo", "no-photo"])
def test_reusing_a_client_id_for_other_content_is_a_409(app, volunteer, change):
    client_id = str(uuid.uuid4())
    assert post_report(volunteer, client_id=client_id, photos=["gps.jpg"]).status_code == 201
    files = len(stored_files(app))
    assert_error(post_report(volunteer, client_id=client_id, **({"photos": ["gps.jpg"]} | change)), 409, "client_id_reused")
    assert len(stored_files(app)) == files


@pytest.mark.parametrize("fields, status, code", [
    ({"point": None}, 422, "location_required"),
    ({"point": (95, 120)}, 422, "out_of_range"),
    ({"point": (30, -190)}, 422, "out_of_range"),
    ({"point": ("north", "east")}, 400, "bad_number"),
    ({"category": "ufo"}, 422, "bad_choice"),
    ({"category": ""}, 400, "missing_field"),
    ({"kind": "gossip"}, 422, "bad_choice"),
    ({"client_id": "12345"}, 400, "bad_client_id"),
    ({"description": "字" * 2001}, 422, "too_long"),
    ({"photos": ["not-an-image.jpg"]}, 422, "not_an_image"),
    ({"photos": ["huge.png"]}, 422, "image_too_big"),
    ({"photos": ["gps.jpg"] * 7}, 422, "too_many_photos"),
    ({"photos": ["gps.jpg", "not-an-image.jpg", "rotated.jpg"]}, 422, "not_an_image"),
], ids=["no-place", "lat-out", "lon-out", "not-numbers", "unknown-category", "no-category", "unknown-kind",
        "bad-client-id", "long-description", "text-file", "bomb", "seven-photos", "bad-among-good"])
def test_bad_reports_get_a_clear_error_and_nothing_is_saved(app, session, volunteer, fields, status, code):
    before = len(session.exec(select(Hazard)).all())
    assert_error(post_report(volunteer, **fields), status, code)
    assert len(session.exec(select(Hazard)).all()) == before
    assert stored_files(app) == []


def test_a_30_mb_photo_is_a_413_json_error(app, volunteer):
    big = io.BytesIO(b"\xff\xd8\xff\xe0" + b"\0" * (30 * 1024 * 1024))
    response = post_report(volunteer, photos=[(big, "big.jpg")])
    assert_error(response, 413, "too_large")
    assert "15" in response.json["error"]["message"] and stored_files(app) == []


def test_a_request_over_the_40_mb_limit_is_a_413_json_error(app, volunteer):
    parts = [(io.BytesIO(b"\xff\xd8" + b"\0" * (14 * 1024 * 1024)), f"p{i}.jpg") for i in range(3)]
    response = post_report(volunteer, photos=parts)
    assert_error(response, 413, "too_large")
    assert stored_files(app) == []


def test_reports_accept_a_json_body_without_photos(volunteer):
    response = volunteer.post("/api/v1/hazards", json={"client_id": str(uuid.uuid4()), "category": "traffic",
                                                       "lat": IN_G1[0], "lon": IN_G1[1]})
    assert response.status_code == 201 and response.json["grid"] == "G1" and response.json["kind"] == "hazard"


@pytest.mark.parametrize("body, content_type", [
    ('{"client_id": ', "application/json"),
    ("[1, 2]", "application/json"),
    ("just text", "text/plain"),
])
def test_a_malformed_body_is_a_400(volunteer, body, content_type):
    assert_error(volunteer.post("/api/v1/hazards", data=body, content_type=content_type), 400)


# --- reading one ---------------------------------------------------------------------------------------

def test_the_reporter_reads_status_history_and_photos(volunteer, reported):
    response = volunteer.get(f"/api/v1/hazards/{reported['id']}")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "reported" and body["grid"] == "G1"
    assert [(s["from"], s["to"]) for s in body["history"]] == [(None, "reported")]
    assert len(body["photos"]) == 1 and body["next"] == []
    image = volunteer.get(body["photos"][0])
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert "private" in image.headers["Cache-Control"]
    assert Image.open(io.BytesIO(image.data)).getexif() == {}


@pytest.mark.parametrize("phone, status", [
    (VOLUNTEER, 200), (OFFICER_G12, 200), (COORDINATOR, 200),
    (VOLUNTEER_G1_OTHER, 404), (VOLUNTEER_G3, 404), (OFFICER_G34, 404),
])
def test_a_report_and_its_photos_are_private_to_its_scope(login_as, reported, phone, status):
    client = login_as(phone)
    assert client.get(f"/api/v1/hazards/{reported['id']}").status_code == status
    for url in (reported["photos"][0], reported["photos"][0] + "/thumb"):
        response = client.get(url)
        assert response.status_code == status
        assert response.mimetype == ("image/jpeg" if status == 200 else response.mimetype)
        if status != 200:
            assert not response.data.startswith(b"\xff\xd8")


def test_a_missing_report_is_a_json_404(volunteer):
    assert_error(volunteer.get("/api/v1/hazards/999999"), 404, "not_found")


def test_the_officer_sees_the_reporter_with_a_masked_phone(officer, reported):
    body = officer.get(f"/api/v1/hazards/{reported['id']}").json
    assert body["reporter"]["phone"] != VOLUNTEER and body["reporter"]["phone"][-4:] == VOLUNTEER[-4:]
    assert set(body["next"]) == {"accepted", "rejected", "duplicate"}


def test_a_clues_reporter_is_not_shown_to_the_coordinator(login_as, volunteer, officer):
    clue = post_report(volunteer, kind="clue", category="suspicious").json
    assert "reporter" in officer.get(f"/api/v1/hazards/{clue['id']}").json
    body = login_as(COORDINATOR).get(f"/api/v1/hazards/{clue['id']}").json
    assert "reporter" not in body and body["history"][0]["actor"] is None


# --- moving it ------------------------------------------------------------------------------------------

def test_an_officer_works_a_report_to_closure_and_someone_else_closes_it(app, login_as, officer, reported, volunteer):
    url = f"/api/v1/hazards/{reported['id']}/transition"
    steps = [({"to": "accepted", "priority": "urgent"}, "accepted"), ({"to": "assigned"}, "assigned"),
             ({"to": "rectifying", "note": "已通知物业"}, "rectifying")]
    for body, status in steps:
        response = officer.post(url, json=body)
        assert response.status_code == 200, response.text
        assert response.json["status"] == status
    fixed = officer.post(url, data={"to": "rectified", "note": "已清走", "photo": photo("rotated.jpg")},
                         content_type="multipart/form-data")
    assert fixed.status_code == 200 and fixed.json["status"] == "rectified"
    after = fixed.json["history"][-1]["photos"]
    assert len(after) == 1 and volunteer.get(after[0]).mimetype == "image/jpeg"
    assert_error(officer.post(url, json={"to": "closed"}), 403, "same_inspector")
    closed = login_as(COORDINATOR).post(url, json={"to": "closed", "note": "复查通过"})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    seen = volunteer.get(f"/api/v1/hazards/{reported['id']}").json
    assert [s["to"] for s in seen["history"]] == ["reported", "accepted", "assigned", "rectifying", "rectified", "closed"]
    assert seen["priority"] == "urgent" and len(seen["photos"]) == 2


def test_a_form_encoded_transition_works_too(officer, reported):
    response = officer.post(f"/api/v1/hazards/{reported['id']}/transition", data={"to": "rejected", "note": "不属于隐患"})
    assert response.status_code == 200 and response.json["status"] == "rejected"


@pytest.mark.parametrize("who, body, status, code", [
    (OFFICER_G12, {"to": "closed"}, 409, "illegal_transition"),
    (OFFICER_G12, {"to": "reported"}, 409, "illegal_transition"),
    (VOLUNTEER, {"to": "accepted"}, 403, "forbidden"),
    (OFFICER_G34, {"to": "accepted"}, 404, "not_found"),
    (OFFICER_G12, {"to": "fixed"}, 422, "unknown_state"),
    (OFFICER_G12, {}, 422, "unknown_state"),
    (OFFICER_G12, {"to": "rejected", "note": "长" * 1001}, 422, "too_long"),
    (OFFICER_G12, {"to": "rejected"}, 422, "reason_required"),
    (OFFICER_G12, {"to": "rejected", "note": 5}, 400, "bad_text"),
    (OFFICER_G12, {"to": "accepted", "priority": "asap"}, 422, "bad_choice"),
    (OFFICER_G12, {"to": "accepted", "deadline": "2001-01-01"}, 422, "deadline_past"),
    (OFFICER_G12, {"to": "accepted", "deadline": "tomorrow"}, 400, "bad_time"),
    (OFFICER_G12, {"to": "duplicate"}, 400, "missing_field"),
    (OFFICER_G12, {"to": "duplicate", "duplicate_of": "x"}, 400, "bad_number"),
], ids=["illegal-close", "illegal-back", "reporter", "other-grid-officer", "unknown-state", "no-state", "long-note",
        "no-reason", "note-not-text", "bad-priority", "past-deadline", "bad-deadline", "no-original", "bad-original"])
def test_refused_transitions_get_the_right_status_and_change_nothing(login_as, reported, officer, who, body, status, code):
    response = login_as(who).post(f"/api/v1/hazards/{reported['id']}/transition", json=body)
    assert_error(response, status, code)
    assert officer.get(f"/api/v1/hazards/{reported['id']}").json["status"] == "reported"


@pytest.mark.parametrize("body", ['{"to": "accepted"', '"accepted"', "null"])
def test_a_malformed_json_transition_is_a_400(officer, reported, body):
    response = officer.post(f"/api/v1/hazards/{reported['id']}/transition", data=body, content_type="application/json")
    assert_error(response, 400, "bad_json")


def test_a_transition_with_a_non_image_after_photo_is_refused_without_a_file(app, officer, reported):
    url = f"/api/v1/hazards/{reported['id']}/transition"
    for step in ({"to": "accepted"}, {"to": "assigned"}, {"to": "rectifying"}):
        assert officer.post(url, json=step).status_code == 200
    files = len(stored_files(app))
    response = officer.post(url, data={"to": "rectified", "note": "ok", "photo": photo("not-an-image.jpg")},
                            content_type="multipart/form-data")
    assert_error(response, 422, "not_an_image")
    assert len(stored_files(app)) == files
    assert officer.get(f"/api/v1/hazards/{reported['id']}").json["status"] == "rectifying"


def test_a_transition_takes_one_photo_at_most(officer, reported):
    response = officer.post(f"/api/v1/hazards/{reported['id']}/transition",
                            data={"to": "rejected", "note": "x", "photo": [photo(), photo("rotated.jpg")]},
                            content_type="multipart/form-data")
    assert_error(response, 422, "too_many_photos")


# --- who is asking ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/hazards"), ("get", "/api/v1/hazards/1"), ("post", "/api/v1/hazards/1/transition"),
])
def test_anonymous_callers_get_a_401_json(client, town, method, path):
    assert_error(getattr(client, method)(path), 401, "unauthorized")


def test_an_anonymous_photo_request_is_not_served(client, reported):
    response = client.get(reported["photos"][0])
    assert response.status_code in (302, 401) and not response.data.startswith(b"\xff\xd8")


def test_a_bearer_token_works_without_a_session_or_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"], expire_on_commit=False) as db:
        demo.build(db)
        user = db.exec(select(User).where(User.phone == VOLUNTEER)).one()
        token = accounts.issue_token(db, user=user)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/hazards", data=form(), content_type="multipart/form-data", headers=headers)
    assert created.status_code == 201 and created.json["grid"] == "G1"
    assert client.get(f"/api/v1/hazards/{created.json['id']}", headers=headers).status_code == 200
    assert_error(client.get(f"/api/v1/hazards/{created.json['id']}", headers={"Authorization": "Bearer wrong"}), 401)


def test_a_browser_session_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"]) as db:
        demo.build(db)
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text)
    assert client.post("/login", data={"phone": VOLUNTEER, "password": demo.PASSWORD,
                                       "csrf_token": token.group(1)}).status_code == 302
    assert_error(client.post("/api/v1/hazards", data=form(), content_type="multipart/form-data"), 400, "csrf")
    created = client.post("/api/v1/hazards", data=form(), content_type="multipart/form-data",
                          headers={"X-CSRFToken": token.group(1)})
    assert created.status_code == 201


def test_photos_are_rows_with_random_names_in_the_data_directory(app, session, reported):
    rows = session.exec(select(Photo).where(Photo.hazard_id == reported["id"])).all()
    assert len(rows) == 1 and len(rows[0].stored_name) == 32
    assert all(str(p).startswith(app.config["DATA_DIR"]) and "static" not in p.parts for p in stored_files(app))
    assert rows[0].stored_name not in reported["photos"][0]  # the URL names the row, never the file


# --- ids no database column can hold (PostgreSQL ids are 32-bit) ------------------------------------------

HUGE = [2 ** 31, 10 ** 25]


@pytest.mark.parametrize("huge", HUGE)
@pytest.mark.parametrize("path", ["/api/v1/hazards/{}", "/photos/{}", "/photos/{}/thumb"])
def test_a_huge_id_in_the_address_is_a_404_not_a_500(volunteer, town, path, huge):
    assert volunteer.get(path.format(huge)).status_code == 404


@pytest.mark.parametrize("huge", HUGE)
def test_a_huge_id_in_a_transition_address_is_a_404(officer, town, huge):
    assert_error(officer.post(f"/api/v1/hazards/{huge}/transition", json={"to": "accepted"}), 404, "not_found")


@pytest.mark.parametrize("huge", HUGE)
@pytest.mark.parametrize("state, body, code", [
    ("reported", {"to": "duplicate", "duplicate_of": "{}"}, "unknown_original"),
    ("accepted", {"to": "assigned", "assignee_id": "{}"}, "unknown_assignee"),
    ("accepted", {"to": "assigned", "team_id": "{}"}, "unknown_team"),
])
def test_a_huge_id_in_a_transition_body_is_refused_clearly(officer, reported, state, body, code, huge):
    url = f"/api/v1/hazards/{reported['id']}/transition"
    if state == "accepted":
        assert officer.post(url, json={"to": "accepted"}).status_code == 200
    response = officer.post(url, json={k: v.format(huge) for k, v in body.items()})
    assert_error(response, 422, code)


@pytest.mark.parametrize("state, field", [("reported", "duplicate_of"), ("accepted", "assignee_id"), ("accepted", "team_id")])
@pytest.mark.parametrize("raw", ["true", "2.7", "1e400", '"abc"', "[1]"])
def test_an_id_in_a_transition_body_that_is_no_whole_number_is_a_400(officer, reported, state, field, raw):
    """JSON true is not person #1, 2.7 is not #2, and 1e400 (parsed as infinity) must not be a 500."""
    url = f"/api/v1/hazards/{reported['id']}/transition"
    if state == "accepted":
        assert officer.post(url, json={"to": "accepted"}).status_code == 200
    to = "duplicate" if field == "duplicate_of" else "assigned"
    response = officer.post(url, data=f'{{"to": "{to}", "{field}": {raw}}}', content_type="application/json")
    assert_error(response, 400, "bad_number")
    assert officer.get(f"/api/v1/hazards/{reported['id']}").json["status"] == state


def test_a_photo_lost_from_disk_is_a_404_not_a_crash(app, town, login_as):
    volunteer = login_as(VOLUNTEER)
    buf = io.BytesIO()
    Image.new("RGB", (50, 40), "red").save(buf, "JPEG")
    cp = town.checkpoints("G1")[0]
    created = volunteer.post("/api/v1/hazards", content_type="multipart/form-data", data={
        "client_id": str(uuid.uuid4()), "category": "fire", "lat": cp.lat, "lon": cp.lon,
        "photo": [(io.BytesIO(buf.getvalue()), "a.jpg")]})
    url = created.json["photos"][0]
    with Session(app.extensions["volunteers.engine"]) as s:
        photo = s.exec(select(Photo).where(Photo.id == int(url.rsplit("/", 1)[1]))).one()
        photos.PhotoStore(app.config["DATA_DIR"]).delete(photo.stored_name)
    assert volunteer.get(url).status_code == 404
