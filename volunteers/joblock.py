"""One jobs round at a time across every app server: the reminders and missed-point alerts are safe to run again
after a round has finished (each looks at what was already sent), never at the same moment in two processes.

PostgreSQL: a session-level advisory lock on a connection held for the round — released by the server itself if
the process dies, so a killed jobs process never leaves the lock behind. SQLite lives in one file on one machine:
an flock(2) on a file beside the database does the same for processes of that machine.
"""
from __future__ import annotations

import fcntl
import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa


def _key(name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(engine: sa.Engine, name: str = "volunteers.jobs") -> Iterator[bool]:
    """Try to take the lock `name` without waiting; yields whether this process holds it (then runs the round)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(name)}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _key(name)})
                    conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":  # an in-memory database belongs to one process anyway
        yield True
        return
    path = Path(f"{database}.{name}.lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
