"""Make the sample photos in this folder (run once; the files are committed): python tests/files/make_samples.py

gps.jpg         a camera JPEG with GPS EXIF (a point in the demo grid G1), Make/Model and a JPEG comment
rotated.jpg     landscape pixels with EXIF Orientation=6 (shows portrait); a red block in the stored top-left corner
plain.png       RGBA: transparent all round, an opaque blue square in the middle
multi.jpg       a two-frame MPO JPEG, as phones write for Ultra HDR / depth photos (Pillow opens it as "MPO")
not-an-image.jpg  text with a photo's name
huge.png        a valid 20000×20000 1-bit PNG that compresses to a few dozen KB (a decompression bomb)
iphone.heic     an iPhone-style HEIC: landscape pixels turned by Orientation=6 (pillow-heif writes it as the HEIF
                rotation), a red block in the stored top-left corner, GPS and camera EXIF
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw

HERE = Path(__file__).parent
GPS_LAT, GPS_LON = 30.2535, 120.0950  # inside G1 of the demo town
CAMERA_MAKE, CAMERA_MODEL = "SampleCam", "SC-1600 Pro"
COMMENT = b"Owner: Zhang San 13912345678"


def dms(value: float) -> tuple[float, float, float]:
    """Degrees, minutes, seconds as EXIF rationals want them."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return degrees, minutes, round((value - degrees - minutes / 60) * 3600, 2)


def scene(size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, (90, 140, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle([size[0] // 3, size[1] // 3, size[0] // 2, size[1] // 2], fill=(200, 200, 60))
    return image


def gps_jpeg() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA_MAKE
    exif[ExifTags.Base.Model] = CAMERA_MODEL
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = dms(GPS_LAT)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = dms(GPS_LON)
    scene((640, 480)).save(HERE / "gps.jpg", "JPEG", quality=80, exif=exif, comment=COMMENT)


def rotated_jpeg() -> None:
    image = scene((400, 200))
    ImageDraw.Draw(image).rectangle([0, 0, 79, 59], fill=(255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored pixels must be turned 90° clockwise to be seen upright
    image.save(HERE / "rotated.jpg", "JPEG", quality=85, exif=exif)


def plain_png() -> None:
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle([100, 50, 199, 149], fill=(0, 0, 255, 255))
    image.save(HERE / "plain.png", "PNG")


def iphone_heic() -> None:
    import pillow_heif  # only this sample needs it
    pillow_heif.register_heif_opener()
    image = scene((400, 200))
    ImageDraw.Draw(image).rectangle([0, 0, 79, 59], fill=(255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = CAMERA_MAKE, CAMERA_MODEL
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", dms(GPS_LAT)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", dms(GPS_LON)
    image.save(HERE / "iphone.heic", "HEIF", quality=85, exif=exif.tobytes())


def multi_jpeg() -> None:
    scene((320, 240)).save(HERE / "multi.jpg", "MPO", save_all=True, append_images=[Image.new("RGB", (160, 120), "gray")])


def huge_png(side: int = 20_000) -> None:
    """Written chunk by chunk: Pillow would need 400 MB of memory to build it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + side // 8)  # filter byte + one bit per pixel
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    (HERE / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
                                    + chunk(b"IEND", b""))


if __name__ == "__main__":
    gps_jpeg()
    rotated_jpeg()
    plain_png()
    multi_jpeg()
    huge_png()
    iphone_heic()
    (HERE / "not-an-image.jpg").write_text("This is a shopping list, not a photo.\n鸡蛋 两斤\n")
