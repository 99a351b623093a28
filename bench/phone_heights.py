"""Phone page heights: the demo town (SQLite, built around now) served locally, each page opened by Debian's chromium
at 360×740 as the role that uses it, its scrollHeight printed; --shots DIR saves the first screen and the whole page.

    .venv/bin/python bench/phone_heights.py [--shots docs/screenshots] [PHONE:PATH ...]

Without pages: the grid officer's dashboard and week view (issue 15)."""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlmodel import Session  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from volunteers import db, demo, photos  # noqa: E402

PAGES = ["13800000101:/dashboard/", "13800000101:/duties/week"]


def serve(tmp: Path) -> str:
    url = f"sqlite:///{tmp}/volunteers.sqlite3"
    engine = db.make_engine(url)
    db.migrate(engine)
    engine.dispose()
    app = create_app({"DATA_DIR": str(tmp), "SECRET_KEY": "bench", "DATABASE_URL": url})
    with Session(app.extensions["volunteers.engine"]) as session:
        demo.build(session, store=photos.PhotoStore(tmp))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", default=PAGES, help="PHONE:PATH (log in as PHONE, open PATH)")
    parser.add_argument("--shots", help="save screenshots here")
    args = parser.parse_args()
    base = serve(Path(tempfile.mkdtemp()))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for spec in args.pages:
            phone, path = spec.split(":", 1)
            ctx = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai")
            page = ctx.new_page()
            page.goto(base + "/login")
            page.fill("#phone", phone)
            page.fill("#password", demo.PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_load_state()
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            height = page.evaluate("document.documentElement.scrollHeight")
            print(f"{path:<24} as {phone}: {height} px")
            if args.shots:
                name = path.strip("/").replace("/", "-") or "home"
                page.screenshot(path=f"{args.shots}/phone-{name}.png")
                page.screenshot(path=f"{args.shots}/phone-{name}-full.png", full_page=True)
            ctx.close()
        browser.close()


if __name__ == "__main__":
    main()
