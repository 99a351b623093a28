"""An officer's hours review and task list on a 360 px phone: what needs action now is in the first screen, and
the whole page stays under 2,500 px for the demo town (the rest is one tap away)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from tests.browser.conftest import log_in, open_page
from volunteers import hours
from volunteers.localtime import SHANGHAI
from volunteers.models import Assignment, Task, User

BUDGET_PX = 2500
FIRST_SCREEN_PX = 740


def height(page) -> int:
    return page.evaluate("document.scrollingElement.scrollHeight")


def top(page, selector: str) -> float:
    """Where an element starts, from the top of the page (inf when it is not there or hidden)."""
    return page.evaluate("""s => { const el = document.querySelector(s);
      if (!el || el.offsetParent === null) return Infinity;
      return el.getBoundingClientRect().top + window.scrollY; }""", selector)


@pytest.mark.parametrize("path, first", [
    ("/hours/review", ["#review-counts", "#review-flagged .hours-row", "#approve-chosen"]),
    ("/tasks/", ["#tasks-counts", "#new-task"]),
])
def test_an_officers_work_fits_the_first_screen_and_the_budget(live, contexts, path, first, capsys):
    page = open_page(contexts("phone"))
    log_in(page, live, "13800000101")
    page.goto(live.url + path)
    page.wait_for_load_state("networkidle")
    measured = height(page)
    with capsys.disabled():
        print(f"\n{path}: {measured} px at 360x740")
    for selector in first:
        assert top(page, selector) < FIRST_SCREEN_PX, selector
    assert measured <= BUDGET_PX
    assert page.problems.items == []


def test_a_task_is_given_on_a_phone_by_searching_for_the_volunteer_in_8_taps(live, contexts):
    page = open_page(contexts("phone"))
    log_in(page, live, "13800000101")
    page.goto(live.url + "/tasks/new")
    taps = 0
    page.click("#title"); taps += 1
    page.keyboard.type("菜场巡逻")
    # The day is today unless changed; a phone's time picker is a tap to open and one to set.
    now = datetime.now(SHANGHAI)
    if now.hour >= 23:  # too late for a shift today: the one hour of the day this test also changes the day
        page.fill("#start_date", (now.date() + timedelta(days=1)).isoformat())
    page.click("#start_time"); page.fill("#start_time", "23:00"); taps += 2
    page.click("#end_time"); page.fill("#end_time", "23:30"); taps += 2
    assert page.locator("#people-list input[type=checkbox]").first.is_visible()  # a real box, not a text-field look
    page.click("#people-search"); taps += 1
    page.keyboard.type("0202")
    rows = page.locator("#people-list [data-filter-item]")
    visible = [rows.nth(i) for i in range(rows.count()) if rows.nth(i).is_visible()]
    assert len(visible) == 1 and "138****0202" in visible[0].inner_text()
    visible[0].locator("label").click(); taps += 1
    page.click("#task-form button[type=submit]"); taps += 1
    page.wait_for_url("**/tasks/")
    print(f"\ncreate a task: {taps} taps")
    assert taps <= 8
    with live.session() as s:
        task = s.exec(select(Task).where(Task.title == "菜场巡逻")).one()
        phones = s.exec(select(User.phone).join(Assignment, Assignment.volunteer_id == User.id)
                        .where(Assignment.task_id == task.id)).all()
    assert phones == ["13800000202"]
    assert page.problems.items == []


def test_a_weeks_hours_are_approved_on_a_phone_with_the_flagged_ones_ticked_one_by_one(live, contexts):
    page = open_page(contexts("phone"))
    log_in(page, live, "13800000101")
    page.goto(live.url + "/hours/review")
    taps = 0
    flagged = page.locator("#review-flagged input[name=flagged]")
    more = page.locator("#review-flagged-more summary")
    if more.count():
        more.click(); taps += 1
    ticked_one_by_one = flagged.count()
    for i in range(ticked_one_by_one):
        flagged.nth(i).click(); taps += 1
    page.click("#review-clear [data-check-all]"); taps += 1
    assert page.locator("#review-clear-list input[data-check-item]:checked").count() == \
        page.locator("#review-clear-list input[data-check-item]").count() > 0
    page.click("#approve-chosen"); taps += 1
    question = page.locator("#approve-confirm h2")
    question.wait_for()
    assert "通过" in question.inner_text() and "小时" in question.inner_text()
    page.click("#confirm-approve"); taps += 1
    page.locator("#review .notice-success").wait_for()
    assert "Nothing" not in page.content()
    with live.session() as s:
        officer = s.exec(select(User).where(User.phone == "13800000101")).one()
        assert hours.pending_for(s, officer) == []
    print(f"\napprove a week's hours: {taps} taps ({ticked_one_by_one} records with flags ticked one by one)")
    assert page.problems.items == []
