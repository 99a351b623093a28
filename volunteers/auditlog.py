"""Reading the audit trail: the coordinator's view of who did what to which object, when and from where."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from volunteers.localtime import SHANGHAI
from volunteers import db
from volunteers.errors import Forbidden, N_
from volunteers.models import AuditEvent, User

PAGE_SIZE = 50


@dataclass
class Filters:
    """What the log is narrowed to; `before` is the id the next page starts below (keyset paging)."""
    actor: int | None = None
    action: str = ""
    object_type: str = ""
    since: date | None = None
    until: date | None = None
    before: int | None = None

    @classmethod
    def parse(cls, args: dict[str, Any]) -> "Filters":
        """Malformed values are dropped, not refused: the list still opens."""

        def number(field: str) -> int | None:
            raw = args.get(field)
            return int(raw) if isinstance(raw, str) and raw.isdigit() and 0 < int(raw) <= db.MAX_ID else None

        def day(field: str) -> date | None:
            try:
                return date.fromisoformat(args.get(field) or "")
            except (TypeError, ValueError):
                return None

        text = {k: (args.get(k) or "")[:64] if isinstance(args.get(k), str) else "" for k in ("action", "object_type")}
        return cls(actor=number("actor"), action=text["action"], object_type=text["object_type"],
                   since=day("since"), until=day("until"), before=number("before"))

    def query_args(self, **overrides: Any) -> dict[str, Any]:
        """These filters as URL parameters (empty ones left out)."""
        values = {"actor": self.actor, "action": self.action, "object_type": self.object_type,
                  "since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None, "before": self.before}
        values.update(overrides)
        return {k: v for k, v in values.items() if v not in (None, "")}


def _check(user: User) -> None:
    if user.role not in ("coordinator", "admin"):
        raise Forbidden(N_("Only the coordinator reads the audit log."))


def _station_actors(user: User):
    return select(User.id).where(User.station_id == user.station_id)


def events(session: Session, user: User, filters: Filters) -> tuple[list[tuple[AuditEvent, User]], int | None]:
    """One page (50, newest first) of the station's events — those done by its people — and the id the next page
    starts below, or None on the last page."""
    _check(user)
    query = (select(AuditEvent, User).join(User, User.id == AuditEvent.actor_id)
             .where(User.station_id == user.station_id))
    if filters.actor is not None:
        query = query.where(AuditEvent.actor_id == filters.actor)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time(), SHANGHAI))
    if filters.until:
        query = query.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(), SHANGHAI))
    if filters.before is not None:
        query = query.where(AuditEvent.id < filters.before)
    rows = list(session.exec(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, rows[-1][0].id if more else None


def choices(session: Session, user: User) -> dict[str, list]:
    """The actors, actions and object types that occur in the station's log, for the filter menus."""
    _check(user)
    actors = session.exec(select(User).where(User.id.in_(select(AuditEvent.actor_id).distinct()),
                                             User.station_id == user.station_id).order_by(User.name)).all()
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.actor_id.in_(_station_actors(user)))
                           .distinct().order_by(AuditEvent.action)).all()
    types = session.exec(select(AuditEvent.object_type).where(AuditEvent.actor_id.in_(_station_actors(user)),
                                                              AuditEvent.object_type != "")
                         .distinct().order_by(AuditEvent.object_type)).all()
    return {"actors": list(actors), "actions": list(actions), "object_types": list(types)}
