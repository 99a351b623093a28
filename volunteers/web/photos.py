"""Photos are served only through this route, to those who may see their report."""
from __future__ import annotations

from flask import Blueprint, request, send_file
from flask_login import current_user, login_required

from volunteers import db, hazards, tasks, threads
from volunteers.errors import N_, NotFound
from volunteers.models import Photo
from volunteers.web.extensions import get_session
from volunteers.web.views import nearby_pass_ok, photo_store

bp = Blueprint("photos", __name__, url_prefix="/photos")


@bp.get("/<int:photo_id>")
@login_required
def show(photo_id: int):
    """The photo (long edge ≤ 1600 px), private to those who may see its report."""
    return _send(visible(photo_id).stored_name, thumb=False)


@bp.get("/<int:photo_id>/thumb")
@login_required
def thumb(photo_id: int):
    """The photo's thumbnail."""
    return _send(visible(photo_id, nearby=request.args.get("n")).stored_name, thumb=True)


def visible(photo_id: int, nearby: str | None = None) -> Photo:
    """A report's photo for those who may see the report; a task's done photo for its volunteer and managers; an
    open report's own thumbnail with a pass from the nearby list."""
    session = get_session()
    photo = db.get(session, Photo, photo_id)
    if photo is not None and photo.hazard_id is None and photo.assignment_id is not None:
        return tasks.visible_photo(session, current_user, photo)
    if photo is not None and photo.message_id is not None:
        return threads.visible_photo(session, current_user, photo)
    if photo is not None and nearby_pass_ok(photo.id, nearby) and threads.shown_nearby(session, current_user, photo):
        return photo
    return hazards.visible_photo(session, current_user, photo_id)


def _send(name: str, thumb: bool):
    path = photo_store().path(name, thumb)
    if not path.exists():  # lost from disk (restored backup, moved data dir): a miss, not a crash
        raise NotFound(N_("This photo does not exist."))
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    # Personal evidence: the browser may keep it, shared caches and proxies may not.
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
