"""In-app messages: the unread count in the header (threads, not events), the list (opening it marks them read),
each person's choice per kind of in-app only or in-app and SMS, and the job that sends the SMS."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required
from sqlmodel import Session

from volunteers import notifications, sms
from volunteers.web import jobs
from volunteers.web.extensions import get_session
from volunteers.web.views import page, submit, translate

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def text_of(message: str, params: dict[str, Any]) -> str:
    """A message in the reader's language; a grouped one lists its changes ("已受理，已派给 张三")."""
    if "changes" not in params:
        return translate(message, params)
    changes = _("; ").join(translate(m, p) for m, p in params["changes"])
    return translate(message, {k: v for k, v in params.items() if k != "changes"} | {"changes": changes})


@bp.app_context_processor
def unread_badge():
    """unread_notifications() for the header; counted only when a full page asks for it."""
    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        return notifications.unread_count(get_session(), current_user)
    return {"unread_notifications": unread_notifications}


@bp.get("/")
@login_required
def index():
    """My latest messages, newest first, the unread ones marked; then they count as read."""
    db = get_session()
    items = [(n, text_of(n.message, n.params), n.read_at is None) for n in notifications.latest(db, current_user)]
    notifications.mark_all_read(db, current_user)  # before rendering, so the header badge already shows 0
    return page("notifications/index.html", "notifications/_list.html", items=items)


def choices_page(status: int = 200, **extra: Any):
    return page("notifications/choices.html", "notifications/_choices.html", status,
                choices=notifications.choices(get_session(), current_user), labels=notifications.KIND_LABELS, **extra)


@bp.get("/choices")
@login_required
def choices():
    """Per kind of message: in the app only, or in the app and by SMS."""
    return choices_page()


@bp.post("/choices")
@login_required
def choose():
    """Save the choices."""
    return submit(lambda db: notifications.choose(db, current_user, set(request.form.getlist("sms"))),
                  done=_("Saved."), redirect_to=url_for("notifications.choices"), answer=choices_page, piece=True)


def send_sms() -> int:
    """One round: the SMS of grouped messages that are complete (jobs)."""
    adapter = sms.backend(current_app.config.get("SMS_BACKEND"))

    def render(message: str, params: dict) -> str:
        with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")):
            return text_of(message, params)

    with Session(current_app.extensions["volunteers.engine"], expire_on_commit=False) as session:
        return notifications.send_due_sms(session, sms=adapter, render=render)


@bp.record_once
def set_up(state) -> None:
    """The SMS of messages join the periodic jobs."""
    jobs.register(state.app, "notification_sms", send_sms)
