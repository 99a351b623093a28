"""In-app notifications: stored as a msgid with parameters and translated when shown."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers.models import Notification, User, utcnow


def notify(session: Session, *, user_id: int | None, message: str, link: str = "", **params: Any) -> None:
    """Queue a message for one person (not committed: it rides the caller's transaction)."""
    if user_id is not None:
        session.add(Notification(user_id=user_id, message=message, params=params, link=link))


def unread_count(session: Session, user: User) -> int:
    """How many messages the person has not opened yet."""
    return session.exec(select(sa.func.count()).select_from(Notification)
                        .where(Notification.user_id == user.id, Notification.read_at.is_(None))).one()


def latest(session: Session, user: User, limit: int = 50) -> list[Notification]:
    """The person's latest messages, newest first."""
    return list(session.exec(select(Notification).where(Notification.user_id == user.id)
                             .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_all_read(session: Session, user: User) -> None:
    """Mark every message of the person as read."""
    session.exec(sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
                 .values(read_at=utcnow()))
    session.commit()
