"""按住说话 on a phone: a voice note recorded with Chromium's fake microphone while offline, queued with the report,
sent when the signal is back, and played by the grid's officer on the report page."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import ARGS, CHROMIUM, log_in, open_page, until
from tests.browser.test_offline import VOLUNTEER, mine, outbox_size, ready_for_offline
from tests.browser.test_offline_report_and_scan import back_online
from volunteers.models import Hazard, VoiceNote

OFFICER_G12 = "13800000101"
# Chromium grants the microphone without asking and records a steady beep from a fake device.
FAKE_MIC = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture(scope="module")
def mic_browser(browser):
    """A second Chromium with the fake microphone, from the session's one Playwright (a second sync_playwright() in
    the same process is refused once the first is running)."""
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=ARGS + FAKE_MIC)
    yield chromium
    chromium.close()


@pytest.fixture
def mic_contexts(mic_browser):
    from tests.browser.conftest import DESKTOP, PHONE
    made = []

    def _make(kind: str = "phone", **options):
        ctx = mic_browser.new_context(**(PHONE if kind == "phone" else DESKTOP), **options)
        ctx.set_default_timeout(15_000)
        made.append(ctx)
        return ctx

    yield _make
    for ctx in made:
        ctx.close()


def hold(page, selector: str, ms: int):
    """Press and hold with a finger-like pointer, then let go."""
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(ms)
    page.mouse.up()


def test_a_voice_note_recorded_offline_arrives_and_the_officer_plays_it(live, mic_contexts):
    office = live.checkpoint("东街村委会")
    ctx = mic_contexts("phone", permissions=["geolocation", "microphone"],
                       geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 9})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    assert page.locator("[data-voice-note]").count() == 0  # the home page has no recorder …
    assert not page.evaluate("[...document.scripts].some(s => s.src.includes('voice-note'))")  # … nor its script
    ready_for_offline(page)
    until(page, "caches.match('/static/js/voice-note.js').then(Boolean)")  # in the offline kit

    ctx.set_offline(True)
    page.goto(live.url + "/hazards/new")
    box = page.locator("#voice-report")
    expect(box).to_be_visible()
    record = box.locator("[data-voice-record]")
    expect(record).to_have_text("按住说话")

    # Too short a press records nothing and says how to do it.
    hold(page, "#voice-report [data-voice-record]", 150)
    expect(box.locator("[data-voice-status]")).to_contain_text("按住", timeout=5000)
    expect(box.locator("[data-voice-clip]")).to_be_hidden()

    # Tap mode for shaky hands: tap to start, tap to stop; then delete it.
    box.locator("[data-voice-tap-mode]").check()
    expect(record).to_have_text("点一下开始说话")
    record.click()
    expect(record).to_have_text("点一下结束")
    page.wait_for_timeout(1500)
    record.click()
    expect(box.locator("[data-voice-clip]")).to_be_visible()
    expect(box.locator("[data-voice-length]")).to_contain_text("语音")
    box.locator("[data-voice-delete]").click()
    expect(box.locator("[data-voice-clip]")).to_be_hidden()
    assert page.evaluate("document.querySelector('#voice-report [data-voice-input]').files.length") == 0

    # Press and hold, talk, let go.
    box.locator("[data-voice-tap-mode]").uncheck()
    hold(page, "#voice-report [data-voice-record]", 2600)
    expect(box.locator("[data-voice-clip]")).to_be_visible()
    expect(box.locator("[data-voice-length]")).to_contain_text("秒")
    assert page.evaluate("document.querySelector('#voice-report [data-voice-input]').files[0].type") in (
        "audio/webm", "audio/ogg", "audio/mp4")
    box.locator("[data-voice-play]").click()  # plays back on the phone (a blob: URL the CSP allows)
    expect(box.locator("[data-voice-play]")).to_have_text("停止")
    box.locator("[data-voice-play]").click()

    page.check("input[name=category][value=fire]")
    page.click("#report-form [data-use-location]")
    until(page, "document.querySelector('#report-form input[name=lat]').value !== ''")
    page.click("#report-form button[type=submit]")
    page.locator("[data-outbox-status]").wait_for()
    assert outbox_size(page) == 1 and mine(live, Hazard) == []
    queued = page.evaluate("""Outbox.list(null).then(rows => rows[0].parts.filter(p => p[0] === 'voice')
                              .map(p => ({size: p[1].size, type: p[1].type, name: p[2]})))""")
    assert len(queued) == 1 and queued[0]["size"] > 1000 and queued[0]["name"].startswith("voice-")
    expect(box.locator("[data-voice-clip]")).to_be_hidden()  # the form is ready for the next report

    page.goto(live.url + "/outbox")
    back_online(ctx, page)
    [hazard] = mine(live, Hazard)
    with live.session() as s:
        [note] = s.exec(select(VoiceNote).where(VoiceNote.hazard_id == hazard.id)).all()
    assert 1500 <= note.duration_ms <= 4000, note.duration_ms
    assert not page.problems.items, page.problems.items

    officer_ctx = mic_contexts("desktop")
    officer = open_page(officer_ctx)
    log_in(officer, live, OFFICER_G12)
    officer.goto(f"{live.url}/hazards/{hazard.id}")
    audio = officer.locator("audio[controls]")
    expect(audio).to_have_count(1)
    src = audio.get_attribute("src")
    assert src == f"/voice/{note.id}"
    answer = officer.evaluate("""src => fetch(src).then(r => r.blob().then(b => ({status: r.status,
                                 type: r.headers.get('content-type'), size: b.size})))""", src)
    assert answer["status"] == 200 and answer["type"].startswith("audio/") and answer["size"] > 1000
    officer.evaluate("document.querySelector('audio[controls]').load()")
    until(officer, "document.querySelector('audio[controls]').readyState >= 1")  # the browser can read it
    assert not officer.problems.items, officer.problems.items
