"""A4 QR posters for must-visit checkpoints: a big title, the point's name and grid, a large QR code holding exactly
the signed code the check-in accepts, that code in letters to type when the camera fails, and one plain line
of instruction. Chinese text is embedded as a subset of Debian's Noto Sans CJK (Simplified Chinese face).

Stickers: the same QR, name and code on a 70 × 99 mm label, nine to an A4 sheet (the common 3 × 3 label stock), for a
lamp post, a shop's door frame or beside a school gate where an A4 poster does not fit or would not last."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import segno
from fpdf import FPDF

from volunteers import grids
from volunteers.certificates import DEFAULT_FONT as FONT_PATH, FontMissing
from volunteers.errors import N_
from volunteers.models import Checkpoint, Grid

FONT_SC = 2  # the Simplified Chinese face in the collection
PAGE_W, PAGE_H = 210, 297  # A4 in mm
QR_SIZE = 140  # mm: readable from an arm's length by an old phone

TITLE = N_("Must-visit point")
GRID_LINE = N_("Grid %(code)s · %(name)s")
INSTRUCTION = N_("Scan the QR code or type the code to check in")
CODE_LINE = N_("Code: %(code)s")


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector squares (crisp at any printer resolution), one rectangle per run of dark modules."""
    qr = segno.make(text, error="m", micro=False)
    rows = list(qr.matrix_iter(scale=1, border=4))
    module = size / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
            else:
                c += 1


def _centred(pdf: FPDF, text: str, size: float, y: float, height: float, *, x: float = 15, width: float = PAGE_W - 30,
             smallest: float = 12) -> None:
    pdf.set_font("noto", size=size)
    while size > smallest and pdf.get_string_width(text) > width:  # a long name shrinks rather than wraps
        size -= 1 if smallest < 12 else 2
        pdf.set_font("noto", size=size)
    pdf.set_xy(x, y)
    pdf.cell(w=width, h=height, text=text, align="C")


def _document(gettext: Callable[..., str], font_path: str) -> FPDF:
    if not Path(font_path).is_file():
        raise FontMissing(font_path)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creator("平安志愿者")
    pdf.set_title(gettext(TITLE))
    pdf.add_font("noto", fname=font_path, collection_font_number=FONT_SC)
    pdf.set_text_color(0, 0, 0)
    return pdf


def posters_pdf(items: list[tuple[Checkpoint, Grid]], key: str,
                gettext: Callable[..., str] = lambda message, **params: message % params if params else message,
                font_path: str = FONT_PATH, link: Callable[[str], str] = lambda code: code) -> bytes:
    """One A4 page per checkpoint; `key` is the app's signing key, `gettext` translates the poster's wording,
    `font_path` is the configured CJK font (CJK_FONT): missing, it is a 503 FontMissing, as for certificates.
    `link` turns the code into what the QR holds: the app's https://…/c/<code>, so any phone's scanner opens it."""
    pdf = _document(gettext, font_path)
    for checkpoint, grid in items:
        code = grids.qr_code(checkpoint, key)
        pdf.add_page()
        _centred(pdf, gettext(TITLE), 64, 16, 28)
        _centred(pdf, checkpoint.name, 40, 48, 20)
        _centred(pdf, gettext(GRID_LINE, code=grid.code, name=grid.name), 20, 70, 10)
        _qr(pdf, link(code), (PAGE_W - QR_SIZE) / 2, 86, QR_SIZE)
        _centred(pdf, gettext(CODE_LINE, code=code), 26, 232, 14)
        _centred(pdf, gettext(INSTRUCTION), 22, 252, 12)
    return bytes(pdf.output())


STICKER_W, STICKER_H = 70, 99  # mm: A4 in three columns and three rows, no margins (standard label stock)
STICKER_QR = 52  # mm: still read at a hand's width by a cheap phone
STICKER_COLUMNS, STICKER_ROWS = 3, 3


def stickers_pdf(items: list[tuple[Checkpoint, Grid]], key: str,
                 gettext: Callable[..., str] = lambda message, **params: message % params if params else message,
                 font_path: str = FONT_PATH, link: Callable[[str], str] = lambda code: code) -> bytes:
    """Nine 70 × 99 mm stickers per A4 sheet, one per checkpoint in order: the point's name, its grid, the QR (what
    `link` makes of the code, as on the poster), the code in letters and the instruction. Thin grey cut lines."""
    pdf = _document(gettext, font_path)
    per_page = STICKER_COLUMNS * STICKER_ROWS
    for n, (checkpoint, grid) in enumerate(items):
        if n % per_page == 0:
            pdf.add_page()
        col, row = n % STICKER_COLUMNS, (n % per_page) // STICKER_COLUMNS
        x, y = col * STICKER_W, row * STICKER_H
        pdf.set_draw_color(190, 190, 190)
        pdf.set_line_width(0.2)
        pdf.rect(x, y, STICKER_W, STICKER_H)
        code = grids.qr_code(checkpoint, key)
        inner = dict(x=x + 4, width=STICKER_W - 8, smallest=7)
        _centred(pdf, checkpoint.name, 16, y + 4, 8, **inner)
        _centred(pdf, gettext(GRID_LINE, code=grid.code, name=grid.name), 9, y + 12, 5, **inner)
        _qr(pdf, link(code), x + (STICKER_W - STICKER_QR) / 2, y + 18, STICKER_QR)
        _centred(pdf, gettext(CODE_LINE, code=code), 10, y + 72, 6, **inner)
        _centred(pdf, gettext(INSTRUCTION), 9, y + 80, 5, **inner)
    return bytes(pdf.output())
