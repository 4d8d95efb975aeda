"""The composer shows, before paying: syllables per line, the section map and the estimated length."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

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


def test_the_player_draws_the_songs_waveform(tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    from minimax_nb.widgets.player import Player

    t = np.linspace(0, 2, 32000, endpoint=False)
    sf.write(tmp_path / "song.wav", 0.5 * np.sin(2 * np.pi * 220 * t) * np.linspace(0, 1, t.size), 16000)
    job = Job(provider="local", request=MusicRequest(lyrics="la", title="<i>T</i>"), id="x",
              status=JobStatus.COMPLETED, audio_path=tmp_path / "song.wav", duration_s=2.0)
    p = Player()
    p.show(job)
    assert "mask" in p.wave.value and "mask" in p.cover_card.value  # the cover card carries it too
    assert "<i>T</i>" not in p.cover_card.value
    p.show(job.evolve(audio_path=None))
    assert p.wave.value == ""
