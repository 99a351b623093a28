"""Draws the app icons into static/icons once; the PNGs are committed. Needs Debian's fonts-noto-cjk."""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
RED, WHITE = (183, 28, 28), (255, 255, 255)
HERE = Path(__file__).resolve().parent.parent / "static" / "icons"


def icon(size: int, maskable: bool) -> Image.Image:
    """A red badge with 平安 in white; the maskable one keeps the text inside the 80 % safe zone."""
    image = Image.new("RGB", (size, size), RED)
    draw = ImageDraw.Draw(image)
    if not maskable:
        image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.rounded_rectangle([0, 0, size - 1, size - 1], radius=size // 5, fill=RED)
    font = ImageFont.truetype(FONT, int(size * (0.30 if maskable else 0.36)), index=0)
    draw.text((size / 2, size / 2), "平安", font=font, fill=WHITE, anchor="mm")
    return image


for size, maskable, name in ((192, False, "icon-192.png"), (512, False, "icon-512.png"),
                             (512, True, "maskable-512.png"), (180, True, "apple-touch-icon.png")):
    icon(size, maskable).save(HERE / name, optimize=True)
