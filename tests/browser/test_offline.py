"""Nothing a volunteer submits on a weak signal is lost or duplicated: the offline outbox in a real browser."""
from __future__ import annotations

import random
import re
import time
from datetime import datetime, timedelta, timezone

from geopy.distance import geodesic
from PIL import Image
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from volunteers.models import CheckIn, Checkpoint, Hazard, Patrol, Photo, User

VOLUNTEER = "13800000201"


def mine(live, model):
    with live.session() as s:
        return s.exec(select(model).where(model.client_id.not_like("demo-%"))).all()


def ready_for_offline(page):
    """Wait until the service worker controls the page and has kept the pages a volunteer needs and the offline kit
    (the report form's map, the scanner's decoder, the poster page), which it fetches after login."""
    until(page, "navigator.serviceWorker.controller !== null")
    until(page, """caches.open('pages-v1').then(c => Promise.all(['/', '/hazards/new', '/outbox'].map(u => c.match(u))))
                   .then(hits => hits.every(Boolean))""")
    until(page, """Promise.all(['/static/js/vendor/leaflet-1.9.4/leaflet.js', '/static/js/vendor/jsQR-1.4.0.min.js', '/c/']
                   .map(u => caches.match(u))).then(hits => hits.every(Boolean))""")


def outbox_size(page) -> int:
    return page.evaluate("Outbox.list(null).then(rows => rows.length)")


def patrol_started_offline(live, contexts):
    """A volunteer's phone, ready for offline, that started a patrol with no signal: one item waits."""
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)
    ctx.set_offline(True)
    page.click("#app-start")
    page.locator("#app-end").wait_for()
    assert outbox_size(page) == 1
    return ctx, page


def test_offline_patrol_and_report_are_kept_and_arrive_exactly_once(live, contexts, tmp_path):
    office, school = live.checkpoint("东街村委会"), live.checkpoint("青石小学校门")
    photo = tmp_path / "scene.jpg"
    Image.new("RGB", (3200, 2400), (200, 120, 40)).save(photo, "JPEG", quality=90)
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 8})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)

    ctx.set_offline(True)
    page.reload()  # the app still opens
    page.click("#app-start")
    page.locator(f"#app-checkpoint-{office.id} [data-app-checkin]").click()
    page.locator(f"#app-checkpoint-{office.id}.waiting").wait_for()
    ctx.set_geolocation({"latitude": school.lat, "longitude": school.lon, "accuracy": 6})
    until(page, f"document.querySelector('#app-checkpoint-{school.id} [data-distance]').textContent.match(/^\\D*[0-9]\\D/)")
    page.locator(f"#app-checkpoint-{school.id} [data-app-checkin]").click()
    page.locator(f"#app-checkpoint-{school.id}.waiting").wait_for()
    assert "已保存，等待发送" in page.locator(f"#app-checkpoint-{school.id}").inner_text()

    page.goto(live.url + "/hazards/new")  # from the service worker's cache
    page.check("input[name=category][value=fire]")
    page.fill("#address", "东街 3 号楼道口")
    page.set_input_files("#photo-pick", str(photo))
    page.click("#report-form button[type=submit]")
    page.locator("[data-outbox-status]").wait_for()
    page.goto(live.url + "/outbox")
    expect(page.locator("#outbox-items li")).to_have_count(4)  # the list is drawn from IndexedDB
    expect(page.locator("[data-outbox-badge]")).to_have_text("4")
    assert mine(live, Patrol) == [] and mine(live, Hazard) == []

    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    until(page, "Outbox.list(null).then(rows => rows.length === 0)", timeout_s=30)

    [patrol] = mine(live, Patrol)
    checkins = mine(live, CheckIn)
    [hazard] = mine(live, Hazard)
    assert sorted(c.checkpoint_id for c in checkins) == sorted([office.id, school.id])
    assert all(c.patrol_id == patrol.id and c.recorded_at < c.received_at for c in checkins)
    with live.session() as s:
        [stored] = s.exec(select(Photo).where(Photo.hazard_id == hazard.id)).all()
    assert max(stored.width, stored.height) == 1600  # shrunk on the phone before it was queued
    assert hazard.address == "东街 3 号楼道口" and hazard.grid_id is None
    expect(page.locator("#outbox-items li")).to_have_count(0)


def test_two_reports_from_the_cached_form_offline_both_arrive(live, contexts):
    """The cached /hazards/new carries the client_id the server baked in: each showing must get a fresh one,
    or the second offline report is refused for ever as a retry of the first (409 client_id_reused)."""
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    page.goto(live.url + "/hazards/new")  # opened once with signal
    ready_for_offline(page)

    ctx.set_offline(True)
    shown = []
    for address in ("东街 5 号井盖", "西街 8 号电线"):
        page.goto(live.url + "/hazards/new")  # from the service worker's cache
        shown.append(page.input_value("#report-form input[name=client_id]"))
        page.check("input[name=category][value=fire]")
        page.fill("#address", address)
        page.click("#report-form button[type=submit]")
        page.locator("[data-outbox-status]").wait_for()
    assert shown[0] != shown[1]
    page.goto(live.url + "/outbox")  # a page that stays put when the reports go through
    expect(page.locator("#outbox-items li")).to_have_count(2)

    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    until(page, "Outbox.list(null).then(rows => rows.length === 0)", timeout_s=30)
    hazards = mine(live, Hazard)
    assert sorted(h.address for h in hazards) == ["东街 5 号井盖", "西街 8 号电线"]
    assert len({h.client_id for h in hazards}) == 2


def test_a_flaky_network_delivers_every_write_exactly_once(live, contexts):
    """Fifty-two queued writes through a network that drops, delays, duplicates and fails at random (seed 7)."""
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    page.evaluate("Object.assign(Outbox.config, {baseMs: 30, maxMs: 400, timeoutMs: 500})")
    user = page.evaluate("VolunteersApp.user")

    start = datetime.now(timezone.utc) - timedelta(hours=2)
    patrol_id = "11111111-1111-4111-8111-111111111111"
    writes = [{"kind": "patrol.start", "client_id": patrol_id, "url": "/api/v1/patrols",
               "json": {"client_id": patrol_id, "recorded_at": start.isoformat()}}]
    for n in range(40):
        cid = f"22222222-2222-4222-8222-{n:012d}"
        p = geodesic(meters=n % 20).destination((office.lat, office.lon), bearing=n * 37)
        writes.append({"kind": "checkin", "client_id": cid, "depends_on": patrol_id,
                       "url": "/api/v1/patrols/{patrol:%s}/checkins" % patrol_id,
                       "json": {"client_id": cid, "checkpoint_id": office.id, "lat": p.latitude, "lon": p.longitude,
                                "accuracy_m": 8, "recorded_at": (start + timedelta(minutes=2 * n + 1)).isoformat()}})
    writes.append({"kind": "patrol.end", "client_id": "33333333-3333-4333-8333-333333333333", "depends_on": patrol_id,
                   "url": "/api/v1/patrols/{patrol:%s}/end" % patrol_id,
                   "json": {"recorded_at": (start + timedelta(minutes=100)).isoformat()}})
    for n in range(10):
        cid = f"44444444-4444-4444-8444-{n:012d}"
        writes.append({"kind": "hazard", "client_id": cid, "url": "/api/v1/hazards",
                       "parts": [["client_id", cid], ["category", "traffic"], ["address", f"东街 {n} 号"]]})
    ctx.set_offline(True)  # queued with no signal, as in a village lane
    page.evaluate("""async ([writes, user]) => {
        for (const w of writes) await Outbox.add(Object.assign({user: user, label: w.kind}, w));
    }""", [writes, user])
    assert outbox_size(page) == 52

    rng = random.Random(7)
    seen = {"requests": 0, "faults": 0}

    def chaos(route):
        seen["requests"] += 1
        roll = rng.random()
        if roll < 0.35:
            return route.continue_()
        seen["faults"] += 1
        if roll < 0.48:
            return route.abort("connectionreset")                          # dropped before the server
        if roll < 0.56:
            return route.fulfill(status=rng.choice([500, 503]), body="{}")  # failed before the server
        if roll < 0.66:
            route.fetch()                                                   # the server did it …
            return route.fulfill(status=503, body="{}")                     # … but the answer was lost
        if roll < 0.76:
            route.fetch()                                                   # delivered twice
            return route.fulfill(response=route.fetch())
        if roll < 0.88:
            time.sleep(0.1)                                                 # slow
            return route.continue_()
        response = route.fetch()                                            # too slow: the phone gave up
        time.sleep(0.7)
        return route.fulfill(response=response)

    ctx.route("**/api/v1/**", chaos)  # the context's route also sees the service worker's Background Sync
    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    deadline = time.time() + 90  # about 20 s here
    while outbox_size(page) and time.time() < deadline:
        page.evaluate("Outbox.flush({now: true})")
        page.wait_for_timeout(100)
    assert outbox_size(page) == 0, page.evaluate("Outbox.list(null).then(rows => rows.slice(0, 3).map(r => [r.kind, r.state, r.last_error]))")
    assert seen["faults"] >= 30  # the network really was that bad

    [patrol] = mine(live, Patrol)
    checkins = mine(live, CheckIn)
    hazards = mine(live, Hazard)
    assert patrol.client_id == patrol_id and patrol.ended_at is not None
    assert sorted(c.client_id for c in checkins) == sorted(w["client_id"] for w in writes if w["kind"] == "checkin")
    assert sorted(h.client_id for h in hazards) == sorted(w["client_id"] for w in writes if w["kind"] == "hazard")


def test_an_offline_check_in_far_from_the_point_says_how_far_at_once_and_queues_nothing(live, contexts):
    office = live.checkpoint("东街村委会")
    far = geodesic(meters=427).destination((office.lat, office.lon), bearing=90)
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": far.latitude, "longitude": far.longitude, "accuracy": 10})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)

    ctx.set_offline(True)
    page.click("#app-start")
    page.locator(f"#app-checkpoint-{office.id} [data-app-checkin]").click()
    status = page.locator("[data-app-status].notice-error")
    status.wait_for()
    assert re.search(r"您离“东街村委会”还有 42[678] 米", status.inner_text()) or "427" in status.inner_text(), status.inner_text()
    assert outbox_size(page) == 1  # only the patrol's start waits: the refused check-in was never queued
    assert page.locator(f"#app-checkpoint-{office.id} [data-app-checkin]").is_visible()  # free to try again nearer

    # Nearer, within the radius: this one is queued, and arrives when the signal is back.
    ctx.set_geolocation({"latitude": office.lat, "longitude": office.lon, "accuracy": 8})
    # the running watch hears the new fix: the row's distance drops to the few metres left
    until(page, f"/^相距 [0-9] 米/.test(document.querySelector('#app-checkpoint-{office.id} [data-distance]').textContent.trim())")
    page.locator(f"#app-checkpoint-{office.id} [data-app-checkin]").click()
    page.locator(f"#app-checkpoint-{office.id}.waiting").wait_for()
    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    until(page, "Outbox.list(null).then(rows => rows.length === 0)")
    [checkin] = mine(live, CheckIn)
    assert checkin.checkpoint_id == office.id and checkin.distance_m < office.radius_m


def test_a_refused_item_shows_the_servers_message_and_can_be_deleted(live, contexts):
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 10})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)

    ctx.set_offline(True)
    page.click("#app-start")
    page.locator(f"#app-checkpoint-{office.id} [data-app-checkin]").click()
    page.locator(f"#app-checkpoint-{office.id}.waiting").wait_for()
    # While the phone is offline the officer moves the point 2 km east: the phone judged by its cached copy, the
    # server judges by the new place and refuses.
    moved = geodesic(meters=2000).destination((office.lat, office.lon), bearing=90)
    with live.session() as s:
        point = s.get(Checkpoint, office.id)
        point.lat, point.lon = moved.latitude, moved.longitude
        s.add(point)
        s.commit()
    page.goto(live.url + "/outbox")
    ctx.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")

    stuck = page.locator(".outbox-item.outbox-stuck")
    stuck.wait_for(timeout=20_000)
    message = stuck.locator("[data-outbox-error]").inner_text()
    assert "2000" in message or "1999" in message or "2001" in message, message
    expect(page.locator("#outbox-items li")).to_have_count(1)  # the patrol itself went through
    page.once("dialog", lambda dialog: dialog.accept())
    stuck.get_by_role("button").last.click()
    until(page, "Outbox.list(null).then(rows => rows.length === 0)")
    expect(page.locator("#outbox-items li")).to_have_count(0)
    assert len(mine(live, Patrol)) == 1 and mine(live, CheckIn) == []


def patrol_started_and_sent(live, contexts):
    """A phone ready for offline that started a patrol the server has acknowledged; the kept home shows none."""
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)  # the home page kept from before the patrol
    page.click("#app-start")
    until(page, "(JSON.parse(localStorage.getItem('patrol:' + VolunteersApp.user)) || {}).server_id != null")
    [patrol] = mine(live, Patrol)
    return ctx, page, patrol


def test_a_home_page_older_than_the_phones_patrol_does_not_make_it_forget_the_patrol(live, contexts):
    # One bar of signal: the home page does not come (the worker shows its copy from before the start, which says
    # no patrol runs) but the server can still be asked, and it has the patrol running. The phone keeps it.
    ctx, page, patrol = patrol_started_and_sent(live, contexts)
    ctx.route(live.url + "/", lambda route: route.abort())
    page.reload()
    assert page.evaluate("JSON.parse(document.getElementById('patrol-data').textContent).patrol") is None  # stale
    page.locator("#app-end").wait_for()
    assert page.evaluate("JSON.parse(localStorage.getItem('patrol:' + VolunteersApp.user)).server_id") == patrol.id
    page.wait_for_timeout(500)  # the old code let the patrol go only after asking the outbox: give it the time
    assert page.locator("#app-end").is_visible() and not page.locator("#app-start").is_visible()

    ctx.unroute(live.url + "/")
    page.once("dialog", lambda d: d.accept())
    page.click("#app-end")
    page.wait_for_url(re.compile(r"/patrols/\?ended=\d+$"))
    [patrol] = mine(live, Patrol)
    assert patrol.ended_at is not None and not page.problems.items


def test_a_patrol_ended_elsewhere_is_let_go_and_one_the_server_cannot_be_asked_about_is_kept(live, contexts):
    ctx, page, patrol = patrol_started_and_sent(live, contexts)
    # No signal for the page nor the API: the kept home says nothing runs, and nobody can say otherwise.
    ctx.route(re.compile(r"^" + re.escape(live.url) + r"/(api/v1/patrols)?$"), lambda route: route.abort())
    page.reload()
    page.locator("#app-end").wait_for()
    page.wait_for_timeout(500)
    assert page.locator("#app-end").is_visible()

    with live.session() as s:  # ended from elsewhere (the officer's desk, another phone)
        row = s.get(Patrol, patrol.id)
        row.ended_at = datetime.now(timezone.utc)
        s.add(row)
        s.commit()
    ctx.unroute(re.compile(r"^" + re.escape(live.url) + r"/(api/v1/patrols)?$"))
    ctx.route(live.url + "/", lambda route: route.abort())  # the kept page again, but now the server is asked
    page.reload()
    until(page, "localStorage.getItem('patrol:' + VolunteersApp.user) === null")
    assert page.locator("#app-start").is_visible() and not page.locator("#app-end").is_visible()
    assert not page.problems.items


def test_logging_out_warns_about_waiting_items_then_clears_this_persons_data(live, contexts):
    ctx, page = patrol_started_offline(live, contexts)
    # The start cannot get through yet. Blocked before going online (the "online" event and the service
    # worker's Background Sync send at once), and on the context, which also sees the service worker's requests.
    ctx.route("**/api/v1/**", lambda route: route.abort())
    ctx.set_offline(False)

    with live.session() as s:  # a breadcrumb not yet batched stays on the phone until logout
        uid = s.exec(select(User).where(User.phone == VOLUNTEER)).one().id
    page.evaluate(f"localStorage.setItem('crumbs:{uid}', JSON.stringify([{{lat: 30.25, lon: 120.09}}]))")
    page.once("dialog", lambda dialog: dialog.dismiss())      # "not now": nothing is lost
    page.click("footer form[data-logout] button")
    page.wait_for_timeout(300)
    assert page.url.rstrip("/") == live.url and outbox_size(page) == 1

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("footer form[data-logout] button")
    page.wait_for_url("**/login")
    assert outbox_size(page) == 0
    kept = page.evaluate("caches.open('pages-v1').then(c => c.keys()).then(ks => ks.map(r => new URL(r.url).pathname))")
    assert set(kept) <= {"/login"}  # no page of theirs stays on the phone
    assert page.evaluate("Object.keys(localStorage)") == []


def test_a_page_that_began_loading_while_the_worker_installed_is_still_taken_over(live, contexts):
    """Chromium's clients.claim() skips a page whose navigation was under way when the worker activated (seen
    in CI): that page stayed uncontrolled, so its requests missed the worker. Reproduced by holding the worker's
    install, starting a navigation, letting the worker activate, and only then letting the page arrive."""
    ctx = contexts("phone")
    held = {"install": [], "page": []}

    def hold_install(route):
        if route.request.service_worker is not None:
            held["install"].append(route)
        else:
            route.continue_()

    ctx.route("**/static/css/app.css", hold_install)
    ctx.route("**/login?again=1", lambda route: held["page"].append(route))
    page = open_page(ctx)
    page.goto(live.url + "/login")
    until(page, "navigator.serviceWorker.getRegistration().then(r => !!(r && r.installing))")
    page.evaluate("location.assign('/login?again=1')")   # the navigation starts while the worker installs
    deadline = time.monotonic() + 10
    while not (held["install"] and held["page"]) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held["install"] and held["page"], held
    held["install"][0].continue_()
    page.wait_for_timeout(2000)   # the worker activates and claims; the page cannot be asked while it loads
    held["page"][0].continue_()
    page.wait_for_url("**/login?again=1")
    until(page, "navigator.serviceWorker.controller !== null", timeout_s=10)


def test_the_service_worker_sends_the_outbox_by_itself_when_background_sync_fires(live, contexts):
    """With no page of the app open, Background Sync wakes the service worker, which sends what waits. Headless
    Chromium never fires it by itself; the DevTools protocol's dispatchSyncEvent does what the phone would."""
    ctx, page = patrol_started_offline(live, contexts)
    assert mine(live, Patrol) == []

    blank = ctx.new_page()   # keeps the context; the app's page goes away before the signal comes back
    page.close()
    ctx.set_offline(False)
    cdp = ctx.new_cdp_session(blank)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        blank.wait_for_timeout(100)
    reg = next(r for r in registrations if r["scopeURL"].startswith(live.url) and not r["isDeleted"])
    cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": live.url, "registrationId": reg["registrationId"],
                                                 "tag": "outbox", "lastChance": False})
    deadline = time.monotonic() + 15
    while not mine(live, Patrol) and time.monotonic() < deadline:
        blank.wait_for_timeout(200)
    assert len(mine(live, Patrol)) == 1
