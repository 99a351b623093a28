"""Who is who at the station: the four roles, the two sets every rule speaks of, and the guards that refuse the rest.

Staff are everyone who works for the station (grid officers, the coordinator, the admin); managers run it (accounts,
teams, grid boundaries, hours by hand and month certification, certificates, the audit log). A rule asks
`user.is_staff` / `user.is_manager` (properties of models.User) or calls a guard here; a tuple of role names written
anywhere else would be a second rule, and tests/test_roles.py fails on one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Collection

from volunteers.errors import Forbidden

if TYPE_CHECKING:
    from volunteers.models import User

ROLES = ("volunteer", "officer", "coordinator", "admin")
STAFF = frozenset({"officer", "coordinator", "admin"})
MANAGERS = frozenset({"coordinator", "admin"})
# What a manager may make someone on the people pages; the admin account is set up by hand.
ASSIGNABLE = ("volunteer", "officer", "coordinator")


def require(user: User, allowed: Collection[str], message: str | None = None) -> None:
    """Only these roles go on; anyone else is refused with 403 and `message` (else "You are not allowed to do that.")."""
    if user.role not in allowed:
        raise Forbidden(message) if message else Forbidden()


def require_staff(user: User, message: str | None = None) -> None:
    """Volunteers are refused (403): this is for officers, the coordinator and the admin."""
    require(user, STAFF, message)


def require_manager(user: User, message: str | None = None) -> None:
    """Only the coordinator and the admin go on (403 for officers and volunteers)."""
    require(user, MANAGERS, message)
