"""Geography: WGS-84 points, geodesic distances (geographiclib, what geopy.distance.geodesic computes) and compass
bearings. Coordinates typed or sent are read in fields.py."""
from __future__ import annotations

import math

from geographiclib.geodesic import Geodesic  # geopy's own geodesic library

from volunteers.errors import N_


_WGS84 = Geodesic.WGS84


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two (lat, lon) points on the WGS-84 ellipsoid."""
    # geographiclib's inverse problem, distance only: what geopy's geodesic() computes, without its wrapper objects
    # (it runs twice on every check-in, issue 13).
    return _WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"]


_MEAN_RADIUS_M = 6_371_008.8  # the IUGG mean Earth radius


def rough_distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in metres on a sphere, flattened around the two points (equirectangular): within 0.5 % of
    distance_m() for points a few kilometres apart, at 1 % of its cost. For flags that compare with a threshold
    (the speed between two fixes), never for a distance shown to a person or a rule that refuses."""
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    x = math.radians(b[1] - a[1]) * math.cos((lat1 + lat2) / 2)
    return _MEAN_RADIUS_M * math.hypot(x, lat2 - lat1)


# The eight compass points, as people say where something is ("东北 120 米").
COMPASS = (N_("north"), N_("north-east"), N_("east"), N_("south-east"),
           N_("south"), N_("south-west"), N_("west"), N_("north-west"))


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The initial bearing from a to b in degrees clockwise from north (0–360), on the WGS-84 ellipsoid."""
    return Geodesic.WGS84.Inverse(a[0], a[1], b[0], b[1])["azi1"] % 360


def compass(degrees: float) -> str:
    """The nearest of the eight compass points (an untranslated msgid) for a bearing."""
    return COMPASS[int(((degrees % 360) + 22.5) // 45) % 8]
