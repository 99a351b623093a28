"""The per-test reset of the PostgreSQL database never waits for ever on a connection an earlier test left open."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import ON_POSTGRES, PG_URL, _reset_postgres
from volunteers import db

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="the SQLite reset copies a file")


def test_a_leftover_transaction_is_reported_and_ended(town):
    leftover = db.make_engine(PG_URL).connect()
    leftover.execute(sa.text('UPDATE "user" SET name = name WHERE phone = :p'), {"p": "13800000201"})  # holds a row lock
    engine = db.make_engine(PG_URL)
    try:
        with pytest.warns(UserWarning, match="leftover connection") as seen:
            _reset_postgres(engine, 'DELETE FROM "user"', lock_timeout="1s")
        assert "UPDATE" in str(seen[0].message)  # what the leftover was running
        with engine.connect() as conn:
            assert conn.execute(sa.text('SELECT count(*) FROM "user"')).scalar() == 0
        with pytest.raises(sa.exc.OperationalError):  # ended, not just left waiting
            leftover.execute(sa.text("SELECT 1"))
    finally:
        leftover.invalidate()
        engine.dispose()
