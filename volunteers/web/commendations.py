"""Honour pages: the station's honours (锦旗, 表彰) with the form officers and coordinators record one with, and the
honours of one volunteer or one team."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers import commendations
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip, page, submit

bp = Blueprint("commendations", __name__, url_prefix="/commendations")

LABELS = {"kind_labels": commendations.KIND_LABELS, "kinds": commendations.KINDS}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


@bp.app_template_global()
def honours_of_volunteer(user_id: int) -> list[commendations.Honour]:
    """For profile pages: {% with honours = honours_of_volunteer(person.id) %}{% include "commendations/_list.html" %}."""
    return commendations.for_volunteer(get_session(), user_id)


@bp.app_template_global()
def honours_of_team(team_id: int) -> list[commendations.Honour]:
    """For team pages, like honours_of_volunteer."""
    return commendations.for_team(get_session(), team_id)


@bp.app_template_global()
def honour_kind(kind: str) -> str:
    """The untranslated label of an honour's kind (the template translates it)."""
    return commendations.KIND_LABELS.get(kind, kind)


def index_context(*, form: dict[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    db = get_session()
    people, teams = commendations.recipient_choices(db, current_user)
    return dict(honours=commendations.for_station(db, current_user.station_id), people=people, teams=teams,
                may_record=current_user.is_staff, form=form or {}, error=error)


@bp.get("/")
@login_required
def index():
    """Every honour of the station, newest first; staff also get the form to record one."""
    return page("commendations/index.html", "commendations/_board.html", **index_context())


@bp.post("/")
@login_required
def create():
    """Record an honour for a volunteer or a team (the form's `target` is v<id> or t<id>)."""
    data = request.form.to_dict()
    target = data.pop("target", "")
    if target[:1] == "v":
        data["volunteer_id"] = target[1:]
    elif target[:1] == "t":
        data["team_id"] = target[1:]

    def board(status: int, error: str | None = None, message: str | None = None):
        if error:
            return page("commendations/index.html", "commendations/_board.html", status,
                        **index_context(form=request.form.to_dict(), error=error))
        return page("commendations/index.html", "commendations/_board.html", **index_context() | {"message": message})

    return submit(lambda db: commendations.record(db, user=current_user, data=data, ip=client_ip())[0],
                  done=lambda honour: _("The honour “%(title)s” is recorded.", title=honour.title),
                  redirect_to=url_for("commendations.index"), piece=True, in_page=True, answer=board,
                  reraise=() if current_user.is_staff else (403, 404))


@bp.get("/volunteers/<int:user_id>")
@login_required
def volunteer(user_id: int):
    """One volunteer's honours."""
    db = get_session()
    person = commendations.visible_volunteer(db, current_user, user_id)
    return page("commendations/target.html", "commendations/_list.html", heading=person.name,
                honours=commendations.for_volunteer(db, person.id))


@bp.get("/teams/<int:team_id>")
@login_required
def team(team_id: int):
    """One team's honours."""
    db = get_session()
    team = commendations.visible_team(db, current_user, team_id)
    return page("commendations/target.html", "commendations/_list.html", heading=team.name,
                honours=commendations.for_team(db, team.id))
