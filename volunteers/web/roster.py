"""Roster import: the coordinator uploads an XLSX of volunteers and gets a row-by-row report; the blank template."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers import roster
from volunteers.web.extensions import get_session
from volunteers.web.views import manager_required, page
from volunteers.web.views import client_ip, submit, translate

bp = Blueprint("roster", __name__, url_prefix="/roster")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.context_processor
def upload_context() -> dict[str, Any]:
    """Every roster template translates the report's messages and states the upload limit."""
    return {"translate": translate, "max_mb": current_app.config["ROSTER_MAX_BYTES"] // (1024 * 1024)}


@bp.get("/")
@login_required
@manager_required
def index():
    """The upload form and the template download."""
    return page("roster/index.html", "roster/_result.html", report=None)


@bp.post("/")
@login_required
@manager_required
def upload():
    """Import the uploaded sheet; the answer is the report of every row (413/422 for a file that is not usable)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return page("roster/index.html", "roster/_result.html", 400, report=None,
                    error=_("Please choose an .xlsx file to upload."))
    limit = current_app.config["ROSTER_MAX_BYTES"]
    data = upload.stream.read(limit + 1)  # reading one byte past the limit is enough to know it is too large
    return submit(lambda db: roster.import_roster(db, user=current_user, data=data, max_bytes=limit, ip=client_ip()),
                  show=lambda report: page("roster/index.html", "roster/_result.html", report=report,
                                           filename=upload.filename), reraise=(),
                  answer=lambda status, error: page("roster/index.html", "roster/_result.html", status, report=None,
                                                    error=error))


@bp.get("/template.xlsx")
@login_required
@manager_required
def template():
    """A blank roster to fill in, with this station's grids and teams on a second sheet."""
    body = roster.template_xlsx(get_session(), user=current_user)
    return body, 200, {"Content-Type": XLSX, "Content-Disposition": "attachment; filename=roster-template.xlsx",
                       "Cache-Control": "private, no-store"}
