"""Patrol pages: start, the checkpoint list with distances, check in by GPS or QR, end, my patrols."""
from __future__ import annotations


from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers import fields, geo, patrols
from volunteers.errors import Invalid
from volunteers.web.device import device_time
from volunteers.web.extensions import get_session, htmx
from volunteers.web.views import client_ip, page, submit

bp = Blueprint("patrols", __name__, url_prefix="/patrols")


def here() -> tuple[float, float] | None:
    """Where the phone says it stands (?lat=&lon=, or a GPS check-in's own fields), to show distances;
    ignored when malformed."""
    try:
        return fields.point(request.values, required=False)
    except Invalid:
        return None


def checkpoint_rows(patrol, origin):
    """Each must-visit point of the patrol with its distance from `origin` and its check-in, if any."""
    db = get_session()
    done = {c.checkpoint_id: c for c in patrols.checkins_of(db, patrol.id)}
    rows = []
    for cp in patrols.patrol_checkpoints(db, current_user, patrol):
        distance = geo.distance_m(origin, (cp.lat, cp.lon)) if origin else None
        rows.append({"cp": cp, "distance": distance, "checkin": done.get(cp.id)})
    return rows


def render_patrol(patrol, *, message=None, error=None, status=200):
    """The patrol page, or only its checkpoint list when htmx asks."""
    origin = here()
    context = dict(patrol=patrol, rows=checkpoint_rows(patrol, origin), origin=origin, message=message,
                   error=error, minutes=patrols.minutes(patrol))
    return page("patrols/show.html", "patrols/_checkpoints.html", status, **context)


@bp.get("/")
@login_required
def index():
    """My patrols: when, how long, which checkpoints."""
    items = patrols.history(get_session(), current_user)
    # ?ended=<id>: the phone has just ended this patrol (offline-patrol.js comes here): say thank you for it.
    ended = patrols.just_ended(get_session(), current_user, request.args.get("ended", type=int))
    thanks = next((s for s in items if ended and s.patrol.id == ended.id), None)
    return page("patrols/index.html", "patrols/_list.html", items=items, thanks=thanks,
                discarded=ended is not None and ended.discarded)


@bp.post("/")
@login_required
def create():
    """Start a patrol (the form carries its own client_id, so a double tap starts only one)."""
    patrol, _created = patrols.start(get_session(), user=current_user, client_id=request.form.get("client_id"),
                                     ip=client_ip())
    return redirect(url_for("patrols.show", patrol_id=patrol.id))


@bp.get("/<int:patrol_id>")
@login_required
def show(patrol_id: int):
    """A patrol with its must-visit points, distances (when the phone's position is known) and check-ins."""
    return render_patrol(patrols.visible_patrol(get_session(), current_user, patrol_id))


@bp.get("/<int:patrol_id>/checkpoints")
@login_required
def checkpoints(patrol_id: int):
    """The checkpoint list alone (htmx), or the whole patrol page when opened directly."""
    return render_patrol(patrols.visible_patrol(get_session(), current_user, patrol_id))


@bp.post("/<int:patrol_id>/checkins")
@login_required
def checkin(patrol_id: int):
    """Check in at a checkpoint by GPS (one tap) or by the QR code typed or scanned from its poster."""
    patrol = patrols.visible_patrol(get_session(), current_user, patrol_id)

    def checked_in(result):
        """htmx gets the list with the thanks in place (201 for a new check-in, 200 for a retry of one)."""
        done = _("Checked in. Thank you!")
        if not htmx:
            flash(done, "success")
            return redirect(url_for("patrols.show", patrol_id=patrol_id))
        return render_patrol(patrol, message=done, status=201 if result[1] else 200)

    return submit(lambda db: patrols.check_in(db, user=current_user, patrol_id=patrol_id, data=request.form.to_dict(),
                                              qr_key=current_app.config["SECRET_KEY"], device_now=device_time(),
                                              ip=client_ip()),
                  show=checked_in, reraise=(),
                  answer=lambda status, error: render_patrol(patrol, error=error, status=status))


@bp.post("/<int:patrol_id>/end")
@login_required
def end(patrol_id: int):
    """End the patrol and show it in my patrols, with the thank-you for it at the top."""
    patrol = patrols.end(get_session(), user=current_user, patrol_id=patrol_id, ip=client_ip())
    return redirect(url_for("patrols.index", ended=patrol.id))
