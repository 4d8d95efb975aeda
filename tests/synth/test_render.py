"""The rendered audio: determinism, shape, duration, arrangement, and measurable differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from synth_audio_facts import (
    band_energy_db,
    beat_clarity,
    peak_db,
    rms_db,
    side_ratio_db,
    spectral_centroid,
    tempo_estimate,
)

from minimax_nb.synth import STYLE_NAMES, Song, render
from minimax_nb.synth.arrange import arrange
from minimax_nb.synth.styles import resolve_style

SR = 22050
LYRICS = """[Verse]
Walking down the empty street tonight
Every window holds a different light

[Chorus]
Sing it loud and sing it clear
Hold the moment, I am here
"""


@pytest.fixture(scope="module")
def songs() -> dict[str, Song]:
    return {name: render(LYRICS, name, seed=0, sample_rate=SR) for name in STYLE_NAMES}


def test_same_inputs_same_song_and_seed_changes_it() -> None:
    a = render(LYRICS, "pop", seed=7, sample_rate=16000)
    b = render(LYRICS, "pop", seed=7, sample_rate=16000)
    c = render(LYRICS, "pop", seed=8, sample_rate=16000)
    assert np.array_equal(a.samples, b.samples)
    assert a.sections == b.sections and a.phrases == b.phrases
    assert a.samples.shape == c.samples.shape  # the seed changes the melody, not the form
    assert not np.allclose(a.samples, c.samples, atol=1e-3)


def test_song_facts(songs: dict[str, Song]) -> None:
    for name, song in songs.items():
        x = song.samples
        assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 2
        assert song.sample_rate == SR and song.channels == 2
        assert song.duration_s == pytest.approx(x.shape[0] / SR)
        assert song.style == name
        assert song.tempo_bpm == resolve_style(name).tempo_bpm
        assert song.key == resolve_style(name).key
        assert np.all(np.isfinite(x)) and float(np.max(np.abs(x))) <= 1.0
        assert -20.0 < rms_db(x) < -12.0, name  # not silent, not crushed
        assert peak_db(x) <= -0.9, name  # the limiter keeps a dB of headroom
        tags = [t for t, _, _ in song.sections]
        assert tags == ["intro", "verse", "chorus", "outro"], name
        starts = [a for _, a, _ in song.sections]
        assert starts == sorted(starts) and song.sections[-1][2] <= song.duration_s
        assert [p[0] for p in song.phrases] == [
            "Walking down the empty street tonight",
            "Every window holds a different light",
            "Sing it loud and sing it clear",
            "Hold the moment, I am here",
        ]


def test_start_and_end_are_quiet(songs: dict[str, Song]) -> None:
    for song in songs.values():
        x = song.samples
        assert np.max(np.abs(x[:10])) < 0.05
        assert np.max(np.abs(x[-10:])) < 0.05


def test_tempo_is_measurable_and_differs_by_style(songs: dict[str, Song]) -> None:
    estimates = {name: tempo_estimate(song.samples, SR) for name, song in songs.items()}
    for name, song in songs.items():
        est = estimates[name]
        ratio = est / song.tempo_bpm
        assert min(abs(ratio - r) for r in (0.5, 1.0, 2.0)) < 0.04, (name, est)
    assert estimates["electronic"] > 1.5 * estimates["ballad"]
    assert estimates["rock"] > estimates["hip-hop"] + 20


def test_spectrum_differs_by_style(songs: dict[str, Song]) -> None:
    centroid = {name: spectral_centroid(song.samples, SR) for name, song in songs.items()}
    assert centroid["lo-fi"] < 0.6 * centroid["electronic"]
    assert centroid["lo-fi"] < 0.6 * centroid["rock"]
    # Each pair of styles differs in tempo or in spectrum by a clear margin.
    names = list(songs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            sa, sb = songs[a], songs[b]
            tempo_gap = abs(sa.tempo_bpm - sb.tempo_bpm) / max(sa.tempo_bpm, sb.tempo_bpm)
            spec_gap = abs(centroid[a] - centroid[b]) / max(centroid[a], centroid[b])
            assert tempo_gap > 0.03 or spec_gap > 0.05, (a, b)


def _band_profile(song: Song, n_bands: int = 24) -> np.ndarray:
    m = song.samples.mean(axis=1).astype(np.float64)
    spec = np.abs(np.fft.rfft(m)) ** 2
    f = np.fft.rfftfreq(m.size, 1.0 / song.sample_rate)
    edges = np.geomspace(150, 5000, n_bands + 1)
    prof = np.array([spec[(f >= lo) & (f < hi)].sum() for lo, hi in itertools.pairwise(edges)])
    return 10 * np.log10(prof / prof.sum())


def test_different_lyrics_sound_different() -> None:
    a = render("[Verse]\nOh oh oh oh, go slow, oh no", "pop", sample_rate=SR)
    b = render("[Verse]\nSee me see the tree, she is free", "pop", sample_rate=SR)
    # Same form (one 2-bar line), different vowels: the vocal band profile moves by dB, not by rounding.
    assert a.duration_s == pytest.approx(b.duration_s)
    diff = np.abs(_band_profile(a) - _band_profile(b))
    assert float(diff.max()) > 3.0
    # Longer lyrics make a longer song.
    c = render("[Verse]\n" + "\n".join(["See me see the tree, she is free"] * 4), "pop", sample_rate=SR)
    assert c.duration_s > b.duration_s + 10


def test_a_blank_line_is_a_rest_of_one_bar() -> None:
    a = render("##first line here\nsecond line here##", "pop", sample_rate=16000)
    b = render("##first line here\n\nsecond line here##", "pop", sample_rate=16000)
    bar_s = 4 * 60.0 / a.tempo_bpm
    assert b.duration_s - a.duration_s == pytest.approx(bar_s, abs=2e-3)
    gap_a = a.phrases[1][1] - a.phrases[0][2]
    gap_b = b.phrases[1][1] - b.phrases[0][2]
    assert gap_b == pytest.approx(gap_a + bar_s, abs=1e-3)


@pytest.mark.parametrize("style", ["pop", "folk", "hip-hop"])
def test_the_voice_is_silent_in_a_rest(style: str) -> None:
    # Subtract the instrumental twin (same band, lead instead of voice, matched gain on the intro): what
    # is left is the voice. It is loud while singing and all but gone in the rest.
    sr = 16000
    lyrics = "##first line here\n\nsecond line here##"
    sung_song = render(lyrics, style, sample_rate=sr)
    twin = render(lyrics, style, sample_rate=sr, instrumental=True)
    x, y = sung_song.samples.mean(axis=1), twin.samples.mean(axis=1)
    (p0, p0_start, p0_end), (_p1, p1_start, _p1_end) = sung_song.phrases
    intro = slice(int(0.2 * sr), int((p0_start - 0.1) * sr))
    gain = float(np.dot(x[intro], y[intro]) / np.dot(y[intro], y[intro]))
    voice = x - gain * y
    rest = voice[int((p0_end + 0.6) * sr) : int((p1_start - 0.1) * sr)]
    sung = voice[int(p0_start * sr) : int(p0_end * sr)]
    assert p0 == "first line here"
    assert rms_db(sung) > -25
    assert rms_db(rest) < rms_db(sung) - 25


@pytest.mark.parametrize("style", ["pop", "jazz", "hip-hop"])
def test_hashes_ask_for_accompaniment(style: str) -> None:
    plain = render("first line here\nsecond line here", style, sample_rate=SR)
    band = render("##first line here\nsecond line here##", style, sample_rate=SR)
    assert [t for t, _, _ in plain.sections] == ["intro", "song"]
    assert [t for t, _, _ in band.sections] == ["intro", "song", "outro"]
    assert band.duration_s > plain.duration_s
    # With accompaniment the drums play: the onsets fall on the beat. Without, a light backing only.
    with_band = beat_clarity(band.samples, SR, band.tempo_bpm)
    without = beat_clarity(plain.samples, SR, plain.tempo_bpm)
    assert with_band > 0.5 and without < 0.4 and with_band > without + 0.3, (with_band, without)


def test_chorus_is_fuller_than_verse() -> None:
    line = "Sing it loud and sing it clear"
    verse = render(f"[Verse]\n{line}\n{line}", "pop", sample_rate=SR)
    chorus = render(f"[Chorus]\n{line}\n{line}", "pop", sample_rate=SR)

    def body(song: Song, tag: str) -> np.ndarray:
        (a, b) = next((a, b) for t, a, b in song.sections if t == tag)
        return song.samples[int(a * SR) : int(b * SR)]

    v, c = body(verse, "verse"), body(chorus, "chorus")
    assert side_ratio_db(c) > side_ratio_db(v) + 2  # doubled and harmony voices, wide pad
    assert band_energy_db(c, SR, 6000, 11000) > band_energy_db(v, SR, 6000, 11000)  # crash, open hats


def test_chorus_repeats_its_hook_and_verse_lines_repeat_exactly() -> None:
    lyrics = (
        "[Verse]\nDown the road\nUp the hill\nDown the road\n[Chorus]\nWe are one\nWe are all\nWe are two\n"
    )
    score = arrange(lyrics, resolve_style("pop"), seed=0, style_text="pop", instrumental=False)
    lines: list[list[int]] = []
    current: list[int] = []
    last_beat = -1.0
    for n in score.notes:
        if current and n.beat - last_beat > 2.5:
            lines.append(current)
            current = []
        current.append(n.midi)
        last_beat = n.beat
    lines.append(current)
    assert len(lines) == 6
    assert lines[0] == lines[2]  # the same verse line sings the same tune
    assert lines[3] == lines[5]  # chorus lines 1 and 3 share the hook
    assert np.mean(lines[3]) > np.mean(lines[0])  # and sit higher


def test_duration_is_capped() -> None:
    long = "\n".join(["[Verse]", *["a line that keeps the singer busy"] * 30])
    song = render(long, "ballad", sample_rate=8000, max_duration_s=20)
    assert song.duration_s == pytest.approx(20.0)
    assert np.max(np.abs(song.samples[-40:])) < 0.02  # faded out
    free = render(long, "ballad", sample_rate=8000, max_duration_s=None)
    assert free.duration_s > 60


def test_instrumental_and_empty_lyrics() -> None:
    inst = render(LYRICS, "folk", sample_rate=16000, instrumental=True)
    sung = render(LYRICS, "folk", sample_rate=16000)
    assert inst.duration_s == pytest.approx(sung.duration_s)
    assert not np.allclose(inst.samples, sung.samples, atol=1e-2)
    empty = render("", "jazz", sample_rate=16000)
    assert empty.duration_s == pytest.approx(60.0)
    assert rms_db(empty.samples) > -20
    assert [t for t, _, _ in empty.sections][:3] == ["intro", "verse", "chorus"]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        render("x", sample_rate=4000)
    with pytest.raises(ValueError, match="max_duration_s"):
        render("x", max_duration_s=0)


def test_tags_without_words_make_an_instrumental_of_that_form() -> None:
    song = render("[Intro]\n[Inst]\n[Solo]\n[Outro]", "rock", sample_rate=16000)
    assert [t for t, _, _ in song.sections] == ["intro", "inst", "solo", "outro"]
    bar_s = 4 * 60.0 / song.tempo_bpm
    assert all(b - a == pytest.approx(4 * bar_s, abs=1e-3) for _, a, b in song.sections)
    # The instrumental sections carry a lead melody; its hook repeats in every chorus of the default form.
    score = arrange("", resolve_style("pop"), seed=0, style_text="pop", instrumental=False)
    assert [t for t, _, _ in score.sections] == ["intro", "verse", "chorus", "verse", "chorus", "outro"]
    chorus_spans = [(a, b) for t, a, b in score.sections if t == "chorus"]
    tunes = [
        [(n.beat - 4 * a, n.midi) for n in score.notes if a * 4 <= n.beat < b * 4] for a, b in chorus_spans
    ]
    assert tunes[0] and tunes[0] == tunes[1]
    assert all(n.lead and n.syllable is None for n in score.notes)


def test_deterministic_across_processes() -> None:
    import hashlib
    import os
    import subprocess
    import sys

    code = (
        "import hashlib; from minimax_nb.synth import render; "
        "s = render('[Verse]\\nsame words every time\\n[Chorus]\\nla la la', 'some unknown style', seed=5,"
        " sample_rate=16000); print(hashlib.sha256(s.samples.tobytes()).hexdigest())"
    )
    here = render(
        "[Verse]\nsame words every time\n[Chorus]\nla la la", "some unknown style", seed=5, sample_rate=16000
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True
        )
        digests.add(out.stdout.strip())
    assert digests == {hashlib.sha256(here.samples.tobytes()).hexdigest()}
