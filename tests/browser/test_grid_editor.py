"""On a desktop (no map tiles): the officer taps the grid's map to place a checkpoint and it is saved in place;
the coordinator draws a new grid by tapping its corners on the map of the town."""
from __future__ import annotations

import json
import re

import shapely
import shapely.geometry
from playwright.sync_api import expect
from sqlmodel import select

from tests.browser.conftest import log_in, open_page
from volunteers.models import Checkpoint, Grid


def test_the_officer_places_a_checkpoint_by_tapping_the_map(live, contexts):
    g1 = live.grid("G1")
    page = open_page(contexts("desktop"))
    log_in(page, live, "13800000101")
    page.click("#grids-link")
    page.click(f"#grid-{g1.id} a")
    page.wait_for_url(re.compile(rf"/grids/{g1.id}$"))
    grid_map = page.locator("#checkpoints [data-grid-map]")
    expect(grid_map).to_be_visible()
    box = grid_map.bounding_box()
    grid_map.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    expect(page.locator("#cp-lat")).not_to_have_value("")
    page.fill("#cp-name", "地图新点")
    page.fill("#cp-radius", "70")
    page.click("#checkpoint-form button[type=submit]")
    expect(page.locator("#checkpoints")).to_contain_text("地图新点")
    with live.session() as s:
        cp = s.exec(select(Checkpoint).where(Checkpoint.name == "地图新点")).one()
    assert cp.grid_id == g1.id and cp.radius_m == 70
    assert shapely.geometry.shape(g1.boundary).covers(shapely.Point(cp.lon, cp.lat))
    # The list came back through htmx and its map works again: a second tap fills the fresh form.
    grid_map = page.locator("#checkpoints [data-grid-map]")
    expect(grid_map).to_have_attribute("data-ready", "1")
    grid_map.click(position={"x": box["width"] / 2 + 20, "y": box["height"] / 2 + 20})
    expect(page.locator("#cp-lat")).not_to_have_value("")
    assert page.problems.items == []


def test_the_coordinator_draws_a_new_grid_by_tapping_its_corners(live, contexts):
    page = open_page(contexts("desktop"))
    log_in(page, live, "13800000000")
    page.goto(live.url + "/grids/new")
    grid_map = page.locator("[data-grid-map]")
    expect(grid_map).to_be_visible()
    box = grid_map.bounding_box()
    # The town is about square and the map wider than tall: its right edge is empty ground.
    x0, x1, y0, y1 = box["width"] - 60, box["width"] - 20, box["height"] / 2 - 40, box["height"] / 2 + 40
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        grid_map.click(position={"x": x, "y": y})
    ring = json.loads(page.locator("#boundary").input_value())["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    page.click("[data-boundary-undo]")
    assert len(json.loads(page.locator("#boundary").input_value())["coordinates"][0]) == 4
    grid_map.click(position={"x": x0, "y": y1})
    page.fill("#code", "G9")
    page.fill("#name", "画出来的网格")
    page.click("#grid-form button[type=submit]")
    page.wait_for_url(re.compile(r"/grids/\d+$"))
    with live.session() as s:
        grid = s.exec(select(Grid).where(Grid.code == "G9")).one()
    assert grid.name == "画出来的网格" and len(grid.boundary["coordinates"][0]) == 5
    assert page.problems.items == []
