"""Readable on a 360 px phone held by someone over 60: no sideways scrolling, big targets, no script errors."""
from __future__ import annotations

import pytest

from tests.browser.conftest import log_in, open_page

PAGES = ["/", "/patrols/", "/hazards/new", "/hazards/mine", "/outbox", "/notifications/"]

TARGETS_TOO_SMALL = """() => [...document.querySelectorAll('main a, main button, main input:not([type=hidden]), main select, main summary, header a, header button')]
  .filter(el => el.offsetParent !== null && !el.closest('.leaflet-container'))
  .map(el => (el.type === 'radio' || el.type === 'checkbox') && el.closest('label') ? el.closest('label') : el)
  .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect().height])
  .filter(([_, h]) => h < 48)"""


@pytest.mark.parametrize("path", PAGES)
def test_volunteer_pages_fit_a_small_phone_with_big_targets(live, contexts, path):
    page = open_page(contexts("phone"))
    log_in(page, live, "13800000201")
    page.goto(live.url + path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    assert page.evaluate(TARGETS_TOO_SMALL) == []
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
