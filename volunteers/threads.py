"""A report's thread: the conversation to closure between the grid's officers and the one who reported it.

The officer asks (问上报人); the reporter answers or adds an update, by text, photo and/or a voice note, from the phone's outbox
(client_id: a retry is the same message, a different payload under the same id is 409); another volunteer who finds
the same hazard says "就是这个" (confirm) instead of reporting it twice; within REOPEN_DAYS of closing the reporter may
say 又出现了 (reopen: back to `accepted`, the history saying why). A clue's thread is for its reporter and that grid's
officers only. Attachments hang off a message by message_id: photos, and at most one voice note (heard only by
those who may read the thread).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import audit, clientids, db, fields, geo, hazards, notifications, photos, voice
from volunteers.errors import Conflict, Forbidden, Invalid, N_, NotFound
from volunteers.models import Hazard, HazardEvent, HazardMessage, Photo, User, VoiceNote, utcnow

KINDS = ("question", "answer", "update", "confirm", "reopen", "note")
KIND_LABELS = {"question": N_("Question from the officer"), "answer": N_("Answer"), "update": N_("Update"),
               "confirm": N_("Same problem seen"), "reopen": N_("It is back again"), "note": N_("Note")}
MAX_TEXT = 1000
REOPEN_DAYS = 30
NEARBY_M = 100
MAX_PHOTOS = 3
EMPTY = N_("Please write a few words, add a photo or say it.")


# --- Who may read and write a thread ---------------------------------------------------------------------

def may_read(session: Session, user: User, hazard: Hazard) -> bool:
    """A clue's thread: its reporter and that grid's officers. A hazard's: whoever may see the report, and those
    who confirmed it."""
    if hazard.reporter_id == user.id:
        return True
    if hazard.kind == "clue":
        return hazards.officer_of(session, user, hazard.grid_id)
    return hazards.can_see(session, user, hazard)


def visible(session: Session, user: User, hazard_id: int) -> Hazard:
    """A report whose thread the user may read; anyone else gets 404, as if it did not exist."""
    hazard = db.get(session, Hazard, hazard_id)
    if hazard is None or not may_read(session, user, hazard):
        raise NotFound(N_("This report does not exist."))
    return hazard


def works_on(session: Session, user: User, hazard: Hazard) -> bool:
    """Those who work the report: the grid's officers, and for a hazard the station's coordinator."""
    if hazard.kind == "clue":
        return hazards.officer_of(session, user, hazard.grid_id)
    return hazards.can_move(session, user, hazard)


# --- Reading ---------------------------------------------------------------------------------------------

@dataclass
class Entry:
    message: HazardMessage
    author_name: str | None  # None: hidden (a clue's reporter to others) or gone
    mine: bool
    staff: bool
    photo_ids: list[int]
    voice: VoiceNote | None = None  # the message's voice note, if it has one


def messages(session: Session, user: User, hazard: Hazard) -> list[Entry]:
    """The thread, oldest first."""
    rows = list(session.exec(select(HazardMessage).where(HazardMessage.hazard_id == hazard.id)
                             .order_by(HazardMessage.at, HazardMessage.id)))
    authors = {u.id: u for u in session.exec(select(User).where(User.id.in_({r.author_id for r in rows if r.author_id})))}
    by_message: dict[int, list[int]] = {}
    if rows:
        for photo_id, message_id in session.exec(select(Photo.id, Photo.message_id).where(
                Photo.message_id.in_([r.id for r in rows])).order_by(Photo.id)):
            by_message.setdefault(message_id, []).append(photo_id)
        spoken = {n.message_id: n for n in session.exec(select(VoiceNote).where(
            VoiceNote.message_id.in_([r.id for r in rows])))}
    else:
        spoken = {}
    hide = not hazards.reporter_shown_to(session, user, hazard)
    out = []
    for r in rows:
        author = authors.get(r.author_id)
        hidden = hide and r.author_id == hazard.reporter_id
        out.append(Entry(r, None if hidden or author is None else author.name, r.author_id == user.id,
                         author is not None and author.is_staff, by_message.get(r.id, []), spoken.get(r.id)))
    return out


def confirmations(session: Session, hazard: Hazard) -> tuple[int, list[str]]:
    """How many times others said "就是这个", and by whom (names, first first)."""
    rows = list(session.exec(select(User.name).join(HazardMessage, HazardMessage.author_id == User.id).where(
        HazardMessage.hazard_id == hazard.id, HazardMessage.kind == "confirm").order_by(HazardMessage.id)))
    count = session.exec(select(sa.func.count()).select_from(HazardMessage).where(
        HazardMessage.hazard_id == hazard.id, HazardMessage.kind == "confirm")).one()
    return count, list(dict.fromkeys(rows))


def visible_photo(session: Session, user: User, photo: Photo) -> Photo:
    """A photo sent in a thread, for those who may read the thread."""
    visible(session, user, photo.hazard_id)
    return photo


def visible_voice(session: Session, user: User, note: VoiceNote) -> VoiceNote:
    """A voice note sent in a thread, only for those who may read the thread (a clue's: its reporter and that
    grid's officers); anyone else gets 404."""
    message = session.get(HazardMessage, note.message_id) if note.message_id else None
    if message is None:
        raise NotFound(N_("This voice note does not exist."))
    visible(session, user, message.hazard_id)
    return note


def closed_at(session: Session, hazard: Hazard) -> datetime | None:
    """When the report was last closed."""
    return session.exec(select(HazardEvent.at).where(HazardEvent.hazard_id == hazard.id,
                                                     HazardEvent.to_status == "closed")
                        .order_by(HazardEvent.at.desc(), HazardEvent.id.desc())).first()


def may_reopen(session: Session, user: User, hazard: Hazard, now: datetime | None = None) -> bool:
    """The reporter, while the report is closed and closed less than REOPEN_DAYS ago (for the button)."""
    if hazard.reporter_id != user.id or hazard.status != "closed":
        return False
    when = closed_at(session, hazard)
    return when is not None and (now or utcnow()) - when <= timedelta(days=REOPEN_DAYS)


# --- Writing ---------------------------------------------------------------------------------------------

def _save(session: Session, *, user: User, hazard: Hazard, kind: str, text: str, cid: str, fp: str,
          uploads: list[bytes], store: photos.PhotoStore | None, allowance: photos.Allowance, now: datetime,
          event: HazardEvent | None = None, ip: str | None = None, voice_note: bytes | None = None,
          voice_store: voice.VoiceStore | None = None) -> tuple[HazardMessage, bool]:
    """Write the message (and its photos, voice note and an optional state change) in one transaction, or nothing;
    a retry that raced the first write gets the first message (False)."""
    if len(uploads) > MAX_PHOTOS:
        raise Invalid("too_many_photos", N_("At most %(count)d photos per report."), count=MAX_PHOTOS)
    if voice_note and voice_store is None:
        raise ValueError("a voice note needs a store")
    # A voice note counts as one upload against the same hourly allowance as the photos.
    photos.admit(session, user_id=user.id, uploads=uploads + ([voice_note] if voice_note else []), allowance=allowance)
    processed = [photos.process(b) for b in uploads]  # every photo is checked before anything is written
    spoken = voice.check(voice_note) if voice_note else None  # and the voice note
    message = HazardMessage(client_id=cid, fingerprint=fp, hazard_id=hazard.id, author_id=user.id, kind=kind,
                            text=text, at=now)
    stored: list[str] = []
    stored_voice: str | None = None
    try:
        winner = clientids.insert(session, [message] + ([event] if event is not None else []), model=HazardMessage,
                                  cid=cid, creator_id=user.id, fp=fp)
        if winner is not None:  # a copy of this submit saved first and did it all: answered like a retry
            session.rollback()
            return winner, False
        for p in processed:
            row = photos.keep(store, p, created_at=now, hazard_id=hazard.id, message_id=message.id)
            stored.append(row.stored_name)
            session.add(row)
        if spoken is not None:
            note = voice.keep(voice_store, spoken, created_at=now, hazard_id=hazard.id, message_id=message.id)
            stored_voice = note.stored_name
            session.add(note)
        audit.record(session, actor_id=user.id, action=f"hazard.message.{kind}", obj=hazard, ip=ip,
                     message=message.id, photos=len(processed), **({"voice_s": spoken.seconds} if spoken else {}))
        _tell(session, user=user, hazard=hazard, kind=kind, text=text, now=now, spoken=spoken is not None)
        session.commit()
    except BaseException:
        session.rollback()
        for name in stored:
            store.delete(name)
        if stored_voice:
            voice_store.delete(stored_voice)
        raise
    return message, True


CHANGES = {"question": N_("the officer asks: %(text)s"), "answer": N_("the reporter answered: %(text)s"),
           "update": N_("the reporter added: %(text)s"), "confirm": N_("someone else saw it too"),
           "reopen": N_("it is back again: %(text)s"), "note": N_("a note: %(text)s")}


def _short(text: str, spoken: bool = False) -> str:
    return text[:40] + ("…" if len(text) > 40 else "") if text else "🎤" if spoken else "📷"


def _tell(session: Session, *, user: User, hazard: Hazard, kind: str, text: str, now: datetime,
          spoken: bool = False) -> None:
    change, params = CHANGES[kind], {"text": _short(text, spoken)}
    if kind == "question" or (kind == "note" and hazard.reporter_id != user.id):
        notifications.about_report(session, user_id=hazard.reporter_id, hazard_id=hazard.id, now=now,
                                   headline=hazards.REPORTER_HEADLINE, change=change, change_params=params,
                                   kind="question" if kind == "question" else "my_report", title=hazards.title_of(hazard))
        return
    for officer_id in hazards.officers_of_grid(session, hazard.grid_id):
        if officer_id != user.id:
            notifications.about_report(session, user_id=officer_id, hazard_id=hazard.id, now=now,
                                       headline=hazards.STAFF_HEADLINE, change=change, change_params=params,
                                       kind="grid_report", id=hazard.id, title=hazards.title_of(hazard))


def post(session: Session, *, user: User, hazard_id: int, data: dict[str, Any], uploads: list[bytes],
         store: photos.PhotoStore, allowance: photos.Allowance = photos.Allowance(), ip: str | None = None,
         now: datetime | None = None, voice_note: bytes | None = None,
         voice_store: voice.VoiceStore | None = None) -> tuple[HazardMessage, bool]:
    """Add a message to a report's thread: the officer's question, the reporter's answer or update, a note of
    whoever works it. Words, a photo or a voice note are needed; a retry returns the first message (the same voice
    note too; a different one under the same client_id is a 409)."""
    hazard = visible(session, user, hazard_id)
    cid = clientids.parse(data.get("client_id"))
    text = fields.text(data, "text", MAX_TEXT)
    content: dict[str, Any] = {"hazard": hazard.id, "text": text, "photos": [photos.sha256(b) for b in uploads]}
    if voice_note:  # only then: messages queued before voice notes existed keep their fingerprint
        content["voice"] = voice.sha256(voice_note)
    fp = clientids.fingerprint(content)
    found = clientids.saved(session, HazardMessage, cid, user.id, fp)  # the fingerprint names the report
    if found is not None:
        return found, False
    if not text and not uploads and not voice_note:
        raise Invalid("empty_message", EMPTY)
    if hazard.reporter_id == user.id:
        kind = "answer" if _open_question(session, hazard) else "update"
    elif works_on(session, user, hazard):
        kind = "question"
    elif hazard.kind == "hazard":
        kind = "note"
    else:
        raise Forbidden(N_("You cannot write in this report's conversation."))
    return _save(session, user=user, hazard=hazard, kind=kind, text=text, cid=cid, fp=fp, uploads=uploads,
                 store=store, allowance=allowance, now=now or utcnow(), ip=ip, voice_note=voice_note,
                 voice_store=voice_store)


def _open_question(session: Session, hazard: Hazard) -> bool:
    """Whether the officer's last question came after the reporter's last word."""
    last = session.exec(select(HazardMessage.kind).where(HazardMessage.hazard_id == hazard.id,
                                                         HazardMessage.kind.in_(("question", "answer", "update")))
                        .order_by(HazardMessage.at.desc(), HazardMessage.id.desc())).first()
    return last == "question"


def confirm(session: Session, *, user: User, hazard_id: int | None, data: dict[str, Any], uploads: list[bytes],
            store: photos.PhotoStore, allowance: photos.Allowance = photos.Allowance(), ip: str | None = None,
            now: datetime | None = None) -> tuple[Hazard, bool]:
    """"就是这个": the volunteer's words and photos join an open report nearby instead of a second report. Only an
    open hazard of the volunteer's station qualifies (never a clue); a retry returns the same report."""
    cid = clientids.parse(data.get("client_id"))
    text = fields.text(data, "description", MAX_TEXT)
    fp = clientids.fingerprint({"hazard": hazard_id, "text": text, "photos": [photos.sha256(b) for b in uploads]})
    found = clientids.saved(session, HazardMessage, cid, user.id, fp)
    if found is not None:
        return session.get(Hazard, found.hazard_id), False
    if session.exec(select(Hazard.id).where(Hazard.client_id == cid)).first() is not None:
        raise Conflict("client_id_reused", clientids.REUSED)
    hazard = db.get(session, Hazard, hazard_id) if hazard_id else None
    if hazard is None or hazard.station_id != user.station_id or (hazard.kind == "clue" and hazard.reporter_id != user.id):
        raise NotFound(N_("This report does not exist."))
    if hazard.status in hazards.FINAL:
        raise Conflict("report_finished", N_("That report was closed meanwhile. Please send yours as a new report."))
    now = now or utcnow()
    kind = "update" if hazard.reporter_id == user.id else "confirm"
    _message, created = _save(session, user=user, hazard=hazard, kind=kind, text=text, cid=cid, fp=fp,
                              uploads=uploads, store=store, allowance=allowance, now=now, ip=ip)
    return hazard, created


def reopen(session: Session, *, user: User, hazard_id: int, data: dict[str, Any], ip: str | None = None,
           now: datetime | None = None) -> tuple[Hazard, bool]:
    """又出现了: the reporter says a closed report is back, within REOPEN_DAYS of its closing; it goes back to
    `accepted` with a fresh deadline, the history saying why. Later it is a new report (422, nothing saved)."""
    hazard = visible(session, user, hazard_id)
    if hazard.reporter_id != user.id:
        raise Forbidden(N_("Only the person who reported it can say it is back again."))
    cid = clientids.parse(data.get("client_id"))
    text = fields.text(data, "text", MAX_TEXT)
    fp = clientids.fingerprint({"hazard": hazard.id, "reopen": text})
    if clientids.saved(session, HazardMessage, cid, user.id, fp) is not None:  # the fingerprint names report and kind
        return hazard, False
    if hazard.status != "closed":
        raise Conflict("not_closed", N_("Only a closed report can be reopened; this one is “%(current)s”."),
                       current=hazards.STATE_LABELS[hazard.status])
    now = now or utcnow()
    when = closed_at(session, hazard)
    if when is None or now - when > timedelta(days=REOPEN_DAYS):
        raise Invalid("reopen_too_late", N_("This report was closed more than %(days)d days ago, so it cannot be "
                                            "reopened. Please send a new report instead."), days=REOPEN_DAYS)
    if not text:
        raise Invalid("reason_required", N_("Please say what you see now."))
    event = HazardEvent(hazard_id=hazard.id, actor_id=user.id, at=now, from_status="closed", to_status="accepted",
                        note=text, detail={"reopened": True})
    moved = session.execute(sa.update(Hazard).where(Hazard.id == hazard.id, Hazard.status == "closed").values(
        status="accepted", updated_at=now, rectified_by_id=None, mediation_outcome=None,
        deadline=now + timedelta(days=hazards.DEADLINE_DAYS.get(hazard.priority, 7)))).rowcount
    if moved != 1:
        session.rollback()
        if clientids.saved(session, HazardMessage, cid, user.id, fp) is not None:  # a copy of this submit did it
            return hazard, False
        raise Conflict("changed_meanwhile", N_("Someone else changed this report just now. Please reload."))
    _message, created = _save(session, user=user, hazard=hazard, kind="reopen", text=text, cid=cid, fp=fp, uploads=[],
                              store=None, allowance=photos.Allowance(), now=now, event=event, ip=ip)
    session.refresh(hazard)
    return hazard, created


# --- Don't report it twice ----------------------------------------------------------------------------------

@dataclass
class Nearby:
    hazard: Hazard
    distance_m: float
    photo_ids: list[int]


def nearby(session: Session, user: User, *, point: tuple[float, float], category: str | None,
           radius_m: float = NEARBY_M, limit: int = 5) -> list[Nearby]:
    """Open reports within radius_m of the point in the same category, nearest first, that this volunteer may be
    shown: hazards of the station, and never other people's clues."""
    if category not in hazards.CATEGORIES:
        return []
    lat, lon = point
    dlat = radius_m / 111_000 * 1.1  # a box a little larger than the circle, then the exact distance
    dlon = dlat / max(0.01, math.cos(math.radians(lat)))
    query = select(Hazard).where(
        Hazard.station_id == user.station_id, Hazard.category == category, Hazard.status.not_in(hazards.FINAL),
        Hazard.lat.between(lat - dlat, lat + dlat), Hazard.lon.between(lon - dlon, lon + dlon),
        sa.or_(Hazard.kind == "hazard", Hazard.reporter_id == user.id)).limit(200)
    found = [(h, geo.distance_m(point, (h.lat, h.lon))) for h in session.exec(query)]
    found = sorted([(h, d) for h, d in found if d <= radius_m], key=lambda x: x[1])[:limit]
    pictures: dict[int, list[int]] = {}
    if found:
        for photo_id, hazard_id in session.exec(select(Photo.id, Photo.hazard_id).where(
                Photo.hazard_id.in_([h.id for h, _ in found]), Photo.event_id.is_(None), Photo.message_id.is_(None))
                .order_by(Photo.id)):
            pictures.setdefault(hazard_id, []).append(photo_id)
    return [Nearby(h, d, pictures.get(h.id, [])[:3]) for h, d in found]


def shown_nearby(session: Session, user: User, photo: Photo) -> bool:
    """A report's own photo may be shown to a volunteer of the station while the report is an open hazard (the
    nearby list before sending); never a clue's, never a thread's or a step's."""
    hazard = session.get(Hazard, photo.hazard_id) if photo.hazard_id else None
    return (hazard is not None and hazard.kind == "hazard" and hazard.station_id == user.station_id
            and hazard.status not in hazards.FINAL and photo.event_id is None and photo.message_id is None)
