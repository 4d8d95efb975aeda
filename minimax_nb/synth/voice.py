"""A voice-like lead: formant synthesis that follows each syllable's vowel.

Each sung note is a glottal-like harmonic source shaped by the formant envelope of its vowel (the
amplitude of harmonic *k* is the source slope times the vocal-tract resonances at ``k·f0``), built as one
wavetable per (vowel, pitch) and read with vibrato and an onset scoop. Consonants are short bursts of
band-limited noise (plosives, sibilants, fricatives, breath) or a glide from a neighbouring shape
(nasals hum, liquids glide from "oo"). A little breath noise follows the vowel's loudness.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from minimax_nb.synth.dsp import Array, add_at, fft_filter, harmonic_table, max_harmonics, osc, phase_of

__all__ = ["FORMANTS", "NoiseBank", "VoiceNote", "formant_table", "sing"]

# (F1, F2, F3, F4) in Hz for a lower voice, and the relative level of each formant.
FORMANTS: dict[str, tuple[tuple[float, float, float, float], tuple[float, float, float, float]]] = {
    "a": ((730.0, 1090.0, 2440.0, 3300.0), (1.0, 0.55, 0.22, 0.12)),
    "e": ((530.0, 1840.0, 2480.0, 3400.0), (1.0, 0.45, 0.25, 0.12)),
    "I": ((390.0, 1990.0, 2550.0, 3400.0), (1.0, 0.40, 0.22, 0.10)),
    "i": ((290.0, 2250.0, 3000.0, 3600.0), (1.0, 0.25, 0.22, 0.10)),
    "o": ((570.0, 840.0, 2410.0, 3300.0), (1.0, 0.60, 0.15, 0.08)),
    "u": ((310.0, 870.0, 2240.0, 3300.0), (1.0, 0.35, 0.10, 0.06)),
    "y": ((520.0, 1190.0, 2390.0, 3300.0), (1.0, 0.50, 0.20, 0.10)),
    "m": ((280.0, 1000.0, 2200.0, 3300.0), (1.0, 0.05, 0.02, 0.01)),  # a nasal hum
}
_BANDWIDTHS = (80.0, 100.0, 140.0, 200.0)


@functools.lru_cache(maxsize=512)
def formant_table(vowel: str, f0: float, sample_rate: int, scale: float, bright: float = 1.0) -> Array:
    """The wavetable of one period of ``vowel`` sung at ``f0`` Hz (formants scaled by ``scale``)."""
    freqs, levels = FORMANTS.get(vowel, FORMANTS["y"])
    k = np.arange(1, max_harmonics(f0, sample_rate, 6000.0 * scale) + 1, dtype=np.float64)
    f = k * f0
    env = np.full_like(f, 0.02)
    for fc, lv, bw in zip(freqs, levels, _BANDWIDTHS, strict=True):
        fc *= scale
        bw *= scale * (1.0 + f0 / 400.0)  # high notes widen the resonances
        env += lv * (1.0 / np.sqrt(1.0 + ((f - fc) / (bw / 2.0)) ** 2)) * (bright if fc > 2000 else 1.0)
    # The "singer's formant": a cluster near 3 kHz that lets a voice carry over a band.
    env += 0.22 * bright / np.sqrt(1.0 + ((f - 3000.0 * scale) / 300.0) ** 2)
    source = 1.0 / k**1.1
    # Alternate phases a little so the wave is not a buzzy pulse.
    phases = (np.arange(k.size) * 1.3) % (2 * np.pi)
    return harmonic_table(source * env, phases)


class NoiseBank:
    """Pre-filtered noise slices for consonants and breath, made once per render (seeded)."""

    def __init__(self, sample_rate: int, rng: np.random.Generator) -> None:
        n = sample_rate // 2
        white = rng.standard_normal(n).astype(np.float32)
        self.sample_rate = sample_rate
        ny = 0.45 * sample_rate
        self.bands: dict[str, Array] = {
            "sibilant": _norm(fft_filter(white, sample_rate, min(4200.0, ny * 0.6), min(9000.0, ny))),
            "fricative": _norm(fft_filter(white, sample_rate, min(1600.0, ny * 0.4), min(7000.0, ny))),
            "breath": _norm(fft_filter(white, sample_rate, 500.0, min(3500.0, ny))),
            "plosive": _norm(fft_filter(white, sample_rate, 900.0, min(5000.0, ny))),
            "air": _norm(fft_filter(white, sample_rate, min(2500.0, ny * 0.5), min(8000.0, ny))),
        }

    def take(self, kind: str, n: int, offset: int) -> Array:
        """``n`` samples of band ``kind`` starting near ``offset`` (wrapping around)."""
        band = self.bands[kind]
        start = offset % max(band.size - n, 1)
        if n <= band.size - start:
            return band[start : start + n]
        return np.resize(band, n)


def _norm(x: Array) -> Array:
    peak = float(np.max(np.abs(x))) or 1.0
    return (x / peak).astype(np.float32)


@dataclasses.dataclass(frozen=True, slots=True)
class VoiceNote:
    """One sung note: where it starts, how long it lasts (samples), its pitch and its syllable sounds."""

    start: int
    length: int
    midi: float
    vowel: str
    onset: str
    coda: str
    gain: float = 1.0
    glide: float = 0.0  # legato: relative pitch the note slides in from (0.05 = from 5 % below)
    prev_vowel: str = ""  # legato: the vowel it slides in from
    offglide: str = ""  # a diphthong: the vowel the note moves to at its end (night: a → i)


def sing(
    bus: Array,
    notes: list[VoiceNote],
    sample_rate: int,
    noise: NoiseBank,
    *,
    formant_scale: float = 1.0,
    vibrato: float = 0.006,
    bright: float = 1.0,
    consonants: bool = True,
    breath: float = 0.04,
) -> None:
    """Render ``notes`` into the mono ``bus`` (in place).

    Small deterministic variations per note (vibrato rate, a few cents of pitch, loudness) keep the
    voice from sounding mechanical; a soft breath comes before each phrase.
    """
    sr = sample_rate
    for idx, note in enumerate(notes):
        n = note.length
        if n <= 8:
            continue
        wobble = ((note.start * 2654435761) % 1000) / 1000.0  # a cheap per-note hash in [0, 1)
        cents = (wobble - 0.5) * 8.0
        f0 = float(440.0 * 2.0 ** ((note.midi + cents / 100.0 - 69.0) / 12.0))
        if consonants and not note.prev_vowel and breath:
            # An inhale before the phrase.
            m = int(0.22 * sr)
            inhale = noise.take("breath", m, idx * 389 + note.start)
            shape = np.sin(np.linspace(0.0, np.pi, m, dtype=np.float32)) ** 2
            add_at(bus, note.start - m - int(0.04 * sr), inhale * shape, 0.35 * breath * note.gain)
        f0r = round(f0, 1)
        phase = phase_of(
            f0,
            n,
            sr,
            vibrato_hz=5.1 + 0.7 * wobble,
            vibrato_depth=vibrato,
            vibrato_delay_s=0.18,
            scoop=note.glide if note.prev_vowel else (0.025 if note.onset != "plosive" else 0.012),
            scoop_s=0.09 if note.prev_vowel else 0.07,
            phase0=(idx * 0.37) % 1.0,
        )
        vowel_tab = formant_table(note.vowel, f0r, sr, formant_scale, bright)
        sig = osc(vowel_tab, phase)
        glide_from = {"nasal": "m", "liquid": "u"}.get(note.onset) if consonants else None
        if note.prev_vowel and note.onset in ("", "breath") and note.prev_vowel != note.vowel:
            glide_from = note.prev_vowel  # coarticulation: slide from the last vowel
        if glide_from is not None:
            g = min(int(0.07 * sr), n // 2)
            start_tab = formant_table(glide_from, f0r, sr, formant_scale, bright)
            head = osc(start_tab, phase[:g])
            w = np.linspace(0.0, 1.0, g, dtype=np.float32)
            sig[:g] = head * (1.0 - w) + sig[:g] * w
        if note.offglide and note.offglide != note.vowel:
            # Diphthong: move to the second vowel over the last part of the note.
            g = min(int(0.16 * sr), int(n * 0.45))
            if g > 8:
                off_tab = formant_table(note.offglide, f0r, sr, formant_scale, bright)
                w = np.linspace(0.0, 1.0, g, dtype=np.float32) ** 1.5
                sig[n - g :] = sig[n - g :] * (1.0 - w) + osc(off_tab, phase[n - g :]) * w
        attack = 0.012 if note.onset == "plosive" else (0.025 if note.prev_vowel else 0.04)
        release = min(0.06, n / sr / 3)
        t = np.arange(n, dtype=np.float32) / sr
        env = np.minimum(t / attack, 1.0) * (0.82 + 0.18 * np.exp(-t / 0.25))
        rel = int(release * sr)
        if rel > 1:
            env[n - rel :] *= np.linspace(1.0, 0.0, rel, dtype=np.float32) ** 1.5
        sig *= env
        if breath:
            sig += breath * env * noise.take("air", n, note.start * 7 + idx * 131)
        add_at(bus, note.start, sig, 0.5 * note.gain * (0.9 + 0.2 * wobble))
        if not consonants:
            continue
        # Consonant noises before (onset) and at the end (coda) of the vowel.
        onset_spec = {
            "sibilant": ("sibilant", 0.075, 0.22),
            "fricative": ("fricative", 0.06, 0.12),
            "breath": ("breath", 0.05, 0.10),
            "plosive": ("plosive", 0.014, 0.35),
        }.get(note.onset)
        if onset_spec:
            band, dur, amp = onset_spec
            m = int(dur * sr)
            burst = noise.take(band, m, idx * 977 + note.start)
            shape = (
                np.sin(np.linspace(0.0, np.pi, m, dtype=np.float32))
                if band != "plosive"
                else (np.exp(-np.arange(m, dtype=np.float32) / (0.004 * sr)))
            )
            add_at(bus, note.start - (m if band != "plosive" else 0), burst * shape, amp * note.gain)
        coda_spec = {
            "sibilant": ("sibilant", 0.09, 0.16),
            "plosive": ("plosive", 0.012, 0.22),
            "fricative": ("fricative", 0.06, 0.08),
        }.get(note.coda)
        if coda_spec:
            band, dur, amp = coda_spec
            m = min(int(dur * sr), n)
            burst = noise.take(band, m, idx * 613 + note.start)
            shape = np.sin(np.linspace(0.0, np.pi, m, dtype=np.float32))
            add_at(bus, note.start + n - m // 2, burst * shape, amp * note.gain)
