"""The phone's own clock, sent as an X-Device-Time header on every write (never in the frozen body)."""
from __future__ import annotations

from datetime import datetime

from flask import request

from volunteers import patrols
from volunteers.errors import Invalid


def device_time() -> datetime | None:
    """The device's clock at sending time, or None when absent or unreadable (it only feeds a flag)."""
    try:
        return patrols.parse_time(request.headers.get("X-Device-Time"), "X-Device-Time")
    except Invalid:
        return None
