"""Geography: WGS-84 points, geodesic distances (geographiclib, what geopy.distance.geodesic computes), input checks
for coordinates."""
from __future__ import annotations

import math
from typing import Any

from geographiclib.geodesic import Geodesic  # geopy's own geodesic library

from volunteers.errors import Invalid, N_


_WGS84 = Geodesic.WGS84


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two (lat, lon) points on the WGS-84 ellipsoid."""
    # geographiclib's inverse problem, distance only: what geopy's geodesic() computes, without its wrapper objects
    # (it runs twice on every check-in, issue 13).
    return _WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"]


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


# The eight compass points, as people say where something is ("东北 120 米").
COMPASS = (N_("north"), N_("north-east"), N_("east"), N_("south-east"),
           N_("south"), N_("south-west"), N_("west"), N_("north-west"))


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The initial bearing from a to b in degrees clockwise from north (0–360), on the WGS-84 ellipsoid."""
    return Geodesic.WGS84.Inverse(a[0], a[1], b[0], b[1])["azi1"] % 360


def compass(degrees: float) -> str:
    """The nearest of the eight compass points (an untranslated msgid) for a bearing."""
    return COMPASS[int(((degrees % 360) + 22.5) // 45) % 8]
