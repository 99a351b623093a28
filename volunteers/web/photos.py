"""Photos are served only through this route, to those who may see their report."""
from __future__ import annotations

from flask import Blueprint, current_app, request, send_file, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from flask_login import current_user, login_required

from volunteers import db, hazards, tasks, threads
from volunteers.errors import N_, NotFound
from volunteers.models import Photo
from volunteers.photos import Allowance, PhotoStore
from volunteers.web.extensions import get_session

bp = Blueprint("photos", __name__, url_prefix="/photos")


def store() -> PhotoStore:
    """The photo store in this app's data directory."""
    return PhotoStore(current_app.config["DATA_DIR"])


def allowance() -> Allowance:
    """How many photos (and MB) one person may send an hour, from the app's config."""
    cfg = current_app.config
    return Allowance(photos=cfg["PHOTO_UPLOADS_PER_HOUR"], mb=cfg["PHOTO_UPLOAD_MB_PER_HOUR"])


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


# The nearby list (don't report it twice) shows thumbnails of open reports the volunteer may not otherwise see: each
# thumbnail link carries a signed pass for this person and photo, good for an hour; the photo itself stays private.
NEARBY_PASS_SECONDS = 3600


def _passes() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="nearby-photo")


def nearby_thumb_url(photo_id: int) -> str:
    """The thumbnail's URL with a pass for the current person (the nearby list)."""
    return url_for("photos.thumb", photo_id=photo_id, n=_passes().dumps([photo_id, current_user.id]))


def _nearby_pass_ok(photo_id: int, token: str | None) -> bool:
    if not token:
        return False
    try:
        return _passes().loads(token, max_age=NEARBY_PASS_SECONDS) == [photo_id, current_user.id]
    except BadData:
        return False


def visible(photo_id: int, nearby: str | None = None) -> Photo:
    """A report's photo for those who may see the report; a task's done photo for its volunteer and managers; an
    open report's own thumbnail with a pass from the nearby list."""
    session = get_session()
    photo = db.get(session, Photo, photo_id)
    if photo is not None and photo.hazard_id is None and photo.assignment_id is not None:
        return tasks.visible_photo(session, current_user, photo)
    if photo is not None and photo.message_id is not None:
        return threads.visible_photo(session, current_user, photo)
    if photo is not None and _nearby_pass_ok(photo.id, nearby) and threads.shown_nearby(session, current_user, photo):
        return photo
    return hazards.visible_photo(session, current_user, photo_id)


def _send(name: str, thumb: bool):
    path = store().path(name, thumb)
    if not path.exists():  # lost from disk (restored backup, moved data dir): a miss, not a crash
        raise NotFound(N_("This photo does not exist."))
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    # Personal evidence: the browser may keep it, shared caches and proxies may not.
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
