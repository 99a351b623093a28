"""Idempotent writes: every create carries a client-generated id, and goes through this module.

Same id and same content → the original object (200); same id, different content, or someone else's → 409
`client_id_reused`; first time → a new object (201). Two copies of one submit at the same instant both find nothing
and race on the unique client_id: the loser rolls back its insert and answers exactly as a retry would — the
winner's object (200), or 409 if the winner's content differs. Any other IntegrityError is a bug and propagates.

- ORM creates: `create()` (look up, build, insert in a savepoint), or `earlier()` + `insert()` when the look-up must
  come before checks that a retry may no longer pass.
- Core hot paths that insert straight away and look up only on a collision: `collided()` in their except branch.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Callable

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import db
from volunteers.errors import Conflict, DomainError, Invalid, N_

REUSED = N_("This client_id was already used for a different request.")


def parse(value: Any) -> str:
    """A client id must be a UUID; return it in canonical form."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field="client_id")
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise Invalid("bad_client_id", N_("client_id must be a UUID."), status=400) from None


def fingerprint(content: dict[str, Any]) -> str:
    """A stable hash of the request's content, to tell a retry from a different request."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(existing: Any, fp: str) -> Any:
    """Return the stored object for a retry, or refuse a different payload under the same id."""
    if existing.fingerprint != fp:
        raise Conflict("client_id_reused", REUSED)
    return existing


def optional(data: dict[str, Any]) -> str | None:
    """The client id of a form that sent one (the app's forms always do; code calling the domain may not)."""
    value = data.get("client_id")
    return None if value is None or value == "" else parse(value)


# Who made a row of each model, for the "someone else's id" check; the default is created_by_id. Rows whose
# fingerprint already names their owner (a check-in's or breadcrumb's names the patrol) are called with creator None.
OWNER = {"Hazard": "reporter_id", "Patrol": "user_id", "HazardMessage": "author_id"}


def saved(session: Session, model: Any, cid: str, creator_id: int | None, fp: str) -> Any:
    """What an earlier submit saved under cid, replayed for content with fingerprint fp, or None (409 as earlier())."""
    found = session.exec(select(model).where(model.client_id == cid)).first()
    if found is None:
        return None
    if creator_id is not None and getattr(found, OWNER.get(model.__name__, "created_by_id")) != creator_id:
        raise Conflict("client_id_reused", REUSED)
    return replay(found, fp)


def earlier(session: Session, model: Any, cid: str | None, creator_id: int | None,
            content: dict[str, Any]) -> tuple[str, Any]:
    """→ (fingerprint of content, what an earlier submit under cid made, or None). The same id from someone else,
    or with other content, is 409: never their object, never a second one."""
    fp = fingerprint(content)
    return fp, None if cid is None else saved(session, model, cid, creator_id, fp)


def collided(session: Session, model: Any, cid: str, creator_id: int | None, fp: str, err: sa.exc.IntegrityError,
             otherwise: DomainError | None = None) -> Any:
    """An INSERT under cid failed with err and the caller rolled it back: → the object that won the race, replayed
    as a retry (or 409 `client_id_reused` if it is someone else's or holds other content). A unique constraint other
    than the client_id raises `otherwise` when the caller names the race it expects there; every other
    IntegrityError (NOT NULL, foreign key, CHECK, an unexpected unique one) is re-raised."""
    if db.is_unique_violation(err):
        found = saved(session, model, cid, creator_id, fp)
        if found is not None:
            return found
        if otherwise is not None:
            raise otherwise from None
    raise err


def insert(session: Session, rows: Any, *, model: Any, cid: str | None, creator_id: int | None, fp: str) -> Any:
    """Add and flush the new row(s) inside a savepoint: → None when they are written (the caller goes on and
    commits), or the race's winner when a copy of this submit saved the same client_id first (its savepoint is
    rolled back, the rest of the transaction kept). 409 and other IntegrityErrors as in collided()."""
    try:
        with db.savepoint(session):
            session.add_all(rows if isinstance(rows, list) else [rows])
            session.flush()
    except sa.exc.IntegrityError as err:
        if cid is None:
            raise
        return collided(session, model, cid, creator_id, fp, err)
    return None


def create(session: Session, model: Any, cid: str | None, creator_id: int | None, content: dict[str, Any],
           make: Callable[[], Any]) -> tuple[Any, bool]:
    """The whole idempotent create: → (the earlier object, False) for a retry, else (make()'s new object with cid
    and the content's fingerprint, True) — or, when a copy of this submit won the race, (its object, False).
    make() checks the rules and builds the object; it runs only for a first submit, so a retry is answered even
    when a rule would no longer let it through."""
    fp, found = earlier(session, model, cid, creator_id, content)
    if found is not None:
        return found, False
    obj = make()
    obj.client_id, obj.fingerprint = cid, fp
    winner = insert(session, obj, model=model, cid=cid, creator_id=creator_id, fp=fp)
    return (winner, False) if winner is not None else (obj, True)
