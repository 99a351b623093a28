"""Team pages: the station's teams (for an officer, those with people in their grids), a team's members with
masked phones, and for the coordinator: new team, rename, leader, add and remove members."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers import teams
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip, page, submit

bp = Blueprint("teams", __name__, url_prefix="/teams")

LABELS = {"kind_labels": teams.KIND_LABELS, "kinds": teams.KINDS}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


@bp.get("/")
@login_required
def index():
    """The teams I may see, with how many people each has; the coordinator also gets the new-team form."""
    db = get_session()
    items = teams.visible_teams(db, current_user)
    return page("teams/index.html", "teams/_list.html", items=items, form={},
                counts=teams.member_counts(db, [t.id for t in items]), coordinator=current_user.is_manager)


@bp.post("/")
@login_required
def create():
    """Create a team; on a problem, the list again with the reason and what was typed."""
    def again(status: int, error: str):
        db = get_session()
        items = teams.visible_teams(db, current_user)
        return page("teams/index.html", "teams/_list.html", status, items=items, form=request.form.to_dict(),
                    counts=teams.member_counts(db, [t.id for t in items]), coordinator=True, error=error)

    return submit(lambda db: teams.create(db, user=current_user, data=request.form.to_dict(), ip=client_ip()),
                  done=lambda team: _("The team “%(name)s” was created.", name=team.name),
                  redirect_to=lambda team: url_for("teams.show", team_id=team.id), answer=again)


def team_context(team, **extra: Any) -> dict[str, Any]:
    db = get_session()
    return dict(team=team, members=teams.members(db, team), coordinator=current_user.is_manager, **extra)


@bp.get("/<int:team_id>")
@login_required
def show(team_id: int):
    """A team: kind, leader, members with masked phones."""
    team = teams.visible(get_session(), current_user, team_id)
    return page("teams/show.html", "teams/_team.html", **team_context(team))


def act(team_id: int, work, done):
    """Run one coordinator step; answer with the team card (htmx) or back to the team page."""
    def again(status: int, **notes: Any):
        team = teams.visible(get_session(), current_user, team_id)
        return page("teams/show.html", "teams/_team.html", status, **team_context(team, **notes))

    return submit(work, done=done, redirect_to=url_for("teams.show", team_id=team_id), piece=True, answer=again)


@bp.post("/<int:team_id>")
@login_required
def update(team_id: int):
    """Rename a team or change its kind."""
    return act(team_id, lambda db: teams.update(db, user=current_user, team_id=team_id, data=request.form.to_dict(),
                                                ip=client_ip()),
               lambda team: _("Saved."))


@bp.post("/<int:team_id>/leader")
@login_required
def leader(team_id: int):
    """Set (or clear) the team leader."""
    return act(team_id, lambda db: teams.set_leader(db, user=current_user, team_id=team_id,
                                                    data=request.form.to_dict(), ip=client_ip()),
               lambda team: _("The leader was saved."))


@bp.post("/<int:team_id>/members")
@login_required
def add_member(team_id: int):
    """Add someone of the station by phone number."""
    return act(team_id, lambda db: teams.add_member(db, user=current_user, team_id=team_id,
                                                    data=request.form.to_dict(), ip=client_ip()),
               lambda person: _("%(name)s joined the team.", name=person.name))


@bp.post("/<int:team_id>/members/<int:person_id>/remove")
@login_required
def remove_member(team_id: int, person_id: int):
    """Take someone out of the team."""
    return act(team_id, lambda db: teams.remove_member(db, user=current_user, team_id=team_id, person_id=person_id,
                                                       ip=client_ip()),
               lambda person: _("%(name)s left the team.", name=person.name))
