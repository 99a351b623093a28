"""Voice notes (按住说话): checked by their bytes, at most a minute, re-muxed without tags, stored like photos in the
data directory under random names, never under static/.

The check uses PyAV (FFmpeg's own demuxers, inside the `av` wheel): mutagen reads Ogg and MP4 but not WebM, which is
the only container Chrome on Android records. The container is told from the first bytes and only that one demuxer
is opened (FFmpeg never guesses, so its playlist and concat readers are never reached); nothing is decoded: the
packets are counted and copied into a fresh file of the same kind, which carries no title, artist, comment or
location the recording app may have written, and gains the duration Chrome's live WebM lacks.
"""
from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from volunteers.errors import Invalid, N_
from volunteers.models import VoiceNote

MAX_SECONDS = 60
# The phone stops at 60 s; its clock and the container's timestamps may disagree by a few packets.
GRACE_SECONDS = 1.5
# 60 s at 256 kbit/s (a browser that ignores the asked 16 kbit/s) is 1.9 MB; the phone's own note is ~120 KB a minute.
MAX_BYTES = 2 * 1024 * 1024
MIN_SECONDS = 0.2


@dataclass(frozen=True)
class Kind:
    """One accepted container: FFmpeg's demuxer and muxer, the codecs it may carry, and how it is served."""
    demuxer: str
    muxer: str
    codecs: frozenset[str]
    mime: str
    ext: str


# Opus in WebM (Chrome, Edge, Firefox) or Ogg (Firefox), AAC in MP4 (Safari on iPhone and Mac). WAV is refused: no
# phone browser records it, and its plain PCM is 16 to 90 times the size of the same minute in Opus.
KINDS = {
    "webm": Kind("matroska", "webm", frozenset({"opus"}), "audio/webm", "webm"),
    "ogg": Kind("ogg", "ogg", frozenset({"opus"}), "audio/ogg", "ogg"),
    "mp4": Kind("mp4", "mp4", frozenset({"aac"}), "audio/mp4", "m4a"),
}
MIMES = {kind.ext: kind.mime for kind in KINDS.values()}

BAD_AUDIO = N_("This is not a voice note this app can take (a recording made on this page: Opus in WebM or Ogg, "
               "or AAC in MP4).")


def sniff(data: bytes) -> str | None:
    """Which accepted container the bytes begin like, if any."""
    if data[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska/WebM
        return "webm"
    if data[:4] == b"OggS":
        return "ogg"
    if data[4:8] == b"ftyp":
        return "mp4"
    return None


@dataclass(frozen=True)
class Checked:
    """A voice note ready to store: the re-muxed bytes without tags, and facts about the upload."""
    audio: bytes
    kind: str
    codec: str
    seconds: float
    sha256: str

    @property
    def mime(self) -> str:
        return KINDS[self.kind].mime


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check(data: bytes) -> Checked:
    """Validate one voice note by its bytes: container, a single Opus/AAC audio stream, ≤ 60 s; return it re-muxed."""
    if len(data) > MAX_BYTES:
        raise Invalid("audio_too_large", N_("A voice note may be at most %(mb)d MB."), status=413,
                      mb=MAX_BYTES // (1024 * 1024))
    kind = sniff(data)
    if kind is None:
        raise Invalid("bad_audio", BAD_AUDIO)
    spec = KINDS[kind]
    try:
        with av.open(io.BytesIO(data), format=spec.demuxer, options={"enable_drefs": "0"}) as source:
            streams = list(source.streams)
            if len(streams) != 1 or streams[0].type != "audio" or streams[0].codec_context.name not in spec.codecs:
                raise Invalid("bad_audio", BAD_AUDIO)
            stream = streams[0]
            codec = stream.codec_context.name
            out = io.BytesIO()
            first = last = None
            packets = 0
            with av.open(out, "w", format=spec.muxer) as target:
                copy = target.add_stream_from_template(stream)
                copy.metadata.clear()
                for packet in source.demux(stream):
                    if packet.pts is None or packet.size == 0:
                        continue  # the demuxer's end-of-stream marker
                    end = packet.pts + (packet.duration or 0)
                    first = packet.pts if first is None else min(first, packet.pts)
                    last = end if last is None else max(last, end)
                    if (last - first) * stream.time_base > MAX_SECONDS + GRACE_SECONDS:
                        raise Invalid("audio_too_long", N_("A voice note may be at most %(seconds)d seconds long."),
                                      seconds=MAX_SECONDS)
                    packet.stream = copy
                    target.mux(packet)
                    packets += 1
    except Invalid:
        raise
    except Exception:  # FFmpeg's own errors (av.FFmpegError and friends): damaged or not what it says it is
        raise Invalid("bad_audio", BAD_AUDIO) from None
    seconds = float(Fraction(last - first) * stream.time_base) if packets else 0.0
    if seconds < MIN_SECONDS:
        raise Invalid("bad_audio", BAD_AUDIO)
    return Checked(audio=out.getvalue(), kind=kind, codec=codec, seconds=round(seconds, 2), sha256=sha256(data))


class VoiceStore:
    """Voice notes as files under <data dir>/voice/<2 hex>/<random>.<webm|ogg|m4a>."""

    def __init__(self, root: str | Path):
        self.root = Path(root) / "voice"

    def path(self, name: str) -> Path:
        """Where a stored voice note lives on disk (the name carries its extension)."""
        stem, _dot, ext = name.partition(".")
        if not stem.isalnum() or ext not in MIMES:
            raise ValueError("bad voice note name")
        return self.root / stem[:2] / name

    def save(self, note: Checked) -> str:
        """Write a checked voice note; return its random stored name."""
        name = f"{secrets.token_hex(16)}.{KINDS[note.kind].ext}"
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_bytes(note.audio)
        except BaseException:
            self.delete(name)
            raise
        return name

    def delete(self, name: str) -> None:
        """Remove a stored voice note (used to undo a failed save)."""
        self.path(name).unlink(missing_ok=True)


def mime_of(name: str) -> str:
    """The content type a stored voice note is served with."""
    return MIMES[name.rpartition(".")[2]]


def keep(store: VoiceStore, note: Checked, *, created_at, **owner) -> VoiceNote:
    """Save a checked voice note and return its row for the caller's transaction (hazard_id or assignment_id say
    whose it is). If that transaction fails, the caller deletes `row.stored_name` again."""
    return VoiceNote(stored_name=store.save(note), duration_ms=round(note.seconds * 1000), size_bytes=len(note.audio),
                     sha256=note.sha256, created_at=created_at, **owner)
