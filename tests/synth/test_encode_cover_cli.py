"""Files: WAV and MP3 at every provider sample rate and bit rate, covers, and the command line."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import wave
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from synth_audio_facts import rms_db

from minimax_nb.synth import Song, cover_png, encode, mp3_bitrate, render

SAMPLE_RATES = (16000, 24000, 32000, 44100)
BITRATES = (32000, 60000, 64000, 128000, 256000)
LYRICS = "[Verse]\nHello from the offline world\nEvery song is made right here"

# MPEG audio frame header: bit-rate tables (kbps) by index, for MPEG-1 and MPEG-2/2.5 layer III.
_MPEG1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def frame_header(data: bytes) -> tuple[int, int, int]:
    """(bitrate bps, sample rate, channels) from the first MPEG frame header."""
    i = data.index(b"\xff")
    while not (data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0):
        i = data.index(b"\xff", i + 1)
    (h,) = struct.unpack(">I", data[i : i + 4])
    version = (h >> 19) & 3
    br_idx = (h >> 12) & 15
    sr_idx = (h >> 10) & 3
    mode = (h >> 6) & 3
    kbps = (_MPEG1 if version == 3 else _MPEG2)[br_idx]
    return kbps * 1000, _RATES[version][sr_idx], 1 if mode == 3 else 2


@pytest.fixture(scope="module")
def songs() -> dict[int, Song]:
    return {sr: render(LYRICS, "electronic", seed=2, sample_rate=sr) for sr in SAMPLE_RATES}


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_wav_decodes_as_written(songs: dict[int, Song], sample_rate: int) -> None:
    song = songs[sample_rate]
    data = encode(song, "wav")
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, sample_rate)
        assert w.getnframes() == song.samples.shape[0]
    audio, sr = sf.read(io.BytesIO(data), dtype="float32")
    assert sr == sample_rate and audio.shape == song.samples.shape
    assert np.max(np.abs(audio - song.samples)) < 2.0 / 32767  # 16-bit rounding and the 32767/32768 scale
    assert rms_db(audio) > -20


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
@pytest.mark.parametrize("bitrate", BITRATES)
def test_mp3_decodes_with_asked_rate_and_bitrate(
    songs: dict[int, Song], sample_rate: int, bitrate: int
) -> None:
    song = songs[sample_rate]
    data = encode(song, "mp3", bitrate=bitrate, quality=7)
    expected = mp3_bitrate(sample_rate, bitrate)
    header_bps, header_sr, header_ch = frame_header(data)
    assert (header_bps, header_sr, header_ch) == (expected, sample_rate, 2)
    audio, sr = sf.read(io.BytesIO(data), dtype="float32")
    assert sr == sample_rate and audio.ndim == 2 and audio.shape[1] == 2
    decoded_s = audio.shape[0] / sr
    assert decoded_s == pytest.approx(song.duration_s, rel=0.05)
    assert len(data) * 8 / song.duration_s == pytest.approx(expected, rel=0.05)
    assert rms_db(audio) > -22
    assert float(np.max(np.abs(audio))) < 1.0  # no decoder clips, even at 32 kbps


def test_mp3_bitrate_table() -> None:
    assert mp3_bitrate(44100, 32000) == 32000
    assert mp3_bitrate(44100, 60000) == 64000  # 60 kbps is no MPEG rate: the nearest, ties upward
    assert mp3_bitrate(44100, 256000) == 256000
    assert mp3_bitrate(24000, 256000) == 160000  # MPEG-2 tops out at 160 kbps
    assert mp3_bitrate(16000, 128000) == 128000
    assert mp3_bitrate(44100, None) == 128000
    with pytest.raises(ValueError):
        mp3_bitrate(44000, 128000)


def test_unknown_format() -> None:
    song = render("la", "pop", sample_rate=8000, max_duration_s=2)
    with pytest.raises(ValueError, match="format"):
        encode(song, "ogg")  # type: ignore[arg-type]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_cover_png() -> None:
    a = cover_png("Sing It Loud", "pop", seed=1)
    assert _png_size(a) == (512, 512)
    assert a == cover_png("Sing It Loud", "pop", seed=1)
    assert a != cover_png("Sing It Quietly", "pop", seed=1)
    assert a != cover_png("Sing It Loud", "rock", seed=1)
    assert _png_size(cover_png("x" * 300, "a very long free-text style " * 5, size=128)) == (128, 128)
    from PIL import Image

    img = Image.open(io.BytesIO(a)).convert("RGB")
    arr = np.asarray(img, dtype=np.float64)
    assert arr.std() > 10  # not a flat colour: art and text are drawn
    # The title is written in white near the top.
    assert (arr[30:110].min(axis=2) > 240).sum() > 200
    assert zlib.crc32(a) == zlib.crc32(cover_png("Sing It Loud", "pop", seed=1))


def test_cli_renders_mp3_and_cover(tmp_path: Path) -> None:
    lyrics = tmp_path / "song.txt"
    lyrics.write_text(LYRICS, encoding="utf-8")
    out = tmp_path / "song.mp3"
    cover = tmp_path / "cover.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "minimax_nb.synth",
            "--style",
            "jazz",
            "--lyrics-file",
            str(lyrics),
            "-o",
            str(out),
            "--seed",
            "3",
            "--sample-rate",
            "24000",
            "--bitrate",
            "64000",
            "--cover",
            str(cover),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "jazz" in proc.stdout and "64 kbps" in proc.stdout
    audio, sr = sf.read(out)
    assert sr == 24000 and audio.shape[1] == 2
    song = render(LYRICS, "jazz", seed=3, sample_rate=24000)
    assert audio.shape[0] / sr == pytest.approx(song.duration_s, rel=0.05)
    assert frame_header(out.read_bytes())[0] == 64000
    assert _png_size(cover.read_bytes()) == (512, 512)


def test_cli_wav_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "minimax_nb.synth",
            "--lyrics",
            "one line\\ntwo line",
            "-o",
            str(out),
            "--sample-rate",
            "16000",
            "--max-duration",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    audio, sr = sf.read(out)
    assert sr == 16000 and audio.shape[1] == 2 and audio.shape[0] <= 5 * 16000
    bad = subprocess.run(
        [sys.executable, "-m", "minimax_nb.synth", "--lyrics", "x", "-o", str(tmp_path / "x.flac")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "mp3 or .wav" in bad.stderr


def test_cli_lists_styles() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "minimax_nb.synth", "--list-styles"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert names == ["pop", "rock", "electronic", "jazz", "lo-fi", "ballad", "folk", "hip-hop"]
