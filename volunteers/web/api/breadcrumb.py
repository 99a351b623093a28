"""API: a running patrol's breadcrumb, sent by the phone in batches through the outbox."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user, login_required

from volunteers import breadcrumb
from volunteers.web.api import body, bp
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip


@bp.post("/patrols/<int:patrol_id>/positions")
@login_required
def create_positions(patrol_id: int):
    """Store up to 100 positions of my patrol: 201 {count}; the same batch again 200; a changed one 409."""
    count, created = breadcrumb.record(get_session(), user=current_user, patrol_id=patrol_id, data=body(),
                                       ip=client_ip())
    return jsonify(count=count, patrol_id=patrol_id), 201 if created else 200
