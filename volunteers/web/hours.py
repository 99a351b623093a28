"""Hours pages: a volunteer's own hours and stars; the officer's approval queue (one by one or in bulk); manual
entries, corrections, the tally with XLSX/CSV export, month certification and the monthly evaluation (月考评)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required

from volunteers.localtime import today
from volunteers import hours, roles, tasks
from volunteers.errors import DomainError, Invalid, N_
from volunteers.models import Grid, User
from volunteers.web.extensions import get_session
from volunteers.web.views import fragment_wanted, page, role_required, submit
from volunteers.web.views import client_ip, translate

bp = Blueprint("hours", __name__, url_prefix="/hours")

LABELS = {"source_labels": hours.SOURCE_LABELS, "status_labels": hours.STATUS_LABELS, "flag_labels": hours.FLAG_LABELS,
          "view_labels": {"volunteer": N_("Per volunteer"), "team": N_("Per team"), "grid": N_("Per grid")}}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


STAFF_ONLY = N_("This page is for grid officers and coordinators.")


@bp.get("/")
@login_required
def mine():
    """我的服务时长: hours this month, this year and in total, the star level, and the records behind them."""
    db = get_session()
    return render_template("hours/mine.html", summary=hours.summary(db, current_user),
                           records=hours.records_of(db, current_user.id))


# --- Approval ----------------------------------------------------------------------------------------------------

FLAGGED_SHOWN = 5  # doubtful records shown at once on a phone; the rest is one tap away


def review_filters(values) -> dict[str, Any]:
    """The grid and month the queue is narrowed to (a month's certification links here), if any."""
    grid, month = values.get("grid"), values.get("month")
    return {"grid_id": hours._filter_id(grid, "grid"), "month": hours.parse_month(month) if month else None}


def review_context(filters: dict[str, Any] | None = None, **notes: Any) -> dict[str, Any]:
    """The queue split in two: records with flags (looked at and ticked one by one) and clean ones (select all)."""
    db = get_session()
    filters = filters if filters is not None else {"grid_id": None, "month": None}
    pending = hours.pending_for(db, current_user, **filters)
    flags = hours.review_flags(db, [r for r, _v in pending])
    evidence = tasks.evidence_of(db, [r.assignment_id for r, _v in pending if r.assignment_id], with_overlap=False)
    flagged = [(r, v) for r, v in pending if flags[r.id]]
    clear = [(r, v) for r, v in pending if not flags[r.id]]
    grid = db.get(Grid, filters["grid_id"]) if filters["grid_id"] else None
    return dict(pending=pending, flagged=flagged, clear=clear, flags=flags, evidence=evidence, filters=filters,
                grid_label=f"{grid.code} {grid.name}" if grid and grid.station_id == current_user.station_id else "",
                shown=FLAGGED_SHOWN, clear_minutes=sum(r.minutes for r, _v in clear),
                all_minutes=sum(r.minutes for r, _v in pending), **notes)


@bp.get("/review")
@login_required
def review():
    """Pending records of my grids (the whole station for the coordinator), oldest first, to approve or reject:
    the doubtful ones first, to be ticked one by one; the clean ones in one fold with "select all"."""
    if not current_user.is_staff:
        return redirect(url_for("hours.mine"))
    return page("hours/review.html", "hours/_review.html", **review_context(review_filters(request.args)))


def left_out_note(batch: hours.Batch) -> str:
    if not batch.left_out:
        return ""
    return ngettext("%(num)d record with flags was not taken: look at it and tick it by itself.",
                    "%(num)d records with flags were not taken: look at each and tick it by itself.",
                    len(batch.left_out))


@bp.post("/review")
@login_required
def decide():
    """Approve or reject the ticked records (a rejection needs a reason); htmx gets the queue back in place. An
    approval first shows what it will do ("通过 43 条，共 61.5 小时？") and is done only with `confirm`; a select-all
    never takes a flagged record that was not ticked by itself."""
    db = get_session()
    approve = request.form.get("decision") != "reject"
    filters = {"grid_id": None, "month": None}
    try:
        filters = review_filters(request.form)
        batch = hours.chosen_batch(db, user=current_user, ids=hours.parse_ids(request.form.getlist("ids")),
                                   flagged_ids=hours.parse_ids(request.form.getlist("flagged")),
                                   select_all=bool(request.form.get("all")), **filters)
        if not batch.records:
            if batch.left_out:
                raise Invalid("flagged_one_by_one", N_("Nothing was taken: records with flags are ticked one by one."))
            raise Invalid("nothing_chosen", N_("Choose at least one record."))
        if approve and not request.form.get("confirm"):
            return page("hours/confirm.html", "hours/_confirm.html", batch=batch, filters=filters,
                        left_out=left_out_note(batch))
        records = hours.decide(db, user=current_user, record_ids=[r.id for r in batch.records],
                               approve=approve, reason=request.form.get("reason", ""), ip=client_ip())
    except DomainError as err:
        db.rollback()
        if err.status == 404 and not fragment_wanted():
            raise
        return page("hours/review.html", "hours/_review.html", err.status,
                    **review_context(filters, error=translate(err.message, err.params)))
    message = (_("Approved: %(count)d.", count=len(records)) if approve
               else _("Rejected: %(count)d.", count=len(records)))
    message = " ".join(filter(None, (message, left_out_note(batch))))
    if not fragment_wanted():
        flash(message, "success")
        return redirect(url_for("hours.review", grid=filters["grid_id"], month=filters["month"]))
    return page("hours/review.html", "hours/_review.html", **review_context(filters, message=message))


# --- One record, corrections, manual entries --------------------------------------------------------------------

def record_page(record_id: int, status: int = 200, **notes: Any):
    db = get_session()
    record = hours.visible_record(db, current_user, record_id)
    evidence = tasks.evidence_of(db, [record.assignment_id], with_overlap=False) if record.assignment_id else {}
    return render_template("hours/record.html", record=record, volunteer=db.get(User, record.volunteer_id),
                           flags=hours.review_flags(db, [record])[record.id],
                           ev=evidence.get(record.assignment_id) if record.assignment_id else None,
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
@role_required(roles.MANAGERS, N_("Only the coordinator adds hours by hand."))
def manual():
    """The coordinator's form for hours no patrol or task shows (training, event work)."""
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
    chosen = tally_args()
    rows, first, last = hours.scoped_tally(get_session(), current_user, chosen["start"], chosen["end"], chosen["by"],
                                           team=chosen["team"], grid=chosen["grid"])
    return rows, first, last, chosen


@bp.get("/tally")
@login_required
def tally():
    """Approved and pending hours per volunteer, team or grid for a period, with XLSX and CSV downloads."""
    if not current_user.is_staff:
        return redirect(url_for("hours.mine"))
    rows, first, last, chosen = run_tally()
    return page("hours/tally.html", "hours/_tally.html", rows=rows, first=first, last=last, chosen=chosen,
                total_approved=sum(r.approved_minutes for r in rows), total_pending=sum(r.pending_minutes for r in rows))


@bp.get("/export.<fmt>")
@login_required
@role_required(roles.STAFF, STAFF_ONLY)
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
    roles.require_staff(current_user, STAFF_ONLY)
    db = get_session()
    month = hours.parse_month(request.values.get("month") or last_month())
    by = "team" if request.values.get("by") == "team" else "grid"
    rows = hours.evaluation(db, current_user.station_id, month, by=by)
    if current_user.role == "officer" and by == "grid":
        mine = set(hours.scope_grid_ids(db, current_user) or [])
        rows = [r for r in rows if r.id in mine]
    is_certified = hours.is_certified(db, current_user.station_id, month)
    blockers = [] if is_certified else hours.certify_blockers(db, current_user.station_id, month)
    if current_user.role == "officer":  # an officer is shown what waits in their own grids
        scope = set(hours.scope_grid_ids(db, current_user) or [])
        blockers = [b for b in blockers if b.grid_id in scope]
    return page("hours/months.html", "hours/_evaluation.html", status, month=month, by=by, rows=rows,
                certified=hours.certified_months(db, current_user.station_id), is_certified=is_certified,
                is_over=hours.month_bounds(month)[1] < today(), blockers=blockers,
                waiting=sum(b.count for b in blockers), **notes)


@bp.get("/months")
@login_required
def months():
    """月考评 for a month, per grid or per team, and (for the coordinator) certifying the month."""
    if not current_user.is_staff:
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
