"""Hours pages: a volunteer's own hours and stars; the officer's approval queue (one by one or in bulk); manual
entries, corrections, the tally with XLSX/CSV export, month certification and the monthly evaluation (月考评)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers.localtime import today
from volunteers import hours
from volunteers.errors import DomainError, Forbidden, N_
from volunteers.models import User
from volunteers.web.auth import client_ip
from volunteers.web.errors import translate
from volunteers.web.extensions import get_session
from volunteers.web.views import fragment_wanted, page, submit

bp = Blueprint("hours", __name__, url_prefix="/hours")

LABELS = {"source_labels": hours.SOURCE_LABELS, "status_labels": hours.STATUS_LABELS, "flag_labels": hours.FLAG_LABELS,
          "view_labels": {"volunteer": N_("Per volunteer"), "team": N_("Per team"), "grid": N_("Per grid")}}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


def is_staff() -> bool:
    return current_user.role in ("officer", "coordinator", "admin")


def staff_only() -> None:
    if not is_staff():
        raise Forbidden(N_("This page is for grid officers and coordinators."))


@bp.get("/")
@login_required
def mine():
    """我的服务时长: hours this month, this year and in total, the star level, and the records behind them."""
    db = get_session()
    return render_template("hours/mine.html", summary=hours.summary(db, current_user),
                           records=hours.records_of(db, current_user.id))


# --- Approval ----------------------------------------------------------------------------------------------------

def review_context(**notes: Any) -> dict[str, Any]:
    db = get_session()
    return dict(pending=hours.pending_for(db, current_user), **notes)


@bp.get("/review")
@login_required
def review():
    """Pending records of my grids (the whole station for the coordinator), oldest first, to approve or reject."""
    if not is_staff():
        return redirect(url_for("hours.mine"))
    return page("hours/review.html", "hours/_review.html", **review_context())


@bp.post("/review")
@login_required
def decide():
    """Approve or reject the ticked records (a rejection needs a reason); htmx gets the queue back in place."""
    db = get_session()
    approve = request.form.get("decision") != "reject"
    try:
        records = hours.decide(db, user=current_user, record_ids=hours.parse_ids(request.form.getlist("ids")),
                               approve=approve, reason=request.form.get("reason", ""), ip=client_ip())
    except DomainError as err:
        db.rollback()
        if err.status == 404 and not fragment_wanted():
            raise
        return page("hours/review.html", "hours/_review.html", err.status,
                    **review_context(error=translate(err.message, err.params)))
    message = (_("Approved: %(count)d.", count=len(records)) if approve
               else _("Rejected: %(count)d.", count=len(records)))
    if not fragment_wanted():
        flash(message, "success")
        return redirect(url_for("hours.review"))
    return page("hours/review.html", "hours/_review.html", **review_context(message=message))


# --- One record, corrections, manual entries --------------------------------------------------------------------

def record_page(record_id: int, status: int = 200, **notes: Any):
    db = get_session()
    record = hours.visible_record(db, current_user, record_id)
    return render_template("hours/record.html", record=record, volunteer=db.get(User, record.volunteer_id),
                           corrections=hours.corrections_of(db, record.id),
                           may_correct=record.status == "approved" and hours.may_decide(db, current_user, record),
                           **notes), status


@bp.get("/<int:record_id>")
@login_required
def show(record_id: int):
    """One record: where it came from, its flags, who decided it, and its corrections."""
    return record_page(record_id)


@bp.post("/<int:record_id>/correct")
@login_required
def correct(record_id: int):
    """Add a correction to an approved record (minutes to add or, negative, to take away, and why)."""
    return submit(lambda db: hours.correct(db, user=current_user, record_id=record_id, data=request.form.to_dict(),
                                           ip=client_ip()),
                  done=_("The correction was saved and waits for approval."),
                  redirect_to=url_for("hours.show", record_id=record_id), reraise=(404,),
                  answer=lambda status, error: record_page(record_id, status, error=error, form=request.form))


def manual_form(status: int = 200, **context: Any):
    db = get_session()
    people = db.exec(hours.volunteers_query(current_user.station_id)).all()
    return render_template("hours/manual.html", people=people, form=context.pop("form", {}), today=today(),
                           **context), status


@bp.get("/manual")
@login_required
def manual():
    """The coordinator's form for hours no patrol or task shows (training, event work)."""
    if not hours.is_coordinator(current_user):
        raise Forbidden(N_("Only the coordinator adds hours by hand."))
    return manual_form()


@bp.post("/manual")
@login_required
def add_manual():
    """Save a manual entry; on a problem, the form again with the reason and what was typed."""
    return submit(lambda db: hours.add_manual(db, user=current_user, data=request.form.to_dict(), ip=client_ip()),
                  done=lambda record: _("Saved: %(minutes)d minutes, waiting for approval.", minutes=record.minutes),
                  redirect_to=lambda record: url_for("hours.show", record_id=record.id), reraise=(403,),
                  answer=lambda status, error: manual_form(status, error=error, form=request.form.to_dict()))


# --- Tally and exports ----------------------------------------------------------------------------------------------

def tally_args() -> dict[str, Any]:
    """The chosen period (default: this month so far) and view."""
    args = request.args
    first_default = today().replace(day=1)
    return {"start": args.get("from") or first_default.isoformat(), "end": args.get("to") or today().isoformat(),
            "by": args.get("by") or "volunteer", "team": args.get("team"), "grid": args.get("grid")}


def run_tally() -> tuple[list[hours.TallyRow], date, date, dict[str, Any]]:
    staff_only()
    chosen = tally_args()
    rows, first, last = hours.scoped_tally(get_session(), current_user, chosen["start"], chosen["end"], chosen["by"],
                                           team=chosen["team"], grid=chosen["grid"])
    return rows, first, last, chosen


@bp.get("/tally")
@login_required
def tally():
    """Approved and pending hours per volunteer, team or grid for a period, with XLSX and CSV downloads."""
    if not is_staff():
        return redirect(url_for("hours.mine"))
    rows, first, last, chosen = run_tally()
    return page("hours/tally.html", "hours/_tally.html", rows=rows, first=first, last=last, chosen=chosen,
                total_approved=sum(r.approved_minutes for r in rows), total_pending=sum(r.pending_minutes for r in rows))


@bp.get("/export.<fmt>")
@login_required
def export(fmt: str):
    """The tally as an XLSX workbook or a CSV file (UTF-8 with BOM) for the chosen period and view."""
    rows, first, last, chosen = run_tally()
    name = f"hours-{chosen['by']}-{first.isoformat()}-{last.isoformat()}"
    if fmt == "xlsx":
        data = hours.export_xlsx(rows, chosen["by"], first, last)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "csv":
        data = hours.export_csv(rows, chosen["by"], first, last)
        mimetype = "text/csv; charset=utf-8"
    else:
        abort(404)
    return data, 200, {"Content-Type": mimetype, "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
                       "Cache-Control": "no-store"}


# --- Months: certification and the monthly evaluation ------------------------------------------------------------------

def last_month() -> str:
    return (today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def months_page(status: int = 200, **notes: Any):
    staff_only()
    db = get_session()
    month = hours.parse_month(request.values.get("month") or last_month())
    by = "team" if request.values.get("by") == "team" else "grid"
    rows = hours.evaluation(db, current_user.station_id, month, by=by)
    if current_user.role == "officer" and by == "grid":
        mine = set(hours.scope_grid_ids(db, current_user) or [])
        rows = [r for r in rows if r.id in mine]
    return page("hours/months.html", "hours/_evaluation.html", status, month=month, by=by, rows=rows,
                certified=hours.certified_months(db, current_user.station_id),
                is_certified=hours.is_certified(db, current_user.station_id, month),
                is_over=hours.month_bounds(month)[1] < today(), **notes)


@bp.get("/months")
@login_required
def months():
    """月考评 for a month, per grid or per team, and (for the coordinator) certifying the month."""
    if not is_staff():
        return redirect(url_for("hours.mine"))
    return months_page()


@bp.post("/months")
@login_required
def certify():
    """Certify a month for the station; its records are locked from then on."""
    return submit(lambda db: hours.certify(db, user=current_user, month=request.form.get("month"), ip=client_ip()),
                  done=lambda cert: _("%(month)s is certified; its records are locked.", month=cert.month),
                  redirect_to=lambda cert: url_for("hours.months", month=cert.month), reraise=(403,),
                  answer=months_page)
