"""The station's clock: days, weeks and months are Beijing time (Asia/Shanghai), whatever the server's zone."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from volunteers.models import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (tests take it from here too, never from date.today(), which is UTC)."""
    return (now or utcnow()).astimezone(SHANGHAI).date()
