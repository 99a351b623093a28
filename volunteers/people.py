"""People: signing up, who may see and manage whom, and the account steps (approve, suspend, reactivate,
reset a password, change a role).

Status: pending → active (approve) | suspended (suspend: also how a sign-up is refused);
active → suspended (suspend); suspended → active (reactivate).
The station's coordinator manages everyone at the station; a grid officer manages the volunteers whose home
grid is one of theirs. Only the coordinator changes roles, and nobody changes their own role or suspends themself.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import accounts, audit, db, roles
from volunteers.errors import Conflict, Forbidden, Invalid, N_, NotFound
from volunteers.models import (AuditEvent, Grid, GridOfficer, Station, Team, TeamMember, User, utcnow)

STATUS_LABELS = {"pending": N_("Waiting for approval"), "active": N_("Active"), "suspended": N_("Suspended")}
ROLE_LABELS = {"volunteer": N_("Volunteer"), "officer": N_("Grid officer"), "coordinator": N_("Coordinator"),
               "admin": N_("Administrator")}
# action → (statuses it may start from, status it leads to)
STEPS = {
    "approve": (("pending",), "active"),
    "suspend": (("pending", "active"), "suspended"),
    "reactivate": (("suspended",), "active"),
}
ACTION_LABELS = {"approve": N_("Approve"), "suspend": N_("Suspend"), "reactivate": N_("Reactivate")}
MOBILE = re.compile(r"1[3-9]\d{9}")
MIN_PASSWORD = 8
MAX_PASSWORD = 128
COMMON_PASSWORDS = {"12345678", "123456789", "1234567890", "87654321", "password", "password1", "qwertyui",
                    "qwerty123", "abcd1234", "abc12345", "a1234567", "woaini1314", "iloveyou", "11223344",
                    "12341234", "147258369", "123123123", "1qaz2wsx", "zxcvbnm1", "asdfghjk"}
PAGE_SIZE = 50


# --- Checking what people type ----------------------------------------------------------------------

def valid_mobile(raw: Any) -> str:
    """A mainland mobile number (1[3-9] and nine more digits) after normalising; full-width digits count."""
    phone = accounts.normalise_phone(raw if isinstance(raw, str) else "")
    if not phone:
        raise Invalid("missing_phone", N_("Please enter your mobile phone number."))
    if not MOBILE.fullmatch(phone):
        raise Invalid("bad_phone", N_("“%(phone)s” is not a mainland mobile number: it has 11 digits and starts with 13–19."),
                      phone=str(raw)[:30])
    return phone


def check_password(password: Any, *, phone: str = "", confirm: Any = None) -> str:
    """At least 8 characters, not a well-known or one-character password, not the phone number; typed twice alike."""
    if not isinstance(password, str) or not password:
        raise Invalid("missing_password", N_("Please choose a password."))
    if len(password) < MIN_PASSWORD:
        raise Invalid("short_password", N_("The password must have at least %(min)d characters."), min=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise Invalid("long_password", N_("The password may have at most %(max)d characters."), max=MAX_PASSWORD)
    simple = password.lower()
    if (simple in COMMON_PASSWORDS or len(set(simple)) <= 2 or (phone and phone in password)
            or simple in "01234567890" or simple in "9876543210" or simple in "abcdefghijklmnopqrstuvwxyz"):
        raise Invalid("weak_password", N_("This password is too easy to guess. Mix letters and digits, and do not use your phone number."))
    if confirm is not None and confirm != password:
        raise Invalid("password_mismatch", N_("The two passwords are not the same."))
    return password


def check_name(raw: Any) -> str:
    """A name of 1–50 characters, spaces trimmed."""
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name:
        raise Invalid("missing_name", N_("Please enter your name."))
    if len(name) > 50:
        raise Invalid("too_long", N_("“%(field)s” may be at most %(limit)d characters."), field=N_("Name"), limit=50)
    return name


def _id(raw: Any) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


# --- Signing up -------------------------------------------------------------------------------------

def signup_grids(session: Session) -> list[tuple[Station, list[Grid]]]:
    """Every station's grids, by station then name, for the home-grid choice of the sign-up form."""
    stations = session.exec(select(Station).order_by(Station.name)).all()
    grids = session.exec(select(Grid).order_by(Grid.name, Grid.id)).all()
    return [(s, [g for g in grids if g.station_id == s.id]) for s in stations]


def signup_teams(session: Session) -> list[Team]:
    """The teams a newcomer may ask to join (any of the stations; the chosen grid decides which count)."""
    return list(session.exec(select(Team).order_by(Team.station_id, Team.name, Team.id)))


def signups_from(session: Session, *, ip: str, since) -> int:
    """Sign-ups sent from this address since `since` (the audit trail keeps the address)."""
    return session.exec(select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "person.signup", AuditEvent.ip == ip, AuditEvent.at >= since)).one()


def signup(session: Session, *, data: dict[str, Any], ip: str, max_per_ip: int = 10,
           window_minutes: int = 60) -> User:
    """A newcomer's account, pending until their grid's officer or the coordinator approves it; nothing is saved
    when any field is wrong, and one address may send only a few sign-ups an hour."""
    since = utcnow() - timedelta(minutes=window_minutes)
    if signups_from(session, ip=ip, since=since) >= max_per_ip:
        raise Invalid("throttled", N_("Too many sign-ups from this place. Please wait %(minutes)d minutes and try again."),
                      status=429, minutes=window_minutes)
    phone = valid_mobile(data.get("phone"))
    name = check_name(data.get("name"))
    password = check_password(data.get("password"), phone=phone, confirm=data.get("password2") or "")
    grid = db.get(session, Grid, _id(data.get("grid")))
    if grid is None:
        raise Invalid("missing_grid", N_("Please choose the grid you live in."))
    team_ids = data.get("team_ids") or []
    if not isinstance(team_ids, list):
        team_ids = [team_ids]
    teams = []
    for raw in team_ids:
        team = db.get(session, Team, _id(raw))
        if team is None or team.station_id != grid.station_id:
            raise Invalid("unknown_team", N_("There is no such team at this station."))
        if team not in teams:
            teams.append(team)
    if session.exec(select(User.id).where(User.phone == phone)).first() is not None:
        raise Invalid("phone_taken", N_("This phone number already has an account. Log in, or ask your grid officer to reset the password."))
    user = User(station_id=grid.station_id, phone=phone, name=name, password_hash=accounts.hash_password(password),
                role="volunteer", status="pending", home_grid_id=grid.id)
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError as err:  # the same phone signed up twice at once
        session.rollback()
        if not db.is_unique_violation(err):
            raise
        raise Invalid("phone_taken", N_("This phone number already has an account. Log in, or ask your grid officer to reset the password.")) from None
    for team in teams:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
    audit.record(session, actor_id=user.id, action="person.signup", obj=user, ip=ip, grid_id=grid.id,
                 team_ids=[t.id for t in teams])
    session.commit()
    return user


def approvers(session: Session, user: User) -> tuple[list[User], list[User]]:
    """Who may approve this person: the officers of their home grid, and the station's coordinators."""
    officers = list(session.exec(select(User).join(GridOfficer, GridOfficer.user_id == User.id)
                                 .where(GridOfficer.grid_id == user.home_grid_id, User.role == "officer",
                                        User.status == "active").order_by(User.name)))
    coordinators = list(session.exec(select(User).where(User.station_id == user.station_id, User.role == "coordinator",
                                                       User.status == "active").order_by(User.name)))
    return officers, coordinators


# --- Who sees and manages whom -----------------------------------------------------------------------

def officer_grids(session: Session, user: User) -> list[int]:
    """The grids an officer holds."""
    return list(session.exec(select(GridOfficer.grid_id).where(GridOfficer.user_id == user.id)))


def may_see(session: Session, viewer: User, person: User) -> bool:
    """Yourself; everyone at your station for a coordinator; people living in your grids for an officer."""
    if viewer.id == person.id:
        return True
    if viewer.is_manager:
        return viewer.station_id == person.station_id
    if viewer.role == "officer":
        return person.home_grid_id is not None and person.home_grid_id in officer_grids(session, viewer)
    return False


def may_manage(session: Session, viewer: User, person: User) -> bool:
    """Coordinators manage everyone at their station but admins; officers the volunteers living in their grids."""
    if viewer.is_manager:
        return viewer.station_id == person.station_id and (person.role != "admin" or viewer.role == "admin")
    if viewer.role == "officer":
        return person.role == "volunteer" and may_see(session, viewer, person)
    return False


def visible(session: Session, viewer: User, person_id: int) -> User:
    """A person the viewer may see; anyone else does not exist for them (404)."""
    person = db.get(session, User, person_id)
    if person is None or not may_see(session, viewer, person):
        raise NotFound(N_("This person does not exist."))
    return person


def _managed(session: Session, viewer: User, person_id: int) -> User:
    """A person the viewer may act on: 404 when out of sight, 403 when only in sight."""
    person = visible(session, viewer, person_id)
    if not may_manage(session, viewer, person):
        raise Forbidden(N_("You may not manage this person's account."))
    return person


# --- Steps on an account ------------------------------------------------------------------------------

def step(session: Session, *, user: User, person_id: int, action: str, ip: str | None = None) -> User:
    """Approve, suspend or reactivate an account; nobody suspends themself, and a step must fit the status (409)."""
    if action not in STEPS:
        raise NotFound(N_("Not found."))
    person = _managed(session, user, person_id)
    sources, target = STEPS[action]
    if person.id == user.id:
        raise Conflict("own_account", N_("You cannot change the status of your own account."))
    if person.status not in sources:
        raise Conflict("illegal_step", N_("This account is “%(state)s”; it cannot be changed that way."),
                       state=STATUS_LABELS[person.status])
    before = person.status
    person.status = target
    released = []
    if target == "suspended":
        # A leader must be active: a suspended person stops leading their teams.
        for team in session.exec(select(Team).where(Team.leader_id == person.id)):
            team.leader_id = None
            released.append(team.id)
            session.add(team)
    session.add(person)
    audit.record(session, actor_id=user.id, action=f"person.{action}", obj=person, ip=ip, before=before, after=target,
                 **({"teams_unled": released} if released else {}))
    session.commit()
    return person


TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud over the phone


def clear_lockout(session: Session, *, user: User, person_id: int, ip: str | None = None) -> User:
    """Let a person try their password again at once (their officer has checked it is really them)."""
    person = _managed(session, user, person_id)
    accounts.clear_lockout(session, actor=user, user=person, ip=ip)
    return person


def reset_password(session: Session, *, user: User, person_id: int, ip: str | None = None) -> tuple[User, str]:
    """A new temporary password for someone else's account, returned once and stored only as a hash."""
    person = _managed(session, user, person_id)
    if person.id == user.id:
        raise Conflict("own_account", N_("You cannot reset your own password here."))
    temporary = "".join(secrets.choice(TEMP_ALPHABET) for _ in range(4)) + "".join(secrets.choice("23456789") for _ in range(4))
    person.password_hash = accounts.hash_password(temporary)
    person.must_change_password = True
    session.add(person)
    accounts.revoke_credentials(session, user_id=person.id)  # the old password's sessions and tokens end with it
    audit.record(session, actor_id=user.id, action="person.reset_password", obj=person, ip=ip)
    session.commit()
    return person, temporary


def change_own_password(session: Session, *, user: User, data: dict[str, Any], ip: str | None = None,
                        keep_session_id: int | None = None) -> User:
    """Anyone changes their own password with the current one (after a reset: the temporary one); the new one
    follows the sign-up rules and must differ from the current one. Every other login of theirs (all but
    `keep_session_id`, the one they use now) and every API token of theirs ends."""
    current = data.get("current") or ""
    if not isinstance(current, str) or not accounts.verify_password(user.password_hash, current):
        raise Invalid("wrong_password", N_("The current password is not right."))
    new = check_password(data.get("password"), phone=user.phone, confirm=data.get("password2") or "")
    if new == current:
        raise Invalid("same_password", N_("Choose a password different from the current one."))
    user.password_hash = accounts.hash_password(new)
    user.must_change_password = False
    session.add(user)
    accounts.revoke_credentials(session, user_id=user.id, keep_session_id=keep_session_id)
    audit.record(session, actor_id=user.id, action="person.change_password", obj=user, ip=ip)
    session.commit()
    return user


def change_role(session: Session, *, user: User, person_id: int, role: Any, ip: str | None = None) -> User:
    """Only the coordinator gives roles (volunteer, officer, coordinator), never to themself; an officer who stops
    being one gives up their grids."""
    person = visible(session, user, person_id)
    if not user.is_manager or not may_manage(session, user, person):
        raise Forbidden(N_("Only the coordinator may change roles."))
    if person.id == user.id:
        raise Conflict("own_account", N_("You cannot change your own role."))
    if role not in roles.ASSIGNABLE:
        raise Invalid("bad_choice", N_("“%(value)s” is not a valid %(field)s."), field=N_("Role"), value=str(role)[:20])
    if role == person.role:
        return person
    before = person.role
    person.role = role
    released = []
    if before == "officer":
        released = officer_grids(session, person)
        session.exec(sa.delete(GridOfficer).where(GridOfficer.user_id == person.id))
    session.add(person)
    audit.record(session, actor_id=user.id, action="person.role", obj=person, ip=ip, before=before, after=role,
                 **({"grids_released": released} if released else {}))
    session.commit()
    return person


def next_steps(session: Session, viewer: User, person: User) -> list[str]:
    """The status steps this viewer may take on this person now."""
    if person.id == viewer.id or not may_manage(session, viewer, person):
        return []
    return [a for a, (sources, _t) in STEPS.items() if person.status in sources]


# --- Lists ------------------------------------------------------------------------------------------------

@dataclass
class Filters:
    """What a people list is narrowed to."""
    status: str = ""
    role: str = ""
    grid: int | None = None
    team: int | None = None
    q: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args: dict[str, Any]) -> "Filters":
        """Unknown choices are ignored rather than refused: a list link with an old filter still opens."""
        page = _id(args.get("page")) or 1
        q = args.get("q") if isinstance(args.get("q"), str) else ""
        return cls(status=args.get("status") if args.get("status") in STATUS_LABELS else "",
                   role=args.get("role") if args.get("role") in ROLE_LABELS else "",
                   grid=_id(args.get("grid")), team=_id(args.get("team")), q=q.strip()[:50], page=min(page, 100000))


def scope_grids(session: Session, viewer: User) -> list[Grid]:
    """The grids whose people this viewer manages."""
    if viewer.is_manager:
        return list(session.exec(select(Grid).where(Grid.station_id == viewer.station_id).order_by(Grid.code)))
    if viewer.role == "officer":
        return list(session.exec(select(Grid).join(GridOfficer, GridOfficer.grid_id == Grid.id)
                                 .where(GridOfficer.user_id == viewer.id).order_by(Grid.code)))
    return []


def station_teams(session: Session, station_id: int) -> list[Team]:
    """A station's teams by name."""
    return list(session.exec(select(Team).where(Team.station_id == station_id).order_by(Team.name, Team.id)))


def search(session: Session, viewer: User, filters: Filters) -> tuple[list[User], int]:
    """The people this viewer manages matching the filters, pending first then by name, one page at a time; and
    how many match in all."""
    roles.require_staff(viewer, N_("Only grid officers and coordinators see the people list."))
    query = select(User).where(User.station_id == viewer.station_id)
    if viewer.role == "officer":
        query = query.where(User.home_grid_id.in_(officer_grids(session, viewer)))
    if filters.status:
        query = query.where(User.status == filters.status)
    if filters.role:
        query = query.where(User.role == filters.role)
    if filters.grid is not None:
        query = query.where(User.home_grid_id == filters.grid)
    if filters.team is not None:
        query = query.where(User.id.in_(select(TeamMember.user_id).where(TeamMember.team_id == filters.team)))
    if filters.q:
        digits = accounts.normalise_phone(filters.q)
        # LIKE wildcards typed into the box are matched literally.
        text = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        condition = User.name.like(f"%{text}%", escape="\\")
        if digits:
            condition = condition | User.phone.like(f"%{digits}%")
        query = query.where(condition)
    total = session.exec(select(sa.func.count()).select_from(query.subquery())).one()
    order = sa.case((User.status == "pending", 0), (User.status == "active", 1), else_=2)
    rows = session.exec(query.order_by(order, User.name, User.id)
                        .offset((filters.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return list(rows), total


def teams_of(session: Session, user_ids: list[int]) -> dict[int, list[Team]]:
    """Each person's teams, in one query."""
    found: dict[int, list[Team]] = {i: [] for i in user_ids}
    if user_ids:
        for member, team in session.exec(select(TeamMember, Team).join(Team, Team.id == TeamMember.team_id)
                                         .where(TeamMember.user_id.in_(user_ids)).order_by(Team.name)):
            found[member.user_id].append(team)
    return found


def grids_by_id(session: Session, station_id: int) -> dict[int, Grid]:
    """A station's grids by id, to name home grids in lists."""
    return {g.id: g for g in session.exec(select(Grid).where(Grid.station_id == station_id))}


def shows_whole_phone(session: Session, viewer: User, person: User) -> bool:
    """The whole number goes only to the person, their grid's officers and the station's coordinator."""
    if viewer.id == person.id:
        return True
    if viewer.is_manager:
        return viewer.station_id == person.station_id
    return viewer.role == "officer" and may_see(session, viewer, person)
