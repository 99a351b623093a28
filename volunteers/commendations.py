"""Honours (锦旗, 表彰) given to a volunteer or a team, and who may record them.

A coordinator records honours for anyone of the station; a grid officer for volunteers of their grids and for teams
of their grids — a team's grid is its leader's home grid, or, without a leader, the grid most of its members live in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import accounts, audit, db, fields, roles
from volunteers.errors import Forbidden, Invalid, N_, NotFound
from volunteers.models import Commendation, Team, TeamMember, User
from volunteers import localtime

KINDS = ("banner", "commendation", "other")
KIND_LABELS = {"banner": N_("Silk banner (锦旗)"), "commendation": N_("Commendation (表彰)"), "other": N_("Other honour")}


def team_grid_id(session: Session, team: Team) -> int | None:
    """The grid a team belongs to: its leader's home grid, else the home grid most of its members share (lowest id on
    a tie); None for a team without members."""
    if team.leader_id is not None:
        leader = session.get(User, team.leader_id)
        if leader is not None and leader.home_grid_id is not None:
            return leader.home_grid_id
    count = sa.func.count()
    return session.exec(select(User.home_grid_id).join(TeamMember, TeamMember.user_id == User.id)
                        .where(TeamMember.team_id == team.id, User.home_grid_id.is_not(None))
                        .group_by(User.home_grid_id).order_by(count.desc(), User.home_grid_id)).first()


def may_commend_volunteer(session: Session, user: User, volunteer: User) -> bool:
    """The station's coordinator, or an officer of the volunteer's home grid."""
    if volunteer.station_id != user.station_id:
        return False
    if user.is_manager:
        return True
    return user.role == "officer" and volunteer.home_grid_id in accounts.grid_ids(session, user)


def may_commend_team(session: Session, user: User, team: Team) -> bool:
    """The station's coordinator, or an officer of the team's grid."""
    if team.station_id != user.station_id:
        return False
    if user.is_manager:
        return True
    return user.role == "officer" and team_grid_id(session, team) in accounts.grid_ids(session, user)


# --- Recording ----------------------------------------------------------------------------------------------

def _id(data: dict[str, Any], field: str) -> int | None:
    raw = data.get(field)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field=field) from None


def _day(data: dict[str, Any], today: date) -> date:
    raw = data.get("awarded_on")
    if raw in (None, ""):
        return today
    try:
        day = raw if isinstance(raw, date) else date.fromisoformat(str(raw).strip())
    except ValueError:
        raise Invalid("bad_date", N_("“%(value)s” is not a date like 2026-01-31."), value=str(raw)[:20]) from None
    if day > today:
        raise Invalid("future_date", N_("An honour cannot be dated in the future."))
    return day


def record(session: Session, *, user: User, data: dict[str, Any], now: datetime | None = None,
           ip: str | None = None) -> tuple[Commendation, bool]:
    """Record an honour for exactly one volunteer or team the user may commend; the same honour sent again (same
    target, kind, title and day) is a retry and returns the first one."""
    roles.require_staff(user, N_("Only grid officers and coordinators record honours."))  # volunteers receive them
    today = localtime.today(now)
    volunteer_id, team_id = _id(data, "volunteer_id"), _id(data, "team_id")
    if (volunteer_id is None) == (team_id is None):
        raise Invalid("one_target", N_("Choose either a volunteer or a team to honour."))
    kind = data.get("kind") or "commendation"
    if kind not in KINDS:
        raise Invalid("bad_choice", N_("“%(value)s” is not a valid %(field)s."), field="kind", value=str(kind)[:40])
    title = fields.text(data, "title", 200, required=True)
    given_by = fields.text(data, "given_by", 100)
    note = fields.text(data, "note", 500)
    awarded_on = _day(data, today)
    if volunteer_id is not None:
        volunteer = db.get(session, User, volunteer_id)
        if volunteer is None or volunteer.role != "volunteer" or volunteer.station_id != user.station_id:
            raise NotFound(N_("This volunteer does not exist."))
        if not may_commend_volunteer(session, user, volunteer):
            raise Forbidden(N_("You can only honour volunteers of your own grids."))
    else:
        team = db.get(session, Team, team_id)
        if team is None or team.station_id != user.station_id:
            raise NotFound(N_("This team does not exist."))
        if not may_commend_team(session, user, team):
            raise Forbidden(N_("You can only honour teams of your own grids."))
    same = session.exec(select(Commendation).where(
        Commendation.volunteer_id == volunteer_id if volunteer_id is not None else Commendation.team_id == team_id,
        Commendation.kind == kind, Commendation.title == title, Commendation.awarded_on == awarded_on)).first()
    if same is not None:
        return same, False
    honour = Commendation(station_id=user.station_id, volunteer_id=volunteer_id, team_id=team_id, kind=kind,
                          title=title, given_by=given_by, awarded_on=awarded_on, note=note, recorded_by_id=user.id)
    session.add(honour)
    session.flush()
    audit.record(session, actor_id=user.id, action="commendation.record", obj=honour, ip=ip,
                 volunteer_id=volunteer_id, team_id=team_id)
    session.commit()
    return honour, True


# --- Showing ------------------------------------------------------------------------------------------------

@dataclass
class Honour:
    """An honour with the name of whoever received it (a volunteer's or a team's)."""
    item: Commendation
    recipient: str
    is_team: bool


def _listed(session: Session, *conditions) -> list[Honour]:
    rows = session.exec(select(Commendation, User.name, Team.name)
                        .outerjoin(User, User.id == Commendation.volunteer_id)
                        .outerjoin(Team, Team.id == Commendation.team_id)
                        .where(*conditions)
                        .order_by(Commendation.awarded_on.desc(), Commendation.id.desc())).all()
    return [Honour(item, team_name if item.team_id else (person or ""), item.team_id is not None)
            for item, person, team_name in rows]


def for_volunteer(session: Session, user_id: int) -> list[Honour]:
    """A volunteer's honours, newest first."""
    return _listed(session, Commendation.volunteer_id == user_id)


def for_team(session: Session, team_id: int) -> list[Honour]:
    """A team's honours, newest first."""
    return _listed(session, Commendation.team_id == team_id)


def for_station(session: Session, station_id: int) -> list[Honour]:
    """Every honour of the station, volunteers' and teams', newest first."""
    return _listed(session, Commendation.station_id == station_id)


def recipient_choices(session: Session, user: User) -> tuple[list[User], list[Team]]:
    """The volunteers and teams this user may honour, by name."""
    if not user.is_staff:
        return [], []
    people = session.exec(select(User).where(User.station_id == user.station_id, User.role == "volunteer")
                          .order_by(User.name, User.id)).all()
    teams = session.exec(select(Team).where(Team.station_id == user.station_id).order_by(Team.name, Team.id)).all()
    if user.is_manager:
        return list(people), list(teams)
    mine = set(accounts.grid_ids(session, user))
    return ([p for p in people if p.home_grid_id in mine],
            [t for t in teams if team_grid_id(session, t) in mine])


def visible_volunteer(session: Session, user: User, volunteer_id: int) -> User:
    """A volunteer of the user's station (honours are shown station-wide); else 404."""
    person = db.get(session, User, volunteer_id)
    if person is None or person.station_id != user.station_id or person.role != "volunteer":
        raise NotFound(N_("This volunteer does not exist."))
    return person


def visible_team(session: Session, user: User, team_id: int) -> Team:
    """A team of the user's station; else 404."""
    team = db.get(session, Team, team_id)
    if team is None or team.station_id != user.station_id:
        raise NotFound(N_("This team does not exist."))
    return team
