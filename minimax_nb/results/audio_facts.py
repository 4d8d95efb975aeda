"""Facts measured from an audio file: duration, rate, channels, bitrate, levels, loudness and tempo.

    from minimax_nb.results.audio_facts import measure_file, integrated_loudness
    facts = measure_file("song.mp3")         # AudioFacts(measured_duration_s=61.3, ...)

Levels are in dBFS with 0 dBFS = a sample at full scale: ``peak_dbfs`` is the sample peak over all
channels; ``rms_dbfs`` is the plain RMS over all samples of all channels (a full-scale sine reads
-3.01 dBFS). Digital silence reads ``-inf``.

``loudness_lufs`` is integrated loudness per ITU-R BS.1770-4: K-weighting (the standard's two biquads:
a +4 dB high shelf near 1.7 kHz and the RLB high-pass near 38 Hz, derived for any sample rate from their
analog prototypes, which gives exactly the standard's 48 kHz coefficients), mean square per channel over
400 ms blocks overlapping by 75 %, channel weights 1.0 (1.41 for the surround pair of 5.1), an absolute
gate at -70 LUFS and a relative gate 10 LU below the ungated loudness. The biquads are applied with
numpy only: their impulse response, taken from their exact frequency response and cut where it has
decayed below 1e-12, is applied by FFT overlap-add (identical to running the recursion to ~1e-12).
A 1 kHz sine at -20 dBFS peak in one channel reads -23.01 LUFS, in both stereo channels -20.00 LUFS
(the standard: a 0 dBFS 1 kHz sine in one channel reads -3.01). Shorter than one 400 ms block:
``None``.

``tempo_bpm`` is a cheap estimate: a spectral-flux onset envelope (the mean rise, in dB, of 24
log-spaced bands in 10 ms frames), its autocorrelation over 50-220 BPM with a log-normal preference
around 120 BPM, and parabolic interpolation of the best lag. Good on music with a clear beat (it finds
the preset tempo of every style of the offline synthesizer); ``None`` when there is none. Like every
such estimate it can be off by an octave (half or double) on real music.

Measurements are cached by the file's SHA-256 in a ``FactsCache``: a small SQLite file next to the
ledger (``ledger.sqlite`` -> ``ledger.audio_facts.sqlite``), or this process's memory for an in-memory
ledger. The ledger itself is only the journal of jobs; the cache belongs to the results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from minimax_nb.ledger import Ledger

__all__ = [
    "FACTS_VERSION",
    "AudioFacts",
    "FactsCache",
    "estimate_tempo",
    "integrated_loudness",
    "k_weighting_coefficients",
    "k_weighting_impulse",
    "k_weighting_response",
    "measure_array",
    "measure_file",
    "onset_strength",
]

#: Bumped whenever a measurement changes, so cached facts of an older version are measured again.
FACTS_VERSION = 1

Float = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True, slots=True)
class AudioFacts:
    """What ``measure_file`` found. Field names are the DataFrame column names."""

    measured_duration_s: float | None = None
    measured_sample_rate: int | None = None
    channels: int | None = None
    bitrate_kbps: float | None = None
    peak_dbfs: float | None = None
    rms_dbfs: float | None = None
    loudness_lufs: float | None = None
    tempo_bpm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioFacts:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# ------------------------------------------------------------------ K-weighting (BS.1770)

Biquad = tuple[tuple[float, float, float], tuple[float, float, float]]


def k_weighting_coefficients(sample_rate: float) -> tuple[Biquad, Biquad]:
    """The two K-weighting biquads ``((b0, b1, b2), (1, a1, a2))`` for ``sample_rate``.

    At 48 kHz these are the coefficients printed in ITU-R BS.1770-4 (stage 1: high shelf; stage 2:
    RLB high-pass).
    """
    fs = float(sample_rate)
    # stage 1: high shelf (+3.9998 dB above ~1.68 kHz)
    gain_db, f0, q = 3.999843853973347, 1681.974450955533, 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf: Biquad = (
        ((vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0),
        (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0),
    )
    # stage 2: RLB high-pass (~38 Hz)
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / fs)
    a0 = 1.0 + k / q + k * k
    highpass: Biquad = ((1.0, -2.0, 1.0), (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0))
    return shelf, highpass


def _biquad_response(bq: Biquad, z1: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
    """H(z) of one biquad at ``z1 = exp(-j w)``."""
    (b0, b1, b2), (_, a1, a2) = bq
    z2 = z1 * z1
    return (b0 + b1 * z1 + b2 * z2) / (1.0 + a1 * z1 + a2 * z2)


def k_weighting_response(sample_rate: float, n_fft: int) -> npt.NDArray[np.complex128]:
    """The K-weighting frequency response on the ``rfft`` bins of an ``n_fft``-point transform."""
    w = 2.0 * np.pi * np.arange(n_fft // 2 + 1) / n_fft
    z1 = np.exp(-1j * w)
    shelf, highpass = k_weighting_coefficients(sample_rate)
    return _biquad_response(shelf, z1) * _biquad_response(highpass, z1)


def _fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n (FFT-friendly)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def k_weighting_impulse(sample_rate: int, tol: float = 1e-12) -> Float:
    """The K-weighting filter's impulse response, cut where it has decayed below ``tol``.

    Its length follows from the largest pole radius r of the two biquads: ``log(tol) / log(r)``
    samples (about 0.1 s at 48 kHz). Computed from the exact frequency response on a grid four times
    longer, so the aliased tail is below ``tol`` too.
    """
    radius = max(float(np.max(np.abs(np.roots(bq[1])))) for bq in k_weighting_coefficients(sample_rate))
    taps = max(64, math.ceil(math.log(tol) / math.log(radius)))
    grid = 1 << (4 * taps - 1).bit_length()
    return np.fft.irfft(k_weighting_response(sample_rate, grid), grid)[:taps]


_IMPULSES: dict[int, Float] = {}


def _k_weight(x: Float, sample_rate: int) -> Float:
    """K-weight every channel of ``x`` (frames x channels): the biquads' impulse response (exact to
    1e-12) applied by FFT overlap-add in blocks, as fast as numpy goes and without scipy."""
    h = _IMPULSES.get(sample_rate)
    if h is None:
        h = _IMPULSES[sample_rate] = k_weighting_impulse(sample_rate)
    taps = h.shape[0]
    n = x.shape[0]
    n_fft = 1 << (4 * taps - 1).bit_length()
    hop = n_fft - taps + 1  # >= 3 x taps: a block's tail only reaches into the next block
    blocks = max(1, -(-n // hop))
    spectrum = np.fft.rfft(h, n_fft)
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        padded = np.zeros(blocks * hop)
        padded[:n] = x[:, c]
        y = np.fft.irfft(np.fft.rfft(padded.reshape(blocks, hop), n_fft, axis=1) * spectrum, n_fft, axis=1)
        acc = np.zeros((blocks + 1) * hop)
        acc[: blocks * hop] = y[:, :hop].ravel()
        tail = y[:, hop:]  # taps - 1 samples that spill into the next block
        acc[hop:].reshape(blocks, hop)[:, : tail.shape[1]] += tail
        out[:, c] = acc[:n]
    return out


def _channel_weights(channels: int) -> Float:
    w = np.ones(channels)
    if channels == 6:  # 5.1 as L R C LFE Ls Rs: LFE is left out, surrounds weigh 1.41
        w[3] = 0.0
        w[4:6] = 1.41
    return w


def integrated_loudness(samples: npt.ArrayLike, sample_rate: int) -> float | None:
    """Integrated loudness (LUFS) of ``samples`` (frames, or frames x channels, floats in [-1, 1]).

    ``None`` when shorter than one 400 ms block; ``-inf`` when every block is below the absolute gate.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    block = round(0.4 * sample_rate)
    step = round(0.1 * sample_rate)
    n = x.shape[0]
    if n < block or block == 0:
        return None
    y = _k_weight(x, sample_rate)
    # mean square of every 400 ms block with a 100 ms step, via cumulative sums of y^2
    csum = np.zeros((n + 1, y.shape[1]))
    np.cumsum(y * y, axis=0, out=csum[1:])
    starts = np.arange(0, n - block + 1, step)
    z = (csum[starts + block] - csum[starts]) / block  # blocks x channels
    weights = _channel_weights(x.shape[1])
    power = z @ weights
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10.0 * np.log10(power)
    above_abs = lk > -70.0
    if not above_abs.any():
        return float("-inf")
    ungated = -0.691 + 10.0 * math.log10(float(power[above_abs].mean()))
    gated = above_abs & (lk > ungated - 10.0)
    return float(-0.691 + 10.0 * math.log10(float(power[gated].mean())))


# ------------------------------------------------------------------ tempo


def onset_strength(samples: npt.ArrayLike, sample_rate: int, *, hop_s: float = 0.01,
                   bands: int = 24) -> tuple[npt.NDArray[np.float32], float]:
    """Spectral flux: per frame, the mean rise (dB) of ``bands`` log-spaced bands from 40 Hz to 12 kHz.

    Returns ``(envelope, frames_per_second)``; the envelope is empty for audio shorter than a frame.
    """
    x = np.asarray(samples)
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = x.astype(np.float32, copy=False)
    hop = max(1, round(sample_rate * hop_s))
    n_fft = 1 << (4 * hop - 1).bit_length()
    fps = sample_rate / hop
    frames = 1 + (x.shape[0] - n_fft) // hop if x.shape[0] >= n_fft else 0
    if frames < 3:
        return np.zeros(0, dtype=np.float32), fps
    window = np.hanning(n_fft).astype(np.float32)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = np.searchsorted(freqs, np.geomspace(40.0, min(sample_rate / 2.0, 12000.0), bands + 1))
    power = np.empty((frames, bands), dtype=np.float32)
    view = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:frames]
    for i in range(0, frames, 2048):  # chunks keep the spectrogram small
        spec = np.abs(np.fft.rfft(view[i:i + 2048] * window, axis=1)) ** 2
        csum = np.zeros((spec.shape[0], spec.shape[1] + 1), dtype=np.float64)
        np.cumsum(spec, axis=1, out=csum[:, 1:])
        power[i:i + 2048] = csum[:, edges[1:]] - csum[:, edges[:-1]]
    db = 10.0 * np.log10(power + 1e-10)
    db = np.maximum(db, db.max() - 80.0)
    return np.maximum(np.diff(db, axis=0), 0.0).mean(axis=1), fps


def estimate_tempo(samples: npt.ArrayLike, sample_rate: int, *, low: float = 50.0,
                   high: float = 220.0) -> float | None:
    """A cheap tempo estimate in BPM, or ``None`` without a clear beat.

    The autocorrelation of the spectral-flux onset envelope (detrended over 1 s), searched over
    ``low``-``high`` BPM with a log-normal preference (one octave wide) around 120 BPM, refined by
    parabolic interpolation.
    """
    env, fps = onset_strength(samples, sample_rate)
    max_lag = int(fps * 60.0 / low) + 1
    if env.shape[0] < 3 * max_lag or float(env.max(initial=0.0)) < 1.0:
        return None  # too short to see a few beats, or nothing ever rises by 1 dB
    width = max(1, round(fps))
    env64 = env.astype(np.float64)
    env64 -= np.convolve(env64, np.ones(width) / width, mode="same")
    n = env64.shape[0]
    n_fft = _fast_len(2 * n)
    spec = np.fft.rfft(env64, n_fft)
    ac = np.fft.irfft(spec * np.conj(spec), n_fft)[: max_lag + 2]
    if ac[0] <= 0:
        return None
    ac /= ac[0]
    lags = np.arange(max(2, int(fps * 60.0 / high)), max_lag + 1)
    bpm = 60.0 * fps / lags
    prior = np.exp(-0.5 * np.log2(bpm / 120.0) ** 2)
    i = int(np.argmax(ac[lags] * prior))
    best = int(lags[i])
    if ac[best] < 0.1:  # no periodicity to speak of
        return None
    y0, y1, y2 = ac[best - 1], ac[best], ac[best + 1]
    den = y0 - 2.0 * y1 + y2
    lag = best + (0.5 * (y0 - y2) / den if den < 0 else 0.0)
    return float(60.0 * fps / lag)


# ------------------------------------------------------------------ the whole file


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0 else float("-inf")


def measure_array(samples: npt.ArrayLike, sample_rate: int, *, file_bytes: int | None = None,
                  tempo: bool = True) -> AudioFacts:
    """Measure decoded ``samples`` (frames, or frames x channels). ``file_bytes`` gives the bitrate."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    frames, channels = x.shape
    duration = frames / sample_rate if sample_rate else None
    if frames == 0:
        return AudioFacts(measured_duration_s=0.0, measured_sample_rate=sample_rate, channels=channels)
    peak = float(np.max(np.abs(x)))
    rms = math.sqrt(float(np.mean(x * x)))
    bitrate = (file_bytes * 8 / duration / 1000.0) if file_bytes and duration else None
    return AudioFacts(
        measured_duration_s=duration,
        measured_sample_rate=int(sample_rate),
        channels=int(channels),
        bitrate_kbps=bitrate,
        peak_dbfs=_db(peak),
        rms_dbfs=_db(rms),
        loudness_lufs=integrated_loudness(x, sample_rate),
        tempo_bpm=estimate_tempo(x, sample_rate) if tempo else None,
    )


def measure_file(path: str | os.PathLike[str], *, tempo: bool = True) -> AudioFacts:
    """Decode ``path`` with soundfile (WAV, MP3, FLAC, OGG…) and measure it."""
    import soundfile as sf

    p = Path(path)
    data, rate = sf.read(str(p), dtype="float32", always_2d=True)
    return measure_array(data, int(rate), file_bytes=p.stat().st_size, tempo=tempo)


# --------------------------------------------------------------------------------------------------
# the cache of measurements, by sha256
# --------------------------------------------------------------------------------------------------

_MEMORY: dict[tuple[str, int], dict[str, Any]] = {}
_MEMORY_MAX = 65536
_MEMORY_LOCK = threading.Lock()


class FactsCache:
    """Audio measurements by the file's SHA-256 (and ``FACTS_VERSION``).

    ``FactsCache(path)`` keeps them in a SQLite file (created on first use); ``FactsCache(None)`` in this
    process's memory (shared by every in-memory cache: the key is the content's hash).
    ``FactsCache.for_ledger(ledger)`` is the one next to a ledger file.
    """

    def __init__(self, path: str | os.PathLike[str] | None, *, timeout: float = 30.0) -> None:
        self.path = None if path is None else Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False,
                                   isolation_level=None)
            with contextlib.suppress(sqlite3.OperationalError):  # another process switched it already
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS audio_facts (sha256 TEXT NOT NULL, version INTEGER "
                         "NOT NULL, facts TEXT NOT NULL, PRIMARY KEY (sha256, version))")
            self._conn = conn

    @classmethod
    def for_ledger(cls, ledger: Ledger) -> FactsCache:
        """The cache next to ``ledger``'s file (``x.sqlite`` -> ``x.audio_facts.sqlite``); in memory for
        an in-memory ledger. A new cache file starts with the facts older ledgers kept inside."""
        if ledger.path is None:
            return cls(None)
        path = ledger.path.with_name(ledger.path.stem + ".audio_facts.sqlite")
        fresh = not path.exists()
        cache = cls(path)
        if fresh and ledger.path.exists():
            cache._import_legacy(ledger.path)
        return cache

    def _import_legacy(self, ledger_path: Path) -> None:
        try:
            src = sqlite3.connect(f"{ledger_path.as_uri()}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error:
            return
        try:
            rows = src.execute("SELECT sha256, version, facts FROM audio_facts").fetchall()
        except sqlite3.Error:
            rows = []
        finally:
            src.close()
        if rows and self._conn is not None:
            with self._lock:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO audio_facts (sha256, version, facts) VALUES (?, ?, ?)", rows)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("this FactsCache is closed")

    def get(self, shas: Iterable[str], version: int = FACTS_VERSION) -> dict[str, dict[str, Any]]:
        """The cached measurements of these hashes (of ``version``): ``{sha256: {name: value}}``."""
        wanted = sorted(set(shas))
        self._check_open()
        if self._conn is None:
            with _MEMORY_LOCK:
                return {sha: dict(_MEMORY[(sha, version)]) for sha in wanted if (sha, version) in _MEMORY}
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                marks = ", ".join("?" * len(chunk))
                for sha, facts in self._conn.execute(
                        f"SELECT sha256, facts FROM audio_facts WHERE version = ? AND sha256 IN ({marks})",
                        (version, *chunk)):
                    out[sha] = json.loads(facts)
        return out

    def put(self, facts: Mapping[str, Mapping[str, Any]], version: int = FACTS_VERSION) -> None:
        """Store measurements (``{sha256: {name: value}}``)."""
        self._check_open()
        if not facts:
            return
        if self._conn is None:
            with _MEMORY_LOCK:
                if len(_MEMORY) + len(facts) > _MEMORY_MAX:
                    _MEMORY.clear()
                _MEMORY.update({(sha, version): dict(f) for sha, f in facts.items()})
            return
        rows = [(sha, version, json.dumps(dict(f), default=str)) for sha, f in facts.items()]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO audio_facts (sha256, version, facts) VALUES (?, ?, ?)", rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._closed = True

    def __enter__(self) -> FactsCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FactsCache {self.path or 'memory'}>"
