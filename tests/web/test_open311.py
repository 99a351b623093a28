"""Open311 GeoReport v2: partners read hazards, never clues, never anything that identifies a person."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta
from urllib.parse import unquote

import pytest

from tests.conftest import OFFICER_G12, VOLUNTEER
from volunteers import hazards, open311, photos
from volunteers.models import Hazard, Station, utcnow


@pytest.fixture
def reports(app, town, session, tmp_path):
    """An open hazard, a closed-by-rejection hazard, and a clue, all by volunteer 201 in G1."""
    store = photos.PhotoStore(tmp_path)
    volunteer, officer = town.user(VOLUNTEER), town.user(OFFICER_G12)
    cp = town.checkpoints("G1")[0]

    def file(kind, category, description):
        hazard, _ = hazards.report(session, user=volunteer, uploads=[], store=store, data={
            "client_id": str(uuid.uuid4()), "kind": kind, "category": category, "description": description,
            "lat": cp.lat, "lon": cp.lon, "address": "东街 3 号 电话 13800000201"})
        return hazard

    open_one = file("hazard", "fire", "楼道堆放杂物，联系人王秀英 13800000201")
    rejected = file("hazard", "traffic", "路灯不亮")
    hazards.transition(session, user=officer, hazard_id=rejected.id, data={"to": "rejected", "note": "不属实"},
                       photo=None, store=store)
    clue = file("clue", "suspicious", "可疑人员多次出入")
    return {"open": open_one, "rejected": rejected, "clue": clue, "reporter": volunteer}


def test_services_list_every_category(client):
    services = client.get("/open311/v2/services.json").json
    assert [s["service_code"] for s in services] == list(hazards.CATEGORIES)
    assert all(s["service_name"] and s["type"] == "realtime" for s in services)


def test_requests_show_hazards_but_never_clues_or_people(client, reports, session):
    response = client.get("/open311/v2/requests.json")
    assert response.status_code == 200
    ids = {r["service_request_id"] for r in response.json}
    assert {str(reports["open"].id), str(reports["rejected"].id)} <= ids and str(reports["clue"].id) not in ids
    assert all(session.get(Hazard, int(i)).kind == "hazard" for i in ids)
    text = json.dumps(response.json, ensure_ascii=False)
    reporter = reports["reporter"]
    # A name typed into a description cannot be told from other words, but no phone or ID number ever leaves.
    assert reporter.phone not in text and "0201" not in text and "***" in text
    assert "reporter" not in text and "可疑" not in text
    assert {key for r in response.json for key in r} == set(open311.as_request(reports["open"], str))


def test_jurisdiction_id_is_one_stations_feed(client, reports, session):
    station = session.get(Station, reports["open"].station_id)
    other = Station(code="other-station", name="别的派出所")
    session.add(other)
    session.commit()
    mine = client.get(f"/open311/v2/requests.json?jurisdiction_id={station.code}").json
    assert str(reports["open"].id) in {r["service_request_id"] for r in mine}
    assert client.get("/open311/v2/requests.json?jurisdiction_id=other-station").json == []
    unknown = client.get("/open311/v2/requests.json?jurisdiction_id=nowhere")
    assert unknown.status_code == 404 and unknown.json[0]["code"] == 404


def test_status_and_date_filters(client, reports):
    mine = {str(reports["open"].id), str(reports["rejected"].id)}
    recent = {"start_date": (utcnow() - timedelta(minutes=5)).isoformat()}  # the demo's reports are older
    ids = lambda query: {r["service_request_id"] for r in client.get("/open311/v2/requests.json", query_string=query).json}
    assert ids(recent) == mine
    assert ids(recent | {"status": "open"}) == {str(reports["open"].id)}
    assert ids(recent | {"status": "closed"}) == {str(reports["rejected"].id)}
    assert ids({"start_date": (utcnow() + timedelta(days=1)).isoformat()}) == set()
    assert len(ids({})) > len(mine)  # the last 90 days by default, demo town included
    closed = client.get("/open311/v2/requests.json?status=closed").json
    assert closed and all(r["status"] == "closed" for r in closed)
    assert {r["service_code"] for r in client.get("/open311/v2/requests.json?service_code=traffic").json} == {"traffic"}


def test_one_request_by_id_and_a_clue_does_not_exist(client, reports):
    one = client.get(f"/open311/v2/requests/{reports['open'].id}.json")
    assert one.status_code == 200 and one.json[0]["status"] == "open" and one.json[0]["lat"] is not None
    clue = client.get(f"/open311/v2/requests/{reports['clue'].id}.json")
    assert clue.status_code == 404 and clue.json[0]["code"] == 404


@pytest.mark.parametrize("query", ["status=maybe", "start_date=yesterday", "service_request_id=1,x"])
def test_bad_filters_are_a_georeport_400(client, query):
    response = client.get(f"/open311/v2/requests.json?{query}")
    assert response.status_code == 400
    assert response.json[0]["code"] == 400 and response.json[0]["description"]


# --- paging: a bounded page at a time, the next one named in a Link header ---------------------------------------

def next_link(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    url, rel = link.split(";")
    assert rel.strip() == 'rel="next"' and url.startswith("<http") and url.endswith(">")
    return url[1:-1].split("://", 1)[1].split("/", 1)[1]  # the path and query, for the test client


def test_the_default_page_is_bounded_and_names_the_next(client, reports, monkeypatch):
    everything = client.get("/open311/v2/requests.json", query_string={"page_size": open311.MAX_PAGE_SIZE})
    total = len(everything.json)
    assert total > 3 and "Link" not in everything.headers
    monkeypatch.setattr(open311, "DEFAULT_PAGE_SIZE", 3)
    first = client.get("/open311/v2/requests.json")
    assert len(first.json) == 3 and next_link(first)
    assert [r["service_request_id"] for r in first.json] == [r["service_request_id"] for r in everything.json[:3]]


def test_paging_through_gives_every_hazard_once_and_never_a_clue(client, reports):
    everything = [r["service_request_id"] for r in
                  client.get("/open311/v2/requests.json", query_string={"page_size": open311.MAX_PAGE_SIZE}).json]
    seen, path, pages = [], "/open311/v2/requests.json?page_size=2", 0
    while path:
        response = client.get(path)
        assert response.status_code == 200 and 1 <= len(response.json) <= 2
        seen += [r["service_request_id"] for r in response.json]
        path, pages = next_link(response), pages + 1
    assert seen == everything and len(set(seen)) == len(seen) and pages == -(-len(everything) // 2)
    assert str(reports["clue"].id) not in seen and str(reports["open"].id) in seen
    # the filters travel with the next page
    first = client.get("/open311/v2/requests.json?page_size=1&service_code=fire,traffic")
    follow = next_link(first)  # the fixture's fire and traffic hazards at least
    assert follow and "service_code=fire,traffic" in unquote(follow) and "page=2" in follow
    assert client.get(follow).json[0]["service_code"] in ("fire", "traffic")


def test_the_last_page_has_no_next_and_past_it_is_empty(client, reports):
    total = len(client.get("/open311/v2/requests.json", query_string={"page_size": open311.MAX_PAGE_SIZE}).json)
    last = client.get("/open311/v2/requests.json", query_string={"page_size": 2, "page": -(-total // 2)})
    assert last.status_code == 200 and last.json and "Link" not in last.headers
    past = client.get("/open311/v2/requests.json", query_string={"page_size": 2, "page": -(-total // 2) + 1})
    assert past.status_code == 200 and past.json == []


@pytest.mark.parametrize("query", ["page_size=0", f"page_size={open311.MAX_PAGE_SIZE + 1}", "page_size=lots",
                                   "page=0", "page=-1", "page=2.5", f"page={open311.MAX_DEPTH}&page_size=2"])
def test_a_bad_or_too_deep_page_is_a_georeport_400(client, query):
    response = client.get(f"/open311/v2/requests.json?{query}")
    assert response.status_code == 400
    assert response.json[0]["code"] == 400 and response.json[0]["description"]
