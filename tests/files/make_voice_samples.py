"""Make the sample voice notes in this folder with Debian's ffmpeg (run once; the files are committed, CI has no
ffmpeg): python tests/files/make_voice_samples.py

voice.webm      2 s of a 440 Hz tone, Opus 16 kbit/s mono in WebM (what Chrome records), with title/artist tags
voice.ogg       the same in Ogg (what Firefox may record)
voice.m4a       2 s, AAC 24 kbit/s in MP4 (what Safari records), with title/artist tags
voice.wav       1 s of 8 kHz PCM in WAV: refused (no phone browser records it; 16–90× the size of Opus)
not-audio.webm  text with a voice note's name
too-long.webm   65 s of silence, Opus 6 kbit/s in WebM: past the 60 s limit though small
video.webm      a VP8 video with an Opus track: refused (a voice note is sound only)
"""
from __future__ import annotations

import subprocess
from pathlib import Path

HERE = Path(__file__).parent
TAGS = ["-metadata", "title=Owner Zhang San 13912345678", "-metadata", "artist=Zhang San"]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def main() -> None:
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=48000", "-ac", "1"]
    ffmpeg(*tone, "-c:a", "libopus", "-b:a", "16k", *TAGS, str(HERE / "voice.webm"))
    ffmpeg(*tone, "-c:a", "libopus", "-b:a", "16k", *TAGS, str(HERE / "voice.ogg"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=16000", "-ac", "1",
           "-c:a", "aac", "-b:a", "24k", *TAGS, str(HERE / "voice.m4a"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1:sample_rate=8000", "-ac", "1",
           "-c:a", "pcm_s16le", str(HERE / "voice.wav"))
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "65", "-c:a", "libopus", "-b:a", "6k",
           str(HERE / "too-long.webm"))
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=16x16:d=0.2", "-f", "lavfi", "-i", "sine=duration=0.2", "-shortest",
           "-c:v", "libvpx", "-c:a", "libopus", "-b:a", "16k", str(HERE / "video.webm"))
    (HERE / "not-audio.webm").write_text("Not a recording, only text with a voice note's name.\n")


if __name__ == "__main__":
    main()
