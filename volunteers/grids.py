"""Grids, their must-visit checkpoints (必到点) and routes (必巡线), and the signed QR codes on the posters.

Also the station's places as a coordinator keeps them: grids and their officers, checkpoints, routes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Iterable

import shapely
import shapely.geometry
import shapely.ops
import sqlalchemy as sa
from sqlmodel import Session, select

from volunteers import accounts, audit, boundaries, db, fields, geo, roles
from volunteers.errors import Conflict, Invalid, N_, NotFound
from volunteers.models import Checkpoint, Grid, GridOfficer, Route, RouteStop, User, utcnow

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


# --- Keeping the station's places: grids, officers, checkpoints, routes --------------------------------------------

MIN_RADIUS_M, MAX_RADIUS_M = 10, 500


# --- Who may see and change what -------------------------------------------------------------------------
# Volunteers have nothing to do on these pages; boundaries and officer lists are the managers' (roles.py).
STAFF_ONLY = N_("Only officers and coordinators keep grids and checkpoints.")
MANAGERS_ONLY = N_("Only the station's coordinator changes grid boundaries and officers.")


def visible_grids(session: Session, user: User) -> list[Grid]:
    """The coordinator's whole station; an officer's own grids."""
    roles.require_staff(user, STAFF_ONLY)
    ids = accounts.grid_ids(session, user)
    if not ids:
        return []
    return list(session.exec(select(Grid).where(Grid.id.in_(ids)).order_by(Grid.code)))


def grid_for(session: Session, user: User, grid_id: int) -> Grid:
    """A grid this person keeps; 404 for any other (403 for volunteers)."""
    roles.require_staff(user, STAFF_ONLY)
    grid = db.get(session, Grid, grid_id)
    if grid is None or grid.station_id != user.station_id or grid.id not in accounts.grid_ids(session, user):
        raise NotFound(N_("This grid does not exist."))
    return grid


def checkpoint_for(session: Session, user: User, checkpoint_id: int) -> tuple[Checkpoint, Grid]:
    """A checkpoint of a grid this person keeps, with its grid; 404 for any other."""
    return _in_my_grid(session, user, Checkpoint, checkpoint_id, N_("This checkpoint does not exist."))


def route_for(session: Session, user: User, route_id: int) -> tuple[Route, Grid]:
    """A route of a grid this person keeps, with its grid; 404 for any other."""
    return _in_my_grid(session, user, Route, route_id, N_("This route does not exist."))


def _in_my_grid(session: Session, user: User, model: type, row_id: int, missing: str):
    """The row (a checkpoint or route) and its grid when this person keeps that grid; otherwise the same 404 as for
    a row that does not exist (another grid's ids are not told apart from missing ones)."""
    roles.require_staff(user, STAFF_ONLY)
    row = db.get(session, model, row_id)
    if row is None:
        raise NotFound(missing)
    try:
        return row, grid_for(session, user, row.grid_id)
    except NotFound:
        raise NotFound(missing) from None


# --- Reading -----------------------------------------------------------------------------------------------

@dataclass
class GridView:
    """What the grid page shows: the grid, its officers, checkpoints and routes (each with its stops in order)."""
    grid: Grid
    officers: list[User] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    routes: list[tuple[Route, list[Checkpoint]]] = field(default_factory=list)
    retired: list[Checkpoint] = field(default_factory=list)  # no longer in use, kept for their history


def officers_by_grid(session: Session, grid_ids: list[int]) -> dict[int, list[User]]:
    """The officers holding each of these grids."""
    found: dict[int, list[User]] = {gid: [] for gid in grid_ids}
    if grid_ids:
        rows = session.exec(select(GridOfficer.grid_id, User).join(User, User.id == GridOfficer.user_id)
                            .where(GridOfficer.grid_id.in_(grid_ids)).order_by(User.name, User.id))
        for gid, user in rows:
            found[gid].append(user)
    return found


def station_officers(session: Session, station_id: int) -> list[User]:
    """Everyone who may hold a grid: the station's officers."""
    return list(session.exec(select(User).where(User.station_id == station_id, User.role == "officer")
                             .order_by(User.name, User.id)))


def grid_view(session: Session, grid: Grid) -> GridView:
    """The grid with its officers, checkpoints and routes."""
    every = list(session.exec(select(Checkpoint).where(Checkpoint.grid_id == grid.id).order_by(Checkpoint.id)))
    routes = list(session.exec(select(Route).where(Route.grid_id == grid.id).order_by(Route.id)))
    return GridView(grid=grid, officers=officers_by_grid(session, [grid.id])[grid.id],
                    checkpoints=[c for c in every if c.retired_at is None],
                    routes=[(r, route_checkpoints(session, r.id)) for r in routes],
                    retired=[c for c in every if c.retired_at is not None])


# --- Grids -------------------------------------------------------------------------------------------------

def _code_and_name(code: Any, name: Any) -> tuple[str, str]:
    code, name = str(code or "").strip(), str(name or "").strip()
    if not code or len(code) > 32:
        raise Invalid("bad_code", N_("Give the grid a code of 1 to 32 characters, like G5."))
    if not name or len(name) > 100:
        raise Invalid("bad_name", N_("Give the grid a name of 1 to 100 characters."))
    return code, name


def _others(session: Session, station_id: int, skip: set[int]) -> list[tuple[str, dict]]:
    rows = session.exec(select(Grid).where(Grid.station_id == station_id).order_by(Grid.id))
    return [(g.code, g.boundary) for g in rows if g.id not in skip]


def _keeps_checkpoints(session: Session, grid: Grid, boundary: dict, feature: int | None = None) -> None:
    """A new boundary may not leave the grid's own checkpoints outside it."""
    shape = boundaries.shape(boundary)
    for cp in session.exec(select(Checkpoint).where(Checkpoint.grid_id == grid.id).order_by(Checkpoint.id)):
        if not shape.covers(shapely.Point(cp.lon, cp.lat)):
            raise boundaries.GeoJSONError("leaves_checkpoint_out", N_("The new boundary leaves the checkpoint “%(name)s” "
                                                                   "outside grid %(grid)s. Move the checkpoint first "
                                                                   "or draw the boundary around it."),
                                       feature=feature, name=cp.name, grid=grid.code)


def save_grid(session: Session, *, user: User, grid_id: int | None, code: Any, name: Any, boundary_text: str | bytes,
              ip: str | None = None) -> Grid:
    """Create a grid (grid_id None) or change one's code, name and boundary; the coordinator only."""
    roles.require_manager(user, MANAGERS_ONLY)
    grid = grid_for(session, user, grid_id) if grid_id is not None else None
    shapes = boundaries.grid_shapes(boundary_text)
    if len(shapes) != 1:
        raise Invalid("one_grid", N_("Paste one boundary here; use Import for a file with several grids."))
    code, name = _code_and_name(code or shapes[0].code, name or shapes[0].name)
    boundary = shapes[0].boundary
    clash = session.exec(select(Grid).where(Grid.station_id == user.station_id, Grid.code == code)).first()
    if clash is not None and (grid is None or clash.id != grid.id):
        raise Conflict("code_taken", N_("There is already a grid with the code %(grid)s."), grid=code)
    boundaries.overlap(boundary, _others(session, user.station_id, {grid.id} if grid else set()))
    if grid is None:
        grid = Grid(station_id=user.station_id, code=code, name=name, boundary=boundary)
        with db.unique_or(session, Conflict("code_taken", N_("There is already a grid with the code %(grid)s."),
                                            grid=code)):  # made at the same instant by someone else
            session.add(grid)
        audit.record(session, actor_id=user.id, action="grid.create", obj=grid, ip=ip, grid=code)
    else:
        _keeps_checkpoints(session, grid, boundary)
        changed = [k for k, v in (("code", code), ("name", name), ("boundary", boundary)) if getattr(grid, k) != v]
        grid.code, grid.name, grid.boundary = code, name, boundary
        session.add(grid)
        audit.record(session, actor_id=user.id, action="grid.update", obj=grid, ip=ip, changed=changed)
    session.commit()
    return grid


def import_grids(session: Session, *, user: User, text: str | bytes, ip: str | None = None) -> tuple[list[Grid], list[Grid]]:
    """Grids from a FeatureCollection (or one Feature) with code and name properties: new codes are created, known
    codes get the new boundary and name. Point Features with grid and name are checkpoints (as exported): new names
    are placed, known ones moved. All or nothing."""
    roles.require_manager(user, MANAGERS_ONLY)
    shapes = boundaries.grid_shapes(text)
    points = boundaries.checkpoint_points(text)
    existing = {g.code: g for g in session.exec(select(Grid).where(Grid.station_id == user.station_id))}
    seen: set[str] = set()
    for number, item in enumerate(shapes, start=1):
        if not item.code or not item.name:
            raise boundaries.GeoJSONError("missing_properties", N_("Every grid needs “code” and “name” in its "
                                                                "properties."), feature=number)
        if item.code in seen:
            raise boundaries.GeoJSONError("code_twice", N_("The code %(grid)s appears twice in the file."),
                                       feature=number, grid=item.code)
        seen.add(item.code)
    replaced = {existing[c].id for c in seen if c in existing}
    placed = _others(session, user.station_id, replaced)
    for number, item in enumerate(shapes, start=1):
        boundaries.overlap(item.boundary, placed, feature=number)
        if item.code in existing:
            _keeps_checkpoints(session, existing[item.code], item.boundary, feature=number)
        placed.append((item.code, item.boundary))
    created, updated = [], []
    for item in shapes:
        grid = existing.get(item.code)
        if grid is None:
            grid = Grid(station_id=user.station_id, code=item.code, name=item.name, boundary=item.boundary)
            with db.unique_or(session, Conflict("code_taken", N_("There is already a grid with the code %(grid)s."),
                                                grid=item.code)):  # made at the same instant by someone else
                session.add(grid)
            created.append(grid)
            audit.record(session, actor_id=user.id, action="grid.create", obj=grid, ip=ip, code=grid.code, imported=True)
        else:
            grid.name, grid.boundary = item.name, item.boundary
            session.add(grid)
            updated.append(grid)
            audit.record(session, actor_id=user.id, action="grid.update", obj=grid, ip=ip, changed=["name", "boundary"],
                         imported=True)
    if points:
        _import_checkpoints(session, user, points, ip)
    session.commit()
    return created, updated


def _import_checkpoints(session: Session, user: User, points: list[boundaries.CheckpointPoint], ip: str | None) -> None:
    """Place (or move) the file's checkpoints in their grids, each checked as a typed one is."""
    session.flush()
    by_code = {g.code: g for g in session.exec(select(Grid).where(Grid.station_id == user.station_id))}
    for item in points:
        grid = by_code.get(item.grid)
        if grid is None:
            raise Invalid("unknown_grid", N_("The checkpoint “%(name)s” is in grid %(grid)s, which is neither in the "
                                             "file nor in the station."), name=item.name, grid=item.grid)
        name, lat, lon, radius = _checkpoint_fields(grid, {"name": item.name, "lat": item.lat, "lon": item.lon,
                                                           "radius_m": item.radius_m})
        checkpoint = session.exec(select(Checkpoint).where(Checkpoint.grid_id == grid.id,
                                                           Checkpoint.name == name)).first()
        if checkpoint is None:
            checkpoint = Checkpoint(grid_id=grid.id, name=name, lat=lat, lon=lon, radius_m=radius,
                                    qr_secret=new_qr_secret())
            session.add(checkpoint)
            session.flush()
            audit.record(session, actor_id=user.id, action="checkpoint.create", obj=checkpoint, ip=ip,
                         grid_id=grid.id, lat=lat, lon=lon, radius_m=radius, imported=True)
        elif (checkpoint.lat, checkpoint.lon, checkpoint.radius_m) != (lat, lon, radius):
            before = {"lat": checkpoint.lat, "lon": checkpoint.lon, "radius_m": checkpoint.radius_m}
            checkpoint.lat, checkpoint.lon, checkpoint.radius_m = lat, lon, radius
            session.add(checkpoint)
            audit.record(session, actor_id=user.id, action="checkpoint.update", obj=checkpoint, ip=ip, before=before,
                         imported=True)


def export_geojson(session: Session, user: User) -> dict:
    """The grids this person keeps and their checkpoints in use, as a FeatureCollection import reads back."""
    shown = visible_grids(session, user)
    return boundaries.export([(g.code, g.name, g.boundary) for g in shown],
                          [(g.code, c.name, c.lat, c.lon, c.radius_m)
                           for c, g in checkpoints_in(session, [g.id for g in shown])])


def set_officers(session: Session, *, user: User, grid_id: int, officer_ids: list[Any], ip: str | None = None) -> list[User]:
    """The grid's officers become exactly these people, each an officer of the same station."""
    roles.require_manager(user, MANAGERS_ONLY)
    grid = grid_for(session, user, grid_id)
    wanted: list[User] = []
    for raw in officer_ids:
        person = db.get(session, User, int(raw)) if str(raw).isdigit() else None
        if person is None or person.station_id != grid.station_id or person.role != "officer":
            raise Invalid("not_an_officer", N_("Only officers of this station can hold a grid."))
        if person not in wanted:
            wanted.append(person)
    before = set(session.exec(select(GridOfficer.user_id).where(GridOfficer.grid_id == grid.id)))
    after = {p.id for p in wanted}
    for link in session.exec(select(GridOfficer).where(GridOfficer.grid_id == grid.id)):
        if link.user_id not in after:
            session.delete(link)
    with db.unique_or(session, Conflict("officers_changed_meanwhile", N_("The officers of this grid were changed "
                                                                      "just now by someone else. Please reload."))):
        for person_id in sorted(after - before):
            session.add(GridOfficer(grid_id=grid.id, user_id=person_id))
    audit.record(session, actor_id=user.id, action="grid.officers", obj=grid, ip=ip,
                 added=sorted(after - before), removed=sorted(before - after))
    session.commit()
    return wanted


# --- Checkpoints -------------------------------------------------------------------------------------------

def _checkpoint_fields(grid: Grid, data: dict[str, Any]) -> tuple[str, float, float, int]:
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        raise Invalid("bad_name", N_("Give the checkpoint a name of 1 to 100 characters."))
    lat, lon = fields.point(data)
    raw = data.get("radius_m")
    try:
        radius = int(str(raw).strip()) if raw not in (None, "") else 50
    except ValueError:
        raise Invalid("bad_number", N_("The field “%(field)s” must be a number."), status=400, field="radius_m") from None
    if not MIN_RADIUS_M <= radius <= MAX_RADIUS_M:
        raise Invalid("bad_radius", N_("The radius must be between %(low)d and %(high)d metres."),
                      low=MIN_RADIUS_M, high=MAX_RADIUS_M)
    shape = boundaries.shape(grid.boundary)
    point = shapely.Point(lon, lat)
    if not shape.covers(point):
        nearest = shapely.ops.nearest_points(shape, point)[0]
        away = geo.distance_m((lat, lon), (nearest.y, nearest.x))
        raise Invalid("outside_grid", N_("This point is about %(distance)d m outside grid %(grid)s. Put the "
                                         "checkpoint inside the grid's boundary."), distance=max(1, round(away)),
                      grid=grid.code)
    return name, round(lat, 7), round(lon, 7), radius


def _name_taken(session: Session, grid_id: int, name: str, skip: int | None) -> None:
    clash = session.exec(select(Checkpoint).where(Checkpoint.grid_id == grid_id, Checkpoint.name == name)).first()
    if clash is not None and clash.id != skip:
        raise Conflict("name_taken", N_("This grid already has a checkpoint called “%(name)s”."), name=name)


def create_checkpoint(session: Session, *, user: User, grid_id: int, data: dict[str, Any],
                      ip: str | None = None) -> Checkpoint:
    """Place a checkpoint in a grid this person keeps: a name, a point inside the grid, a radius of 10–500 m."""
    grid = grid_for(session, user, grid_id)
    name, lat, lon, radius = _checkpoint_fields(grid, data)
    _name_taken(session, grid.id, name, None)
    checkpoint = Checkpoint(grid_id=grid.id, name=name, lat=lat, lon=lon, radius_m=radius,
                            qr_secret=new_qr_secret())
    session.add(checkpoint)
    session.flush()
    audit.record(session, actor_id=user.id, action="checkpoint.create", obj=checkpoint, ip=ip, grid_id=grid.id,
                 lat=lat, lon=lon, radius_m=radius)
    session.commit()
    return checkpoint


def update_checkpoint(session: Session, *, user: User, checkpoint_id: int, data: dict[str, Any],
                      ip: str | None = None) -> Checkpoint:
    """Rename, move (within its grid) or resize a checkpoint; its posters stay valid."""
    checkpoint, grid = checkpoint_for(session, user, checkpoint_id)
    name, lat, lon, radius = _checkpoint_fields(grid, data)
    _name_taken(session, grid.id, name, checkpoint.id)
    before = {"name": checkpoint.name, "lat": checkpoint.lat, "lon": checkpoint.lon, "radius_m": checkpoint.radius_m}
    checkpoint.name, checkpoint.lat, checkpoint.lon, checkpoint.radius_m = name, lat, lon, radius
    session.add(checkpoint)
    audit.record(session, actor_id=user.id, action="checkpoint.update", obj=checkpoint, ip=ip, before=before)
    session.commit()
    return checkpoint


def rotate_secret(session: Session, *, user: User, checkpoint_id: int, ip: str | None = None) -> Checkpoint:
    """A new QR secret: every poster printed before stops working."""
    checkpoint, _grid = checkpoint_for(session, user, checkpoint_id)
    checkpoint.qr_secret = new_qr_secret()
    session.add(checkpoint)
    audit.record(session, actor_id=user.id, action="checkpoint.rotate_qr", obj=checkpoint, ip=ip)
    session.commit()
    return checkpoint


def retire_checkpoint(session: Session, *, user: User, checkpoint_id: int, ip: str | None = None) -> list[Route]:
    """Stop using a checkpoint (the shop closed, the gate moved): it leaves every route, its posters take no more
    check-ins and it is no longer a must-visit point; its check-ins and tasks keep it. Returns the routes it left."""
    checkpoint, _grid = checkpoint_for(session, user, checkpoint_id)
    if checkpoint.retired_at is not None:
        return []
    left = list(session.exec(select(Route).join(RouteStop, RouteStop.route_id == Route.id)
                             .where(RouteStop.checkpoint_id == checkpoint.id).order_by(Route.id)))
    for route in left:
        _renumber(session, route, [s.checkpoint_id for s in _stops(session, route.id) if s.checkpoint_id != checkpoint.id])
    checkpoint.retired_at = utcnow()
    session.add(checkpoint)
    audit.record(session, actor_id=user.id, action="checkpoint.retire", obj=checkpoint, ip=ip,
                 routes=[r.id for r in left])
    session.commit()
    return left


def restore_checkpoint(session: Session, *, user: User, checkpoint_id: int, ip: str | None = None) -> Checkpoint:
    """Bring a retired checkpoint back into use (its old posters work again); put it on a route again by hand."""
    checkpoint, _grid = checkpoint_for(session, user, checkpoint_id)
    if checkpoint.retired_at is not None:
        checkpoint.retired_at = None
        session.add(checkpoint)
        audit.record(session, actor_id=user.id, action="checkpoint.restore", obj=checkpoint, ip=ip)
        session.commit()
    return checkpoint


# --- Routes ------------------------------------------------------------------------------------------------

def create_route(session: Session, *, user: User, grid_id: int, name: Any, ip: str | None = None) -> Route:
    """A new, empty route in a grid this person keeps."""
    grid = grid_for(session, user, grid_id)
    route = Route(grid_id=grid.id, name=_route_name(session, grid, name, None))
    session.add(route)
    session.flush()
    audit.record(session, actor_id=user.id, action="route.create", obj=route, ip=ip, grid_id=grid.id)
    session.commit()
    return route


def _route_name(session: Session, grid: Grid, raw: Any, skip: int | None) -> str:
    name = str(raw or "").strip()
    if not name or len(name) > 100:
        raise Invalid("bad_name", N_("Give the route a name of 1 to 100 characters."))
    clash = session.exec(select(Route).where(Route.grid_id == grid.id, Route.name == name)).first()
    if clash is not None and clash.id != skip:
        raise Conflict("name_taken", N_("This grid already has a route called “%(name)s”."), name=name)
    return name


def rename_route(session: Session, *, user: User, route_id: int, name: Any, ip: str | None = None) -> Route:
    """Give a route another name (unique in its grid)."""
    route, grid = route_for(session, user, route_id)
    new = _route_name(session, grid, name, route.id)
    if new != route.name:
        audit.record(session, actor_id=user.id, action="route.rename", obj=route, ip=ip, before=route.name)
        route.name = new
        session.add(route)
        session.commit()
    return route


def delete_route(session: Session, *, user: User, route_id: int, ip: str | None = None) -> tuple[str, Grid]:
    """Delete a route and its stops; its checkpoints stay, and past patrols on it keep their check-ins (they lose
    only the link to the route). The grid's next route becomes its volunteers' default. Returns the name and grid."""
    route, grid = route_for(session, user, route_id)
    audit.record(session, actor_id=user.id, action="route.delete", obj=route, ip=ip, name=route.name, grid_id=grid.id,
                 stops=[s.checkpoint_id for s in _stops(session, route.id)])
    name = route.name
    session.execute(sa.delete(RouteStop).where(RouteStop.route_id == route.id))
    session.delete(route)
    session.commit()
    return name, grid


def _stops(session: Session, route_id: int) -> list[RouteStop]:
    return list(session.exec(select(RouteStop).where(RouteStop.route_id == route_id).order_by(RouteStop.position)))


def _renumber(session: Session, route: Route, checkpoint_ids: list[int]) -> None:
    """Rewrite the route's stops as this order (the position is part of the key, so rows are rewritten in place)."""
    stops = _stops(session, route.id)
    for stop, checkpoint_id in zip(stops, checkpoint_ids):
        stop.checkpoint_id = checkpoint_id
        session.add(stop)
    for stop in stops[len(checkpoint_ids):]:
        session.delete(stop)
    start = stops[-1].position + 1 if stops else 0
    for offset, checkpoint_id in enumerate(checkpoint_ids[len(stops):]):
        session.add(RouteStop(route_id=route.id, position=start + offset, checkpoint_id=checkpoint_id))


def add_stop(session: Session, *, user: User, route_id: int, checkpoint_id: Any, ip: str | None = None) -> Route:
    """Put a checkpoint of the route's own grid at the end of the route (once)."""
    route, grid = route_for(session, user, route_id)
    checkpoint = db.get(session, Checkpoint, int(checkpoint_id)) if str(checkpoint_id or "").isdigit() else None
    if checkpoint is None or checkpoint.grid_id != grid.id:
        raise Invalid("other_grid", N_("A route can only pass checkpoints of its own grid (%(grid)s)."), grid=grid.code)
    if checkpoint.retired_at is not None:
        raise Conflict("checkpoint_retired", N_("“%(name)s” is no longer in use. Bring it back first."),
                       name=checkpoint.name)
    order = [s.checkpoint_id for s in _stops(session, route.id)]
    if checkpoint.id in order:
        raise Conflict("already_on_route", N_("“%(name)s” is already on this route."), name=checkpoint.name)
    _renumber(session, route, [*order, checkpoint.id])
    audit.record(session, actor_id=user.id, action="route.add_stop", obj=route, ip=ip, checkpoint_id=checkpoint.id)
    session.commit()
    return route


def _index(order: list[int], checkpoint_id: Any) -> int:
    if not str(checkpoint_id or "").isdigit() or int(checkpoint_id) not in order:
        raise NotFound(N_("This checkpoint is not on the route."))
    return order.index(int(checkpoint_id))


def move_stop(session: Session, *, user: User, route_id: int, checkpoint_id: Any, direction: str,
              ip: str | None = None) -> Route:
    """Move a stop one place up or down the route (the ends stay where they are)."""
    route, _grid = route_for(session, user, route_id)
    if direction not in ("up", "down"):
        raise Invalid("bad_direction", N_("A stop moves up or down."), status=400)
    order = [s.checkpoint_id for s in _stops(session, route.id)]
    i = _index(order, checkpoint_id)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        _renumber(session, route, order)
        audit.record(session, actor_id=user.id, action="route.move_stop", obj=route, ip=ip,
                     checkpoint_id=order[j], direction=direction)
        session.commit()
    return route


def remove_stop(session: Session, *, user: User, route_id: int, checkpoint_id: Any, ip: str | None = None) -> Route:
    """Take a checkpoint off the route (the checkpoint itself stays)."""
    route, _grid = route_for(session, user, route_id)
    order = [s.checkpoint_id for s in _stops(session, route.id)]
    removed = order.pop(_index(order, checkpoint_id))
    _renumber(session, route, order)
    audit.record(session, actor_id=user.id, action="route.remove_stop", obj=route, ip=ip, checkpoint_id=removed)
    session.commit()
    return route
