"""Lyrics insight before paying: syllables per line, the section map, an estimated length."""

from __future__ import annotations

import pytest

from minimax_nb.lyrics import (
    PRIOR_SPREAD,
    count_syllables,
    estimate_length,
    line_syllables,
    rule_of_thumb_seconds,
    section_map,
)
from minimax_nb.models import Job, JobStatus, MusicRequest

SONG = ("[Verse]\nThe kettle sings a morning tune\nThe light comes in across the room\n\n"
        "[Chorus]\nOh the sun, the sun is up\nFill my cup\n")


@pytest.mark.parametrize(("word", "n"), [("sun", 1), ("time", 1), ("morning", 2), ("kettle", 2),
                                          ("beautiful", 3), ("walked", 1), ("lines", 1), ("little", 2),
                                          ("我爱你", 3), ("", 0), ("don't", 1), ("across", 2)])
def test_count_syllables(word: str, n: int) -> None:
    assert count_syllables(word) == n


def test_line_syllables_is_a_gutter_aligned_with_the_lines() -> None:
    gutter = line_syllables(SONG)
    assert len(gutter) == len(SONG.rstrip("\n").split("\n"))
    assert gutter == [0, 8, 8, 0, 0, 7, 3]


def test_section_map() -> None:
    secs = section_map(SONG)
    assert [(s.label, s.first_line, s.lines, s.syllables) for s in secs] == [("Verse", 1, 2, 16),
                                                                              ("Chorus", 5, 2, 10)]
    assert secs[-1].last_line == 7
    assert [s.label for s in section_map("no tags here\nsecond line")] == [""]
    assert section_map("") == []


def test_rule_of_thumb_grows_with_the_text_and_has_a_spread() -> None:
    short = estimate_length(SONG)
    long = estimate_length(SONG + "\n[Verse 2]\n" + "A line that has some eight words\n" * 8)
    assert long.seconds > short.seconds
    assert short.basis == "rule of thumb" and short.n == 0
    assert short.low == pytest.approx(short.seconds / PRIOR_SPREAD)
    assert short.high == pytest.approx(short.seconds * PRIOR_SPREAD)
    assert "rule of thumb" in str(short) and str(short).startswith("~0:")


def _done(lyrics: str, seconds: float, provider: str = "local", model: str = "m") -> Job:
    return Job(provider=provider, request=MusicRequest(lyrics=lyrics), status=JobStatus.COMPLETED,
               duration_s=seconds, model=model)


def test_fit_on_history_moves_towards_the_measured_ratio_and_narrows() -> None:
    texts = [SONG, SONG + "\nOne more line to sing\n", "[Verse]\n" + "La la la la la la\n" * 6,
             "[Intro]\n[Verse]\nWalking down the road tonight\nStars are shining bright\n"] * 3
    history = [_done(t, 2.0 * rule_of_thumb_seconds(t)) for t in texts]  # songs run twice the rule
    history.append(_done(SONG, 999.0, provider="other"))  # another provider: left out
    history.append(Job(provider="local", request=MusicRequest(lyrics=SONG), status=JobStatus.FAILED))
    fit = estimate_length(SONG, history, provider="local")
    prior = rule_of_thumb_seconds(SONG)
    assert fit.basis == "fit on 12 songs" and fit.n == 12
    assert prior * 1.6 < fit.seconds < prior * 2.0  # shrunk a little towards the rule
    assert fit.low < fit.seconds < fit.high
    assert fit.high / fit.low < PRIOR_SPREAD**2  # narrower than the prior's interval


def test_too_little_history_falls_back() -> None:
    one = [_done(SONG, 300.0)]
    assert estimate_length(SONG, one).basis == "rule of thumb"
    mixed = [_done(SONG, 80.0, provider=p) for p in ("a", "b", "c")]
    assert estimate_length(SONG, mixed, provider="a").basis == "fit on 3 songs"  # every provider's
