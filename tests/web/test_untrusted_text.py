"""Every form treats what was typed as untrusted text (issue 14): each POST form on the pages below is sent with
`"><img onerror>` and `<script>` in every field it has; whatever comes back — the form again with the reason, a
piece for htmx, an error page — carries them escaped, never as markup. The forms that re-render with what was typed
must show it back (escaped), so the test cannot pass by saying nothing."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, VOLUNTEER
from volunteers import models as m

PAYLOAD = '"><img src=x onerror=alert(1)><script>alert(1)</script>'
RAW = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><img')
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# Forms in the footer of every page: leaving or switching language is not a form that re-renders.
SKIP_ACTIONS = ("/logout", "/lang")
# Forms that come back with what was typed (or name it in the reason) when the input is refused.
ECHOING = {"/login", "/signup/", "/hazards/", "/tasks/new", "/duties/new", "/duties/<id>/edit", "/grids/new",
           "/grids/<id>/edit", "/grids/import", "/grids/<id>/checkpoints", "/grids/checkpoints/<id>/edit",
           "/grids/<id>/officers", "/grids/<id>/routes", "/teams/", "/commendations/", "/certificates/",
           "/hours/manual", "/hours/<id>/correct"}

FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
FIELD = re.compile(r"<(input|textarea|select)\b([^>]*)>", re.S)


def attr(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return unescape(found.group(1)) if found else None


def post_forms(html: str, url: str) -> list[tuple[str, dict[str, list[str]], bool]]:
    """(action, fields filled with the payload, multipart?) for each POST form of a page (no action: the page)."""
    forms = []
    for head, inner in FORM.findall(html):
        if (attr(head, "method") or "get").lower() != "post":
            continue
        action = attr(head, "action") or attr(head, "hx-post") or url
        if not action or action.startswith(SKIP_ACTIONS):
            continue
        fields: dict[str, list[str]] = {}
        for _kind, tag in FIELD.findall(inner):
            name = attr(tag, "name")
            if not name or name == "csrf_token" or attr(tag, "type") in ("file", "submit"):
                continue
            fields.setdefault(name, []).append(PAYLOAD)
        forms.append((action, fields, "multipart" in head))
    return forms


def pages(town) -> list[tuple[str | None, str]]:
    """(who, page) for the pages that hold the app's forms; ids from grid G1 of the demo town."""
    s = town.session
    g1 = town.grid("G1")
    hazard = s.exec(select(m.Hazard).where(m.Hazard.grid_id == g1.id).order_by(m.Hazard.id)).first()
    duty = s.exec(select(m.Duty).where(m.Duty.grid_id == g1.id).order_by(m.Duty.id)).first()
    team = s.exec(select(m.Team).order_by(m.Team.id)).first()
    record = s.exec(select(m.ServiceRecord).where(m.ServiceRecord.status == "approved")
                    .where(m.ServiceRecord.volunteer_id == town.user(VOLUNTEER).id)).first()
    checkpoint = town.checkpoints("G1")[0]
    cert = s.exec(select(m.Certificate).order_by(m.Certificate.id)).first()
    rows = [(None, "/login"), (None, "/signup/"),
            (VOLUNTEER, "/hazards/new"), (VOLUNTEER, "/account/password"), (VOLUNTEER, "/tasks/"),
            (VOLUNTEER, "/certificates/notice"),
            (OFFICER_G12, "/tasks/new"), (OFFICER_G12, "/tasks/"), (OFFICER_G12, "/duties/new"),
            (OFFICER_G12, f"/hazards/{hazard.id}"), (COORDINATOR, "/hours/manual"), (OFFICER_G12, "/hours/review"),
            (OFFICER_G12, f"/people/{town.user(VOLUNTEER).id}"), (OFFICER_G12, "/commendations/"),
            (COORDINATOR, "/grids/new"), (COORDINATOR, "/grids/import"), (COORDINATOR, f"/grids/{g1.id}"),
            (COORDINATOR, f"/grids/checkpoints/{checkpoint.id}/edit"), (COORDINATOR, f"/grids/{g1.id}/edit"),
            (COORDINATOR, "/teams/"), (COORDINATOR, f"/teams/{team.id}"), (COORDINATOR, "/certificates/"),
            (COORDINATOR, "/hours/months")]
    if duty:
        rows.append((OFFICER_G12, f"/duties/{duty.id}/edit"))
    if record:
        rows.append((OFFICER_G12, f"/hours/{record.id}"))
    if cert:
        rows.append((COORDINATOR, f"/certificates/{cert.id}"))
    return rows


def assert_escaped(text: str, where: str):
    for raw in RAW:
        assert raw not in text, f"{where}: {raw!r} came back as markup"


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_every_form_gives_back_what_was_typed_as_text(app, town, login_as, english, htmx):
    clients = {None: app.test_client()}
    sent, echoed, failures = 0, set(), []
    headers = {"HX-Request": "true"} if htmx else {}
    for who, url in pages(town):
        client = clients.setdefault(who, english(who) if who else None) or clients[None]
        page = client.get(url)
        assert page.status_code == 200, (who, url, page.status_code)
        forms = post_forms(page.text, url)
        for action, fields, multipart in forms:
            kwargs = {"data": fields, "headers": headers}
            if multipart:
                kwargs["content_type"] = "multipart/form-data"
            response = client.post(action, **kwargs)
            sent += 1
            where = f"{who} {url} → POST {action} ({response.status_code})"
            if response.status_code >= 500:
                failures.append(where)
            try:
                assert_escaped(response.get_data(as_text=True), where)
            except AssertionError as err:
                failures.append(str(err))
            if ESCAPED in response.get_data(as_text=True):
                echoed.add(re.sub(r"/\d+", "/<id>", action))
    assert not failures, "\n".join(failures)
    assert sent > 30
    if not htmx:
        assert ECHOING <= echoed, sorted(ECHOING - echoed)
