"""D106: PostgreSQL's test town holds its rows newest first, so a test that leans on insert order fails there."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from tests import conftest
from volunteers.models import Hazard, TeamMember


def test_rows_go_in_newest_first_and_a_row_pointing_at_its_own_table_after_its_target(monkeypatch):
    monkeypatch.setattr(conftest, "REVERSED_ROWS", True)
    rows = [{"id": 1, "duplicate_of_id": None}, {"id": 2, "duplicate_of_id": 1}, {"id": 3, "duplicate_of_id": None},
            {"id": 4, "duplicate_of_id": 2}]
    ordered = conftest.in_test_order(Hazard.__table__, rows)
    assert [r["id"] for r in ordered] == [3, 1, 2, 4]
    members = [{"team_id": 1, "user_id": 5}, {"team_id": 2, "user_id": 1}, {"team_id": 1, "user_id": 9}]
    assert conftest.in_test_order(TeamMember.__table__, members) == [members[1], members[2], members[0]]


def test_insert_order_is_kept_when_asked(monkeypatch):
    monkeypatch.setattr(conftest, "REVERSED_ROWS", False)
    rows = [{"id": 1, "duplicate_of_id": None}, {"id": 2, "duplicate_of_id": None}]
    assert conftest.in_test_order(Hazard.__table__, rows) == rows


@pytest.mark.skipif(not (conftest.ON_POSTGRES and conftest.REVERSED_ROWS), reason="PostgreSQL's reversed town only")
def test_the_newest_row_lies_first_in_postgres_tables(app, demo_rows):
    # Where the rows lie (ctid) is what a plain scan reads first. Checked on freshly truncated tables: after the
    # per-test DELETEs and autovacuum, new rows may fill freed space anywhere; and not through a query without ORDER
    # BY, which the planner may answer from the primary key's index once a table has statistics.
    engine = app.extensions["volunteers.engine"]
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names}"))
    conftest.insert_demo_rows(engine, demo_rows)
    with engine.connect() as conn:
        for table in ("task", "hazard", "user"):
            newest = conn.execute(sa.text(f'SELECT max(id) FROM "{table}"')).scalar_one()
            assert conn.execute(sa.text(f'SELECT id FROM "{table}" ORDER BY ctid LIMIT 1')).scalar_one() == newest
