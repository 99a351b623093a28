"""A hazard found on a phone is worked to closure on a desktop: 解决一个、销号一个."""
from __future__ import annotations

import re

from PIL import Image
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page
from volunteers import accounts, demo
from volunteers.models import GridOfficer, Hazard, HazardEvent, Photo, User


def second_officer_of(live, grid_code: str) -> str:
    """A deputy officer for the grid, so the re-inspector is not the one who fixed it."""
    with live.session() as s:
        officer = User(station_id=live.grid(grid_code).station_id, phone="13800000103", name="王副警官",
                       password_hash=accounts.hash_password(demo.PASSWORD), role="officer", status="active")
        s.add(officer)
        s.flush()
        s.add(GridOfficer(grid_id=live.grid(grid_code).id, user_id=officer.id))
        s.commit()
    return "13800000103"


def act(page, details_id: str | None, button: str | None = None):
    """Open an action (a <details>) if given, press its submit, and wait for the htmx swap to settle."""
    before = page.locator("#hazard-status").inner_text()
    if details_id:
        page.locator(f"#{details_id} summary").click()
        page.locator(f"#{details_id} button[type=submit]").click()
    else:
        page.click(f"#{button}")
    expect(page.locator("#hazard-status")).not_to_have_text(before)


def test_a_reported_hazard_is_accepted_fixed_reinspected_and_closed(live, contexts, tmp_path):
    market = live.checkpoint("东街菜市场")
    before, after = tmp_path / "before.jpg", tmp_path / "after.jpg"
    Image.new("RGB", (2000, 1500), (180, 60, 30)).save(before, "JPEG")
    Image.new("RGB", (2000, 1500), (40, 160, 60)).save(after, "JPEG")

    phone = open_page(contexts("phone", permissions=["geolocation"],
                               geolocation={"latitude": market.lat, "longitude": market.lon, "accuracy": 12}))
    log_in(phone, live, "13800000201")
    phone.click("#report-hazard")
    phone.click("[data-use-location]")
    phone.locator("[data-location-status]").filter(has_text=re.compile(".+")).wait_for()
    phone.check("input[name=category][value=fire]")
    phone.fill("#description", "菜市场后门堆满纸箱，挡住了消防通道。")
    phone.set_input_files("#photo-pick", str(before))
    phone.click("#report-form button[type=submit]")
    phone.wait_for_url(re.compile(r"/hazards/\d+$"))
    hazard_id = int(phone.url.rsplit("/", 1)[1])
    with live.session() as s:
        hazard = s.get(Hazard, hazard_id)
        assert hazard.grid_id == live.grid("G1").id and hazard.status == "reported"
        assert len(s.exec(select(Photo).where(Photo.hazard_id == hazard_id)).all()) == 1

    desk = open_page(contexts("desktop"))
    log_in(desk, live, "13800000101")
    desk.goto(f"{live.url}/hazards/{hazard_id}")
    act(desk, "action-accept")
    act(desk, None, "assign-me")
    act(desk, None, "start-fixing")
    desk.locator("#action-rectified summary").click()
    desk.fill(f"#fixed-note-{hazard_id}", "纸箱已清走，通道畅通。")
    desk.set_input_files(f"#after-photo-{hazard_id}", str(after))
    before_status = desk.locator("#hazard-status").inner_text()
    desk.locator("#action-rectified button[type=submit]").click()
    expect(desk.locator("#hazard-status")).not_to_have_text(before_status)
    assert desk.locator("#action-close").count() == 0  # the fixer may not re-inspect their own work

    deputy = open_page(contexts("desktop"))
    log_in(deputy, live, second_officer_of(live, "G1"))
    deputy.goto(f"{live.url}/hazards/{hazard_id}")
    act(deputy, "action-close")
    assert deputy.locator("#hazard-status").inner_text() == "已销号"

    phone.goto(live.url + "/hazards/mine")
    assert "已销号" in phone.locator(f"#my-report-{hazard_id}").inner_text()
    with live.session() as s:
        steps = [e.to_status for e in s.exec(select(HazardEvent).where(HazardEvent.hazard_id == hazard_id)
                                             .order_by(HazardEvent.at, HazardEvent.id))]
        after_photos = s.exec(select(Photo).where(Photo.hazard_id == hazard_id, Photo.event_id.is_not(None))).all()
    assert steps == ["reported", "accepted", "assigned", "rectifying", "rectified", "closed"]
    assert len(after_photos) == 1
    assert not phone.problems.items and not desk.problems.items and not deputy.problems.items
