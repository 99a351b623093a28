"""Request fields: reading them (text, whole numbers) and naming them to people.

How request fields are named to people. Domain errors carry the raw field name (`field="lat"`); the web layer
shows it through FIELD_LABELS, so a Chinese sentence says “纬度”, not “lat”. API clients still get the code."""
from __future__ import annotations

import math
from typing import Any

from volunteers.errors import Invalid, N_

FIELD_LABELS = {
    "accuracy_m": N_("accuracy (metres)"), "address": N_("address"), "app_installs": N_("anti-fraud app installs"),
    "assignee_id": N_("person to assign"), "by": N_("grouping"), "capacity": N_("people needed"),
    "category": N_("category"), "checkpoint_id": N_("must-visit point"), "client_id": N_("request id (client_id)"),
    "day": N_("date"), "deadline": N_("deadline"), "description": N_("description"), "duplicate_of": N_("original report"),
    "ends_at": N_("end time"), "first_day": N_("first day"), "from": N_("from date"), "given_by": N_("given by"),
    "grid": N_("grid"), "hazard_id": N_("report"), "ids": N_("records"), "issuer": N_("issuer"), "kind": N_("kind"),
    "last_day": N_("last day"), "lat": N_("latitude"), "leaflets": N_("leaflets handed out"), "lon": N_("longitude"),
    "mediation_outcome": N_("mediation outcome"), "note": N_("note"), "notes": N_("notes"),
    "people": N_("people reached"), "place": N_("place"), "points": N_("positions"), "priority": N_("priority"),
    "qr": N_("QR code"), "radius_m": N_("radius (metres)"), "raised_by": N_("raised by"), "reason": N_("reason"),
    "recorded_at": N_("time on the phone"), "resolution": N_("resolution"), "skip_dates": N_("dates to skip"),
    "starts_at": N_("start time"), "team_id": N_("team"), "text": N_("text"), "title": N_("title"), "to": N_("to"),
    "volunteer_id": N_("volunteer"), "volunteer_ids": N_("volunteers"),
}


def label(field: str) -> str:
    """The msgid that names a field to people (the raw name when there is none)."""
    return FIELD_LABELS.get(field, field)


# --- Reading fields from a form or a JSON body (one set of rules and messages for every noun) -------------------

def text(data: dict[str, Any], field: str, limit: int, required: bool = False) -> str:
    """Trimmed text of at most `limit` characters; a number or list where text belongs is a 400."""
    value = data.get(field) or ""
    if not isinstance(value, str):
        raise Invalid("bad_text", N_("The field “%(field)s” must be text."), status=400, field=field)
    value = value.strip()
    if required and not value:
        raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field=field)
    if len(value) > limit:
        raise Invalid("too_long", N_("“%(field)s” may be at most %(limit)d characters."), field=field, limit=limit)
    return value


def integer(data: dict[str, Any], field: str, required: bool = False) -> int | None:
    """A whole number (an id, a count): 1.5 is not quietly 1, and JSON true or 1e400 are not numbers at all."""
    raw = data.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field=field)
        return None
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field=field)
    try:
        return int(raw)
    except (TypeError, ValueError, OverflowError):
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field=field) from None


def number(data: dict[str, Any], field: str, *, low: float, high: float, required: bool = True) -> float | None:
    """A finite number within [low, high] from a form or JSON value; clear 400/422 errors otherwise."""
    raw = data.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Invalid("missing_field", N_("The field “%(field)s” is required."), status=400, field=field)
        return None
    if isinstance(raw, bool):
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field=field)
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON integer too large for a float
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field=field) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Invalid("out_of_range", N_("The field “%(field)s” must be between %(low)s and %(high)s."),
                      field=field, low=low, high=high)
    return value


def point(data: dict[str, Any], *, required: bool = True) -> tuple[float, float] | None:
    """A (lat, lon) pair from the request, or None when both are absent and not required."""
    given = any(data.get(f) not in (None, "") for f in ("lat", "lon"))
    lat = number(data, "lat", low=-90, high=90, required=required or given)
    lon = number(data, "lon", low=-180, high=180, required=required or given)
    return None if lat is None else (lat, lon)
