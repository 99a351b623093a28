"""How much a volunteer's phone downloads for the home page, and how long until it is usable on Slow 3G.

Serves the app with the demo town on a loopback port, drives Debian's chromium through Playwright:
- first load (empty cache): every response body, gzip-compressed as a proxy in front would send it;
- repeat load (service worker installed): only what still goes over the network;
- time from navigation until the 开始巡逻 button is usable on a "Slow 3G" link (400 ms per request,
  400 kbit/s), first visit (no cache, no service worker) and repeat visit (service worker installed).
Run: .venv/bin/python bench/pwa_transfer.py [--runs 5]
"""
from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlmodel import Session  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from volunteers import db, demo  # noqa: E402

ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-gpu", "--no-first-run"]


class Network:
    """WSGI middleware standing in for the phone's link: it logs each response's size (raw and gzip, as a
    proxy in front would send it) and, when slow, waits 400 ms per request plus the time a shared 400 kbit/s
    link needs for the gzip bytes ("Slow 3G"). It sits on the server, so the service worker's requests count too."""

    LATENCY_S = 0.4
    BYTES_PER_S = 400_000 / 8

    def __init__(self, app):
        self.app, self.slow, self.log = app, False, []
        self.lock, self.link_free_at = threading.Lock(), 0.0

    def __call__(self, environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        packed = len(gzip.compress(body, 6))
        self.log.append((environ["PATH_INFO"], captured["status"][:3], len(body), packed))
        if self.slow:  # one shared link: parallel responses queue for its bandwidth
            with self.lock:
                begin = max(time.monotonic() + self.LATENCY_S, self.link_free_at)
                self.link_free_at = begin + packed / self.BYTES_PER_S
                done_at = self.link_free_at
            time.sleep(max(0.0, done_at - time.monotonic()))
        start_response(captured["status"], captured["headers"])
        return [body]


def serve():
    app = create_app({"DATA_DIR": tempfile.mkdtemp()})
    db.migrate(app.extensions["volunteers.engine"])
    with Session(app.extensions["volunteers.engine"]) as session:
        demo.build(session)
    network = Network(app.wsgi_app)
    app.wsgi_app = network
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", network


def log_in(page, base):
    page.goto(base + "/login")
    page.fill("#phone", "13800000201")
    page.fill("#password", demo.PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("#app-start", state="visible")


def during(network, action) -> list[tuple]:
    """What went over the network while `action` ran (after a moment for stragglers)."""
    mark = len(network.log)
    action()
    time.sleep(0.5)
    return network.log[mark:]


def kit_urls(base: str) -> list[str]:
    """The offline kit the service worker keeps after login (OFFLINE_KIT in /sw.js)."""
    import json
    import re
    import urllib.request
    with urllib.request.urlopen(base + "/sw.js") as r:
        body = r.read().decode()
    return json.loads(re.search(r"var OFFLINE_KIT = (\[.*?\]);", body).group(1))


def summary(rows) -> str:
    raw, packed = sum(r[2] for r in rows), sum(r[3] for r in rows)
    listing = ", ".join(f"{path} {status} {gz / 1024:.1f}" for path, status, _raw, gz in rows)
    return f"{raw / 1024:.1f} KB raw, {packed / 1024:.1f} KB gzip in {len(rows)} responses\n    ({listing})"


SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}


def time_to_usable(browser, base, network, warm: bool, chromium_emulation: bool = False) -> float:
    """Seconds from navigating to / until 开始巡逻 can be tapped, on the slow link (ours, or Chromium's own
    network emulation — which only a page without a service worker obeys, so only for first visits)."""
    options = dict(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
    ctx = browser.new_context(**options, service_workers="allow" if warm else "block")
    page = ctx.new_page()
    log_in(page, base)
    if warm:
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        time.sleep(1)
    else:
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.clearBrowserCache")
        if chromium_emulation:
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    network.slow = not chromium_emulation
    started = time.perf_counter()
    page.goto(base + "/", wait_until="commit")
    page.wait_for_selector("#app-start", state="visible", timeout=120_000)
    elapsed = time.perf_counter() - started
    network.slow = False
    ctx.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    base, network = serve()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
        page = ctx.new_page()
        def first_visit():
            log_in(page, base)
            page.wait_for_function("navigator.serviceWorker.controller !== null")
            time.sleep(1.5)  # let the worker finish keeping its pages and the offline kit
        everything = during(network, first_visit)
        kit = set(kit_urls(base))
        first = [r for r in everything if r[0] not in kit]
        kept_kit = [r for r in everything if r[0] in kit]
        repeat = during(network, lambda: (page.reload(), page.wait_for_selector("#app-start", state="visible")))
        ctx.close()
        cold = [time_to_usable(browser, base, network, warm=False) for _ in range(runs)]
        warm = [time_to_usable(browser, base, network, warm=True) for _ in range(runs)]
        emulated = [time_to_usable(browser, base, network, warm=False, chromium_emulation=True) for _ in range(runs)]
        browser.close()
    print("first load (login page, then home):", summary(first))
    print("then, in the background after login, the offline kit (report map, QR decoder, poster page):", summary(kept_kit))
    print("repeat load:           ", summary(repeat))
    print(f"Slow 3G, time until 开始巡逻 can be tapped (median of {runs}): first visit {statistics.median(cold):.2f} s "
          f"(min {min(cold):.2f}, max {max(cold):.2f}), repeat visit {statistics.median(warm):.2f} s "
          f"(min {min(warm):.2f}, max {max(warm):.2f})")
    print(f"Chromium's own Slow 3G emulation, first visit (median of {runs}): {statistics.median(emulated):.2f} s "
          f"(min {min(emulated):.2f}, max {max(emulated):.2f}) — uncompressed, as the dev server sends it")


if __name__ == "__main__":
    main()
