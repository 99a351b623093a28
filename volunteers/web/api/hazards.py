"""API: report a hazard or clue with photos (or join an open one nearby: same_as), read one, move it through its
states, its conversation (messages) and 又出现了 (reopen)."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_login import current_user, login_required

from volunteers import accounts, fields, hazards, threads
from volunteers.errors import Invalid, N_
from volunteers.models import User
from volunteers.web.api import body, bp, iso
from volunteers.web.extensions import get_session
from volunteers.web.views import acting_user, allowance, client_ip, photo_store, voice_store, voice_upload


def uploads(field: str = "photo") -> list[bytes]:
    """The uploaded files of a repeated multipart field, as bytes (empty file inputs are skipped)."""
    return [f.read() for f in request.files.getlist(field) if f and f.filename]


def hazard_json(hazard, viewer: User, *, just_reported: bool = False) -> dict[str, Any]:
    """A hazard as the viewer may see it: the reporter only where the clue rules allow. `just_reported`: the
    reporter's own report without photos or voice, just filed — its one step and no attachments are known without
    asking."""
    db = get_session()
    photos = [] if just_reported else hazards.all_photos(db, hazard)
    voices = [] if just_reported else hazards.voice_notes(db, hazard)
    steps = [hazards.first_step(hazard, viewer)] if just_reported else hazards.history(db, viewer, hazard)
    data = {
        "id": hazard.id, "kind": hazard.kind, "category": hazard.category, "description": hazard.description,
        "status": hazard.status, "priority": hazard.priority, "deadline": iso(hazard.deadline),
        "overdue": hazards.is_overdue(hazard), "grid": hazards.grid_code(db, hazard), "grid_id": hazard.grid_id,
        "lat": hazard.lat, "lon": hazard.lon, "accuracy_m": hazard.accuracy_m, "address": hazard.address,
        "reported_at": iso(hazard.reported_at), "updated_at": iso(hazard.updated_at),
        "assignee_id": hazard.assignee_id, "team_id": hazard.team_id, "duplicate_of": hazard.duplicate_of_id,
        "mediation_outcome": hazard.mediation_outcome,
        "photos": [url_for("photos.show", photo_id=p.id) for p in photos],
        "voice_notes": [{"url": url_for("voice.show", note_id=n.id), "seconds": n.duration_ms / 1000}
                        for n in voices],
        "history": [{"at": iso(s.event.at), "from": s.event.from_status, "to": s.event.to_status,
                     "note": s.event.note, "actor": s.actor_name, "detail": s.event.detail,
                     "photos": [url_for("photos.show", photo_id=i) for i in s.photo_ids]}
                    for s in steps],
        "next": list(hazards.next_states(db, viewer, hazard)),
    }
    if hazards.reporter_shown_to(db, viewer, hazard) and hazard.reporter_id:
        reporter = db.get(User, hazard.reporter_id)
        data["reporter"] = {"id": reporter.id, "name": reporter.name, "phone": accounts.mask_phone(reporter.phone)}
    return data


@bp.post("/hazards")
@login_required
def create_hazard():
    """Report a hazard or clue (multipart, photo repeated 0–6 times, one optional voice note `voice`): 201
    {id, grid, status}; 200 on a retry. With same_as (an open report nearby, "就是这个") the words and photos join
    that report instead: its id comes back."""
    data = body()
    if data.get("same_as"):
        hazard, created = threads.confirm(get_session(), user=current_user, hazard_id=fields.integer(data, "same_as"),
                                          data=data, uploads=uploads(), store=photo_store(), ip=client_ip(),
                                          allowance=allowance())
        return jsonify(hazard_json(hazard, current_user)), 201 if created else 200
    photos, spoken, me = uploads(), voice_upload(), acting_user()
    hazard, created = hazards.report(get_session(), user=me, data=data, uploads=photos,
                                     store=photo_store(), ip=client_ip(), allowance=allowance(),
                                     voice_note=spoken, voice_store=voice_store())
    fresh = created and not photos and not spoken  # nothing but its first step to read back
    return jsonify(hazard_json(hazard, me, just_reported=fresh)), 201 if created else 200


@bp.get("/hazards/<int:hazard_id>")
@login_required
def show_hazard(hazard_id: int):
    """One report with its status, history and photo URLs (404 outside your scope)."""
    return jsonify(hazard_json(hazards.visible(get_session(), current_user, hazard_id), current_user))


@bp.post("/hazards/<int:hazard_id>/transition")
@login_required
def transition_hazard(hazard_id: int):
    """Move a report to state `to` (JSON or multipart with an optional photo): 200, 409 illegal, 403 not yours."""
    photos = uploads()
    if len(photos) > 1:
        raise Invalid("too_many_photos", N_("At most %(count)d photos per report."), count=1)
    hazard = hazards.transition(get_session(), user=current_user, hazard_id=hazard_id, data=body(),
                                photo=photos[0] if photos else None, store=photo_store(), ip=client_ip(),
                                allowance=allowance())
    return jsonify(hazard_json(hazard, current_user)), 200


def message_json(entry: threads.Entry) -> dict[str, Any]:
    """One message of a thread as its reader may see it."""
    m = entry.message
    return {"id": m.id, "client_id": m.client_id, "kind": m.kind, "text": m.text, "at": iso(m.at),
            "author": entry.author_name, "mine": entry.mine, "from_staff": entry.staff,
            "photos": [url_for("photos.show", photo_id=i) for i in entry.photo_ids],
            "voice_note": {"url": url_for("voice.show", note_id=entry.voice.id), "seconds": entry.voice.duration_ms / 1000}
            if entry.voice else None}


@bp.get("/hazards/<int:hazard_id>/messages")
@login_required
def list_messages(hazard_id: int):
    """The report's conversation, oldest first (404 to those who may not read it)."""
    db = get_session()
    hazard = threads.visible(db, current_user, hazard_id)
    return jsonify({"hazard_id": hazard.id, "status": hazard.status,
                    "messages": [message_json(e) for e in threads.messages(db, current_user, hazard)]})


@bp.post("/hazards/<int:hazard_id>/messages")
@login_required
def create_message(hazard_id: int):
    """Write in the conversation: client_id, text and/or photo (0–3) and/or one voice note `voice`: 201; 200 on a
    retry; 409 same id, other content; 422 empty or bad audio; 413 too large."""
    db = get_session()
    message, created = threads.post(db, user=current_user, hazard_id=hazard_id, data=body(), uploads=uploads(),
                                    store=photo_store(), allowance=allowance(), ip=client_ip(), voice_note=voice_upload(),
                                    voice_store=voice_store())
    hazard = threads.visible(db, current_user, hazard_id)
    entry = next(e for e in threads.messages(db, current_user, hazard) if e.message.id == message.id)
    return jsonify(message_json(entry) | {"hazard_id": hazard.id}), 201 if created else 200


@bp.post("/hazards/<int:hazard_id>/reopen")
@login_required
def reopen_hazard(hazard_id: int):
    """又出现了 (client_id, text): back to accepted within 30 days of closing: 200; later 422; 403 not the reporter."""
    hazard, _created = threads.reopen(get_session(), user=current_user, hazard_id=hazard_id, data=body(),
                                      ip=client_ip())
    return jsonify(hazard_json(hazard, current_user)), 200
