"""Grid boundaries as GeoJSON: read what a coordinator pastes or uploads, and refuse, in plain words, anything
that is not one clean polygon on the map (malformed, not a Polygon, open ring, too few corners, crossing itself,
outside WGS-84, or covering ground another grid of the station already covers)."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import shapely
import shapely.geometry
import shapely.validation

from volunteers.errors import Invalid, N_

MAX_BYTES = 1_000_000
# Two neighbours drawn by hand share a border only up to rounding: overlaps below this are a shared border.
OVERLAP_TOLERANCE_M2 = 25.0
OVERLAP_TOLERANCE_SHARE = 0.0001  # of the smaller grid (100 m² for a 1 km² grid)
_METRES_PER_DEGREE = 111_320.0


class GeoJSONError(Invalid):
    """A boundary refused; `feature` is the 1-based number of the grid in a FeatureCollection (None for one grid)."""

    def __init__(self, code: str, message: str, status: int = 422, feature: int | None = None, **params):
        super().__init__(code, message, status=status, **params)
        self.feature = feature


@dataclass
class GridShape:
    """One grid read from GeoJSON: its boundary (a clean Polygon geometry) and the code/name it carried, if any."""
    boundary: dict
    code: str = ""
    name: str = ""


def load(text: str | bytes) -> Any:
    """The parsed JSON document; 413 when too large, 400 with the line and column when malformed."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise GeoJSONError("too_large", N_("The GeoJSON is larger than 1 MB."), status=413)
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise GeoJSONError("bad_geojson", N_("The file is not text in UTF-8. Save it as GeoJSON and try again."),
                               status=400) from None
    if len(text) > MAX_BYTES:
        raise GeoJSONError("too_large", N_("The GeoJSON is larger than 1 MB."), status=413)
    if not text.strip():
        raise GeoJSONError("missing_boundary", N_("Paste or upload the grid's boundary as GeoJSON."), status=400)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        line, column = getattr(err, "lineno", 1), getattr(err, "colno", 1)
        raise GeoJSONError("bad_geojson", N_("This is not valid GeoJSON: the text breaks off or has a typo at line "
                                             "%(line)d, column %(column)d."), status=400, line=line, column=column) from None


def _position(value: Any, feature: int | None) -> tuple[float, float]:
    if (not isinstance(value, list) or len(value) not in (2, 3)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)):
        raise GeoJSONError("bad_position", N_("Every corner must be a pair of numbers: [longitude, latitude]."),
                           feature=feature)
    lon, lat = float(value[0]), float(value[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise GeoJSONError("out_of_range", N_("The corner [%(lon)s, %(lat)s] is not on the map: longitude must be "
                                              "between -180 and 180 and latitude between -90 and 90 (GeoJSON puts "
                                              "longitude first)."), feature=feature, lon=value[0], lat=value[1])
    return lon, lat


def _where(reason: str) -> tuple[float, float] | None:
    found = re.search(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)\s*\]", reason)
    return (float(found.group(2)), float(found.group(1))) if found else None


def polygon(geometry: Any, *, feature: int | None = None) -> dict:
    """A clean GeoJSON Polygon (lon/lat, rings closed, at least 4 positions, not crossing itself), else a clear error."""
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise GeoJSONError("not_a_polygon", N_("A grid's boundary must be one Polygon, not “%(kind)s”."),
                           feature=feature, kind=str(kind)[:40])
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise GeoJSONError("bad_position", N_("The Polygon has no coordinates."), feature=feature)
    clean = []
    for number, ring in enumerate(rings, start=1):
        if not isinstance(ring, list):
            raise GeoJSONError("bad_position", N_("Every corner must be a pair of numbers: [longitude, latitude]."),
                               feature=feature)
        points = [_position(p, feature) for p in ring]
        if len(points) < 4:
            raise GeoJSONError("too_few_points", N_("A boundary needs at least 4 positions (3 corners and the first "
                                                    "one again to close it); ring %(ring)d has %(count)d."),
                               feature=feature, ring=number, count=len(points))
        if points[0] != points[-1]:
            raise GeoJSONError("ring_not_closed", N_("The boundary is not closed: the last position of ring %(ring)d "
                                                     "must repeat the first one."), feature=feature, ring=number)
        clean.append([list(p) for p in points])
    shape = shapely.geometry.Polygon(clean[0], clean[1:])
    if shape.area == 0:  # corners all on one line, or all the same point
        raise GeoJSONError("too_few_points", N_("The boundary has too few distinct corners to enclose any ground."),
                           feature=feature)
    if not shape.is_valid:
        reason = shapely.validation.explain_validity(shape)
        at = _where(reason)
        if "Self-intersection" in reason and at:
            raise GeoJSONError("self_intersection", N_("The boundary crosses itself near latitude %(lat).6f, "
                                                       "longitude %(lon).6f. List the corners in order around the "
                                                       "edge."), feature=feature, lat=at[0], lon=at[1])
        if "Too few points" in reason:
            raise GeoJSONError("too_few_points", N_("The boundary has too few distinct corners to enclose any ground."),
                               feature=feature)
        raise GeoJSONError("invalid_polygon", N_("The boundary is not a clean shape (holes outside it, or parts that "
                                                 "touch) near latitude %(lat).6f, longitude %(lon).6f."),
                           feature=feature, lat=at[0] if at else 0.0, lon=at[1] if at else 0.0)
    return {"type": "Polygon", "coordinates": clean}


def _text(properties: dict, *names: str) -> str:
    for name in names:
        value = properties.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def _feature(item: Any, feature: int | None) -> GridShape:
    if not isinstance(item, dict) or item.get("type") != "Feature":
        raise GeoJSONError("not_a_polygon", N_("A FeatureCollection may hold only Features."), feature=feature)
    properties = item.get("properties") if isinstance(item.get("properties"), dict) else {}
    return GridShape(boundary=polygon(item.get("geometry"), feature=feature),
                     code=_text(properties, "code", "grid", "网格编号")[:32],
                     name=_text(properties, "name", "名称")[:100])


def _is_point(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("geometry"), dict) and item["geometry"].get("type") == "Point"


def grid_shapes(text: str | bytes) -> list[GridShape]:
    """The grids in a Polygon geometry, a Feature, or a FeatureCollection (each Polygon Feature one grid; Point
    Features are checkpoints, read by checkpoint_points)."""
    document = load(text)
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or not features:
            raise GeoJSONError("empty", N_("The FeatureCollection holds no grids."))
        return [_feature(item, number) for number, item in enumerate(features, start=1) if not _is_point(item)]
    if isinstance(document, dict) and document.get("type") == "Feature":
        return [_feature(document, None)]
    return [GridShape(boundary=polygon(document))]


def shape(boundary: dict):
    """The Shapely polygon of a stored boundary."""
    return shapely.geometry.shape(boundary)


def area_m2(geometry) -> float:
    """Approximate area in square metres of a small lon/lat geometry (equirectangular at its own latitude)."""
    if geometry.is_empty:
        return 0.0
    lat = geometry.centroid.y
    return geometry.area * _METRES_PER_DEGREE ** 2 * math.cos(math.radians(lat))


def overlap(boundary: dict, others: list[tuple[str, dict]], *, feature: int | None = None) -> None:
    """Refuse a boundary that covers ground another grid covers (a shared border, or rounding along it, is fine)."""
    mine = shape(boundary)
    for code, other_boundary in others:
        other = shape(other_boundary)
        if not mine.intersects(other):
            continue
        common = area_m2(mine.intersection(other))
        allowed = max(OVERLAP_TOLERANCE_M2, OVERLAP_TOLERANCE_SHARE * min(area_m2(mine), area_m2(other)))
        if common > allowed:
            raise GeoJSONError("overlap", N_("This boundary overlaps grid %(grid)s by about %(area)d square metres. "
                                             "Neighbouring grids may share a border but not cover the same ground."),
                               feature=feature, grid=code, area=round(common))


# --- Checkpoints in the same file, and the export -----------------------------------------------------------

@dataclass
class CheckpointPoint:
    """A checkpoint read from a Point Feature: the code of its grid, its name, where it is and its radius."""
    grid: str
    name: str
    lat: float
    lon: float
    radius_m: Any = None


def checkpoint_points(text: str | bytes) -> list[CheckpointPoint]:
    """The checkpoints of a FeatureCollection: Point Features with "grid" (its code) and "name" properties."""
    document = load(text)
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return []
    found = []
    for number, item in enumerate(document.get("features") or [], start=1):
        if not _is_point(item):
            continue
        lon, lat = _position(item["geometry"].get("coordinates"), number)
        properties = item.get("properties") if isinstance(item.get("properties"), dict) else {}
        grid, name = _text(properties, "grid", "网格编号")[:32], _text(properties, "name", "名称")[:100]
        if not grid or not name:
            raise GeoJSONError("missing_properties", N_("Every checkpoint needs “grid” (its grid's code) and “name” "
                                                        "in its properties."), feature=number)
        found.append(CheckpointPoint(grid=grid, name=name, lat=lat, lon=lon, radius_m=properties.get("radius_m")))
    return found


def export(grids: list[tuple[str, str, dict]], checkpoints: list[tuple[str, str, float, float, int]]) -> dict:
    """A FeatureCollection of grids (code, name, boundary) and checkpoints (grid code, name, lat, lon, radius in
    metres), in the form import reads back."""
    features = [{"type": "Feature", "geometry": boundary, "properties": {"kind": "grid", "code": code, "name": name}}
                for code, name, boundary in grids]
    features += [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                  "properties": {"kind": "checkpoint", "grid": grid, "name": name, "radius_m": radius}}
                 for grid, name, lat, lon, radius in checkpoints]
    return {"type": "FeatureCollection", "features": features}
