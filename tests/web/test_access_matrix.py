"""Every URL rule of app.url_map × six callers (anonymous, volunteer of G1, volunteer of G3, officer of G1/G2,
officer of G3/G4, coordinator), with real G1 object ids from the demo town, for GET and POST; the expected answer
of each is in EXPECTED below, and a rule without a row fails (issue 14)."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlmodel import select

from tests.conftest import COORDINATOR, OFFICER_G12, OFFICER_G34, VOLUNTEER, VOLUNTEER_G3
from volunteers import accounts, models as m
from volunteers.grids import qr_code
from volunteers.photos import PhotoStore, keep, process
from volunteers import voice
from PIL import Image

# endpoint → (GET spec, POST spec). GET spec: "public" (200 to all), "login" (anonymous refused, 200 to every
# account), "scope" (grid-scoped: 200 to VOLUNTEER, OFFICER_G12 and the coordinator, 404 to the other grid's
# people), "staff" (volunteers 403, officers and the coordinator 200), "staff_scope" (as staff, but 404 to the
# officer of another grid), "coordinator" (403 to everyone else), or the exact statuses per role in ROLES order.
# POST spec: the roles that must be refused (403 or 404) with an empty form; anonymous is always refused (302 to
# /login, or 401 on /api) unless the endpoint is in POST_OPEN. None: no such method. Allowed callers are not sent
# POSTs here: the answer of an allowed write is the business of each feature's own tests (and would change the town
# under the other rows).
POST_OPEN = {"auth.login", "signup.create", "auth.set_language", "auth.logout"}
EXPECTED: dict[str, tuple[object, object]] = {
    'api.assignment_action': (None, ('vol', 'vol_g3', 'off_g12', 'off_g34', 'coord')),
    'api.checkpoints': ("login", None),
    'api.claim_task': (None, ('vol_g3', 'off_g12', 'off_g34', 'coord')),
    'api.create_checkin': (None, ('vol_g3', 'off_g12', 'off_g34', 'coord')),
    'api.create_hazard': (None, ()),
    'api.create_message': (None, ('vol_g3', 'off_g34')),
    'api.list_messages': ("scope", None),
    'api.reopen_hazard': (None, ('vol_g3', 'off_g12', 'off_g34', 'coord')),
    'api.create_positions': (None, ('vol_g3', 'off_g12', 'off_g34', 'coord')),
    'api.create_task': (None, ()),
    'api.end_patrol': (None, ('vol_g3', 'off_g12', 'off_g34', 'coord')),
    'api.list_hours': ((401, 400, 400, 400, 400, 400), None),
    'api.list_patrols': ("login", None),
    'api.list_tasks': ("login", None),
    'api.me': ("login", None),
    'api.show_hazard': ("scope", None),
    'api.show_patrol': ("scope", None),
    'api.start_patrol': (None, ()),
    'api.transition_hazard': (None, ('vol_g3', 'off_g34')),
    'audit.index': ("coordinator", None),
    'auth.change_password': ("login", ()),
    'auth.revoke_token': (None, ('vol_g3', 'off_g12', 'off_g34', 'coord')),  # the G1 volunteer's own token
    'auth.login': ((200, 302, 302, 302, 302, 302), ()),
    'auth.set_language': (None, ()),
    'certificates.index': ("login", None),
    'certificates.issue': (None, ('vol', 'vol_g3', 'off_g12', 'off_g34')),
    'certificates.notice': ("login", None),
    'certificates.object_to': (None, ('vol', 'vol_g3', 'off_g12', 'off_g34')),
    'certificates.pdf': ((302, 200, 404, 404, 404, 200), None),
    'certificates.publish': (None, ('vol', 'vol_g3', 'off_g12', 'off_g34')),
    'certificates.resolve': (None, ('vol', 'vol_g3', 'off_g12', 'off_g34')),
    'certificates.show': ((302, 200, 404, 404, 404, 200), None),
    'certificates.verify': ("public", None),
    'certificates.verify_form': ("public", None),
    'certificates.withdraw': (None, ('vol', 'vol_g3', 'off_g12', 'off_g34')),
    'commendations.create': (None, ('vol', 'vol_g3')),
    'commendations.index': ("login", None),
    'commendations.team': ("login", None),
    'commendations.volunteer': ("login", None),
    'dashboard.index': ("staff", None),
    'dashboard.stats': ("staff", None),
    'dashboard.track': ("staff_scope", None),
    'duties.create': (None, ('vol', 'vol_g3')),
    'duties.edit': ("staff_scope", None),
    'duties.generate': (None, ('vol', 'vol_g3', 'off_g34')),
    'duties.index': ("staff", None),
    'duties.new': ("staff", None),
    'duties.stop': (None, ('vol', 'vol_g3', 'off_g34')),
    'duties.update': (None, ('vol', 'vol_g3', 'off_g34')),
    'duties.week': ("staff", None),
    'grids.add_checkpoint': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.add_route': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.add_stop': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.confirm_delete_route': ("staff_scope", None),
    'grids.confirm_retire': ("staff_scope", None),
    'grids.confirm_rotate': ("staff_scope", None),
    'grids.create': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.delete_route': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.edit': ("coordinator", None),
    'grids.edit_checkpoint': ("staff_scope", None),
    'grids.export': ("staff", None),
    'grids.grid_posters': ("staff_scope", None),
    'grids.import_form': ("coordinator", None),
    'grids.import_grids': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.index': ("staff", None),
    'grids.new': ("coordinator", None),
    'grids.officers': (None, ('vol', 'vol_g3', 'off_g12', 'off_g34')),
    'grids.poster': ("staff_scope", None),
    'grids.rename_route': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.restore': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.retire': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.rotate': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.show': ("staff_scope", None),
    'grids.stop': (None, ('vol', 'vol_g3', 'off_g34')),
    'grids.update': (None, ('vol', 'vol_g3', 'off_g12', 'off_g34')),
    'grids.update_checkpoint': (None, ('vol', 'vol_g3', 'off_g34')),
    'hazards.create': (None, ()),
    'hazards.index': ((302, 302, 302, 200, 200, 200), None),
    'hazards.map': ((302, 302, 302, 200, 200, 200), None),
    'hazards.mine': ("login", None),
    'hazards.nearby': ("login", None),
    'hazards.new': ("login", None),
    'hazards.post_message': (None, ('vol_g3', 'off_g34')),
    'hazards.reopen': (None, ('vol_g3', 'off_g12', 'off_g34', 'coord')),
    'hazards.thread': ("scope", None),
    'hazards.show': ("scope", None),
    'hazards.transition': (None, ('vol_g3', 'off_g34')),
    'home.healthz': ("public", None),
    'home.index': ("login", None),
    'hours.add_manual': (None, ('vol', 'vol_g3', 'off_g34')),
    'hours.certify': (None, ('vol', 'vol_g3', 'off_g34')),
    'hours.correct': (None, ('vol', 'vol_g3', 'off_g34')),
    'hours.decide': (None, ()),
    'hours.export': ("staff", None),
    'hours.manual': ("coordinator", None),
    'hours.mine': ("login", None),
    'hours.months': ((302, 302, 302, 200, 200, 200), None),
    'hours.review': ((302, 302, 302, 200, 200, 200), None),
    'hours.show': ("scope", None),
    'hours.tally': ((302, 302, 302, 200, 200, 200), None),
    'notifications.choices': ("login", None),
    'notifications.choose': (None, ()),
    'notifications.index': ("login", None),
    'open311.requests': ("public", None),
    'open311.services': ("public", None),
    'open311.show': ("public", None),
    'patrols.checkin': (None, ('vol_g3', 'off_g34', 'coord')),
    'patrols.checkpoints': ("scope", None),
    'patrols.create': (None, ()),
    'patrols.end': (None, ('vol_g3', 'off_g34', 'coord')),
    'patrols.index': ("login", None),
    'patrols.show': ("scope", None),
    'people.change_role': (None, ('vol_g3', 'off_g34')),
    'people.clear_lockout': (None, ('vol', 'vol_g3', 'off_g34')),
    'people.index': ("staff", None),
    'people.reset_password': (None, ('vol', 'vol_g3', 'off_g34')),
    'people.show': ("scope", None),
    'people.step': (None, ('vol', 'vol_g3', 'off_g34')),
    'photos.show': ("scope", None),
    'photos.thumb': ("scope", None),
    'pwa.csrf_token': ("public", None),
    'pwa.manifest': ("public", None),
    'pwa.offline': ("public", None),
    'pwa.outbox': ("login", None),
    'pwa.service_worker': ("public", None),
    'roster.index': ("coordinator", None),
    'roster.template': ("coordinator", None),
    'roster.upload': (None, ('vol', 'vol_g3', 'off_g34')),
    'scan.check_in': (None, ()),
    'scan.shell': ("public", None),  # the offline poster page: the same for everyone, no personal data
    'scan.show': ("scope", None),
    'signup.create': (None, ()),
    'signup.done': ((302, 302, 302, 302, 302, 302), None),
    'signup.new': ((200, 302, 302, 302, 302, 302), None),
    'tasks.act': (None, ('vol_g3', 'off_g34', 'coord')),
    'tasks.cancel': (None, ('vol_g3', 'off_g34')),
    'tasks.claim': (None, ('vol_g3', 'off_g34', 'coord')),
    'tasks.create': (None, ('vol', 'vol_g3')),
    'tasks.index': ("login", None),
    'tasks.new': ("staff", None),
    'teams.add_member': (None, ('vol', 'vol_g3', 'off_g34')),
    'teams.create': (None, ('vol', 'vol_g3', 'off_g34')),
    'teams.index': ("staff", None),
    'teams.leader': (None, ('vol', 'vol_g3', 'off_g34')),
    'teams.remove_member': (None, ('vol', 'vol_g3', 'off_g34')),
    'teams.show': ("staff", None),
    'teams.update': (None, ('vol', 'vol_g3', 'off_g34')),
    'voice.show': ("scope", None),
    'auth.logout': (None, ()),
}

ROLES = ("anon", "vol", "vol_g3", "off_g12", "off_g34", "coord")
PHONES = {"vol": VOLUNTEER, "vol_g3": VOLUNTEER_G3, "off_g12": OFFICER_G12, "off_g34": OFFICER_G34,
          "coord": COORDINATOR}


def ids_of(town, app) -> dict[str, object]:
    """Argument name → a real value belonging to grid G1."""
    s = town.session
    g1 = town.grid("G1")
    vol = town.user(VOLUNTEER)
    cp = town.checkpoints("G1")[0]
    first = lambda q: s.exec(q).first()  # noqa: E731
    hazard = first(select(m.Hazard).where(m.Hazard.grid_id == g1.id).order_by(m.Hazard.id))
    patrol = first(select(m.Patrol).where(m.Patrol.user_id == vol.id).order_by(m.Patrol.id))
    task = first(select(m.Task).where(m.Task.grid_id == g1.id).order_by(m.Task.id))
    assignment = first(select(m.Assignment).join(m.Task, m.Task.id == m.Assignment.task_id)
                       .where(m.Task.grid_id == g1.id).order_by(m.Assignment.id))
    route = first(select(m.Route).where(m.Route.grid_id == g1.id).order_by(m.Route.id))
    duty = first(select(m.Duty).where(m.Duty.grid_id == g1.id).order_by(m.Duty.id))
    record = first(select(m.ServiceRecord).where(m.ServiceRecord.volunteer_id == vol.id).order_by(m.ServiceRecord.id))
    cert = first(select(m.Certificate).where(m.Certificate.volunteer_id == vol.id).order_by(m.Certificate.id)) \
        or first(select(m.Certificate).order_by(m.Certificate.id))
    objection = first(select(m.CertificateObjection).order_by(m.CertificateObjection.id))
    photo = first(select(m.Photo).join(m.Hazard, m.Hazard.id == m.Photo.hazard_id)
                  .where(m.Hazard.grid_id == g1.id).order_by(m.Photo.id))
    if photo is None:  # the demo town has no photo files: store one on the G1 hazard, as an upload would
        data = io.BytesIO()
        Image.new("RGB", (40, 30), "red").save(data, "JPEG")
        photo = keep(PhotoStore(app.config["DATA_DIR"]), process(data.getvalue()), created_at=hazard.reported_at, hazard_id=hazard.id)
        s.add(photo)
        s.commit()
    note = first(select(m.VoiceNote).where(m.VoiceNote.hazard_id == hazard.id))
    if note is None:  # a voice note on the G1 hazard, as an upload would leave it
        sample = (Path(__file__).parent.parent / "files" / "voice.webm").read_bytes()
        note = voice.keep(voice.VoiceStore(app.config["DATA_DIR"]), voice.check(sample), created_at=hazard.reported_at,
                          hazard_id=hazard.id)
        s.add(note)
        s.commit()
    token_id = accounts.issue_token(s, user=vol, label="matrix") and \
        first(select(m.ApiToken.id).where(m.ApiToken.user_id == vol.id))
    team = first(select(m.Team).join(m.TeamMember, m.TeamMember.team_id == m.Team.id)
                 .where(m.TeamMember.user_id == vol.id).order_by(m.Team.id)) or first(select(m.Team))
    return {"hazard_id": hazard.id, "patrol_id": patrol.id, "task_id": task.id, "assignment_id": assignment.id,
            "grid_id": g1.id, "checkpoint_id": cp.id, "route_id": route.id if route else 1,
            "duty_id": duty.id if duty else 1, "record_id": record.id if record else 1,
            "certificate_id": cert.id if cert else 1, "objection_id": objection.id if objection else 1,
            "photo_id": photo.id if photo else 1, "team_id": team.id, "user_id": vol.id, "person_id": vol.id,
            "request_id": hazard.id, "code": qr_code(cp, app.config["SECRET_KEY"]),
            "token_id": token_id, "note_id": note.id,
            "number": cert.number if cert else "X", "fmt": "csv", "action": "accept", "filename": "x"}


def url_for_rule(rule, ids) -> str:
    def fill(match):
        return str(ids[match.group(2)]) if match.group(2) != "action" else \
            ("approve" if "people" in rule.rule else "accept")
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", fill, rule.rule)


def rules(app):
    return [r for r in sorted(app.url_map.iter_rules(), key=lambda r: r.rule) if r.endpoint != "static"]


SPECS = {
    "public": (200, 200, 200, 200, 200, 200),
    "login": (None, 200, 200, 200, 200, 200),
    "scope": (None, 200, 404, 200, 404, 200),
    "staff": (None, 403, 403, 200, 200, 200),
    "staff_scope": (None, 403, 403, 200, 404, 200),
    "coordinator": (None, 403, 403, 403, 403, 200),
}


def expected_get(endpoint, spec):
    if isinstance(spec, tuple):
        return spec
    row = SPECS[spec]
    return ((401 if endpoint.startswith("api.") else 302),) + row[1:] if row[0] is None else row


def test_every_rule_has_a_row(app):
    endpoints = {r.endpoint for r in rules(app)}
    assert set(EXPECTED) == endpoints, (sorted(endpoints - set(EXPECTED)), sorted(set(EXPECTED) - endpoints))
    for rule in rules(app):
        get, post = EXPECTED[rule.endpoint]
        assert (get is not None) == ("GET" in rule.methods), rule.endpoint
        assert (post is not None) == ("POST" in rule.methods), rule.endpoint


@pytest.fixture
def clients(app, login_as, town):
    return {"anon": app.test_client()} | {r: login_as(p) for r, p in PHONES.items()}


def anonymous_refused(endpoint, response):
    if endpoint.startswith("api."):
        return response.status_code == 401
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_get_matrix(app, town, clients):
    ids = ids_of(town, app)
    failures, checked = [], 0
    for rule in rules(app):
        spec = EXPECTED.get(rule.endpoint, (None, None))[0]
        if "GET" not in rule.methods or spec is None:
            continue
        url = url_for_rule(rule, ids)
        want = expected_get(rule.endpoint, spec)
        got = []
        for role in ROLES:
            r = clients[role].get(url)
            got.append(r.status_code)
            checked += 1
            if role == "anon" and want[0] == 302 and r.status_code == 302 and not anonymous_refused(rule.endpoint, r) \
                    and rule.endpoint not in ("signup.done",):
                failures.append(f"GET {url} anonymous redirected to {r.headers.get('Location')}, not /login")
        if tuple(got) != want:
            failures.append(f"GET {url} [{rule.endpoint}]: {tuple(got)} != {want}")
    assert checked > 400
    assert not failures, "\n".join(failures)


def test_post_matrix(app, town, clients):
    ids = ids_of(town, app)
    failures, checked = [], 0
    for rule in rules(app):
        refuse = EXPECTED.get(rule.endpoint, (None, None))[1]
        if "POST" not in rule.methods or refuse is None:
            continue
        url = url_for_rule(rule, ids)
        if rule.endpoint not in POST_OPEN:
            r = clients["anon"].post(url, data={})
            checked += 1
            if not anonymous_refused(rule.endpoint, r):
                failures.append(f"POST {url} [{rule.endpoint}] anonymous: {r.status_code} {r.headers.get('Location')}")
        for role in refuse:
            r = clients[role].post(url, data={})
            checked += 1
            if r.status_code not in (403, 404):
                failures.append(f"POST {url} [{rule.endpoint}] {role}: {r.status_code}, want 403/404")
    assert checked > 200
    assert not failures, "\n".join(failures)

