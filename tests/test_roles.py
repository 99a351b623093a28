"""The role rule is one rule: who is staff (officers, the coordinator, the admin) and who is a manager (the coordinator
and the admin) is said once, in volunteers/roles.py, and asked everywhere else as user.is_staff / user.is_manager or
through its guards; a tuple of role names written anywhere else fails here."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from volunteers import roles
from volunteers.errors import DomainError, Forbidden
from volunteers.models import CHECKS, User

ROOT = Path(__file__).parent.parent

#                 is_staff, is_manager
EXPECTED = {"volunteer": (False, False), "officer": (True, False), "coordinator": (True, True), "admin": (True, True)}


def person(role: str) -> User:
    return User(station_id=1, phone="13800009999", name="某人", password_hash="x", role=role)


@pytest.mark.parametrize("role", roles.ROLES)
def test_who_is_staff_and_who_is_a_manager(role):
    user = person(role)
    assert (user.is_staff, user.is_manager) == EXPECTED[role]


def test_every_role_the_database_allows_is_placed():
    assert set(roles.ROLES) == set(EXPECTED) == set(CHECKS[("user", "role")])
    assert roles.MANAGERS < roles.STAFF < set(roles.ROLES)
    assert set(roles.ASSIGNABLE) == set(roles.ROLES) - {"admin"}


@pytest.mark.parametrize("role", roles.ROLES)
def test_the_guards_refuse_everyone_else_with_403(role):
    staff, manager = EXPECTED[role]
    for guard, allowed in ((roles.require_staff, staff), (roles.require_manager, manager)):
        if allowed:
            assert guard(person(role)) is None
            continue
        with pytest.raises(Forbidden) as refused:
            guard(person(role))
        assert refused.value.status == 403 and refused.value.message == "You are not allowed to do that."


def test_a_guard_refuses_with_its_own_message():
    with pytest.raises(DomainError) as refused:
        roles.require_manager(person("officer"), "Only the coordinator manages teams.")
    assert refused.value.status == 403 and refused.value.message == "Only the coordinator manages teams."


# --- No second copy of the rule ------------------------------------------------------------------------------

ROLE = r"""(['"])(?:volunteer|officer|coordinator|admin)\1"""
# A role checked against a written-out list, two role names side by side (a tuple or set of roles), or a function
# that decides a role set again.
COPIES = [re.compile(r"\brole\s+(?:not\s+)?in\s*[(\[{]"),
          re.compile(ROLE + r"\s*,\s*" + ROLE.replace(r"\1", r"\2")),
          re.compile(r"\bdef\s+(?:is_staff|is_manager|is_coordinator|staff_only|coordinator_only|manager_only)\b"),
          re.compile(r"\.role\s+(?:not\s+)?in\s+(?:\w+\.)?(?:STAFF|MANAGERS)\b")]
HOME = {"volunteers/roles.py"}  # where the rule lives
ALLOWED = {("volunteers/models.py", "def is_staff(self) -> bool:"),  # User.is_staff / is_manager ask the rule
           ("volunteers/models.py", "return self.role in STAFF"),
           ("volunteers/models.py", "def is_manager(self) -> bool:"),
           ("volunteers/models.py", "return self.role in MANAGERS")}


def sources(root: Path) -> list[Path]:
    """The code and templates, without the migrations (history, written once)."""
    found = list((root / "volunteers").rglob("*.py")) + list((root / "templates").rglob("*.html"))
    return sorted(p for p in found if "migrations" not in p.relative_to(root).parts)


def copies_of_the_rule(root: Path) -> list[str]:
    """Every line outside volunteers/roles.py that writes the role rule again."""
    found = []
    for path in sources(root):
        name = path.relative_to(root).as_posix()
        if name in HOME:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if (name, line.strip()) in ALLOWED:
                continue
            if any(p.search(line) for p in COPIES):
                found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_the_scan_sees_the_code_and_the_templates():
    names = {p.relative_to(ROOT).as_posix() for p in sources(ROOT)}
    assert {"volunteers/hazards.py", "volunteers/web/hours.py", "templates/base.html"} <= names


@pytest.mark.parametrize("line", [
    'if user.role in ("officer", "coordinator", "admin"):',
    "{% if current_user.role in ('coordinator', 'admin') %}",
    'if user.role not in ["coordinator", "admin"]:',
    'STAFF = ("coordinator", "admin")',
    "def is_staff() -> bool:",
    "    if user.role in roles.MANAGERS:",
])
def test_the_scan_catches_a_copy(tmp_path, line):
    (tmp_path / "volunteers").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "volunteers" / "x.py").write_text(line + "\n")
    assert copies_of_the_rule(tmp_path) == [f"volunteers/x.py:1: {line.strip()}"]


def test_the_role_rule_is_written_once():
    copies = copies_of_the_rule(ROOT)
    assert not copies, "use user.is_staff / user.is_manager or volunteers.roles:\n" + "\n".join(copies)
