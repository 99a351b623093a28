"""Voice notes: the check by bytes (container, codec, length, size), tags stripped, the store, and a report with one
(idempotent retry, a different note under the same client_id, nothing half-saved, the hourly upload allowance)."""
from __future__ import annotations

import io
import uuid
from pathlib import Path

import av
import pytest
from sqlmodel import select

from tests.conftest import VOLUNTEER
from volunteers import hazards, photos, voice
from volunteers.errors import Conflict, Invalid
from volunteers.models import Hazard, VoiceNote

FILES = Path(__file__).parent / "files"


def sample(name: str) -> bytes:
    return (FILES / name).read_bytes()


def refused(data: bytes) -> Invalid:
    with pytest.raises(Invalid) as caught:
        voice.check(data)
    return caught.value


# --- Refused first ------------------------------------------------------------------------------------------

def test_text_named_webm_is_refused():
    err = refused(sample("not-audio.webm"))
    assert (err.code, err.status) == ("bad_audio", 422)


def test_wav_is_refused_a_phone_never_records_it():
    assert sample("voice.wav")[:4] == b"RIFF"
    assert refused(sample("voice.wav")).code == "bad_audio"


def test_a_webm_with_a_video_track_is_refused():
    assert refused(sample("video.webm")).code == "bad_audio"


def test_more_than_a_minute_is_refused_even_when_small():
    data = sample("too-long.webm")
    assert len(data) < 64 * 1024  # small on the wire: only the length gives it away
    err = refused(data)
    assert (err.code, err.status) == ("audio_too_long", 422)
    assert err.params["seconds"] == 60


def test_too_many_bytes_is_413_before_anything_is_read():
    data = sample("voice.webm") + b"\0" * voice.MAX_BYTES
    err = refused(data)
    assert (err.code, err.status) == ("audio_too_large", 413)


@pytest.mark.parametrize("data", [
    b"",
    b"\x1a\x45\xdf\xa3" + b"\xff" * 200,         # Matroska's magic, then rubbish
    b"OggS" + bytes(range(256)) * 4,              # Ogg's magic, then rubbish
    b"\0\0\0\x18ftypM4A " + b"\0" * 300,          # an MP4 header with nothing after it
])
def test_damaged_or_empty_files_are_bad_audio_never_a_crash(data):
    assert refused(data).code == "bad_audio"


def test_a_truncated_recording_is_refused_or_kept_shorter_never_a_crash():
    data = sample("voice.webm")
    for cut in (60, 200, len(data) // 2):
        try:
            note = voice.check(data[:cut])
        except Invalid as err:
            assert err.code == "bad_audio"
        else:
            assert note.seconds < 2.1


def test_mp3_is_refused():
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as target:
        stream = target.add_stream("mp3", rate=22050)
        stream.layout = "mono"
        frame = av.AudioFrame(format="s16p", layout="mono", samples=1152)
        for plane in frame.planes:
            plane.update(b"\0" * plane.buffer_size)
        frame.sample_rate = 22050
        for _ in range(5):
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    assert refused(out.getvalue()).code == "bad_audio"


# --- Accepted -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kind,codec,mime", [
    ("voice.webm", "webm", "opus", "audio/webm"),
    ("voice.ogg", "ogg", "opus", "audio/ogg"),
    ("voice.m4a", "mp4", "aac", "audio/mp4"),
])
def test_opus_and_aac_recordings_are_accepted_and_lose_their_tags(name, kind, codec, mime):
    data = sample(name)
    assert b"Zhang San" in data  # the sample carries a title and an artist naming a person
    note = voice.check(data)
    assert (note.kind, note.codec, note.mime) == (kind, codec, mime)
    assert 1.9 <= note.seconds <= 2.2
    assert note.sha256 == voice.sha256(data)
    assert b"Zhang" not in note.audio and b"13912345678" not in note.audio
    again = voice.check(note.audio)  # what is stored is itself a valid voice note of the same kind
    assert (again.kind, again.codec) == (kind, codec) and abs(again.seconds - note.seconds) < 0.1


def test_the_store_keeps_random_names_outside_static(tmp_path):
    store = voice.VoiceStore(tmp_path)
    note = voice.check(sample("voice.webm"))
    row = voice.keep(store, note, created_at=None, hazard_id=1)
    path = store.path(row.stored_name)
    assert path.read_bytes() == note.audio and path.is_relative_to(tmp_path / "voice")
    assert row.stored_name.endswith(".webm") and len(row.stored_name) == 32 + 5
    assert voice.mime_of(row.stored_name) == "audio/webm" and row.duration_ms == round(note.seconds * 1000)
    for bad in ("../../etc/passwd", "abc.exe", "ab/cd.webm", ".webm"):
        with pytest.raises(ValueError):
            store.path(bad)
    store.delete(row.stored_name)
    assert not path.exists()


# --- A report with a voice note -------------------------------------------------------------------------------

def report(session, town, tmp_path, client_id, note, **kw):
    data = {"client_id": client_id, "kind": "hazard", "category": "fire", "address": "东街 3 号"}
    return hazards.report(session, user=town.user(VOLUNTEER), data=data, uploads=kw.pop("uploads", []),
                          store=photos.PhotoStore(tmp_path), voice_note=note, voice_store=voice.VoiceStore(tmp_path),
                          **kw)


def test_a_report_keeps_its_voice_note_and_a_retry_does_not_duplicate_it(session, town, tmp_path):
    client_id = str(uuid.uuid4())
    hazard, created = report(session, town, tmp_path, client_id, sample("voice.webm"))
    assert created
    [note] = hazards.voice_notes(session, hazard)
    assert 1900 <= note.duration_ms <= 2200
    again, created = report(session, town, tmp_path, client_id, sample("voice.webm"))
    assert not created and again.id == hazard.id
    assert len(session.exec(select(VoiceNote)).all()) == 1
    with pytest.raises(Conflict):
        report(session, town, tmp_path, client_id, sample("voice.m4a"))
    with pytest.raises(Conflict):  # the same report without its voice note is another request too
        report(session, town, tmp_path, client_id, None)


def test_a_refused_voice_note_leaves_nothing_behind(session, town, tmp_path):
    client_id = str(uuid.uuid4())
    with pytest.raises(Invalid):
        report(session, town, tmp_path, client_id, sample("not-audio.webm"), uploads=[sample("gps.jpg")])
    assert session.exec(select(Hazard).where(Hazard.client_id == client_id)).first() is None
    assert session.exec(select(VoiceNote)).all() == []
    assert not list((tmp_path / "voice").rglob("*.*")) and not list((tmp_path / "photos").rglob("*.*"))


def test_a_voice_note_counts_against_the_hourly_upload_allowance(session, town, tmp_path):
    tight = photos.Allowance(photos=1, mb=300)
    with pytest.raises(Invalid) as caught:
        report(session, town, tmp_path, str(uuid.uuid4()), sample("voice.webm"), uploads=[sample("gps.jpg")],
               allowance=tight)
    assert caught.value.status == 429 and caught.value.code == "photo_limit"
    hazard, created = report(session, town, tmp_path, str(uuid.uuid4()), sample("voice.webm"),
                             allowance=photos.Allowance(photos=2, mb=300))
    assert created and hazards.voice_notes(session, hazard)
