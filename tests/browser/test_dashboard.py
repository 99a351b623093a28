"""The officer watches the dashboard on a desktop while a volunteer checks in on a phone: the volunteer, their
position on the map and the visited point appear without anyone reloading the page."""
from __future__ import annotations

import re

from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from volunteers.models import Patrol, PatrolPosition, Task

VOLUNTEER, OFFICER = "13800000201", "13800000101"


def quiet_day(live) -> None:
    """Without the demo's own patrols running now and its daily shifts, whatever the time of day the test runs."""
    with live.session() as s:
        for task in s.exec(select(Task).where(Task.title == "网格巡逻")):
            s.delete(task)
        for patrol in s.exec(select(Patrol).where(Patrol.client_id.like("demo-patrol-now-%"))):
            s.delete(patrol)
        s.commit()


def test_the_dashboard_shows_a_volunteer_who_just_checked_in_on_a_phone_without_a_reload(live, contexts):
    live.app.config["DASHBOARD_REFRESH_S"] = 1
    quiet_day(live)
    office = live.checkpoint("东街村委会")

    desk = open_page(contexts("desktop"))
    log_in(desk, live, OFFICER)
    desk.goto(live.url + "/dashboard/")
    desk.locator("[data-dashboard-map]:not([hidden]) .leaflet-interactive").first.wait_for()  # drawn with no tiles
    assert "138****0201" not in desk.locator("#on-patrol").inner_text()
    assert "visited" not in (desk.locator(f"#point-{office.id}").get_attribute("class") or "")
    desk.evaluate("window.__sameDocument = 'yes'")

    phone = open_page(contexts("phone", permissions=["geolocation"],
                               geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 8}))
    log_in(phone, live, VOLUNTEER)
    phone.locator("#app-start").click()
    row = phone.locator(f"#app-checkpoint-{office.id}")
    row.locator("[data-app-checkin]").click()
    phone.locator(f"#app-checkpoint-{office.id}.done").wait_for()

    with live.session() as s:
        [patrol] = s.exec(select(Patrol).where(Patrol.client_id.not_like("demo-%"))).all()
    desk.locator(f"#on-patrol-{patrol.id}").wait_for(timeout=10_000)
    assert "138****0201" in desk.locator(f"#on-patrol-{patrol.id}").inner_text()
    until(desk, f"document.querySelector('#point-{office.id}').classList.contains('point-visited')", timeout_s=10)
    # The map redrew itself with the volunteer's marker, its name always shown (a permanent tooltip).
    until(desk, "Array.from(document.querySelectorAll('.leaflet-tooltip')).some(t => t.textContent.includes('"
          + desk.locator(f"#on-patrol-{patrol.id} strong").inner_text() + "'))", timeout_s=10)
    assert desk.evaluate("window.__sameDocument") == "yes"  # the same page, never reloaded
    assert not desk.problems.items and not phone.problems.items


def test_a_running_patrol_sends_its_breadcrumb_and_the_officer_replays_it(live, contexts):
    live.app.config["BREADCRUMB_EVERY_S"] = 3  # a fix each second, a batch every three
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 8})
    phone = open_page(ctx)
    log_in(phone, live, VOLUNTEER)
    phone.locator("#app-start").click()
    for step in range(1, 8):
        phone.wait_for_timeout(1100)
        ctx.set_geolocation({"latitude": office.lat + 0.0002 * step, "longitude": office.lon, "accuracy": 10})
    phone.once("dialog", lambda d: d.accept())  # 结束巡逻 asks once
    phone.click("#app-end")
    phone.wait_for_url(re.compile(r"/patrols/\?ended=\d+$"))  # my patrols, thanked for this one
    with live.session() as s:
        [patrol] = s.exec(select(Patrol).where(Patrol.client_id.not_like("demo-%"))).all()
        crumbs = s.exec(select(PatrolPosition).where(PatrolPosition.patrol_id == patrol.id)).all()
    assert len(crumbs) >= 3 and len({c.client_id for c in crumbs}) >= 2  # several batches
    assert max(c.lat for c in crumbs) > office.lat + 0.0005

    desk = open_page(contexts("desktop"))
    log_in(desk, live, OFFICER)
    desk.goto(f"{live.url}/dashboard/patrols/{patrol.id}")
    # The line, drawn with no tiles (a straight north-bound line has no width, so "attached", not "visible").
    desk.locator("[data-track-map] path.leaflet-interactive").first.wait_for(state="attached")
    assert desk.locator("#track li.small").count() == len(crumbs)  # the same positions listed below the map
    assert not desk.problems.items and not phone.problems.items
