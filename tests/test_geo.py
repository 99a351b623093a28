"""geo: the geodesic distance people see, and the rough one the speed flag compares with its threshold."""
from __future__ import annotations

import pytest
from geopy.distance import geodesic

from volunteers import geo


@pytest.mark.parametrize("origin", [(18.25, 109.5), (30.25, 120.16), (45.75, 126.63)])  # Sanya, Hangzhou, Harbin
@pytest.mark.parametrize("metres", [12, 150, 900, 4_000])
@pytest.mark.parametrize("bearing", [0, 45, 90, 200, 300])
def test_the_rough_distance_is_within_half_a_percent_of_the_geodesic_one(origin, metres, bearing):
    there = geodesic(meters=metres).destination(origin, bearing=bearing)
    exact = geo.distance_m(origin, (there.latitude, there.longitude))
    assert exact == pytest.approx(metres, abs=0.01)
    assert geo.rough_distance_m(origin, (there.latitude, there.longitude)) == pytest.approx(exact, rel=0.005)


def test_the_rough_distance_of_a_point_to_itself_is_zero_and_it_is_symmetric():
    a, b = (30.25, 120.16), (30.2612, 120.1733)
    assert geo.rough_distance_m(a, a) == 0
    assert geo.rough_distance_m(a, b) == pytest.approx(geo.rough_distance_m(b, a))
