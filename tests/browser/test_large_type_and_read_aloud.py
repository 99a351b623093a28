"""For older eyes: the 大字 switch makes the whole app's type larger and the phone remembers it; 朗读 reads a task
card or a message aloud with the phone's own zh-CN voice, and is hidden on a phone without one."""
from __future__ import annotations

import uuid
from datetime import timedelta

from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from volunteers import tasks
from volunteers.models import Assignment, User, utcnow

VOLUNTEER = "13800000201"
FONT_SIZE = "parseFloat(getComputedStyle(document.querySelector('{}')).fontSize)"

# The phone's speech engine, stood in for: its voices are given; what it is asked to say is kept in window.spoken.
FAKE_SPEECH = """(voices => {
  window.spoken = []; window.cancelled = 0;
  window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
  Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
    getVoices: () => voices, cancel: () => { window.cancelled += 1; }, addEventListener: () => {},
    speak: u => window.spoken.push({ text: u.text, lang: u.lang, voice: u.voice && u.voice.lang }) } });
})(%s);"""


def a_task_for(live) -> Assignment:
    with live.session() as s:
        officer = s.exec(select(User).where(User.phone == "13800000101")).one()
        volunteer = s.exec(select(User).where(User.phone == VOLUNTEER)).one()
        task, _ = tasks.create(s, user=officer, data={
            "client_id": str(uuid.uuid4()), "kind": "school_gate", "title": "青石小学护学岗（读给我听）",
            "grid": live.grid("G1").id, "place": "青石小学校门",
            "starts_at": (utcnow() + timedelta(minutes=10)).isoformat(),
            "ends_at": (utcnow() + timedelta(minutes=50)).isoformat(), "volunteer_ids": [volunteer.id]})
        return s.exec(select(Assignment).where(Assignment.task_id == task.id)).one()


def test_the_large_type_switch_scales_the_text_and_is_remembered_after_a_reload(live, contexts):
    page = open_page(contexts("phone"))
    log_in(page, live, VOLUNTEER)
    switch = page.locator("#text-size")
    expect(switch).to_have_text("大字")
    expect(switch).to_have_attribute("aria-pressed", "false")
    body, heading = page.evaluate(FONT_SIZE.format("body")), page.evaluate(FONT_SIZE.format("#report-hazard"))
    switch.click()
    expect(switch).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(FONT_SIZE.format("body")) >= body * 1.2
    assert page.evaluate(FONT_SIZE.format("#report-hazard")) >= heading * 1.2  # the big buttons too, not only text

    page.reload()
    assert page.evaluate("document.documentElement.classList.contains('large-text')")
    assert page.evaluate(FONT_SIZE.format("body")) >= body * 1.2
    expect(page.locator("#text-size")).to_have_attribute("aria-pressed", "true")
    page.goto(live.url + "/tasks/")  # every page, not only the one it was switched on
    assert page.evaluate(FONT_SIZE.format("body")) >= body * 1.2
    page.locator("#text-size").click()
    assert page.evaluate(FONT_SIZE.format("body")) == body
    page.reload()
    assert page.evaluate(FONT_SIZE.format("body")) == body
    assert not page.problems.items, page.problems.items


def test_read_aloud_is_hidden_on_a_phone_without_a_chinese_voice(live, contexts):
    offer = a_task_for(live)
    page = open_page(contexts("phone"))
    page.add_init_script(FAKE_SPEECH % '[{"lang": "en-US", "name": "English"}]')
    log_in(page, live, VOLUNTEER)
    page.goto(live.url + "/tasks/")
    card = page.locator(f"#assignment-{offer.id}")
    expect(card.locator("h2")).to_have_text("青石小学护学岗（读给我听）")
    page.wait_for_load_state("load")
    expect(card.locator("[data-read-aloud]")).to_be_hidden()
    assert not page.problems.items, page.problems.items


def test_read_aloud_speaks_the_task_card_and_a_message_in_chinese(live, contexts):
    offer = a_task_for(live)
    page = open_page(contexts("phone"))
    page.add_init_script(FAKE_SPEECH % '[{"lang": "en-US", "name": "English"}, {"lang": "zh-CN", "name": "婷婷"}]')
    log_in(page, live, VOLUNTEER)
    page.goto(live.url + "/tasks/")
    button = page.locator(f"#assignment-{offer.id} [data-read-aloud]")
    expect(button).to_be_visible()
    expect(button).to_have_text("朗读")
    button.click()
    [said] = page.evaluate("spoken")
    assert said["lang"] == "zh-CN" and said["voice"] == "zh-CN"
    assert "青石小学护学岗（读给我听）" in said["text"] and "青石小学校门" in said["text"]
    assert "朗读" not in said["text"]  # the card's words, not its buttons
    expect(button).to_have_text("停止朗读")
    cancelled = page.evaluate("cancelled")
    button.click()  # a second tap stops it
    expect(button).to_have_text("朗读")
    assert page.evaluate("cancelled") > cancelled and len(page.evaluate("spoken")) == 1

    page.goto(live.url + "/notifications/")
    first = page.locator("#notification-list .notification").first
    text = first.locator("strong").inner_text()
    first.locator("[data-read-aloud]").click()
    until(page, "spoken.length === 1")
    assert page.evaluate("spoken[0].text") == text.strip() and page.evaluate("spoken[0].lang") == "zh-CN"
    assert not page.problems.items, page.problems.items
