"""Measurements the synth tests make on rendered audio (numpy only)."""

from __future__ import annotations

import numpy as np


def mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


def peak_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(x)) + 1e-12))


def onset_envelope(x: np.ndarray, sr: int, hop: int = 256) -> tuple[np.ndarray, float]:
    """Spectral-flux onset strength, one value per hop; returns (envelope, frames per second)."""
    m = mono(x).astype(np.float64)
    win = 1024
    n = 1 + (m.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    frames = m[idx] * np.hanning(win)[None, :]
    mag = np.log1p(100 * np.abs(np.fft.rfft(frames, axis=1)))
    flux = np.maximum(np.diff(mag, axis=0), 0.0).sum(axis=1)
    flux -= flux.mean()
    return flux, sr / hop


def tempo_estimate(x: np.ndarray, sr: int, lo: float = 60.0, hi: float = 180.0) -> float:
    """Beats per minute from the autocorrelation of the onset envelope (peak between lo and hi bpm)."""
    env, fps = onset_envelope(x, sr)
    ac = np.correlate(env, env, mode="full")[env.size - 1 :]
    lags = np.arange(ac.size)
    bpm = 60.0 * fps / np.maximum(lags, 1)
    ok = (bpm >= lo) & (bpm <= hi)
    best = lags[ok][np.argmax(ac[ok])]
    # Parabolic refinement of the peak.
    a, b, c = ac[best - 1], ac[best], ac[best + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return float(60.0 * fps / (best + shift))


def spectral_centroid(x: np.ndarray, sr: int) -> float:
    m = mono(x).astype(np.float64)
    spec = np.abs(np.fft.rfft(m))
    f = np.fft.rfftfreq(m.size, 1.0 / sr)
    return float((f * spec).sum() / spec.sum())


def band_energy_db(x: np.ndarray, sr: int, lo: float, hi: float) -> float:
    """Energy in [lo, hi) Hz relative to the total, in dB."""
    m = mono(x).astype(np.float64)
    p = np.abs(np.fft.rfft(m)) ** 2
    f = np.fft.rfftfreq(m.size, 1.0 / sr)
    return float(10 * np.log10(p[(f >= lo) & (f < hi)].sum() / p.sum() + 1e-18))


def side_ratio_db(x: np.ndarray) -> float:
    """Level of the side (L-R) signal relative to the mid (L+R): stereo width."""
    mid = x[:, 0] + x[:, 1]
    side = x[:, 0] - x[:, 1]
    return rms_db(side) - rms_db(mid)


def beat_clarity(x: np.ndarray, sr: int, tempo_bpm: float) -> float:
    """How periodic the onsets are at the beat: onset autocorrelation at one beat over lag 0 (0…1)."""
    env, fps = onset_envelope(x, sr)
    ac = np.correlate(env, env, mode="full")[env.size - 1 :]
    lag = round(60.0 * fps / tempo_bpm)
    return float(ac[lag - 1 : lag + 2].max() / ac[0])
