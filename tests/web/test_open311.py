"""Open311 GeoReport v2: partners read hazards, never clues, never anything that identifies a person."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

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
