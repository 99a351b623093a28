"""Small helpers the tests share: counting rows as the database holds them now."""
from __future__ import annotations

from sqlmodel import Session, func, select


def count(session: Session, model, *where) -> int:
    """How many rows of `model` match `where`, read afresh: the app under test writes on its own connection, so the
    session's transaction is ended first (it holds nothing uncommitted in these tests)."""
    session.rollback()
    return session.exec(select(func.count()).select_from(model).where(*where)).one()
