"""Signing up without an account: phone number, name, password twice, home grid and teams; then a page that says
who will approve it."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_login import current_user

from volunteers import db as dbs, people
from volunteers.models import User
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip, page, submit

bp = Blueprint("signup", __name__, url_prefix="/signup")


def render_form(form: dict, error: str | None = None, status: int = 200):
    """The sign-up form, filled with what was typed (never the passwords)."""
    db = get_session()
    return page("signup/new.html", status=status, form=form, chosen=[str(t) for t in form.get("team_ids", [])],
                error=error, stations=people.signup_grids(db), teams=people.signup_teams(db))


@bp.get("/")
def new():
    """The sign-up form; someone already logged in goes home."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return render_form({})


@bp.post("/")
def create():
    """Create the pending account, or show the form again with the reason (422) and nothing saved."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    data = {k: request.form.get(k, "") for k in ("phone", "name", "password", "password2", "grid")}
    data["team_ids"] = request.form.getlist("team_ids")
    cfg = current_app.config

    def signed_up(user):
        session["signed_up"] = user.id
        return redirect(url_for("signup.done"))

    return submit(lambda db: people.signup(db, data=data, ip=client_ip(), max_per_ip=cfg.get("SIGNUP_MAX_PER_IP", 10),
                                           window_minutes=cfg.get("SIGNUP_WINDOW_MINUTES", 60)),
                  show=signed_up, reraise=(),
                  answer=lambda status, error: render_form({k: v for k, v in data.items()
                                                            if not k.startswith("password")}, error=error,
                                                           status=status))


@bp.get("/done")
def done():
    """Thanks: the account waits for approval, and this is who gives it."""
    db = get_session()
    user = dbs.get(db, User, session.get("signed_up"))
    if user is None:
        return redirect(url_for("signup.new"))
    officers, coordinators = people.approvers(db, user)
    return page("signup/done.html", person=user, officers=officers, coordinators=coordinators)
