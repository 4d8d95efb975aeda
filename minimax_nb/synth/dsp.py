"""Small vectorised DSP building blocks (numpy only): wavetables, oscillators, envelopes, filters.

Everything works on float32 arrays. Oscillators read one period of a band-limited wavetable with linear
interpolation, so a note costs a handful of array operations whatever its harmonic content.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "TABLE_SIZE",
    "Array",
    "add_at",
    "adsr",
    "box_lowpass",
    "convolution_reverb",
    "f32",
    "fft_filter",
    "harmonic_table",
    "midi_hz",
    "osc",
]

Array = npt.NDArray[np.float32]
TABLE_SIZE = 2048


def f32(x: npt.ArrayLike) -> Array:
    """``x`` as a float32 array (no copy when it already is one)."""
    out: Array = np.asarray(x, dtype=np.float32)
    return out


def midi_hz(note: float) -> float:
    """The frequency of a MIDI note number (A4 = 69 = 440 Hz)."""
    return float(440.0 * 2.0 ** ((note - 69.0) / 12.0))


def harmonic_table(amps: npt.ArrayLike, phases: npt.ArrayLike | None = None) -> Array:
    """One period of ``sum_k amps[k-1] * sin(2π k x + phases[k-1])``, normalised to peak 1.

    Built with one inverse FFT. The table has ``TABLE_SIZE + 1`` entries (the first repeated at the end)
    for interpolation.
    """
    a = np.asarray(amps, dtype=np.float64)[: TABLE_SIZE // 2 - 1]
    ph = np.zeros_like(a) if phases is None else np.asarray(phases, dtype=np.float64)[: a.size]
    spec = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spec[1 : a.size + 1] = a * np.exp(1j * (ph - np.pi / 2))  # sin = cos shifted by -90°
    wave = np.fft.irfft(spec, n=TABLE_SIZE)
    peak = float(np.max(np.abs(wave))) or 1.0
    out = np.empty(TABLE_SIZE + 1, dtype=np.float32)
    out[:-1] = wave / peak
    out[-1] = out[0]
    return out


def max_harmonics(freq: float, sample_rate: int, ceiling_hz: float | None = None) -> int:
    """How many harmonics of ``freq`` fit below ~0.45 × the sample rate (and ``ceiling_hz``)."""
    top = 0.45 * sample_rate if ceiling_hz is None else min(ceiling_hz, 0.45 * sample_rate)
    return max(1, int(top // max(freq, 1.0)))


def phase_of(
    freq: float,
    n: int,
    sample_rate: int,
    *,
    vibrato_hz: float = 0.0,
    vibrato_depth: float = 0.0,
    vibrato_delay_s: float = 0.0,
    scoop: float = 0.0,
    scoop_s: float = 0.06,
    phase0: float = 0.0,
) -> npt.NDArray[np.float64]:
    """Phase (in cycles, float64) of a tone at ``freq`` with optional delayed vibrato and onset scoop.

    ``vibrato_depth`` and ``scoop`` are relative frequency deviations (0.01 = 1 %); the scoop starts the
    note that much flat and glides up over ``scoop_s``.
    """
    t = np.arange(n, dtype=np.float64) / sample_rate
    if not vibrato_depth and not scoop:
        return phase0 + freq * t
    dev = np.zeros(n, dtype=np.float64)
    if vibrato_depth:
        ramp = np.clip((t - vibrato_delay_s) / 0.25, 0.0, 1.0)
        dev += vibrato_depth * ramp * np.sin(2 * np.pi * vibrato_hz * t)
    if scoop:
        dev -= scoop * np.clip(1.0 - t / scoop_s, 0.0, 1.0) ** 2
    inst = freq * (1.0 + dev) / sample_rate
    return phase0 + np.cumsum(inst)


def osc(table: Array, phase: npt.NDArray[np.float64]) -> Array:
    """Read ``table`` at ``phase`` (cycles) with linear interpolation."""
    pos = (phase - np.floor(phase)) * TABLE_SIZE
    idx = pos.astype(np.int64)
    frac = (pos - idx).astype(np.float32)
    a = table[idx]
    return a + (table[idx + 1] - a) * frac


def adsr(
    n: int,
    sample_rate: int,
    attack: float,
    decay: float,
    sustain: float,
    release: float,
    *,
    curve: float = 1.0,
) -> Array:
    """An attack/decay/sustain/release envelope of ``n`` samples; the release ends at the last sample.

    ``decay`` is the time constant (s) of the exponential fall from 1 to ``sustain``.
    """
    t = np.arange(n, dtype=np.float32) / sample_rate
    env = sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) / max(decay, 1e-4))
    if attack > 0:
        env *= np.minimum(t / attack, 1.0) ** curve
    rel = int(min(release * sample_rate, n))
    if rel > 1:
        env[n - rel :] *= np.linspace(1.0, 0.0, rel, dtype=np.float32) ** 2
    return env.astype(np.float32, copy=False)


def add_at(bus: Array, start: int, sig: Array, gain: float = 1.0) -> None:
    """Mix ``sig`` into ``bus`` (1-D or 2-D, same trailing shape) from sample ``start``, clipped to fit."""
    if start >= bus.shape[0] or sig.shape[0] == 0:
        return
    s0 = max(start, 0)
    cut = s0 - start
    end = min(bus.shape[0], start + sig.shape[0])
    if end <= s0:
        return
    if gain == 1.0:
        bus[s0:end] += sig[cut : cut + end - s0]
    else:
        bus[s0:end] += gain * sig[cut : cut + end - s0]


def box_lowpass(x: Array, width: int, passes: int = 2) -> Array:
    """A cheap low-pass: ``passes`` centred moving averages of ``width`` samples (1-D audio).

    Runs in float32 (fine for zero-mean audio: the running sum stays small).
    """
    if width <= 1 or x.shape[0] <= width:
        return x
    y = x
    half = width // 2
    inv = np.float32(1.0 / width)
    for _ in range(passes):
        padded = np.concatenate(
            [np.full(half + 1, y[0], dtype=np.float32), y, np.full(width - half, y[-1], dtype=np.float32)]
        )
        c = np.cumsum(padded, dtype=np.float32)
        y = (c[width:] - c[:-width])[: x.shape[0]]
        y *= inv
    return f32(y)


def fft_filter(
    x: Array, sample_rate: int, low_hz: float | None, high_hz: float | None, *, slope: float = 1.0
) -> Array:
    """Band-limit a (short) 1-D signal in the frequency domain with soft edges.

    ``low_hz`` is the high-pass corner, ``high_hz`` the low-pass corner (either may be ``None``).
    """
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.shape[0], 1.0 / sample_rate)
    gain = np.ones_like(f)
    if low_hz:
        gain /= np.sqrt(1.0 + (low_hz / np.maximum(f, 1e-3)) ** (4 * slope))
    if high_hz:
        gain /= np.sqrt(1.0 + (f / high_hz) ** (4 * slope))
    return np.fft.irfft(spec * gain, n=x.shape[0]).astype(np.float32)


def convolution_reverb(
    send: Array,
    sample_rate: int,
    rng: np.random.Generator,
    *,
    decay_s: float = 0.28,
    length_s: float = 1.6,
    predelay_s: float = 0.018,
) -> tuple[Array, Array]:
    """A stereo reverb tail of the mono ``send``: FFT convolution with two decaying noise bursts.

    Runs at about 8–11 kHz (block-averaged, which also darkens the tail) and is interpolated back, so a
    minute of audio costs a few FFTs of ~2^20 points. Returns ``(left, right)`` wet signals.
    """
    n = send.shape[0]
    factor = max(1, sample_rate // 8000)
    m = n // factor
    if m < 16:
        z = np.zeros(n, dtype=np.float32)
        return z, z.copy()
    low = send[: m * factor].reshape(m, factor).mean(axis=1, dtype=np.float32)
    lr = sample_rate / factor
    k = max(16, int(length_s * lr))
    t = np.arange(k, dtype=np.float32) / np.float32(lr)
    env = np.exp(-t / np.float32(decay_s)) * np.minimum(t / np.float32(0.012), 1.0)
    pre = int(predelay_s * lr)
    size = _fft_size(m + k + pre)
    spec = np.fft.rfft(low, n=size)
    out: list[Array] = []
    for _ in range(2):
        ir = np.zeros(k + pre, dtype=np.float32)
        ir[pre:] = rng.standard_normal(k).astype(np.float32) * env
        ir *= np.float32(1.0 / np.sqrt(float(np.sum(ir * ir)) * 8.0 + 1e-9))
        wet = np.fft.irfft(spec * np.fft.rfft(ir, n=size), n=size)[:m]
        out.append(_upsample(f32(wet), factor, n))
    return out[0], out[1]


def _upsample(x: Array, factor: int, n: int) -> Array:
    """Linear interpolation of ``x`` by an integer ``factor`` to exactly ``n`` samples."""
    if factor == 1:
        return f32(np.concatenate([x, np.zeros(max(0, n - x.shape[0]), dtype=np.float32)])[:n])
    nxt = np.empty_like(x)
    nxt[:-1] = x[1:]
    nxt[-1] = 0.0
    frac = np.arange(factor, dtype=np.float32) / np.float32(factor)
    up = (x[:, None] + (nxt - x)[:, None] * frac[None, :]).reshape(-1)
    if up.shape[0] < n:
        up = np.concatenate([up, np.zeros(n - up.shape[0], dtype=np.float32)])
    return f32(up[:n])


def _fft_size(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ ``n`` (sizes pocketfft transforms fastest)."""
    best = 1 << int(np.ceil(np.log2(max(n, 1))))
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best
