"""listen() escapes everything and plays each file; CSV and Parquet round-trips keep the dtypes."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from minimax_nb.ledger import Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.results import listen, listen_html, read_csv, read_parquet, results, to_csv, to_parquet

from ._support import finished_job, sine, write_wav

EVIL = '<script>alert("x")</script>'


def test_script_in_a_title_shows_as_text(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sha, size = write_wav(path, sine(-20, 0.5, 8000), 8000)
    job = finished_job("useapi", f"style {EVIL}", queue=1, generation=1, title=EVIL,
                       error=f"<img src=x onerror=alert(1)> {EVIL}")
    ledger.record(job)
    ledger.record_audio(job, path, sha, size)
    out = listen_html(results(ledger))
    assert "<script>" not in out and "<img" not in out
    assert html.escape(EVIL) in out
    assert out.count('<audio controls preload="none"') == 1
    obj = listen(results(ledger))
    assert obj.data == out


def test_small_files_embed_big_files_link_relative(ledger: Ledger, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    small, big = tmp_path / "small.wav", tmp_path / "songs" / "big & loud.wav"
    big.parent.mkdir()
    s_sha, s_size = write_wav(small, sine(-20, 0.2, 8000), 8000)
    b_sha, b_size = write_wav(big, sine(-20, 2.0, 48000), 48000)
    for k, (p, sha, size) in enumerate(((small, s_sha, s_size), (big, b_sha, b_size))):
        job = finished_job("useapi", "pop", queue=1, generation=1, offset=k)
        ledger.record(job)
        ledger.record_audio(job, p, sha, size)
    missing = finished_job("useapi", "pop", queue=1, generation=1, offset=5)
    ledger.record(missing)
    ledger.record_audio(missing, tmp_path / "gone.wav", "00" * 32, 1)
    linked = listen_html(results(ledger, measure=False))
    assert 'src="data:' not in linked and 'src="small.wav"' in linked  # linked by default (issue 10)
    out = listen_html(results(ledger, measure=False), embed=True, embed_max_bytes=100_000)
    prefix = 'src="data:audio/wav;base64,'
    assert prefix in out
    start = out.index(prefix) + len(prefix)
    assert base64.b64decode(out[start:out.index('"', start)]) == small.read_bytes()
    assert 'src="songs/big%20%26%20loud.wav"' in out  # URL-quoted, relative to the cwd
    assert "file missing" in out
    assert out.count("<audio ") == 2
    assert out.count('<div class="mnb-wave"') == 2  # a waveform over each player


def test_players_come_first_and_titles_do_not_wrap(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sha, size = write_wav(path, np.concatenate([sine(-30, 0.5, 8000), sine(-6, 0.5, 8000)]), 8000)
    job = finished_job("aimlapi", "lo-fi jazz, mellow piano", queue=1, generation=1,
                       title="A very long title " * 6)
    ledger.record(job)
    ledger.record_audio(job, path, sha, size)
    out = listen_html(results(ledger))
    row = out[out.index("<tbody>"):]
    assert row.index("<audio") < row.index("A very long title")
    assert "white-space:nowrap" in out and "text-overflow:ellipsis" in out
    from minimax_nb.results.html import waveform_peaks

    peaks = waveform_peaks(path, bins=10)
    assert peaks is not None and len(peaks) == 10
    assert max(peaks[:4]) < 0.05 < 0.4 < min(peaks[6:])  # quiet half, then the loud half


def test_max_rows(ledger: Ledger) -> None:
    for k in range(5):
        ledger.record(finished_job("useapi", "pop", queue=1, generation=1, offset=k))
    out = listen_html(results(ledger), max_rows=2)
    assert out.count("<tr>") == 3  # header + 2
    assert "3 more rows" in out


def _tricky_frame(ledger: Ledger, tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "a.wav"
    sha, size = write_wav(path, np.stack([sine(-20, 1.0, 16000)] * 2, axis=1), 16000)
    a = finished_job("useapi", 'pop, "quoted"\nnew line', queue=1.5, generation=2.25, title="NA")
    ledger.record(a)
    ledger.record_audio(a, path, sha, size)
    ledger.record(Job(provider="aimlapi", request=MusicRequest(lyrics="", style="", title="ünïcødé ✓",
                                                              instrumental=True),
                      status=JobStatus.FAILED, error="null"))
    ledger.record_submitting(Job(provider="apiin", request=MusicRequest(lyrics="x")))
    return results(ledger)


def test_csv_round_trip_keeps_values_and_dtypes(ledger: Ledger, tmp_path: Path) -> None:
    df = _tricky_frame(ledger, tmp_path)
    path = tmp_path / "r.csv"
    to_csv(df, path)
    back = read_csv(path)
    pd.testing.assert_frame_equal(back, df)
    assert back.loc[1, "style"] == "" and back.loc[0, "title"] == "NA"


def test_parquet_round_trip_keeps_values_and_dtypes(ledger: Ledger, tmp_path: Path) -> None:
    df = _tricky_frame(ledger, tmp_path)
    path = tmp_path / "r.parquet"
    to_parquet(df, path)
    pd.testing.assert_frame_equal(read_parquet(path), df)
    empty = results(Ledger(":memory:"))
    to_parquet(empty, tmp_path / "e.parquet")
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "e.parquet"), empty)
    to_csv(empty, tmp_path / "e.csv")
    pd.testing.assert_frame_equal(read_csv(tmp_path / "e.csv"), empty)


def test_files_outside_the_folder_get_a_note(ledger: Ledger, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    song = tmp_path / "songs" / "a.wav"
    song.parent.mkdir()
    sha, size = write_wav(song, sine(-20, 0.2, 8000), 8000)
    job = finished_job("local", "pop", queue=1, generation=1)
    ledger.record(job)
    ledger.record_audio(job, song, sha, size)
    inside = listen_html(results(ledger, measure=False), relative_to=tmp_path)
    assert 'src="songs/a.wav"' in inside and "outside this folder" not in inside
    below = tmp_path / "nb"
    below.mkdir()
    outside = listen_html(results(ledger, measure=False), relative_to=below)
    assert 'src="../songs/a.wav"' in outside and "1 file(s) are outside this folder" in outside
    embedded = listen_html(results(ledger, measure=False), relative_to=below, embed=True)
    assert "outside this folder" not in embedded
