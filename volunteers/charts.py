"""Small bar charts as server-rendered SVG: every bar carries its number as text, series differ by pattern as well
as colour (readable in black-and-white print), and no script or style attribute is needed (strict CSP)."""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

BAR = "#1565c0"
BAR2 = "#e65100"
INK = "#212121"


def _text(x: float, y: float, content: str, size: int = 12, anchor: str = "middle", fill: str = INK) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
            f"{escape(str(content))}</text>")


def _frame(title: str, width: int, height: int, body: list[str], chart_id: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id={quoteattr(chart_id)} role="img" '
            f'viewBox="0 0 {width} {height}" width="100%" aria-label={quoteattr(title)}>'
            f"<title>{escape(title)}</title>"
            '<defs><pattern id="hatch-' + escape(chart_id) + '" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
            f'<line x1="0" y1="0" x2="0" y2="6" stroke="{BAR2}" stroke-width="3"/></pattern></defs>'
            + "".join(body) + "</svg>")


def bars(title: str, items: list[tuple[str, float]], *, chart_id: str, unit: str = "", width: int = 480,
         height: int = 220) -> str:
    """One series: a bar per (label, value), the value written above each bar and the label below it."""
    top, bottom, left = 28, 36, 8
    plot_h = height - top - bottom
    n = max(len(items), 1)
    slot = (width - 2 * left) / n
    peak = max([v for _l, v in items] + [0]) or 1
    body = [_text(width / 2, 16, title, 14)]
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" stroke="{INK}"/>')
    for i, (label, value) in enumerate(items):
        h = plot_h * value / peak
        x = left + i * slot + slot * 0.15
        body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{BAR}"/>')
        body.append(_text(x + slot * 0.35, top + plot_h - h - 4, f"{_num(value)}{unit}"))
        body.append(_text(x + slot * 0.35, top + plot_h + 16, label, 11))
    if not items:
        body.append(_text(width / 2, top + plot_h / 2, "—"))
    return _frame(title, width, height, body, chart_id)


def paired_bars(title: str, items: list[tuple[str, float, float]], names: tuple[str, str], *, chart_id: str,
                width: int = 480, height: int = 240) -> str:
    """Two series side by side per label: the first solid, the second hatched, each with its number and a legend."""
    top, bottom, left = 46, 36, 8
    plot_h = height - top - bottom
    n = max(len(items), 1)
    slot = (width - 2 * left) / n
    peak = max([max(a, b) for _l, a, b in items] + [0]) or 1
    hatch = f"url(#hatch-{escape(chart_id)})"
    body = [_text(width / 2, 16, title, 14),
            f'<rect x="{width / 2 - 110}" y="24" width="14" height="12" fill="{BAR}"/>',
            _text(width / 2 - 92, 35, names[0], 12, "start"),
            f'<rect x="{width / 2 + 10}" y="24" width="14" height="12" fill="{hatch}" stroke="{BAR2}"/>',
            _text(width / 2 + 28, 35, names[1], 12, "start"),
            f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" stroke="{INK}"/>']
    for i, (label, a, b) in enumerate(items):
        x = left + i * slot + slot * 0.1
        w = slot * 0.4
        for j, (value, fill) in enumerate(((a, BAR), (b, hatch))):
            h = plot_h * value / peak
            bx = x + j * w
            stroke = f' stroke="{BAR2}"' if j else ""
            body.append(f'<rect x="{bx:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{stroke}/>')
            body.append(_text(bx + w / 2, top + plot_h - h - 4, _num(value), 11))
        body.append(_text(x + w, top + plot_h + 16, label, 11))
    return _frame(title, width, height, body, chart_id)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
