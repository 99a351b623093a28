"""What the blueprints' views share: a page whole or as the piece htmx asked for, and the answer to a form post."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Collection
from urllib.parse import urlsplit

import shapely.geometry

from flask import current_app, flash, redirect, render_template
from flask_babel import gettext
from flask_login import current_user

from volunteers import roles
from volunteers.errors import DomainError
from volunteers.web.errors import translate
from volunteers.web.extensions import get_session, htmx


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


def submit(work: Callable[[Any], Any], *, done: str | Callable[[Any], str], redirect_to: str | Callable[[Any], str],
           answer: Callable[..., Any], piece: bool = False, reraise: tuple[int, ...] = (403, 404)):
    """A form post whose one domain call is `work(db)`. A DomainError rolls back and shows `answer(status, error=…)`
    (the form or piece again with the reason), unless its status is in `reraise` (the error page then). Success is
    the message `done`: flashed on the page `redirect_to`. With `piece`, htmx gets `answer(200, message=…)` in place
    instead, and a plain form's refusal is the error page (there is no piece to show it in)."""
    db = get_session()
    try:
        result = work(db)
    except DomainError as err:
        db.rollback()
        if err.status in reraise or (piece and not fragment_wanted()):
            raise
        return answer(err.status, error=translate(err.message, err.params))
    message = done(result) if callable(done) else done
    if piece and fragment_wanted():
        return answer(200, message=message)
    flash(message, "success")
    return redirect(redirect_to(result) if callable(redirect_to) else redirect_to)


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
    for g in grids:
        inside = shapely.geometry.shape(g.boundary).representative_point()
        shapes.append({"code": g.code, "name": g.name, "boundary": g.boundary, "label_at": [inside.y, inside.x]})
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
