"""On a phone: a report already made nearby is offered before sending and "就是这个" joins it instead of a duplicate
(offline the check cannot run, and the phone says so); an officer's question answered from the phone while offline,
arriving once the signal is back (issue 16)."""
from __future__ import annotations

import uuid

from PIL import Image
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page
from tests.browser.test_offline import VOLUNTEER, outbox_size, ready_for_offline
from tests.browser.test_offline_report_and_scan import back_online
from volunteers import hazards, threads
from volunteers.models import Hazard, HazardMessage, Photo, User
from volunteers.photos import PhotoStore

NEIGHBOUR, OFFICER = "13800000202", "13800000101"


def user(s, phone):
    return s.exec(select(User).where(User.phone == phone)).one()


def file_report(live, phone, point, tmp_path):
    with live.session() as s:
        data = {"client_id": str(uuid.uuid4()), "kind": "hazard", "category": "fire", "description": "楼道堆放杂物",
                "lat": str(point[0]), "lon": str(point[1])}
        return hazards.report(s, user=user(s, phone), data=data, uploads=[], store=PhotoStore(tmp_path))[0]


def test_a_nearby_report_is_offered_and_confirmed_instead_of_a_duplicate(live, contexts, tmp_path):
    office = live.checkpoint("东街村委会")
    existing = file_report(live, NEIGHBOUR, (office.lat + 0.0003, office.lon), tmp_path)  # about 33 m away
    photo = tmp_path / "scene.jpg"
    Image.new("RGB", (800, 600), (40, 120, 200)).save(photo, "JPEG")
    ctx = contexts("phone", permissions=["geolocation"],
                   geolocation={"latitude": office.lat, "longitude": office.lon, "accuracy": 9})
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    page.goto(live.url + "/hazards/new")
    page.check("input[name=category][value=fire]")

    ctx.set_offline(True)  # no signal: the check cannot run, and the phone says the report will go as new
    page.click("#report-form [data-use-location]")
    expect(page.locator("[data-nearby-offline]")).to_be_visible()
    expect(page.locator("[data-nearby-offline]")).to_contain_text("没有网络")

    ctx.set_offline(False)
    page.click("#report-form [data-use-location]")
    offered = page.locator(f"#nearby-{existing.id}")
    expect(offered).to_be_visible()
    expect(offered).to_contain_text("米")
    page.fill("#description", "还在，越堆越多")
    page.set_input_files("#photo-pick", str(photo))
    offered.locator("[data-same-as]").click()
    page.wait_for_url(f"**/hazards/{existing.id}", timeout=30_000)
    expect(page.locator("#thread")).to_contain_text("还在，越堆越多")

    with live.session() as s:
        me = user(s, VOLUNTEER)
        assert s.exec(select(Hazard).where(Hazard.reporter_id == me.id, Hazard.client_id.not_like("demo-%"))).all() == []
        [confirm] = s.exec(select(HazardMessage).where(HazardMessage.hazard_id == existing.id)).all()
        assert (confirm.kind, confirm.author_id) == ("confirm", me.id)
        assert len(s.exec(select(Photo).where(Photo.message_id == confirm.id)).all()) == 1

    officer = open_page(contexts("desktop"))
    log_in(officer, live, OFFICER)
    officer.goto(f"{live.url}/hazards/{existing.id}")
    expect(officer.locator("#confirmations")).to_contain_text("1")
    assert not page.problems.items, page.problems.items


def test_an_officers_question_is_answered_from_the_phone_offline_then_arrives(live, contexts, tmp_path):
    office = live.checkpoint("东街村委会")
    hazard = file_report(live, VOLUNTEER, (office.lat, office.lon), tmp_path)
    with live.session() as s:
        threads.post(s, user=user(s, OFFICER), hazard_id=hazard.id, uploads=[], store=PhotoStore(tmp_path),
                     data={"client_id": str(uuid.uuid4()), "text": "杂物在几楼？"})
    photo = tmp_path / "answer.jpg"
    Image.new("RGB", (640, 480), (90, 160, 60)).save(photo, "JPEG")
    ctx = contexts("phone")
    page = open_page(ctx)
    log_in(page, live, VOLUNTEER)
    ready_for_offline(page)
    expect(page.locator("#notification-badge .badge")).to_have_text("1")
    page.click("#notification-badge")
    page.click(f"a[href='/hazards/{hazard.id}/thread']")
    expect(page.locator("#thread")).to_contain_text("杂物在几楼？")

    ctx.set_offline(True)
    page.fill(f"#message-text-{hazard.id}", "三楼东边")
    page.set_input_files(f"#message-photo-{hazard.id}", str(photo))
    page.click("#send-message")
    expect(page.locator("#message-form [data-outbox-status]")).to_be_visible()
    assert outbox_size(page) == 1
    with live.session() as s:
        assert s.exec(select(HazardMessage).where(HazardMessage.kind == "answer")).all() == []

    back_online(ctx, page)
    page.wait_for_load_state()
    with live.session() as s:
        [answer] = s.exec(select(HazardMessage).where(HazardMessage.kind == "answer")).all()
        assert answer.text == "三楼东边" and answer.hazard_id == hazard.id
        assert len(s.exec(select(Photo).where(Photo.message_id == answer.id)).all()) == 1

    officer = open_page(contexts("desktop"))
    log_in(officer, live, OFFICER)
    officer.goto(f"{live.url}/hazards/{hazard.id}/thread")
    expect(officer.locator("#thread")).to_contain_text("三楼东边")
    expect(officer.locator("#thread .message-answer img")).to_have_count(1)
    assert not page.problems.items, page.problems.items
