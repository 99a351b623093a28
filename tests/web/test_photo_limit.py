"""The per-person photo allowance (issue 14): every upload path — a report through the API and the form, a report's
step, a task's done photo — counts against one hourly allowance; past it the answer is 429 in the error format (or
the form again with the reason), never a 500, and nothing saved before is touched. Real images made with Pillow."""
from __future__ import annotations

import io
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlmodel import select

from tests.conftest import OFFICER_G12, VOLUNTEER, begun
from volunteers import demo, tasks
from volunteers.models import Assignment, Hazard, Photo, PhotoUpload, utcnow

HX = {"HX-Request": "true"}
OTHER_VOLUNTEER_G1 = "13800000202"
IN_G1 = (demo.ORIGIN[0] + 1.5 * demo.STEP_LAT, demo.ORIGIN[1] + 0.5 * demo.STEP_LON)
LIMIT_PHOTOS, LIMIT_MB = 4, 2


@pytest.fixture
def app(make_app):
    """The app with a small allowance, so a test reaches it in a few requests."""
    return make_app(PHOTO_UPLOADS_PER_HOUR=LIMIT_PHOTOS, PHOTO_UPLOAD_MB_PER_HOUR=LIMIT_MB)


def jpeg(colour: str = "red", size=(320, 240)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def noise_png(side: int = 400) -> bytes:
    """A PNG that does not compress: side² × 3 bytes on the wire (400 → ~480 KB)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def files(*blobs: bytes) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(b), f"p{i}.jpg") for i, b in enumerate(blobs)]


def report_form(client_id: str | None = None, photos: list[bytes] = (), **extra) -> dict:
    data = {"client_id": client_id or str(uuid.uuid4()), "kind": "hazard", "category": "fire",
            "description": "楼道堆放纸箱", "lat": str(IN_G1[0]), "lon": str(IN_G1[1]), "accuracy_m": "12"} | extra
    if photos:
        data["photo"] = files(*photos)
    return data


def api_report(client, **kw):
    return client.post("/api/v1/hazards", data=report_form(**kw), content_type="multipart/form-data")


def assert_refused(response):
    assert response.status_code == 429, response.text
    assert response.json["error"]["code"] == "photo_limit"
    assert "photos" in response.json["error"]["message"]


def counts(session) -> tuple[int, int]:
    session.expire_all()
    return (session.exec(select(sa.func.count()).select_from(Hazard)).one(),
            session.exec(select(sa.func.count()).select_from(Photo)).one())


def stored_files(app) -> set[Path]:
    root = Path(app.config["DATA_DIR"]) / "photos"
    return {p for p in root.rglob("*.jpg")} if root.exists() else set()


def test_the_api_refuses_photos_past_the_allowance_and_keeps_what_was_saved(app, english, session):
    volunteer = english(VOLUNTEER)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    assert api_report(volunteer, client_id=first, photos=[jpeg("red"), jpeg("blue")]).status_code == 201
    assert api_report(volunteer, client_id=second, photos=[jpeg("green"), jpeg("white")]).status_code == 201
    before, kept = counts(session), stored_files(app)
    assert before[1] == 4 and len(kept) == 8  # four photos and their thumbnails

    refused = api_report(volunteer, photos=[jpeg("black")])
    assert_refused(refused)
    assert "60 minutes" in refused.json["error"]["message"]
    assert counts(session) == before and stored_files(app) == kept  # nothing new, nothing lost
    # A retry of a report already saved (the outbox resending after a lost answer) is still its 200, not a 429.
    again = api_report(volunteer, client_id=second, photos=[jpeg("green"), jpeg("white")])
    assert again.status_code == 200 and counts(session) == before
    # A report without photos costs nothing and still goes through; so do another person's photos.
    assert api_report(volunteer).status_code == 201
    assert api_report(english(OTHER_VOLUNTEER_G1), photos=[jpeg("black")]).status_code == 201


def test_megabytes_count_too(app, english, session):
    volunteer = english(VOLUNTEER)
    big = [noise_png(), noise_png()]  # ~0.9 MB together
    assert api_report(volunteer, photos=big).status_code == 201
    assert api_report(volunteer, photos=[noise_png(), noise_png()]).status_code == 201  # ~1.8 MB of 2
    assert_refused(api_report(volunteer, photos=[noise_png()]))  # photo 5 of 4 and ~2.3 MB: either is enough
    session.exec(sa.delete(PhotoUpload))
    session.commit()
    assert api_report(volunteer, photos=[noise_png(600)]).status_code == 201  # one ~1 MB photo
    assert_refused(api_report(volunteer, photos=[noise_png(600)]))  # the second ~1 MB: two photos of four, but 2 MB


def test_photos_refused_as_damaged_count_as_well(app, english):
    volunteer = english(VOLUNTEER)
    broken = jpeg()[:200]  # a real JPEG's start, cut off: decoding is tried and fails
    for _ in range(LIMIT_PHOTOS):
        assert api_report(volunteer, photos=[broken]).status_code == 422
    assert_refused(api_report(volunteer, photos=[jpeg()]))


def test_the_hour_rolls_on(app, english, session):
    volunteer = english(VOLUNTEER)
    assert api_report(volunteer, photos=[jpeg()] * 2).status_code == 201
    session.exec(sa.update(PhotoUpload).values(at=utcnow() - timedelta(minutes=45)))
    session.commit()
    assert api_report(volunteer, photos=[jpeg()] * 2).status_code == 201
    refused = api_report(volunteer, photos=[jpeg()])
    assert_refused(refused)
    assert "15 minutes" in refused.json["error"]["message"]  # when the two older ones leave the hour
    session.exec(sa.update(PhotoUpload).values(at=utcnow() - timedelta(minutes=61)))
    session.commit()
    assert api_report(volunteer, photos=[jpeg()] * 4).status_code == 201
    assert session.exec(select(sa.func.count()).select_from(PhotoUpload)).one() == 4  # the old rows are gone


def test_the_form_says_why_and_keeps_what_was_typed(app, login_as, session):
    volunteer = login_as(VOLUNTEER)  # in Chinese
    assert api_report(volunteer, photos=[jpeg()] * 3).status_code == 201
    before = counts(session)
    response = volunteer.post("/hazards/", data=report_form(photos=[jpeg(), jpeg("blue")], description="<b>电线</b>裸露"),
                              content_type="multipart/form-data")
    assert response.status_code == 429
    assert "上传的照片太多了" in response.text and "60 分钟后再试" in response.text
    assert "&lt;b&gt;电线&lt;/b&gt;裸露" in response.text  # what was typed comes back, as text
    assert counts(session) == before


def test_a_reports_step_with_a_photo_counts_for_the_officer(app, english, session):
    volunteer, officer = english(VOLUNTEER), english(OFFICER_G12)
    hazard_id = api_report(volunteer).json["id"]
    for _ in range(LIMIT_PHOTOS):
        assert api_report(officer, photos=[jpeg()]).status_code == 201
    url = f"/api/v1/hazards/{hazard_id}/transition"
    refused = officer.post(url, data={"to": "accepted", "photo": files(jpeg())[0]}, content_type="multipart/form-data")
    assert_refused(refused)
    session.expire_all()
    assert session.get(Hazard, hazard_id).status == "reported"
    page = officer.post(f"/hazards/{hazard_id}/transition", headers=HX, data={"to": "accepted", "photo": files(jpeg())[0]},
                        content_type="multipart/form-data")
    assert page.status_code == 429 and "photos" in page.text
    # Without a photo the step is taken.
    assert officer.post(url, json={"to": "accepted"}).status_code == 200


@pytest.fixture
def accepted(session, town, english):
    """A task offered to the G1 volunteer and accepted by them."""
    body = {"client_id": str(uuid.uuid4()), "kind": "patrol", "title": "夜间巡逻", "grid": town.grid("G1").id,
            "starts_at": (utcnow() + timedelta(hours=2)).isoformat(), "ends_at": (utcnow() + timedelta(hours=4)).isoformat(),
            "volunteer_ids": [town.user(VOLUNTEER).id]}
    task, _ = tasks.create(session, user=town.user(OFFICER_G12), data=body)
    offer = session.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    volunteer = english(VOLUNTEER)
    assert volunteer.post(f"/api/v1/assignments/{offer.id}/accept", json={}).status_code == 200
    begun(session, task)
    return offer, volunteer


def test_a_tasks_done_photo_counts_against_the_same_allowance(app, accepted, session):
    offer, volunteer = accepted
    assert api_report(volunteer, photos=[jpeg()] * LIMIT_PHOTOS).status_code == 201
    api = volunteer.post(f"/api/v1/assignments/{offer.id}/done", data={"photo": files(jpeg())[0]},
                         content_type="multipart/form-data")
    assert_refused(api)
    card = volunteer.post(f"/tasks/assignments/{offer.id}/done", headers=HX, data={"photo": files(jpeg())[0]},
                          content_type="multipart/form-data")
    assert card.status_code == 429 and f'id="assignment-{offer.id}"' in card.text
    page = volunteer.post(f"/tasks/assignments/{offer.id}/done", data={"photo": files(jpeg())[0]},
                          content_type="multipart/form-data")
    assert page.status_code == 429  # the error page, not a 500
    session.expire_all()
    assert session.get(Assignment, offer.id).state == "accepted" and tasks.done_photos(session, [offer.id]) == {}
    # Done without the photo is still possible.
    assert volunteer.post(f"/api/v1/assignments/{offer.id}/done", json={}).status_code == 200


def test_the_defaults_leave_room_for_a_busy_honest_hour(make_app):
    app = make_app()
    assert app.config["PHOTO_UPLOADS_PER_HOUR"] >= 5 * 6 * 3  # three times five reports of six photos
    assert app.config["PHOTO_UPLOAD_MB_PER_HOUR"] * 1024 * 1024 >= 5 * 6 * 3 * 3_000_000  # … even as 3 MB HEICs
