"""On a 360 px phone with no map tiles (as in the tests and most police networks), every map still speaks: grid
outlines labelled with code and name, checkpoint names beside their markers, a scale in 米, "you are here" when the
phone's position is allowed, and no Leaflet flag. Screenshots go to docs/screenshots/."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page, until
from volunteers.models import Checkpoint, Grid

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def names(live, *codes: str) -> tuple[list[str], list[tuple[str, float, float]]]:
    """The grids' labels ("G1 东街") and their checkpoints' names and places."""
    with live.session() as s:
        grids = [s.exec(select(Grid).where(Grid.code == code)).one() for code in codes]
        points = s.exec(select(Checkpoint).where(Checkpoint.grid_id.in_([g.id for g in grids]),
                                                 Checkpoint.retired_at.is_(None))).all()
        return [f"{g.code} {g.name}" for g in grids], [(c.name, c.lat, c.lon) for c in points]


def inside(page, label, map_box) -> bool:
    """The label is drawn within the map's frame (not clipped away off its edge)."""
    box = label.bounding_box()
    return (box is not None and box["x"] >= map_box["x"] - 1 and box["y"] >= map_box["y"] - 1
            and box["x"] + box["width"] <= map_box["x"] + map_box["width"] + 40
            and box["y"] + box["height"] <= map_box["y"] + map_box["height"] + 1)


def speaks(page, map_selector: str, grid_labels: list[str], points: list[tuple[str, float, float]]) -> None:
    """The map shows each grid's label and checkpoints' names (names that would cover another show once the map is
    zoomed in on them), a scale in 米, and no Leaflet credit."""
    the_map = page.locator(map_selector)
    expect(the_map).to_be_visible()
    the_map.scroll_into_view_if_needed()
    map_box = the_map.bounding_box()
    for text in grid_labels:
        label = the_map.locator(".map-label-grid span", has_text=text)
        expect(label).to_be_visible()
        assert inside(page, label, map_box), text
    shown = [name for name, _lat, _lon in points
             if the_map.locator(".leaflet-tooltip.map-label-point", has_text=name).first.is_visible()]
    assert len(shown) * 2 >= len(points), shown  # most names at once, none covering another
    for name, lat, lon in points:
        label = the_map.locator(".leaflet-tooltip.map-label-point", has_text=name).first
        expect(label).to_have_count(1)
        if name not in shown:
            the_map.evaluate("(el, at) => el._pavMap.setView(at, 18, {animate: false})", [lat, lon])
            expect(label).to_be_visible()
            assert inside(page, label, the_map.bounding_box()), name
    expect(the_map.locator(".leaflet-control-scale-line")).to_contain_text("米")
    attribution = the_map.locator(".leaflet-control-attribution")
    assert "Leaflet" not in (attribution.text_content() or "") and attribution.locator("svg").count() == 0


def test_the_grids_page_labels_grids_and_checkpoints_without_tiles(live, contexts):
    grid_labels, point_names = names(live, "G1", "G2")
    page = open_page(contexts("phone"))
    log_in(page, live, "13800000101")  # the officer of G1 and G2
    page.goto(live.url + "/grids/")
    page.locator("[data-grid-map]").scroll_into_view_if_needed()
    page.locator("[data-grid-map]").screenshot(path=str(SHOTS / "map-no-tiles-grids.png"))
    speaks(page, "[data-grid-map]", grid_labels, point_names)
    expect(page.locator("#export-grids")).to_be_visible()
    assert page.problems.items == []


def test_the_report_form_map_shows_the_volunteers_grid_named_and_where_they_are(live, contexts):
    grid_labels, point_names = names(live, "G1")
    with live.session() as s:
        grid = s.exec(select(Grid).where(Grid.code == "G1")).one()
        first = s.exec(select(Checkpoint).where(Checkpoint.grid_id == grid.id)).first()
    page = open_page(contexts("phone", permissions=["geolocation"],
                              geolocation={"latitude": first.lat, "longitude": first.lon, "accuracy": 8}))
    log_in(page, live, "13800000201")  # a volunteer of G1
    page.goto(live.url + "/hazards/new")
    expect(page.locator("[data-pick-hint]")).to_be_visible()  # 或在地图上点选位置 now over a map that says where
    expect(page.locator("[data-pick-map] .map-label-here")).to_be_visible()  # 您在这里: the position was allowed
    page.locator("[data-pick-map]").scroll_into_view_if_needed()
    page.locator("[data-pick-map]").screenshot(path=str(SHOTS / "map-no-tiles-report.png"))
    speaks(page, "[data-pick-map]", grid_labels, point_names)
    assert page.problems.items == []


def test_the_dashboard_map_names_its_grids_and_must_visit_points_without_tiles(live, contexts):
    grid_labels, point_names = names(live, "G1", "G2")
    page = open_page(contexts("phone"))
    log_in(page, live, "13800000101")
    page.goto(live.url + "/dashboard/")
    until(page, "document.querySelectorAll('[data-dashboard-map] .map-label-grid').length >= 2")
    page.locator("[data-dashboard-map]").scroll_into_view_if_needed()
    page.locator("[data-dashboard-map]").screenshot(path=str(SHOTS / "map-no-tiles-dashboard.png"))
    speaks(page, "[data-dashboard-map]", grid_labels, point_names)
    assert page.problems.items == []
