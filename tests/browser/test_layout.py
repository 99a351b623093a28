"""Readable on a 360 px phone held by someone over 60: no sideways scrolling, big targets, no script errors."""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import log_in, open_page, until

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "patrol-phone.png"

PAGES = ["/", "/patrols/", "/hazards/new", "/hazards/mine", "/outbox", "/notifications/", "/tasks/", "/hours/",
         "/certificates/", "/account/password"]
# Officers use their phones too: the dashboard, the hours to approve, their people, the week's schedule.
OFFICER_PAGES = ["/dashboard/", "/hours/review", "/people/", "/duties/week", "/tasks/"]

TARGETS_TOO_SMALL = """() => [...document.querySelectorAll('main a, main button, main input:not([type=hidden]), main select, main summary, header a, header button')]
  .filter(el => el.offsetParent !== null && !el.closest('.leaflet-container'))
  .map(el => (el.type === 'radio' || el.type === 'checkbox') && el.closest('label') ? el.closest('label') : el)
  .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect().height])
  .filter(([_, h]) => h < 48)"""


def reach(page, live, path):
    """Open the page and make sure it is the page, not the login form it would be with a broken login."""
    response = page.goto(live.url + path)
    page.wait_for_load_state("networkidle")
    assert response.ok and urlsplit(page.url).path == path, (path, page.url)


@pytest.mark.parametrize("path", PAGES)
def test_volunteer_pages_fit_a_small_phone_with_big_targets(live, contexts, path):
    page = open_page(contexts("phone"))
    log_in(page, live, "13800000201")
    reach(page, live, path)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    assert page.evaluate(TARGETS_TOO_SMALL) == []
    assert page.problems.items == []


@pytest.mark.parametrize("path", OFFICER_PAGES)
def test_an_officers_pages_fit_a_small_phone(live, contexts, path):
    page = open_page(contexts("phone"))
    log_in(page, live, "13800000101")
    reach(page, live, path)
    # The week schedule is a wide table: it scrolls inside its own box, never the page.
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    assert page.problems.items == []


def test_the_plain_patrol_page_fits_a_small_phone_too(live, contexts):
    """The page a phone without JavaScript patrols on (and everyone's patrol history)."""
    page = open_page(contexts("phone", java_script_enabled=False))
    log_in(page, live, "13800000201")
    page.click("#start-patrol")
    page.wait_for_url("**/patrols/*")
    page.locator("details.qr summary").first.click()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert page.evaluate(TARGETS_TOO_SMALL) == []


def fits_a_small_phone(page):
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert page.evaluate(TARGETS_TOO_SMALL) == []
    assert page.problems.items == []


def test_a_running_patrol_fits_a_small_phone(live, contexts):
    """The patrol on the home page and the patrol page, with JavaScript, distances and one check-in shown.
    SAVE_SCREENSHOTS=1 writes the home patrol to docs/screenshots/patrol-phone.png."""
    office = live.checkpoint("东街村委会")
    page = open_page(contexts("phone", permissions=["geolocation"],
                              geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 8}))
    log_in(page, live, "13800000201")
    page.click("#app-start")
    page.locator(f"#app-checkpoint-{office.id} [data-app-checkin]").click()
    page.locator(f"#app-checkpoint-{office.id}.done").wait_for()
    page.locator("#patrol-app [data-distance]").last.filter(has_text=re.compile(r"\d")).wait_for()
    fits_a_small_phone(page)
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True, scale="css")

    until(page, "Outbox.list(null).then(rows => rows.length === 0)")
    page.goto(live.url + "/patrols/")
    page.locator("#patrol-list li a").first.click()
    page.locator("#checkpoints .distance").last.wait_for()
    page.locator("details.qr summary").first.click()
    fits_a_small_phone(page)
