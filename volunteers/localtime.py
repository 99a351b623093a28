"""The station's clock: days, weeks and months are Beijing time (Asia/Shanghai), whatever the server's zone.
Every module takes SHANGHAI, today(), local_day() and month_of() from here."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from volunteers.models import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (tests take it from here too, never from date.today(), which is UTC)."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


def local_day(moment: datetime) -> date:
    """The calendar day of an instant in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI).date()


def month_of(moment: datetime) -> str:
    """YYYY-MM of a moment in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m")
