"""Grid lookup: a report lands in the grid that contains its point, borders resolve the same way every time,
and a point outside every grid goes to the station's queue (None)."""
from __future__ import annotations

import random

import pytest
import shapely

from volunteers import demo, grids
from volunteers.models import Station

S, W = demo.ORIGIN
DLAT, DLON = demo.STEP_LAT, demo.STEP_LON


def inside(row: int, col: int, north: float = 0.5, east: float = 0.5) -> tuple[float, float]:
    """A point at fractions (north, east) of the demo cell (row, col)."""
    return S + (row + north) * DLAT, W + (col + east) * DLON


def square(lon: float, lat: float, size: float) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


# --- the demo town -------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["G1", "G2", "G3", "G4"])
@pytest.mark.parametrize("north, east", [(0.5, 0.5), (0.02, 0.02), (0.98, 0.98), (0.02, 0.98), (0.98, 0.02)])
def test_a_point_inside_each_demo_grid_lands_in_it(session, town, code, north, east):
    row, col = next(rc for c, _name, rc, _points in demo.GRIDS if c == code)
    grid = town.grid(code)
    assert grids.locate(session, grid.station_id, *inside(row, col, north, east)) == grid.id


def border(rows: float, cols: float) -> tuple[float, float]:
    """A point on the demo lattice, rounded as the stored polygons are (so it lies exactly on the line)."""
    return round(S + rows * DLAT, 6), round(W + cols * DLON, 6)


@pytest.mark.parametrize("point, expected, sharing", [
    (border(1, 0.5), "G1", 2),           # G1 (north) / G3 (south): G1 was made first
    (border(1.5, 1), "G1", 2),           # G1 (west) / G2 (east)
    (border(0.5, 1), "G3", 2),           # G3 (west) / G4 (east)
    (border(1, 1.5), "G2", 2),           # G2 (north) / G4 (south)
    (border(1, 1), "G1", 4),             # the corner all four share
    (border(0, 0), "G3", 1),             # the town's outer corner belongs to its only grid
], ids=["G1|G3", "G1|G2", "G3|G4", "G2|G4", "all-four", "outer-corner"])
def test_a_point_on_a_shared_border_lands_in_the_grid_with_the_lowest_id(session, town, point, expected, sharing):
    station_id = town.grid("G1").station_id
    index = grids.grid_index(session, station_id)
    assert sum(shape.covers(shapely.Point(point[1], point[0])) for shape in index.shapes) == sharing
    for _ in range(3):  # the same answer every time
        assert grids.locate(session, station_id, *point) == town.grid(expected).id


@pytest.mark.parametrize("point", [
    inside(2, 0),           # north of G1
    inside(-1, 1),          # south of G4
    inside(1, 2),           # east of G2
    inside(0, -1, east=0.999),  # just west of G3
    (S - 0.000001, W),      # a hair south of the outer corner
    (0.0, 0.0),
    (-33.86, 151.21),
], ids=["north", "south", "east", "just-west", "hair-south", "null-island", "sydney"])
def test_a_point_outside_every_grid_goes_to_the_station_queue(session, town, point):
    assert grids.locate(session, town.grid("G1").station_id, *point) is None


def test_the_lookup_expects_lat_lon_not_geojson_order(session, town):
    lat, lon = inside(1, 0)
    station_id = town.grid("G1").station_id
    assert grids.locate(session, station_id, lat, lon) == town.grid("G1").id
    assert grids.locate(session, station_id, lon, lat) is None


def test_another_stations_grids_are_never_used(session, town):
    other = Station(code="XYZ", name="别的派出所")
    session.add(other)
    session.commit()
    assert grids.locate(session, other.id, *inside(1, 0)) is None


def test_a_grid_in_the_hole_of_another_takes_the_points_inside_it():
    outer = {"type": "Polygon", "coordinates": [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
        [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
    ]}
    index = grids.GridIndex([(1, outer), (2, square(4, 4, 2))])
    assert index.locate(5, 5) == 2          # in the enclave
    assert index.locate(2, 2) == 1
    assert index.locate(4, 5) == 1          # the shared inner border: lowest id
    assert index.locate(11, 5) is None


def test_an_index_without_grids_answers_none():
    assert grids.GridIndex([]).locate(30.0, 120.0) is None


# --- a city's worth of grids -----------------------------------------------------------------------

def test_an_index_of_1250_grids_agrees_with_checking_every_polygon():
    """50 × 25 squares of 0.01°, with ids shuffled so 'lowest id' is not simply 'first in the list'."""
    rng = random.Random(1250)
    ids = list(range(1, 1251))
    rng.shuffle(ids)
    size = 0.01
    cells = {(r, c): ids[r * 50 + c] for r in range(25) for c in range(50)}
    index = grids.GridIndex([(gid, square(110 + c * size, 20 + r * size, size)) for (r, c), gid in cells.items()])
    assert len(index.ids) == 1250

    def brute(lat: float, lon: float) -> int | None:
        point = shapely.Point(lon, lat)
        hits = [gid for gid, shape in zip(index.ids, index.shapes) if shape.covers(point)]
        return min(hits) if hits else None

    points = [(20 + rng.uniform(-0.02, 0.27), 110 + rng.uniform(-0.02, 0.52)) for _ in range(600)]
    points += [(20 + r * size, 110 + c * size) for r in range(0, 26, 5) for c in range(0, 51, 7)]  # corners
    points += [(20 + (r + 0.5) * size, 110 + c * size) for r in range(0, 25, 4) for c in range(1, 50, 6)]  # edges
    outside = 0
    for lat, lon in points:
        found = index.locate(lat, lon)
        assert found == brute(lat, lon), (lat, lon)
        outside += found is None
    assert 0 < outside < len(points) // 2
    assert index.locate(20 + 12.5 * size, 110 + 30.5 * size) == cells[(12, 30)]


def test_the_grid_index_is_kept_while_the_boundaries_stay_and_rebuilt_when_one_moves(session, town):
    """Issue 13: the shapes are not rebuilt on every report, but a grid edited (here: moved far away) is seen at once."""
    g1 = town.grid("G1")
    row, col = next(rc for c, _name, rc, _points in demo.GRIDS if c == "G1")
    point = inside(row, col)
    first = grids.grid_index(session, g1.station_id)
    assert grids.grid_index(session, g1.station_id) is first
    assert grids.locate(session, g1.station_id, *point) == g1.id
    g1.boundary = square(10.0, 10.0, 0.01)
    session.add(g1)
    session.commit()
    assert grids.grid_index(session, g1.station_id) is not first
    assert grids.locate(session, g1.station_id, *point) is None
