"""Hazard pages: the report form (with and without GPS), my reports, the officers' triage list and map, one report
with its history and the forms that move it, as full pages and as htmx partials, and who may see what."""
from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import func, select

from volunteers import hazards
from volunteers.models import Hazard, HazardEvent, Photo, utcnow
from volunteers.photos import PhotoStore

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3

G1_POINT = (30.2535, 120.0952)
G3_POINT = (30.2445, 120.0952)
OTHER_VOLUNTEER_G1 = "13800000202"
HX = {"HX-Request": "true"}


def jpeg(color: str = "red", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg"):
    return (io.BytesIO(data), name)


def photo_files(app) -> list[Path]:
    return [p for p in (Path(app.config["DATA_DIR"]) / "photos").rglob("*") if p.is_file()]


def hazard_count(session) -> int:
    return session.exec(select(func.count()).select_from(Hazard)).one()


@pytest.fixture
def make_hazard(app, session, town):
    """A report filed through the domain, by this volunteer, at this point (or address), with photos."""

    def _make(phone: str = VOLUNTEER, *, kind: str = "hazard", category: str = "fire", point=G1_POINT,
              address: str = "", photos: int = 1) -> Hazard:
        data = {"client_id": f"00000000-0000-4000-8000-{hazard_count(session) + 1:012d}", "kind": kind,
                "category": category, "description": "楼道堆放杂物", "address": address}
        if point:
            data.update(lat=str(point[0]), lon=str(point[1]), accuracy_m="8")
        hazard, _ = hazards.report(session, user=town.user(phone), data=data, uploads=[jpeg() for _ in range(photos)],
                                   store=PhotoStore(app.config["DATA_DIR"]))
        return hazard

    return _make


def move(session, town, hazard: Hazard, phone: str, to: str, **data) -> Hazard:
    return hazards.transition(session, user=town.user(phone), hazard_id=hazard.id, data={"to": to, **data},
                              photo=None, store=None)


def fresh(session, hazard_id: int) -> Hazard:
    session.expire_all()
    return session.get(Hazard, hazard_id)


def form(**overrides):
    data = {"client_id": "6f1c2a7e-0c1d-4b8e-9d57-1e2f3a4b5c6d", "kind": "hazard", "category": "fire",
            "description": "消防通道被堵", "lat": str(G1_POINT[0]), "lon": str(G1_POINT[1]), "accuracy_m": "12",
            "address": ""}
    data.update(overrides)
    return data


# --- The report form ------------------------------------------------------------------------------------

def test_the_report_form_is_a_full_page_that_works_without_javascript(english):
    page = english(VOLUNTEER).get("/hazards/new")
    assert page.status_code == 200
    html = page.text
    assert "<html" in html and 'enctype="multipart/form-data"' in html
    assert len(re.findall(r'name="kind" value="(hazard|clue)"', html)) == 2
    assert set(re.findall(r'name="category" value="(\w+)"', html)) == set(hazards.CATEGORIES)
    assert 'name="photo" accept="image/*" multiple' in html and 'capture="environment"' in html
    # Without JavaScript one plain file input shows; the 拍照/从相册选 buttons and the camera input are the script's.
    assert re.search(r'<div class="two-buttons" data-photo-buttons hidden>', html)
    assert re.search(r'<input type="file" id="photo-pick" name="photo"[^>]*>', html) and \
        " hidden" not in re.search(r'<input type="file" id="photo-pick" name="photo"[^>]*>', html).group(0)
    assert 'name="address"' in html and 'name="lat"' in html and 'name="client_id"' in html
    assert "data-use-location" in html and "hidden data-use-location" in html  # shown only by JS with GPS


def test_the_report_form_as_a_partial_is_only_the_form(english):
    page = english(VOLUNTEER).get("/hazards/new", headers=HX)
    assert page.status_code == 200
    assert "<html" not in page.text and page.text.lstrip().startswith('<form') and 'id="report-form"' in page.text


def test_a_report_with_gps_and_photos_lands_in_its_grid(app, english, session, town):
    client = english(VOLUNTEER)
    response = client.post("/hazards/", data={**form(), "photo": [upload(jpeg()), upload(jpeg("blue")),
                                                                 (io.BytesIO(b""), "")]})
    assert response.status_code == 302
    hazard = session.exec(select(Hazard).where(Hazard.client_id == form()["client_id"])).one()
    assert response.headers["Location"].endswith(f"/hazards/{hazard.id}")
    assert hazard.grid_id == town.grid("G1").id and hazard.reporter_id == town.user(VOLUNTEER).id
    assert len(hazards.report_photos(session, hazard)) == 2  # the empty camera input was skipped
    page = client.get(response.headers["Location"])
    assert "Thank you! Your report #%d" % hazard.id in page.text
    assert page.text.count('/thumb"') == 2


def test_a_report_with_only_an_address_goes_to_the_station_queue(english, session):
    response = english(VOLUNTEER).post("/hazards/", data=form(lat="", lon="", accuracy_m="", address="东街菜市场南门"))
    assert response.status_code == 302
    hazard = session.exec(select(Hazard).where(Hazard.client_id == form()["client_id"])).one()
    assert hazard.grid_id is None and hazard.lat is None and hazard.address == "东街菜市场南门"


def test_sending_the_same_form_twice_files_one_report(english, session):
    client = english(VOLUNTEER)
    before = hazard_count(session)
    first = client.post("/hazards/", data=form())
    second = client.post("/hazards/", data=form())
    assert first.headers["Location"] == second.headers["Location"]
    assert hazard_count(session) == before + 1


@pytest.mark.parametrize("overrides, files, status, message", [
    ({"lat": "", "lon": "", "accuracy_m": "", "address": ""}, 0, 422, "Please give the place"),
    ({}, 7, 422, "At most 6 photos per report."),
    ({}, "text", 422, "This file is not a photo"),
    ({}, "huge", 413, "A photo may be at most 15 MB."),
    ({"category": "aliens"}, 1, 422, "is not a valid category"),
    ({"lat": "95"}, 1, 422, "must be between -90 and 90"),
])
def test_bad_input_shows_the_reason_keeps_what_was_typed_and_saves_nothing(app, english, session, overrides, files,
                                                                          status, message):
    before, files_before = hazard_count(session), len(photo_files(app))
    if files == "text":
        photos = [upload(jpeg()), upload(b"just some words, not a picture", "photo.jpg")]
    elif files == "huge":
        photos = [upload(jpeg()), upload(b"\xff\xd8\xff" + b"\0" * (16 * 1024 * 1024), "big.jpg")]
    else:
        photos = [upload(jpeg()) for _ in range(files)]
    data = form(**{"description": "电线裸露在外", "address": "东街菜市场", **overrides})
    response = english(VOLUNTEER).post("/hazards/", data={**data, "photo": photos})
    assert response.status_code == status
    assert message in response.text and 'id="form-error"' in response.text
    assert "电线裸露在外" in response.text and f'name="address" maxlength="200" value="{data["address"]}"' in response.text
    assert f'value="{data["client_id"]}"' in response.text
    assert hazard_count(session) == before
    assert len(photo_files(app)) == files_before


# --- My reports -----------------------------------------------------------------------------------------

def test_my_reports_show_only_mine_with_their_status(english, make_hazard, session, town):
    mine = make_hazard()
    closed = make_hazard(category="traffic")
    for phone, to in ((OFFICER_G12, "accepted"), (OFFICER_G12, "assigned"), (OFFICER_G12, "rectifying")):
        move(session, town, closed, phone, to)
    move(session, town, closed, OFFICER_G12, "rectified", note="清理完毕")
    move(session, town, closed, COORDINATOR, "closed")
    theirs = make_hazard(VOLUNTEER_G3, point=G3_POINT)
    page = english(VOLUNTEER).get("/hazards/mine")
    assert page.status_code == 200 and "<html" in page.text
    assert f'id="my-report-{mine.id}"' in page.text and f'id="my-report-{theirs.id}"' not in page.text
    row = re.search(rf'id="my-report-{closed.id}".*?</li>', page.text, re.S).group(0)
    assert "status-closed" in row and "Closed" in row
    partial = english(VOLUNTEER).get("/hazards/mine", headers=HX)
    assert "<html" not in partial.text and 'id="my-reports"' in partial.text


# --- Triage list and map ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/hazards/", "/hazards/map"])
def test_volunteers_are_sent_to_their_own_reports(english, path):
    response = english(VOLUNTEER).get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/hazards/mine")


def row_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'id="hazard-row-(\d+)"', html)}


def test_an_officer_sees_the_reports_of_his_grids_only(english, make_hazard):
    g1 = make_hazard()
    g3 = make_hazard(VOLUNTEER_G3, point=G3_POINT)
    queued = make_hazard(point=None, address="镇外省道")
    ids = row_ids(english(OFFICER_G12).get("/hazards/").text)
    assert g1.id in ids and g3.id not in ids and queued.id not in ids
    ids = row_ids(english(OFFICER_G34).get("/hazards/").text)
    assert g3.id in ids and g1.id not in ids


def test_the_coordinator_sees_the_whole_station_and_can_filter_the_queue(english, make_hazard):
    g1 = make_hazard()
    queued = make_hazard(point=None, address="镇外省道")
    client = english(COORDINATOR)
    assert {g1.id, queued.id} <= row_ids(client.get("/hazards/").text)
    page = client.get("/hazards/?grid=0")
    assert 'value="0" selected' in page.text
    assert queued.id in row_ids(page.text) and g1.id not in row_ids(page.text)


def test_triage_filters_by_status_category_grid_and_overdue(english, make_hazard, session, town):
    fire = make_hazard()
    traffic = make_hazard(category="traffic", point=(30.2535, 120.1050))  # G2
    late = make_hazard(category="dispute")
    move(session, town, late, OFFICER_G12, "accepted")
    late = fresh(session, late.id)
    late.deadline = utcnow() - timedelta(days=1)
    session.add(late)
    session.commit()
    rejected = make_hazard(category="other")
    move(session, town, rejected, OFFICER_G12, "rejected", note="不属于辖区")
    client = english(OFFICER_G12)

    default = row_ids(client.get("/hazards/").text)
    assert {fire.id, traffic.id, late.id} <= default and rejected.id not in default
    assert rejected.id in row_ids(client.get("/hazards/?status=all").text)
    assert row_ids(client.get("/hazards/?status=rejected").text) >= {rejected.id}
    assert fire.id not in row_ids(client.get("/hazards/?status=rejected").text)
    by_category = row_ids(client.get("/hazards/?status=all&category=traffic").text)
    assert traffic.id in by_category and fire.id not in by_category
    by_grid = row_ids(client.get(f"/hazards/?grid={town.grid('G2').id}").text)
    assert traffic.id in by_grid and fire.id not in by_grid
    overdue = client.get("/hazards/?overdue=1")
    assert late.id in row_ids(overdue.text) and fire.id not in row_ids(overdue.text)
    assert re.search(rf'class="row hazard-row overdue" id="hazard-row-{late.id}"', overdue.text)
    assert not re.search(rf'class="row hazard-row overdue" id="hazard-row-{fire.id}"', client.get("/hazards/").text)


def test_triage_filters_are_a_get_form_that_htmx_enhances(english):
    client = english(OFFICER_G12)
    page = client.get("/hazards/")
    assert "<html" in page.text and 'method="get"' in page.text
    assert 'hx-get="/hazards/"' in page.text and 'hx-target="#hazard-rows"' in page.text and 'hx-push-url="true"' in page.text
    partial = client.get("/hazards/?status=all", headers=HX)
    assert "<html" not in partial.text and partial.text.lstrip().startswith('<div id="hazard-rows"')
    assert "HX-Request" in partial.headers["Vary"]
    restore = client.get("/hazards/?status=all", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_the_triage_list_shows_the_most_urgent_first_and_more_on_a_tap(english, make_hazard, monkeypatch):
    from volunteers.web import hazards as hazard_views
    monkeypatch.setattr(hazard_views, "TRIAGE_PAGE", 2)
    monkeypatch.setattr(hazard_views, "TRIAGE_MAX", 4)
    for _ in range(5):
        make_hazard(photos=0)
    client = english(OFFICER_G12)
    first = client.get("/hazards/?status=open")
    assert len(row_ids(first.text)) == 2 and "The first 2 reports" in first.text
    more = re.search(r'id="hazard-rows-more" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    assert "status=open" in more and "shown=4" in more  # the filters are kept
    second = client.get(more, headers=HX)
    assert "<html" not in second.text and len(row_ids(second.text)) == 4
    assert row_ids(first.text) <= row_ids(second.text)
    assert 'id="hazard-rows-more"' not in second.text  # the cap: the rest is for the filters
    assert len(row_ids(client.get("/hazards/?shown=999").text)) == 4 and client.get("/hazards/?shown=-3").status_code == 200


def test_malformed_filters_are_ignored(english):
    page = english(OFFICER_G12).get("/hazards/?status=bogus&category=x&grid=abc&overdue=maybe")
    assert page.status_code == 200


def test_a_clues_reporter_never_appears_in_the_triage_list(english, make_hazard, town):
    clue = make_hazard(kind="clue", category="suspicious")
    name = town.user(VOLUNTEER).name
    for phone in (OFFICER_G12, COORDINATOR):
        page = english(phone).get("/hazards/?status=all")
        assert clue.id in row_ids(page.text) and name not in page.text


def test_the_map_shows_grid_outlines_and_open_reports_without_tiles(english, make_hazard, town):
    hazard = make_hazard()
    page = english(OFFICER_G12).get("/hazards/map")
    assert page.status_code == 200 and "<html" in page.text
    assert "leaflet-1.9.4/leaflet.js" in page.text and 'data-tiles=""' in page.text
    data = json.loads(re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page.text, re.S).group(1))
    assert data["tiles"] == ""
    assert {g["code"] for g in data["grids"]} == {"G1", "G2"}
    assert data["grids"][0]["boundary"]["type"] == "Polygon"
    point = next(p for p in data["points"] if p["id"] == hazard.id)
    assert (point["lat"], point["lon"]) == G1_POINT and point["url"] == f"/hazards/{hazard.id}"
    assert hazard.id in row_ids(page.text)  # the list works without JS


def test_map_tiles_come_from_config(make_app):
    app = make_app(MAP_TILE_URL="https://tiles.example/{z}/{x}/{y}.png")
    from sqlmodel import Session
    from volunteers import demo
    with Session(app.extensions["volunteers.engine"]) as s:
        demo.build(s)
    client = app.test_client()
    client.post("/login", data={"phone": OFFICER_G12, "password": demo.PASSWORD})
    page = client.get("/hazards/map")
    assert 'data-tiles="https://tiles.example/{z}/{x}/{y}.png"' in page.text


def test_the_map_as_a_partial_is_the_list(english):
    partial = english(OFFICER_G12).get("/hazards/map", headers=HX)
    assert "<html" not in partial.text and 'id="hazard-rows"' in partial.text


def test_the_leaflet_files_are_served(client):
    assert client.get("/static/js/vendor/leaflet-1.9.4/leaflet.js").status_code == 200
    assert client.get("/static/js/vendor/leaflet-1.9.4/leaflet.css").status_code == 200


# --- One report: who may see it ---------------------------------------------------------------------------

ACCESS = [  # who, may see the report and its photos, may move it
    (VOLUNTEER, 200, 403),
    (OTHER_VOLUNTEER_G1, 404, 404),
    (VOLUNTEER_G3, 404, 404),
    (OFFICER_G12, 200, 302),
    (OFFICER_G34, 404, 404),
    (COORDINATOR, 200, 302),
]


@pytest.mark.parametrize("phone, see, move_status", ACCESS)
def test_access_to_a_report_its_photos_and_its_transitions(english, make_hazard, session, phone, see, move_status):
    hazard = make_hazard()
    photo = hazards.report_photos(session, hazard)[0]
    client = english(phone)
    assert client.get(f"/hazards/{hazard.id}").status_code == see
    assert client.get(f"/hazards/{hazard.id}", headers=HX).status_code == see
    assert client.get(f"/photos/{photo.id}").status_code == see
    assert client.get(f"/photos/{photo.id}/thumb").status_code == see
    response = client.post(f"/hazards/{hazard.id}/transition", data={"to": "accepted"})
    assert response.status_code == move_status
    assert fresh(session, hazard.id).status == ("accepted" if move_status == 302 else "reported")


def test_strangers_are_sent_to_log_in(client, make_hazard, session):
    hazard = make_hazard()
    photo = hazards.report_photos(session, hazard)[0]
    for path in ("/hazards/new", "/hazards/mine", "/hazards/", "/hazards/map", f"/hazards/{hazard.id}",
                 f"/photos/{photo.id}", f"/photos/{photo.id}/thumb", "/notifications/"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for method_path in ("/hazards/", f"/hazards/{hazard.id}/transition"):
        response = client.post(method_path, data={"to": "accepted"})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(f"/hazards/{hazard.id}", headers=HX).headers.get("HX-Redirect", "").startswith("/login")
    assert fresh(session, hazard.id).status == "reported"


def test_a_report_page_shows_what_where_photos_and_history(english, make_hazard, town):
    hazard = make_hazard(photos=2)
    page = english(OFFICER_G12).get(f"/hazards/{hazard.id}")
    html = page.text
    assert "<html" in html and f'id="hazard-{hazard.id}"' in html
    assert "Fire safety" in html and "Hazard" in html and "楼道堆放杂物" in html and "G1" in html
    assert "30.25350, 120.09520" in html and "±8 m" in html
    assert html.count("/thumb\"") == 2 and re.search(r'<a href="/photos/\d+"><img src="/photos/\d+/thumb"', html)
    assert "data-hazard-map" in html and 'id="map-data"' in html
    assert town.user(VOLUNTEER).name in html  # a hazard's reporter is shown to the grid's officer
    assert 'id="step-' in html and "Reported" in html


def test_the_report_partial_is_status_actions_and_history(english, make_hazard):
    hazard = make_hazard()
    partial = english(OFFICER_G12).get(f"/hazards/{hazard.id}", headers=HX)
    assert "<html" not in partial.text
    assert partial.text.lstrip().startswith(f'<section class="card hazard-detail" id="hazard-{hazard.id}"')
    assert 'id="action-accept"' in partial.text


def test_the_reporter_sees_no_buttons(english, make_hazard):
    page = english(VOLUNTEER).get(f"/hazards/{make_hazard().id}")
    assert "/transition" not in page.text and 'id="action-' not in page.text


def test_a_clues_reporter_is_shown_only_to_the_grids_officer(english, make_hazard, town):
    clue = make_hazard(kind="clue", category="suspicious")
    reporter = town.user(VOLUNTEER)
    masked = reporter.phone[:3] + "****" + reporter.phone[-4:]
    officer = english(OFFICER_G12).get(f"/hazards/{clue.id}").text
    assert reporter.name in officer and masked in officer and reporter.phone not in officer
    coordinator = english(COORDINATOR).get(f"/hazards/{clue.id}")
    assert coordinator.status_code == 200
    assert reporter.name not in coordinator.text and masked not in coordinator.text and "Anonymous" in coordinator.text
    other = english(OFFICER_G34).get(f"/hazards/{clue.id}")
    assert other.status_code == 404 and reporter.name not in other.text


# --- Moving a report through the page forms ---------------------------------------------------------------

def step(client, hazard_id: int, htmx: bool, **data):
    return client.post(f"/hazards/{hazard_id}/transition", data=data, headers=HX if htmx else {})


def check_step(response, client, hazard_id: int, htmx: bool, label: str):
    if htmx:
        assert response.status_code == 200, response.text
        assert "<html" not in response.text and f'id="hazard-{hazard_id}"' in response.text
        assert f"Saved. The report is now: {label}." in response.text
    else:
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/hazards/{hazard_id}")
        page = client.get(response.headers["Location"])
        assert f"Saved. The report is now: {label}." in page.text


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_report_is_worked_to_closure_through_the_page(app, english, make_hazard, session, town, htmx):
    hazard = make_hazard()
    officer, coordinator = english(OFFICER_G12), english(COORDINATOR)
    deadline = (utcnow() + timedelta(days=5)).date().isoformat()
    check_step(step(officer, hazard.id, htmx, to="accepted", priority="high", deadline=deadline), officer, hazard.id,
               htmx, "Accepted")
    h = fresh(session, hazard.id)
    assert h.priority == "high" and h.deadline.date().isoformat() == deadline
    page = officer.get(f"/hazards/{hazard.id}").text
    assert "assign-me" in page and town.user(OTHER_VOLUNTEER_G1).name in page  # volunteers of the grid
    volunteer = town.user(OTHER_VOLUNTEER_G1)
    check_step(step(officer, hazard.id, htmx, to="assigned", assignee_id=str(volunteer.id)), officer, hazard.id, htmx,
               "Assigned")
    assert fresh(session, hazard.id).assignee_id == volunteer.id
    check_step(step(officer, hazard.id, htmx, to="rectifying"), officer, hazard.id, htmx, "Being fixed")
    files_before = len(photo_files(app))
    response = officer.post(f"/hazards/{hazard.id}/transition", headers=HX if htmx else {},
                            data={"to": "rectified", "note": "已清理", "photo": upload(jpeg("green"))},
                            content_type="multipart/form-data")
    check_step(response, officer, hazard.id, htmx, "Fixed, awaiting re-inspection")
    assert len(photo_files(app)) == files_before + 2  # the photo and its thumbnail
    after = session.exec(select(Photo).where(Photo.hazard_id == hazard.id, Photo.event_id.is_not(None))).one()
    page = officer.get(f"/hazards/{hazard.id}").text
    assert f"/photos/{after.id}/thumb" in page and "已清理" in page
    assert 'id="action-close"' not in page and "someone else must re-inspect" in page

    refused = step(officer, hazard.id, htmx, to="closed")
    assert refused.status_code == 403 and "Someone other than the person who marked it fixed" in refused.text
    assert fresh(session, hazard.id).status == "rectified"
    check_step(step(coordinator, hazard.id, htmx, to="closed", note="复查合格"), coordinator, hazard.id, htmx, "Closed")
    assert fresh(session, hazard.id).status == "closed"
    mine = english(VOLUNTEER).get(f"/hazards/{hazard.id}").text
    assert "Closed" in mine and "复查合格" in mine


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_reject_needs_a_reason(english, make_hazard, session, htmx):
    hazard = make_hazard()
    officer = english(OFFICER_G12)
    missing = step(officer, hazard.id, htmx, to="rejected", note="")
    assert missing.status_code == 422 and "Please write the reason." in missing.text
    assert ("<html" in missing.text) is not htmx
    check_step(step(officer, hazard.id, htmx, to="rejected", note="重复上报"), officer, hazard.id, htmx, "Rejected")
    assert fresh(session, hazard.id).status == "rejected"


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_duplicate_points_at_the_original(english, make_hazard, session, htmx):
    original, copy = make_hazard(), make_hazard()
    officer = english(OFFICER_G12)
    page = officer.get(f"/hazards/{copy.id}").text
    assert 'name="duplicate_of"' in page
    bad = step(officer, copy.id, htmx, to="duplicate", duplicate_of=str(copy.id))
    assert bad.status_code == 422 and "cannot be the original" in bad.text
    check_step(step(officer, copy.id, htmx, to="duplicate", duplicate_of=str(original.id)), officer, copy.id, htmx,
               "Duplicate")
    assert fresh(session, copy.id).duplicate_of_id == original.id
    assert f'href="/hazards/{original.id}"' in officer.get(f"/hazards/{copy.id}").text


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_assign_to_me_or_to_a_team(english, make_hazard, session, town, htmx):
    mine, teams = make_hazard(), make_hazard()
    officer = english(OFFICER_G12)
    for h in (mine, teams):
        move(session, town, h, OFFICER_G12, "accepted")
    check_step(step(officer, mine.id, htmx, to="assigned"), officer, mine.id, htmx, "Assigned")
    assert fresh(session, mine.id).assignee_id == town.user(OFFICER_G12).id
    page = officer.get(f"/hazards/{teams.id}").text
    team_id = int(re.search(r'name="team_id" required>\s*<option value="(\d+)"', page).group(1))
    check_step(step(officer, teams.id, htmx, to="assigned", team_id=str(team_id)), officer, teams.id, htmx, "Assigned")
    assert fresh(session, teams.id).team_id == team_id


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_a_failed_reinspection_sends_it_back_with_a_reason(english, make_hazard, session, town, htmx):
    hazard = make_hazard()
    for to in ("accepted", "assigned", "rectifying"):
        move(session, town, hazard, OFFICER_G12, to)
    move(session, town, hazard, OFFICER_G12, "rectified", note="已处理")
    coordinator = english(COORDINATOR)
    assert 'id="action-send-back"' in coordinator.get(f"/hazards/{hazard.id}").text
    missing = step(coordinator, hazard.id, htmx, to="rectifying")
    assert missing.status_code == 422 and "Please write the reason." in missing.text
    check_step(step(coordinator, hazard.id, htmx, to="rectifying", note="还有杂物"), coordinator, hazard.id, htmx,
               "Being fixed")
    assert "Sent back for fixing" in coordinator.get(f"/hazards/{hazard.id}").text


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_closing_a_dispute_records_the_mediation_outcome(english, make_hazard, session, town, htmx):
    hazard = make_hazard(category="dispute")
    for to in ("accepted", "assigned", "rectifying"):
        move(session, town, hazard, OFFICER_G12, to)
    move(session, town, hazard, OFFICER_G12, "rectified", note="双方已和解")
    coordinator = english(COORDINATOR)
    page = coordinator.get(f"/hazards/{hazard.id}").text
    assert 'name="mediation_outcome"' in page and 'value="referred"' in page
    missing = step(coordinator, hazard.id, htmx, to="closed")
    assert missing.status_code == 400 and "mediation_outcome" in missing.text
    check_step(step(coordinator, hazard.id, htmx, to="closed", mediation_outcome="mediated"), coordinator, hazard.id,
               htmx, "Closed")
    assert fresh(session, hazard.id).mediation_outcome == "mediated"
    assert "Mediated" in coordinator.get(f"/hazards/{hazard.id}").text


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_an_illegal_step_is_a_conflict(english, make_hazard, session, htmx):
    hazard = make_hazard()
    response = step(english(OFFICER_G12), hazard.id, htmx, to="closed")
    assert response.status_code == 409 and "cannot become" in response.text
    assert fresh(session, hazard.id).status == "reported"
    events = session.exec(select(func.count()).select_from(HazardEvent).where(HazardEvent.hazard_id == hazard.id)).one()
    assert events == 1


def test_a_too_long_note_is_refused(english, make_hazard, session):
    hazard = make_hazard()
    response = step(english(OFFICER_G12), hazard.id, True, to="rejected", note="很" * 1001)
    assert response.status_code == 422 and "at most 1000 characters" in response.text
    assert fresh(session, hazard.id).status == "reported"


def test_a_non_image_after_photo_is_refused_and_nothing_is_stored(app, english, make_hazard, session, town):
    hazard = make_hazard()
    for to in ("accepted", "assigned", "rectifying"):
        move(session, town, hazard, OFFICER_G12, to)
    files_before = len(photo_files(app))
    response = english(OFFICER_G12).post(f"/hazards/{hazard.id}/transition", headers=HX,
                                         data={"to": "rectified", "photo": upload(b"not a photo", "after.jpg")},
                                         content_type="multipart/form-data")
    assert response.status_code == 422 and "This file is not a photo" in response.text
    assert fresh(session, hazard.id).status == "rectifying" and len(photo_files(app)) == files_before


# --- Pages fit the strict Content-Security-Policy and link together -----------------------------------------

@pytest.mark.parametrize("phone, path", [(VOLUNTEER, "/hazards/new"), (VOLUNTEER, "/hazards/mine"),
                                         (OFFICER_G12, "/hazards/"), (OFFICER_G12, "/hazards/map"),
                                         (OFFICER_G12, "/hazards/{id}"), (VOLUNTEER, "/notifications/")])
def test_pages_have_no_inline_script_or_style(english, make_hazard, phone, path):
    hazard = make_hazard()
    html = english(phone).get(path.format(id=hazard.id)).text
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in s or 'type="application/json"' in s for s in scripts)
    assert " style=" not in html and "hx-on" not in html


def test_the_home_pages_link_to_the_hazard_pages(english):
    volunteer = english(VOLUNTEER).get("/").text
    assert 'href="/hazards/new"' in volunteer and 'href="/hazards/mine"' in volunteer
    officer = english(OFFICER_G12).get("/").text
    assert 'href="/hazards/"' in officer and 'href="/hazards/map"' in officer
