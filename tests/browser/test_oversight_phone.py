"""An officer on a 360 px phone: the dashboard's first screen says what needs action now, and the whole page stays
under the height budget; the week view opens on today, day by day (issue 15)."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from volunteers import duties
from volunteers.models import Hazard, utcnow

OFFICER = "13800000101"
FIRST_SCREEN = 740  # the phone's viewport height
HEIGHT_BUDGET = 2500


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_the_dashboard_on_a_phone_shows_what_needs_action_in_the_first_screen(live, contexts):
    with live.session() as s:  # an overdue report in the officer's grid G1
        hazard = s.exec(select(Hazard).where(Hazard.grid_id == live.grid("G1").id,
                                             Hazard.status.not_in(("closed", "rejected", "duplicate")))).first()
        hazard.deadline = utcnow() - timedelta(days=1)
        s.add(hazard)
        s.commit()
        hazard_id = hazard.id
    live.app.config["DASHBOARD_REFRESH_S"] = 1
    phone = open_page(contexts("phone"))
    log_in(phone, live, OFFICER)
    phone.goto(live.url + "/dashboard/")
    for selector in ("#count-overdue", "#count-missed", "#count-unfilled", "#count-on-patrol",
                     f"#action-hazard-{hazard_id}"):
        where = box(phone, selector)
        assert where and where["y"] + where["height"] <= FIRST_SCREEN, (selector, where)
    assert int(phone.locator("#count-overdue strong").inner_text()) >= 1
    height = phone.evaluate("document.documentElement.scrollHeight")
    assert height <= HEIGHT_BUDGET, height
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone

    # The map is below the action list, drawn with no tiles; the long lists are one tap away, and a fold the officer
    # opened stays open while the live part refreshes itself.
    assert box(phone, "[data-dashboard-map]")["y"] > box(phone, "#needs-action")["y"]
    phone.locator("[data-dashboard-map]:not([hidden]) .leaflet-interactive").first.wait_for()
    assert not phone.locator(f"#open-hazard-{hazard_id}").is_visible()
    phone.locator("#fold-hazards > summary").click()
    assert phone.locator(f"#open-hazard-{hazard_id}").is_visible()
    phone.evaluate("window.__refreshed = 0; document.addEventListener('htmx:afterSettle', () => window.__refreshed++)")
    until(phone, "window.__refreshed >= 2", timeout_s=15)
    assert phone.locator("#fold-hazards").get_attribute("open") is not None
    assert phone.locator(f"#open-hazard-{hazard_id}").is_visible()
    assert not phone.problems.items


def test_the_week_view_on_a_phone_opens_on_today_with_gaps_in_red(live, contexts):
    phone = open_page(contexts("phone"))
    log_in(phone, live, OFFICER)
    phone.goto(live.url + "/duties/week")
    today = phone.locator(f"#day-{duties.today().isoformat()}")
    assert today.get_attribute("open") is not None and "today" in today.get_attribute("class")
    where = today.locator("summary").bounding_box()
    assert where["y"] + where["height"] <= FIRST_SCREEN, where  # today is in the first screen, not off to the right
    assert not phone.locator(".week-table").is_visible()  # the seven-column grid is for wide screens
    gap = phone.locator("#week-days .day-shift.gap").first
    assert gap.is_visible()
    assert phone.evaluate("el => getComputedStyle(el).backgroundColor", gap.element_handle()) == "rgb(255, 235, 238)"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert not phone.problems.items


def test_the_week_view_on_a_desktop_keeps_the_grid(live, contexts):
    desk = open_page(contexts("desktop"))
    log_in(desk, live, OFFICER)
    desk.goto(live.url + "/duties/week")
    assert desk.locator(".week-table").is_visible() and not desk.locator("#week-days").is_visible()
    assert not desk.problems.items
