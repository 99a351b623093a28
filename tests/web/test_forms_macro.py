"""templates/macros/forms.html: every POST form gets its CSRF token, its htmx attributes and its client_id from one
macro (post_form), and a form written with it still works without JavaScript (issue 17, item 5)."""
from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import render_template_string
from sqlmodel import Session, func, select

from tests.conftest import VOLUNTEER
from volunteers import demo
from volunteers.models import Patrol, User

TEMPLATES = Path(__file__).parents[2] / "templates"
MACRO = TEMPLATES / "macros" / "forms.html"
# Templates that may still write <input name="csrf_token"> by hand (a form the macro cannot write). None today:
# base.html hands the token to htmx in hx-headers and to scripts in data-csrf, which are not form inputs.
HAND_WRITTEN_CSRF: set[str] = set()


class Form:
    def __init__(self, attrs: dict[str, str | None]):
        self.attrs = attrs
        self.inputs: dict[str, dict[str, str | None]] = {}


class Forms(HTMLParser):
    """The forms of a page: each form's attributes and its inputs (by name, with their attributes)."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[Form] = []
        self.open: Form | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "form":
            self.open = Form(dict(attrs))
            self.found.append(self.open)
        elif tag == "input" and self.open is not None and dict(attrs).get("name"):
            self.open.inputs[dict(attrs)["name"]] = dict(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self.open = None


def render(app, source: str, **context) -> str:
    with app.test_request_context():
        return render_template_string(source, **context)  # post_form is a global: no import


def only_form(html: str) -> Form:
    found = Forms(html).found
    assert len(found) == 1, html
    return found[0]


def test_a_plain_form_posts_to_its_action_with_the_csrf_token_and_nothing_for_htmx(app):
    html = render(app, '{% call post_form("/teams/") %}<button id="go">Go</button>{% endcall %}')
    form = only_form(html)
    assert form.attrs == {"method": "post", "action": "/teams/"}
    assert set(form.inputs) == {"csrf_token"}
    assert form.inputs["csrf_token"]["type"] == "hidden" and len(form.inputs["csrf_token"]["value"]) > 20
    assert '<button id="go">Go</button>' in html


def test_a_target_adds_the_htmx_post_to_the_same_url_swapped_in_place_with_its_errors(app):
    form = only_form(render(app, '{% call post_form("/teams/3", target="#team-3") %}{% endcall %}'))
    assert form.attrs == {"method": "post", "action": "/teams/3", "hx-post": "/teams/3", "hx-target": "#team-3",
                          "hx-swap": "outerHTML", "data-swap-errors": None}
    quiet = only_form(render(app, '{% call post_form("/r", target="this", swap="innerHTML", swap_errors=false) %}'
                                  '{% endcall %}'))
    assert quiet.attrs == {"method": "post", "action": "/r", "hx-post": "/r", "hx-target": "this",
                           "hx-swap": "innerHTML"}


def test_multipart_sets_the_encoding_for_the_browser_and_for_htmx(app):
    plain = only_form(render(app, '{% call post_form("/up", multipart=true) %}{% endcall %}'))
    assert plain.attrs["enctype"] == "multipart/form-data" and "hx-encoding" not in plain.attrs
    swapped = only_form(render(app, '{% call post_form("/up", target="#r", multipart=true) %}{% endcall %}'))
    assert swapped.attrs["enctype"] == swapped.attrs["hx-encoding"] == "multipart/form-data"


def test_a_fresh_client_id_each_time_or_the_kept_one_of_the_attempt_being_corrected(app):
    fresh = [only_form(render(app, '{% call post_form("/p", client_id=true) %}{% endcall %}')).inputs["client_id"]
             for _ in range(2)]
    assert fresh[0]["value"] != fresh[1]["value"]
    assert all(uuid.UUID(f["value"]) and "data-client-id-kept" not in f for f in fresh)
    kept = only_form(render(app, '{% call post_form("/p", client_id=cid or true) %}{% endcall %}',
                            cid="0b4c1c1e-5a8e-4a52-9f0e-8d6a3d2f0c11")).inputs["client_id"]
    assert kept == {"type": "hidden", "name": "client_id", "value": "0b4c1c1e-5a8e-4a52-9f0e-8d6a3d2f0c11",
                    "data-client-id-kept": None}
    none = only_form(render(app, '{% call post_form("/p", client_id=not editing and (cid or true)) %}{% endcall %}',
                            editing=True, cid=""))
    assert "client_id" not in none.inputs


def test_other_keywords_become_escaped_attributes_and_no_action_posts_to_the_page_itself(app):
    form = only_form(render(app, '{% call post_form(none, class="card stack", id="f", data_confirm=q, data_gps_form=true,'
                                 ' data_gone=none, data_off=false) %}{% endcall %}', q='Stop “<b>” & go?'))
    assert form.attrs == {"method": "post", "class": "card stack", "id": "f", "data-confirm": 'Stop “<b>” & go?',
                          "data-gps-form": None}
    html = render(app, '{% call post_form("/x", data_confirm=q) %}{% endcall %}', q='<b>"x"</b>')
    assert "<b>" not in html and "&lt;b&gt;&#34;x&#34;" in html


def test_no_template_writes_its_own_csrf_input_any_more():
    """A hand-written CSRF input is how the copies came back: a POST form is written with post_form."""
    hand_written = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
                          if p != MACRO and re.search(r"""name=["']?csrf_token""", p.read_text())
                          and str(p.relative_to(TEMPLATES)) not in HAND_WRITTEN_CSRF)
    assert not hand_written, f"use post_form (templates/macros/forms.html) in {hand_written}"


def test_every_post_form_of_the_templates_is_written_by_the_macro():
    by_hand = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
                     if p != MACRO and re.search(r"<form[^>]*method=\"post\"", p.read_text(), re.I)
                     and str(p.relative_to(TEMPLATES)) not in HAND_WRITTEN_CSRF)
    assert not by_hand, by_hand


@pytest.fixture
def guarded(make_app):
    """An app that checks CSRF tokens, with the demo town, and a browser without JavaScript."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"], expire_on_commit=False) as db:
        demo.build(db)
    return app, app.test_client()


def submit_form(client, page_url: str, pick, **fields):
    """What a browser without JavaScript does: read the page, fill the chosen form, post it where it says."""
    form = next(f for f in Forms(client.get(page_url).text).found if pick(f))
    data = {name: attrs.get("value") or "" for name, attrs in form.inputs.items()} | fields
    return client.post(form.attrs.get("action") or page_url, data=data), data


def patrols_of(app, phone: str) -> int:
    with Session(app.extensions["volunteers.engine"]) as db:
        user = db.exec(select(User).where(User.phone == phone)).one()
        return db.exec(select(func.count()).select_from(Patrol).where(Patrol.user_id == user.id)).one()


def test_forms_written_with_the_macro_post_without_javascript_past_the_csrf_check(guarded):
    app, client = guarded
    # The login form has no action: it posts to its own address.
    login, _data = submit_form(client, "/login", lambda f: "action" not in f.attrs, phone=VOLUNTEER,
                               password=demo.PASSWORD)
    assert login.status_code == 302, login.text
    before = patrols_of(app, VOLUNTEER)
    # Start patrol: a plain form with its own client_id; sent twice (a double tap), one patrol.
    started, data = submit_form(client, "/", lambda f: f.attrs.get("action") == "/patrols/")
    assert started.status_code == 302 and "/patrols/" in started.headers["Location"]
    assert client.post("/patrols/", data=data).status_code == 302
    assert patrols_of(app, VOLUNTEER) == before + 1
    # An htmx form (hx-post, hx-target) posted by a browser without htmx: the ordinary redirect and message.
    saved, _data = submit_form(client, "/notifications/choices", lambda f: f.attrs.get("id") == "notification-choices",
                               sms="question")
    assert saved.status_code == 302, saved.text
    assert 'class="notice notice-success" role="status"' in client.get(saved.headers["Location"]).text


def test_without_the_macros_token_the_same_post_is_refused(guarded):
    app, client = guarded
    submit_form(client, "/login", lambda f: "action" not in f.attrs, phone=VOLUNTEER, password=demo.PASSWORD)
    before = patrols_of(app, VOLUNTEER)
    refused = client.post("/patrols/", data={"client_id": str(uuid.uuid4())})
    assert refused.status_code == 400
    assert patrols_of(app, VOLUNTEER) == before
