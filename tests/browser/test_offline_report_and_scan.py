"""Offline on a phone that never opened the page with signal: the report form (GPS, the map with the grid outlines,
photo thumbnails, no report without a place) and a poster's /c/<code> link, answered by the service worker."""
from __future__ import annotations

from PIL import Image
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from tests.browser.test_offline import VOLUNTEER, mine, outbox_size, ready_for_offline
from volunteers import grids
from volunteers.models import CheckIn, Hazard, Patrol


def ready_to_scan(page):
    """The service worker controls the page and keeps this volunteer's must-visit points."""
    ready_for_offline(page)
    until(page, "caches.open('data-v1').then(c => c.match('/api/v1/checkpoints')).then(Boolean)")


def back_online(ctx, page):
    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    until(page, "Outbox.flush({now: true}).then(() => Outbox.list(null)).then(rows => rows.length === 0)", timeout_s=30)


def test_the_report_form_works_offline_on_a_phone_that_never_opened_it(live, contexts, tmp_path):
    office = live.checkpoint("东街村委会")
    photo = tmp_path / "scene.jpg"
    Image.new("RGB", (800, 600), (200, 120, 40)).save(photo, "JPEG")
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 9})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)  # the form was only warmed by the service worker, never shown

    ctx.set_offline(True)
    page.goto(live.url + "/hazards/new")
    gps = page.locator("#report-form [data-use-location]")
    expect(gps).to_be_visible()
    expect(page.locator("#report-form [data-pick-map]")).to_be_visible()
    outlines = page.locator("#report-form [data-pick-map] path.leaflet-interactive")
    until(page, "document.querySelectorAll('#report-form [data-pick-map] path.leaflet-interactive').length >= 4")
    grid_count = outlines.count()

    page.check("input[name=category][value=fire]")
    page.set_input_files("#photo-pick", str(photo))
    expect(page.locator("#photo-thumbs img")).to_have_count(1)
    # An <img> is "complete" before its src is set too: wait for the picture itself.
    until(page, "document.querySelector('#photo-thumbs img') && document.querySelector('#photo-thumbs img').complete"
                " && document.querySelector('#photo-thumbs img').naturalWidth > 0")
    assert page.evaluate("document.querySelector('#photo-thumbs img').naturalWidth") == 800  # decoded, not a blank

    page.click("#report-form button[type=submit]")  # no place yet: said at once, nothing saved
    expect(page.locator("#location-missing")).to_be_visible()
    expect(page.locator("#location-missing")).to_contain_text("请")
    assert outbox_size(page) == 0
    expect(page.locator("[data-outbox-status]")).to_be_hidden()

    gps.click()
    until(page, "document.querySelector('#report-form input[name=lat]').value !== ''")
    expect(page.locator("#location-missing")).to_be_hidden()
    assert outlines.count() == grid_count + 1  # the marker
    page.click("#report-form button[type=submit]")
    page.locator("[data-outbox-status]").wait_for()
    assert outbox_size(page) == 1 and mine(live, Hazard) == []
    expect(page.locator("#photo-thumbs img")).to_have_count(0)  # the form is ready for the next one

    page.goto(live.url + "/outbox")
    back_online(ctx, page)
    [hazard] = mine(live, Hazard)
    assert abs(hazard.lat - office.lat) < 1e-5 and abs(hazard.lon - office.lon) < 1e-5
    assert hazard.grid_id == live.grid("G1").id and hazard.category == "fire"
    assert not page.problems.items, page.problems.items


def code_of(live, name: str) -> str:
    return grids.qr_code(live.checkpoint(name), live.app.config["SECRET_KEY"])


def test_opening_a_posters_link_offline_queues_the_check_in_and_it_arrives(live, contexts):
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_to_scan(page)

    ctx.set_offline(True)
    page.goto(live.url + "/c/" + code_of(live, "东街村委会").lower())  # never opened; forgiven like a typed code
    expect(page.locator("h1")).to_have_text(office.name)
    page.click("#scan-checkin-button")  # the one tap
    expect(page.locator("#scan-status")).to_contain_text("已保存")
    expect(page.locator("#scan-checkin-button")).to_be_hidden()
    assert outbox_size(page) == 2  # the patrol it needed, then the check-in
    assert mine(live, CheckIn) == []

    page.goto(live.url + "/")  # the patrol screen knows about both, offline
    page.locator(f"#app-checkpoint-{office.id}.waiting").wait_for()
    page.goto(live.url + "/c/" + code_of(live, "东街村委会"))  # a second scan of the same poster
    expect(page.locator("#scan-status")).to_contain_text("已在此签到")
    expect(page.locator("#scan-checkin-button")).to_be_hidden()

    page.goto(live.url + "/outbox")
    back_online(ctx, page)
    [checkin] = mine(live, CheckIn)
    [patrol] = mine(live, Patrol)
    assert checkin.checkpoint_id == office.id and checkin.method == "qr" and checkin.patrol_id == patrol.id
    assert patrol.ended_at is None
    assert not page.problems.items, page.problems.items


def test_a_posters_link_offline_during_a_patrol_checks_in_to_that_patrol(live, contexts):
    school = live.checkpoint("青石小学校门")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_to_scan(page)
    ctx.set_offline(True)
    page.reload()
    page.click("#app-start")
    page.locator("#app-end").wait_for()
    page.goto(live.url + "/c/" + code_of(live, "青石小学校门"))
    page.click("#scan-checkin-button")
    expect(page.locator("#scan-status")).to_contain_text("已保存")
    assert outbox_size(page) == 2  # the patrol's start from the home screen, and this check-in
    back_online(ctx, page)
    [patrol] = mine(live, Patrol)
    [checkin] = mine(live, CheckIn)
    assert checkin.patrol_id == patrol.id and checkin.checkpoint_id == school.id


def test_a_bad_link_offline_is_refused_at_once_and_queues_nothing(live, contexts):
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_to_scan(page)
    ctx.set_offline(True)

    page.goto(live.url + "/c/PAV1-12-NOTACODE")
    expect(page.locator("#scan-error")).to_be_visible()
    expect(page.locator("#scan-error")).to_contain_text("二维码无效")
    expect(page.locator("#scan-checkin-button")).to_be_hidden()

    with live.session() as s:  # a real code, but of another grid's point (G3): the server would say 404
        from volunteers.models import Checkpoint, Grid
        far = s.exec(select(Checkpoint).join(Grid).where(Grid.code == "G3")).first()
    page.goto(live.url + "/c/" + grids.qr_code(far, live.app.config["SECRET_KEY"]))
    expect(page.locator("#scan-error")).to_contain_text("网格")
    expect(page.locator("#scan-checkin-button")).to_be_hidden()
    assert outbox_size(page) == 0


def test_a_posters_link_online_is_the_servers_page_and_one_tap_checks_in(live, contexts):
    """With the service worker active and signal, /c/<code> is the server's page (the GET writes nothing)."""
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_to_scan(page)
    page.goto(live.url + "/c/" + code_of(live, "东街村委会"))
    expect(page.locator("h1")).to_have_text(office.name)
    assert page.locator("[data-scan-shell]").count() == 0 and mine(live, CheckIn) == []
    page.click("#scan-checkin-button")  # the one tap
    page.wait_for_url(live.url + "/")
    [checkin] = mine(live, CheckIn)
    assert checkin.checkpoint_id == office.id and checkin.method == "qr"
    assert outbox_size(page) == 0


def test_a_posters_link_offline_after_logging_out_says_to_log_in(live, contexts):
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_to_scan(page)
    page.click("form[data-logout] button")
    page.wait_for_url("**/login**")
    ctx.set_offline(True)
    page.goto(live.url + "/c/" + code_of(live, "东街村委会"))
    expect(page.locator("#scan-error")).to_contain_text("登录")
    expect(page.locator("#scan-checkin-button")).to_be_hidden()
    assert outbox_size(page) == 0


def test_a_tap_on_the_posters_page_after_the_signal_went_is_queued_not_lost(live, contexts):
    """The page came with signal, the tap did not: the scan page again (not the browser's error), one more tap queues."""
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_to_scan(page)
    page.goto(live.url + "/c/" + code_of(live, "东街村委会"))
    expect(page.locator("h1")).to_have_text(office.name)
    ctx.set_offline(True)
    page.click("#scan-checkin-button")
    page.locator("[data-scan-shell]").wait_for()
    expect(page.locator("h1")).to_have_text(office.name)
    page.click("#scan-checkin-button")
    expect(page.locator("#scan-status")).to_contain_text("已保存")
    assert outbox_size(page) == 2 and mine(live, CheckIn) == []
    back_online(ctx, page)
    [checkin] = mine(live, CheckIn)
    assert checkin.checkpoint_id == office.id
