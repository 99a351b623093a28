"""Teams: the coordinator creates and renames a station's teams, sets the leader (an active member) and the
members; officers look at the teams that have people in their grids."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import accounts, audit, db, roles
from volunteers.errors import Conflict, Forbidden, Invalid, N_, NotFound
from volunteers.models import GridOfficer, Team, TeamMember, User

KINDS = ("auxiliary", "red_armband", "school_gate", "joint_defence", "emergency_unit")
KIND_LABELS = {"auxiliary": N_("Auxiliary police team"), "red_armband": N_("Red armband patrol"),
               "school_gate": N_("School gate team"), "joint_defence": N_("Ten-household joint defence"),
               "emergency_unit": N_("Minimum emergency response unit")}
MANAGERS_ONLY = N_("Only the coordinator manages teams.")


def _officer_grid_query(user: User):
    return select(GridOfficer.grid_id).where(GridOfficer.user_id == user.id)


def visible_teams(session: Session, user: User) -> list[Team]:
    """The coordinator's whole station; for an officer, the teams with a member living in one of their grids."""
    if user.is_manager:
        query = select(Team).where(Team.station_id == user.station_id)
    elif user.role == "officer":
        members = (select(TeamMember.team_id).join(User, User.id == TeamMember.user_id)
                   .where(User.home_grid_id.in_(_officer_grid_query(user))))
        query = select(Team).where(Team.station_id == user.station_id, Team.id.in_(members))
    else:
        raise Forbidden(N_("Only grid officers and coordinators see the teams."))
    return list(session.exec(query.order_by(Team.name, Team.id)))


def member_counts(session: Session, team_ids: list[int]) -> dict[int, int]:
    """How many people each team has."""
    if not team_ids:
        return {}
    rows = session.exec(select(TeamMember.team_id, sa.func.count()).where(TeamMember.team_id.in_(team_ids))
                        .group_by(TeamMember.team_id))
    return {team_id: count for team_id, count in rows}


def visible(session: Session, user: User, team_id: int) -> Team:
    """A team this user may look at; another station's team, or one without members in an officer's grids, is 404."""
    team = db.get(session, Team, team_id)
    if team is None or team.station_id != user.station_id:
        raise NotFound(N_("This team does not exist."))
    if user.is_manager:
        return team
    if user.role == "officer":
        found = session.exec(select(TeamMember.user_id).join(User, User.id == TeamMember.user_id)
                             .where(TeamMember.team_id == team.id, User.home_grid_id.in_(_officer_grid_query(user)))).first()
        if found is not None:
            return team
        raise NotFound(N_("This team does not exist."))
    raise Forbidden(N_("Only grid officers and coordinators see the teams."))


def members(session: Session, team: Team) -> list[User]:
    """A team's members, by name."""
    return list(session.exec(select(User).join(TeamMember, TeamMember.user_id == User.id)
                             .where(TeamMember.team_id == team.id).order_by(User.name, User.id)))


def _fields(session: Session, user: User, data: dict[str, Any], team: Team | None = None) -> tuple[str, str]:
    name = data.get("name")
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name:
        raise Invalid("missing_name", N_("Please give the team a name."))
    if len(name) > 100:
        raise Invalid("too_long", N_("“%(field)s” may be at most %(limit)d characters."), field=N_("Name"), limit=100)
    kind = data.get("kind")
    if kind not in KINDS:
        raise Invalid("bad_choice", N_("“%(value)s” is not a valid %(field)s."), field=N_("Kind"), value=str(kind)[:40])
    clash = session.exec(select(Team.id).where(Team.station_id == user.station_id, Team.name == name)).first()
    if clash is not None and (team is None or clash != team.id):
        raise Invalid("name_taken", N_("The station already has a team called “%(name)s”."), name=name)
    return name, kind


def create(session: Session, *, user: User, data: dict[str, Any], ip: str | None = None) -> Team:
    """A new team of one of the five kinds, with a name unique at the station."""
    roles.require_manager(user, MANAGERS_ONLY)
    name, kind = _fields(session, user, data)
    team = Team(station_id=user.station_id, name=name, kind=kind)
    session.add(team)
    session.flush()
    audit.record(session, actor_id=user.id, action="team.create", obj=team, ip=ip, name=name, kind=kind)
    session.commit()
    return team


def update(session: Session, *, user: User, team_id: int, data: dict[str, Any], ip: str | None = None) -> Team:
    """Rename a team or change its kind."""
    roles.require_manager(user, MANAGERS_ONLY)
    team = visible(session, user, team_id)
    name, kind = _fields(session, user, data, team)
    before = {"name": team.name, "kind": team.kind}
    team.name, team.kind = name, kind
    session.add(team)
    audit.record(session, actor_id=user.id, action="team.update", obj=team, ip=ip, before=before,
                 after={"name": name, "kind": kind})
    session.commit()
    return team


def _member_id(data: dict[str, Any], field: str) -> int | None:
    raw = data.get(field)
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return None


def set_leader(session: Session, *, user: User, team_id: int, data: dict[str, Any], ip: str | None = None) -> Team:
    """The leader must be an active member of the team; an empty choice leaves the team without one."""
    roles.require_manager(user, MANAGERS_ONLY)
    team = visible(session, user, team_id)
    leader_id = _member_id(data, "leader_id")
    if leader_id is not None:
        person = db.get(session, User, leader_id)
        if person is None or session.get(TeamMember, (team.id, person.id)) is None:
            raise Invalid("not_a_member", N_("The leader must be a member of the team."))
        if person.status != "active":
            raise Invalid("not_active", N_("The leader's account must be active."))
    before = team.leader_id
    team.leader_id = leader_id
    session.add(team)
    audit.record(session, actor_id=user.id, action="team.leader", obj=team, ip=ip, before=before, after=leader_id)
    session.commit()
    return team


def add_member(session: Session, *, user: User, team_id: int, data: dict[str, Any], ip: str | None = None) -> User:
    """Add a person of the station to the team by phone number (or id); already a member is a 409."""
    roles.require_manager(user, MANAGERS_ONLY)
    team = visible(session, user, team_id)
    person = None
    person_id = _member_id(data, "user_id")
    if person_id is not None:
        person = db.get(session, User, person_id)
    elif isinstance(data.get("phone"), str) and data["phone"].strip():
        phone = accounts.normalise_phone(data["phone"])
        person = session.exec(select(User).where(User.phone == phone)).first() if phone else None
    else:
        raise Invalid("missing_phone", N_("Please enter the phone number of the person to add."))
    if person is None or person.station_id != team.station_id:
        raise Invalid("unknown_person", N_("Nobody at this station has that phone number."))
    already = Conflict("already_member", N_("%(name)s is already in this team."), name=person.name)
    if session.get(TeamMember, (team.id, person.id)) is not None:
        raise already
    with db.unique_or(session, already):  # added at the same instant by someone else
        session.add(TeamMember(team_id=team.id, user_id=person.id))
    audit.record(session, actor_id=user.id, action="team.add_member", obj=team, ip=ip, user_id=person.id)
    session.commit()
    return person


def remove_member(session: Session, *, user: User, team_id: int, person_id: int, ip: str | None = None) -> User:
    """Take a person out of the team; a leader who leaves stops leading it."""
    roles.require_manager(user, MANAGERS_ONLY)
    team = visible(session, user, team_id)
    membership = session.get(TeamMember, (team.id, person_id)) if 0 < person_id <= db.MAX_ID else None
    if membership is None:
        raise NotFound(N_("This person is not in the team."))
    person = session.get(User, person_id)
    session.delete(membership)
    if team.leader_id == person_id:
        team.leader_id = None
        session.add(team)
    audit.record(session, actor_id=user.id, action="team.remove_member", obj=team, ip=ip, user_id=person_id)
    session.commit()
    return person
