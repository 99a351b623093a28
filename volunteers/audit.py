"""The audit trail: one row for every state change."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session

from volunteers.models import AuditEvent


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
