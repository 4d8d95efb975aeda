"""Accompaniment instruments: drum one-shots, basses, chord instruments and a lead synth.

Every instrument renders a note to a float32 array; identical notes are cached per render (a chord hit
repeated every bar is synthesised once), which keeps a whole song to a few hundred array operations.
"""

from __future__ import annotations

import numpy as np

from minimax_nb.synth.dsp import (
    Array,
    adsr,
    f32,
    fft_filter,
    harmonic_table,
    max_harmonics,
    midi_hz,
    osc,
    phase_of,
)

__all__ = ["Drums", "Instrument"]


def _decay(n: int, sr: int, tau: float) -> Array:
    return f32(np.exp(-np.arange(n, dtype=np.float32) / (tau * sr)))


class Drums:
    """Drum one-shots made once per render (seeded noise, so a render is deterministic)."""

    def __init__(self, sample_rate: int, rng: np.random.Generator, *, lofi: bool = False) -> None:
        sr = self.sample_rate = sample_rate
        ny = 0.45 * sr

        def noise(sec: float) -> Array:
            return rng.standard_normal(int(sec * sr)).astype(np.float32)

        def band(sec: float, lo: float, hi: float) -> Array:
            """Noise band-passed with 24 dB/octave edges (cymbals without the fizz above ``hi``)."""
            return fft_filter(noise(sec), sr, min(lo, ny * 0.6), min(hi, ny), slope=2.0)

        # Kick: a sine sweeping from ~160 Hz to ~48 Hz, with a click.
        n = int(0.42 * sr)
        t = np.arange(n, dtype=np.float64) / sr
        freq = 48.0 + 115.0 * np.exp(-t / 0.035)
        kick = np.sin(2 * np.pi * np.cumsum(freq) / sr).astype(np.float32) * _decay(n, sr, 0.16)
        kick[: int(0.004 * sr)] += band(0.004, 800.0, 5000.0)[: int(0.004 * sr)] * 0.5
        self.kick = np.tanh(1.6 * kick).astype(np.float32)
        # Snare: a pitched body plus a band of noise.
        n = int(0.25 * sr)
        body = np.sin(2 * np.pi * 185.0 * np.arange(n) / sr).astype(np.float32) * _decay(n, sr, 0.045)
        rattle = band(0.25, 1500.0, 8000.0) * _decay(n, sr, 0.07)
        self.snare = _peak(0.55 * body + 1.4 * rattle)
        # Clap: three quick noise bursts then a tail.
        n = int(0.3 * sr)
        env = _decay(n, sr, 0.06)
        for off in (0.0, 0.011, 0.022):
            k = int(off * sr)
            env[k : k + int(0.008 * sr)] += 0.8
        self.clap = _peak(band(0.3, 900.0, 5000.0) * env)
        # Rim and brush.
        n = int(0.08 * sr)
        rim = np.sin(2 * np.pi * 820.0 * np.arange(n) / sr).astype(np.float32) * _decay(n, sr, 0.012)
        self.rim = _peak(rim + 0.3 * band(0.08, 2000.0, 8000.0) * _decay(n, sr, 0.01))
        n = int(0.35 * sr)
        self.brush = _peak(band(0.35, 1800.0, 7000.0) * adsr(n, sr, 0.03, 0.1, 0.0, 0.1))
        # Hats, ride, shaker, crash.
        hiss = band(1.6, 6000.0, 12000.0)
        self.hat = _peak(hiss[: int(0.06 * sr)] * _decay(int(0.06 * sr), sr, 0.013))
        self.open_hat = _peak(hiss[: int(0.35 * sr)] * _decay(int(0.35 * sr), sr, 0.09))
        n = int(0.9 * sr)
        tt = np.arange(n) / sr
        bell = sum(np.sin(2 * np.pi * f * tt) for f in (3120.0, 4270.0, 5340.0) if f < ny)
        self.ride = _peak((0.35 * np.asarray(bell, dtype=np.float32) + hiss[:n]) * _decay(n, sr, 0.28))
        n = int(0.09 * sr)
        self.shaker = _peak(band(0.09, 4500.0, 10000.0) * adsr(n, sr, 0.02, 0.03, 0.0, 0.04))
        n = int(1.6 * sr)
        self.crash = _peak(band(1.6, 3500.0, 11000.0) * _decay(n, sr, 0.55))
        names = ("kick", "snare", "clap", "rim", "brush", "hat", "open_hat", "ride", "shaker", "crash")
        for name in names:
            sample = getattr(self, name)
            if lofi:
                sample = _peak(fft_filter(sample, sr, None, 5000.0)) * 0.9
            # End every one-shot at silence (a 20 ms fade) so a hit never ends in a click.
            k = min(int(0.02 * sr), sample.shape[0])
            sample[-k:] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
            setattr(self, name, sample)

    def sound(self, name: str) -> Array:
        """A one-shot by name (``kick``, ``snare``, ``clap``, ``rim``, ``brush``, ``hat``, ``open_hat``,
        ``ride``, ``shaker``, ``crash``)."""
        out: Array = getattr(self, name)
        return out


def _peak(x: Array) -> Array:
    m = float(np.max(np.abs(x))) or 1.0
    return f32(x / m)


_RELEASE_S: dict[str, float] = {
    "round": 0.04,
    "upright": 0.04,
    "saw": 0.03,
    "sub": 0.03,
    "808": 0.05,
    "piano": 0.06,
    "guitar": 0.06,
    "epiano": 0.08,
    "pad": 0.3,
    "power": 0.04,
    "supersaw": 0.05,
    "lead": 0.06,
}


class Instrument:
    """A pitched instrument: ``kind`` picks the timbre and envelope.

    Kinds: basses ``round``, ``saw``, ``sub``, ``upright``, ``808``; chords ``piano``, ``epiano``,
    ``pad``, ``guitar``, ``power``, ``supersaw``; lead ``lead``.
    """

    def __init__(self, kind: str, sample_rate: int, brightness: float = 0.7) -> None:
        self.kind = kind
        self.sample_rate = sample_rate
        self.brightness = brightness
        self._cache: dict[tuple[float, int, tuple[float, ...]], Array] = {}
        self._tables: dict[tuple[str, float], Array] = {}
        self._raw: dict[float, Array] = {}

    # -- timbres -----------------------------------------------------------------------------------
    def _table(self, which: str, freq: float) -> Array:
        key = (which, round(freq, 1))
        tab = self._tables.get(key)
        if tab is not None:
            return tab
        sr = self.sample_rate
        ceiling = {"dull": 2500.0, "sine": 200.0, "warm": 2500.0}.get(which, 9000.0)
        k = np.arange(1, max_harmonics(freq, sr, ceiling) + 1, dtype=np.float64)
        b = self.brightness
        if which == "saw":
            amps = 1.0 / k
        elif which == "square":
            amps = np.where(k % 2 == 1, 1.0 / k, 0.08 / k)
        elif which == "bright":  # piano/guitar attack
            amps = 1.0 / k ** (1.6 - 0.6 * b) * (1.0 + 0.6 * (k == 2) + 0.3 * (k == 3))
        elif which == "dull":
            amps = 1.0 / k**2.5
        elif which == "warm":
            amps = 1.0 / k**1.8
        elif which == "bell":  # e-piano tine: fundamental + a strong upper partial
            amps = np.where(k == 1, 1.0, 0.0) + np.where(k == 3, 0.25, 0.0) + np.where(k == 7, 0.35 * b, 0.0)
        else:  # "sine"
            amps = np.where(k == 1, 1.0, 0.0) + np.where(k == 2, 0.08, 0.0)
        tab = harmonic_table(amps[: k.size])
        self._tables[key] = tab
        return tab

    def note(self, midi: float, length: int) -> Array:
        """One note of ``length`` samples (the release is inside the length), cached."""
        key = (round(midi, 2), length, ())
        hit = self._cache.get(key)
        if hit is None:
            hit = self._shaped(midi, length)
            self._cache[key] = hit
        return hit

    def chord(self, midis: tuple[float, ...], length: int, *, strum_s: float = 0.0) -> Array:
        """All notes of a chord summed (optionally strummed low to high by ``strum_s`` per string)."""
        key = (round(midis[0], 2), length, (*midis, strum_s))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        out = np.zeros(length, dtype=np.float32)
        step = int(strum_s * self.sample_rate)
        for i, m in enumerate(midis):
            d = i * step
            if d < length:
                out[d:] += self._shaped(m, length - d)
        out *= np.float32(1.0 / np.sqrt(len(midis)))
        self._cache[key] = out
        return out

    def _shaped(self, midi: float, length: int) -> Array:
        """The first ``length`` samples of the note's long render, with the release ramp at the end.

        A note's sound does not depend on its length until the release, so each pitch is synthesised
        once (long enough for the longest note asked) and cut to length.
        """
        sr = self.sample_rate
        key = round(midi, 2)
        raw = self._raw.get(key)
        margin = int(0.4 * sr)
        if raw is None or raw.shape[0] < length + margin:
            want = max(length + margin, 2 * raw.shape[0] if raw is not None else 0, int(1.5 * sr))
            raw = self._render(midi, want)
            self._raw[key] = raw
        out = raw[:length].copy()
        rel = min(int(_RELEASE_S.get(self.kind, 0.05) * sr), length)
        if rel > 1:
            out[length - rel :] *= np.linspace(1.0, 0.0, rel, dtype=np.float32) ** 2
        return out

    def _render(self, midi: float, n: int) -> Array:
        sr = self.sample_rate
        f = midi_hz(midi)
        kind = self.kind
        if kind in ("round", "upright"):
            ph = phase_of(f, n, sr)
            body = osc(self._table("warm", f), ph)
            env = adsr(
                n, sr, 0.006, 0.35 if kind == "round" else 0.22, 0.55 if kind == "round" else 0.25, 0.04
            )
            return f32(body * env)
        if kind == "saw":
            ph = phase_of(f, n, sr)
            sig = np.tanh(1.8 * osc(self._table("saw", f), ph))
            return f32(sig * adsr(n, sr, 0.004, 0.25, 0.7, 0.03))
        if kind == "sub":
            ph = phase_of(f, n, sr)
            return f32(osc(self._table("sine", f), ph) * adsr(n, sr, 0.005, 0.2, 0.8, 0.03))
        if kind == "808":
            ph = phase_of(f, n, sr, scoop=0.12, scoop_s=0.05)
            sig = np.tanh(1.5 * osc(self._table("sine", f), ph))
            return f32(sig * adsr(n, sr, 0.003, 0.6, 0.35, 0.05))
        if kind in ("piano", "guitar"):
            ph = phase_of(f, n, sr)
            bright = osc(self._table("bright", f), ph)
            dull = osc(self._table("dull", f), ph)
            t = np.arange(n, dtype=np.float32) / sr
            fast = np.exp(-t / (0.2 if kind == "piano" else 0.09))
            slow = np.exp(-t / (1.1 if kind == "piano" else 0.7))
            sig = bright * fast + dull * slow * 0.8
            return f32(sig * adsr(n, sr, 0.003, 10.0, 1.0, 0.06))
        if kind == "epiano":
            ph = phase_of(f, n, sr)
            tine = osc(self._table("bell", f), ph)
            body = osc(self._table("sine", f), ph)
            t = np.arange(n, dtype=np.float32) / sr
            sig = tine * np.exp(-t / 0.25) * 0.6 + body * np.exp(-t / 1.4)
            return f32(sig * adsr(n, sr, 0.004, 10.0, 1.0, 0.08))
        if kind == "pad":
            a = osc(self._table("warm", f), phase_of(f * 1.003, n, sr))
            b = osc(self._table("warm", f), phase_of(f * 0.997, n, sr, phase0=0.33))
            return f32((a + b) * 0.5 * adsr(n, sr, 0.25, 1.0, 0.8, 0.3))
        if kind == "power":
            tab = self._table("saw", f)
            a = osc(tab, phase_of(f, n, sr))
            b = osc(tab, phase_of(f * 1.004, n, sr, phase0=0.5))
            sig = np.tanh(3.0 * (a + b))
            return f32(sig * adsr(n, sr, 0.004, 0.4, 0.6, 0.04) * 0.5)
        if kind == "supersaw":
            tab = self._table("saw", f)
            sig = np.zeros(n, dtype=np.float32)
            for det, p0 in ((1.0, 0.0), (1.006, 0.31), (0.994, 0.67)):
                sig += osc(tab, phase_of(f * det, n, sr, phase0=p0))
            return f32(sig / 3.0 * adsr(n, sr, 0.01, 0.3, 0.6, 0.05))
        # "lead": a soft square-ish synth with vibrato.
        ph = phase_of(f, n, sr, vibrato_hz=5.0, vibrato_depth=0.004, vibrato_delay_s=0.2)
        sig = osc(self._table("square", f), ph)
        return f32(sig * adsr(n, sr, 0.02, 0.3, 0.7, 0.06))
