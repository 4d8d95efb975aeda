"""Two `provider="local"` sessions sharing a download folder must never serve each other's songs.

Regression: every local client starts its own emulator; with ids drawn from the same seed the second
session's first job had the first session's id, and the download cache (keyed by job id) returned the
old file for a different song.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from minimax_nb import MusicClient, MusicRequest

pytestmark = pytest.mark.slow


def test_second_local_session_gets_its_own_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIMAX_NB_LOCAL_SPEED", "300")
    songs = [
        MusicRequest(lyrics="[Verse]\nOne short line\nand another one", style="pop", title="A"),
        MusicRequest(lyrics="Completely different words\nsung over jazz chords\nthree lines long\nfour",
                     style="jazz", title="B"),
    ]
    jobs = []
    for request in songs:
        with MusicClient(provider="local", ledger=False, download_dir=tmp_path) as client:
            jobs.append(client.generate(request))
    assert jobs[0].id != jobs[1].id
    assert jobs[0].audio_path != jobs[1].audio_path
    for job in jobs:
        assert job.audio_path is not None and job.duration_s is not None
        measured = sf.info(str(job.audio_path)).duration
        assert abs(measured - job.duration_s) <= 0.05 * job.duration_s


def test_timestamps_are_ordered_and_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from minimax_nb.ledger import Ledger
    from minimax_nb.results import results

    monkeypatch.setenv("MINIMAX_NB_LOCAL_SPEED", "300")
    ledger = Ledger(tmp_path / "ledger.sqlite")
    with MusicClient(provider="local", ledger=ledger, download_dir=tmp_path) as client:
        job = client.generate(MusicRequest(lyrics="[Verse]\nA line to sing", style="pop"))
    assert job.submitted_at is not None and job.finished_at is not None
    assert job.created_at <= job.submitted_at <= job.finished_at
    row = results(ledger, measure=False).iloc[0]
    assert row["submitted_at"] == job.submitted_at
    assert row["latency_s"] > 0
