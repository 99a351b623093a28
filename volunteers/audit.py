"""The audit trail: one row for every state change."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session

from volunteers.errors import N_
from volunteers.models import AuditEvent, utcnow

# What each action code means, for the coordinator's audit log (an unknown code is shown as it is).
ACTION_LABELS = {
    "login": N_("Logged in"), "logout": N_("Logged out"), "token.issue": N_("API token issued"),
    "token.revoke": N_("API token revoked"),
    "patrol.start": N_("Patrol started"), "patrol.end": N_("Patrol ended"),
    "patrol.discard": N_("Patrol discarded (under a minute, no check-in)"), "patrol.positions": N_("Patrol track sent"),
    "checkin.create": N_("Checked in at a point"),
    "hazard.report": N_("Report filed"), "hazard.accepted": N_("Report accepted"), "hazard.assigned": N_("Report assigned"),
    "hazard.rectifying": N_("Report being fixed"), "hazard.rectified": N_("Report fixed"),
    "hazard.closed": N_("Report closed"), "hazard.rejected": N_("Report rejected"),
    "hazard.duplicate": N_("Report marked duplicate"),
    "task.create": N_("Task given"), "task.cancel": N_("Task called off"), "assignment.accept": N_("Task accepted"), "assignment.decline": N_("Task declined"),
    "assignment.done": N_("Task done"), "assignment.verify": N_("Task verified"),
    "assignment.no_show": N_("Marked did not come"), "assignment.claim": N_("Open place taken"),
    "duty.create": N_("Duty created"), "duty.update": N_("Duty changed"), "duty.stop": N_("Duty stopped"),
    "duty.delete": N_("Duty deleted"), "duty.generate": N_("Shifts made"), "shift.missed_alert": N_("Missed points reported"),
    "service_record.derive_patrol": N_("Hours from a patrol"),
    "service_record.derive_assignment": N_("Hours from a task"), "service_record.manual": N_("Hours added by hand"),
    "service_record.correct": N_("Hours corrected"), "service_record.approve": N_("Hours approved"),
    "service_record.reject": N_("Hours rejected"),
    "service_record.recount": N_("Hours recounted after an overlapping record was rejected"), "month.certify": N_("Month certified"),
    "certificate.publish": N_("Certificate published"), "certificate.object": N_("Objection recorded"),
    "certificate.resolve": N_("Objection resolved"), "certificate.issue": N_("Certificate issued"),
    "certificate.withdraw": N_("Certificate withdrawn"), "commendation.record": N_("Honour recorded"),
    "roster.import": N_("Roster imported"), "user.import": N_("Person imported"),
    "person.signup": N_("Signed up"), "person.approve": N_("Account approved"), "person.suspend": N_("Account suspended"),
    "person.reactivate": N_("Account reactivated"), "user.clear_lockout": N_("Login lock lifted"), "person.reset_password": N_("Password reset"),
    "person.change_password": N_("Own password changed"),
    "person.role": N_("Role changed"),
    "team.create": N_("Team created"), "team.update": N_("Team renamed"), "team.leader": N_("Team leader set"),
    "team.add_member": N_("Member added"), "team.remove_member": N_("Member removed"),
    "grid.create": N_("Grid created"), "grid.update": N_("Grid changed"), "grid.officers": N_("Grid officers changed"),
    "checkpoint.create": N_("Checkpoint placed"), "checkpoint.update": N_("Checkpoint changed"),
    "checkpoint.rotate_qr": N_("QR secret renewed"), "checkpoint.retire": N_("Checkpoint retired"),
    "checkpoint.restore": N_("Checkpoint back in use"), "route.create": N_("Route created"),
    "route.rename": N_("Route renamed"), "route.delete": N_("Route deleted"),
    "route.add_stop": N_("Point added to route"), "route.move_stop": N_("Route order changed"),
    "route.remove_stop": N_("Point removed from route"),
}


def action_label(action: str) -> str:
    """The msgid that says what an action code means (the code itself when there is none)."""
    return ACTION_LABELS.get(action, action)


def record(session: Session, *, actor_id: int | None, action: str, obj: Any = None,
           ip: str | None = None, **detail: Any) -> AuditEvent:
    """Add an audit event for `action` on `obj` (not committed: it rides the caller's transaction)."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        ip=ip,
        detail=detail,
    )
    session.add(event)
    return event


_INSERT = AuditEvent.__table__.insert()


def insert(conn: Any, *, actor_id: int | None, action: str, object_type: str, object_id: int | None,
           ip: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """The same audit row as record(), written with one prebuilt Core INSERT on the caller's connection (and so in
    its transaction): the write hot path's way, where no ORM object is wanted (issue 13)."""
    conn.execute(_INSERT, {"at": utcnow(), "actor_id": actor_id, "action": action, "object_type": object_type,
                           "object_id": object_id, "ip": ip, "detail": detail or {}})
