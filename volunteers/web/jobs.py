"""Jobs that must run every few minutes (shift reminders, missed-point alerts): `flask --app app jobs`.
Any number of app servers may run it: a round runs in one process at a time (volunteers/joblock.py).

Each area registers its job with `register(app, name, fn)`; fn() does one round and returns how many things it sent.
bin/serve starts `jobs` beside the web server; in production run it as its own service (or `--once` from cron).
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Callable

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from volunteers import joblock

EXTENSION = "volunteers.jobs"


def register(app: Flask, name: str, fn: Callable[[], int]) -> None:
    """Add a periodic job; it runs inside an app context."""
    app.extensions.setdefault(EXTENSION, {})[name] = fn


def run_round(app: Flask, echo: Callable[[str], None] = click.echo) -> dict[str, int | None]:
    """Run every job once, unless another jobs process (on this or another app server) is running a round right now;
    a job that fails is logged and the others still run (None marks the failure)."""
    with joblock.exclusive(app.extensions["volunteers.engine"]) as mine:
        if not mine:
            echo(f"{datetime.now().isoformat(timespec='seconds')} another jobs process is running this round: skipped")
            return {}
        return _run_jobs(app, echo)


def _run_jobs(app: Flask, echo: Callable[[str], None]) -> dict[str, int | None]:
    results: dict[str, int | None] = {}
    for name, fn in app.extensions.get(EXTENSION, {}).items():
        try:
            results[name] = fn()
        except Exception:  # one broken job must not stop the reminders
            app.logger.exception("job %s failed", name)
            results[name] = None
        echo(f"{datetime.now().isoformat(timespec='seconds')} {name}: "
             f"{'FAILED' if results[name] is None else results[name]}")
    return results


@click.command("jobs")
@with_appcontext
@click.option("--every", default=300, show_default=True, type=click.IntRange(10, 86_400),
              help="Seconds between rounds.")
@click.option("--once", is_flag=True, help="Run one round and stop (for cron).")
def jobs(every: int, once: bool) -> None:
    """Run the periodic jobs (shift reminders, missed-point alerts) every few minutes."""
    app = current_app._get_current_object()
    while True:
        results = run_round(app)
        if once:
            if None in results.values():
                raise SystemExit(1)
            return
        time.sleep(every)


def init_app(app: Flask) -> None:
    app.cli.add_command(jobs)
