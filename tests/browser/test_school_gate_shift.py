"""A 护学岗 shift: the volunteer accepts it on a phone, checks in at the post with GPS, marks it done;
the grid officer verifies it on a desktop."""
from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from babel.support import Translations
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page
from tests.conftest import begun
from volunteers import tasks
from volunteers.models import Assignment, User, utcnow


def test_a_volunteer_takes_a_school_gate_post_and_the_officer_verifies_it(live, contexts):
    gate = live.checkpoint("青石小学校门")
    with live.session() as s:
        officer = s.exec(select(User).where(User.phone == "13800000101")).one()
        volunteer = s.exec(select(User).where(User.phone == "13800000201")).one()
        task, _ = tasks.create(s, user=officer, data={
            "client_id": str(uuid.uuid4()), "kind": "school_gate", "title": "青石小学护学岗（测试）",
            "grid": live.grid("G1").id, "checkpoint_id": gate.id, "place": "青石小学校门",
            "starts_at": (utcnow() + timedelta(minutes=30)).isoformat(),
            "ends_at": (utcnow() + timedelta(minutes=70)).isoformat(), "volunteer_ids": [volunteer.id]})
        offer = s.exec(select(Assignment).where(Assignment.task_id == task.id)).one()

    phone = open_page(contexts("phone", permissions=["geolocation"],
                               geolocation={"latitude": gate.lat, "longitude": gate.lon, "accuracy": 7}))
    log_in(phone, live, "13800000201")
    phone.goto(live.url + "/tasks/")
    card = phone.locator(f"#assignment-{offer.id}")
    card.locator("form button[type=submit]").first.click()          # 接受
    expect(phone.locator(f"#state-{offer.id}")).to_have_text(label("accepted"))
    with live.session() as s:
        begun(s, task)  # done is taken only from the shift's start
    card = phone.locator(f"#assignment-{offer.id}")
    card.locator("[data-task-gps]").click()
    expect(card.locator("[data-task-gps-status]")).not_to_be_empty()
    expect(card.locator("input[name=lat]")).not_to_have_value("")
    card.locator(f"#done-{offer.id} button[type=submit]").click()
    expect(phone.locator(f"#state-{offer.id}")).to_have_text(label("done"))

    with live.session() as s:
        done = s.get(Assignment, offer.id)
    assert done.state == "done" and done.distance_m is not None and done.distance_m < 5

    desk = open_page(contexts("desktop"))
    log_in(desk, live, "13800000101")
    desk.goto(live.url + "/tasks/")
    row = desk.locator(f"#task-{task.id} #assignment-{offer.id}")
    if not row.is_visible():  # the fold of places to verify shows its first few; the rest is one tap away
        desk.locator("#tasks-to-verify-more > summary").click()
    expect(row).to_contain_text(label_text("Location sent with done"))
    row.locator("form button[type=submit]").first.click()            # 确认
    expect(desk.locator(f"#task-{task.id} #assignment-{offer.id} .status")).to_have_text(label("verified"))
    with live.session() as s:
        assert s.get(Assignment, offer.id).state == "verified"
    assert not phone.problems.items and not desk.problems.items


def label_text(msgid: str) -> str:
    """What people see for an English msgid (from the compiled Chinese catalog)."""
    catalog = Translations.load(Path(__file__).resolve().parents[2] / "translations", ["zh_Hans_CN"])
    context = getattr(msgid, "context", None)  # NP_("assignment", "Accepted") is 已接受, not the report's 已受理
    return catalog.pgettext(context, msgid) if context else catalog.gettext(msgid)


def label(state: str) -> str:
    """The Chinese label of an assignment state."""
    return label_text(tasks.STATE_LABELS[state])


def test_marked_done_at_the_post_with_no_signal_it_is_kept_and_arrives_with_its_photo(live, contexts, tmp_path):
    """At the school gate the signal is gone: 'done' (GPS and a photo) waits in the outbox, then arrives once."""
    from PIL import Image

    from tests.browser.conftest import until
    from volunteers.models import Photo
    gate = live.checkpoint("青石小学校门")
    photo = tmp_path / "gate.jpg"
    Image.new("RGB", (2400, 1800), (30, 90, 160)).save(photo, "JPEG", quality=90)
    with live.session() as s:
        officer = s.exec(select(User).where(User.phone == "13800000101")).one()
        volunteer = s.exec(select(User).where(User.phone == "13800000201")).one()
        task, _ = tasks.create(s, user=officer, data={
            "client_id": str(uuid.uuid4()), "kind": "school_gate", "title": "放学护学岗（离线）",
            "grid": live.grid("G1").id, "checkpoint_id": gate.id,
            "starts_at": (utcnow() + timedelta(minutes=5)).isoformat(),
            "ends_at": (utcnow() + timedelta(minutes=45)).isoformat(), "volunteer_ids": [volunteer.id]})
        offer = s.exec(select(Assignment).where(Assignment.task_id == task.id)).one()
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": gate.lat, "longitude": gate.lon, "accuracy": 9})
    phone = open_page(ctx)
    log_in(phone, live, "13800000201")
    phone.goto(live.url + "/tasks/")
    phone.locator(f"#assignment-{offer.id} form button[type=submit]").first.click()  # 接受, online
    expect(phone.locator(f"#state-{offer.id}")).to_have_text(label("accepted"))
    with live.session() as s:
        begun(s, task)  # at the post: the shift has begun, and done is taken only from then
    until(phone, "navigator.serviceWorker.controller !== null")

    ctx.set_offline(True)
    card = phone.locator(f"#assignment-{offer.id}")
    card.locator("[data-task-gps]").click()
    expect(card.locator("input[name=lat]")).not_to_have_value("")
    card.locator(f"#photo-{offer.id}").set_input_files(str(photo))
    card.locator(f"#done-{offer.id} button[type=submit]").click()
    expect(card.locator("[data-outbox-status]").first).to_be_visible()
    until(phone, "Outbox.list(null).then(rows => rows.length === 1)")
    with live.session() as s:
        assert s.get(Assignment, offer.id).state == "accepted"  # nothing reached the server yet

    ctx.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(phone.locator(f"#state-{offer.id}")).to_have_text(label("done"), timeout=20_000)
    until(phone, "Outbox.list(null).then(rows => rows.length === 0)")
    with live.session() as s:
        done = s.get(Assignment, offer.id)
        photos = s.exec(select(Photo).where(Photo.assignment_id == offer.id)).all()
    assert done.state == "done" and done.distance_m is not None and done.distance_m < 5
    assert len(photos) == 1 and max(photos[0].width, photos[0].height) <= 1600  # shrunk on the phone
    assert not phone.problems.items
