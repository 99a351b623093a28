"""Idempotent writes: every create carries a client-generated id.

Same id and same content → the original object (200); same id, different content → 409;
first time → a new object (201).
"""
from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlmodel import Session, select

from volunteers.errors import Conflict, Invalid, N_

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


def earlier(session: Session, model: Any, cid: str | None, creator_id: int, content: dict[str, Any]) -> tuple[str, Any]:
    """→ (fingerprint of content, what an earlier submit under cid made, or None). The same id from someone else,
    or with other content, is 409: never their object, never a second one."""
    fp = fingerprint(content)
    if cid is None:
        return fp, None
    found = session.exec(select(model).where(model.client_id == cid)).first()
    if found is None:
        return fp, None
    if found.created_by_id != creator_id:
        raise Conflict("client_id_reused", REUSED)
    return fp, replay(found, fp)
