"""What the blueprints' views share (no blueprint imports another's module): who is calling, a message in the
reader's words, a page whole or as the piece htmx asked for, the answer to a form post, where uploads go, and what
every map is given."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Collection
from urllib.parse import urlsplit

import shapely.geometry

from flask import current_app, flash, g, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext, pgettext
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer

from volunteers import accounts, fields
from volunteers.errors import DomainError, InContext, Invalid, N_
from volunteers.models import User
from volunteers.photos import Allowance, PhotoStore
from volunteers.voice import VoiceStore
from volunteers import roles
from volunteers.web.extensions import get_session, htmx


def client_ip() -> str:
    """The caller's address (a proxy in front must set it via ProxyFix)."""
    return request.remote_addr or "unknown"


def acting_user() -> User:
    """The logged-in user itself, not flask-login's proxy of it: domain code reads the user's attributes many times a
    request, and each read through the proxy is a context look-up (~8 % of a check-in's CPU, bench/hotpath_profile.py).
    For the phone's hot writes; elsewhere current_user reads better and costs nothing that shows."""
    return current_user._get_current_object()


def token_user() -> User | None:
    """The active user this request's `Authorization: Bearer TOKEN` belongs to, if any — looked up once per request
    (the log-in and the API's CSRF rule both ask)."""
    if "token_user" not in g:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        g.token_user = accounts.user_for_token(get_session(), token) if token else None
    return g.token_user


def iso(value) -> str | None:
    """An aware time as ISO 8601 UTC with a Z (the API's and Open311's times)."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def wants_json() -> bool:
    """API callers get JSON (errors too); people get pages."""
    return request.path.startswith("/api/")


def translate(message: str, params: dict[str, Any] | None = None) -> str:
    """A message in the reader's language — pgettext for one marked with a context (NP_) — with its text parameters
    (state or category labels) translated too; on pages a raw field name is shown by its label (fields.FIELD_LABELS)."""
    # People read a label; API callers (scripts, the phone's outbox) keep the raw field name they sent.
    people = not (has_request_context() and wants_json())
    named = {k: fields.label(v) if people and k == "field" and isinstance(v, str) else v
             for k, v in (params or {}).items()}
    words = {k: translate(v) if isinstance(v, str) and v and (people or k != "field") else v for k, v in named.items()}
    if isinstance(message, InContext):
        return pgettext(message.context, message, **words)
    return gettext(message, **words)


def fragment_wanted() -> bool:
    """htmx asked for a piece of the page (not a boosted link or a history restore, which need the whole page)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def page(full: str, fragment: str | None = None, status: int = 200, **context: Any) -> tuple[str, int]:
    """The whole page, or when htmx asks only its partial `fragment` (without one: the page's `content` block, no
    <html> around it)."""
    if not fragment_wanted():
        return render_template(full, **context), status
    if fragment:
        return render_template(fragment, **context), status
    app = current_app._get_current_object()
    app.update_template_context(context)
    template = app.jinja_env.get_or_select_template(full)
    return "".join(template.blocks["content"](template.new_context(context))), status


def render_page(template_name: str, **context: Any) -> str:
    """page() without a partial, the body only (the name auth.py still uses)."""
    return page(template_name, **context)[0]


def submit(work: Callable[[Any], Any], *, answer: Callable[..., Any], done: str | Callable[[Any], str] | None = None,
           redirect_to: str | Callable[[Any], str] | None = None, piece: bool = False, in_page: bool = False,
           reraise: tuple[int, ...] = (403, 404), reason: Callable[[DomainError], str] | None = None,
           hx_redirect: bool = False, show: Callable[[Any], Any] | None = None):
    """A form post whose one domain call is `work(db)`.

    A DomainError rolls back and shows `answer(status, error=…)` (the form or piece again with the reason, in
    `reason(err)`'s words when given), unless its status is in `reraise` (the error page then). Success is the
    message `done`: flashed on the page `redirect_to` (an htmx post is sent there whole with `hx_redirect`, not
    swapped into its target); no `done`, no message. `show(result)` instead answers success on the spot (no flash,
    no redirect). With `piece`, htmx gets `answer(200, message=…)` in place instead, and a plain form's refusal is
    the error page (there is no piece to show it in) — unless `in_page`: answer() then renders the whole page too."""
    db = get_session()
    try:
        result = work(db)
    except DomainError as err:
        db.rollback()
        if err.status in reraise or (piece and not in_page and not fragment_wanted()):
            raise
        return answer(err.status, error=reason(err) if reason else translate(err.message, err.params))
    if show is not None:
        return show(result)
    message = done(result) if callable(done) else done
    if piece and fragment_wanted():
        return answer(200, message=message)
    if message:
        flash(message, "success")
    target = redirect_to(result) if callable(redirect_to) else redirect_to
    if hx_redirect and htmx:
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


# --- Uploads: where photos and voice notes are kept, how many a person may send, and passes to nearby photos ----

def photo_store() -> PhotoStore:
    """The photo store in this app's data directory."""
    return PhotoStore(current_app.config["DATA_DIR"])


def allowance() -> Allowance:
    """How many photos (and MB) one person may send an hour, from the app's config."""
    cfg = current_app.config
    return Allowance(photos=cfg["PHOTO_UPLOADS_PER_HOUR"], mb=cfg["PHOTO_UPLOAD_MB_PER_HOUR"])


def voice_store() -> VoiceStore:
    """The voice note store in this app's data directory."""
    return VoiceStore(current_app.config["DATA_DIR"])


def voice_upload() -> bytes | None:
    """The one voice note of a multipart post (field `voice`), or None; an empty file input counts as none."""
    files = [f for f in request.files.getlist("voice") if f and f.filename]
    if len(files) > 1:
        raise Invalid("too_many_voice_notes", N_("Only one voice note can go with it."))
    return files[0].read() if files else None


# The nearby list (don't report it twice) shows thumbnails of open reports the volunteer may not otherwise see: each
# thumbnail link carries a signed pass for this person and photo, good for an hour; the photo itself stays private.
NEARBY_PASS_SECONDS = 3600


def _passes() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="nearby-photo")


def nearby_thumb_url(photo_id: int) -> str:
    """The thumbnail's URL with a pass for the current person (the nearby list)."""
    return url_for("photos.thumb", photo_id=photo_id, n=_passes().dumps([photo_id, current_user.id]))


def nearby_pass_ok(photo_id: int, token: str | None) -> bool:
    """The pass of nearby_thumb_url is this person's, for this photo, and not older than an hour."""
    if not token:
        return False
    try:
        return _passes().loads(token, max_age=NEARBY_PASS_SECONDS) == [photo_id, current_user.id]
    except BadData:
        return False


# --- Who may open a view: the role rule of volunteers/roles.py as decorators (below @login_required) ---------------

def role_required(allowed: Collection[str], message: str | None = None) -> Callable:
    """Only these roles may open the view: a stranger is sent to log in (as by login_required), anyone else gets the
    403 error page, JSON on the API (roles.require, with `message` if given)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            roles.require(current_user, allowed, message)
            return view(*args, **kwargs)
        return guarded
    return decorate


staff_required = role_required(roles.STAFF)  # officers, the coordinator, the admin
manager_required = role_required(roles.MANAGERS)  # the coordinator and the admin


# --- Maps: what every Leaflet map on the site is given (static/js/map.js draws it) -------------------------------

def tile_url() -> str:
    """Map tiles from config (VOLUNTEERS_MAP_TILES); empty means no tile layer (labelled outlines and points only)."""
    return current_app.config.get("MAP_TILE_URL", "")


def tile_credit() -> str:
    """The credit shown under a tiled map: the configured one, else the tile server's host; nothing without tiles."""
    url = tile_url()
    if not url:
        return ""
    return current_app.config.get("MAP_TILE_CREDIT") or urlsplit(url.replace("{s}", "a")).hostname or ""


def grid_shapes(grids) -> list[dict[str, Any]]:
    """Grid outlines with their label ("G1 东街") and a point inside each to put it on."""
    shapes = []
    for grid in grids:
        inside = shapely.geometry.shape(grid.boundary).representative_point()
        shapes.append({"code": grid.code, "name": grid.name, "boundary": grid.boundary,
                       "label_at": [inside.y, inside.x]})
    return shapes


def checkpoint_marks(checkpoints) -> list[dict[str, Any]]:
    """Checkpoints as named points (the name is drawn beside each marker)."""
    return [{"id": c.id, "name": c.name, "lat": c.lat, "lon": c.lon, "radius": c.radius_m} for c in checkpoints]


def map_data(grids=(), checkpoints=(), **layers: Any) -> dict[str, Any]:
    """One map's JSON: tiles and their credit (if any), labelled grids and checkpoints, the words the map says,
    and any layers of its own (points, people, hazards …)."""
    return {"tiles": tile_url(), "credit": tile_credit(), "grids": grid_shapes(grids),
            "checkpoints": checkpoint_marks(checkpoints),
            "words": {"here": gettext("You are here"), "locate": gettext("Show where I am"),
                      "denied": gettext("Location is off: allow it in the phone's settings."),
                      "m": gettext("{n} m"), "km": gettext("{n} km")},
            **layers}
