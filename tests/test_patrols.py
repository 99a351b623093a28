"""Patrol and check-in rules: distances at the boundaries, accuracy, flags, idempotency, ownership."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from geopy.distance import geodesic
from sqlmodel import select

from tests.conftest import OFFICER_G12, VOLUNTEER, VOLUNTEER_G3
from volunteers import grids, patrols
from volunteers.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from volunteers.models import Patrol, ServiceRecord, utcnow

KEY = "test-secret-key"


def north_of(cp, metres: float) -> tuple[float, float]:
    """A point exactly `metres` north of a checkpoint (geodesic)."""
    p = geodesic(meters=metres).destination((cp.lat, cp.lon), bearing=0)
    return p.latitude, p.longitude


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def volunteer(town):
    return town.user(VOLUNTEER)


@pytest.fixture
def patrol(session, volunteer):
    p, created = patrols.start(session, user=volunteer, client_id=new_id())
    assert created
    return p


@pytest.fixture
def school_gate(town):
    """青石小学校门: radius 40 m, on G1's route."""
    return town.checkpoints("G1")[1]


def gps(session, user, patrol, cp, metres, accuracy, **extra):
    lat, lon = north_of(cp, metres)
    data = {"client_id": new_id(), "lat": lat, "lon": lon, "accuracy_m": accuracy, "checkpoint_id": cp.id} | extra
    return patrols.check_in(session, user=user, patrol_id=patrol.id, data=data, qr_key=KEY)


# --- distance and accuracy ---------------------------------------------------------------------

@pytest.mark.parametrize("accuracy, metres, accepted", [
    (10, 40 + 10 - 0.5, True),    # just inside radius + accuracy
    (10, 40 + 10 + 0.5, False),   # just outside
    (0, 39.5, True),              # a perfect fix needs to be inside the radius itself
    (0, 40.5, False),
    (100, 40 + 50 - 0.5, True),   # a rough fix widens the circle by at most 50 m …
    (100, 40 + 50 + 0.5, False),  # … never by its full accuracy
    (150, 80, True),              # the roughest accepted fix
])
def test_gps_check_in_is_accepted_within_radius_plus_bounded_accuracy(session, volunteer, patrol, school_gate,
                                                                      accuracy, metres, accepted):
    if accepted:
        checkin, created = gps(session, volunteer, patrol, school_gate, metres, accuracy)
        assert created and checkin.checkpoint_id == school_gate.id and checkin.method == "gps"
        assert checkin.distance_m == pytest.approx(metres, abs=0.2)
    else:
        with pytest.raises(Invalid) as err:
            gps(session, volunteer, patrol, school_gate, metres, accuracy)
        assert err.value.code == "too_far" and err.value.status == 422
        assert abs(err.value.params["distance"] - metres) <= 1


def test_a_fix_rougher_than_150_m_is_refused_with_the_distance(session, volunteer, patrol, school_gate):
    with pytest.raises(Invalid) as err:
        gps(session, volunteer, patrol, school_gate, 5, 150.5)
    assert err.value.code == "low_accuracy"
    assert err.value.params == {"accuracy": 150, "distance": 5, "name": school_gate.name}
    assert patrols.checkins_of(session, patrol.id) == []


def test_too_far_message_names_the_distance_and_checkpoint(session, volunteer, patrol, school_gate):
    with pytest.raises(Invalid) as err:
        gps(session, volunteer, patrol, school_gate, 2000, 10)
    assert "2000 m" in str(err.value) and school_gate.name in str(err.value)


def test_without_checkpoint_id_the_nearest_route_point_is_matched(session, volunteer, patrol, town):
    market = town.checkpoints("G1")[2]
    lat, lon = north_of(market, 12)
    checkin, _ = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, qr_key=KEY,
                                  data={"client_id": new_id(), "lat": lat, "lon": lon, "accuracy_m": 8})
    assert checkin.checkpoint_id == market.id


def test_a_checkpoint_of_another_grid_is_not_found(session, volunteer, patrol, town):
    foreign = town.checkpoints("G3")[0]
    with pytest.raises(NotFound):
        gps(session, volunteer, patrol, foreign, 1, 5)


# --- QR -------------------------------------------------------------------------------------------

def test_qr_check_in_needs_no_gps_and_verifies_the_signature(session, volunteer, patrol, school_gate):
    code = grids.qr_code(school_gate, KEY)
    checkin, created = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, qr_key=KEY,
                                        data={"client_id": new_id(), "qr": code.lower()})
    assert created and checkin.method == "qr" and checkin.checkpoint_id == school_gate.id
    assert checkin.lat is None and checkin.distance_m is None


def test_a_typed_code_forgives_case_spaces_dashes_and_look_alikes(session, volunteer, patrol, school_gate):
    # A secret whose signature has both an O and an I, so the look-alikes are really exercised.
    while not {"O", "I"} <= set(grids.qr_code(school_gate, KEY).split("-")[2]):
        school_gate.qr_secret = grids.new_qr_secret()
    session.add(school_gate)
    session.commit()
    code = grids.qr_code(school_gate, KEY)
    _prefix, cp_id, sig = code.split("-")
    typed = [
        f"pav1 {cp_id} {sig.lower().replace('o', '0').replace('i', '1')}",   # lower case, spaces, 0 for O, 1 for I
        f"PAV1{cp_id}{sig}",                                                # no dashes
        f" pav1--{cp_id}--{sig[:5]} {sig[5:]} ",                            # extra dashes and spaces
        f"https://example.org/c/{code}",                                    # a URL around it
    ]
    for text in typed:
        assert grids.normalise_qr(text) == code, text
        checkin, created = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, qr_key=KEY,
                                            data={"client_id": new_id(), "qr": text})
        assert checkin.method == "qr" and checkin.checkpoint_id == school_gate.id
    assert grids.normalise_qr("PAV1-12-ABCDEFGH01") == "PAV1-12-ABCDEFGHOI"
    assert grids.normalise_qr("pav1-12-abc") is None and grids.normalise_qr("") is None


def test_a_retired_checkpoint_takes_no_new_check_ins_but_keeps_one_made_before(session, town, volunteer, patrol,
                                                                             school_gate):
    from volunteers import grids
    code = grids.qr_code(school_gate, KEY)
    before = (utcnow() - timedelta(minutes=5)).isoformat()
    grids.retire_checkpoint(session, user=town.user(OFFICER_G12), checkpoint_id=school_gate.id)
    session.refresh(school_gate)
    for data in ({"qr": code}, {"lat": school_gate.lat, "lon": school_gate.lon, "accuracy_m": 5,
                                "checkpoint_id": school_gate.id}):
        with pytest.raises(Invalid) as err:
            patrols.check_in(session, user=volunteer, patrol_id=patrol.id, qr_key=KEY, data={"client_id": new_id(), **data})
        assert err.value.code == "checkpoint_retired" and err.value.status == 422
    # Standing on it without naming it matches another point (or none), never the retired one.
    try:
        checkin, _ = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, qr_key=KEY, data={
            "client_id": new_id(), "lat": school_gate.lat, "lon": school_gate.lon, "accuracy_m": 5})
        assert checkin.checkpoint_id != school_gate.id
    except Invalid as err:
        assert err.code == "too_far"
    # A phone that was offline sends a scan made before the retirement: it still counts.
    late, created = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, qr_key=KEY,
                                     data={"client_id": new_id(), "qr": code, "recorded_at": before})
    assert created and late.checkpoint_id == school_gate.id


@pytest.mark.parametrize("mangle", [
    lambda code: code[:-1] + ("A" if code[-1] != "A" else "B"),   # forged signature
    lambda code: code.replace("-2-", "-3-", 1),                   # someone else's id
    lambda code: "hello",
])
def test_a_forged_qr_code_is_refused(session, volunteer, patrol, school_gate, mangle):
    with pytest.raises(Invalid) as err:
        patrols.check_in(session, user=volunteer, patrol_id=patrol.id, qr_key=KEY,
                         data={"client_id": new_id(), "qr": mangle(grids.qr_code(school_gate, KEY))})
    assert err.value.code == "bad_qr"


def test_rotating_the_secret_voids_old_posters(session, volunteer, patrol, school_gate):
    old = grids.qr_code(school_gate, KEY)
    school_gate.qr_secret = grids.new_qr_secret()
    session.add(school_gate)
    session.commit()
    with pytest.raises(Invalid):
        grids.checkpoint_for_qr(session, old, KEY)
    assert grids.checkpoint_for_qr(session, grids.qr_code(school_gate, KEY), KEY).id == school_gate.id


def test_qr_far_from_the_poster_is_flagged_not_refused(session, volunteer, patrol, school_gate):
    lat, lon = north_of(school_gate, 500)
    checkin, _ = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, qr_key=KEY, data={
        "client_id": new_id(), "qr": grids.qr_code(school_gate, KEY), "lat": lat, "lon": lon, "accuracy_m": 10})
    assert patrols.FLAG_QR_FAR in checkin.flags


# --- flags -----------------------------------------------------------------------------------------

def test_device_clock_far_from_server_clock_is_flagged(session, volunteer, patrol, school_gate):
    lat, lon = north_of(school_gate, 5)
    data = {"client_id": new_id(), "lat": lat, "lon": lon, "accuracy_m": 5, "checkpoint_id": school_gate.id}
    checkin, _ = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data, qr_key=KEY,
                                  device_now=utcnow() + timedelta(minutes=30))
    assert checkin.flags == [patrols.FLAG_CLOCK]


def test_an_offline_check_in_sent_late_by_a_correct_clock_is_not_flagged(session, volunteer, patrol, school_gate):
    recorded = (utcnow() - timedelta(hours=2)).isoformat()
    patrol.started_at = utcnow() - timedelta(hours=3)
    session.add(patrol)
    session.commit()
    checkin, _ = gps(session, volunteer, patrol, school_gate, 5, 5, recorded_at=recorded)
    assert checkin.flags == []


def test_impossible_speed_between_consecutive_check_ins_is_flagged(session, volunteer, patrol, town):
    first, far = town.checkpoints("G1")[0], town.checkpoints("G1")[2]
    now = utcnow()
    gps(session, volunteer, patrol, first, 3, 5, recorded_at=now.isoformat())
    # ~430 m in 5 seconds is far beyond 120 km/h
    checkin, _ = gps(session, volunteer, patrol, far, 3, 5, recorded_at=(now + timedelta(seconds=5)).isoformat())
    assert patrols.FLAG_SPEED in checkin.flags


def test_walking_pace_between_check_ins_is_not_flagged(session, volunteer, patrol, town):
    first, far = town.checkpoints("G1")[0], town.checkpoints("G1")[2]
    now = utcnow()
    gps(session, volunteer, patrol, first, 3, 5, recorded_at=(now - timedelta(minutes=10)).isoformat())
    checkin, _ = gps(session, volunteer, patrol, far, 3, 5, recorded_at=now.isoformat())
    assert checkin.flags == []


def test_repeated_identical_coordinates_are_flagged(session, volunteer, patrol, school_gate):
    gps(session, volunteer, patrol, school_gate, 7, 5)
    checkin, _ = gps(session, volunteer, patrol, school_gate, 7, 5)
    assert patrols.FLAG_REPEAT in checkin.flags


# --- idempotency -----------------------------------------------------------------------------------

def test_a_retried_check_in_returns_the_original(session, volunteer, patrol, school_gate):
    lat, lon = north_of(school_gate, 5)
    data = {"client_id": new_id(), "lat": lat, "lon": lon, "accuracy_m": 5, "checkpoint_id": school_gate.id,
            "recorded_at": utcnow().isoformat()}
    first, created = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data, qr_key=KEY)
    again, created_again = patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=dict(data), qr_key=KEY)
    assert created and not created_again and again.id == first.id
    assert len(patrols.checkins_of(session, patrol.id)) == 1


def test_the_same_client_id_with_other_content_is_a_conflict(session, volunteer, patrol, school_gate):
    lat, lon = north_of(school_gate, 5)
    data = {"client_id": new_id(), "lat": lat, "lon": lon, "accuracy_m": 5, "checkpoint_id": school_gate.id}
    patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data, qr_key=KEY)
    with pytest.raises(Conflict) as err:
        patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data | {"accuracy_m": 6}, qr_key=KEY)
    assert err.value.code == "client_id_reused" and err.value.status == 409


def test_a_retried_start_returns_the_same_patrol_and_a_second_open_patrol_is_refused(session, volunteer, patrol):
    again, created = patrols.start(session, user=volunteer, client_id=patrol.client_id)
    assert not created and again.id == patrol.id
    with pytest.raises(Conflict) as err:
        patrols.start(session, user=volunteer, client_id=new_id())
    assert err.value.code == "patrol_open"


def test_another_user_reusing_a_patrol_client_id_gets_a_conflict(session, town, patrol):
    with pytest.raises(Conflict):
        patrols.start(session, user=town.user(VOLUNTEER_G3), client_id=patrol.client_id)


# --- ending and ownership ---------------------------------------------------------------------------

def test_ending_twice_returns_the_first_end(session, volunteer, patrol):
    ended = patrols.end(session, user=volunteer, patrol_id=patrol.id)
    first_end = ended.ended_at
    again = patrols.end(session, user=volunteer, patrol_id=patrol.id)
    assert again.ended_at == first_end


def aged(session, patrol, seconds):
    patrol.started_at = utcnow() - timedelta(seconds=seconds)
    session.add(patrol)
    session.commit()


def test_a_patrol_ended_within_a_minute_with_no_check_in_is_discarded_not_recorded(session, volunteer, patrol):
    aged(session, patrol, 40)
    ended = patrols.end(session, user=volunteer, patrol_id=patrol.id)
    assert ended.discarded and ended.ended_at is not None
    assert patrol.id not in [s.patrol.id for s in patrols.history(session, volunteer)]
    assert session.exec(select(ServiceRecord).where(ServiceRecord.patrol_id == patrol.id)).first() is None
    assert patrols.end(session, user=volunteer, patrol_id=patrol.id).discarded  # a retry answers the same
    assert patrols.just_ended(session, volunteer, patrol.id).id == patrol.id
    started, _ = patrols.start(session, user=volunteer, client_id=new_id())  # and a new one can start at once
    assert started.ended_at is None


@pytest.mark.parametrize("seconds, check_in", [(61, False), (30, True)])
def test_a_minute_or_a_check_in_makes_a_patrol_count(session, volunteer, patrol, school_gate, seconds, check_in):
    aged(session, patrol, seconds)
    if check_in:
        gps(session, volunteer, patrol, school_gate, 5, 8)
    ended = patrols.end(session, user=volunteer, patrol_id=patrol.id)
    assert not ended.discarded
    assert patrol.id in [s.patrol.id for s in patrols.history(session, volunteer)]
    assert session.exec(select(ServiceRecord).where(ServiceRecord.patrol_id == patrol.id)).first() is not None


def test_minutes_count_whole_minutes_from_start_to_end(session, volunteer, patrol):
    patrol.ended_at = patrol.started_at + timedelta(minutes=47, seconds=59)
    assert patrols.minutes(patrol) == 47


def test_a_check_in_after_the_end_is_refused_but_one_recorded_before_it_is_kept(session, volunteer, patrol, school_gate):
    patrol.started_at = utcnow() - timedelta(hours=1)
    session.add(patrol)
    session.commit()
    patrols.end(session, user=volunteer, patrol_id=patrol.id)
    late = gps(session, volunteer, patrol, school_gate, 5, 5,
               recorded_at=(utcnow() - timedelta(minutes=30)).isoformat())[0]
    assert late.id is not None
    with pytest.raises(Conflict) as err:
        gps(session, volunteer, patrol, school_gate, 6, 5, recorded_at=(utcnow() + timedelta(minutes=1)).isoformat())
    assert err.value.code == "patrol_ended"


def test_an_offline_start_keeps_the_phone_time_but_not_a_future_one(session, volunteer):
    earlier = utcnow() - timedelta(minutes=40)
    patrol, _ = patrols.start(session, user=volunteer, client_id=new_id(), recorded_at=earlier.isoformat())
    assert abs((patrol.started_at - earlier).total_seconds()) < 1
    patrols.end(session, user=volunteer, patrol_id=patrol.id)
    future, _ = patrols.start(session, user=volunteer, client_id=new_id(),
                              recorded_at=(utcnow() + timedelta(hours=3)).isoformat())
    assert future.started_at <= utcnow()


def test_other_volunteers_cannot_see_a_patrol_and_officers_cannot_change_it(session, town, patrol):
    with pytest.raises(NotFound):
        patrols.visible_patrol(session, town.user(VOLUNTEER_G3), patrol.id)
    officer = town.user(OFFICER_G12)
    assert patrols.visible_patrol(session, officer, patrol.id).id == patrol.id
    with pytest.raises(Forbidden):
        patrols.end(session, user=officer, patrol_id=patrol.id)
    with pytest.raises(NotFound):
        patrols.visible_patrol(session, town.user("13800000102"), patrol.id)


@pytest.mark.parametrize("field, value, code", [
    ("lat", "north", "bad_number"), ("lat", 91, "out_of_range"), ("lon", -181, "out_of_range"),
    ("accuracy_m", -1, "out_of_range"), ("lat", float("nan"), "out_of_range"), ("lat", True, "bad_number"),
    ("recorded_at", "yesterday", "bad_time"), ("recorded_at", "2026-11-25T08:00:00", "bad_time"),
    ("client_id", "not-a-uuid", "bad_client_id"), ("checkpoint_id", "x", "bad_number"),
])
def test_bad_input_is_refused_with_a_code_and_nothing_saved(session, volunteer, patrol, school_gate, field, value, code):
    lat, lon = north_of(school_gate, 5)
    data = {"client_id": new_id(), "lat": lat, "lon": lon, "accuracy_m": 5, "checkpoint_id": school_gate.id, field: value}
    with pytest.raises(DomainError) as err:
        patrols.check_in(session, user=volunteer, patrol_id=patrol.id, data=data, qr_key=KEY)
    assert err.value.code == code and err.value.status in (400, 422)
    assert patrols.checkins_of(session, patrol.id) == []


def test_history_lists_minutes_and_checkpoint_names(session, volunteer, patrol, school_gate):
    gps(session, volunteer, patrol, school_gate, 3, 5)
    patrols.end(session, user=volunteer, patrol_id=patrol.id)
    latest = patrols.history(session, volunteer)[0]
    assert latest.patrol.id == patrol.id and latest.checkpoint_names == [school_gate.name]
    assert session.get(Patrol, patrol.id).ended_at is not None


def test_ids_no_column_can_hold_are_simply_not_found(session, volunteer, patrol, school_gate):
    with pytest.raises(NotFound):
        patrols.visible_patrol(session, volunteer, 2 ** 40)
    with pytest.raises(Invalid) as err:
        grids.checkpoint_for_qr(session, "PAV1-99999999999999999999-ABCDEFGHJK", KEY)
    assert err.value.code == "bad_qr"


def test_the_database_refuses_a_second_open_patrol_for_one_person(town):
    import sqlalchemy as sa
    user = town.user(VOLUNTEER)
    s = town.session
    for patrol in s.exec(select(Patrol).where(Patrol.user_id == user.id, Patrol.ended_at.is_(None))):
        patrol.ended_at = utcnow()
    s.commit()
    s.add(Patrol(client_id=str(uuid.uuid4()), fingerprint="x", user_id=user.id, started_at=utcnow()))
    s.commit()
    s.add(Patrol(client_id=str(uuid.uuid4()), fingerprint="y", user_id=user.id, started_at=utcnow()))
    with pytest.raises(sa.exc.IntegrityError):
        s.commit()
    s.rollback()


def test_two_starts_racing_past_the_open_patrol_check_end_with_one_patrol_and_a_409(town, monkeypatch):
    """The look-up for a running patrol happens before the other start commits: the index decides."""
    user = town.user(VOLUNTEER)
    s = town.session
    for patrol in s.exec(select(Patrol).where(Patrol.user_id == user.id, Patrol.ended_at.is_(None))):
        patrol.ended_at = utcnow()
    s.commit()
    first, created = patrols.start(s, user=user, client_id=str(uuid.uuid4()))
    assert created
    monkeypatch.setattr(patrols, "open_patrol", lambda session, user: None)  # as if it ran before the commit
    with pytest.raises(Conflict) as err:
        patrols.start(s, user=user, client_id=str(uuid.uuid4()))
    assert err.value.code == "patrol_open" and err.value.status == 409
    open_ones = s.exec(select(Patrol).where(Patrol.user_id == user.id, Patrol.ended_at.is_(None))).all()
    assert [p.id for p in open_ones] == [first.id]
