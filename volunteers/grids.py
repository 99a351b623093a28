"""Grids, their must-visit checkpoints (必到点) and routes (必巡线), and the signed QR codes on the posters."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any, Iterable

import shapely
import sqlalchemy as sa
import shapely.geometry
from sqlmodel import Session, select

from volunteers import db, geo
from volunteers.errors import Invalid, N_
from volunteers.models import Checkpoint, Grid, Route, RouteStop

QR_PREFIX = "PAV1"
# Typed codes are forgiven: any case, spaces, missing or extra dashes, PAVI for PAV1, and in the signature
# the look-alikes 0/1/8 for O/I/B (the base32 alphabet A-Z2-7 has no 0, 1, 8 or 9, so nothing is ambiguous).
_QR_RE = re.compile(r"PAV[1I]-*(\d+)-*([A-Z0-9]{10})(?![A-Z0-9])")
_LOOK_ALIKES = str.maketrans("018", "OIB")


def new_qr_secret() -> str:
    """A fresh per-checkpoint secret; rotating it voids every printed poster of that checkpoint."""
    return secrets.token_hex(16)


def qr_code(checkpoint: Checkpoint, key: str) -> str:
    """The text on a checkpoint's QR poster: PAV1-<id>-<10-letter signature>, short enough to type."""
    mac = hmac.new(key.encode(), f"{checkpoint.id}:{checkpoint.qr_secret}".encode(), hashlib.sha256).digest()
    return f"{QR_PREFIX}-{checkpoint.id}-{base64.b32encode(mac).decode()[:10]}"


def normalise_qr(code: str | None) -> str | None:
    """The canonical PAV1-<id>-<signature> in a scanned or typed text, or None when there is none."""
    cleaned = re.sub(r"\s+", "", (code or "").upper())
    match = _QR_RE.search(cleaned)  # a poster may carry a URL around the code
    if not match:
        return None
    return f"{QR_PREFIX}-{match.group(1)}-{match.group(2).translate(_LOOK_ALIKES)}"


def checkpoint_for_qr(session: Session, code: str, key: str) -> Checkpoint:
    """The checkpoint a scanned or typed QR code belongs to; refuses codes that are forged or rotated out."""
    code = normalise_qr(code)
    match = re.fullmatch(r"PAV1-(\d+)-[A-Z2-7]{10}", code or "")
    checkpoint = db.get(session, Checkpoint, int(match.group(1))) if match else None
    if checkpoint is None or not hmac.compare_digest(qr_code(checkpoint, key), code):
        raise Invalid("bad_qr", N_("This QR code is not valid. Check the code on the poster and try again."))
    return checkpoint


def checkpoints_in(session: Session, grid_ids: list[int], *, retired: bool = False) -> list[tuple[Checkpoint, Grid]]:
    """Checkpoints in use in these grids with their grid, in a stable order (retired ones too when asked)."""
    if not grid_ids:
        return []
    query = (select(Checkpoint, Grid).join(Grid, Grid.id == Checkpoint.grid_id)
             .where(Checkpoint.grid_id.in_(grid_ids)).order_by(Grid.code, Checkpoint.id))
    if not retired:
        query = query.where(Checkpoint.retired_at.is_(None))
    return list(session.exec(query))


def route_checkpoints(session: Session, route_id: int) -> list[Checkpoint]:
    """A route's checkpoints in patrol order."""
    rows = session.exec(
        select(Checkpoint).join(RouteStop, RouteStop.checkpoint_id == Checkpoint.id)
        .where(RouteStop.route_id == route_id).order_by(RouteStop.position)
    )
    return list(rows)


def first_route(session: Session, grid_id: int | None) -> Route | None:
    """The grid's main route (its lowest id), which a volunteer's patrol follows by default."""
    if grid_id is None:
        return None
    return session.exec(select(Route).where(Route.grid_id == grid_id).order_by(Route.id)).first()


class GridIndex:
    """Point-in-polygon lookup over a station's grids: an STRtree narrows, prepared polygons decide."""

    def __init__(self, rows: list[tuple[int, dict]], codes: dict[int, str] | None = None):
        self.ids = [grid_id for grid_id, _ in rows]
        self.codes = codes or {}  # grid id → code (a report's answer names its grid without asking again)
        self.shapes = [shapely.geometry.shape(boundary) for _, boundary in rows]
        for shape in self.shapes:
            shapely.prepare(shape)
        self.tree = shapely.STRtree(self.shapes)

    def locate(self, lat: float, lon: float) -> int | None:
        """The grid containing the point (its border counts; the lowest id wins on a shared border)."""
        point = shapely.Point(lon, lat)  # GeoJSON is lon, lat
        hits = [self.ids[i] for i in self.tree.query(point) if self.shapes[i].covers(point)]
        return min(hits) if hits else None


_grid_t = Grid.__table__
# The boundaries as stored text (no JSON parsing) and the codes: they are the cache key of the built index.
_BOUNDARIES = sa.select(_grid_t.c.id, sa.cast(_grid_t.c.boundary, sa.Text), _grid_t.c.code) \
    .where(_grid_t.c.station_id == sa.bindparam("station_id")).order_by(_grid_t.c.id)
# Built indexes by the exact (id, boundary text) rows they were built from: a grid edited, added or removed in any
# process changes the rows, so a stale index is never used. Bounded: a process serves at most a few stations.
_INDEXES: dict[tuple, GridIndex] = {}
_INDEXES_MAX = 64


def grid_index(session: Session, station_id: int) -> GridIndex:
    """The station's grid index: its grids' boundaries are read on every call (one query, ~dozens of rows), the
    shapes and tree built only when they changed (a hazard report without photos spent a third of its Python
    building them, issue 13)."""
    rows = tuple(tuple(r) for r in session.connection().execute(_BOUNDARIES, {"station_id": station_id}))
    index = _INDEXES.get(rows)
    if index is None:
        if len(_INDEXES) >= _INDEXES_MAX:
            _INDEXES.clear()
        index = _INDEXES[rows] = GridIndex([(grid_id, json.loads(text)) for grid_id, text, _code in rows],
                                           {grid_id: code for grid_id, _text, code in rows})
    return index


def locate(session: Session, station_id: int, lat: float, lon: float) -> int | None:
    """Which of the station's grids a point lies in; None means the station's own queue."""
    return grid_index(session, station_id).locate(lat, lon)


# --- Where a point is, in people's words ("东街村委会 东北 120 米") ----------------------------------------------

NEAR_M = 1000  # farther than this from every known place, a name would mislead more than it helps
AT_M = 15      # this close, the point is at the place (about a GPS fix's error)


@dataclass(frozen=True)
class Nearby:
    """A point described by the nearest known place: its name, the distance rounded as people say it, and the
    compass direction from the place to the point (None when the point is at the place)."""
    place: str
    distance_m: int
    direction: str | None


def spoken_metres(metres: float) -> int:
    """A distance as people say it: to 5 m under 100 m, to 10 m under 1 km, to 50 m beyond."""
    step = 5 if metres < 100 else 10 if metres < 1000 else 50
    return max(step, int(round(metres / step) * step))


def nearest(places: Iterable[tuple[str, float, float]], lat: float, lon: float, *,
            within: float = NEAR_M) -> Nearby | None:
    """The nearest of these (name, lat, lon) places to the point, or None when none lies within `within` metres.
    A flat-earth estimate picks the candidate (cheap for a list of reports); geopy measures the chosen one."""
    scale = math.cos(math.radians(lat))
    best = min(places, key=lambda p: (p[1] - lat) ** 2 + ((p[2] - lon) * scale) ** 2, default=None)
    if best is None:
        return None
    metres = geo.distance_m((best[1], best[2]), (lat, lon))
    if metres > within:
        return None
    if metres <= AT_M:
        return Nearby(place=best[0], distance_m=0, direction=None)
    return Nearby(place=best[0], distance_m=spoken_metres(metres),
                  direction=geo.compass(geo.bearing_deg((best[1], best[2]), (lat, lon))))


def known_places(session: Session, station_id: int) -> list[tuple[str, float, float]]:
    """The station's checkpoints in use, as (name, lat, lon): the places its people know by name."""
    rows = session.exec(select(Checkpoint.name, Checkpoint.lat, Checkpoint.lon).join(Grid, Grid.id == Checkpoint.grid_id)
                        .where(Grid.station_id == station_id, Checkpoint.retired_at.is_(None))
                        .order_by(Checkpoint.id))
    return [(name, lat, lon) for name, lat, lon in rows]


def whereabouts(session: Session, station_id: int, points: Iterable[tuple[Any, float | None, float | None]]
                ) -> dict[Any, Nearby]:
    """For each (key, lat, lon), the nearest known place of the station (keys without one, or without a point,
    are left out)."""
    places = known_places(session, station_id)
    found = {}
    for key, lat, lon in points:
        if lat is not None and lon is not None:
            near = nearest(places, lat, lon)
            if near is not None:
                found[key] = near
    return found
