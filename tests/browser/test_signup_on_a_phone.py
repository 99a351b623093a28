"""Signing up on a 360 px phone: the form fits with big targets, a mistake keeps what was typed, the account waits
for approval, and once the grid's officer approves it on a desktop the newcomer logs in."""
from __future__ import annotations

from tests.browser.conftest import log_in, open_page
from tests.browser.test_layout import fits_a_small_phone


def test_sign_up_on_a_phone_then_the_officer_approves_on_a_desktop(live, contexts):
    page = open_page(contexts("phone"))
    page.goto(live.url + "/login")
    page.click("#signup-link")
    page.wait_for_url("**/signup/")
    fits_a_small_phone(page)

    page.fill("#phone", "１３９１２３４５６７８")  # typed with a Chinese input method in full-width mode
    page.fill("#name", "新志愿者")
    page.fill("#password", "qingshi2026")
    page.fill("#password2", "qingshi2025")
    page.select_option("#grid", label="东街社区")
    page.locator("label.check", has_text="护学岗队").click()
    page.click("#signup-form button[type=submit]")
    assert page.locator("#signup-error").is_visible()
    assert page.input_value("#name") == "新志愿者" and page.input_value("#password") == ""
    assert page.locator("label.check", has_text="护学岗队").locator("input").is_checked()
    fits_a_small_phone(page)

    page.fill("#password", "qingshi2026")
    page.fill("#password2", "qingshi2026")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/signup/done")
    assert "陈警官" in page.locator("#approvers").inner_text()
    fits_a_small_phone(page)

    log_in(page, live, "13912345678", "qingshi2026")
    assert page.locator("#login-error").is_visible()

    officer = open_page(contexts("desktop"))
    log_in(officer, live, "13800000101")
    officer.click("#people-link")
    officer.select_option("#f-status", "pending")
    officer.wait_for_url("**status=pending**")  # the filtered list is in: approving now cannot race its swap
    officer.wait_for_load_state("networkidle")
    row = officer.locator(".person-row", has_text="新志愿者")
    row.locator("button").click()
    row.locator(".status-active").wait_for()
    assert officer.problems.items == []

    log_in(page, live, "13912345678", "qingshi2026")
    page.wait_for_url(live.url + "/")
    assert page.problems.items == []
