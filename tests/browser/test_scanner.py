"""扫码签到 inside the app: Chromium's fake camera films a real poster QR, the page reads it (BarcodeDetector where
the browser has one, else the vendored jsQR) and checks in; a refused camera says why; and the NFC tag's payload.
Web NFC itself cannot run in headless Chromium (no NDEFReader, no reader): its builder and parser are tested here."""
from __future__ import annotations

import io

import pytest
import segno
from PIL import Image
from sqlmodel import select

from tests.browser.conftest import ARGS, CHROMIUM, PHONE, log_in, open_page, until
from tests.browser.test_offline import outbox_size, ready_for_offline
from volunteers import grids
from volunteers.models import CheckIn
from volunteers.web.grids import scan_link

VOLUNTEER = "13800000201"

# Records every camera stream the page opens, so the test can see that each was stopped (the page is not changed).
WATCH_STREAMS = """(() => {
  if (!navigator.mediaDevices) return;
  const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.seenStreams = [];
  navigator.mediaDevices.getUserMedia = c => open(c).then(s => { window.seenStreams.push(s); return s; });
})();"""
ALL_STOPPED = "seenStreams.length > 0 && seenStreams.every(s => s.getTracks().every(t => t.readyState === 'ended'))"


def poster_link(live, name: str) -> str:
    """What the printed poster's QR holds for this checkpoint (the same function the PDF uses)."""
    checkpoint = live.checkpoint(name)
    with live.app.test_request_context(base_url=live.url):
        return scan_link(grids.qr_code(checkpoint, live.app.config["SECRET_KEY"]))


def write_y4m(path, text: str | None, width: int = 640, height: int = 480, frames: int = 10):
    """A short Y4M film (4:2:0) of a white page with the QR of this text in the middle; Chromium loops it."""
    frame = Image.new("RGB", (width, height), "white")
    if text is not None:
        png = io.BytesIO()
        segno.make(text, error="m").save(png, kind="png", scale=6, border=4)
        qr = Image.open(io.BytesIO(png.getvalue())).convert("RGB")
        frame.paste(qr, ((width - qr.width) // 2, (height - qr.height) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    planes = y.tobytes() + cb.resize((width // 2, height // 2)).tobytes() + cr.resize((width // 2, height // 2)).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)


@pytest.fixture
def camera_browser(browser, tmp_path):
    """Make a chromium whose camera films a given QR text (None: a page with no QR); closed after the test.
    Launched through the session's Playwright: a second sync Playwright cannot start in the same thread."""
    launched = []

    def _launch(text: str | None):
        film = tmp_path / f"camera-{len(launched)}.y4m"
        write_y4m(film, text)
        # No --use-fake-ui-for-media-stream: the context's own permission decides, so a refusal is real.
        filming = browser.browser_type.launch(executable_path=CHROMIUM, args=ARGS + [
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={film}"])
        launched.append(filming)
        return filming

    yield _launch
    for filming in launched:
        filming.close()


def phone(browser, **options):
    ctx = browser.new_context(**PHONE, **options)
    ctx.set_default_timeout(15_000)
    page = open_page(ctx)
    page.add_init_script(WATCH_STREAMS)
    return ctx, page


def qr_checkins(live):
    with live.session() as s:
        return s.exec(select(CheckIn).where(CheckIn.client_id.not_like("demo-%"))).all()


def start_patrol(page, live):
    log_in(page, live, VOLUNTEER)
    page.locator("#app-start").click()
    page.locator("#app-scan").wait_for(state="visible")


def test_tapping_scan_reads_the_posters_qr_with_the_camera_and_checks_in(live, camera_browser):
    office = live.checkpoint("东街村委会")
    link = poster_link(live, "东街村委会")
    assert link.startswith(live.url + "/c/PAV1-")
    ctx, page = phone(camera_browser(link), permissions=["camera"])
    start_patrol(page, live)
    scan = page.locator("#app-scan")
    assert scan.inner_text().strip() == "扫码签到" and scan.bounding_box()["height"] >= 90
    native = page.evaluate("'BarcodeDetector' in window")
    assert page.evaluate("typeof jsQR") == "undefined"  # not loaded until a scan needs it

    scan.click()  # the only tap: the camera opens, reads the QR, closes and checks in
    page.locator(f"#app-checkpoint-{office.id}.done").wait_for()
    assert "签到成功" in page.locator("[data-app-status].notice-success").inner_text()
    decoder = page.locator("[data-scan-overlay]").get_attribute("data-decoder")
    assert decoder == ("barcodedetector" if native else "jsqr"), decoder
    print(f"decoder path: {decoder}")
    assert page.locator("[data-scan-overlay]").is_hidden()
    until(page, ALL_STOPPED)  # the camera is off again

    [checkin] = qr_checkins(live)
    assert checkin.method == "qr" and checkin.checkpoint_id == office.id
    assert not page.problems.items


def test_with_no_signal_the_scan_still_reads_the_qr_and_the_check_in_waits_then_arrives(live, camera_browser):
    office = live.checkpoint("东街村委会")
    ctx, page = phone(camera_browser(poster_link(live, "东街村委会")), permissions=["camera"])
    start_patrol(page, live)
    ready_for_offline(page)
    until(page, "JSON.parse(localStorage.getItem('patrol:' + VolunteersApp.user)).server_id")  # the start arrived
    assert page.evaluate("typeof jsQR") == "undefined"
    ctx.set_offline(True)
    page.locator("#app-scan").click()  # jsQR, when needed, is fetched now: from the worker's precache
    page.locator(f"#app-checkpoint-{office.id}.waiting").wait_for()
    assert outbox_size(page) == 1 and not qr_checkins(live)
    until(page, ALL_STOPPED)

    ctx.set_offline(False)
    page.evaluate("Outbox.flush({ now: true })")
    page.locator(f"#app-checkpoint-{office.id}.done").wait_for()
    [checkin] = qr_checkins(live)
    assert checkin.method == "qr" and checkin.checkpoint_id == office.id


def test_a_refused_camera_says_why_and_puts_the_cursor_in_the_code_field(live, camera_browser):
    ctx, page = phone(camera_browser(poster_link(live, "东街村委会")))  # camera not allowed for this site
    start_patrol(page, live)
    page.locator("#app-scan").click()
    status = page.locator("[data-scan-status].notice-error")
    status.wait_for()
    assert "摄像头" in status.inner_text() and "编码" in status.inner_text(), status.inner_text()
    until(page, "document.activeElement && document.activeElement.id === 'app-code'")
    assert page.locator("[data-scan-overlay]").is_hidden() and not qr_checkins(live)


def test_no_qr_in_sight_gives_up_with_a_message_and_stops_the_camera(live, camera_browser):
    ctx, page = phone(camera_browser(None), permissions=["camera"])
    start_patrol(page, live)
    page.evaluate("document.getElementById('app-scan').setAttribute('data-give-up-ms', '3000')")  # not 30 s here
    page.locator("#app-scan").click()
    page.locator("[data-scan-overlay]").wait_for(state="visible")
    assert "二维码" in page.locator("[data-scan-hint]").inner_text()
    status = page.locator("[data-scan-status].notice-error")
    status.wait_for(timeout=10_000)
    assert "没有扫到" in status.inner_text() and "输入" in status.inner_text(), status.inner_text()
    until(page, ALL_STOPPED)
    assert page.locator("[data-scan-overlay]").is_hidden()
    until(page, "document.activeElement && document.activeElement.id === 'app-code'")
    assert not qr_checkins(live)


def test_another_qr_is_refused_in_the_overlay_and_the_camera_keeps_looking(live, camera_browser):
    ctx, page = phone(camera_browser("https://shop.example/pay?id=42"), permissions=["camera"])
    start_patrol(page, live)
    page.locator("#app-scan").click()
    hint = page.locator("[data-scan-hint]")
    until(page, "document.querySelector('[data-scan-hint]').textContent.indexOf('不是') >= 0")
    assert page.locator("[data-scan-overlay]").is_visible() and not qr_checkins(live)
    page.locator("#scan-close").click()
    assert page.locator("[data-scan-overlay]").is_hidden() and hint.inner_text()
    until(page, ALL_STOPPED)


def test_the_scanner_and_nfc_scripts_come_only_once_a_patrol_runs(live, contexts):
    """The home's first load stays small: scanner.js, nfc.js and poster-code.js are fetched when the patrol starts."""
    page = open_page(contexts("phone"))
    asked = []
    page.on("request", lambda r: asked.append(r.url.rsplit("/", 1)[1]))
    log_in(page, live, VOLUNTEER)
    page.wait_for_load_state("load")
    assert page.evaluate("typeof PatrolScan + typeof PatrolNfc + typeof PosterCode") == "undefined" * 3
    assert not {"scanner.js", "nfc.js", "poster-code.js"} & set(asked)
    page.locator("#app-start").click()
    page.locator("#app-scan").wait_for(state="visible")
    until(page, "typeof PatrolNfc === 'object' && typeof PosterCode === 'object'")


def test_the_code_is_taken_from_a_poster_link_or_bare_text_and_nothing_else(live, contexts):
    page = open_page(contexts("phone"))
    start_patrol(page, live)
    read = lambda text: page.evaluate("t => PatrolScan.codeFromText(t)", text)
    assert read("https://ping.example/c/PAV1-12-ABCDEFGHJK") == "PAV1-12-ABCDEFGHJK"
    assert read("http://127.0.0.1:5000/c/PAV1-12-ABCDEFGHJK?from=wechat") == "PAV1-12-ABCDEFGHJK"
    assert read("  pav1-12-abcdefghjk\n") == "PAV1-12-ABCDEFGHJK"
    assert read("https://shop.example/pay?id=42") is None and read("") is None
    assert read("https://ping.example/c/PAV1-12-ABC") is None


def test_the_decoder_reads_a_poster_qr_image_in_the_page(live, contexts):
    """The jsQR path on its own, on an image (phones without BarcodeDetector use it)."""
    link = poster_link(live, "东街村委会")
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=6, border=4)
    page = open_page(contexts("phone"))
    start_patrol(page, live)
    text = page.evaluate("""([bytes, src]) => PatrolScan.loadJsQR(src).then(() => createImageBitmap(new Blob([new Uint8Array(bytes)])))
      .then(bitmap => { const c = document.createElement('canvas'); c.width = bitmap.width; c.height = bitmap.height;
        const g = c.getContext('2d'); g.drawImage(bitmap, 0, 0); return PatrolScan.decodeImageData(g.getImageData(0, 0, c.width, c.height)); })""",
                         [list(png.getvalue()), page.locator("#app-scan").get_attribute("data-jsqr")])
    assert text == link


def test_the_nfc_tag_holds_the_poster_link_and_a_read_tag_gives_its_code(live, contexts):
    link = poster_link(live, "东街村委会")
    page = open_page(contexts("phone"))
    start_patrol(page, live)
    until(page, "typeof PatrolNfc === 'object'")
    assert page.evaluate("'NDEFReader' in window") is False  # headless Chromium on Linux: no Web NFC
    assert page.locator("#app-nfc").is_hidden()  # so the NFC button stays hidden
    assert page.evaluate("u => PatrolNfc.message(u)", link) == {"records": [{"recordType": "url", "data": link}]}
    code = link.rsplit("/", 1)[1]
    # What Chrome hands a page for a read tag: records whose data is a DataView of the bytes.
    parse = """([type, text, encoding]) => PatrolNfc.codeFrom({ records: [
      { recordType: "empty", data: null },
      { recordType: type, encoding: encoding, data: new DataView(new TextEncoder().encode(text).buffer) }] })"""
    assert page.evaluate(parse, ["url", link, None]) == code
    assert page.evaluate(parse, ["text", code.lower(), "utf-8"]) == code
    assert page.evaluate(parse, ["url", "https://shop.example/", None]) is None
    assert page.evaluate(parse, ["mime", code, None]) is None  # only url, absolute-url and text records count
    assert page.evaluate("PatrolNfc.codeFrom({ records: [] })") is None


# Stand-ins for what headless Chromium lacks, to drive the page's own wiring: a BarcodeDetector that "sees" a given
# text, and an NDEFReader whose tag the test touches by calling window.touchTag(text). The real APIs are not exercised.
FAKE_DETECTOR = """window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["qr_code", "ean_13"]); }
  detect(source) { return Promise.resolve(source.videoWidth ? [{ rawValue: window.seenText, format: "qr_code" }] : []); }
};"""
FAKE_NFC = """window.nfcWritten = []; window.nfcScans = 0;
window.NDEFReader = class extends EventTarget {
  scan(options) { window.nfcScans += 1; window.touchTag = text => this.dispatchEvent(Object.assign(new Event("reading"),
    { message: { records: [{ recordType: "url", data: new DataView(new TextEncoder().encode(text).buffer) }] } }));
    return Promise.resolve(); }
  write(message, options) { window.nfcWritten.push(message); return Promise.resolve(); }
};"""


def test_where_the_browser_has_barcodedetector_it_reads_the_qr_and_jsqr_is_never_loaded(live, camera_browser):
    office = live.checkpoint("东街村委会")
    link = poster_link(live, "东街村委会")
    ctx, page = phone(camera_browser(None), permissions=["camera"])
    page.add_init_script(FAKE_DETECTOR + f"window.seenText = {link!r};")
    start_patrol(page, live)
    page.locator("#app-scan").click()
    page.locator(f"#app-checkpoint-{office.id}.done").wait_for()
    assert page.locator("[data-scan-overlay]").get_attribute("data-decoder") == "barcodedetector"
    assert page.evaluate("typeof jsQR") == "undefined"
    until(page, ALL_STOPPED)
    [checkin] = qr_checkins(live)
    assert checkin.method == "qr" and checkin.checkpoint_id == office.id


def test_a_touched_nfc_tag_checks_in_while_the_patrol_runs(live, contexts):
    office = live.checkpoint("东街村委会")
    page = open_page(contexts("phone"))
    page.add_init_script(FAKE_NFC)
    log_in(page, live, VOLUNTEER)
    assert page.locator("#app-nfc").is_hidden()  # no patrol, no listening
    page.locator("#app-start").click()
    nfc = page.locator("#app-nfc")
    nfc.wait_for(state="visible")
    assert nfc.inner_text().strip() == "用NFC标签签到"
    nfc.click()  # asking for NFC needs a tap the first time
    page.locator("[data-nfc-status].notice-success").wait_for()
    assert nfc.is_hidden() and page.evaluate("nfcScans") == 1
    page.evaluate("t => touchTag(t)", "https://shop.example/")
    page.locator("[data-nfc-status].notice-error").wait_for()
    assert not qr_checkins(live)
    page.evaluate("t => touchTag(t)", poster_link(live, "东街村委会"))
    page.locator(f"#app-checkpoint-{office.id}.done").wait_for()
    [checkin] = qr_checkins(live)
    assert checkin.method == "qr" and checkin.checkpoint_id == office.id


def test_the_officer_writes_the_posters_link_onto_a_tag(live, contexts):
    office = live.checkpoint("东街村委会")
    page = open_page(contexts("phone"))
    page.add_init_script(FAKE_NFC)
    log_in(page, live, "13800000101")
    page.goto(f"{live.url}/grids/checkpoints/{office.id}/edit")
    button = page.locator("#nfc-write")
    assert button.inner_text().strip() == "写入NFC标签"
    button.click()
    page.locator("[data-nfc-write-status].notice-success").wait_for()
    assert page.evaluate("nfcWritten") == [{"records": [{"recordType": "url", "data": poster_link(live, "东街村委会")}]}]
    assert not page.problems.items
