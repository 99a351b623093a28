"""A poster's QR is a link, /c/<code>: opened by any scanner it shows the point with one check-in button; the GET
never writes, the tap checks in (starting a patrol when none runs), and every refusal says what to do."""
from __future__ import annotations

import re
from urllib.parse import urlparse

from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER, VOLUNTEER_G3
from tests.web.test_grid_pages import decode
from volunteers import grids
from volunteers.models import CheckIn, Patrol

CID = "5c0d1e2f-0000-4000-8000-00000000000{}"


def poster_link(login_as, town, checkpoint) -> str:
    [link] = decode(login_as(COORDINATOR).get(f"/grids/checkpoints/{checkpoint.id}/poster.pdf").data)
    return link


def checkins(session, user) -> list[CheckIn]:
    session.expire_all()
    return list(session.exec(select(CheckIn).join(Patrol).where(Patrol.user_id == user.id)))


def test_the_posters_qr_is_a_link_that_opens_the_point_and_one_tap_checks_in(login_as, english, quiet_day, session):
    town = quiet_day
    cp = town.checkpoints("G1")[0]
    link = poster_link(login_as, town, cp)
    assert re.fullmatch(r"http://localhost/c/PAV1-\d+-[A-Z2-7]{10}", link), link
    volunteer, me = english(VOLUNTEER), town.user(VOLUNTEER)
    before = len(checkins(session, me))

    page = volunteer.get(urlparse(link).path)
    assert page.status_code == 200 and cp.name in page.text and 'id="scan-checkin-button"' in page.text
    assert len(checkins(session, me)) == before  # opening the link (a preview, a prefetch) checks nobody in
    client_id = re.search(r'name="client_id" value="([^"]+)"', page.text).group(1)

    tapped = volunteer.post(urlparse(link).path, data={"client_id": client_id})
    assert tapped.status_code == 302 and urlparse(tapped.location).path == "/"
    again = volunteer.post(urlparse(link).path, data={"client_id": client_id})  # a double tap, a retry
    assert again.status_code == 302
    mine = checkins(session, me)
    assert len(mine) == before + 1 and mine[-1].checkpoint_id == cp.id and mine[-1].method == "qr"
    open_patrols = session.exec(select(Patrol).where(Patrol.user_id == me.id, Patrol.ended_at.is_(None))).all()
    assert len(open_patrols) == 1  # the tap started the patrol it needed, once
    assert "Checked in at" in volunteer.get("/").text


def test_a_link_opened_while_logged_out_logs_in_then_continues_to_the_point(app, town):
    cp = town.checkpoints("G1")[0]
    path = f"/c/{grids.qr_code(cp, app.config['SECRET_KEY'])}"
    client = app.test_client()
    first = client.get(path)
    assert first.status_code == 302 and "/login" in first.location
    logged_in = client.post(first.location, data={"phone": VOLUNTEER, "password": "demo1234"})
    assert logged_in.status_code == 302 and urlparse(logged_in.location).path == path


def test_another_grids_point_a_rotated_code_and_junk_are_refused_with_the_way_forward(app, english, town, session):
    g1 = town.checkpoints("G1")[0]
    code = grids.qr_code(g1, app.config["SECRET_KEY"])
    other = english(VOLUNTEER_G3)
    refused = other.get(f"/c/{code}")
    assert refused.status_code == 404 and "not in your grid" in refused.text and "Type the code" in refused.text
    assert other.post(f"/c/{code}", data={"client_id": CID.format(1)}).status_code == 404
    for junk in ("PAV1-1-AAAAAAAAAA", "hello", code[:-1]):
        response = english(VOLUNTEER).get(f"/c/{junk}")
        assert response.status_code == 422 and "not valid" in response.text


def test_a_retired_points_link_says_so(app, english, login_as, town):
    cp = town.checkpoints("G1")[0]
    code = grids.qr_code(cp, app.config["SECRET_KEY"])
    assert login_as(OFFICER_G12).post(f"/grids/checkpoints/{cp.id}/retire").status_code in (200, 302)
    response = english(VOLUNTEER).get(f"/c/{code}")
    assert response.status_code == 422 and "no longer a must-visit point" in response.text
