"""Nothing refused is hidden: what the server refuses from the outbox is shown on every page with the way forward
(check in again, fix the report, delete); a forced password change keeps what waits; and a phone that changes
hands keeps none of the first person's pages (issues 12 and 14)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from geopy.distance import geodesic
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from tests.browser.test_offline import mine, outbox_size, ready_for_offline
from volunteers import accounts, demo
from volunteers.models import CheckIn, Hazard, Patrol, Photo, User

VOLUNTEER = "13800000201"
OTHER = "13800000202"


def person(live, phone: str) -> User:
    with live.session() as s:
        return s.exec(select(User).where(User.phone == phone)).one()


def end_sessions(live, user: User):
    """The person's logins end on the server (expired or revoked): their cookies stay on the phone but count for nothing."""
    with live.session() as s:
        accounts.revoke_credentials(s, user_id=user.id)
        s.commit()


def queue(page, writes):
    """Put writes in this person's outbox, as the app does (with no signal, so nothing leaves yet)."""
    page.evaluate("""async (writes) => {
        for (const w of writes) await Outbox.add(Object.assign({user: VolunteersApp.user, label: w.kind}, w));
    }""", writes)


def a_far_checkin(office):
    """A patrol start and a check-in 2 km from the point: the server takes the first and refuses the second."""
    far = geodesic(meters=2000).destination((office.lat, office.lon), bearing=90)
    start = datetime.now(timezone.utc) - timedelta(minutes=20)
    patrol_id, checkin_id = "55555555-5555-4555-8555-000000000001", "55555555-5555-4555-8555-000000000002"
    return [
        {"kind": "patrol.start", "client_id": patrol_id, "url": "/api/v1/patrols",
         "json": {"client_id": patrol_id, "recorded_at": start.isoformat()}},
        {"kind": "checkin", "client_id": checkin_id, "depends_on": patrol_id, "label": "在东街村委会签到",
         "url": "/api/v1/patrols/{patrol:%s}/checkins" % patrol_id,
         "json": {"client_id": checkin_id, "checkpoint_id": office.id, "lat": far.latitude, "lon": far.longitude,
                  "accuracy_m": 8, "recorded_at": (start + timedelta(minutes=5)).isoformat()}},
    ]


def test_a_refused_checkin_shows_on_the_home_page_and_in_every_header_and_can_be_deleted(live, contexts):
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)
    ctx.set_offline(True)
    queue(page, a_far_checkin(office))
    ctx.set_offline(False)

    page.goto(live.url + "/tasks/")  # another page: the refusal arrives while it is open
    alert = page.locator("#outbox-alert")
    expect(alert).to_be_visible(timeout=20_000)
    expect(alert.locator("h2")).to_have_text("有 1 条没有发送成功")
    message = alert.locator("[data-outbox-error]").inner_text()
    assert any(str(d) in message for d in (1999, 2000, 2001)), message  # the server's own words, with the distance
    expect(page.locator("[data-outbox-refused-badge]")).to_have_text("1")
    expect(page.locator("[data-outbox-refused]")).to_be_visible()
    expect(page.locator("[data-outbox-waiting]")).to_be_hidden()  # the patrol start went through; nothing waits
    assert len(mine(live, Patrol)) == 1 and mine(live, CheckIn) == []

    page.goto(live.url + "/")
    expect(alert).to_be_visible()
    assert "在东街村委会签到" in alert.inner_text()
    page.goto(live.url + "/outbox")  # the outbox page lists it with the same way forward, and no banner twice
    stuck = page.locator("#outbox-items li.outbox-stuck")
    expect(stuck.get_by_role("link", name="重新签到")).to_have_attribute("href", "/")
    expect(alert).to_be_hidden()
    page.goto(live.url + "/")
    again = alert.get_by_role("link", name="重新签到")
    assert again.get_attribute("href") == "/"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360

    page.once("dialog", lambda dialog: dialog.dismiss())  # "not now" keeps it
    alert.locator("[data-outbox-delete]").click()
    page.wait_for_timeout(300)
    assert outbox_size(page) == 1
    page.once("dialog", lambda dialog: dialog.accept())
    alert.locator("[data-outbox-delete]").click()
    until(page, "Outbox.list(null).then(rows => rows.length === 0)")
    expect(alert).to_be_hidden()
    expect(page.locator("#outbox-link")).to_be_hidden()
    assert page.problems.items == []


def test_a_refused_report_is_fixed_with_its_text_and_photo_and_arrives_once_under_a_new_id(live, contexts):
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    page.goto(live.url + "/hazards/new")
    ready_for_offline(page)
    page.goto(live.url + "/")
    ctx.set_offline(True)
    old_id = "66666666-6666-4666-8666-000000000001"
    # A report with no place at all: the server refuses it (422 location_required). It carries one photo.
    page.evaluate("""async (cid) => {
        const canvas = document.createElement('canvas'); canvas.width = 64; canvas.height = 48;
        canvas.getContext('2d').fillRect(0, 0, 64, 48);
        const blob = await new Promise(r => canvas.toBlob(r, 'image/jpeg', 0.9));
        await Outbox.add({user: VolunteersApp.user, client_id: cid, kind: 'hazard', label: '上报隐患',
                          url: '/api/v1/hazards', parts: [['client_id', cid], ['kind', 'clue'], ['category', 'traffic'],
                                                          ['description', '路口红绿灯不亮'], ['photo', blob, 'scene.jpg']]});
    }""", old_id)
    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")

    alert = page.locator("#outbox-alert")
    expect(alert).to_be_visible(timeout=20_000)
    assert "上报隐患" in alert.inner_text()
    assert alert.locator("[data-outbox-error]").inner_text().strip()
    assert mine(live, Hazard) == []

    ctx.set_offline(True)  # fixed with no signal: the form and the saved report come from the phone
    alert.get_by_role("link", name="修改报告").click()
    page.wait_for_url("**/hazards/new*")
    expect(page.locator("[data-outbox-fixing]")).to_be_visible()
    expect(page.locator("#description")).to_have_value("路口红绿灯不亮")
    assert page.is_checked("input[name=kind][value=clue]") and page.is_checked("input[name=category][value=traffic]")
    assert page.evaluate("document.querySelector('#photo-pick').files.length") == 1
    new_id = page.input_value("#report-form input[name=client_id]")
    assert new_id and new_id != old_id
    expect(alert).to_be_visible()  # still refused until the corrected one is saved

    page.fill("#address", "东街与北路路口")
    page.click("#report-form button[type=submit]")
    page.locator("[data-outbox-status]").wait_for()
    rows = page.evaluate("Outbox.list(null).then(rows => rows.map(r => [r.client_id, r.state]))")
    assert rows == [[new_id, "waiting"]]  # the corrected report took the refused one's place
    expect(alert).to_be_hidden()
    expect(page.locator("[data-outbox-badge]")).to_have_text("1")

    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_url(re.compile(r"/hazards/\d+$"), timeout=30_000)  # taken to the report once it arrived
    [hazard] = mine(live, Hazard)
    assert hazard.client_id == new_id and hazard.description == "路口红绿灯不亮" and hazard.address == "东街与北路路口"
    assert hazard.kind == "clue" and hazard.category == "traffic"
    with live.session() as s:
        assert len(s.exec(select(Photo).where(Photo.hazard_id == hazard.id)).all()) == 1
    assert outbox_size(page) == 0


def test_a_forced_password_change_keeps_the_waiting_item_and_says_what_to_do(live, contexts):
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)
    ctx.set_offline(True)
    queue(page, a_far_checkin(office)[:1])  # a patrol start
    with live.session() as s:  # a coordinator reset the password meanwhile
        me = s.exec(select(User).where(User.phone == VOLUNTEER)).one()
        me.must_change_password = True
        s.add(me)
        s.commit()
    ctx.set_offline(False)

    page.goto(live.url + "/")
    page.wait_for_url("**/account/password")
    until(page, "Outbox.list(null).then(rows => rows.length === 1 && rows[0].hold === 'password')")
    assert page.evaluate("Outbox.list(null).then(rows => rows[0].state)") == "waiting"  # kept, not refused
    held = page.locator("#outbox-alert [data-outbox-held=password]")
    expect(held).to_be_visible()
    assert held.get_by_role("link").get_attribute("href") == "/account/password"
    expect(page.locator("[data-outbox-refused]")).to_be_hidden()
    expect(page.locator("[data-outbox-badge]")).to_have_text("1")
    assert mine(live, Patrol) == []

    page.fill("#current", demo.PASSWORD)
    page.fill("#password", "a-new-pass-2026")
    page.fill("#password2", "a-new-pass-2026")
    page.click("main form button[type=submit]")
    page.wait_for_url(live.url + "/")
    until(page, "Outbox.list(null).then(rows => rows.length === 0)")
    assert len(mine(live, Patrol)) == 1


CACHED_PAGES = """caches.open('pages-v1').then(c => c.keys().then(keys => Promise.all(keys.map(k =>
    c.match(k).then(r => r.text()).then(t => [new URL(k.url).pathname, t])))))"""


def test_another_person_logging_in_on_the_same_phone_gets_none_of_the_first_persons_pages(live, contexts):
    first, second = person(live, VOLUNTEER), person(live, OTHER)
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)
    for path in ("/tasks/", "/hours/", "/hazards/mine"):  # pages the second person will not open
        page.goto(live.url + path)
    page.goto(live.url + "/")
    until(page, f"{CACHED_PAGES}.then(rows => rows.some(([p, t]) => p === '/hours/' && t.includes({first.name!r})))")
    ctx.set_offline(True)
    page.click("#app-start")  # something of theirs still waits to be sent
    page.locator("#app-end").wait_for()
    assert outbox_size(page) == 1
    # …and stays unsent while the phone changes hands (the route first: back online, the outbox sends at once)
    ctx.route("**/api/v1/patrols", lambda route: route.abort())
    ctx.set_offline(False)

    end_sessions(live, first)  # the session ended without the logout button (expired, revoked)
    log_in(page, live, OTHER)
    assert page.evaluate("VolunteersApp.user") == second.id
    ready_for_offline(page)
    page.wait_for_timeout(500)
    cached = page.evaluate(CACHED_PAGES)
    assert {"/", "/hazards/new", "/outbox"} <= {path for path, _ in cached}
    leaked = [path for path, text in cached if first.name in text]
    assert leaked == [], leaked
    assert all(second.name in text for path, text in cached if path != "/login")
    assert page.evaluate("localStorage.getItem('pwa:user')") == str(second.id)
    # The first person's unsent start is still on the phone, theirs, for when they log in again.
    assert page.evaluate("Outbox.list(null).then(rows => rows.map(r => [r.user, r.kind]))") == [[first.id, "patrol.start"]]
    assert page.evaluate(f"localStorage.getItem('patrol:{first.id}') !== null")
    expect(page.locator("#outbox-link")).to_be_hidden()  # and none of it is shown to the second person
    assert mine(live, Patrol) == []


def test_a_session_that_ended_clears_the_cached_pages_at_the_next_page_load(live, contexts):
    first = person(live, VOLUNTEER)
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)
    end_sessions(live, first)  # ended on the server's side: the next page is the login page
    page.goto(live.url + "/hours/")
    page.wait_for_url(re.compile(r"/login"))
    until(page, "localStorage.getItem('pwa:user') === null")
    until(page, f"""caches.open('pages-v1').then(c => c.keys().then(keys => Promise.all(keys.map(k => c.match(k)
                    .then(r => r.text()))))).then(texts => !texts.some(t => t.includes({first.name!r})))""")


def test_a_login_that_ended_while_items_wait_keeps_them_and_says_log_in_again(live, contexts):
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)
    ctx.set_offline(True)
    queue(page, a_far_checkin(office)[:1])
    end_sessions(live, person(live, VOLUNTEER))
    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")  # the page stays open: its API calls answer 401
    until(page, "Outbox.list(null).then(rows => rows.length === 1 && rows[0].hold === 'login')")
    held = page.locator("#outbox-alert [data-outbox-held=login]")
    expect(held).to_be_visible()
    assert held.get_by_role("link").get_attribute("href") == "/login"
    expect(page.locator("[data-outbox-refused]")).to_be_hidden()

    held.get_by_role("link").click()
    page.fill("#phone", VOLUNTEER)
    page.fill("#password", demo.PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(live.url + "/")
    until(page, "Outbox.list(null).then(rows => rows.length === 0)")  # kept on the phone, sent once back in
    assert len(mine(live, Patrol)) == 1


def test_a_refused_report_brought_back_for_fixing_shows_its_saved_place_on_the_map(live, contexts):
    office = live.checkpoint("东街村委会")
    page = open_page(contexts("phone"))
    log_in(page, live, VOLUNTEER)
    cid = "66666666-6666-4666-8666-000000000002"
    # Refused for its category (422), not its place: the place must come back onto the map.
    page.evaluate("""([cid, lat, lon]) => Outbox.add({user: VolunteersApp.user, client_id: cid, kind: 'hazard',
        label: '上报隐患', url: '/api/v1/hazards', parts: [['client_id', cid], ['kind', 'hazard'],
        ['category', 'not-a-category'], ['description', '电线老化'], ['lat', String(lat)], ['lon', String(lon)],
        ['accuracy_m', '9']]})""", [cid, office.lat, office.lon])
    page.evaluate("window.dispatchEvent(new Event('online'))")
    alert = page.locator("#outbox-alert")
    expect(alert).to_be_visible(timeout=20_000)
    alert.get_by_role("link", name="修改报告").click()
    page.wait_for_url("**/hazards/new*")
    expect(page.locator("#description")).to_have_value("电线老化")
    page.locator("#report-form path.leaflet-interactive[stroke='#b71c1c']").wait_for()  # the marker, at the saved place
    assert page.input_value("#report-form input[name=accuracy_m]") == "9"
    assert abs(float(page.input_value("#report-form input[name=lat]")) - office.lat) < 1e-5
