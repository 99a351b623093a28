"""The Open311 GeoReport v2 view of hazards for partner systems: hazards only (never clues), no personal data."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from volunteers import hazards
from volunteers.models import Hazard, Station, utcnow

MAX_RESULTS = 1000
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


def requests(session: Session, *, ids: list[int] | None = None, service_code: str | None = None,
             status: str | None = None, start: datetime | None = None, end: datetime | None = None,
             station_id: int | None = None) -> list[Hazard]:
    """Hazards (never clues), newest first; by default those of the last 90 days, at most 1,000; of one station when
    given (jurisdiction_id), else of every station this server holds."""
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
    return list(session.exec(query.order_by(Hazard.reported_at.desc(), Hazard.id.desc()).limit(MAX_RESULTS)))
