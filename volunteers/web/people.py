"""People pages for officers and coordinators: the list (pending first, filtered through htmx, phones masked),
a person's page, and the account steps: approve, suspend, reactivate, reset a password, change a role."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers import accounts, people, roles
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip, page, staff_required, submit

bp = Blueprint("people", __name__, url_prefix="/people")

LABELS = {"status_labels": people.STATUS_LABELS, "role_labels": people.ROLE_LABELS,
          "action_labels": people.ACTION_LABELS, "assignable_roles": roles.ASSIGNABLE}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


@bp.get("/")
@login_required
@staff_required
def index():
    """The people I manage, pending first, narrowed by status, role, grid, team, name or phone."""
    db = get_session()
    filters = people.Filters.parse(request.args.to_dict())
    items, total = people.search(db, current_user, filters)
    return page("people/index.html", "people/_list.html", items=items, total=total, chosen=filters,
                pages=max(1, -(-total // people.PAGE_SIZE)), grids=people.scope_grids(db, current_user),
                grid_by_id=people.grids_by_id(db, current_user.station_id),
                teams=people.station_teams(db, current_user.station_id),
                teams_of=people.teams_of(db, [p.id for p in items]), args=request.args.to_dict())


def person_context(person, **extra: Any) -> dict[str, Any]:
    """What the person's page shows this viewer."""
    db = get_session()
    grids = people.grids_by_id(db, person.station_id)
    return dict(person=person, grid=grids.get(person.home_grid_id), teams=people.teams_of(db, [person.id])[person.id],
                whole_phone=people.shows_whole_phone(db, current_user, person),
                steps=people.next_steps(db, current_user, person),
                manage=person.id != current_user.id and people.may_manage(db, current_user, person),
                failures=accounts.lockouts(db, phones=[person.phone]).get(person.phone, 0),
                change_role=current_user.is_manager and person.id != current_user.id
                and people.may_manage(db, current_user, person), **extra)


@bp.get("/<int:person_id>")
@login_required
def show(person_id: int):
    """A person's page: the whole phone number only for themself, their grid's officer and the coordinator."""
    person = people.visible(get_session(), current_user, person_id)
    return page("people/show.html", "people/_person.html", **person_context(person))


def act(person_id: int, work, done=None, **how: Any):
    """Run one account step: htmx gets the row (from the list) or the person card back in place, with the outcome or
    the reason; a form goes back to the person's page (a refusal: the error page, a 404 always)."""
    def again(status: int, **notes: Any):
        db = get_session()
        person = people.visible(db, current_user, person_id)
        if request.form.get("view") == "row":
            return render_template("people/_row.html", p=person, grid_by_id=people.grids_by_id(db, person.station_id),
                                   teams_of=people.teams_of(db, [person.id]), **notes), status
        return page("people/show.html", "people/_person.html", status, **person_context(person, **notes))

    return submit(work, done=done, redirect_to=url_for("people.show", person_id=person_id), piece=True,
                  reraise=(404,), answer=again, **how)


@bp.post("/<int:person_id>/<any(approve, suspend, reactivate):action>")
@login_required
def step(person_id: int, action: str):
    """Approve, suspend or reactivate an account."""
    return act(person_id, lambda db: people.step(db, user=current_user, person_id=person_id, action=action,
                                                 ip=client_ip()),
               lambda person: _("%(name)s: %(status)s.", name=person.name, status=_(people.STATUS_LABELS[person.status])))


@bp.post("/<int:person_id>/password")
@login_required
def reset_password(person_id: int):
    """A new temporary password, shown once on the answer and never again."""
    def shown(result):
        person, temporary = result
        body, status = page("people/show.html", "people/_person.html", **person_context(person, temporary=temporary))
        return body, status, {"Cache-Control": "no-store"}

    return act(person_id, lambda db: people.reset_password(db, user=current_user, person_id=person_id, ip=client_ip()),
               show=shown)


@bp.post("/<int:person_id>/lockout")
@login_required
def clear_lockout(person_id: int):
    """Forget the person's recent wrong passwords, so they can log in again now."""
    return act(person_id, lambda db: people.clear_lockout(db, user=current_user, person_id=person_id, ip=client_ip()),
               lambda person: _("%(name)s can log in again now.", name=person.name))


@bp.post("/<int:person_id>/role")
@login_required
def change_role(person_id: int):
    """Give a person another role (the coordinator only)."""
    return act(person_id, lambda db: people.change_role(db, user=current_user, person_id=person_id,
                                                        role=request.form.get("role"), ip=client_ip()),
               lambda person: _("%(name)s is now: %(role)s.", name=person.name, role=_(people.ROLE_LABELS[person.role])))
