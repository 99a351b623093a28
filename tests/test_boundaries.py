"""Grid boundaries as GeoJSON: each way a pasted boundary can be wrong gets its own clear refusal (and nothing is
saved), and the three shapes a coordinator may bring — a Polygon, a Feature, a FeatureCollection — are read."""
from __future__ import annotations

import json

import pytest
from sqlmodel import func, select

from volunteers import boundaries, grids
from volunteers.errors import DomainError, Forbidden
from volunteers.models import AuditEvent, Grid

from tests.conftest import COORDINATOR, OFFICER_G12

# A square east of the demo town's G2 (the town spans 120.0900–120.1108 E, 30.2400–30.2580 N).
W, S, E, N = 120.1108, 30.2490, 120.1212, 30.2580
SQUARE = [[W, S], [E, S], [E, N], [W, N], [W, S]]


def polygon(ring=None) -> dict:
    return {"type": "Polygon", "coordinates": [ring or SQUARE]}


def refused(text, code: str, status: int = 422) -> boundaries.GeoJSONError:
    with pytest.raises(boundaries.GeoJSONError) as caught:
        boundaries.grid_shapes(text if isinstance(text, (str, bytes)) else json.dumps(text))
    assert caught.value.code == code, caught.value
    assert caught.value.status == status
    return caught.value


# --- Each bad case --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ['{"type": "Polygon", "coordinates": [[[120.1, 30.2], ', "not json at all", "{'a': 1}"])
def test_malformed_json_is_400_with_the_line_and_column(text):
    err = refused(text, "bad_geojson", 400)
    assert err.params["line"] == 1 and err.params["column"] >= 1


def test_an_empty_box_asks_for_a_boundary():
    refused("   ", "missing_boundary", 400)


def test_a_file_that_is_not_utf8_is_refused():
    refused("网格".encode("gbk"), "bad_geojson", 400)


def test_more_than_a_megabyte_is_413():
    refused(b" " * (boundaries.MAX_BYTES + 1), "too_large", 413)


@pytest.mark.parametrize("geometry, kind", [
    ({"type": "Point", "coordinates": [120.1, 30.25]}, "Point"),
    ({"type": "MultiPolygon", "coordinates": [[SQUARE]]}, "MultiPolygon"),
    ({"type": "LineString", "coordinates": SQUARE}, "LineString"),
    ([1, 2, 3], "list"),
])
def test_anything_but_a_polygon_is_refused_naming_what_it_was(geometry, kind):
    assert refused(geometry, "not_a_polygon").params["kind"] == kind


def test_a_feature_without_a_polygon_geometry_is_refused():
    refused({"type": "Feature", "properties": {}, "geometry": None}, "not_a_polygon")


def test_a_ring_that_is_not_closed_is_refused():
    err = refused(polygon(SQUARE[:-1] + [[W, N + 0.001]]), "ring_not_closed")
    assert err.params["ring"] == 1


def test_a_ring_with_fewer_than_four_positions_is_refused():
    err = refused(polygon([[W, S], [E, S], [W, S]]), "too_few_points")
    assert err.params["count"] == 3


def test_a_ring_whose_corners_all_lie_on_a_line_encloses_nothing():
    refused(polygon([[W, S], [E, S], [W, S], [E, S], [W, S]]), "too_few_points")


def test_a_bow_tie_is_refused_saying_where_it_crosses_itself():
    # Two triangles of different size meeting where the diagonals cross (an even bow tie has no area at all).
    err = refused(polygon([[W, S], [E, N], [E, S], [W, S + (N - S) / 2], [W, S]]), "self_intersection")
    assert S < err.params["lat"] < N and W < err.params["lon"] < E
    assert "crosses itself" in err.message


def test_a_hole_outside_its_polygon_is_refused():
    hole = [[E + 0.01, S], [E + 0.02, S], [E + 0.02, N], [E + 0.01, N], [E + 0.01, S]]
    refused({"type": "Polygon", "coordinates": [SQUARE, hole]}, "invalid_polygon")


@pytest.mark.parametrize("corner", [[200.0, 30.25], [120.1, 95.0], [30.25, 120.1]])
def test_coordinates_outside_wgs84_are_refused(corner):
    ring = [corner, [E, S], [E, N], [W, N], corner]
    err = refused(polygon(ring), "out_of_range")
    assert "longitude first" in err.message


@pytest.mark.parametrize("corner", [["120.1", 30.2], [120.1], [True, 30.2], None])
def test_a_corner_that_is_not_a_pair_of_numbers_is_refused(corner):
    refused(polygon([corner, [E, S], [E, N], [W, S]]), "bad_position")


def test_nan_and_infinity_are_not_numbers_here():
    refused('{"type": "Polygon", "coordinates": [[[NaN, 30.2], [120.2, 30.2], [120.2, 30.3], [NaN, 30.2]]]}',
            "bad_position")


def test_a_feature_collection_error_names_the_feature():
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "G5", "name": "a"}, "geometry": polygon()},
        {"type": "Feature", "properties": {"code": "G6", "name": "b"}, "geometry": polygon(SQUARE[:3])},
    ]}
    assert refused(collection, "too_few_points").feature == 2


def test_an_empty_feature_collection_is_refused():
    refused({"type": "FeatureCollection", "features": []}, "empty")


# --- Overlaps -------------------------------------------------------------------------------------------

def test_a_shared_border_is_not_an_overlap():
    left = polygon([[W - 0.01, S], [W, S], [W, N], [W - 0.01, N], [W - 0.01, S]])
    boundaries.overlap(polygon(), [("G9", left)])


def test_a_sliver_from_rounding_along_a_shared_border_is_tolerated():
    # The neighbour's edge is 0.000001° (≈ 0.1 m) inside this square over 1 km: about 100 m², under 0.01 % of it.
    left = polygon([[W - 0.01, S], [W + 0.000001, S], [W + 0.000001, N], [W - 0.01, N], [W - 0.01, S]])
    boundaries.overlap(polygon(), [("G9", left)])


def test_covering_the_same_ground_is_refused_with_the_other_grid_and_the_area():
    half = polygon([[W, S], [(W + E) / 2, S], [(W + E) / 2, N], [W, N], [W, S]])
    with pytest.raises(boundaries.GeoJSONError) as caught:
        boundaries.overlap(polygon(), [("G9", half)])
    assert caught.value.code == "overlap" and caught.value.params["grid"] == "G9"
    assert caught.value.params["area"] == pytest.approx(0.5 * 1000 * 1000, rel=0.05)  # half of ≈1 km²


# --- Good input -----------------------------------------------------------------------------------------

def test_a_bare_polygon_is_read_with_no_code_or_name():
    [shape] = boundaries.grid_shapes(json.dumps(polygon()))
    assert shape.boundary == polygon() and shape.code == "" and shape.name == ""


def test_a_feature_brings_its_code_and_name_and_extra_dimensions_are_dropped():
    ring = [[x, y, 12.5] for x, y in SQUARE]
    feature = {"type": "Feature", "properties": {"code": "G5", "name": "新区"}, "geometry": polygon(ring)}
    [shape] = boundaries.grid_shapes(json.dumps(feature, ensure_ascii=False).encode("utf-8-sig"))
    assert (shape.code, shape.name) == ("G5", "新区")
    assert shape.boundary == polygon()


def test_a_polygon_with_a_hole_inside_is_kept():
    hole = [[W + 0.001, S + 0.001], [W + 0.002, S + 0.001], [W + 0.002, S + 0.002], [W + 0.001, S + 0.002],
            [W + 0.001, S + 0.001]]
    [shape] = boundaries.grid_shapes(json.dumps({"type": "Polygon", "coordinates": [SQUARE, hole]}))
    assert len(shape.boundary["coordinates"]) == 2


# --- Saving grids: all or nothing, audited, seen at once by the grid lookup -----------------------------------

def collection(*features) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": geometry}
        for code, name, geometry in features]}, ensure_ascii=False)


def counts(session):
    session.rollback()
    return (session.exec(select(func.count()).select_from(Grid)).one(),
            session.exec(select(func.count()).select_from(AuditEvent)).one())


def test_importing_a_collection_creates_new_grids_and_updates_known_codes(session, town):
    coordinator = town.user(COORDINATOR)
    g1 = town.grid("G1")
    station = g1.station_id
    assert grids.locate(session, station, (S + N) / 2, (W + E) / 2) is None
    bigger_g1 = json.loads(json.dumps(g1.boundary))
    created, updated = grids.import_grids(session, user=coordinator, text=collection(
        ("G5", "新区", polygon()), ("G1", "东街社区（新）", bigger_g1)), ip="10.0.0.1")
    assert [g.code for g in created] == ["G5"] and [g.code for g in updated] == ["G1"]
    assert town.grid("G1").name == "东街社区（新）"
    # The lookup is built from the table on every call, so the new grid takes reports at once.
    assert grids.locate(session, station, (S + N) / 2, (W + E) / 2) == created[0].id
    actions = list(session.exec(select(AuditEvent.action).where(AuditEvent.actor_id == coordinator.id,
                                                                AuditEvent.action.startswith("grid."))))
    assert sorted(actions) == ["grid.create", "grid.update"]


def test_an_import_with_one_bad_grid_saves_none(session, town):
    before = counts(session)
    overlapping_g2 = town.grid("G2").boundary
    with pytest.raises(boundaries.GeoJSONError) as caught:
        grids.import_grids(session, user=town.user(COORDINATOR),
                            text=collection(("G5", "新区", polygon()), ("G6", "重叠", overlapping_g2)))
    assert caught.value.code == "overlap" and caught.value.feature == 2
    session.rollback()
    assert counts(session) == before


def test_two_grids_of_one_import_may_not_overlap_each_other(session, town):
    with pytest.raises(boundaries.GeoJSONError) as caught:
        grids.import_grids(session, user=town.user(COORDINATOR),
                            text=collection(("G5", "a", polygon()), ("G6", "b", polygon())))
    assert caught.value.code == "overlap" and caught.value.params["grid"] == "G5"


def test_an_import_needs_code_and_name_on_every_grid(session, town):
    with pytest.raises(boundaries.GeoJSONError) as caught:
        grids.import_grids(session, user=town.user(COORDINATOR), text=json.dumps(polygon()))
    assert caught.value.code == "missing_properties"


def test_moving_a_boundary_changes_where_reports_land(session, town):
    g1 = town.grid("G1")
    point = ((S + N) / 2, (W + E) / 2)
    assert grids.locate(session, g1.station_id, *point) is None
    # G2 grows east over the empty square: the lookup sees it on the next call.
    g2 = town.grid("G2")
    ring = g2.boundary["coordinates"][0]
    w2, s2 = ring[0]
    wider = polygon([[w2, s2], [E, s2], [E, N], [w2, N], [w2, s2]])
    grids.save_grid(session, user=town.user(COORDINATOR), grid_id=g2.id, code="G2", name=g2.name,
                     boundary_text=json.dumps(wider))
    assert grids.locate(session, g1.station_id, *point) == g2.id


def test_a_new_boundary_may_not_leave_the_grids_checkpoints_outside(session, town):
    g2 = town.grid("G2")
    with pytest.raises(boundaries.GeoJSONError) as caught:
        grids.save_grid(session, user=town.user(COORDINATOR), grid_id=g2.id, code="G2", name=g2.name,
                         boundary_text=json.dumps(polygon()))
    assert caught.value.code == "leaves_checkpoint_out"
    session.rollback()
    assert town.grid("G2").boundary != polygon()


def test_a_grid_code_is_unique_in_the_station(session, town):
    with pytest.raises(DomainError) as caught:
        grids.save_grid(session, user=town.user(COORDINATOR), grid_id=None, code="G1", name="x",
                         boundary_text=json.dumps(polygon()))
    assert caught.value.code == "code_taken" and caught.value.status == 409


def test_officers_change_no_boundaries(session, town):
    with pytest.raises(Forbidden):
        grids.save_grid(session, user=town.user(OFFICER_G12), grid_id=town.grid("G1").id, code="G1", name="x",
                         boundary_text=json.dumps(polygon()))
