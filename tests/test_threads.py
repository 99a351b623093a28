"""Thread rules without HTTP: the duplicate radius and category rule, the reopen window, idempotent messages, and
notification grouping (issue 16)."""
from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from geopy.distance import geodesic
from sqlmodel import select

from tests.conftest import OFFICER_G12, VOLUNTEER
from volunteers import clientids, demo, hazards, notifications, photos, threads
from volunteers.errors import Conflict, Forbidden, Invalid, NotFound
from volunteers.models import Hazard, HazardEvent, HazardMessage, Notification, Photo, VoiceNote, utcnow
from volunteers.photos import PhotoStore
from volunteers.sms import LoggingSms
from volunteers.voice import VoiceStore

FILES = Path(__file__).parent / "files"
OTHER_G1 = "13800000202"
HERE = (demo.ORIGIN[0] + 1.3 * demo.STEP_LAT, demo.ORIGIN[1] + 0.3 * demo.STEP_LON)  # in G1, away from the demo's reports


def new_id() -> str:
    return str(uuid.uuid4())


def north_of(point, metres):
    p = geodesic(meters=metres).destination(point, 0)
    return (p.latitude, p.longitude)


@pytest.fixture
def store(app):
    return PhotoStore(app.config["DATA_DIR"])


def file(session, store, user, *, point=HERE, category="fire", kind="hazard", description="楼道堆放杂物"):
    data = {"client_id": new_id(), "kind": kind, "category": category, "description": description,
            "lat": str(point[0]), "lon": str(point[1])}
    return hazards.report(session, user=user, data=data, uploads=[], store=store)[0]


# --- Don't report it twice ------------------------------------------------------------------------------------

def test_nearby_is_within_100_metres_in_the_same_category_and_open(town, session, store):
    me, other = town.user(VOLUNTEER), town.user(OTHER_G1)
    at_99 = file(session, store, other, point=north_of(HERE, 99))
    at_101 = file(session, store, other, point=north_of(HERE, 101))
    other_kind = file(session, store, other, point=north_of(HERE, 10), category="traffic")
    clue = file(session, store, other, point=north_of(HERE, 10), kind="clue")
    closed = file(session, store, other, point=north_of(HERE, 20))
    closed.status = "closed"
    session.add(closed)
    session.commit()
    found = [n.hazard.id for n in threads.nearby(session, me, point=HERE, category="fire")]
    assert at_99.id in found
    assert at_101.id not in found
    assert other_kind.id not in found and clue.id not in found and closed.id not in found
    assert found == [at_99.id]
    assert [n.hazard.id for n in threads.nearby(session, me, point=HERE, category="traffic")] == [other_kind.id]
    assert threads.nearby(session, me, point=HERE, category="bogus") == []


def test_a_clue_is_never_offered_to_someone_else_but_its_reporter_sees_their_own(town, session, store):
    me, other = town.user(VOLUNTEER), town.user(OTHER_G1)
    theirs = file(session, store, other, kind="clue", category="suspicious")
    assert threads.nearby(session, me, point=HERE, category="suspicious") == []
    assert [n.hazard.id for n in threads.nearby(session, other, point=HERE, category="suspicious")] == [theirs.id]
    with pytest.raises(NotFound):
        threads.confirm(session, user=me, hazard_id=theirs.id, data={"client_id": new_id()}, uploads=[], store=store)


def test_confirming_adds_to_the_report_instead_of_a_new_one(town, session, store):
    me, other = town.user(VOLUNTEER), town.user(OTHER_G1)
    original = file(session, store, other)
    before = session.exec(select(Hazard.id)).all()
    cid = new_id()
    data = {"client_id": cid, "description": "还在，越堆越多", "kind": "hazard", "category": "fire"}
    photo = (FILES / "gps.jpg").read_bytes()
    hazard, created = threads.confirm(session, user=me, hazard_id=original.id, data=data, uploads=[photo], store=store)
    assert created and hazard.id == original.id
    assert session.exec(select(Hazard.id)).all() == before  # no second report
    again, created_again = threads.confirm(session, user=me, hazard_id=original.id, data=data, uploads=[photo], store=store)
    assert again.id == original.id and not created_again
    assert threads.confirmations(session, original) == (1, [me.name])
    message = session.exec(select(HazardMessage).where(HazardMessage.client_id == cid)).one()
    assert message.kind == "confirm" and message.text == "还在，越堆越多"
    assert session.exec(select(Photo).where(Photo.message_id == message.id)).one()
    assert hazards.can_see(session, me, original)  # the confirmer may follow it
    with pytest.raises(Conflict):
        threads.confirm(session, user=me, hazard_id=original.id, data=data | {"description": "别的"}, uploads=[], store=store)


def test_a_closed_report_cannot_be_confirmed(town, session, store):
    original = file(session, store, town.user(OTHER_G1))
    original.status = "closed"
    session.add(original)
    session.commit()
    with pytest.raises(Conflict):
        threads.confirm(session, user=town.user(VOLUNTEER), hazard_id=original.id, data={"client_id": new_id()},
                        uploads=[], store=store)
    assert session.exec(select(HazardMessage)).all() == []


# --- The reopen window ----------------------------------------------------------------------------------------

def closed_report(session, store, user, days_ago):
    hazard = file(session, store, user)
    at = utcnow() - timedelta(days=days_ago)
    hazard.status = "closed"
    session.add(hazard)
    session.add(HazardEvent(hazard_id=hazard.id, at=at, from_status="rectified", to_status="closed"))
    session.commit()
    return hazard


def test_reopening_29_days_after_closing_goes_back_to_accepted_with_the_reason(town, session, store):
    me = town.user(VOLUNTEER)
    hazard = closed_report(session, store, me, 29)
    data = {"client_id": new_id(), "text": "又堆满了"}
    reopened, created = threads.reopen(session, user=me, hazard_id=hazard.id, data=data)
    assert created and reopened.status == "accepted" and reopened.deadline > utcnow()
    last = session.exec(select(HazardEvent).where(HazardEvent.hazard_id == hazard.id).order_by(HazardEvent.id.desc())).first()
    assert (last.from_status, last.to_status, last.note) == ("closed", "accepted", "又堆满了")
    assert threads.reopen(session, user=me, hazard_id=hazard.id, data=data)[1] is False  # a retry: nothing new
    assert len(session.exec(select(HazardEvent).where(HazardEvent.to_status == "accepted",
                                                      HazardEvent.hazard_id == hazard.id)).all()) == 1


def test_reopening_31_days_after_closing_is_refused_and_saves_nothing(town, session, store):
    me = town.user(VOLUNTEER)
    hazard = closed_report(session, store, me, 31)
    events = len(session.exec(select(HazardEvent).where(HazardEvent.hazard_id == hazard.id)).all())
    with pytest.raises(Invalid) as err:
        threads.reopen(session, user=me, hazard_id=hazard.id, data={"client_id": new_id(), "text": "又来了"})
    assert err.value.status == 422 and err.value.code == "reopen_too_late"
    session.expire_all()
    assert session.get(Hazard, hazard.id).status == "closed"
    assert len(session.exec(select(HazardEvent).where(HazardEvent.hazard_id == hazard.id)).all()) == events
    assert session.exec(select(HazardMessage)).all() == []


def test_only_the_reporter_reopens(town, session, store):
    hazard = closed_report(session, store, town.user(VOLUNTEER), 1)
    with pytest.raises(Forbidden):
        threads.reopen(session, user=town.user(OFFICER_G12), hazard_id=hazard.id, data={"client_id": new_id(), "text": "x"})


# --- Messages ---------------------------------------------------------------------------------------------------

def test_an_empty_message_is_refused_and_a_question_then_an_answer(town, session, store):
    me, officer = town.user(VOLUNTEER), town.user(OFFICER_G12)
    hazard = file(session, store, me)
    with pytest.raises(Invalid) as err:
        threads.post(session, user=me, hazard_id=hazard.id, data={"client_id": new_id(), "text": "  "}, uploads=[], store=store)
    assert err.value.status == 422
    q, _ = threads.post(session, user=officer, hazard_id=hazard.id, data={"client_id": new_id(), "text": "在几楼？"},
                        uploads=[], store=store)
    cid = new_id()
    a, created = threads.post(session, user=me, hazard_id=hazard.id, data={"client_id": cid, "text": "三楼"}, uploads=[], store=store)
    assert (q.kind, a.kind, created) == ("question", "answer", True)
    same, created = threads.post(session, user=me, hazard_id=hazard.id, data={"client_id": cid, "text": "三楼"}, uploads=[], store=store)
    assert same.id == a.id and not created
    with pytest.raises(Conflict):
        threads.post(session, user=me, hazard_id=hazard.id, data={"client_id": cid, "text": "四楼"}, uploads=[], store=store)


def test_a_voice_answer_counts_against_the_hourly_allowance_and_keeps_old_fingerprints(town, session, store, app):
    me, officer = town.user(VOLUNTEER), town.user(OFFICER_G12)
    hazard = file(session, store, me)
    threads.post(session, user=officer, hazard_id=hazard.id, data={"client_id": new_id(), "text": "在几楼？"},
                 uploads=[], store=store)
    spoken = (Path(__file__).parent / "files" / "voice.webm").read_bytes()
    photo = (Path(__file__).parent / "files" / "gps.jpg").read_bytes()
    voices = VoiceStore(app.config["DATA_DIR"])
    with pytest.raises(Invalid) as caught:  # a photo and a voice note are two uploads; one is allowed here
        threads.post(session, user=me, hazard_id=hazard.id, data={"client_id": new_id()}, uploads=[photo], store=store,
                     allowance=photos.Allowance(photos=1, mb=300), voice_note=spoken, voice_store=voices)
    assert caught.value.status == 429 and caught.value.code == "photo_limit"
    assert session.exec(select(VoiceNote)).all() == [] and len(session.exec(select(HazardMessage)).all()) == 1
    answer, created = threads.post(session, user=me, hazard_id=hazard.id, data={"client_id": new_id()}, uploads=[],
                                   store=store, voice_note=spoken, voice_store=voices)
    [entry] = [e for e in threads.messages(session, officer, hazard) if e.message.id == answer.id]
    assert created and answer.kind == "answer" and entry.voice is not None and entry.voice.message_id == answer.id
    assert hazards.voice_notes(session, hazard) == []  # the thread's, not the report's own
    # A text-only message queued before voice notes existed has the fingerprint it always had.
    cid = new_id()
    text_only, _ = threads.post(session, user=me, hazard_id=hazard.id, data={"client_id": cid, "text": "三楼"},
                                uploads=[], store=store)
    assert text_only.fingerprint == clientids.fingerprint({"hazard": hazard.id, "text": "三楼", "photos": []})


# --- Notifications people read ---------------------------------------------------------------------------------

def test_changes_within_ten_minutes_are_one_notification_and_the_badge_counts_threads(town, session, store):
    me, officer = town.user(VOLUNTEER), town.user(OFFICER_G12)
    hazard = file(session, store, me)
    for step in ({"to": "accepted"}, {"to": "assigned"}):
        hazards.transition(session, user=officer, hazard_id=hazard.id, data=step, photo=None, store=store)
    threads.post(session, user=officer, hazard_id=hazard.id, data={"client_id": new_id(), "text": "在几楼？"}, uploads=[], store=store)
    mine = session.exec(select(Notification).where(Notification.user_id == me.id, Notification.hazard_id == hazard.id)).all()
    assert len(mine) == 1
    assert [c[0] for c in mine[0].params["changes"]] == ["Accepted", "given to %(name)s", threads.CHANGES["question"]]
    assert notifications.unread_count(session, me) == 1
    # Later than the window: a new message, still one thread in the badge.
    notifications.about_report(session, user_id=me.id, hazard_id=hazard.id, headline=hazards.REPORTER_HEADLINE,
                               change="Closed", now=utcnow() + timedelta(minutes=11), title="x")
    session.commit()
    assert len(session.exec(select(Notification).where(Notification.user_id == me.id,
                                                       Notification.hazard_id == hazard.id)).all()) == 2
    assert notifications.unread_count(session, me) == 1


def test_sms_goes_once_per_group_only_to_those_who_chose_it(town, session, store):
    me, officer = town.user(VOLUNTEER), town.user(OFFICER_G12)
    notifications.choose(session, me, {"my_report"})
    hazard = file(session, store, me)
    for step in ({"to": "accepted"}, {"to": "assigned"}):
        hazards.transition(session, user=officer, hazard_id=hazard.id, data=step, photo=None, store=store)
    sms = LoggingSms()
    render = lambda message, params: f"{message}|{len(params['changes'])}"  # noqa: E731
    assert notifications.send_due_sms(session, sms=sms, render=render) == 0  # the group is still open
    assert notifications.send_due_sms(session, sms=sms, render=render, now=utcnow() + timedelta(minutes=11)) == 1
    assert sms.sent == [(me.phone, f"{hazards.REPORTER_HEADLINE}|2")]
    assert notifications.send_due_sms(session, sms=sms, render=render, now=utcnow() + timedelta(minutes=30)) == 0
