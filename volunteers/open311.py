"""The Open311 GeoReport v2 view of hazards for partner systems: hazards only (never clues), no personal data."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from volunteers import hazards
from volunteers.errors import Invalid, N_
from volunteers.models import Hazard, Station, utcnow

# A page of requests (GeoReport v2 leaves paging to the server: `page` and `page_size`, as other Open311 servers
# name them). The default keeps an answer small for a phone-sized partner; the maximum bounds the cost of one
# request; pages deeper than MAX_DEPTH results are asked for by a narrower start_date/end_date instead.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
MAX_DEPTH = 10_000
DEFAULT_WINDOW = timedelta(days=90)
# Digit runs long enough to be a phone or ID-card number are blanked out of free text.
_NUMBERS = re.compile(r"\d[\d\s-]{5,}\d[Xx]?")


def redact(text: str) -> str:
    """Free text without phone or ID numbers (volunteers sometimes type them into descriptions)."""
    return _NUMBERS.sub("***", text or "")


def services() -> list[dict[str, Any]]:
    """One service per hazard category (the label is passed through `label` by the caller to translate)."""
    return [{"service_code": code, "service_name": hazards.CATEGORY_LABELS[code], "description": "",
             "metadata": False, "type": "realtime", "keywords": "", "group": "hazard"}
            for code in hazards.CATEGORIES]


def public_status(hazard: Hazard) -> str:
    """GeoReport knows two states: finished reports are closed, the rest open."""
    return "closed" if hazard.status in hazards.FINAL else "open"


def as_request(hazard: Hazard, iso) -> dict[str, Any]:
    """One service request, with nothing that identifies a person."""
    return {
        "service_request_id": str(hazard.id),
        "status": public_status(hazard),
        "status_notes": hazards.STATE_LABELS[hazard.status],
        "service_code": hazard.category,
        "service_name": hazards.CATEGORY_LABELS[hazard.category],
        "description": redact(hazard.description),
        "agency_responsible": "",
        "service_notice": "",
        "requested_datetime": iso(hazard.reported_at),
        "updated_datetime": iso(hazard.updated_at),
        "expected_datetime": iso(hazard.deadline) if hazard.deadline else None,
        "address": redact(hazard.address),
        "lat": hazard.lat,
        "long": hazard.lon,
        "media_url": None,
    }


def station_id_for(session: Session, jurisdiction: str) -> int | None:
    """GeoReport's jurisdiction_id is a station's code: the feed of one police station."""
    return session.exec(select(Station.id).where(Station.code == jurisdiction)).first()


def paging(page, page_size) -> tuple[int, int]:
    """`page` (from 1) and `page_size` (1 to MAX_PAGE_SIZE) as given, or the first page of the default size."""
    def whole(raw, default: int) -> int | None:
        if raw in (None, ""):
            return default
        text = str(raw).strip()
        return int(text) if text.isdigit() and len(text) < 9 else None
    number, size = whole(page, 1), whole(page_size, DEFAULT_PAGE_SIZE)
    if size is None or not 1 <= size <= MAX_PAGE_SIZE:
        raise Invalid("bad_page_size", N_("page_size must be a whole number from 1 to %(most)s."), most=MAX_PAGE_SIZE)
    if number is None or number < 1:
        raise Invalid("bad_page", N_("page must be a whole number from 1."))
    if number * size > MAX_DEPTH:
        raise Invalid("too_deep", N_("Only the first %(most)s requests can be paged through: narrow the period with "
                                     "start_date and end_date."), most=MAX_DEPTH)
    return number, size


def requests(session: Session, *, ids: list[int] | None = None, service_code: str | None = None,
             status: str | None = None, start: datetime | None = None, end: datetime | None = None,
             station_id: int | None = None, page: int = 1,
             page_size: int = DEFAULT_PAGE_SIZE) -> tuple[list[Hazard], bool]:
    """One page of hazards (never clues), newest first, and whether another page follows; by default those of the
    last 90 days; of one station when given (jurisdiction_id), else of every station this server holds."""
    query = select(Hazard).where(Hazard.kind == "hazard")
    if station_id is not None:
        query = query.where(Hazard.station_id == station_id)
    if ids:
        query = query.where(Hazard.id.in_(ids))
    else:
        end = end or utcnow()
        start = start or end - DEFAULT_WINDOW
        query = query.where(Hazard.reported_at >= start, Hazard.reported_at <= end)
    if service_code:
        query = query.where(Hazard.category.in_(service_code.split(",")))
    if status == "open":
        query = query.where(Hazard.status.not_in(hazards.FINAL))
    elif status == "closed":
        query = query.where(Hazard.status.in_(hazards.FINAL))
    query = query.order_by(Hazard.reported_at.desc(), Hazard.id.desc()).offset((page - 1) * page_size)
    rows = list(session.exec(query.limit(page_size + 1)))  # one more than the page: is there a next one?
    return rows[:page_size], len(rows) > page_size
