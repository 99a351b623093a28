"""In-app messages: the unread count in the header, and the list (opening it marks them read)."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user, login_required

from volunteers import notifications
from volunteers.web.errors import translate
from volunteers.web.extensions import get_session
from volunteers.web.views import page

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


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
    items = [(n, translate(n.message, n.params), n.read_at is None) for n in notifications.latest(db, current_user)]
    notifications.mark_all_read(db, current_user)  # before rendering, so the header badge already shows 0
    return page("notifications/index.html", "notifications/_list.html", items=items)
