"""Hazard pages: report one (with or without GPS), my reports, the officers' triage list and map, one report
with its history and the buttons that move it along."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteers import accounts, fields, grids, hazards, notifications, threads
from volunteers.errors import DomainError, Invalid, N_
from volunteers.models import Grid, Hazard, Team, User
from volunteers.photos import MAX_PER_REPORT
from volunteers.web.extensions import get_session
from volunteers.web.views import allowance, client_ip, map_data, nearby_thumb_url, page, photo_store, submit, voice_store, voice_upload

bp = Blueprint("hazards", __name__, url_prefix="/hazards")

LABELS = {"kind_labels": hazards.KIND_LABELS, "category_labels": hazards.CATEGORY_LABELS,
          "state_labels": hazards.STATE_LABELS, "priority_labels": hazards.PRIORITY_LABELS,
          "outcome_labels": hazards.OUTCOME_LABELS}
bp.context_processor(lambda: LABELS)  # every template of this blueprint shows these labels


def uploads() -> list[bytes]:
    """The chosen photos; the empty file inputs a browser sends when nothing was picked are skipped."""
    return [f.read() for f in request.files.getlist("photo") if f and f.filename]


def grid_map(grid_list, **layers: Any) -> dict[str, Any]:
    """A map of these grids with their checkpoints named, and these layers (report markers)."""
    return map_data(grid_list, [c for c, _g in grids.checkpoints_in(get_session(), [g.id for g in grid_list])],
                    **layers)


# --- Reporting ----------------------------------------------------------------------------------------

def render_form(*, form: dict[str, str] | None = None, error: str | None = None, status: int = 200):
    """The report form, filled with what was typed (photos must be picked again after an error)."""
    db = get_session()
    form = form or {}
    form.setdefault("client_id", request.form.get("client_id") or "")
    # The reporter's own grids with their checkpoints named (the station's grids for someone without one).
    mine = set(accounts.grid_ids(db, current_user))
    every = hazards.station_grids(db, current_user.station_id)
    shown_grids = [g for g in every if g.id in mine] or every
    return page("hazards/new.html", "hazards/_form.html", status, form=form, error=error, map_data=grid_map(shown_grids),
                categories=hazards.CATEGORIES, max_photos=MAX_PER_REPORT)


@bp.get("/new")
@login_required
def new():
    """The 上报隐患 form: kind, category, words, photos, and the place (GPS, a tap on the map, or an address)."""
    return render_form()


@bp.post("/")
@login_required
def create():
    """File the report and show it; on a problem, the form again with the reason and what was typed."""
    data = request.form.to_dict()
    if data.get("same_as"):  # "就是这个": join the open report nearby instead of a second one
        return submit(lambda db: threads.confirm(db, user=current_user, hazard_id=fields.integer(data, "same_as"),
                                                 data=data, uploads=uploads(), store=photo_store(), ip=client_ip(),
                                                 allowance=allowance())[0],
                      done=lambda hazard: _("Thank you! What you sent was added to report #%(id)d.", id=hazard.id),
                      redirect_to=lambda hazard: url_for("hazards.thread", hazard_id=hazard.id), reraise=(),
                      answer=lambda status, error: render_form(form=data, error=error, status=status))
    return submit(lambda db: hazards.report(db, user=current_user, data=data, uploads=uploads(), store=photo_store(),
                                            ip=client_ip(), allowance=allowance(), voice_note=voice_upload(),
                                            voice_store=voice_store())[0],
                  done=lambda hazard: _("Thank you! Your report #%(id)d has been sent to the police station.",
                                        id=hazard.id),
                  redirect_to=lambda hazard: url_for("hazards.show", hazard_id=hazard.id), reraise=(),
                  answer=lambda status, error: render_form(form=data, error=error, status=status))


@bp.get("/nearby")
@login_required
def nearby():
    """Open reports within 100 m of a point in the same category (don't report it twice); the report form asks it
    when the place or the category changes. A plain page too."""
    args = request.args.to_dict()
    try:
        point = fields.point(args, required=False)
    except DomainError:
        point = None
    items = threads.nearby(get_session(), current_user, point=point, category=args.get("category")) if point else []
    return page("hazards/nearby.html", "hazards/_nearby.html", items=items, asked=point is not None,
                radius=threads.NEARBY_M, thumb_url=nearby_thumb_url)


@bp.get("/mine")
@login_required
def mine():
    """What I reported, newest first, with where each stands."""
    items = hazards.mine(get_session(), current_user)
    return page("hazards/mine.html", "hazards/_mine.html", items=items, is_overdue=hazards.is_overdue,
                nearby=whereabouts(items))


def whereabouts(items) -> dict[int, grids.Nearby]:
    """Each report's place in people's words: the nearest checkpoint of the station, direction and distance."""
    return grids.whereabouts(get_session(), current_user.station_id, [(h.id, h.lat, h.lon) for h in items])


# --- Triage and map -------------------------------------------------------------------------------------

def filters() -> dict[str, Any]:
    """The triage filters from the query string; anything malformed is ignored. Open reports by default."""
    args = request.args
    grid = args.get("grid", "")
    status = args.get("status", "open")
    return {"status": status if status in hazards.STATES or status in ("open", "all") else "open",
            "category": args.get("category") if args.get("category") in hazards.CATEGORIES else "",
            "grid": int(grid) if grid.isdigit() else None,
            "overdue": args.get("overdue") == "1"}


# The triage list shows this many at first and this many more per tap of 显示更多, up to TRIAGE_MAX: a phone's first
# screen holds the most urgent, and a page of 200 rows cost ~0.4 s of rendering at province scale (bench/README.md).
TRIAGE_PAGE = 50
TRIAGE_MAX = 200


def shown() -> int:
    """How many rows of the triage list to show (?shown=, a multiple of TRIAGE_PAGE, at most TRIAGE_MAX)."""
    asked = request.args.get("shown", type=int) or TRIAGE_PAGE
    return min(TRIAGE_MAX, max(TRIAGE_PAGE, -(-asked // TRIAGE_PAGE) * TRIAGE_PAGE))


def triage_context(chosen: dict[str, Any], *, limit: int | None = None) -> dict[str, Any]:
    db = get_session()
    grids = hazards.triage_grids(db, current_user)
    limit = limit or shown()
    items = hazards.triage(db, current_user, status=None if chosen["status"] == "all" else chosen["status"],
                           category=chosen["category"] or None, grid_id=chosen["grid"], overdue=chosen["overdue"],
                           limit=limit + 1)  # one more than shown: whether there is more
    more = None
    if len(items) > limit:
        items = items[:limit]
        if limit < TRIAGE_MAX:
            more = url_for(request.endpoint, **(request.args.to_dict() | {"shown": limit + TRIAGE_PAGE}))
    return dict(items=items, more=more, grids=grids, grid_codes={g.id: g.code for g in grids}, chosen=chosen,
                nearby=whereabouts(items),
                queue=current_user.is_manager, is_overdue=hazards.is_overdue,
                states=hazards.STATES, categories=hazards.CATEGORIES)


@bp.get("/")
@login_required
def index():
    """Officers: reports in their grids (the coordinator: the whole station and its queue), filtered."""
    if not current_user.is_staff:
        return redirect(url_for("hazards.mine"))
    return page("hazards/index.html", "hazards/_rows.html", **triage_context(filters()))


@bp.get("/map", endpoint="map")
@login_required
def show_map():
    """Open reports of my grids on a map over the grid outlines, with the same list beside it."""
    if not current_user.is_staff:
        return redirect(url_for("hazards.mine"))
    context = triage_context({"status": "open", "category": "", "grid": None, "overdue": False}, limit=TRIAGE_MAX)
    points = [{"id": h.id, "lat": h.lat, "lon": h.lon, "overdue": hazards.is_overdue(h),
               "label": f"#{h.id} {_(hazards.CATEGORY_LABELS[h.category])}",
               "url": url_for("hazards.show", hazard_id=h.id)}
              for h in context["items"] if h.lat is not None]
    return page("hazards/map.html", "hazards/_rows.html", map_data=grid_map(context["grids"], points=points), **context)


# --- One report --------------------------------------------------------------------------------------

def detail_context(hazard, *, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    """Everything the report page shows to this viewer: the reporter only where the clue rules allow."""
    db = get_session()
    steps = hazards.history(db, current_user, hazard)
    user_ids = {hazard.assignee_id} | {s.event.detail.get("assignee_id") for s in steps}
    team_ids = {hazard.team_id} | {s.event.detail.get("team_id") for s in steps}
    people = {i: db.get(User, i).name for i in user_ids if i and db.get(User, i)}
    teams = {i: db.get(Team, i).name for i in team_ids if i and db.get(Team, i)}
    moves = hazards.next_states(db, current_user, hazard)
    volunteers, team_choices = hazards.assignment_choices(db, hazard) if "assigned" in moves else ([], [])
    reporter = db.get(User, hazard.reporter_id) if hazard.reporter_id and hazards.reporter_shown_to(
        db, current_user, hazard) else None
    return dict(h=hazard, steps=steps, moves=moves, grid=hazards.grid_code(db, hazard), people=people, teams=teams,
                near=whereabouts([hazard]).get(hazard.id),
                photos=hazards.report_photos(db, hazard), voice_notes=hazards.voice_notes(db, hazard),
                overdue=hazards.is_overdue(hazard), reporter=reporter,
                volunteers=volunteers, team_choices=team_choices, message=message, error=error,
                priority_choices=hazards.PRIORITIES, outcome_choices=hazards.OUTCOMES,
                map_data=grid_map([g for g in [db.get(Grid, hazard.grid_id) if hazard.grid_id else None] if g],
                                  max_zoom=17, points=[
                    {"id": hazard.id, "lat": hazard.lat, "lon": hazard.lon, "overdue": hazards.is_overdue(hazard),
                     "label": f"#{hazard.id}", "url": ""}] if hazard.lat is not None else []))


@bp.get("/<int:hazard_id>")
@login_required
def show(hazard_id: int):
    """One report: what, where, photos, map, history, and the next steps for those who may move it."""
    db = get_session()
    hazard = hazards.visible(db, current_user, hazard_id)
    notifications.mark_thread_read(db, current_user, hazard.id)
    return page("hazards/show.html", "hazards/_detail.html", **(detail_context(hazard) | thread_context(hazard)))


# --- The conversation to closure ----------------------------------------------------------------------------

def thread_context(hazard, *, message: str | None = None, error: str | None = None,
                   form: dict[str, str] | None = None) -> dict[str, Any]:
    """The report's thread for this viewer (None when they may not read it), and what they may do in it."""
    db = get_session()
    if not threads.may_read(db, current_user, hazard):
        return {"thread": None}
    count, names = threads.confirmations(db, hazard)
    return dict(h=hazard, thread=threads.messages(db, current_user, hazard), message_labels=threads.KIND_LABELS,
                may_reopen=threads.may_reopen(db, current_user, hazard), reopen_days=threads.REOPEN_DAYS,
                thread_message=message, thread_error=error, thread_form=form or {}, confirm_count=count,
                confirm_names=names if threads.works_on(db, current_user, hazard) else [],
                is_reporter=hazard.reporter_id == current_user.id, max_message_photos=threads.MAX_PHOTOS,
                asks=hazard.reporter_id != current_user.id and threads.works_on(db, current_user, hazard))


def thread_page(hazard_id: int, status: int = 200, **extra: Any):
    """The conversation page, or its piece for htmx."""
    db = get_session()
    hazard = threads.visible(db, current_user, hazard_id)
    notifications.mark_thread_read(db, current_user, hazard.id)
    return page("hazards/thread.html", "hazards/_thread.html", status, **thread_context(hazard, **extra),
                grid=hazards.grid_code(db, hazard))


@bp.get("/<int:hazard_id>/thread")
@login_required
def thread(hazard_id: int):
    """A report's conversation: the officer's questions, the reporter's answers and updates, with photos."""
    return thread_page(hazard_id)


@bp.post("/<int:hazard_id>/messages")
@login_required
def post_message(hazard_id: int):
    """Write in the conversation (the form without JavaScript; the phone's outbox uses the API)."""
    form = request.form.to_dict()
    return submit(lambda db: threads.post(db, user=current_user, hazard_id=hazard_id, data=form, uploads=uploads(),
                                          store=photo_store(), allowance=allowance(), ip=client_ip(),
                                          voice_note=voice_upload(), voice_store=voice_store()),
                  done=_("Sent."), redirect_to=url_for("hazards.thread", hazard_id=hazard_id),
                  answer=lambda status, **kw: thread_page(hazard_id, status, form=form, **kw), piece=True)


@bp.post("/<int:hazard_id>/reopen")
@login_required
def reopen(hazard_id: int):
    """又出现了: the reporter reopens a report closed less than 30 days ago."""
    form = request.form.to_dict()
    return submit(lambda db: threads.reopen(db, user=current_user, hazard_id=hazard_id, data=form, ip=client_ip()),
                  done=_("Thank you. The report is open again and the officer has been told."),
                  redirect_to=url_for("hazards.thread", hazard_id=hazard_id),
                  answer=lambda status, **kw: thread_page(hazard_id, status, form=form, **kw), piece=True)


@bp.post("/<int:hazard_id>/transition")
@login_required
def transition(hazard_id: int):
    """Take one step (accept, reject, assign, fixed, close …); htmx gets the new status and history in place."""
    hazards.visible(get_session(), current_user, hazard_id)

    def step(db):
        photos = uploads()
        if len(photos) > 1:
            raise Invalid("too_many_photos", N_("At most %(count)d photos per report."), count=1)
        return hazards.transition(db, user=current_user, hazard_id=hazard_id, data=request.form.to_dict(),
                                  photo=photos[0] if photos else None, store=photo_store(), ip=client_ip(),
                                  allowance=allowance())

    def detail(status: int, error: str | None = None, message: str | None = None):
        if error:  # the whole page again, thread and all, with the reason
            hazard = hazards.visible(get_session(), current_user, hazard_id)
            return page("hazards/show.html", "hazards/_detail.html", status,
                        **(detail_context(hazard, error=error) | thread_context(hazard)))
        # the step may have taken the report out of this officer's sight: show it as the step left it
        return page("hazards/show.html", "hazards/_detail.html",
                    **detail_context(get_session().get(Hazard, hazard_id), message=message))

    return submit(step, done=lambda hazard: _("Saved. The report is now: %(status)s.",
                                              status=_(hazards.STATE_LABELS[hazard.status])),
                  redirect_to=url_for("hazards.show", hazard_id=hazard_id), piece=True, in_page=True, reraise=(),
                  answer=detail)
