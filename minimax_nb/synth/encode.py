"""Encode a :class:`~minimax_nb.synth.mix.Song` as WAV (16-bit PCM, stdlib ``wave``) or MP3 (lameenc).

MP3 is constant bit rate at the song's own sample rate; below 96 kbps it is encoded 1.5 dB lower so
the decoded peaks (which overshoot at low bit rates) stay under full scale. A bit rate the MPEG layer
cannot carry at that sample rate (e.g. 60 kbps, or 256 kbps at 24 kHz where MPEG-2 stops at 160) is
replaced by the nearest valid one; :func:`mp3_bitrate` tells which.
"""

from __future__ import annotations

import io
import wave
from typing import Literal

import numpy as np

from minimax_nb.synth.mix import Song

__all__ = ["MP3_SAMPLE_RATES", "encode", "mp3_bitrate", "to_pcm16"]

MP3_SAMPLE_RATES: tuple[int, ...] = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_MPEG1_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2_KBPS = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MPEG25_KBPS = (8, 16, 24, 32, 40, 48, 56, 64)
DEFAULT_BITRATE = 128000
LOW_BITRATE_HEADROOM_BELOW = 96000


def mp3_bitrate(sample_rate: int, bitrate: int | None) -> int:
    """The bit rate (bits/s) an MP3 at ``sample_rate`` will really have when ``bitrate`` is asked.

    ``None`` means 128 kbps. The nearest valid rate wins; a tie goes to the higher one.

    >>> mp3_bitrate(44100, 60000), mp3_bitrate(24000, 256000)
    (64000, 160000)
    """
    if sample_rate not in MP3_SAMPLE_RATES:
        raise ValueError(f"MP3 cannot carry sample rate {sample_rate}; use one of {MP3_SAMPLE_RATES}")
    want = (bitrate or DEFAULT_BITRATE) / 1000.0
    table: tuple[int, ...]
    if sample_rate >= 32000:
        table = _MPEG1_KBPS
    elif sample_rate >= 16000:
        table = _MPEG2_KBPS
    else:
        table = _MPEG25_KBPS
    best = min(table, key=lambda k: (abs(k - want), -k))
    return best * 1000


def to_pcm16(song: Song, gain: float = 1.0) -> bytes:
    """Interleaved little-endian signed 16-bit PCM of the song (optionally scaled by ``gain``)."""
    pcm = np.clip(song.samples, -1.0, 1.0) * np.float32(32767.0 * gain)
    return np.round(pcm).astype("<i2").tobytes()


def encode(song: Song, fmt: Literal["mp3", "wav"], *, bitrate: int | None = None, quality: int = 5) -> bytes:
    """The song as a complete ``fmt`` file in memory.

    Args:
        song: what :func:`~minimax_nb.synth.mix` returned.
        fmt: ``"mp3"`` or ``"wav"`` (``"pcm"`` gives the raw 16-bit samples with no header).
        bitrate: MP3 bits per second (32000 … 320000); ignored for WAV. See :func:`mp3_bitrate`.
        quality: LAME's algorithm quality, 2 (best, slow) … 7 (fast).
    """
    fmt_l = str(fmt).lower()
    if fmt_l not in ("mp3", "wav", "pcm"):
        raise ValueError(f"unknown audio format {fmt!r}; use 'mp3' or 'wav'")
    kbps = mp3_bitrate(song.sample_rate, bitrate) // 1000 if fmt_l == "mp3" else 0
    if fmt_l == "mp3" and kbps * 1000 < LOW_BITRATE_HEADROOM_BELOW:
        # Low bit rates ring: the decoded peaks overshoot by up to ~1.5 dB. Leave room so a decoder
        # never clips.
        pcm = to_pcm16(song, gain=10 ** (-1.5 / 20))
    else:
        pcm = to_pcm16(song)
    if fmt_l == "wav":
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(song.channels)
            w.setsampwidth(2)
            w.setframerate(song.sample_rate)
            w.writeframes(pcm)
        return buf.getvalue()
    if fmt_l == "pcm":
        return pcm
    import lameenc

    enc = lameenc.Encoder()
    enc.set_bit_rate(kbps)
    enc.set_in_sample_rate(song.sample_rate)
    enc.set_out_sample_rate(song.sample_rate)
    enc.set_channels(song.channels)
    enc.set_quality(quality)
    return bytes(enc.encode(pcm)) + bytes(enc.flush())
