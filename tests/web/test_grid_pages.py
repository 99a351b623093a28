"""Grid pages through HTTP: every page and partial for the coordinator and the grid's officer, the access matrix
(officer: their grids, no boundaries or officers; volunteer: 403 everywhere), clear 4xx refusals with nothing saved,
and a poster's QR that checks a volunteer in through the patrol API — until its secret is rotated."""
from __future__ import annotations

import json

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlmodel import select

from tests.factories import count
from volunteers import grids
from volunteers.models import AuditEvent, Checkpoint, CheckIn, Grid, GridOfficer, Patrol, Route, RouteStop

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER

HX = {"HX-Request": "true"}
CID = "00000000-0000-4000-8000-0000000000{:02d}"
# A square just east of the demo town's G2.
W, S, E, N = 120.1108, 30.2490, 120.1212, 30.2580
SQUARE = {"type": "Polygon", "coordinates": [[[W, S], [E, S], [E, N], [W, N], [W, S]]]}


def middle(town, code: str) -> dict:
    ring = town.grid(code).boundary["coordinates"][0]
    return {"lat": (ring[0][1] + ring[2][1]) / 2, "lon": (ring[0][0] + ring[2][0]) / 2}


def decode(pdf: bytes) -> list[str]:
    """The QR codes on every page of a PDF, read like a phone camera would (rendered at 150 dpi)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return [b.text for page in doc for b in zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())]
    finally:
        doc.close()


# --- Pages and partials --------------------------------------------------------------------------------

def test_the_coordinator_lists_every_grid_with_its_officers(english, town):
    page = english(COORDINATOR).get("/grids/")
    assert page.status_code == 200
    for code in ("G1", "G2", "G3", "G4"):
        assert f'id="grid-{town.grid(code).id}"' in page.text
    assert town.user(OFFICER_G12).name in page.text
    assert 'id="new-grid"' in page.text and 'id="import-grids"' in page.text
    assert "data-grid-map" in page.text and "grid-editor.js" in page.text


def test_the_officer_lists_only_their_grids_and_cannot_add_one(english, town):
    page = english(OFFICER_G12).get("/grids/")
    assert page.status_code == 200
    assert f'id="grid-{town.grid("G1").id}"' in page.text and f'id="grid-{town.grid("G3").id}"' not in page.text
    assert 'id="new-grid"' not in page.text


def test_the_officer_home_links_to_the_grids(login_as):
    assert 'href="/grids/"' in login_as(OFFICER_G12).get("/").text


def test_the_grid_page_shows_map_checkpoints_routes_and_posters(english, town):
    g1 = town.grid("G1")
    page = english(OFFICER_G12).get(f"/grids/{g1.id}")
    assert page.status_code == 200
    for cp in town.checkpoints("G1"):
        assert f'id="checkpoint-{cp.id}"' in page.text
        assert f"/grids/checkpoints/{cp.id}/poster.pdf" in page.text
        assert f"/grids/checkpoints/{cp.id}/rotate" in page.text
    assert f"/grids/{g1.id}/posters.pdf" in page.text and 'id="route-' in page.text
    data = json.loads(page.text.split('id="grid-map-data">')[1].split("</script>")[0])
    assert data["grids"][0]["code"] == "G1" and len(data["checkpoints"]) == 3
    assert all(c["name"] for c in data["checkpoints"]) and data["grids"][0]["label_at"]
    assert 'id="edit-grid"' not in page.text and 'name="officer_ids"' not in page.text  # not the officer's to change


def test_the_coordinator_gets_the_boundary_and_officer_forms(english, town):
    page = english(COORDINATOR).get(f"/grids/{town.grid('G1').id}")
    assert 'id="edit-grid"' in page.text and 'name="officer_ids"' in page.text
    assert "138****0101" in page.text and "13800000101" not in page.text


@pytest.mark.parametrize("url, marker", [("/grids/new", 'id="grid-form"'), ("/grids/import", 'id="import-form"')])
def test_new_and_import_forms_as_pages_and_partials(english, url, marker):
    client = english(COORDINATOR)
    page = client.get(url)
    assert page.status_code == 200 and marker in page.text and "<html" in page.text
    piece = client.get(url, headers=HX)
    assert piece.status_code == 200 and marker in piece.text and "<html" not in piece.text


def test_the_edit_form_is_filled_with_the_boundary(english, town):
    g1 = town.grid("G1")
    page = english(COORDINATOR).get(f"/grids/{g1.id}/edit")
    assert page.status_code == 200 and 'value="G1"' in page.text and "Polygon" in page.text


def test_the_checkpoint_form_and_the_rotate_confirmation_as_pages_and_partials(english, town):
    cp = town.checkpoints("G1")[0]
    client = english(OFFICER_G12)
    for url, marker in ((f"/grids/checkpoints/{cp.id}/edit", 'id="checkpoint-form"'),
                        (f"/grids/checkpoints/{cp.id}/rotate", 'id="confirm-rotate"')):
        page = client.get(url)
        assert page.status_code == 200 and marker in page.text and "<html" in page.text and cp.name in page.text
        piece = client.get(url, headers=HX)
        assert piece.status_code == 200 and marker in piece.text and "<html" not in piece.text


def test_the_retire_confirmation_as_page_and_partial(english, town):
    cp = town.checkpoints("G1")[0]
    client = english(OFFICER_G12)
    page = client.get(f"/grids/checkpoints/{cp.id}/retire")
    assert page.status_code == 200 and 'id="confirm-retire"' in page.text and "<html" in page.text
    assert f"Stop using “{cp.name}”?" in page.text
    piece = client.get(f"/grids/checkpoints/{cp.id}/retire", headers=HX)
    assert 'id="confirm-retire"' in piece.text and "<html" not in piece.text


def test_an_officer_retires_a_checkpoint_it_leaves_the_page_and_its_poster_then_comes_back(english, session, town):
    g1, cp = town.grid("G1"), town.checkpoints("G1")[1]
    client = english(OFFICER_G12)
    response = client.post(f"/grids/checkpoints/{cp.id}/retire")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/grids/{g1.id}#checkpoints")
    page = client.get(f"/grids/{g1.id}")
    assert "is no longer in use and left these routes" in page.text
    assert 'id="retired-checkpoints"' in page.text and "Out of use (1)" in page.text
    assert f"/grids/checkpoints/{cp.id}/restore" in page.text
    assert f"/grids/checkpoints/{cp.id}/rotate" not in page.text  # its buttons went with it
    assert client.get(f"/grids/checkpoints/{cp.id}/poster.pdf").status_code == 409
    session.expire_all()
    assert cp.id not in [c.id for c in grids.route_checkpoints(session, session.exec(
        select(Route).where(Route.grid_id == g1.id)).first().id)]
    again = client.get(f"/grids/checkpoints/{cp.id}/retire")  # already retired: back to the grid, told so
    assert again.status_code == 302 and "is already out of use" in client.get(f"/grids/{g1.id}").text
    piece = client.post(f"/grids/checkpoints/{cp.id}/restore", headers=HX)
    assert piece.status_code == 200 and "<html" not in piece.text and "is in use again" in piece.text
    assert 'id="retired-checkpoints"' not in piece.text
    assert client.get(f"/grids/checkpoints/{cp.id}/poster.pdf").status_code == 200


def test_an_officer_renames_a_route_in_place_and_a_taken_name_is_refused_there(english, session, town):
    g1 = town.grid("G1")
    route = session.exec(select(Route).where(Route.grid_id == g1.id)).first()
    client = english(OFFICER_G12)
    other = client.post(f"/grids/{g1.id}/routes", data={"name": "夜巡"})
    assert other.status_code == 302
    piece = client.post(f"/grids/routes/{route.id}/rename", data={"name": "  早巡  "}, headers=HX)
    assert piece.status_code == 200 and "<h3>早巡</h3>" in piece.text and "<html" not in piece.text
    refused = client.post(f"/grids/routes/{route.id}/rename", data={"name": "夜巡"}, headers=HX)
    assert refused.status_code == 409 and "already has a route called “夜巡”" in refused.text
    assert client.post(f"/grids/routes/{route.id}/rename", data={"name": ""}).status_code == 422
    session.expire_all()
    assert session.get(Route, route.id).name == "早巡"


def test_an_officer_deletes_a_route_after_confirming_and_its_checkpoints_and_patrols_stay(english, session, town):
    g1 = town.grid("G1")
    route = session.exec(select(Route).where(Route.grid_id == g1.id)).first()
    route_id, route_name = route.id, route.name  # the row goes: the test's copy of it must not be asked again
    points = [c.id for c in grids.route_checkpoints(session, route_id)]
    patrols_on_it = count(session, Patrol, Patrol.route_id == route_id)
    client = english(OFFICER_G12)
    confirm = client.get(f"/grids/routes/{route_id}/delete")
    assert confirm.status_code == 200 and 'id="confirm-delete-route"' in confirm.text and route_name in confirm.text
    assert 'id="confirm-delete-route"' in client.get(f"/grids/routes/{route_id}/delete", headers=HX).text
    response = client.post(f"/grids/routes/{route_id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/grids/{g1.id}#routes")
    assert "was deleted" in client.get(f"/grids/{g1.id}").text
    assert count(session, Route, Route.id == route_id) == 0 and count(session, RouteStop, RouteStop.route_id == route_id) == 0
    assert count(session, Checkpoint, Checkpoint.id.in_(points)) == len(points)
    assert count(session, Patrol, Patrol.route_id.is_(None)) >= patrols_on_it
    assert count(session, AuditEvent, AuditEvent.action == "route.delete", AuditEvent.object_id == route_id) == 1
    assert client.post(f"/grids/routes/{route_id}/delete").status_code == 404


def test_the_checkpoints_api_leaves_retired_ones_out(login_as, town):
    cp = town.checkpoints("G1")[1]
    login_as(OFFICER_G12).post(f"/grids/checkpoints/{cp.id}/retire")
    listed = login_as(VOLUNTEER).get("/api/v1/checkpoints").get_json()
    assert listed and cp.id not in [c["id"] for c in listed]


# --- Grids: create, edit, import; refusals ----------------------------------------------------------------

def test_the_coordinator_creates_a_grid_from_pasted_geojson(english, session, town):
    response = english(COORDINATOR).post("/grids/new", data={"code": "G5", "name": "新区",
                                                              "boundary": json.dumps(SQUARE)})
    assert response.status_code == 302
    session.rollback()
    grid = session.exec(select(Grid).where(Grid.code == "G5")).one()
    assert response.headers["Location"] == f"/grids/{grid.id}" and grid.boundary == SQUARE
    assert count(session, AuditEvent, AuditEvent.action == "grid.create", AuditEvent.object_id == grid.id) == 1


def test_a_grid_file_is_uploaded(english, session, town):
    from io import BytesIO
    feature = {"type": "Feature", "properties": {"code": "G5", "name": "新区"}, "geometry": SQUARE}
    response = english(COORDINATOR).post("/grids/new", data={"code": "", "name": "", "boundary": "",
                                                              "file": (BytesIO(json.dumps(feature).encode()), "g5.geojson")},
                                         content_type="multipart/form-data")
    assert response.status_code == 302
    assert count(session, Grid, Grid.code == "G5", Grid.name == "新区") == 1


@pytest.mark.parametrize("boundary, status, words", [
    ('{"type": "Polygon", "coordinates": [[[', 400, "line 1, column"),
    (json.dumps({"type": "Point", "coordinates": [120.1, 30.2]}), 422, "must be one Polygon"),
    (json.dumps({"type": "Polygon", "coordinates": [[[W, S], [E, S], [E, N], [W, N]]]}), 422, "not closed"),
    (json.dumps({"type": "Polygon", "coordinates": [[[W, S], [E, S], [W, S]]]}), 422, "at least 4 positions"),
    (json.dumps({"type": "Polygon", "coordinates": [[[W, S], [E, N], [E, S], [W, S + 0.004], [W, S]]]}), 422,
     "crosses itself"),
    (json.dumps({"type": "Polygon", "coordinates": [[[S, W], [S, E], [N, E], [N, W], [S, W]]]}), 422, "not on the map"),
    ("G2-OVERLAP", 422, "overlaps grid G2"),
])
def test_a_bad_boundary_is_refused_in_plain_words_and_nothing_is_saved(english, session, town, boundary, status,
                                                                         words):
    if boundary == "G2-OVERLAP":
        boundary = json.dumps(town.grid("G2").boundary)
    client = english(COORDINATOR)  # logging in is audited too
    before = count(session, Grid), count(session, AuditEvent)
    response = client.post("/grids/new", data={"code": "G5", "name": "新区", "boundary": boundary})
    assert response.status_code == status
    assert 'id="form-error"' in response.text and words in response.text
    assert 'value="G5"' in response.text  # what was typed is kept
    assert (count(session, Grid), count(session, AuditEvent)) == before


def test_a_refused_edit_leaves_the_old_boundary(english, session, town):
    g1 = town.grid("G1")
    old = g1.boundary
    response = english(COORDINATOR).post(f"/grids/{g1.id}/edit", data={
        "code": "G1", "name": g1.name, "boundary": json.dumps(town.grid("G3").boundary)})
    assert response.status_code == 422 and "overlaps grid G3" in response.text
    session.rollback()
    assert session.get(Grid, g1.id).boundary == old


def test_an_edit_renames_the_grid(english, session, town):
    g1 = town.grid("G1")
    response = english(COORDINATOR).post(f"/grids/{g1.id}/edit", data={
        "code": "G1", "name": "东街新社区", "boundary": json.dumps(g1.boundary)})
    assert response.status_code == 302
    session.rollback()
    assert session.get(Grid, g1.id).name == "东街新社区"


def test_importing_a_collection_with_one_bad_grid_names_it_and_saves_nothing(english, session, town):
    text = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "G5", "name": "a"}, "geometry": SQUARE},
        {"type": "Feature", "properties": {"code": "G6", "name": "b"}, "geometry": {"type": "Polygon", "coordinates": [[]]}},
    ]})
    before = count(session, Grid)
    response = english(COORDINATOR).post("/grids/import", data={"boundary": text})
    assert response.status_code == 422 and "Grid 2 in the file" in response.text
    assert count(session, Grid) == before


def test_importing_a_good_collection(english, session, town):
    text = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "G5", "name": "新区"}, "geometry": SQUARE}]})
    response = english(COORDINATOR).post("/grids/import", data={"boundary": text})
    assert response.status_code == 302 and response.headers["Location"] == "/grids/"
    assert count(session, Grid, Grid.code == "G5") == 1


def test_the_coordinator_sets_a_grids_officers(english, session, town):
    g1 = town.grid("G1")
    response = english(COORDINATOR).post(f"/grids/{g1.id}/officers",
                                         data={"officer_ids": [str(town.user(OFFICER_G34).id)]})
    assert response.status_code == 302
    session.rollback()
    assert list(session.exec(select(GridOfficer.user_id).where(GridOfficer.grid_id == g1.id))) == [
        town.user(OFFICER_G34).id]


def test_a_volunteer_cannot_be_made_an_officer_of_a_grid(english, session, town):
    g1 = town.grid("G1")
    response = english(COORDINATOR).post(f"/grids/{g1.id}/officers", data={"officer_ids": [str(town.user(VOLUNTEER).id)]})
    assert response.status_code == 422 and "Only officers of this station" in response.text
    assert count(session, GridOfficer, GridOfficer.grid_id == g1.id) == 1


# --- Checkpoints and routes through the pages ----------------------------------------------------------------

def test_placing_a_checkpoint_through_htmx_returns_the_list_with_it(english, session, town):
    g1 = town.grid("G1")
    response = english(OFFICER_G12).post(f"/grids/{g1.id}/checkpoints", headers=HX,
                                         data={"name": "新桥", "radius_m": "60", **middle(town, "G1")})
    assert response.status_code == 200 and "<html" not in response.text
    assert 'id="checkpoints"' in response.text and "新桥" in response.text
    assert count(session, Checkpoint, Checkpoint.name == "新桥", Checkpoint.grid_id == g1.id) == 1


def test_a_checkpoint_outside_the_grid_is_refused_in_place(english, session, town):
    g1 = town.grid("G1")
    before = count(session, Checkpoint)
    response = english(OFFICER_G12).post(f"/grids/{g1.id}/checkpoints", headers=HX,
                                         data={"name": "越界", "radius_m": "60", **middle(town, "G2")})
    assert response.status_code == 422 and 'id="checkpoint-error"' in response.text
    assert "outside grid G1" in response.text and 'value="越界"' in response.text
    assert count(session, Checkpoint) == before


@pytest.mark.parametrize("radius", ["5", "501"])
def test_a_radius_out_of_bounds_is_refused(english, session, town, radius):
    g1 = town.grid("G1")
    response = english(OFFICER_G12).post(f"/grids/{g1.id}/checkpoints",
                                         data={"name": "x", "radius_m": radius, **middle(town, "G1")})
    assert response.status_code == 422 and "between 10 and 500 metres" in response.text


def test_a_checkpoint_is_moved_through_its_form(english, session, town):
    cp = town.checkpoints("G1")[0]
    response = english(OFFICER_G12).post(f"/grids/checkpoints/{cp.id}/edit",
                                         data={"name": "改名", "radius_m": "70", **middle(town, "G1")})
    assert response.status_code == 302
    session.rollback()
    assert session.get(Checkpoint, cp.id).name == "改名"
    bad = english(OFFICER_G12).post(f"/grids/checkpoints/{cp.id}/edit",
                                    data={"name": "改名", "radius_m": "70", **middle(town, "G3")})
    assert bad.status_code == 422 and 'id="form-error"' in bad.text


def test_route_buttons_reorder_the_stops_in_place(english, session, town):
    g1 = town.grid("G1")
    route = session.exec(select(Route).where(Route.grid_id == g1.id)).first()
    a, b, c = town.checkpoints("G1")
    client = english(OFFICER_G12)
    response = client.post(f"/grids/routes/{route.id}/stops/{c.id}/up", headers=HX)
    assert response.status_code == 200 and f'id="route-{route.id}"' in response.text and "<html" not in response.text
    assert response.text.index(c.name) < response.text.index(b.name)
    session.rollback()
    stops = list(session.exec(select(RouteStop.checkpoint_id).where(RouteStop.route_id == route.id)
                              .order_by(RouteStop.position)))
    assert stops == [a.id, c.id, b.id]
    assert client.post(f"/grids/routes/{route.id}/stops/{a.id}/remove").status_code == 302
    other = client.post(f"/grids/routes/{route.id}/stops", headers=HX, data={"checkpoint_id": town.checkpoints("G2")[0].id})
    assert other.status_code == 422 and "only pass checkpoints of its own grid" in other.text
    assert client.post(f"/grids/routes/{route.id}/stops", headers=HX, data={"checkpoint_id": a.id}).status_code == 200
    session.rollback()
    assert list(session.exec(select(RouteStop.checkpoint_id).where(RouteStop.route_id == route.id)
                             .order_by(RouteStop.position))) == [c.id, b.id, a.id]
    assert client.post(f"/grids/routes/{route.id}/stops/{a.id}/sideways").status_code == 400


def test_a_new_route_is_created_and_shown(english, session, town):
    g1 = town.grid("G1")
    response = english(OFFICER_G12).post(f"/grids/{g1.id}/routes", data={"name": "夜巡"})
    assert response.status_code == 302
    route = session.exec(select(Route).where(Route.name == "夜巡")).one()
    assert f'id="route-{route.id}"' in english(OFFICER_G12).get(f"/grids/{g1.id}").text
    assert english(OFFICER_G12).post(f"/grids/{g1.id}/routes", data={"name": ""}).status_code == 422


# --- Access matrix -----------------------------------------------------------------------------------------

def urls(town, session) -> dict[str, tuple[str, str]]:
    g1, cp = town.grid("G1"), town.checkpoints("G1")[0]
    route = session.exec(select(Route).where(Route.grid_id == g1.id)).first()
    return {
        "index": ("GET", "/grids/"), "export": ("GET", "/grids/export.geojson"),
        "new": ("GET", "/grids/new"), "create": ("POST", "/grids/new"),
        "import_form": ("GET", "/grids/import"), "import": ("POST", "/grids/import"),
        "show": ("GET", f"/grids/{g1.id}"), "edit": ("GET", f"/grids/{g1.id}/edit"),
        "update": ("POST", f"/grids/{g1.id}/edit"), "officers": ("POST", f"/grids/{g1.id}/officers"),
        "add_checkpoint": ("POST", f"/grids/{g1.id}/checkpoints"),
        "edit_checkpoint": ("GET", f"/grids/checkpoints/{cp.id}/edit"),
        "update_checkpoint": ("POST", f"/grids/checkpoints/{cp.id}/edit"),
        "confirm_rotate": ("GET", f"/grids/checkpoints/{cp.id}/rotate"),
        "rotate": ("POST", f"/grids/checkpoints/{cp.id}/rotate"),
        "confirm_retire": ("GET", f"/grids/checkpoints/{cp.id}/retire"),
        "retire": ("POST", f"/grids/checkpoints/{cp.id}/retire"),
        "restore": ("POST", f"/grids/checkpoints/{cp.id}/restore"),
        "poster": ("GET", f"/grids/checkpoints/{cp.id}/poster.pdf"),
        "posters": ("GET", f"/grids/{g1.id}/posters.pdf"),
        "add_route": ("POST", f"/grids/{g1.id}/routes"),
        "add_stop": ("POST", f"/grids/routes/{route.id}/stops"),
        "stop": ("POST", f"/grids/routes/{route.id}/stops/{cp.id}/down"),
        "rename_route": ("POST", f"/grids/routes/{route.id}/rename"),
        "confirm_delete_route": ("GET", f"/grids/routes/{route.id}/delete"),
        "delete_route": ("POST", f"/grids/routes/{route.id}/delete"),
    }


ALL = ["index", "export", "new", "create", "import_form", "import", "show", "edit", "update", "officers", "add_checkpoint",
       "edit_checkpoint", "update_checkpoint", "confirm_rotate", "rotate", "confirm_retire", "retire", "restore",
       "poster", "posters", "add_route", "add_stop", "stop", "rename_route", "confirm_delete_route", "delete_route"]
COORDINATOR_ONLY = ["new", "create", "import_form", "import", "edit", "update", "officers"]
ON_G1 = ["show", "add_checkpoint", "edit_checkpoint", "update_checkpoint", "confirm_rotate", "rotate", "confirm_retire",
         "retire", "restore", "poster", "posters", "add_route", "add_stop", "stop", "rename_route", "confirm_delete_route",
         "delete_route"]


def test_the_blueprint_has_no_route_the_matrix_forgets(app):
    endpoints = {r.endpoint.split(".", 1)[1] for r in app.url_map.iter_rules() if r.endpoint.startswith("grids.")}
    named = {"index", "export", "new", "create", "import_form", "import_grids", "show", "edit", "update", "officers",
             "add_checkpoint", "edit_checkpoint", "update_checkpoint", "confirm_rotate", "rotate", "confirm_retire",
             "retire", "restore", "poster", "grid_posters", "add_route", "add_stop", "stop", "rename_route",
             "confirm_delete_route", "delete_route"}
    assert endpoints == named


def snapshot(session):
    return (*(count(session, m) for m in (Grid, Checkpoint, Route, RouteStop, GridOfficer, AuditEvent)),
            count(session, Checkpoint, Checkpoint.retired_at.is_not(None)))


@pytest.mark.parametrize("name", ALL)
def test_a_volunteer_gets_403_everywhere_and_changes_nothing(login_as, session, town, name):
    method, url = urls(town, session)[name]
    secret = town.checkpoints("G1")[0].qr_secret
    client = login_as(VOLUNTEER)
    before = snapshot(session)
    response = client.open(url, method=method, data={"name": "x"} if method == "POST" else None)
    assert response.status_code == 403
    assert snapshot(session) == before and town.checkpoints("G1")[0].qr_secret == secret


@pytest.mark.parametrize("name", COORDINATOR_ONLY)
def test_an_officer_gets_403_on_boundaries_and_officers_even_of_their_grid(login_as, session, town, name):
    method, url = urls(town, session)[name]
    client = login_as(OFFICER_G12)
    before = snapshot(session)
    assert client.open(url, method=method, data={} if method == "POST" else None).status_code == 403
    assert snapshot(session) == before


@pytest.mark.parametrize("name", ON_G1)
def test_another_grids_officer_gets_404_and_changes_nothing(login_as, session, town, name):
    method, url = urls(town, session)[name]
    secret = town.checkpoints("G1")[0].qr_secret
    client = login_as(OFFICER_G34)
    before = snapshot(session)
    response = client.open(url, method=method, data={"name": "x"} if method == "POST" else None)
    assert response.status_code == 404
    assert town.checkpoints("G1")[0].name not in response.text
    assert snapshot(session) == before and town.checkpoints("G1")[0].qr_secret == secret


@pytest.mark.parametrize("name", [n for n in ON_G1 if n in ("show", "edit_checkpoint", "confirm_rotate", "confirm_retire",
                                                            "confirm_delete_route", "poster", "posters")])
def test_the_grids_officer_and_the_coordinator_may_open_the_grids_pages(login_as, session, town, name):
    method, url = urls(town, session)[name]
    for phone in (OFFICER_G12, COORDINATOR):
        assert login_as(phone).open(url, method=method).status_code == 200


@pytest.mark.parametrize("name", ALL)
def test_strangers_are_sent_to_log_in(client, session, town, name):
    method, url = urls(town, session)[name]
    response = client.open(url, method=method)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_missing_objects_are_404(login_as, town):
    client = login_as(COORDINATOR)
    for url in ("/grids/999999", "/grids/checkpoints/999999/edit", "/grids/checkpoints/99999999999/poster.pdf"):
        assert client.get(url).status_code == 404
    assert client.post("/grids/routes/999999/stops", data={"checkpoint_id": "1"}).status_code == 404


# --- The printed poster checks a volunteer in --------------------------------------------------------------

def test_a_posters_qr_checks_in_and_after_rotating_the_old_poster_is_refused(login_as, english, session, town):
    cp = town.checkpoints("G1")[1]
    officer = login_as(OFFICER_G12)
    response = officer.get(f"/grids/checkpoints/{cp.id}/poster.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    [printed] = decode(response.data)

    volunteer = english(VOLUNTEER)
    patrol = volunteer.post("/api/v1/patrols", json={"client_id": CID.format(1)})
    assert patrol.status_code == 201
    checkin = volunteer.post(f"/api/v1/patrols/{patrol.json['id']}/checkins",
                             json={"client_id": CID.format(2), "qr": printed})
    assert checkin.status_code == 201, checkin.text
    assert checkin.json["checkpoint_id"] == cp.id

    confirm = officer.get(f"/grids/checkpoints/{cp.id}/rotate")
    assert confirm.status_code == 200 and "stops working" in english(OFFICER_G12).get(
        f"/grids/checkpoints/{cp.id}/rotate").text
    assert count(session, CheckIn) >= 1
    rotated = officer.post(f"/grids/checkpoints/{cp.id}/rotate")
    assert rotated.status_code == 302
    refused = volunteer.post(f"/api/v1/patrols/{patrol.json['id']}/checkins",
                             json={"client_id": CID.format(3), "qr": printed})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "bad_qr"
    [reprinted] = decode(officer.get(f"/grids/checkpoints/{cp.id}/poster.pdf").data)
    assert reprinted != printed
    again = volunteer.post(f"/api/v1/patrols/{patrol.json['id']}/checkins",
                           json={"client_id": CID.format(4), "qr": reprinted})
    assert again.status_code == 201 and again.json["checkpoint_id"] == cp.id
    assert count(session, AuditEvent, AuditEvent.action == "checkpoint.rotate_qr", AuditEvent.object_id == cp.id) == 1


def test_all_posters_of_a_grid_are_one_page_each(login_as, town):
    g1 = town.grid("G1")
    response = login_as(COORDINATOR).get(f"/grids/{g1.id}/posters.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert len(decode(response.data)) == len(town.checkpoints("G1"))


def test_stickers_of_a_grid_are_nine_to_a_sheet_and_each_link_opens_its_point(login_as, town, app):
    g1 = town.grid("G1")
    coordinator = login_as(COORDINATOR)
    response = coordinator.get(f"/grids/{g1.id}/posters.pdf?size=sticker")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert len(pdfium.PdfDocument(response.data)) == 1  # three points, one sheet
    links = decode(response.data)
    expected = {f"http://localhost/c/{grids.qr_code(cp, app.config['SECRET_KEY'])}" for cp in town.checkpoints("G1")}
    assert set(links) == expected and len(links) == len(expected)
    one = town.checkpoints("G1")[0]
    [link] = decode(coordinator.get(f"/grids/checkpoints/{one.id}/poster.pdf?size=sticker").data)
    volunteer = login_as(VOLUNTEER)
    assert one.name in volunteer.get(link.replace("http://localhost", "")).text
    assert coordinator.get(f"/grids/{g1.id}/posters.pdf?size=huge").status_code == 400
    assert f"/grids/{g1.id}/posters.pdf?size=sticker" in coordinator.get(f"/grids/{g1.id}").text


def test_posters_without_the_cjk_font_are_a_clear_503_naming_the_configured_path(app, login_as, town, tmp_path):
    """Posters use the configured CJK_FONT, like certificates; a missing file is a setup problem, not a crash."""
    app.config["CJK_FONT"] = str(tmp_path / "missing.ttc")
    cp = town.checkpoints("G1")[0]
    for url in (f"/grids/checkpoints/{cp.id}/poster.pdf", f"/grids/{town.grid('G1').id}/posters.pdf"):
        response = login_as(COORDINATOR).get(url)
        assert response.status_code == 503 and "missing.ttc" in response.text and "fonts-noto-cjk" in response.text


# --- GeoJSON export ----------------------------------------------------------------------------------------

def features(data: dict) -> list[tuple]:
    """The features of an export as comparable tuples (order-free)."""
    found = []
    for f in data["features"]:
        p = f["properties"]
        found.append((p["kind"], p.get("code") or p.get("grid"), p["name"], json.dumps(f["geometry"], sort_keys=True),
                      p.get("radius_m")))
    return sorted(found)


def test_the_geojson_export_imports_into_an_empty_station_as_the_same_grids_and_checkpoints(login_as, town, session):
    from volunteers import grids
    from volunteers.models import Station, User
    response = login_as(COORDINATOR).get("/grids/export.geojson")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert "attachment" in response.headers["Content-Disposition"]
    exported = response.get_json()
    kinds = [f["properties"]["kind"] for f in exported["features"]]
    assert kinds.count("grid") == 4 and kinds.count("checkpoint") == count(session, Checkpoint, Checkpoint.retired_at.is_(None))
    other = Station(code="EMPTY", name="新派出所")
    session.add(other)
    session.flush()
    coordinator = User(station_id=other.id, phone="13900000009", name="新所协调员", password_hash="x", role="coordinator")
    session.add(coordinator)
    session.commit()
    created, updated = grids.import_grids(session, user=coordinator, text=response.data)
    assert len(created) == 4 and updated == []
    again = grids.export_geojson(session, coordinator)
    assert features(again) == features(exported)
    # Importing the same file again changes nothing and duplicates nothing.
    grids.import_grids(session, user=coordinator, text=response.data)
    assert features(grids.export_geojson(session, coordinator)) == features(exported)


def test_an_officer_exports_only_their_grids_and_a_volunteer_nothing(login_as, town):
    data = login_as(OFFICER_G12).get("/grids/export.geojson").get_json()
    assert {f["properties"].get("code") or f["properties"]["grid"] for f in data["features"]} == {"G1", "G2"}
    assert login_as(VOLUNTEER).get("/grids/export.geojson").status_code == 403
    page = login_as(OFFICER_G12).get("/grids/")
    assert 'id="export-grids"' in page.text and 'id="import-grids"' not in page.text


def test_an_imported_checkpoint_outside_its_grid_or_in_an_unknown_grid_saves_nothing(login_as, town, session):
    client = login_as(COORDINATOR)
    exported = client.get("/grids/export.geojson").get_json()
    before = count(session, Checkpoint)
    point = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [W + 0.001, S + 0.001]},
             "properties": {"grid": "G1", "name": "界外的点"}}
    response = client.post("/grids/import", data={"boundary": json.dumps(
        {"type": "FeatureCollection", "features": exported["features"] + [point]})})
    assert response.status_code == 422 and "G1" in response.text
    point["properties"]["grid"] = "G9"
    response = client.post("/grids/import", data={"boundary": json.dumps(
        {"type": "FeatureCollection", "features": exported["features"] + [point]})})
    assert response.status_code == 422 and "G9" in response.text
    assert count(session, Checkpoint) == before
