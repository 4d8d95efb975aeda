"""Measurements checked against audio with known properties (and against ITU-R BS.1770 / EBU 3341)."""

from __future__ import annotations

from pathlib import Path

import lameenc
import numpy as np
import pytest

from minimax_nb.results.audio_facts import (
    estimate_tempo,
    integrated_loudness,
    k_weighting_coefficients,
    k_weighting_response,
    measure_array,
    measure_file,
)

from ._support import sine, write_wav

# ITU-R BS.1770-4, tables 1 and 2 (48 kHz)
BS1770_STAGE1 = ((1.53512485958697, -2.69169618940638, 1.19839281085285),
                 (1.0, -1.69065929318241, 0.73248077421585))
BS1770_STAGE2 = ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))


def lfilter(b: tuple[float, ...], a: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """The biquad recursion, sample by sample (direct form I): the reference for the FFT path."""
    y = np.zeros_like(x)
    x1 = x2 = y1 = y2 = 0.0
    for n, xn in enumerate(x):
        yn = b[0] * xn + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
        x2, x1, y2, y1 = x1, xn, y1, yn
        y[n] = yn
    return y


def stereo(x: np.ndarray) -> np.ndarray:
    return np.stack([x, x], axis=1)


def test_coefficients_at_48k_are_the_standards() -> None:
    shelf, highpass = k_weighting_coefficients(48000)
    np.testing.assert_allclose(np.array(shelf), np.array(BS1770_STAGE1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.array(highpass), np.array(BS1770_STAGE2), rtol=0, atol=1e-12)


@pytest.mark.parametrize("rate", [48000, 44100, 16000])
def test_fft_filtering_matches_the_recursion(rate: int) -> None:
    from minimax_nb.results.audio_facts import _k_weight

    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.2, 3000)
    x[1000:1100] += 0.8  # a step: exercises the low end
    shelf, highpass = k_weighting_coefficients(rate)
    expected = lfilter(highpass[0], highpass[1], lfilter(shelf[0], shelf[1], x))
    got = _k_weight(x[:, None], rate)[:, 0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_k_weighting_gain_at_1khz_is_about_0_69_db() -> None:
    n = 48000
    h = k_weighting_response(48000, n)
    gain_db = 20 * np.log10(abs(h[1000]))  # bin 1000 of a 48000-point FFT at 48 kHz is 1 kHz
    assert gain_db == pytest.approx(0.691, abs=0.02)
    assert 20 * np.log10(abs(h[10])) < -8  # 10 Hz is cut by the RLB high-pass


@pytest.mark.parametrize("rate", [48000, 44100, 32000])
def test_sine_at_minus_20_dbfs(rate: int) -> None:
    x = sine(-20.0, 10.0, rate)
    # BS.1770: a 0 dBFS 1 kHz sine in one channel reads -3.01 LKFS; so -20 dBFS reads -23.01 in one
    # channel and, in both channels of a stereo pair, 3.01 dB more: -20.00.
    assert integrated_loudness(x, rate) == pytest.approx(-23.01, abs=0.05)
    assert integrated_loudness(stereo(x), rate) == pytest.approx(-20.0, abs=0.05)


@pytest.mark.parametrize(("parts", "expected"), [
    ([(-23.0, 20.0)], -23.0),                                              # EBU Tech 3341 case 1
    ([(-33.0, 20.0)], -33.0),                                              # case 2
    ([(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0),                # case 3: relative gate
    ([(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)], -23.0),  # case 4
    ([(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)], -23.0),                # case 5
])
def test_ebu_tech_3341_cases(parts: list[tuple[float, float]], expected: float) -> None:
    x = np.concatenate([sine(db, secs) for db, secs in parts])
    assert integrated_loudness(stereo(x), 48000) == pytest.approx(expected, abs=0.1)


def test_silence_and_too_short() -> None:
    assert integrated_loudness(np.zeros(48000 * 2), 48000) == float("-inf")
    assert integrated_loudness(sine(-20, 0.3), 48000) is None
    facts = measure_array(np.zeros((4800, 2)), 48000)
    assert facts.peak_dbfs == float("-inf") and facts.rms_dbfs == float("-inf")


def test_levels_of_a_known_sine() -> None:
    facts = measure_array(stereo(sine(-6.0, 2.0, 44100)), 44100)
    assert facts.peak_dbfs == pytest.approx(-6.0, abs=0.01)
    assert facts.rms_dbfs == pytest.approx(-6.0 - 3.0103, abs=0.01)
    assert facts.channels == 2
    assert facts.measured_duration_s == pytest.approx(2.0)


def test_wav_file_facts(tmp_path: Path) -> None:
    rate = 22050
    x = sine(-12.0, 3.5, rate, freq=440.0)
    path = tmp_path / "mono.wav"
    write_wav(path, x, rate, subtype="PCM_16")
    facts = measure_file(path)
    assert facts.measured_sample_rate == rate
    assert facts.channels == 1
    assert facts.measured_duration_s == pytest.approx(3.5, abs=1e-6)
    assert facts.bitrate_kbps == pytest.approx(rate * 16 / 1000, rel=0.01)  # PCM: rate x bits (+ header)
    assert facts.peak_dbfs == pytest.approx(-12.0, abs=0.01)
    assert facts.loudness_lufs is not None and facts.loudness_lufs < -12


def test_mp3_file_facts(tmp_path: Path) -> None:
    rate = 44100
    x = stereo(sine(-20.0, 6.0, rate))
    enc = lameenc.Encoder()
    enc.set_bit_rate(128)
    enc.set_in_sample_rate(rate)
    enc.set_channels(2)
    enc.set_quality(2)
    pcm = (x * 32767).astype("<i2").tobytes()
    path = tmp_path / "s.mp3"
    path.write_bytes(enc.encode(pcm) + enc.flush())
    facts = measure_file(path)
    assert facts.measured_sample_rate == rate
    assert facts.channels == 2
    assert facts.measured_duration_s == pytest.approx(6.0, abs=0.1)  # encoder padding
    assert facts.bitrate_kbps == pytest.approx(128, rel=0.05)
    # the LAME round trip itself lowers a 1 kHz tone by ~0.4 dB here: levels within 0.7 dB
    assert facts.loudness_lufs == pytest.approx(-20.0, abs=0.7)
    assert facts.peak_dbfs == pytest.approx(-20.0, abs=0.7)


def click_track(bpm: float, seconds: float = 20.0, rate: int = 22050) -> np.ndarray:
    y = np.zeros(int(seconds * rate))
    burst = np.hanning(200) * np.sin(np.arange(200) * 0.3)
    period = 60.0 / bpm
    for k in range(int(seconds / period)):
        i = int(k * period * rate)
        y[i:i + 200] += burst[: len(y) - i]
    return y


@pytest.mark.parametrize("bpm", [72.0, 90.0, 120.0, 128.0, 150.0])
def test_tempo_of_a_click_track(bpm: float) -> None:
    assert estimate_tempo(click_track(bpm), 22050) == pytest.approx(bpm, abs=1.5)


def test_no_tempo_without_a_beat() -> None:
    assert estimate_tempo(sine(-20, 10.0, 22050), 22050) is None
    assert estimate_tempo(np.zeros(22050 * 10), 22050) is None
    assert estimate_tempo(click_track(120.0, seconds=1.0), 22050) is None  # too short to tell


SONG = ("[Verse]\nHello world here we go\nSinging in the rain today\n[Chorus]\nSing it loud sing it proud\n"
        "All night long\n[Verse]\nAnother line of words\nAnd more to sing")


@pytest.mark.slow
def test_tempo_of_every_synth_style() -> None:
    synth = pytest.importorskip("minimax_nb.synth")
    for name in synth.PRESETS:
        song = synth.render(SONG, name, seed=1)
        got = estimate_tempo(song.samples, song.sample_rate)
        assert got == pytest.approx(song.tempo_bpm, rel=0.02), name


@pytest.mark.slow
def test_a_synth_mp3_measured_end_to_end(tmp_path: Path) -> None:
    synth = pytest.importorskip("minimax_nb.synth")
    song = synth.render(SONG, "pop", seed=2)
    path = tmp_path / "pop.mp3"
    path.write_bytes(synth.encode(song, "mp3", bitrate=128000))
    facts = measure_file(path)
    assert facts.measured_duration_s == pytest.approx(song.duration_s, abs=0.2)
    channels = song.samples.shape[1] if song.samples.ndim == 2 else 1
    assert facts.channels == channels
    assert facts.bitrate_kbps == pytest.approx(128, rel=0.05)
    assert facts.tempo_bpm == pytest.approx(song.tempo_bpm, rel=0.02)
    direct = integrated_loudness(song.samples, song.sample_rate)
    assert direct is not None and facts.loudness_lufs == pytest.approx(direct, abs=1.0)
