"""API: my tasks, giving a task (officers), and the steps on an assignment."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_login import current_user, login_required

from volunteers import accounts, tasks
from volunteers.web.api import body, bp, iso
from volunteers.web.extensions import get_session
from volunteers.web.views import allowance, client_ip, photo_store, voice_store, voice_upload


def assignment_json(assignment, volunteer=None) -> dict[str, Any]:
    data = {"id": assignment.id, "task_id": assignment.task_id, "volunteer": assignment.volunteer_id,
            "state": assignment.state, "reason": assignment.reason, "reach": assignment.reach,
            "done_at": iso(assignment.done_at), "verified_at": iso(assignment.verified_at),
            "no_location": assignment.no_location, "distance_m": assignment.distance_m}
    if volunteer is not None:
        data["volunteer_name"] = volunteer.name
        data["volunteer_phone"] = accounts.mask_phone(volunteer.phone)
    return data


def task_json(task, rows) -> dict[str, Any]:
    return {"id": task.id, "kind": task.kind, "title": task.title, "grid": task.grid_id, "team_id": task.team_id,
            "starts_at": iso(task.starts_at), "ends_at": iso(task.ends_at), "capacity": task.capacity,
            "place": task.place, "checkpoint_id": task.checkpoint_id, "notes": task.notes, "hazard_id": task.hazard_id,
            "assignments": [assignment_json(a, u) for a, u in rows]}


@bp.get("/tasks")
@login_required
def list_tasks():
    """My tasks (a volunteer's own assignments; an officer's grids' tasks with everyone on them)."""
    db = get_session()
    if not current_user.is_staff:
        pairs = tasks.for_volunteer(db, current_user)
        return jsonify([task_json(t, [(a, None)]) for t, a in pairs])
    items = tasks.for_manager(db, current_user)
    rows = tasks.assignments_of(db, [t.id for t in items])
    return jsonify([task_json(t, rows[t.id]) for t in items])


@bp.post("/tasks")
@login_required
def create_task():
    """Give a task in one of my grids to volunteers or a team: 201, 200 on a retry."""
    task, created = tasks.create(get_session(), user=current_user, data=body(), ip=client_ip())
    rows = tasks.assignments_of(get_session(), [task.id])
    return jsonify(task_json(task, rows[task.id])), 201 if created else 200


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim_task(task_id: int):
    """Take an open place on a task of my grid or team."""
    assignment = tasks.claim(get_session(), user=current_user, task_id=task_id, ip=client_ip())
    return jsonify(assignment_json(assignment)), 200


@bp.post("/assignments/<int:assignment_id>/<action>")
@login_required
def assignment_action(assignment_id: int, action: str):
    """accept, decline (reason), done (optional GPS, publicity reach, photo), verify, no_show: 200; 409 illegal;
    403 not yours. Repeating the step just taken answers 200 again, so the phone's outbox may retry freely."""
    upload = request.files.get("photo")
    assignment = tasks.act(get_session(), user=current_user, assignment_id=assignment_id, action=action,
                           data=body(), ip=client_ip(), photo=upload.read() if upload and upload.filename else None,
                           store=photo_store(), allowance=allowance(), voice_note=voice_upload(),
                           voice_store=voice_store())
    return jsonify(assignment_json(assignment)), 200
