"""Voice notes are served only through this route, to those who may see their report, task or thread."""
from __future__ import annotations

from flask import Blueprint, send_file
from flask_login import current_user, login_required

from volunteers import db, hazards, tasks, threads
from volunteers.errors import N_, NotFound
from volunteers.models import VoiceNote
from volunteers.voice import mime_of
from volunteers.web.extensions import get_session
from volunteers.web.views import voice_store

bp = Blueprint("voice", __name__, url_prefix="/voice")


@bp.get("/<int:note_id>")
@login_required
def show(note_id: int):
    """The voice note (≤ 60 s), private to those who may see its report, task or thread."""
    session = get_session()
    note = db.get(session, VoiceNote, note_id)
    if note is None:
        raise NotFound(N_("This voice note does not exist."))
    if note.message_id is not None:  # sent in a report's thread: the thread's rules (a clue's: reporter, officers)
        threads.visible_voice(session, current_user, note)
    elif note.hazard_id is not None:
        hazards.visible_voice(session, current_user, note)
    else:
        tasks.visible_voice(session, current_user, note)
    path = voice_store().path(note.stored_name)
    if not path.exists():  # lost from disk (restored backup, moved data dir): a miss, not a crash
        raise NotFound(N_("This voice note does not exist."))
    # conditional=True answers the Range requests an <audio> element makes.
    response = send_file(path, mimetype=mime_of(note.stored_name), max_age=0, conditional=True)
    # Personal evidence: the browser may keep it, shared caches and proxies may not.
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
