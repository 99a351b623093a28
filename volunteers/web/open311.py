"""Open311 GeoReport v2 (read-only) for partner systems: /open311/v2/services.json, requests.json, requests/<id>.json."""
from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _

from volunteers import open311, patrols
from volunteers.errors import Invalid
from volunteers.web.views import iso
from volunteers.web.extensions import csrf, get_session

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)


def georeport_error(status: int, description: str):
    """GeoReport's own error shape: a list of {code, description}."""
    return jsonify([{"code": status, "description": description}]), status


@bp.errorhandler(Invalid)
def invalid(err: Invalid):
    return georeport_error(400, _(err.message, **err.params))


def translated(item: dict) -> dict:
    for key in ("service_name", "status_notes"):
        if item.get(key):
            item[key] = _(item[key])
    return item


@bp.get("/services.json")
def services():
    """The kinds of hazard partners can read about."""
    return jsonify([translated(s) for s in open311.services()])


@bp.get("/requests.json")
def requests():
    """Hazards, filtered by service_request_id, service_code, status (open|closed), start_date, end_date; a page at a
    time (page, page_size), with a Link rel="next" header while more follow."""
    args = request.args
    ids = None
    if args.get("service_request_id"):
        try:
            ids = [int(i) for i in args["service_request_id"].split(",")]
        except ValueError:
            return georeport_error(400, _("service_request_id must be a list of numbers."))
    status = args.get("status")
    if status not in (None, "", "open", "closed"):
        return georeport_error(400, _("status must be open or closed."))
    station_id = None
    if args.get("jurisdiction_id"):  # one station's feed (its code); without it, every station on this server
        station_id = open311.station_id_for(get_session(), args["jurisdiction_id"])
        if station_id is None:
            return georeport_error(404, _("There is no such jurisdiction_id."))
    page, page_size = open311.paging(args.get("page"), args.get("page_size"))
    rows, more = open311.requests(get_session(), ids=ids, service_code=args.get("service_code") or None,
                                  status=status or None, start=patrols.parse_time(args.get("start_date"), "start_date"),
                                  end=patrols.parse_time(args.get("end_date"), "end_date"), station_id=station_id,
                                  page=page, page_size=page_size)
    response = jsonify([translated(open311.as_request(h, iso)) for h in rows])
    if more:  # the body stays GeoReport's plain list; the next page is named in a Link header (RFC 8288)
        following = url_for(".requests", **(args.to_dict() | {"page": page + 1, "page_size": page_size}), _external=True)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return response


@bp.get("/requests/<int:request_id>.json")
def show(request_id: int):
    """One hazard as a one-item list (GeoReport's convention); clues do not exist here."""
    rows, _more = open311.requests(get_session(), ids=[request_id], page_size=1)
    if not rows:
        return georeport_error(404, _("There is no such request."))
    return jsonify([translated(open311.as_request(rows[0], iso))])
