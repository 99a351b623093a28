"""The audit trail: one row for every state change."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
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


_table = AuditEvent.__table__
_INSERT = _table.insert()


def insert(conn: Any, *, actor_id: int | None, action: str, object_type: str, object_id: int | None,
           ip: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """The same audit row as record(), written with one prebuilt Core INSERT on the caller's connection (and so in
    its transaction): the write hot path's way, where no ORM object is wanted (issue 13)."""
    conn.execute(_INSERT, {"at": utcnow(), "actor_id": actor_id, "action": action, "object_type": object_type,
                           "object_id": object_id, "ip": ip, "detail": detail or {}})


# --- A row and its audit event in one statement (PostgreSQL) ------------------------------------------------------
# On PostgreSQL each statement costs the app ~0.3 ms of client CPU (SQLAlchemy + psycopg) and a round trip, so the hot
# writes send the new row and its audit event as ONE statement: a data-modifying CTE inserts the row and hands its id
# to the audit INSERT, in the same transaction; a unique client_id colliding fails the whole statement, so a retry
# leaves neither row (issue 13). SQLite has no INSERT inside WITH: there the two INSERTs stay two statements.
AUDIT_PARAMS = ("audit_at", "audit_actor_id", "audit_ip", "audit_detail")
_AUDITED: dict[tuple, sa.Insert] = {}


def audited_insert(table: sa.Table, columns: tuple[str, ...], *, action: str, object_type: str,
                   extra_ctes: tuple = ()) -> sa.Insert:
    """`WITH new_row AS (INSERT INTO table (columns) VALUES (:columns…) RETURNING id) INSERT INTO audit_event …
    SELECT … FROM new_row RETURNING object_id`: bind the row's values by column name and the audit's as
    audit_at, audit_actor_id, audit_ip, audit_detail; the result's one scalar is the new row's id. Built once per
    (table, columns, action) and kept. `extra_ctes(new_row)` may add more data-modifying CTEs that read new_row (a
    report's first event and notifications): callables → CTE, each referenced so that it runs."""
    key = (table.name, columns, action, object_type, extra_ctes)
    stmt = _AUDITED.get(key)
    if stmt is None:
        new_row = sa.insert(table).values({name: sa.bindparam(name, type_=table.c[name].type) for name in columns}) \
            .returning(table.c.id).cte("new_row")
        select = sa.select(sa.bindparam("audit_at", type_=_table.c.at.type),
                           sa.bindparam("audit_actor_id", type_=_table.c.actor_id.type),
                           _constant(action), _constant(object_type),
                           new_row.c.id, sa.bindparam("audit_ip", type_=_table.c.ip.type),
                           sa.bindparam("audit_detail", type_=_table.c.detail.type)).select_from(new_row)
        stmt = _table.insert().from_select(
            ["at", "actor_id", "action", "object_type", "object_id", "ip", "detail"], select) \
            .returning(_table.c.object_id)
        if extra_ctes:
            stmt = stmt.add_cte(*(make(new_row) for make in extra_ctes))
        _AUDITED[key] = stmt
    return stmt


def _constant(code: str) -> sa.ColumnElement:
    """An action code or object type written into the statement itself (codes only: letters, digits, '.', '_')."""
    if not code.replace(".", "").replace("_", "").isalnum():
        raise ValueError(code)
    return sa.literal_column(f"'{code}'")


def audit_params(*, actor_id: int | None, ip: str | None = None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit row's bound values for audited_insert()."""
    return {"audit_at": utcnow(), "audit_actor_id": actor_id, "audit_ip": ip, "audit_detail": detail or {}}
