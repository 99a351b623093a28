"""Client ids: UUIDs only, and fingerprints that tell a retry from a different request."""
import uuid

import pytest

from volunteers import clientids
from volunteers.errors import Conflict, Invalid


def test_a_uuid_is_accepted_in_canonical_form():
    raw = uuid.uuid4()
    assert clientids.parse(str(raw).upper()) == str(raw)


@pytest.mark.parametrize("value, code", [(None, "missing_field"), ("", "missing_field"), ("abc", "bad_client_id"), (42, "missing_field")])
def test_anything_else_is_a_400(value, code):
    with pytest.raises(Invalid) as err:
        clientids.parse(value)
    assert err.value.code == code and err.value.status == 400


def test_fingerprints_ignore_key_order_but_not_values():
    assert clientids.fingerprint({"a": 1, "b": 2}) == clientids.fingerprint({"b": 2, "a": 1})
    assert clientids.fingerprint({"a": 1}) != clientids.fingerprint({"a": 1.5})


def test_replay_returns_the_original_or_refuses_a_different_payload():
    class Stored:
        fingerprint = clientids.fingerprint({"a": 1})
    assert clientids.replay(Stored, clientids.fingerprint({"a": 1})) is Stored
    with pytest.raises(Conflict):
        clientids.replay(Stored, clientids.fingerprint({"a": 2}))
