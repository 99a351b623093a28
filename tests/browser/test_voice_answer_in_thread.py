"""On the reporter's phone: the officer's question is read aloud (朗读), the answer is spoken (按住说话) and sent
through the outbox; the officer plays it in the thread (issue 16)."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from tests.browser.test_large_type_and_read_aloud import FAKE_SPEECH
from tests.browser.test_thread_on_a_phone import OFFICER, file_report, user
from tests.browser.test_voice_note import hold, mic_browser, mic_contexts  # noqa: F401 (fixtures)
from tests.browser.test_offline import VOLUNTEER
from volunteers import threads
from volunteers.models import HazardMessage, VoiceNote
from volunteers.photos import PhotoStore


def test_the_reporter_hears_the_question_and_answers_by_voice(live, mic_contexts, tmp_path):  # noqa: F811
    office = live.checkpoint("东街村委会")
    hazard = file_report(live, VOLUNTEER, (office.lat, office.lon), tmp_path)
    with live.session() as s:
        threads.post(s, user=user(s, OFFICER), hazard_id=hazard.id, uploads=[], store=PhotoStore(tmp_path),
                     data={"client_id": str(uuid.uuid4()), "text": "是在几楼？"})
    page = open_page(mic_contexts("phone", permissions=["microphone"]))
    page.add_init_script(FAKE_SPEECH % '[{"lang": "zh-CN", "name": "婷婷"}]')
    log_in(page, live, VOLUNTEER)
    page.goto(live.url + f"/hazards/{hazard.id}/thread")

    question = page.locator("#thread .message-question")
    question.locator("[data-read-aloud]").click()
    until(page, "spoken.length === 1")
    assert page.evaluate("spoken[0].text").strip() == "是在几楼？" and page.evaluate("spoken[0].lang") == "zh-CN"

    box = page.locator(f"#voice-message-{hazard.id}")
    expect(box).to_be_visible()
    hold(page, f"#voice-message-{hazard.id} [data-voice-record]", 2200)
    expect(box.locator("[data-voice-clip]")).to_be_visible()
    page.click("#send-message")
    with live.session() as s:
        def arrived():
            s.expire_all()
            return s.exec(select(VoiceNote).join(HazardMessage, HazardMessage.id == VoiceNote.message_id)
                          .where(HazardMessage.hazard_id == hazard.id)).all()
        for _ in range(60):
            if arrived():
                break
            page.wait_for_timeout(500)
        [note] = arrived()
        assert s.get(HazardMessage, note.message_id).kind == "answer" and note.duration_ms >= 1000

    officer = open_page(mic_contexts("phone"))
    log_in(officer, live, OFFICER)
    officer.goto(live.url + f"/hazards/{hazard.id}/thread")
    player = officer.locator(f"#message-{note.message_id} audio")
    expect(player).to_have_attribute("src", f"/voice/{note.id}")
    until(officer, f"fetch('/voice/{note.id}').then(r => r.ok && r.headers.get('content-type').startsWith('audio/'))")
    assert not page.problems.items, page.problems.items
