"""Junk bodies to every POST rule of app.url_map, as a logged-in officer and volunteer: never a 5xx (issue 14,
finding 3). Deterministic: a fixed list of attacks, then bodies drawn by hypothesis (derandomized: the same examples
on every run), real-looking ids (1) in every URL."""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

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


# --- Bodies drawn by hypothesis --------------------------------------------------------------------------------
# Each example is posted to every POST rule, so the cost is examples × rules × 2 callers; derandomize=True draws the
# same examples on every run (a failure is reproducible, the suite's time is steady), and shrinking is off (each
# step of it would be another round of every rule).
FUZZ_EXAMPLES = 5
FUZZ_SETTINGS = settings(max_examples=FUZZ_EXAMPLES, derandomize=True, database=None, deadline=None,
                         phases=(Phase.explicit, Phase.generate), print_blob=False,
                         suppress_health_check=list(HealthCheck))

# Strings a field may meet: control characters and NUL, right-to-left marks, full-width digits, markup; no lone
# surrogates (they cannot be sent as UTF-8 at all).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
TRICKY = st.sampled_from(["", " ", "1", "0", "-1", "1x", "9" * 40, "1e400", "-1e400", "nan", "inf", "true", "null",
                          "[1]", "{}", "１２", "2026-13-45", "25:99", "2026-02-30T25:61:00+99:00", "\x00", "\u202e1",
                          CID, "<script>alert(1)</script>", "../../etc/passwd"])
JSON_LEAF = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 80), max_value=2 ** 80)
             | st.floats(allow_nan=True, allow_infinity=True) | TEXT | TRICKY)
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.sampled_from(FIELDS) | TEXT, inner, max_size=4), max_leaves=10)
JSON_BODY = st.one_of(st.fixed_dictionaries({}, optional={f: JSON_VALUE for f in FIELDS}), JSON_VALUE)
FORM_VALUE = TEXT | TRICKY | st.integers().map(str) | st.lists(TEXT | TRICKY, min_size=2, max_size=3)
FORM_BODY = st.fixed_dictionaries({}, optional={f: FORM_VALUE for f in FIELDS})


def post_everywhere(client, urls, kwargs) -> list[str]:
    """POST one body to every rule; the 5xx answers (or exceptions TESTING lets through) it met."""
    failures = []
    for endpoint, url in urls:
        try:
            response = client.post(url, **kwargs)
        except Exception as exc:
            failures.append(f"{endpoint} {url}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        if response.status_code >= 500:
            failures.append(f"{endpoint} {url}: {response.status_code}")
    return failures


@pytest.mark.parametrize("phone", [OFFICER_G12, VOLUNTEER])
def test_no_post_rule_answers_5xx_to_json_bodies_hypothesis_draws(app, login_as, phone):
    client, urls, drawn = login_as(phone), post_urls(app), []

    @FUZZ_SETTINGS
    @given(body=JSON_BODY, ascii_only=st.booleans())
    def every_rule(body, ascii_only):
        text = json.dumps(body, ensure_ascii=ascii_only, allow_nan=True)
        drawn.append(text)
        failures = post_everywhere(client, urls, {"data": text, "content_type": "application/json"})
        assert not failures, f"body {text[:300]!r}:\n" + "\n".join(failures)

    every_rule()
    assert len(drawn) == FUZZ_EXAMPLES and len(set(drawn)) > 1 and len(urls) > 50


@pytest.mark.parametrize("phone", [OFFICER_G12, VOLUNTEER])
def test_no_post_rule_answers_5xx_to_form_bodies_hypothesis_draws(app, login_as, phone):
    client, urls, drawn = login_as(phone), post_urls(app), []

    @FUZZ_SETTINGS
    @given(form=FORM_BODY)
    def every_rule(form):
        drawn.append(form)
        failures = post_everywhere(client, urls, {"data": form})
        assert not failures, f"form {str(form)[:300]!r}:\n" + "\n".join(failures)

    every_rule()
    assert len(drawn) == FUZZ_EXAMPLES and len(urls) > 50
