"""Junk bodies to every POST rule of app.url_map, as a logged-in officer and volunteer: never a 5xx (issue 14,
finding 3). Deterministic: a fixed list of attacks, real-looking ids (1) in every URL."""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import OFFICER_G12, VOLUNTEER

DEEP = 2000
CID = "7d3c6f4e-2b7a-4f9e-9c1d-5e8a2b4c6d10"
# Every field name a form or API body of the app reads an id, a number or a choice from.
FIELDS = ("client_id", "kind", "title", "grid", "grid_id", "hazard_id", "team_id", "volunteer_ids", "volunteer_id",
          "checkpoint_id", "capacity", "starts_at", "ends_at", "start_date", "start_time", "end_date", "end_time",
          "lat", "lng", "accuracy", "category", "description", "minutes", "reason", "role", "month", "from", "to",
          "person_id", "user_id", "officer_ids", "member_id", "leader_id", "code", "name", "boundary", "phone",
          "password", "new_password", "confirm", "action", "state", "note", "number", "duty_id", "assignment_id",
          "record_id", "patrol_id", "qr", "places", "weekday", "weekdays", "time", "date", "lang", "next", "reach")

JSON_BODIES = {
    "deep_list": "[" * DEEP + "]" * DEEP,
    "deep_object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "deep_in_a_field": '{"client_id":"%s","title":%s}' % (CID, "[" * DEEP + "]" * DEEP),
    "huge_number": '{"client_id":"%s","grid":%s,"hazard_id":1e400,"capacity":-1e999}' % (CID, "9" * 5000),
    "big_ids": json.dumps({f: 10 ** 25 for f in FIELDS} | {"client_id": CID}),
    "ids_as_strings": json.dumps({f: "1x" for f in FIELDS} | {"client_id": CID}),
    "ids_as_lists": json.dumps({f: [1, "x", None] for f in FIELDS} | {"client_id": CID}),
    "ids_as_objects": json.dumps({f: {"$gt": 0} for f in FIELDS}),
    "not_an_object": "[1, 2, 3]",
    "truncated": '{"client_id": "',
}
RAW_BODIES = {"invalid_utf8_json": (b'\xff\xfe{"a": "\xc3\x28"}', "application/json")}
FORM_BODIES = {
    "form_ids_as_text": {f: "1x" for f in FIELDS},
    "form_huge_numbers": {f: "9" * 400 for f in FIELDS},
    "form_negative_and_float": {f: "-1.5e308" for f in FIELDS},
}
RAW_FORMS = {"form_invalid_utf8": b"title=%ff%fe%c3%28&hazard_id=1x&grid=%ff&client_id=%ff&description=%80"}
# Logging out would end the session the other attacks need; it takes no body anyway.
SKIP = {"auth.logout"}


def post_urls(app) -> list[tuple[str, str]]:
    """(endpoint, url) for every POST rule, each argument filled with 1 (ids) or a plausible word."""
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in rule.methods or rule.endpoint in SKIP:
            continue
        url = rule.rule
        url = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", lambda m: "1" if m.group(1) in ("int", "float") else "accept", url)
        urls.append((rule.endpoint, url))
    return urls


def attacks():
    for name, text in JSON_BODIES.items():
        yield name, {"data": text, "content_type": "application/json"}
    for name, (raw, ctype) in RAW_BODIES.items():
        yield name, {"data": raw, "content_type": ctype}
    for name, form in FORM_BODIES.items():
        yield name, {"data": form}
    for name, raw in RAW_FORMS.items():
        yield name, {"data": raw, "content_type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("phone", [OFFICER_G12, VOLUNTEER])
def test_no_post_rule_answers_5xx_to_junk(app, login_as, phone):
    client = login_as(phone)
    urls = post_urls(app)
    assert len(urls) > 50
    failures, sent = [], 0
    for endpoint, url in urls:
        for name, kwargs in attacks():
            if not url.startswith("/api/") and name.startswith(("deep_object", "deep_in", "big_ids", "ids_as_l",
                                                                "ids_as_o", "not_an", "truncated")):
                continue  # pages read forms; one deep list and the invalid UTF-8 are enough to try on them
            sent += 1
            try:
                response = client.post(url, **kwargs)
            except Exception as exc:  # TESTING propagates what would be a 500
                failures.append(f"{endpoint} {url} {name}: {type(exc).__name__}: {str(exc)[:120]}")
                continue
            if response.status_code >= 500:
                failures.append(f"{endpoint} {url} {name}: {response.status_code}")
    assert sent > 400
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["deep_list", "deep_object", "huge_number", "truncated", "not_an_object"])
def test_bad_json_is_400_in_the_error_format(login_as, name):
    response = login_as(VOLUNTEER).post("/api/v1/hazards", data=JSON_BODIES[name], content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_json" and response.json["error"]["message"]


def test_invalid_utf8_json_is_400_bad_json(login_as):
    raw, ctype = RAW_BODIES["invalid_utf8_json"]
    response = login_as(VOLUNTEER).post("/api/v1/patrols", data=raw, content_type=ctype)
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_json"


def test_a_new_task_with_a_hazard_id_that_is_not_a_number_re_renders_the_form(login_as, town):
    response = login_as(OFFICER_G12).post("/tasks/new", data={"client_id": CID, "kind": "hazard_followup",
                                                               "title": "x", "grid": town.grid("G1").id,
                                                               "hazard_id": "1x"})
    assert response.status_code in (400, 422) and 'name="title"' in response.text
