"""Photos: checked by their bytes, turned upright, stripped of every tag, shrunk, stored privately under random names."""
from __future__ import annotations

import io
import re
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from volunteers import photos
from volunteers.errors import Invalid

FILES = Path(__file__).parent / "files"


def sample(name: str) -> bytes:
    return (FILES / name).read_bytes()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def is_red(pixel) -> bool:
    r, g, b = pixel
    return r > 200 and g < 60 and b < 60


# --- what comes out ------------------------------------------------------------------------------

def test_the_sample_with_gps_really_carries_gps_make_and_a_comment():
    """Guards the fixture itself: a test of stripping is worthless if there was nothing to strip."""
    original = Image.open(FILES / "gps.jpg")
    exif = original.getexif()
    assert exif.get(271) == "SampleCam" and exif.get_ifd(0x8825).get(2)
    assert b"Zhang San" in original.info["comment"]


@pytest.mark.parametrize("name", ["gps.jpg", "rotated.jpg", "plain.png", "multi.jpg", "iphone.heic"])
def test_a_stored_photo_has_no_exif_and_no_other_metadata(name):
    processed = photos.process(sample(name))
    for data in (processed.full, processed.thumb):
        image = opened(data)
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {} and image.getexif().get_ifd(0x8825) == {}
        assert not {"exif", "comment", "xmp", "icc_profile"} & set(image.info)
        assert b"Exif" not in data and b"SampleCam" not in data and b"Zhang San" not in data


def test_the_gps_photo_keeps_its_pixels_and_size():
    processed = photos.process(sample("gps.jpg"))
    assert (processed.width, processed.height) == (640, 480) == opened(processed.full).size


def test_exif_orientation_is_applied_before_the_tags_are_dropped():
    """rotated.jpg is stored 400×200 with a red block top-left and Orientation=6 (turn 90° clockwise to view)."""
    stored = opened(sample("rotated.jpg"))
    assert stored.size == (400, 200) and is_red(stored.getpixel((5, 5)))
    image = opened(photos.process(sample("rotated.jpg")).full).convert("RGB")
    assert image.size == (200, 400)
    # Turned clockwise, the stored top-left corner becomes the top-right corner.
    assert is_red(image.getpixel((image.width - 10, 10)))
    for corner in [(10, 10), (10, image.height - 10), (image.width - 10, image.height - 10)]:
        assert not is_red(image.getpixel(corner)), corner


@pytest.mark.parametrize("size, expected", [
    ((4000, 3000), (1600, 1200)),
    ((1200, 5000), (384, 1600)),
    ((1600, 900), (1600, 900)),
    ((800, 600), (800, 600)),     # small photos are never enlarged
])
def test_the_long_edge_is_at_most_1600_and_the_thumbnail_at_most_320(size, expected):
    processed = photos.process(encoded(Image.new("RGB", size, (30, 90, 150)), "JPEG"))
    full, thumb = opened(processed.full), opened(processed.thumb)
    assert full.size == expected == (processed.width, processed.height)
    assert max(thumb.size) <= 320 and max(thumb.size) == min(320, max(expected))
    assert abs(thumb.width / thumb.height - full.width / full.height) < 0.02


def test_a_png_with_alpha_becomes_a_jpeg_on_white():
    image = opened(photos.process(sample("plain.png")).full).convert("RGB")
    assert image.size == (300, 200)
    assert all(channel > 245 for channel in image.getpixel((10, 10)))  # was transparent
    r, g, b = image.getpixel((150, 100))
    assert b > 200 and r < 40 and g < 40


@pytest.mark.parametrize("image, options", [
    (Image.new("P", (60, 40), 0), {"transparency": 0}),
    (Image.new("RGB", (60, 40), (1, 2, 3)), {"transparency": (1, 2, 3)}),
    (Image.new("L", (60, 40), 7), {"transparency": 7}),
], ids=["palette", "rgb-key", "grey-key"])
def test_a_png_transparent_through_its_trns_chunk_also_becomes_white(image, options):
    """No alpha channel here: the transparency is a tRNS entry, which Pillow keeps in image.info."""
    data = encoded(image, "PNG", **options)
    assert "transparency" in Image.open(io.BytesIO(data)).info
    pixel = opened(photos.process(data).full).convert("RGB").getpixel((30, 20))
    assert all(channel > 245 for channel in pixel), pixel


def test_a_heic_photo_is_accepted_upright_as_a_jpeg():
    """iphone.heic holds GPS and camera tags and a rotation; the phone's browser could not shrink it, so it comes whole."""
    original = Image.open(FILES / "iphone.heic")
    assert original.format == "HEIF" and original.getexif().get_ifd(0x8825).get(2)
    assert sample("iphone.heic")[4:12] == b"ftypheic"
    image = opened(photos.process(sample("iphone.heic")).full).convert("RGB")
    assert image.size == (200, 400)
    assert is_red(image.getpixel((image.width - 10, 10)))  # the stored top-left corner, turned clockwise
    assert not is_red(image.getpixel((10, 10)))


def test_a_phone_jpeg_with_extra_frames_is_accepted_as_its_first_frame():
    """Ultra HDR and depth photos are JPEGs with an MPF index; Pillow calls them MPO."""
    assert Image.open(FILES / "multi.jpg").format == "MPO"
    processed = photos.process(sample("multi.jpg"))
    assert opened(processed.full).size == (320, 240)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG", "HEIF"])
def test_accepted_formats_are_recognised_by_content_not_by_name(fmt):
    processed = photos.process(encoded(Image.new("RGB", (120, 80), "green"), fmt))
    assert opened(processed.full).format == "JPEG"


def test_the_fingerprint_is_of_the_upload_so_a_retry_is_recognised():
    data = sample("gps.jpg")
    assert photos.process(data).sha256 == photos.sha256(data) != photos.sha256(sample("rotated.jpg"))


# --- what is refused ------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    sample("not-an-image.jpg"),
    b"",
    encoded(Image.new("RGB", (60, 40)), "GIF"),
    encoded(Image.new("RGB", (60, 40)), "BMP"),
    encoded(Image.new("RGB", (60, 40)), "TIFF"),
    b"%PDF-1.7\n" + b"0" * 200,
    sample("gps.jpg")[:600],                     # a JPEG cut off in its header
    sample("iphone.heic")[:400],                 # a HEIC cut off
], ids=["text", "empty", "gif", "bmp", "tiff", "pdf", "truncated", "truncated-heic"])
def test_anything_but_a_readable_jpeg_png_or_webp_is_not_an_image(data):
    with pytest.raises(Invalid) as err:
        photos.process(data)
    assert err.value.code == "not_an_image" and err.value.status == 422


def test_a_photo_over_15_mb_is_refused_with_413_before_it_is_decoded():
    too_big = sample("gps.jpg") + b"\0" * (photos.MAX_BYTES + 1 - len(sample("gps.jpg")))
    with pytest.raises(Invalid) as err:
        photos.process(too_big)
    assert err.value.code == "too_large" and err.value.status == 413
    assert "15" in str(err.value)


def test_a_photo_of_exactly_15_mb_is_not_refused_for_its_size():
    padded = sample("gps.jpg") + b"\0" * (photos.MAX_BYTES - len(sample("gps.jpg")))
    assert len(padded) == photos.MAX_BYTES
    assert photos.process(padded).width == 640


def test_a_decompression_bomb_is_refused_without_being_decoded():
    data = sample("huge.png")
    assert len(data) < 200_000 and struct.unpack(">II", data[16:24]) == (20_000, 20_000)  # IHDR width, height
    with pytest.raises(Invalid) as err:
        photos.process(sample("huge.png"))
    assert err.value.code == "image_too_big" and err.value.status == 422


@pytest.mark.parametrize("size", [(photos.MAX_SIDE + 1, 8), (8, photos.MAX_SIDE + 1), (7100, 7100)],
                         ids=["too-wide", "too-tall", "too-many-pixels"])
def test_absurd_dimensions_are_refused(size):
    data = encoded(Image.new("1", size), "PNG")
    with pytest.raises(Invalid) as err:
        photos.process(data)
    assert err.value.code == "image_too_big"


# --- where it is kept -----------------------------------------------------------------------------

def test_photos_are_stored_under_the_data_directory_with_random_names(tmp_path):
    store = photos.PhotoStore(tmp_path)
    processed = photos.process(sample("gps.jpg"))
    first, second = store.save(processed), store.save(processed)
    assert first != second
    for name in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", name)
        for thumb in (False, True):
            path = store.path(name, thumb)
            assert path.is_file() and path.resolve().is_relative_to((tmp_path / "photos").resolve())
    assert store.path(first).read_bytes() == processed.full and store.path(first, True).read_bytes() == processed.thumb
    store.delete(first)
    assert not store.path(first).exists() and not store.path(first, True).exists() and store.path(second).exists()


def test_the_app_keeps_photos_in_its_data_directory_never_under_static(app):
    store = photos.PhotoStore(app.config["DATA_DIR"])
    path = store.path(store.save(photos.process(sample("gps.jpg")))).resolve()
    assert path.is_relative_to(Path(app.config["DATA_DIR"]).resolve() / "photos")
    assert not path.is_relative_to(Path(app.static_folder).resolve())


@pytest.mark.parametrize("name", ["../secret", "a/b", "", "abc.jpg"])
def test_a_stored_name_cannot_walk_out_of_the_store(tmp_path, name):
    with pytest.raises(ValueError):
        photos.PhotoStore(tmp_path).path(name)


def test_a_failed_thumbnail_write_leaves_no_orphan_photo(tmp_path, monkeypatch):
    store = photos.PhotoStore(tmp_path)
    real_write = Path.write_bytes

    def disk_full_for_thumbnails(self, data):
        if self.name.endswith("_t.jpg"):
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", disk_full_for_thumbnails)
    with pytest.raises(OSError):
        store.save(photos.process(sample("gps.jpg")))
    assert [p for p in (tmp_path / "photos").rglob("*") if p.is_file()] == []


def test_a_7000_square_rgba_png_is_refused_before_it_is_decoded():
    """49 MP of one colour is 200 KB on the wire and 450 MB to decode: refused from its header alone."""
    data = encoded(Image.new("RGBA", (7000, 7000), (200, 30, 30, 128)), "PNG")
    assert len(data) < 300_000
    with pytest.raises(Invalid) as err:
        photos.process(data)
    assert err.value.code == "image_too_big"


def test_a_24_megapixel_phone_photo_is_still_taken_and_shrunk():
    """The iPhone's 5712 × 4284 is the largest photo a phone makes by default: it must pass."""
    assert 5712 * 4284 <= photos.MAX_PIXELS
    processed = photos.process(encoded(Image.new("RGB", (5712, 4284), (10, 120, 40)), "JPEG"))
    assert (processed.width, processed.height) == (photos.LONG_EDGE, 1200)


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(monkeypatch):
    """Image.draft makes libjpeg decode at 1/2, 1/4 … of the size: the full-size bitmap is never built."""
    loaded = []
    real_load = ImageFile.ImageFile.load

    def spy(self):
        result = real_load(self)
        loaded.append(self.size)
        return result

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    processed = photos.process(encoded(Image.new("RGB", (5600, 4200), (90, 90, 200)), "JPEG"))
    assert loaded and max(loaded[0]) <= 2800, loaded  # 1/2 scale or smaller, still ≥ the stored 1600 px
    assert (processed.width, processed.height) == (1600, 1200)


def test_a_transparent_png_is_flattened_onto_white_after_shrinking():
    image = Image.new("RGBA", (4000, 3000), (0, 0, 0, 0))
    processed = photos.process(encoded(image, "PNG"))
    assert (processed.width, processed.height) == (1600, 1200)
    assert Image.open(io.BytesIO(processed.full)).getpixel((10, 10)) >= (250, 250, 250)
