"""Real-browser fixtures: Debian's chromium driven by Playwright (never a downloaded browser), the app served
on a free loopback port with CSRF on, the demo town loaded, and phone or desktop contexts."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlmodel import Session, select
from werkzeug.serving import make_server

from volunteers import demo, photos
from volunteers.models import Checkpoint, Grid

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"]
PHONE = dict(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True,
             locale="zh-CN", timezone_id="Asia/Shanghai")
DESKTOP = dict(viewport={"width": 1280, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api  # required (requirements-dev.txt): a missing browser stack must fail, not skip
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (bin/test does)")
    playwright = sync_api.sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@dataclass
class Live:
    """The running app: its URL, the app object and a way into its database."""
    url: str
    app: object

    def session(self) -> Session:
        return Session(self.app.extensions["volunteers.engine"], expire_on_commit=False)

    def checkpoint(self, name: str) -> Checkpoint:
        with self.session() as s:
            return s.exec(select(Checkpoint).where(Checkpoint.name == name)).one()

    def grid(self, code: str) -> Grid:
        with self.session() as s:
            return s.exec(select(Grid).where(Grid.code == code)).one()


@pytest.fixture
def live(make_app, tmp_path):
    """The app with the demo town, served by werkzeug on 127.0.0.1 in a thread for one test."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with Session(app.extensions["volunteers.engine"]) as session:
        demo.build(session, store=photos.PhotoStore(tmp_path))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Live(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    thread.join(5)


@pytest.fixture
def contexts(browser):
    """Make browser contexts (phone or desktop); all are closed after the test."""
    made = []

    def _make(kind: str = "phone", **options):
        ctx = browser.new_context(**(PHONE if kind == "phone" else DESKTOP), **options)
        ctx.set_default_timeout(15_000)
        made.append(ctx)
        return ctx

    yield _make
    for ctx in made:
        ctx.close()


# Chromium logs most CSP refusals to the console; the event also catches the ones it does not (e.g. report-only).
CSP_WATCH = """document.addEventListener("securitypolicyviolation", e =>
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")));"""


class PageProblems:
    """Console errors, uncaught exceptions, CSP violations and server errors (5xx) seen on a page."""

    def __init__(self, page):
        self.items: list[str] = []
        page.add_init_script(CSP_WATCH)
        page.on("pageerror", lambda err: self.items.append(f"pageerror: {err}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _response(self, response):
        if response.status >= 500 and not response.from_service_worker:
            self.items.append(f"server: {response.status} {response.url}")

    def _console(self, message):
        text = message.text
        # Offline tests make the browser log refused requests; those are the point, not a fault.
        if message.type == "error" and "ERR_INTERNET_DISCONNECTED" not in text and "Failed to load resource" not in text:
            self.items.append(f"console: {text}")


def until(page, script: str, timeout_s: float = 30.0, every_ms: int = 200):
    """Poll a script that may return a promise until it gives something truthy. Not page.wait_for_function:
    a pending promise counts as truthy at once, and its string predicates are eval'd in the page, which
    the app's CSP (no 'unsafe-eval') refuses whenever the first check is false."""
    deadline = time.monotonic() + timeout_s
    # page.evaluate has no time limit: a promise that never settles (say, an IndexedDB request stuck behind another
    # connection) would hang the whole suite, so each check gives up after 5 s and counts as false.
    bounded = f"Promise.race([Promise.resolve({script}), new Promise(done => setTimeout(done, 5000))])"
    while True:
        try:
            value = page.evaluate(bounded)
        except PlaywrightError as err:
            # The page went on to another while the check ran (a sent outbox item reloads the page that showed it
            # waiting): not an answer either way, so check again on the new page once it has loaded.
            if "context was destroyed" not in str(err) and "navigat" not in str(err):
                raise
            page.wait_for_load_state()
            value = False
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {script}")
        page.wait_for_timeout(every_ms)


def open_page(ctx):
    page = ctx.new_page()
    page.problems = PageProblems(page)
    return page


def log_in(page, live: Live, phone: str, password: str = demo.PASSWORD):
    """Log in through the form, as a person would."""
    page.goto(live.url + "/login")
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
