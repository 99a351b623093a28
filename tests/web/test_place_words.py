"""Where a report is, in people's words, on its page and in the lists: the nearest checkpoint with direction and
distance ("东街村委会 东北 120 米"), the coordinates small beside it with "±8 米"; and the units elsewhere (hours with
小时 on certificates' public check page, plain words for an empty task list)."""
from __future__ import annotations

from geopy.distance import distance as geo_distance

from volunteers import hazards
from volunteers.photos import PhotoStore

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER


def report_near(app, session, town, metres: float, bearing: float):
    """A report filed `metres` from G1's first checkpoint on this bearing, with an 8 m GPS accuracy."""
    cp = town.checkpoints("G1")[0]
    at = geo_distance(meters=metres).destination((cp.lat, cp.lon), bearing)
    data = {"client_id": "00000000-0000-4000-8000-00000000abcd", "kind": "hazard", "category": "fire",
            "description": "楼道堆放杂物", "lat": str(at.latitude), "lon": str(at.longitude), "accuracy_m": "8"}
    hazard, _ = hazards.report(session, user=town.user(VOLUNTEER), data=data, uploads=[],
                               store=PhotoStore(app.config["DATA_DIR"]))
    return cp, hazard


def test_the_report_page_and_lists_say_where_it_is_in_words(app, session, town, login_as):
    cp, hazard = report_near(app, session, town, 60, 45)
    page = login_as(OFFICER_G12).get(f"/hazards/{hazard.id}").text
    assert f"{cp.name} 东北 60 米" in page and "±8 米" in page and " m)" not in page
    assert f"{cp.name} 东北 60 米" in login_as(OFFICER_G12).get("/hazards/").text
    assert f"{cp.name} 东北 60 米" in login_as(VOLUNTEER).get("/hazards/mine").text


def test_the_report_page_in_english_says_metres_and_the_compass_point(app, session, town, english):
    cp, hazard = report_near(app, session, town, 200, 180)
    page = english(OFFICER_G12).get(f"/hazards/{hazard.id}").text
    assert f"200 m south of {cp.name}" in page and "±8 m" in page


def test_a_report_far_from_every_checkpoint_gives_its_coordinates_only(app, session, town, login_as):
    cp, hazard = report_near(app, session, town, 5000, 270)
    page = login_as(COORDINATOR).get(f"/hazards/{hazard.id}").text  # outside every grid: the station's queue
    place = page.split('id="hazard-place">')[1].split("</dd>")[0]
    assert "place-words" not in place and f"{hazard.lat:.5f}, {hazard.lon:.5f}" in place and "±8 米" in place


def test_the_report_form_map_holds_the_volunteers_grid_and_its_named_checkpoints(town, login_as):
    import json
    page = login_as(VOLUNTEER).get("/hazards/new").text
    data = json.loads(page.split('id="report-map-data">')[1].split("</script>")[0])
    assert [g["code"] for g in data["grids"]] == ["G1"]
    assert sorted(c["name"] for c in data["checkpoints"]) == sorted(c.name for c in town.checkpoints("G1"))
    assert data["words"]["m"] == "{n} 米" and data["tiles"] == "" and data["credit"] == ""


def test_a_tiled_map_credits_its_source_not_leaflet(app, town, login_as):
    import json
    app.config["MAP_TILE_URL"] = "https://t{s}.tianditu.gov.cn/vec_w/wmts?x={x}&y={y}&l={z}"
    data = json.loads(login_as(OFFICER_G12).get("/grids/").text.split('id="grid-map-data">')[1].split("</script>")[0])
    assert data["tiles"].startswith("https://") and data["credit"] == "ta.tianditu.gov.cn"
    app.config["MAP_TILE_CREDIT"] = "© 天地图"
    data = json.loads(login_as(OFFICER_G12).get("/grids/").text.split('id="grid-map-data">')[1].split("</script>")[0])
    assert data["credit"] == "© 天地图"
