"""API: patrols, check-ins and the caller's own account and checkpoints."""
from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask_login import current_user, login_required

from volunteers import accounts, grids, patrols
from volunteers.web.api import body, bp, iso
from volunteers.web.device import device_time
from volunteers.web.extensions import get_session
from volunteers.web.views import acting_user, client_ip


def patrol_json(patrol) -> dict[str, Any]:
    return {"id": patrol.id, "client_id": patrol.client_id, "started_at": iso(patrol.started_at), "ended_at": iso(patrol.ended_at),
            "route_id": patrol.route_id, "minutes": patrols.minutes(patrol), "discarded": patrol.discarded}


def checkin_json(checkin) -> dict[str, Any]:
    return {"id": checkin.id, "patrol_id": checkin.patrol_id, "checkpoint_id": checkin.checkpoint_id,
            "method": checkin.method, "distance_m": checkin.distance_m, "flags": checkin.flags,
            "recorded_at": iso(checkin.recorded_at), "received_at": iso(checkin.received_at)}


@bp.get("/me")
@login_required
def me():
    """Who I am: id, name, role, my grids and teams."""
    db = get_session()
    return jsonify(id=current_user.id, name=current_user.name, role=current_user.role,
                   grid_ids=accounts.grid_ids(db, current_user), team_ids=accounts.team_ids(db, current_user))


@bp.get("/checkpoints")
@login_required
def checkpoints():
    """The must-visit points of my grids."""
    rows = grids.checkpoints_in(get_session(), accounts.grid_ids(get_session(), current_user))
    return jsonify([{"id": cp.id, "name": cp.name, "lat": cp.lat, "lon": cp.lon, "radius_m": cp.radius_m,
                     "grid": g.code, "grid_id": g.id} for cp, g in rows])


@bp.get("/patrols")
@login_required
def list_patrols():
    """My latest patrols."""
    return jsonify([patrol_json(s.patrol) | {"checkpoints": s.checkpoint_names}
                    for s in patrols.history(get_session(), current_user)])


@bp.post("/patrols")
@login_required
def start_patrol():
    """Start a patrol: 201 the first time, 200 with the same patrol on a retry."""
    data = body()
    patrol, created = patrols.start(get_session(), user=acting_user(), client_id=data.get("client_id"),
                                    recorded_at=data.get("recorded_at"), ip=client_ip())
    return jsonify(patrol_json(patrol)), 201 if created else 200


@bp.get("/patrols/<int:patrol_id>")
@login_required
def show_patrol(patrol_id: int):
    """One patrol with its check-ins."""
    db = get_session()
    patrol = patrols.visible_patrol(db, current_user, patrol_id)
    return jsonify(patrol_json(patrol) | {"checkins": [checkin_json(c) for c in patrols.checkins_of(db, patrol.id)]})


@bp.post("/patrols/<int:patrol_id>/checkins")
@login_required
def create_checkin(patrol_id: int):
    """Check in by GPS or QR: 201, 200 on a retry, 422 too_far / low_accuracy with the distance."""
    checkin, created = patrols.check_in(get_session(), user=acting_user(), patrol_id=patrol_id, data=body(),
                                        qr_key=current_app.config["SECRET_KEY"], device_now=device_time(),
                                        ip=client_ip())
    return jsonify(checkin_json(checkin)), 201 if created else 200


@bp.post("/patrols/<int:patrol_id>/end")
@login_required
def end_patrol(patrol_id: int):
    """End my patrol (a repeat returns the first end)."""
    data = body()
    patrol = patrols.end(get_session(), user=acting_user(), patrol_id=patrol_id,
                         recorded_at=data.get("recorded_at"), ip=client_ip())
    return jsonify(patrol_json(patrol)), 200
