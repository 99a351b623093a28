"""A poster's QR is a link, /c/<code>: any scanner (WeChat, the camera) opens it here, with one big check-in button.

The GET never writes — link previews and prefetching must not check anyone in; the tap is a POST."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers import patrols
from volunteers.errors import DomainError
from volunteers.models import Checkpoint
from volunteers.web.device import device_time
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip, submit, translate

bp = Blueprint("scan", __name__)


def render(code: str, *, checkpoint=None, error: str | None = None, status: int = 200):
    """The scan page: the point and its button, or what went wrong and the way forward."""
    return render_template("scan/checkin.html", code=code, checkpoint=checkpoint, error=error), status


@bp.get("/c/")
def shell():
    """The scan page the service worker keeps for offline: reads the code from the address, queues the check-in.

    The same for everyone (no name, no token: it is precached before login and outlives a logout); whose outbox it
    writes to comes from the phone's IndexedDB, where every logged-in page leaves it."""
    return render_template("scan/shell.html", urls={
        "start": url_for("api.start_patrol"), "home": url_for("home.index"), "outbox": url_for("pwa.outbox"),
        "checkins": url_for("api.create_checkin", patrol_id=0).replace("/0/", "/{id}/"),
        "checkpoints": url_for("api.checkpoints")}), 200, {"Cache-Control": "no-cache"}


@bp.get("/c/<code>")
@login_required
def show(code: str):
    """The checkpoint a scanned poster names, with one 签到 button (logged out: log in, then back here)."""
    try:
        checkpoint = patrols.scanned_checkpoint(get_session(), user=current_user, code=code,
                                                qr_key=current_app.config["SECRET_KEY"])
    except DomainError as err:
        return render(code, error=translate(err.message, err.params), status=err.status)
    return render(code, checkpoint=checkpoint)


@bp.post("/c/<code>")
@login_required
def check_in(code: str):
    """Check in at the scanned point, starting a patrol first if none runs; then home, which shows the patrol."""
    return submit(lambda db: patrols.check_in_by_scan(db, user=current_user, code=code,
                                                      client_id=request.form.get("client_id"),
                                                      qr_key=current_app.config["SECRET_KEY"],
                                                      device_now=device_time(), ip=client_ip())[0],
                  done=lambda checkin: _("Checked in at “%(name)s”. Thank you!",
                                         name=get_session().get(Checkpoint, checkin.checkpoint_id).name),
                  redirect_to=url_for("home.index"), reraise=(),
                  answer=lambda status, error: render(code, error=error, status=status))

