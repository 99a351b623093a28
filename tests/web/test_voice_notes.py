"""Voice notes through HTTP: the report API and page form, the task's done (API and page), who may play one, the
recorder only on the pages that have such a form, and never in Open311."""
from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from tests.conftest import OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3, begun
from tests.web.test_api_hazards import IN_G1, assert_error, form
from volunteers import tasks
from volunteers.models import Assignment, Hazard, VoiceNote

FILES = Path(__file__).parent.parent / "files"
OTHER_VOLUNTEER_G1 = "13800000202"


def clip(name: str = "voice.webm") -> tuple[io.BytesIO, str]:
    return io.BytesIO((FILES / name).read_bytes()), name


def post_report(client, voice=("voice.webm",), **kw):
    data = form(**kw)
    if voice:
        data["voice"] = [clip(v) for v in voice]
    return client.post("/api/v1/hazards", data=data, content_type="multipart/form-data")


def stored(app) -> list[Path]:
    root = Path(app.config["DATA_DIR"]) / "voice"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- Refused first ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,status,code", [
    ("not-audio.webm", 422, "bad_audio"), ("voice.wav", 422, "bad_audio"), ("too-long.webm", 422, "audio_too_long"),
])
def test_a_bad_voice_note_is_refused_and_nothing_is_saved(login_as, app, session, name, status, code):
    client_id = str(uuid.uuid4())
    response = post_report(login_as(VOLUNTEER), voice=(name,), client_id=client_id)
    assert_error(response, status, code)
    assert session.exec(select(Hazard).where(Hazard.client_id == client_id)).first() is None
    assert stored(app) == []


def test_an_oversized_voice_note_is_413(login_as, app):
    data = form() | {"voice": (io.BytesIO((FILES / "voice.webm").read_bytes() + b"\0" * (2 * 1024 * 1024)), "v.webm")}
    response = login_as(VOLUNTEER).post("/api/v1/hazards", data=data, content_type="multipart/form-data")
    assert_error(response, 413, "audio_too_large")
    assert stored(app) == []


def test_two_voice_notes_are_refused(login_as, app):
    assert_error(post_report(login_as(VOLUNTEER), voice=("voice.webm", "voice.ogg")), 422, "too_many_voice_notes")
    assert stored(app) == []


def test_the_message_is_in_chinese_for_a_chinese_phone(login_as):
    response = post_report(login_as(VOLUNTEER), voice=("voice.wav",))
    assert response.status_code == 422 and "语音" in response.json["error"]["message"]


# --- The API ------------------------------------------------------------------------------------------------------

def test_a_report_with_a_voice_note_is_played_by_reporter_and_grid_officer_only(login_as, client, app):
    volunteer = login_as(VOLUNTEER)
    client_id = str(uuid.uuid4())
    created = post_report(volunteer, client_id=client_id, point=IN_G1)
    assert created.status_code == 201, created.text
    [note] = created.json["voice_notes"]
    assert 1.9 <= note["seconds"] <= 2.2 and note["url"].startswith("/voice/")
    assert len(stored(app)) == 1 and stored(app)[0].suffix == ".webm"
    assert "static" not in str(stored(app)[0])

    for who in (volunteer, login_as(OFFICER_G12)):
        audio = who.get(note["url"])
        assert audio.status_code == 200 and audio.mimetype == "audio/webm"
        assert audio.headers["Cache-Control"] == "private, max-age=86400"
        assert b"Zhang" not in audio.data  # the sample's title and artist tags are gone
    ranged = volunteer.get(note["url"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.data) == 100
    for phone in (OTHER_VOLUNTEER_G1, VOLUNTEER_G3, OFFICER_G34):
        assert login_as(phone).get(note["url"]).status_code == 404
    assert client.get(note["url"]).status_code == 302  # anonymous: to the login page
    assert login_as(VOLUNTEER).get("/voice/999999").status_code == 404

    # A retry with the same note is the first report; another note under the same client_id is a conflict.
    again = post_report(volunteer, client_id=client_id, point=IN_G1)
    assert again.status_code == 200 and again.json["id"] == created.json["id"]
    assert_error(post_report(volunteer, voice=("voice.m4a",), client_id=client_id, point=IN_G1), 409)
    assert len(stored(app)) == 1


def test_a_report_without_a_voice_note_still_works_with_an_empty_file_field(login_as, app):
    data = form() | {"voice": (io.BytesIO(b""), "")}
    response = login_as(VOLUNTEER).post("/api/v1/hazards", data=data, content_type="multipart/form-data")
    assert response.status_code == 201 and response.json["voice_notes"] == []


def test_a_voice_note_lost_from_disk_is_404_not_500(login_as, app):
    created = post_report(login_as(VOLUNTEER))
    for path in stored(app):
        path.unlink()
    assert login_as(VOLUNTEER).get(created.json["voice_notes"][0]["url"]).status_code == 404


def test_open311_never_shows_a_voice_note(login_as, client, app):
    created = post_report(login_as(VOLUNTEER), point=IN_G1)
    assert created.status_code == 201 and len(created.json["voice_notes"]) == 1
    feed = client.get("/open311/v2/requests.json")
    assert feed.status_code == 200 and any(r["service_request_id"] == str(created.json["id"]) for r in feed.json)
    assert "/voice/" not in feed.text and "voice" not in feed.text
    one = client.get(f"/open311/v2/requests/{created.json['id']}.json")
    assert "/voice/" not in one.text


# --- The report page -----------------------------------------------------------------------------------------

def test_the_report_form_has_the_recorder_and_the_home_does_not_load_it(login_as):
    volunteer = login_as(VOLUNTEER)
    page = volunteer.get("/hazards/new").text
    assert "data-voice-note" in page and 'name="voice"' in page and "js/voice-note.js" in page
    assert "按住说话" in page  # hidden until the script finds a microphone; the form works without it
    home = volunteer.get("/").text
    assert "voice-note.js" not in home and "data-voice-note" not in home


def test_the_page_form_takes_a_voice_note_and_the_report_page_plays_it(login_as, app, session):
    volunteer = login_as(VOLUNTEER)
    page = volunteer.get("/hazards/new").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0] if 'name="csrf_token"' in page else ""
    data = form(point=IN_G1) | {"csrf_token": token, "voice": clip("voice.m4a")}
    response = volunteer.post("/hazards/", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    hazard_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    [note] = session.exec(select(VoiceNote).where(VoiceNote.hazard_id == hazard_id)).all()
    src = f'src="/voice/{note.id}"'
    for who in (volunteer, login_as(OFFICER_G12)):
        shown = who.get(f"/hazards/{hazard_id}").text
        assert "<audio controls" in shown and src in shown
    assert login_as(OFFICER_G12).get(f"/voice/{note.id}").mimetype == "audio/mp4"


def test_the_page_form_refuses_a_bad_voice_note_with_the_form_again(login_as):
    volunteer = login_as(VOLUNTEER)
    data = form(point=IN_G1) | {"voice": clip("not-audio.webm")}
    response = volunteer.post("/hazards/", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and 'id="report-form"' in response.text and "楼道堆放纸箱" in response.text


# --- A task's done --------------------------------------------------------------------------------------------

@pytest.fixture
def accepted(login_as, town, session):
    officer, volunteer = login_as(OFFICER_G12), login_as(VOLUNTEER)
    from datetime import timedelta
    from volunteers.models import utcnow
    body = {"client_id": str(uuid.uuid4()), "kind": "school_gate", "title": "护学岗", "grid": town.grid("G1").id,
            "starts_at": (utcnow() + timedelta(hours=20)).isoformat(),
            "ends_at": (utcnow() + timedelta(hours=21)).isoformat(), "volunteer_ids": [town.user(VOLUNTEER).id]}
    offer = officer.post("/api/v1/tasks", json=body).json["assignments"][0]
    assert volunteer.post(f"/api/v1/assignments/{offer['id']}/accept", json={}).status_code == 200
    begun(session, session.get(Assignment, offer["id"]).task_id)  # done only from the start
    return offer["id"], volunteer, officer


def test_done_with_a_bad_voice_note_is_422_and_stays_accepted(accepted, session, app):
    assignment_id, volunteer, _officer = accepted
    response = volunteer.post(f"/api/v1/assignments/{assignment_id}/done", data={"voice": clip("voice.wav")},
                              content_type="multipart/form-data")
    assert_error(response, 422, "bad_audio")
    assert session.get(Assignment, assignment_id).state == "accepted" and stored(app) == []


def test_done_with_a_voice_note_is_played_by_the_volunteer_and_the_grid_officer(accepted, session, login_as):
    assignment_id, volunteer, officer = accepted
    response = volunteer.post(f"/api/v1/assignments/{assignment_id}/done", data={"voice": clip("voice.ogg")},
                              content_type="multipart/form-data")
    assert response.status_code == 200 and response.json["state"] == "done"
    [note] = tasks.done_voice_notes(session, [assignment_id])[assignment_id]
    url = f"/voice/{note.id}"
    assert f'src="{url}"' in officer.get("/tasks/").text
    for who in (volunteer, officer):
        assert who.get(url).status_code == 200 and who.get(url).mimetype == "audio/ogg"
    for phone in (OTHER_VOLUNTEER_G1, OFFICER_G34):
        assert login_as(phone).get(url).status_code == 404
    # The outbox retrying the same step: 200, still one voice note.
    again = volunteer.post(f"/api/v1/assignments/{assignment_id}/done", data={"voice": clip("voice.ogg")},
                           content_type="multipart/form-data")
    assert again.status_code == 200 and len(tasks.done_voice_notes(session, [assignment_id])[assignment_id]) == 1


def test_the_done_card_has_the_recorder_and_its_page_form_takes_a_voice_note(accepted, session):
    assignment_id, volunteer, officer = accepted
    page = volunteer.get("/tasks/").text
    assert f'id="voice-done-{assignment_id}"' in page and "js/voice-note.js" in page
    assert "js/voice-note.js" not in officer.get("/tasks/").text
    response = volunteer.post(f"/tasks/assignments/{assignment_id}/done", data={"voice": clip("voice.webm")},
                              content_type="multipart/form-data")
    assert response.status_code == 302
    assert len(tasks.done_voice_notes(session, [assignment_id])[assignment_id]) == 1
