"""Where a point is, in people's words: the nearest known place (a checkpoint), the compass direction from it and
the distance as people say it ("东街村委会 东北 120 米"); nothing when no place is near enough."""
from __future__ import annotations

import pytest
from geopy.distance import distance as geo_distance

from volunteers import geo, grids
from volunteers.models import Checkpoint, utcnow
from sqlmodel import select

GATE = ("东街村委会", 30.2517, 120.0931)
MARKET = ("菜市场", 30.2560, 120.1010)


def moved(place, metres: float, bearing: float) -> tuple[float, float]:
    """The point `metres` from the place on this bearing (0 north, 90 east)."""
    p = geo_distance(meters=metres).destination((place[1], place[2]), bearing)
    return p.latitude, p.longitude


@pytest.mark.parametrize("bearing, word", [(0, "north"), (44, "north-east"), (90, "east"), (135, "south-east"),
                                           (180, "south"), (225, "south-west"), (270, "west"), (316, "north-west"),
                                           (359, "north")])
def test_the_direction_is_one_of_eight_compass_points_from_the_place_to_the_point(bearing, word):
    near = grids.nearest([GATE], *moved(GATE, 120, bearing))
    assert near.place == "东街村委会" and near.direction == word and near.distance_m == 120


def test_the_distance_is_rounded_as_people_say_it():
    assert grids.spoken_metres(37) == 35 and grids.spoken_metres(123) == 120 and grids.spoken_metres(987) == 990
    assert grids.nearest([GATE], *moved(GATE, 63, 90)).distance_m == 65


def test_the_nearest_place_is_chosen_not_the_first():
    lat, lon = moved(MARKET, 200, 180)
    near = grids.nearest([GATE, MARKET], lat, lon)
    assert near.place == "菜市场" and near.direction == "south" and near.distance_m == 200


def test_nothing_is_said_when_no_place_is_within_range():
    assert grids.nearest([GATE], *moved(GATE, grids.NEAR_M + 50, 90)) is None
    assert grids.nearest([], 30.25, 120.09) is None


def test_a_point_at_the_place_has_no_direction():
    near = grids.nearest([GATE], *moved(GATE, 5, 45))
    assert near.place == "东街村委会" and near.direction is None and near.distance_m == 0


def test_the_bearing_is_measured_on_the_ellipsoid():
    assert geo.bearing_deg((30.25, 120.09), (30.26, 120.09)) == pytest.approx(0, abs=0.01)
    assert geo.bearing_deg((30.25, 120.09), (30.25, 120.08)) == pytest.approx(270, abs=0.1)


def test_whereabouts_uses_the_stations_checkpoints_in_use_only(session, town):
    cp = town.checkpoints("G1")[0]
    lat, lon = moved((cp.name, cp.lat, cp.lon), 80, 90)
    station_id = town.grid("G1").station_id
    found = grids.whereabouts(session, station_id, [("a", lat, lon), ("b", None, None)])
    assert found["a"].place == cp.name and found["a"].direction == "east" and "b" not in found
    for other in session.exec(select(Checkpoint)):
        other.retired_at = utcnow()
        session.add(other)
    session.commit()
    assert grids.whereabouts(session, station_id, [("a", lat, lon)]) == {}


def test_the_words_in_chinese_and_english(app):
    from flask_babel import force_locale
    from volunteers.web.templating import metres, where_words
    near = grids.Nearby(place="东街村委会", distance_m=120, direction="north-east")
    with app.test_request_context():
        with force_locale("zh_Hans_CN"):
            assert where_words(near) == "东街村委会 东北 120 米" and metres(7.6) == "8 米"
            assert where_words(grids.Nearby("东街村委会", 0, None)) == "就在东街村委会"
        with force_locale("en"):
            assert where_words(near) == "120 m north-east of 东街村委会" and metres(7.6) == "8 m"
        assert where_words(None) == ""
