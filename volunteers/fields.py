"""How request fields are named to people. Domain errors carry the raw field name (`field="lat"`); the web layer
shows it through FIELD_LABELS, so a Chinese sentence says “纬度”, not “lat”. API clients still get the code."""
from __future__ import annotations

from volunteers.errors import N_

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
