"""A report's conversation over HTTP: who may read and write it (reporter, grid officer, other volunteer, other
officer, coordinator; a hazard and a clue), the API (idempotent messages, reopen), the nearby list before sending,
"就是这个" instead of a second report, bad input with clear messages, and grouped notifications (issue 16)."""
from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import func, select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import hazards
from volunteers.models import Hazard, HazardEvent, HazardMessage, Photo, VoiceNote, utcnow
from volunteers.photos import PhotoStore

G1_POINT = (30.2535, 120.0952)
OTHER_G1 = "13800000202"
HX = {"HX-Request": "true"}
ROLES = {"reporter": VOLUNTEER, "grid_officer": OFFICER_G12, "other_volunteer": VOLUNTEER_G3,
         "other_officer": OFFICER_G34, "coordinator": COORDINATOR}
# Who may read a thread: a clue's is for its reporter and that grid's officers only.
READS = {"hazard": {"reporter", "grid_officer", "coordinator"}, "clue": {"reporter", "grid_officer"}}


def new_id() -> str:
    return str(uuid.uuid4())


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def report(app, session, town):
    def _make(kind="hazard", phone=VOLUNTEER, point=G1_POINT, category="fire"):
        data = {"client_id": new_id(), "kind": kind, "category": category, "description": "楼道堆放杂物",
                "lat": str(point[0]), "lon": str(point[1])}
        return hazards.report(session, user=town.user(phone), data=data, uploads=[],
                              store=PhotoStore(app.config["DATA_DIR"]))[0]
    return _make


def messages(session, hazard_id) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(HazardMessage).where(HazardMessage.hazard_id == hazard_id)).one()


@pytest.mark.parametrize("kind", ["hazard", "clue"])
def test_thread_access_matrix(kind, english, report, session):
    hazard = report(kind)
    for role, phone in ROLES.items():
        client = english(phone)
        allowed = role in READS[kind]
        page = client.get(f"/hazards/{hazard.id}/thread")
        api = client.get(f"/api/v1/hazards/{hazard.id}/messages")
        assert (page.status_code, api.status_code) == ((200, 200) if allowed else (404, 404)), role
        before = messages(session, hazard.id)
        sent = client.post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": new_id(), "text": f"来自{role}"})
        assert sent.status_code == (201 if allowed else 404), (role, sent.text)
        assert messages(session, hazard.id) == before + (1 if allowed else 0)
        if not allowed:
            assert sent.json["error"]["message"] == "This report does not exist."
            assert "来自" not in client.get(f"/hazards/{hazard.id}/thread").text
    # The report page shows the conversation to those who may read it, never to a coordinator on a clue.
    coordinator_page = english(COORDINATOR).get(f"/hazards/{hazard.id}")
    assert coordinator_page.status_code == 200 and (('id="thread"' in coordinator_page.text) == (kind == "hazard"))


def test_a_question_and_its_answer_with_a_photo_then_retries(english, report, session, town):
    hazard = report()
    officer, reporter = english(OFFICER_G12), english(VOLUNTEER)
    asked = officer.post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": new_id(), "text": "是几楼？"})
    assert asked.status_code == 201 and asked.json["kind"] == "question" and asked.json["from_staff"]
    cid = new_id()
    answer = {"client_id": cid, "text": "三楼", "photo": (io.BytesIO(jpeg()), "a.jpg")}
    first = reporter.post(f"/api/v1/hazards/{hazard.id}/messages", data=answer, content_type="multipart/form-data")
    assert first.status_code == 201 and first.json["kind"] == "answer" and len(first.json["photos"]) == 1
    again = reporter.post(f"/api/v1/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                          data={"client_id": cid, "text": "三楼", "photo": (io.BytesIO(jpeg()), "a.jpg")})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    other = reporter.post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": cid, "text": "四楼"})
    assert other.status_code == 409
    assert messages(session, hazard.id) == 2
    photo_url = first.json["photos"][0]
    assert officer.get(photo_url).status_code == 200
    assert english(OFFICER_G34).get(photo_url).status_code == 404
    listed = officer.get(f"/api/v1/hazards/{hazard.id}/messages").json["messages"]
    assert [m["text"] for m in listed] == ["是几楼？", "三楼"]
    thread = reporter.get(f"/hazards/{hazard.id}/thread").text
    assert "是几楼？" in thread and "三楼" in thread and 'data-outbox="message"' in thread


def test_an_empty_message_is_422_in_chinese_and_nothing_is_saved(login_as, report, session):
    hazard = report()
    client = login_as(VOLUNTEER)
    client.post("/lang", data={"lang": "zh_CN"})
    empty = client.post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": new_id(), "text": "   "})
    assert empty.status_code == 422 and empty.json["error"]["code"] == "empty_message"
    assert re.search(r"[\u4e00-\u9fff]", empty.json["error"]["message"])
    page = client.post(f"/hazards/{hazard.id}/messages", data={"client_id": new_id(), "text": ""}, headers=HX)
    assert page.status_code == 422 and 'id="thread-error"' in page.text
    assert messages(session, hazard.id) == 0


def test_answering_someone_elses_report_is_404_and_saves_nothing(english, report, session):
    hazard = report(phone=OTHER_G1)
    client = english(VOLUNTEER)
    assert client.post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": new_id(), "text": "x"}).status_code == 404
    assert client.post(f"/hazards/{hazard.id}/messages", data={"client_id": new_id(), "text": "x"}).status_code == 404
    assert messages(session, hazard.id) == 0


def close(session, hazard, days_ago):
    hazard.status = "closed"
    session.add(hazard)
    session.add(HazardEvent(hazard_id=hazard.id, at=utcnow() - timedelta(days=days_ago), from_status="rectified",
                            to_status="closed"))
    session.commit()


def test_reopen_after_30_days_is_refused_in_chinese_and_within_it_goes_back_to_accepted(login_as, report, session):
    late, recent = report(), report()
    close(session, late, 31)
    close(session, recent, 2)
    client = login_as(VOLUNTEER)
    client.post("/lang", data={"lang": "zh_CN"})
    refused = client.post(f"/api/v1/hazards/{late.id}/reopen", json={"client_id": new_id(), "text": "又来了"})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "reopen_too_late"
    assert "30" in refused.json["error"]["message"] and re.search(r"[\u4e00-\u9fff]", refused.json["error"]["message"])
    session.expire_all()
    assert session.get(Hazard, late.id).status == "closed" and messages(session, late.id) == 0
    assert "action-reopen" not in client.get(f"/hazards/{late.id}/thread").text
    assert "action-reopen" in client.get(f"/hazards/{recent.id}/thread").text
    done = client.post(f"/hazards/{recent.id}/reopen", data={"client_id": new_id(), "text": "又堆满了"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Hazard, recent.id).status == "accepted"
    history = client.get(f"/hazards/{recent.id}").text
    assert "又出现了" in history and "又堆满了" in history  # the history says why
    officer = login_as(OFFICER_G12)
    assert officer.post(f"/api/v1/hazards/{recent.id}/reopen", json={"client_id": new_id(), "text": "x"}).status_code == 403


def test_nearby_reports_as_a_piece_and_a_page_never_a_clue(english, report):
    hazard = report(phone=OTHER_G1)
    clue = report(kind="clue", phone=OTHER_G1)
    client = english(VOLUNTEER)
    url = f"/hazards/nearby?lat={G1_POINT[0] + 0.0005}&lon={G1_POINT[1]}&category=fire"  # about 55 m north
    piece = client.get(url, headers=HX)
    assert piece.status_code == 200 and "<html" not in piece.text
    assert f'id="nearby-{hazard.id}"' in piece.text and f'id="nearby-{clue.id}"' not in piece.text
    assert 'name="same_as"' in piece.text and "metres away" in piece.text
    assert "<html" in client.get(url).text
    assert f'id="nearby-{hazard.id}"' not in client.get(url.replace("fire", "traffic"), headers=HX).text
    assert client.get("/hazards/nearby?lat=abc&lon=1&category=fire", headers=HX).status_code == 200


def test_this_is_it_adds_to_the_report_and_the_officer_sees_who_and_how_many(english, report, session):
    hazard = report(phone=OTHER_G1)
    before = session.exec(select(func.count()).select_from(Hazard)).one()
    client = english(VOLUNTEER)
    sent = client.post("/hazards/", data={"client_id": new_id(), "kind": "hazard", "category": "fire",
                                          "description": "还在", "lat": str(G1_POINT[0]), "lon": str(G1_POINT[1]),
                                          "same_as": str(hazard.id), "photo": (io.BytesIO(jpeg()), "p.jpg")},
                       content_type="multipart/form-data")
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/hazards/{hazard.id}/thread")
    api = english(VOLUNTEER_G3).post("/api/v1/hazards", data={"client_id": new_id(), "kind": "hazard", "category": "fire",
                                                              "same_as": str(hazard.id)})
    assert api.status_code == 201 and api.json["id"] == hazard.id  # through the outbox: the same answer as a report
    missing = client.post("/api/v1/hazards", data={"client_id": new_id(), "kind": "hazard", "category": "fire",
                                                   "same_as": "999999"})
    assert missing.status_code == 404
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Hazard)).one() == before
    page = english(OFFICER_G12).get(f"/hazards/{hazard.id}")
    assert 'id="confirmations"' in page.text and "2 other people saw the same problem" in page.text
    assert page.text.count('class="row message message-confirm') == 2
    assert client.get(f"/hazards/{hazard.id}").status_code == 200  # the confirmer follows it now


def test_changes_within_minutes_are_one_notification_that_opens_the_thread(english, report):
    hazard = report()
    officer = english(OFFICER_G12)
    officer.post(f"/hazards/{hazard.id}/transition", data={"to": "accepted"})
    officer.post(f"/hazards/{hazard.id}/transition", data={"to": "assigned"})
    volunteer = english(VOLUNTEER)
    home = volunteer.get("/").text
    assert re.search(r'id="notification-badge">[^<]*<span class="badge"[^>]*>1</span>', home)
    listed = volunteer.get("/notifications/", headers=HX).text
    assert listed.count('class="row notification') == 1
    assert "Your report “楼道堆放杂物”: Accepted; given to 陈警官" in listed
    assert f'href="/hazards/{hazard.id}/thread"' in listed


def test_the_sms_choice_is_saved_per_kind(english, session, town):
    client = english(VOLUNTEER)
    assert client.get("/notifications/choices").status_code == 200
    saved = client.post("/notifications/choices", data={"sms": ["question", "nonsense"]})
    assert saved.status_code == 302
    page = client.get("/notifications/choices").text
    assert re.search(r'value="question"\s+checked', page) and not re.search(r'value="my_report"\s+checked', page)


def test_a_nearby_reports_thumbnail_is_shown_with_a_pass_only(app, english, session, town):
    data = {"client_id": new_id(), "kind": "hazard", "category": "fire", "lat": str(G1_POINT[0]), "lon": str(G1_POINT[1])}
    hazard = hazards.report(session, user=town.user(OTHER_G1), data=data, uploads=[jpeg()],
                            store=PhotoStore(app.config["DATA_DIR"]))[0]
    photo_id = session.exec(select(Photo.id).where(Photo.hazard_id == hazard.id)).one()
    client = english(VOLUNTEER)
    piece = client.get(f"/hazards/nearby?lat={G1_POINT[0]}&lon={G1_POINT[1]}&category=fire", headers=HX).text
    [url] = re.findall(rf'src="(/photos/{photo_id}/thumb\?n=[^"]+)"', piece)
    url = url.replace("&amp;", "&")
    assert client.get(url).status_code == 200
    assert client.get(f"/photos/{photo_id}/thumb").status_code == 404  # no pass: private as before
    assert client.get(f"/photos/{photo_id}").status_code == 404  # the full photo never
    assert english(VOLUNTEER_G3).get(url).status_code == 404  # someone else's pass


# --- The reporter answers by voice; 朗读 on the officer's question ------------------------------------------------

VOICE_FILES = __import__("pathlib").Path(__file__).parent.parent / "files"


def clip(name: str = "voice.webm") -> tuple[io.BytesIO, str]:
    return io.BytesIO((VOICE_FILES / name).read_bytes()), name


def voice_notes(session) -> list[VoiceNote]:
    session.expire_all()
    return list(session.exec(select(VoiceNote)))


def stored_voice(app) -> list:
    root = __import__("pathlib").Path(app.config["DATA_DIR"]) / "voice"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("name,status,code", [
    ("not-audio.webm", 422, "bad_audio"), ("voice.wav", 422, "bad_audio"), ("too-long.webm", 422, "audio_too_long"),
])
def test_an_answer_with_bad_audio_is_refused_and_nothing_is_saved(english, report, session, app, name, status, code):
    hazard = report("clue")
    english(OFFICER_G12).post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": new_id(), "text": "几楼？"})
    before = messages(session, hazard.id)
    sent = english(VOLUNTEER).post(f"/api/v1/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                                   data={"client_id": new_id(), "text": "三楼", "voice": clip(name)})
    assert sent.status_code == status and sent.json["error"]["code"] == code, sent.text
    assert messages(session, hazard.id) == before and voice_notes(session) == [] and stored_voice(app) == []


def test_an_oversized_answer_voice_note_is_413(english, report, session, app):
    hazard = report()
    big = io.BytesIO((VOICE_FILES / "voice.webm").read_bytes() + b"\0" * (2 * 1024 * 1024))
    sent = english(VOLUNTEER).post(f"/api/v1/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                                   data={"client_id": new_id(), "voice": (big, "v.webm")})
    assert sent.status_code == 413 and sent.json["error"]["code"] == "audio_too_large"
    assert messages(session, hazard.id) == 0 and stored_voice(app) == []


def test_the_page_form_refuses_bad_audio_with_the_form_again(english, report, session):
    hazard = report("clue")
    reporter = english(VOLUNTEER)
    page = reporter.post(f"/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                         data={"client_id": new_id(), "text": "三楼", "voice": clip("not-audio.webm")})
    assert page.status_code == 422 and "This is not a voice note this app can take" in page.text
    piece = reporter.post(f"/hazards/{hazard.id}/messages", content_type="multipart/form-data", headers=HX,
                          data={"client_id": new_id(), "text": "三楼", "voice": clip("not-audio.webm")})
    assert piece.status_code == 422 and 'id="message-form"' in piece.text and "三楼" in piece.text
    assert messages(session, hazard.id) == 0 and voice_notes(session) == []


def test_an_answer_by_voice_over_the_api_is_played_only_inside_the_clue_thread(english, report, session, app):
    hazard = report("clue")
    officer, reporter = english(OFFICER_G12), english(VOLUNTEER)
    officer.post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": new_id(), "text": "是几楼？"})
    cid = new_id()
    first = reporter.post(f"/api/v1/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                          data={"client_id": cid, "voice": clip("voice.webm")})
    assert first.status_code == 201 and first.json["kind"] == "answer", first.text
    src = first.json["voice_note"]["url"]
    [note] = voice_notes(session)
    assert note.message_id == first.json["id"] and note.hazard_id == hazard.id and src == f"/voice/{note.id}"
    # A retry of the same answer is the same message; another voice note under that client_id is a 409.
    again = reporter.post(f"/api/v1/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                          data={"client_id": cid, "voice": clip("voice.webm")})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    changed = reporter.post(f"/api/v1/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                            data={"client_id": cid, "voice": clip("voice.ogg")})
    assert changed.status_code == 409
    no_voice = reporter.post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": cid})
    assert no_voice.status_code == 409
    assert len(voice_notes(session)) == 1 and len(stored_voice(app)) == 1 and messages(session, hazard.id) == 2
    # The officer's thread shows a player; the note plays for the officer and the reporter only.
    thread = officer.get(f"/hazards/{hazard.id}/thread").text
    assert "<audio controls" in thread and f'src="{src}"' in thread
    for who in (officer, reporter):
        played = who.get(src)
        assert played.status_code == 200 and played.mimetype == "audio/webm"
    for phone in (VOLUNTEER_G3, COORDINATOR, OFFICER_G34):
        assert english(phone).get(src).status_code == 404, phone
    # It is the thread's, not the report's own voice note.
    assert officer.get(f"/api/v1/hazards/{hazard.id}").json.get("voice_notes", []) == []


def test_an_answer_by_voice_on_the_page_form_then_a_retry(english, report, session):
    hazard = report("clue")
    officer, reporter = english(OFFICER_G12), english(VOLUNTEER)
    officer.post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": new_id(), "text": "是几楼？"})
    form = reporter.get(f"/hazards/{hazard.id}/thread").text
    assert "data-voice-note" in form and 'name="voice"' in form and "js/voice-note.js" in form
    cid = new_id()
    sent = reporter.post(f"/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                         data={"client_id": cid, "text": "", "voice": clip("voice.ogg")})
    assert sent.status_code == 302, sent.text
    [note] = voice_notes(session)
    assert session.get(HazardMessage, note.message_id).kind == "answer"
    again = reporter.post(f"/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                          data={"client_id": cid, "text": "", "voice": clip("voice.ogg")})
    assert again.status_code == 302 and len(voice_notes(session)) == 1
    changed = reporter.post(f"/hazards/{hazard.id}/messages", content_type="multipart/form-data",
                            data={"client_id": cid, "text": "", "voice": clip("voice.webm")})
    assert changed.status_code == 409 and len(voice_notes(session)) == 1
    src = f'src="/voice/{note.id}"'
    for who in (officer, reporter):
        assert src in who.get(f"/hazards/{hazard.id}/thread").text and src in who.get(f"/hazards/{hazard.id}").text
        assert who.get(f"/voice/{note.id}").status_code == 200
    assert english(VOLUNTEER_G3).get(f"/voice/{note.id}").status_code == 404
    assert english(COORDINATOR).get(f"/voice/{note.id}").status_code == 404


def test_the_recorder_and_its_script_are_only_on_the_reporters_form(english, report):
    hazard = report()
    for phone in (OFFICER_G12, COORDINATOR):
        page = english(phone).get(f"/hazards/{hazard.id}/thread").text
        assert 'id="message-form"' in page and "data-voice-note" not in page and "voice-note.js" not in page
    reporter = english(VOLUNTEER)
    own = reporter.get(f"/hazards/{hazard.id}/thread").text
    assert own.count("data-voice-note") == 1 and own.count("js/voice-note.js") == 1
    assert "voice-note.js" not in reporter.get("/").text


def test_the_reporter_can_have_the_officers_question_read_aloud(login_as, english, report):
    hazard = report()
    english(OFFICER_G12).post(f"/api/v1/hazards/{hazard.id}/messages", json={"client_id": new_id(), "text": "是几楼？"})
    reporter = login_as(VOLUNTEER)
    for url in (f"/hazards/{hazard.id}/thread", f"/hazards/{hazard.id}"):
        page = reporter.get(url).text
        question = re.search(r'<p class="note" id="(message-\d+-text)">是几楼？</p>', page)
        assert question, url
        assert f'data-read-aloud="#{question.group(1)}"' in page and "朗读" in page and "js/read-aloud.js" in page
    officer_page = english(OFFICER_G12).get(f"/hazards/{hazard.id}/thread").text
    assert "data-read-aloud" not in officer_page and "read-aloud.js" not in officer_page
