"""The jobs process on several app servers: a round runs in one process at a time (volunteers/joblock.py), so two
jobs processes started together never send one reminder twice, and a killed process leaves no lock behind."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlmodel import select

from tests.test_duties import no_demo_shift_soon, soon_shift, take
from volunteers import duties, joblock
from volunteers.models import Notification

ROOT = Path(__file__).resolve().parents[1]
PHONES = [f"138000002{n:02d}" for n in range(1, 9)]


def reminded(town) -> list[tuple[int, str]]:
    town.session.expire_all()
    return list(town.session.exec(select(Notification.user_id, Notification.link)
                                  .where(Notification.message == duties.REMINDER)))


def shifts_soon(town) -> int:
    """Four shifts within the hour, two accepted volunteers each: eight reminders due (and none of the demo's)."""
    no_demo_shift_soon(town)
    now = datetime.now(timezone.utc)
    for n in range(4):
        task = soon_shift(town, timedelta(minutes=10 + 5 * n), now)
        take(town, task, PHONES[2 * n:2 * n + 2])
    return len(PHONES)


def env_for(app, tmp_path) -> dict[str, str]:
    return dict(os.environ, DATABASE_URL=app.config["DATABASE_URL"], SECRET_KEY="test-secret-key",
                VOLUNTEERS_DATA_DIR=str(tmp_path / "data"))


def test_a_round_is_skipped_while_another_process_runs_one(app, town):
    due = shifts_soon(town)
    engine = app.extensions["volunteers.engine"]
    runner = app.test_cli_runner()
    with joblock.exclusive(engine) as held:
        assert held
        with joblock.exclusive(engine) as second:  # another connection / another open file: refused, not waited for
            assert not second
        skipped = runner.invoke(args=["jobs", "--once"])
        assert skipped.exit_code == 0 and "skipped" in skipped.output and "remind:" not in skipped.output
        assert reminded(town) == []
    ran = runner.invoke(args=["jobs", "--once"])
    assert ran.exit_code == 0 and f"remind: {due}" in ran.output


# A jobs process whose round begins at the same instant as its twin's (both wait for a start time) and lasts long
# enough to overlap for sure (a first job that takes a second): without the lock both would send every reminder.
TWIN = """
import sys, time
from app import create_app
from volunteers.web import jobs
app = create_app()
app.extensions[jobs.EXTENSION] = {"hold": lambda: time.sleep(1) or 0, **app.extensions[jobs.EXTENSION]}
time.sleep(max(0, float(sys.argv[1]) - time.time()))
with app.app_context():
    jobs.run_round(app)
"""


def test_two_jobs_processes_started_together_send_each_reminder_once(app, town, tmp_path):
    due = shifts_soon(town)
    env = env_for(app, tmp_path)
    start = f"{time.time() + 8:.3f}"  # both are up and waiting well before then
    procs = [subprocess.Popen([sys.executable, "-c", TWIN, start], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert sum("skipped" in out for out in outputs) == 1, outputs  # they did meet: one ran the round, one stood by
    assert [p.returncode for p in procs] == [0, 0], outputs
    sent = sum(int(m) for out in outputs for m in re.findall(r"remind: (\d+)", out))
    assert sent == due, outputs
    rows = reminded(town)
    assert len(rows) == due and len(set(rows)) == due  # each volunteer's shift once, none twice


def test_a_jobs_process_killed_mid_round_leaves_no_lock_behind(app, town, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from volunteers import db, joblock\n"
        "engine = db.make_engine(sys.argv[1])\n"
        "with joblock.exclusive(engine) as got:\n"
        "    print('held' if got else 'refused', flush=True)\n"
        "    time.sleep(600)\n"), app.config["DATABASE_URL"]], cwd=ROOT, env=env_for(app, tmp_path), text=True,
        stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        with joblock.exclusive(app.extensions["volunteers.engine"]) as got:
            assert not got
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    deadline = time.monotonic() + 10  # PostgreSQL notices the dead connection at once; flock goes with the process
    while True:
        with joblock.exclusive(app.extensions["volunteers.engine"]) as got:
            if got or time.monotonic() > deadline:
                break
        time.sleep(0.2)
    assert got
