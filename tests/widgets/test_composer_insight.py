"""The composer shows, before paying: syllables per line, the section map and the estimated length."""

from __future__ import annotations

from datetime import timedelta

from minimax_nb import lyrics as L
from minimax_nb.models import Job, JobStatus, MusicRequest, utcnow
from minimax_nb.widgets.composer import LyricsComposer

TEXT = "[Verse]\nNeon rivers in the rain\nCity lights\n[Chorus]\nWe run <b>tonight</b>"


def test_insight_shows_syllables_sections_and_length() -> None:
    c = LyricsComposer(provider="local", lyrics=TEXT)
    html = c.insight.value
    assert str(L.estimate_length(TEXT)) in html  # the rule of thumb, with its interval
    assert "Verse (2 lines" in html and "Chorus (1 lines" in html
    for n in L.line_syllables(TEXT):
        if n:
            assert f">{n}</span>" in html
    assert "<b>tonight</b>" not in html and "&lt;b&gt;tonight" in html  # lyrics are escaped
    c.lyrics.value = ""
    assert c.insight.value == ""


def test_the_estimate_is_fitted_on_the_ledgers_songs() -> None:
    c = LyricsComposer(provider="local", lyrics=TEXT)
    prior = c.insight.value
    now = utcnow()
    past = [Job(provider="local", request=MusicRequest(lyrics=TEXT + f"\nline {i}"),
                status=JobStatus.COMPLETED, duration_s=200.0, created_at=now - timedelta(hours=1),
                finished_at=now,
                model="minimax/music-2.6") for i in range(6)]
    c.set_history(past)
    assert c.insight.value != prior and "fit" in c.insight.value
