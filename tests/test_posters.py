"""QR posters: one A4 page per checkpoint with the title, the point's name and grid, the code in letters, and a QR code
that reads back (with zxing-cpp from the page rendered by PDFium) as exactly the signed code the check-in accepts."""
from __future__ import annotations

import pypdfium2 as pdfium
import pytest
import zxingcpp

from volunteers import grids, posters

A4_POINTS = (595, 842)


def pages(data: bytes) -> list[tuple[str, list[str], tuple[float, float]]]:
    """Each page's text, the QR codes read from it at 150 dpi, and its size in points."""
    doc = pdfium.PdfDocument(data)
    try:
        found = []
        for page in doc:
            text = page.get_textpage().get_text_range()
            image = page.render(scale=150 / 72).to_pil()
            found.append((text, [b.text for b in zxingcpp.read_barcodes(image)], page.get_size()))
        return found
    finally:
        doc.close()


@pytest.fixture
def g1(town):
    return town.grid("G1"), town.checkpoints("G1")


def test_a_poster_is_one_a4_page_whose_qr_reads_as_the_checkpoints_signed_code(session, g1):
    grid, (cp, *_rest) = g1
    [(text, codes, size)] = pages(posters.posters_pdf([(cp, grid)], "test-secret-key"))
    code = grids.qr_code(cp, "test-secret-key")
    assert codes == [code]
    assert grids.checkpoint_for_qr(session, codes[0], "test-secret-key").id == cp.id
    assert size == pytest.approx(A4_POINTS, abs=1)
    for words in (posters.TITLE, cp.name, grid.code, grid.name, code, posters.INSTRUCTION):
        assert words in text


def test_the_poster_wording_goes_through_the_translation_given(g1):
    grid, (cp, *_rest) = g1
    chinese = {posters.TITLE: "必到点", posters.INSTRUCTION: "扫码或输入编码签到", posters.GRID_LINE: "网格 %(code)s · %(name)s",
               posters.CODE_LINE: "编码：%(code)s"}

    def gettext(message, **params):
        return chinese[message] % params if params else chinese[message]

    [(text, codes, _size)] = pages(posters.posters_pdf([(cp, grid)], "k", gettext=gettext))
    assert "必到点" in text and "扫码或输入编码签到" in text and f"网格 {grid.code}" in text
    assert codes == [grids.qr_code(cp, "k")]


def test_a_grids_posters_are_one_page_each_in_order(g1):
    grid, checkpoints = g1
    found = pages(posters.posters_pdf([(cp, grid) for cp in checkpoints], "k"))
    assert [codes for _t, codes, _s in found] == [[grids.qr_code(cp, "k")] for cp in checkpoints]
    assert all(cp.name in text for cp, (text, _c, _s) in zip(checkpoints, found))


def test_a_very_long_name_shrinks_to_fit_the_page(g1):
    grid, (cp, *_rest) = g1
    cp.name = "青石镇东街社区第二居民小组老年活动中心北门口停车场入口"
    [(text, codes, _size)] = pages(posters.posters_pdf([(cp, grid)], "k"))
    assert cp.name in text.replace("\r", "").replace("\n", "")
    assert codes == [grids.qr_code(cp, "k")]


def test_stickers_are_nine_to_an_a4_sheet_each_qr_reading_as_its_link(g1):
    grid, checkpoints = g1
    items = [(cp, grid) for cp in checkpoints] * 4  # more than one sheet
    found = pages(posters.stickers_pdf(items, "k", link=lambda code: f"https://pa.example.cn/c/{code}"))
    assert len(found) == -(-len(items) // 9) and all(size == pytest.approx(A4_POINTS, abs=1) for _t, _c, size in found)
    read = [code for _t, codes, _s in found for code in codes]
    assert sorted(read) == sorted(f"https://pa.example.cn/c/{grids.qr_code(cp, 'k')}" for cp, _g in items)
    first_text = found[0][0]
    assert all(cp.name in first_text for cp in checkpoints) and posters.INSTRUCTION in first_text


def test_a_sticker_alone_still_reads_at_phone_camera_resolution(g1):
    """One sticker rendered at 72 dpi (a 52 mm QR is ~150 px, as a cheap phone sees it from a hand's width)."""
    grid, (cp, *_rest) = g1
    doc = pdfium.PdfDocument(posters.stickers_pdf([(cp, grid)], "k", link=lambda code: f"https://pa.example.cn/c/{code}"))
    try:
        image = doc[0].render(scale=1).to_pil().crop((0, 0, 200, 281))  # the first 70 × 99 mm label
    finally:
        doc.close()
    assert [b.text for b in zxingcpp.read_barcodes(image)] == [f"https://pa.example.cn/c/{grids.qr_code(cp, 'k')}"]
