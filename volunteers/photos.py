"""Photos: checked by content, EXIF orientation applied then every EXIF tag dropped, re-encoded,
stored in the data directory under random names, never under static/.

Storage is a directory on disk; a shared volume or S3-compatible store would replace `PhotoStore`.
"""
from __future__ import annotations

import hashlib
import io
import math
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pillow_heif
import sqlalchemy as sa
from PIL import Image, ImageOps
from sqlmodel import Session, select

from volunteers.errors import Invalid, N_
from volunteers.models import Photo, PhotoUpload, utcnow

# MPO: a JPEG with extra frames (Ultra HDR gain maps, depth maps) as many phones now write; frame 0 is the photo.
# HEIF: HEIC photos from iPhones and newer Android cameras. The phone's browser often cannot draw them to shrink them,
# so they arrive as taken; libheif (inside the pillow-heif wheel) applies their rotation and reads them.
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "HEIF"}
pillow_heif.register_heif_opener()
MAX_BYTES = 15 * 1024 * 1024       # one upload
# 25 MP: a phone camera's full photo (iPhone 24 MP, 5712 × 4284; most Android 12–16 MP binned). More is a scan, a
# 48/200 MP "pro" mode nobody needs for a hazard, or a bomb: each extra megapixel costs every volunteer's server time.
MAX_PIXELS = 25_000_000
MAX_SIDE = 12_000
LONG_EDGE = 1600
THUMB_EDGE = 320
MAX_PER_REPORT = 6


@dataclass(frozen=True)
class Allowance:
    """How much one person may send in a rolling window, every photo counted whether it is kept or refused.

    The defaults are several times what the busiest honest volunteer sends in an hour (five reports of six photos,
    each a HEIC of a few MB the phone could not shrink), and cap what one account can cost the server: the worst
    photo that passes takes ~3 s to process (bench/README.md), so 100 an hour is at most ~5 minutes of one core."""
    photos: int = 100
    mb: int = 300
    window_minutes: int = 60


def admit(session: Session, *, user_id: int, uploads: list[bytes], allowance: Allowance,
          now: datetime | None = None) -> None:
    """Count these photos against the person's allowance, or refuse them all with 429 if they would go past it.
    The one check every upload path calls before it decodes a photo. Commits (the count must stay even if the
    photos are then refused as damaged), so call it before the request adds anything else to the session."""
    if not uploads:
        return
    now = now or utcnow()
    since = now - timedelta(minutes=allowance.window_minutes)
    sent = session.exec(select(PhotoUpload.at, PhotoUpload.size_bytes)
                        .where(PhotoUpload.user_id == user_id, PhotoUpload.at > since).order_by(PhotoUpload.at)).all()
    count, size = len(sent) + len(uploads), sum(b for _at, b in sent) + sum(len(u) for u in uploads)
    limit_bytes = allowance.mb * 1024 * 1024
    if count > allowance.photos or size > limit_bytes:
        # When enough of the earlier photos have left the window for these to fit.
        free_at = now + timedelta(minutes=allowance.window_minutes)
        for at, size_bytes in sent:
            count, size = count - 1, size - size_bytes
            if count <= allowance.photos and size <= limit_bytes:
                free_at = at + timedelta(minutes=allowance.window_minutes)
                break
        minutes = max(1, math.ceil((free_at - now).total_seconds() / 60))
        raise Invalid("photo_limit", N_("You have sent many photos in a short time (at most %(photos)d photos or "
                                        "%(mb)d MB an hour). Please try again in %(minutes)d minutes."),
                      status=429, photos=allowance.photos, mb=allowance.mb, minutes=minutes)
    session.exec(sa.delete(PhotoUpload).where(PhotoUpload.user_id == user_id, PhotoUpload.at <= since))
    session.add_all([PhotoUpload(user_id=user_id, size_bytes=len(u), at=now) for u in uploads])
    session.commit()


@dataclass(frozen=True)
class Processed:
    """A photo ready to store: the re-encoded image, its thumbnail, and facts about the upload."""
    full: bytes
    thumb: bytes
    width: int
    height: int
    sha256: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, optimize=True, progressive=True)  # no exif= argument: nothing carried over
    return out.getvalue()


def process(data: bytes) -> Processed:
    """Validate one upload by its bytes and return it re-encoded as an EXIF-free JPEG plus a thumbnail."""
    if len(data) > MAX_BYTES:
        raise Invalid("too_large", N_("A photo may be at most %(mb)d MB."), status=413, mb=MAX_BYTES // (1024 * 1024))
    if not data:
        raise Invalid("not_an_image", N_("This file is not a photo (JPEG, PNG, WebP or HEIC)."))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            width, height = image.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Invalid("image_too_big", N_("This photo has too many pixels.")) from None
        except Exception:
            raise Invalid("not_an_image", N_("This file is not a photo (JPEG, PNG, WebP or HEIC).")) from None
        if fmt not in ACCEPTED_FORMATS:
            raise Invalid("not_an_image", N_("This file is not a photo (JPEG, PNG, WebP or HEIC)."))
        if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE or min(width, height) < 1:
            raise Invalid("image_too_big", N_("This photo has too many pixels."))
        try:
            if fmt == "JPEG":
                # Decode straight at the smallest DCT scale still ≥ the stored size: a quarter or less of the memory.
                ratio = LONG_EDGE / max(width, height)
                if ratio < 1:
                    image.draft("RGB", (max(1, round(width * ratio)), max(1, round(height * ratio))))
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no full-size copy when there is nothing to turn
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Invalid("image_too_big", N_("This photo has too many pixels.")) from None
        except Exception:
            raise Invalid("not_an_image", N_("This photo is damaged and cannot be read.")) from None
    # Transparency is an alpha channel or, in palette/RGB/grey PNGs, a tRNS entry in image.info: flatten onto white —
    # after shrinking, so the copies this needs are of the stored size, not of the upload's.
    if image.mode not in ("RGB", "L") or "transparency" in image.info:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        rgba.thumbnail((LONG_EDGE, LONG_EDGE), Image.Resampling.LANCZOS)
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image = image.convert("RGB")
    # Only now drop what the upload carried: Pillow would copy a JPEG comment (COM) into the re-encoded file,
    # and it may name a person. (Cleared earlier, the tRNS transparency above would be lost and turn black.)
    image.info.clear()
    image.thumbnail((LONG_EDGE, LONG_EDGE), Image.Resampling.LANCZOS)
    full = _encode(image)
    thumb_image = image.copy()
    thumb_image.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    return Processed(full=full, thumb=_encode(thumb_image), width=image.width, height=image.height, sha256=sha256(data))


class PhotoStore:
    """Photos as files under <data dir>/photos/<2 hex>/<random>.jpg (and …_t.jpg for the thumbnail)."""

    def __init__(self, root: str | Path):
        self.root = Path(root) / "photos"

    def _path(self, name: str, thumb: bool = False) -> Path:
        if not name.isalnum():
            raise ValueError("bad photo name")
        return self.root / name[:2] / (f"{name}_t.jpg" if thumb else f"{name}.jpg")

    def save(self, photo: Processed) -> str:
        """Write a processed photo; return its random stored name."""
        name = secrets.token_hex(16)
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_bytes(photo.full)
            self._path(name, thumb=True).write_bytes(photo.thumb)
        except BaseException:
            self.delete(name)  # the caller never learns the name, so it could not clean up a half-written pair
            raise
        return name

    def delete(self, name: str) -> None:
        """Remove a stored photo and its thumbnail (used to undo a failed save)."""
        for thumb in (False, True):
            self._path(name, thumb).unlink(missing_ok=True)

    def path(self, name: str, thumb: bool = False) -> Path:
        """Where a stored photo lives on disk."""
        return self._path(name, thumb)


def keep(store: "PhotoStore", photo: Processed, *, created_at, **owner) -> Photo:
    """Save a checked photo in the store and return its row for the caller's transaction (hazard_id, event_id or
    assignment_id say whose it is). If that transaction fails, the caller deletes `row.stored_name` again."""
    return Photo(stored_name=store.save(photo), width=photo.width, height=photo.height, size_bytes=len(photo.full),
                 sha256=photo.sha256, created_at=created_at, **owner)
