"""Server time of the pages people open most, on the demo town (SQLite, in-process test client).

    .venv/bin/python bench/page_times.py [--runs 15]

Prints the median and the slowest of N requests per page and the size of the answer. It measures the app (routing,
queries, templates), not the network: bench/pwa_transfer.py does the phone's side.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session  # noqa: E402

from app import create_app  # noqa: E402
from volunteers import db, demo  # noqa: E402

PAGES = {  # phone → pages (a trailing " hx" asks for the htmx partial)
    "13800000201": ["/", "/tasks/", "/hours/", "/hazards/mine"],
    "13800000101": ["/dashboard/", "/dashboard/ hx", "/dashboard/stats", "/hazards/", "/tasks/", "/duties/week",
                    "/hours/review", "/people/"],
    "13800000000": ["/hours/tally", "/hours/months", "/certificates/", "/audit/", "/grids/"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app({"DATA_DIR": data_dir, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench"})
        engine = app.extensions["volunteers.engine"]
        db.migrate(engine)
        with Session(engine) as session:
            demo.build(session)
        print(f"{'page':28s} {'median':>8s} {'max':>8s} {'size':>8s}")
        for phone, pages in PAGES.items():
            client = app.test_client()
            client.post("/login", data={"phone": phone, "password": demo.PASSWORD})
            for page in pages:
                url, _, hx = page.partition(" ")
                headers = {"HX-Request": "true"} if hx else {}
                times = []
                for _ in range(runs):
                    start = time.perf_counter()
                    answer = client.get(url, headers=headers)
                    times.append(time.perf_counter() - start)
                    assert answer.status_code == 200, (phone, page, answer.status_code)
                print(f"{phone[-3:]} {page:24s} {statistics.median(times) * 1000:6.0f} ms {max(times) * 1000:6.0f} ms "
                      f"{len(answer.data) / 1024:6.1f} KB")
        engine.dispose()


if __name__ == "__main__":
    main()
