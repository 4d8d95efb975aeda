"""Audio and cover files of the emulator: rendering (through the synthesizer), caching and signed URLs.

Files are served at ``/files/<provider>/<file-id>.<ext>?expires=<unix>&sig=<hmac>``. The signature is an
HMAC of the path and the expiry with a per-emulator secret, so a URL cannot be extended by editing
``expires``; an expired URL answers 403.

``render_audio`` and ``render_cover`` are the one place that calls the synthesizer (``minimax_nb.synth``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math

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
    from minimax_nb.synth import encode, mp3_bitrate, render  # imported on first render, not with the app

    song = render(lyrics, style, seed=seed, sample_rate=sample_rate, max_duration_s=max_duration_s,
                  instrumental=instrumental)
    # the routes validate fmt (mp3, wav, pcm); quality 7 is LAME's fast mode: the answer comes sooner
    data = encode(song, fmt, bitrate=bitrate, quality=7)  # type: ignore[arg-type]
    real_bitrate = mp3_bitrate(song.sample_rate, bitrate) if fmt == "mp3" else bitrate
    return RenderedAudio(data=data, fmt=fmt, duration_s=song.duration_s, sample_rate=song.sample_rate,
                         channels=song.channels, bitrate=real_bitrate)


def render_cover(title: str, style: str, seed: int) -> bytes:
    """A PNG cover with the title and style, from the synthesizer."""
    from minimax_nb.synth import cover_png

    return cover_png(title, style, seed=seed)
