"""Audio and cover files of the emulator: rendering (through the synthesizer), caching and signed URLs.

Files are served at ``/files/<provider>/<file-id>.<ext>?expires=<unix>&sig=<hmac>``. The signature is an
HMAC of the path and the expiry with a per-emulator secret, so a URL cannot be extended by editing
``expires``; an expired URL answers 403.

``render_audio`` is the one place that calls the synthesizer (``minimax_nb.synth``). When the synthesizer
is not importable (it is built in parallel), a tiny stand-in renders chord tones so the emulator still
serves real, decodable audio.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import math
import struct
import wave
import zlib
from typing import Any

import numpy as np

__all__ = [
    "CONTENT_TYPES",
    "RenderedAudio",
    "UrlSigner",
    "render_audio",
    "render_cover",
]

CONTENT_TYPES: dict[str, str] = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "application/octet-stream",
    "png": "image/png",
}


@dataclasses.dataclass(frozen=True, slots=True)
class RenderedAudio:
    """Encoded audio of one job and the facts the APIs report about it."""

    data: bytes
    fmt: str
    duration_s: float
    sample_rate: int
    channels: int
    bitrate: int

    @property
    def ext(self) -> str:
        return self.fmt


class UrlSigner:
    """Signs and checks file URLs: ``expires`` is a unix time, ``sig`` an HMAC-SHA256 (hex, 32 chars)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, path: str, expires: int) -> str:
        msg = f"{path}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()[:32]

    def query(self, path: str, now: float, ttl_s: float) -> str:
        expires = math.ceil(now + ttl_s)
        return f"expires={expires}&sig={self.sign(path, expires)}"

    def check(self, path: str, expires: str | None, sig: str | None, now: float) -> str | None:
        """``None`` when valid, else the reason: ``"bad signature"`` or ``"expired"``."""
        if not expires or not sig:
            return "bad signature"
        try:
            exp = int(expires)
        except ValueError:
            return "bad signature"
        if not hmac.compare_digest(self.sign(path, exp), sig):
            return "bad signature"
        if now > exp:
            return "expired"
        return None


# ----------------------------------------------------------------------------------------------------
# Rendering


def _synth() -> Any | None:
    try:
        from minimax_nb import synth
    except ImportError:  # pragma: no cover - depends on the synthesizer being present
        return None
    if all(hasattr(synth, n) for n in ("render", "encode", "cover_png")):
        return synth
    return None


def render_audio(
    *,
    lyrics: str,
    style: str,
    seed: int,
    sample_rate: int = 44100,
    bitrate: int = 256000,
    fmt: str = "mp3",
    max_duration_s: float = 60.0,
    instrumental: bool = False,
) -> RenderedAudio:
    """Render a song and encode it as ``fmt`` (``mp3``, ``wav`` or ``pcm``: raw 16-bit little-endian).

    ``RenderedAudio.bitrate`` is the bit rate really encoded: an MP3 bit rate the MPEG layer cannot
    carry at ``sample_rate`` (60 kbps, or 256 kbps at 16/24 kHz) becomes the nearest valid one.
    """
    synth = _synth()
    if synth is not None:
        song = synth.render(lyrics, style, seed=seed, sample_rate=sample_rate,
                            max_duration_s=max_duration_s, instrumental=instrumental)
        samples = np.asarray(song.samples)
        channels = 1 if samples.ndim == 1 else int(min(samples.shape))
        data = synth.encode(song, fmt, bitrate=bitrate, quality=7)  # LAME fast mode: answers sooner
        real_bitrate = bitrate
        if fmt == "mp3" and hasattr(synth, "mp3_bitrate"):
            real_bitrate = int(synth.mp3_bitrate(int(song.sample_rate), bitrate))
        return RenderedAudio(data=bytes(data), fmt=fmt, duration_s=float(song.duration_s),
                             sample_rate=int(song.sample_rate), channels=channels, bitrate=real_bitrate)
    return _standin_render(lyrics=lyrics, style=style, seed=seed, sample_rate=sample_rate, bitrate=bitrate,
                           fmt=fmt, max_duration_s=max_duration_s, instrumental=instrumental)


def render_cover(title: str, style: str, seed: int) -> bytes:
    """A PNG cover with the title and style (from the synthesizer; a plain gradient as a stand-in)."""
    synth = _synth()
    if synth is not None:
        return bytes(synth.cover_png(title, style, seed=seed))
    return _standin_png(seed)


def _pcm_bytes(samples: np.ndarray[Any, Any]) -> bytes:
    arr = np.asarray(samples)
    if arr.ndim == 2 and arr.shape[0] in (1, 2) and arr.shape[1] > 2:
        arr = arr.T
    if arr.dtype.kind == "f":
        arr = np.clip(arr, -1.0, 1.0)
        arr = (arr * 32767.0).astype("<i2")
    else:
        arr = arr.astype("<i2")
    return arr.tobytes()


def _standin_render(*, lyrics: str, style: str, seed: int, sample_rate: int, bitrate: int, fmt: str,
                    max_duration_s: float, instrumental: bool) -> RenderedAudio:
    """Chord tones following the lyric lines: a placeholder until the real synthesizer is present."""
    lines = [ln for ln in lyrics.splitlines() if ln.strip() and not ln.strip().startswith("[")]
    duration = min(max_duration_s, max(8.0, 4.0 + 2.5 * len(lines))) if lines and not instrumental else \
        min(max_duration_s, 30.0)
    n = int(duration * sample_rate)
    t = np.arange(n) / sample_rate
    rng = np.random.default_rng(seed)
    root = 110.0 * 2 ** (int(rng.integers(0, 12)) / 12)
    bar = 2.0
    degree = np.array([0, 5, 7, 3])[(t // bar).astype(int) % 4]
    f = root * 2 ** (degree / 12)
    sig = 0.25 * np.sin(2 * np.pi * f * t) + 0.15 * np.sin(2 * np.pi * f * 1.5 * t)
    sig *= 0.6 + 0.4 * np.exp(-((t % 0.5) * 6))
    sig += 0.02 * rng.standard_normal(n) * (style.__len__() % 3 + 1) / 3
    stereo = np.stack([sig, np.roll(sig, 64)], axis=1).astype(np.float32)
    if fmt == "pcm":
        data = _pcm_bytes(stereo)
    elif fmt == "wav":
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(_pcm_bytes(stereo))
        data = buf.getvalue()
    else:
        import lameenc

        enc = lameenc.Encoder()
        enc.set_bit_rate(max(8, min(320, bitrate // 1000)))
        enc.set_in_sample_rate(sample_rate)
        enc.set_channels(2)
        enc.set_quality(7)
        data = bytes(enc.encode(_pcm_bytes(stereo))) + bytes(enc.flush())
    return RenderedAudio(data=data, fmt=fmt, duration_s=n / sample_rate, sample_rate=sample_rate,
                         channels=2, bitrate=bitrate)


def _standin_png(seed: int, width: int = 64, height: int = 64) -> bytes:
    r, g, b = (seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256
    rows = b"".join(b"\x00" + bytes((r, (g + y * 3) % 256, b)) * width for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))
