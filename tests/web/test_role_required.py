"""The role decorators of volunteers/web/views.py: a stranger is sent to log in, anyone outside the roles gets the
403 error page (JSON on the API) with the guard's message, and the roles inside reach the view."""
from __future__ import annotations

import pytest
from flask import Blueprint

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER
from volunteers import roles
from volunteers.web.views import manager_required, role_required, staff_required


@pytest.fixture
def guarded(app):
    """Three views behind the decorators alone (no login_required above them), one of them on the API's path."""
    bp = Blueprint("guarded", __name__)
    bp.get("/guarded/staff", endpoint="staff")(staff_required(lambda: "staff reached the view"))
    bp.get("/guarded/managers", endpoint="managers")(manager_required(lambda: "managers reached the view"))
    bp.get("/api/v1/guarded", endpoint="api")(role_required(roles.MANAGERS, "Only the coordinator manages teams.")(
        lambda: {"inside": True}))
    app.register_blueprint(bp)
    return app


def test_a_stranger_is_sent_to_log_in(guarded):
    client = guarded.test_client()
    page = client.get("/guarded/staff")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = client.get("/api/v1/guarded")
    assert api.status_code == 401 and api.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("phone, url", [(VOLUNTEER, "/guarded/staff"), (VOLUNTEER, "/guarded/managers"),
                                        (OFFICER_G12, "/guarded/managers")])
def test_outside_the_roles_is_the_403_page(guarded, english, phone, url):
    response = english(phone).get(url)
    assert response.status_code == 403
    assert "You are not allowed to do that." in response.text and "reached the view" not in response.text


def test_on_the_api_the_refusal_is_json_with_the_guards_message(guarded, english):
    response = english(OFFICER_G12).get("/api/v1/guarded")
    assert response.status_code == 403
    assert response.json == {"error": {"code": "forbidden", "message": "Only the coordinator manages teams."}}


@pytest.mark.parametrize("phone, url, answer", [(OFFICER_G12, "/guarded/staff", "staff reached the view"),
                                                (COORDINATOR, "/guarded/staff", "staff reached the view"),
                                                (COORDINATOR, "/guarded/managers", "managers reached the view")])
def test_inside_the_roles_the_view_answers(guarded, login_as, phone, url, answer):
    response = login_as(phone).get(url)
    assert response.status_code == 200 and response.text == answer
