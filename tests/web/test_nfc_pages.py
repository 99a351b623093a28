"""A checkpoint's page offers 写入NFC标签 (shown by nfc.js only where the browser has Web NFC), writing the very link
that the checkpoint's poster QR holds."""
from __future__ import annotations

import re

from tests.conftest import OFFICER_G12
from tests.web.test_grid_pages import decode
from volunteers import grids


def tag_url(page_text: str) -> str | None:
    found = re.search(r'<button[^>]*id="nfc-write"[^>]*data-nfc-write="([^"]+)"', page_text)
    return found.group(1) if found else None


def test_the_checkpoint_page_has_a_hidden_nfc_write_button_with_the_posters_link(login_as, app, town):
    cp = town.checkpoints("G1")[0]
    client = login_as(OFFICER_G12)
    page = client.get(f"/grids/checkpoints/{cp.id}/edit")
    assert page.status_code == 200
    button = re.search(r'<button[^>]*id="nfc-write"[^>]*>', page.text).group(0)
    assert " hidden" in button  # nfc.js shows it only where 'NDEFReader' exists
    assert "写入NFC标签" in page.text and "/static/js/nfc.js" in page.text
    url = tag_url(page.text)
    assert url == f"http://localhost/c/{grids.qr_code(cp, app.config['SECRET_KEY'])}"
    assert decode(client.get(f"/grids/checkpoints/{cp.id}/poster.pdf").data) == [url]  # the same link as the poster


def test_behind_a_proxy_the_tag_holds_the_public_address(login_as, app, town, monkeypatch):
    cp = town.checkpoints("G1")[0]
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://pingan.example")
    page = login_as(OFFICER_G12).get(f"/grids/checkpoints/{cp.id}/edit")
    assert tag_url(page.text) == f"https://pingan.example/c/{grids.qr_code(cp, app.config['SECRET_KEY'])}"


def test_a_retired_checkpoint_offers_no_tag_to_write(login_as, town):
    cp = town.checkpoints("G1")[1]
    client = login_as(OFFICER_G12)
    assert client.post(f"/grids/checkpoints/{cp.id}/retire").status_code == 302
    page = client.get(f"/grids/checkpoints/{cp.id}/edit")
    assert page.status_code == 200 and tag_url(page.text) is None
