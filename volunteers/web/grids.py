"""Grid pages: the coordinator's grids with boundaries (typed, pasted or imported as GeoJSON) and officers; the
checkpoints placed on a map with a radius, the QR secret rotated, routes ordered, and the A4 QR posters printed.
Officers do the same for their own grids, except boundaries and officers; volunteers get 403."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required

from volunteers import boundaries, grids, posters, roles
from volunteers.errors import Conflict, DomainError, Invalid, N_
from volunteers.web.extensions import get_session
from volunteers.web.views import client_ip, fragment_wanted, map_data, page, role_required, submit, translate

bp = Blueprint("grids", __name__, url_prefix="/grids")


def confirm(**question: str):
    """The page (or htmx piece) that asks before a change: title, heading, warning, action, button, button_id, cancel."""
    return page("grids/confirm.html", "grids/_confirm.html", **question)


def message_of(err: DomainError) -> str:
    """The translated reason; a refused grid of a FeatureCollection says which one."""
    reason = translate(err.message, err.params)
    if getattr(err, "feature", None):
        return _("Grid %(number)d in the file: %(reason)s", number=err.feature, reason=reason)
    return reason


def save(work, **how: Any):
    """submit() for the grid pages: a refusal of any status shows the form again, in message_of's words."""
    return submit(work, reason=message_of, **{"reraise": (), **how})


def boundary_text() -> str | bytes:
    """The GeoJSON from the uploaded file when one was chosen, else from the text box."""
    upload = request.files.get("file")
    if upload and upload.filename:
        return upload.read(boundaries.MAX_BYTES + 1)
    return request.form.get("boundary", "")


# --- Grids -------------------------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    """The grids this person keeps, with their officers and a link to each."""
    db = get_session()
    found = grids.visible_grids(db, current_user)
    return render_template("grids/index.html", grids=found, coordinator=current_user.is_manager,
                           officers=grids.officers_by_grid(db, [g.id for g in found]),
                           map_data=map_data(found, [c for c, _g in grids.checkpoints_in(db, [g.id for g in found])]))


def render_grid_form(grid=None, *, form: dict[str, Any] | None = None, error: str | None = None, status: int = 200):
    """The new-grid or edit-boundary form, filled with what was typed."""
    db = get_session()
    others = [g for g in grids.visible_grids(db, current_user) if grid is None or g.id != grid.id]
    return page("grids/edit.html", "grids/_grid_form.html", status, grid=grid, form=form or {}, error=error,
                map_data=map_data(others))


@bp.get("/new")
@login_required
@role_required(roles.MANAGERS, grids.MANAGERS_ONLY)
def new():
    """The form for a new grid: code, name and the boundary as GeoJSON."""
    return render_grid_form()


@bp.post("/new")
@login_required
@role_required(roles.MANAGERS, grids.MANAGERS_ONLY)
def create():
    """Save the new grid; any problem shows the form again with the reason and nothing saved."""
    return save(lambda db: grids.save_grid(db, user=current_user, grid_id=None, code=request.form.get("code"),
                                            name=request.form.get("name"), boundary_text=boundary_text(),
                                            ip=client_ip()),
                done=lambda grid: _("Grid %(code)s was saved.", code=grid.code),
                redirect_to=lambda grid: url_for("grids.show", grid_id=grid.id),
                answer=lambda status, error: render_grid_form(form=request.form.to_dict(), error=error, status=status))


@bp.get("/<int:grid_id>/edit")
@login_required
@role_required(roles.MANAGERS, grids.MANAGERS_ONLY)
def edit(grid_id: int):
    """The grid's code, name and boundary to change."""
    grid = grids.grid_for(get_session(), current_user, grid_id)
    return render_grid_form(grid, form={"code": grid.code, "name": grid.name,
                                        "boundary": current_app.json.dumps(grid.boundary)})


@bp.post("/<int:grid_id>/edit")
@login_required
@role_required(roles.MANAGERS, grids.MANAGERS_ONLY)
def update(grid_id: int):
    """Save the changed grid; a refused boundary leaves the old one in place."""
    grid = grids.grid_for(get_session(), current_user, grid_id)
    return save(lambda db: grids.save_grid(db, user=current_user, grid_id=grid.id, code=request.form.get("code"),
                                            name=request.form.get("name"), boundary_text=boundary_text(),
                                            ip=client_ip()),
                done=lambda _saved: _("Grid %(code)s was saved.", code=grid.code),
                redirect_to=url_for("grids.show", grid_id=grid.id),
                answer=lambda status, error: render_grid_form(grid, form=request.form.to_dict(), error=error,
                                                              status=status))


@bp.get("/import")
@login_required
@role_required(roles.MANAGERS, grids.MANAGERS_ONLY)
def import_form():
    """Paste or upload a FeatureCollection of grids."""
    return page("grids/import.html", "grids/_import_form.html", form={})


@bp.post("/import")
@login_required
@role_required(roles.MANAGERS, grids.MANAGERS_ONLY)
def import_grids():
    """Create or update every grid in the file, or none when one of them is refused."""
    return save(lambda db: grids.import_grids(db, user=current_user, text=boundary_text(), ip=client_ip()),
                done=lambda both: _("Imported: %(created)d new grids, %(updated)d grids updated.",
                                    created=len(both[0]), updated=len(both[1])),
                redirect_to=url_for("grids.index"),
                answer=lambda status, error: page("grids/import.html", "grids/_import_form.html", status,
                                                  form=request.form.to_dict(), error=error))


@bp.get("/export.geojson")
@login_required
def export():
    """The grids this person keeps and their checkpoints as GeoJSON (Import reads it back)."""
    data = grids.export_geojson(get_session(), current_user)
    response = Response(json.dumps(data, ensure_ascii=False, indent=1), mimetype="application/geo+json")
    response.headers["Content-Disposition"] = 'attachment; filename="grids.geojson"'
    return response


def grid_context(grid, **extra: Any) -> dict[str, Any]:
    """Everything the grid page shows."""
    db = get_session()
    view = grids.grid_view(db, grid)
    context = dict(view=view, grid=grid, coordinator=current_user.is_manager,
                   officers=grids.station_officers(db, grid.station_id) if current_user.is_manager else [],
                   min_radius=grids.MIN_RADIUS_M, max_radius=grids.MAX_RADIUS_M, cp_form={"radius_m": "50"},
                   map_data=map_data([grid], view.checkpoints))
    context.update(extra)
    return context


@bp.get("/<int:grid_id>")
@login_required
def show(grid_id: int):
    """One grid: its map, checkpoints (with posters), routes and officers."""
    grid = grids.grid_for(get_session(), current_user, grid_id)
    return render_template("grids/show.html", **grid_context(grid))


@bp.post("/<int:grid_id>/officers")
@login_required
@role_required(roles.MANAGERS, grids.MANAGERS_ONLY)
def officers(grid_id: int):
    """The grid's officers become the ticked ones."""
    grid = grids.grid_for(get_session(), current_user, grid_id)
    return save(lambda db: grids.set_officers(db, user=current_user, grid_id=grid.id,
                                               officer_ids=request.form.getlist("officer_ids"), ip=client_ip()),
                done=_("The officers of grid %(code)s were saved.", code=grid.code),
                redirect_to=url_for("grids.show", grid_id=grid.id),
                answer=lambda status, error: (render_template("grids/show.html",
                                                              **grid_context(grid, officer_error=error)), status))


# --- Checkpoints -------------------------------------------------------------------------------------------

@bp.post("/<int:grid_id>/checkpoints")
@login_required
def add_checkpoint(grid_id: int):
    """Place a checkpoint; htmx gets the checkpoint list (with the form) back in place."""
    grid = grids.grid_for(get_session(), current_user, grid_id)

    def checkpoints(status: int, error: str | None = None, message: str | None = None):
        notes = dict(cp_form=request.form.to_dict(), cp_error=error) if error else dict(cp_message=message)
        return page("grids/show.html", "grids/_checkpoints.html", status, **grid_context(grid, **notes))

    return save(lambda db: grids.create_checkpoint(db, user=current_user, grid_id=grid.id,
                                                    data=request.form.to_dict(), ip=client_ip()),
                done=lambda checkpoint: _("The checkpoint “%(name)s” was placed.", name=checkpoint.name),
                redirect_to=url_for("grids.show", grid_id=grid.id), piece=True, in_page=True, answer=checkpoints)


@bp.get("/checkpoints/<int:checkpoint_id>/edit")
@login_required
def edit_checkpoint(checkpoint_id: int):
    """A checkpoint's name, place and radius to change."""
    checkpoint, grid = grids.checkpoint_for(get_session(), current_user, checkpoint_id)
    form = {"name": checkpoint.name, "lat": checkpoint.lat, "lon": checkpoint.lon, "radius_m": checkpoint.radius_m}
    return render_checkpoint_form(checkpoint, grid, form)


def render_checkpoint_form(checkpoint, grid, form, *, error: str | None = None, status: int = 200):
    tag_url = None if checkpoint.retired_at else scan_link(grids.qr_code(checkpoint, current_app.config["SECRET_KEY"]))
    return page("grids/checkpoint.html", "grids/_checkpoint_form.html", status, checkpoint=checkpoint, grid=grid,
                form=form, error=error, tag_url=tag_url, min_radius=grids.MIN_RADIUS_M, max_radius=grids.MAX_RADIUS_M,
                map_data=map_data([grid], [checkpoint]))


@bp.post("/checkpoints/<int:checkpoint_id>/edit")
@login_required
def update_checkpoint(checkpoint_id: int):
    """Save the checkpoint (it must stay inside its grid); its posters stay valid."""
    checkpoint, grid = grids.checkpoint_for(get_session(), current_user, checkpoint_id)
    return save(lambda db: grids.update_checkpoint(db, user=current_user, checkpoint_id=checkpoint.id,
                                                    data=request.form.to_dict(), ip=client_ip()),
                done=lambda _saved: _("The checkpoint “%(name)s” was saved.", name=checkpoint.name),
                redirect_to=url_for("grids.show", grid_id=grid.id),
                answer=lambda status, error: render_checkpoint_form(checkpoint, grid, request.form.to_dict(),
                                                                    error=error, status=status))


@bp.get("/checkpoints/<int:checkpoint_id>/rotate")
@login_required
def confirm_rotate(checkpoint_id: int):
    """Ask first: a new QR code voids every poster printed for this checkpoint."""
    checkpoint, grid = grids.checkpoint_for(get_session(), current_user, checkpoint_id)
    return confirm(title=_("New QR code"), heading=_("New QR code for “%(name)s”?", name=checkpoint.name),
                   warning=_("After this, every poster printed for “%(name)s” stops working. Volunteers scanning an "
                             "old poster will be refused until you put up the new one.", name=checkpoint.name),
                   action=url_for("grids.rotate", checkpoint_id=checkpoint.id), button_id="confirm-rotate",
                   button=_("Yes, make a new QR code"), cancel=url_for("grids.show", grid_id=grid.id))


@bp.post("/checkpoints/<int:checkpoint_id>/rotate")
@login_required
def rotate(checkpoint_id: int):
    """Give the checkpoint a new QR code; the old posters stop working."""
    db = get_session()
    checkpoint = grids.rotate_secret(db, user=current_user, checkpoint_id=checkpoint_id, ip=client_ip())
    flash(_("“%(name)s” has a new QR code. Print its poster again: the old one no longer works.",
            name=checkpoint.name), "success")
    return redirect(url_for("grids.show", grid_id=checkpoint.grid_id))


@bp.get("/checkpoints/<int:checkpoint_id>/retire")
@login_required
def confirm_retire(checkpoint_id: int):
    """Ask first: a retired checkpoint leaves its routes and its posters stop taking check-ins."""
    checkpoint, grid = grids.checkpoint_for(get_session(), current_user, checkpoint_id)
    if checkpoint.retired_at is not None:
        flash(_("“%(name)s” is already out of use.", name=checkpoint.name), "success")
        return redirect(url_for("grids.show", grid_id=grid.id, _anchor="checkpoints"))
    return confirm(title=_("Stop using a checkpoint"), heading=_("Stop using “%(name)s”?", name=checkpoint.name),
                   warning=_("“%(name)s” will leave every route, volunteers will no longer be asked to visit it, and "
                             "its posters will no longer check anyone in. Its past check-ins and tasks are kept, and "
                             "you can bring it back later.", name=checkpoint.name),
                   action=url_for("grids.retire", checkpoint_id=checkpoint.id), button_id="confirm-retire",
                   button=_("Yes, stop using it"), cancel=url_for("grids.show", grid_id=grid.id, _anchor="checkpoints"))


@bp.post("/checkpoints/<int:checkpoint_id>/retire")
@login_required
def retire(checkpoint_id: int):
    """Stop using the checkpoint; its history stays."""
    db = get_session()
    left = grids.retire_checkpoint(db, user=current_user, checkpoint_id=checkpoint_id, ip=client_ip())
    checkpoint, grid = grids.checkpoint_for(db, current_user, checkpoint_id)
    if left:
        flash(_("“%(name)s” is no longer in use and left these routes: %(routes)s.", name=checkpoint.name,
                routes="、".join(r.name for r in left)), "success")
    else:
        flash(_("“%(name)s” is no longer in use.", name=checkpoint.name), "success")
    return redirect(url_for("grids.show", grid_id=grid.id, _anchor="checkpoints"))


@bp.post("/checkpoints/<int:checkpoint_id>/restore")
@login_required
def restore(checkpoint_id: int):
    """Bring a retired checkpoint back; the list of checkpoints comes back in place for htmx."""
    db = get_session()
    checkpoint = grids.restore_checkpoint(db, user=current_user, checkpoint_id=checkpoint_id, ip=client_ip())
    grid = grids.grid_for(db, current_user, checkpoint.grid_id)
    done = _("“%(name)s” is in use again. Put it on a route if volunteers must visit it.", name=checkpoint.name)
    if not fragment_wanted():
        flash(done, "success")
        return redirect(url_for("grids.show", grid_id=grid.id, _anchor="checkpoints"))
    return page("grids/show.html", "grids/_checkpoints.html", **grid_context(grid, cp_message=done))


def scan_link(code: str) -> str:
    """What a poster's QR holds: the public address of /c/<code> (VOLUNTEERS_PUBLIC_URL, else this request's host)."""
    public = current_app.config.get("PUBLIC_URL")
    path = url_for("scan.show", code=code)
    return public + path if public else url_for("scan.show", code=code, _external=True)


PRINT_SIZES = {"a4": posters.posters_pdf, "sticker": posters.stickers_pdf}


def pdf_response(items, filename: str) -> Response:
    """The posters as an A4 PDF (?size=sticker: nine stickers to the sheet), in the station's language, shown in the
    browser (to print)."""
    make = PRINT_SIZES.get(request.args.get("size", "a4"))
    if make is None:
        raise Invalid("bad_size", N_("Choose a print size: an A4 poster or stickers."), status=400)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        data = make(items, current_app.config["SECRET_KEY"], gettext=_,
                    font_path=current_app.config["CJK_FONT"], link=scan_link)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # a rotated secret must not come back from a cache
    return response


@bp.get("/checkpoints/<int:checkpoint_id>/poster.pdf")
@login_required
def poster(checkpoint_id: int):
    """The A4 QR poster of one checkpoint."""
    checkpoint, grid = grids.checkpoint_for(get_session(), current_user, checkpoint_id)
    if checkpoint.retired_at is not None:  # a new poster for a point nobody may check in at would only mislead
        raise Conflict("checkpoint_retired", N_("“%(name)s” is no longer in use. Bring it back first."),
                       name=checkpoint.name)
    return pdf_response([(checkpoint, grid)], f"checkpoint-{checkpoint.id}.pdf")


@bp.get("/<int:grid_id>/posters.pdf")
@login_required
def grid_posters(grid_id: int):
    """Every checkpoint poster of the grid, one page each."""
    db = get_session()
    grid = grids.grid_for(db, current_user, grid_id)
    view = grids.grid_view(db, grid)
    if not view.checkpoints:
        flash(_("This grid has no checkpoints yet, so there is no poster to print."), "error")
        return redirect(url_for("grids.show", grid_id=grid.id))
    return pdf_response([(c, grid) for c in view.checkpoints], f"grid-{grid.id}-posters.pdf")


# --- Routes ------------------------------------------------------------------------------------------------

@bp.post("/<int:grid_id>/routes")
@login_required
def add_route(grid_id: int):
    """A new, empty route in the grid."""
    grid = grids.grid_for(get_session(), current_user, grid_id)
    return save(lambda db: grids.create_route(db, user=current_user, grid_id=grid.id, name=request.form.get("name"),
                                               ip=client_ip()),
                done=lambda route: _("The route “%(name)s” was created. Add its checkpoints in order.", name=route.name),
                redirect_to=lambda route: url_for("grids.show", grid_id=grid.id, _anchor=f"route-{route.id}"),
                answer=lambda status, error: (render_template("grids/show.html",
                                                              **grid_context(grid, route_error=error)), status))


def route_piece(route_id: int, status: int = 200, **notes: Any):
    """The route card (htmx) or the grid page."""
    db = get_session()
    route, grid = grids.route_for(db, current_user, route_id)
    context = grid_context(grid)
    stops = next(s for r, s in context["view"].routes if r.id == route.id)
    if fragment_wanted():
        return render_template("grids/_route.html", route=route, stops=stops, **context, **notes), status
    if status >= 400:
        return render_template("grids/show.html", **context, route_error=notes.get("error")), status
    return redirect(url_for("grids.show", grid_id=grid.id, _anchor=f"route-{route.id}"))


def change_route(route_id: int, change, **data: Any):
    """Apply one change to a route; a refusal comes back inside the route card (a missing route stays a 404)."""
    return save(lambda db: change(db, user=current_user, route_id=route_id, ip=client_ip(), **data),
                show=lambda _changed: route_piece(route_id), reraise=(404,),
                answer=lambda status, error: route_piece(route_id, status, error=error))


@bp.post("/routes/<int:route_id>/stops")
@login_required
def add_stop(route_id: int):
    """Put a checkpoint of the grid at the end of the route."""
    return change_route(route_id, grids.add_stop, checkpoint_id=request.form.get("checkpoint_id"))


@bp.post("/routes/<int:route_id>/stops/<int:checkpoint_id>/<action>")
@login_required
def stop(route_id: int, checkpoint_id: int, action: str):
    """Move a stop up or down, or take it off the route."""
    db = get_session()
    if action in ("up", "down"):
        grids.move_stop(db, user=current_user, route_id=route_id, checkpoint_id=checkpoint_id, direction=action,
                         ip=client_ip())
    elif action == "remove":
        grids.remove_stop(db, user=current_user, route_id=route_id, checkpoint_id=checkpoint_id, ip=client_ip())
    else:
        grids.route_for(db, current_user, route_id)
        return route_piece(route_id, 400, error=_("A stop moves up or down, or is removed."))
    return route_piece(route_id)


@bp.post("/routes/<int:route_id>/rename")
@login_required
def rename_route(route_id: int):
    """Give the route another name; htmx gets the route card back."""
    return change_route(route_id, grids.rename_route, name=request.form.get("name"))


@bp.get("/routes/<int:route_id>/delete")
@login_required
def confirm_delete_route(route_id: int):
    """Ask first: deleting a route takes it off volunteers' phones."""
    route, grid = grids.route_for(get_session(), current_user, route_id)
    return confirm(title=_("Delete a route"), heading=_("Delete the route “%(name)s”?", name=route.name),
                   warning=_("Volunteers will no longer be shown this route. Its checkpoints stay in the grid, and "
                             "past patrols keep their check-ins."),
                   action=url_for("grids.delete_route", route_id=route.id), button_id="confirm-delete-route",
                   button=_("Yes, delete the route"), cancel=url_for("grids.show", grid_id=grid.id, _anchor="routes"))


@bp.post("/routes/<int:route_id>/delete")
@login_required
def delete_route(route_id: int):
    """Delete the route; its checkpoints stay."""
    name, grid = grids.delete_route(get_session(), user=current_user, route_id=route_id, ip=client_ip())
    flash(_("The route “%(name)s” was deleted. Its checkpoints are still in the grid.", name=name), "success")
    return redirect(url_for("grids.show", grid_id=grid.id, _anchor="routes"))
