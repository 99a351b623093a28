"""A volunteer patrols on a phone: log in, start, check in by GPS at a must-visit point, end, see it listed."""
from __future__ import annotations

import re

from geopy.distance import geodesic
from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from volunteers import grids
from volunteers.models import CheckIn, Checkpoint, Patrol

VOLUNTEER = "13800000201"


def new_patrols(live):
    with live.session() as s:
        return s.exec(select(Patrol).where(Patrol.client_id.not_like("demo-%"))).all()


def new_checkins(live):
    with live.session() as s:
        return s.exec(select(CheckIn).where(CheckIn.client_id.not_like("demo-%"))).all()


def test_a_volunteer_starts_checks_in_by_gps_ends_and_sees_the_patrol(live, contexts):
    office = live.checkpoint("东街村委会")
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 8})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)

    start = page.locator("#app-start")
    start.wait_for(state="visible")
    assert start.inner_text().strip() == "开始巡逻"
    assert start.bounding_box()["height"] >= 90  # the big button
    start.click()

    row = page.locator(f"#app-checkpoint-{office.id}")
    row.locator("[data-distance]").filter(has_text=re.compile(r"\d")).wait_for()  # distance from where I stand
    assert re.fullmatch(r"相距 [0-5] 米", row.locator("[data-distance]").inner_text())
    assert page.locator("#patrol-app li.checkpoint").count() >= 2  # every must-visit point of the route
    row.locator("[data-app-checkin]").click()
    page.locator(f"#app-checkpoint-{office.id}.done").wait_for()
    assert "✓" in row.inner_text()
    assert "签到成功" in page.locator("[data-app-status].notice-success").inner_text()

    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.click("#app-end")  # asked once; cancel keeps the patrol running
    until(page, "true")
    assert re.fullmatch(r"巡逻 \d+ 分钟，签到 1/\d+ 个必到点。结束吗？", asked[0]), asked
    assert page.locator("#app-end").is_visible() and new_patrols(live)[0].ended_at is None
    page.once("dialog", lambda d: d.accept())
    page.click("#app-end")
    page.wait_for_url(re.compile(r"/patrols/\?ended=\d+$"))  # my patrols, thanked for this one
    thanks = page.locator("#patrol-thanks")
    assert "谢谢" in thanks.inner_text() and re.search(r"巡逻了 \d+ 分钟，在 1 个必到点签到", thanks.inner_text()), thanks.inner_text()
    assert "东街村委会" in thanks.inner_text()
    latest = page.locator("#patrol-list li").first
    assert "东街村委会" in latest.inner_text() and re.search(r"\d+ 分钟", latest.inner_text()), latest.inner_text()

    [patrol] = new_patrols(live)
    [checkin] = new_checkins(live)
    assert patrol.ended_at is not None and checkin.patrol_id == patrol.id
    assert checkin.method == "gps" and checkin.checkpoint_id == office.id and checkin.distance_m < 5
    assert not page.problems.items


def test_the_volunteer_may_keep_the_screen_on_while_patrolling_and_it_is_let_go_at_the_end(live, contexts):
    page = open_page(contexts("phone"))
    log_in(page, live, VOLUNTEER)
    page.locator("#app-start").click()
    box = page.locator("#app-awake")
    box.wait_for(state="visible")
    assert not box.is_checked() and page.locator("#patrol-app").get_attribute("data-awake") is None  # off by default
    box.check()
    until(page, "document.querySelector('#patrol-app').dataset.awake === 'on'")
    assert page.evaluate("localStorage.getItem('awake:' + VolunteersApp.user)") == "1"
    page.reload()  # the choice is remembered, and the running patrol takes the lock again
    until(page, "document.querySelector('#patrol-app') && document.querySelector('#patrol-app').dataset.awake === 'on'")
    assert page.locator("#app-awake").is_checked()
    page.once("dialog", lambda d: d.accept())
    page.click("#app-end")
    page.wait_for_url(re.compile(r"/patrols/\?ended=\d+$"))  # my patrols, thanked for this one
    assert not page.problems.items


def test_a_phone_that_does_not_allow_it_says_so_and_the_box_is_unticked(live, contexts):
    # Granting only geolocation leaves Chromium refusing the screen wake lock, as a phone's settings may.
    page = open_page(contexts("phone", permissions=["geolocation"]))
    log_in(page, live, VOLUNTEER)
    page.locator("#app-start").click()
    until(page, "(JSON.parse(localStorage.getItem('patrol:' + VolunteersApp.user)) || {}).server_id != null")  # sent
    page.locator("#app-awake").click()  # not check(): the refusal unticks the box before check() can verify it
    until(page, "document.querySelector('#patrol-app').dataset.awake === 'refused'")
    assert not page.locator("#app-awake").is_checked()
    assert "不允许保持屏幕常亮" in page.locator("[data-app-status].notice-error").inner_text()
    assert page.evaluate("localStorage.getItem('awake:' + VolunteersApp.user)") == "0"
    page.once("dialog", lambda d: d.accept())
    page.click("#app-end")
    page.wait_for_url(re.compile(r"/patrols/\?ended=\d+$"))  # my patrols, thanked for this one


def test_a_check_in_two_kilometres_away_says_too_far_and_saves_nothing(live, contexts):
    office = live.checkpoint("东街村委会")
    far = geodesic(meters=2000).destination((office.lat, office.lon), bearing=0)
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": far.latitude, "longitude": far.longitude, "accuracy": 10})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    page.click("#app-start")
    page.locator(f"#app-checkpoint-{office.id} [data-app-checkin]").click()

    status = page.locator("[data-app-status].notice-error")
    status.wait_for()
    assert re.search(r"(1999|2000|2001)", status.inner_text()), status.inner_text()
    assert new_checkins(live) == []
    # the refused try is not left waiting in the outbox, and the button is back for another go
    until(page, "Outbox.list(null).then(rows => rows.length === 0)")
    assert page.locator(f"#app-checkpoint-{office.id} [data-app-checkin]").is_visible()


def test_the_patrol_page_checks_in_by_gps_in_place_and_keeps_the_distances(live, contexts):
    """The server-drawn patrol page (reached from "my patrols") with JavaScript: htmx swaps the list in place."""
    office, school = live.checkpoint("东街村委会"), live.checkpoint("青石小学校门")
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 8})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    page.click("#app-start")
    until(page, "Outbox.list(null).then(rows => rows.length === 0)")  # the start has reached the server
    page.goto(live.url + "/patrols/")
    page.locator("#patrol-list li a").first.click()
    page.wait_for_url(re.compile(r"/patrols/\d+$"))

    far_row, here_row = page.locator(f"#checkpoint-{school.id}"), page.locator(f"#checkpoint-{office.id}")
    far_row.locator(".distance").wait_for()  # data-locate asked the server for distances from here
    far_away = int(re.search(r"\d+", far_row.locator(".distance").inner_text()).group())
    assert far_away > 100
    here_row.locator("[data-gps-checkin]").click()
    page.locator(f"#checkpoint-{office.id}.done").wait_for()
    assert "✓" in here_row.inner_text()
    assert "签到成功" in page.locator("#checkpoints .notice-success").inner_text()
    assert far_row.locator(".distance").is_visible()  # the swapped-in list still says how far

    far_row.locator("[data-gps-checkin]").click()
    error = page.locator("#checkpoints .notice-error")
    error.wait_for()
    assert str(far_away) in error.inner_text() or str(far_away + 1) in error.inner_text(), error.inner_text()
    [checkin] = new_checkins(live)
    assert checkin.checkpoint_id == office.id and checkin.method == "gps"

    page.click("#end-patrol")
    page.wait_for_url(re.compile(r"/patrols/\?ended=\d+$"))  # my patrols, thanked for this one
    assert "东街村委会" in page.locator("#patrol-list li").first.inner_text()
    assert new_patrols(live)[0].ended_at is not None
    assert not page.problems.items


def test_without_javascript_the_poster_code_checks_in(live, contexts):
    school = live.checkpoint("青石小学校门")
    code = grids.qr_code(school, live.app.config["SECRET_KEY"])
    ctx = contexts("phone", java_script_enabled=False)
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)

    assert page.locator("#app-start").is_hidden()
    page.click("#start-patrol")
    page.wait_for_url(re.compile(r"/patrols/\d+$"))
    assert page.locator("[data-gps-checkin]").first.is_hidden()  # no GPS button without JavaScript
    row = page.locator(f"#checkpoint-{school.id}")
    row.locator("summary").click()
    row.locator("input[name=qr]").fill(code.lower())
    row.locator("details button[type=submit]").click()
    page.locator(f"#checkpoint-{school.id}.done").wait_for()

    page.click("#end-patrol")
    page.wait_for_url(re.compile(r"/patrols/\?ended=\d+$"))
    assert "谢谢您守护平安" in page.locator("#patrol-thanks").inner_text()
    assert "青石小学校门" in page.locator("#patrol-list li").first.inner_text()
    [checkin] = new_checkins(live)
    assert checkin.method == "qr" and checkin.checkpoint_id == school.id


def test_pending_and_suspended_volunteers_are_told_why(live, contexts):
    page = open_page(contexts("phone"))
    for phone, words in (("13800000223", "审核"), ("13800000224", "停用")):
        log_in(page, live, phone)
        error = page.locator("#login-error")
        assert words in error.inner_text(), error.inner_text()
        assert page.url.startswith(live.url + "/login")


def a_code_with_an_o(live, name):
    """The checkpoint's poster code, its secret changed (if needed) until the signature holds an O."""
    key = live.app.config["SECRET_KEY"]
    with live.session() as s:
        cp = s.get(Checkpoint, live.checkpoint(name).id)
        while "O" not in grids.qr_code(cp, key).split("-")[2]:
            cp.qr_secret = grids.new_qr_secret()
        s.add(cp)
        s.commit()
        return cp, grids.qr_code(cp, key)


def test_with_gps_off_the_code_typed_on_the_patrol_screen_checks_in(live, contexts):
    school, code = a_code_with_an_o(live, "青石小学校门")
    ctx = contexts("phone")  # no location permission: GPS off
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    page.click("#app-start")
    field = page.locator("#app-code")
    field.wait_for(state="visible")

    field.fill("pav1-999999-abcdefgh99")  # not a code at all: said at once, nothing queued
    page.click("#app-code-checkin")
    page.locator("[data-app-status].notice-error").filter(has_text="二维码无效").wait_for()

    typed = code.lower().replace("o", "0").replace("-", " ")  # lower case, O typed as 0, spaces for dashes
    field.fill(typed)
    page.click("#app-code-checkin")
    page.locator(f"#app-checkpoint-{school.id}.done").wait_for()
    assert "签到成功" in page.locator("[data-app-status].notice-success").inner_text()
    assert field.input_value() == ""
    [checkin] = new_checkins(live)
    assert checkin.method == "qr" and checkin.checkpoint_id == school.id
    assert not page.problems.items
