"""Reading request fields: numbers and (lat, lon) points from a form or a JSON body, each mistake with its own code."""
from __future__ import annotations

import pytest

from volunteers import fields
from volunteers.errors import Invalid


@pytest.mark.parametrize("raw, code", [(None, "missing_field"), ("  ", "missing_field"), (True, "bad_number"),
                                       ("abc", "bad_number"), (10 ** 400, "bad_number"), ("nan", "out_of_range"),
                                       ("inf", "out_of_range"), ("91", "out_of_range")])
def test_a_number_that_is_missing_not_a_number_or_out_of_range_is_refused(raw, code):
    with pytest.raises(Invalid) as err:
        fields.number({"lat": raw}, "lat", low=-90, high=90)
    assert err.value.code == code and err.value.params["field"] == "lat"


def test_a_number_from_a_form_string_or_json_and_an_optional_one_left_empty():
    assert fields.number({"accuracy_m": " 12.5 "}, "accuracy_m", low=0, high=100) == 12.5
    assert fields.number({"accuracy_m": 0}, "accuracy_m", low=0, high=100) == 0
    assert fields.number({"accuracy_m": ""}, "accuracy_m", low=0, high=100, required=False) is None


def test_a_point_needs_both_halves_once_either_is_given():
    assert fields.point({"lat": "30.25", "lon": 120.09}) == (30.25, 120.09)
    assert fields.point({}, required=False) is None
    with pytest.raises(Invalid) as err:
        fields.point({"lat": "30.25"}, required=False)
    assert err.value.params["field"] == "lon"
    with pytest.raises(Invalid) as err:
        fields.point({"lat": "30.25", "lon": "181"})
    assert err.value.code == "out_of_range"
