"""The results DataFrame: columns, dtypes, timings, measured values, the measurement cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import minimax_nb
from minimax_nb.ledger import Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.results import COLUMNS, DTYPES, STATUS_CATEGORIES, results
from minimax_nb.results.audio_facts import AudioFacts, measure_file
from minimax_nb.results.frame import build_frame

from ._support import finished_job, sine, write_wav

EXPECTED_DTYPES = {
    "provider": "category", "model": "category", "account": "string", "job_id": "string",
    "local_id": "string", "title": "string", "variant": "Int64", "style": "string",
    "style_name": "string", "style_id": "string", "lyrics": "string",
    "lyrics_chars": "Int64", "bitrate": "Int64", "sample_rate": "Int64", "audio_format": "category",
    "instrumental": "boolean", "est_cost_usd": "Float64", "status": "category", "error": "string",
    "created_at": "datetime64[ns, UTC]", "submitted_at": "datetime64[ns, UTC]",
    "started_at": "datetime64[ns, UTC]", "finished_at": "datetime64[ns, UTC]",
    "queue_s": "Float64", "generation_s": "Float64", "latency_s": "Float64",
    "reported_duration_s": "Float64", "audio_path": "string", "audio_sha256": "string",
    "audio_bytes": "Int64", "measured_duration_s": "Float64", "measured_sample_rate": "Int64",
    "channels": "Int64", "bitrate_kbps": "Float64", "peak_dbfs": "Float64", "rms_dbfs": "Float64",
    "loudness_lufs": "Float64", "tempo_bpm": "Float64",
}


def _dtype_names(df: pd.DataFrame) -> dict[str, str]:
    return {c: ("category" if isinstance(t, pd.CategoricalDtype) else str(t)) for c, t in df.dtypes.items()}


def test_empty_ledger_has_every_column_with_its_dtype(ledger: Ledger) -> None:
    df = results(ledger)
    assert len(df) == 0
    assert list(df.columns) == list(COLUMNS) == list(EXPECTED_DTYPES)
    assert _dtype_names(df) == EXPECTED_DTYPES
    assert DTYPES == EXPECTED_DTYPES


def test_rows_values_and_dtypes(ledger: Ledger) -> None:
    a = finished_job("useapi", "pop", queue=2.5, generation=40.0, title="A", offset=0)
    b = finished_job("aimlapi", "rock", queue=1.0, generation=60.25, title="B", offset=10,
                     status=JobStatus.FAILED, duration=None, error="Bearer sk-abcdef123456 was refused")
    pending = Job(provider="apiin", request=MusicRequest(lyrics="", style="jazz", instrumental=True))
    ledger.record(a)
    ledger.record(b)
    ledger.record_submitting(pending)
    df = build_frame(ledger)  # Ledger.to_dataframe is gone: the ledger is a journal only
    assert _dtype_names(df) == EXPECTED_DTYPES
    assert len(df) == 3
    row = df.set_index("local_id")
    ra, rb, rp = row.loc[a.local_id], row.loc[b.local_id], row.loc[pending.local_id]
    assert ra["provider"] == "useapi" and ra["model"] == "music-2.6" and ra["title"] == "A"
    assert ra["job_id"] == a.id
    assert ra["lyrics_chars"] == len("[Verse]\nla la la")
    assert ra["bitrate"] == 256000 and ra["sample_rate"] == 44100 and ra["audio_format"] == "mp3"
    assert ra["queue_s"] == pytest.approx(2.5)
    assert ra["generation_s"] == pytest.approx(40.0)
    assert ra["latency_s"] == pytest.approx(42.5)
    assert rb["latency_s"] == pytest.approx(61.25)
    assert ra["reported_duration_s"] == 30.0 and pd.isna(rb["reported_duration_s"])
    assert ra["submitted_at"] == a.submitted_at and ra["finished_at"] == a.finished_at
    assert str(ra["finished_at"].tz) == "UTC"
    assert ra["status"] == "completed" and rb["status"] == "failed" and rp["status"] == "submitting"
    assert "sk-abcdef123456" not in rb["error"]
    assert rp["instrumental"] is True or rp["instrumental"] == True  # noqa: E712 - numpy/pandas bool
    assert rp["lyrics"] == "" and rp["lyrics_chars"] == 0
    assert pd.isna(rp["job_id"]) and pd.isna(rp["latency_s"]) and pd.isna(rp["finished_at"])
    assert list(df["status"].cat.categories) == list(STATUS_CATEGORIES)
    assert list(df["provider"].cat.categories) == ["aimlapi", "apiin", "useapi"]
    assert df["measured_duration_s"].isna().all()  # nothing saved, nothing measured


def test_measured_columns_from_a_saved_wav(ledger: Ledger, tmp_path: Path) -> None:
    rate = 48000
    path = tmp_path / "song.wav"
    sha, size = write_wav(path, np.stack([sine(-20.0, 4.0, rate)] * 2, axis=1), rate)
    job = finished_job("useapi", "pop", queue=1, generation=2)
    ledger.record(job)
    ledger.record_audio(job, path, sha, size)
    df = results(ledger)
    r = df.iloc[0]
    assert r["audio_path"] == str(path.absolute())
    assert r["audio_sha256"] == sha and r["audio_bytes"] == size
    assert r["measured_duration_s"] == pytest.approx(4.0)
    assert r["measured_sample_rate"] == rate and r["channels"] == 2
    assert r["bitrate_kbps"] == pytest.approx(rate * 2 * 24 / 1000, rel=0.01)
    assert r["peak_dbfs"] == pytest.approx(-20.0, abs=0.01)
    assert r["rms_dbfs"] == pytest.approx(-23.01, abs=0.01)
    assert r["loudness_lufs"] == pytest.approx(-20.0, abs=0.05)
    assert pd.isna(r["tempo_bpm"])
    assert _dtype_names(df) == EXPECTED_DTYPES
    no_measure = results(ledger, measure=False)
    assert no_measure["loudness_lufs"].isna().all()
    assert _dtype_names(no_measure) == EXPECTED_DTYPES


def test_measurements_are_cached_by_sha256(ledger: Ledger, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    rate = 16000
    path = tmp_path / "a.wav"
    sha, size = write_wav(path, sine(-10.0, 1.0, rate), rate)
    jobs = [finished_job("useapi", "pop", queue=1, generation=1, offset=k) for k in range(2)]
    for j in jobs:  # two jobs, one file: decoded once
        ledger.record(j)
        ledger.record_audio(j, path, sha, size)
    calls: list[Path] = []

    def counting(p: Path) -> AudioFacts:
        calls.append(p)
        return measure_file(p)

    first = build_frame(ledger, measurer=counting)
    assert len(calls) == 1
    second = build_frame(ledger, measurer=counting)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, second)
    # and results() reads the cache too: decoding is now impossible, the values are still there
    import soundfile

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setattr(soundfile, "read", refuse)
    again = results(ledger)
    assert again["peak_dbfs"].tolist() == pytest.approx([-10.0, -10.0], abs=0.01)
    with Ledger(ledger.path) as other:  # the cache is in the file: another process/kernel sees it
        assert results(other)["peak_dbfs"].notna().all()


def test_changed_or_missing_files_are_not_measured(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sha, size = write_wav(path, sine(-10.0, 1.0, 16000), 16000)
    gone = finished_job("useapi", "pop", queue=1, generation=1, offset=1)
    ledger.record(gone)
    ledger.record_audio(gone, tmp_path / "never.wav", "00" * 32, 10)
    changed = finished_job("useapi", "pop", queue=1, generation=1, offset=2)
    ledger.record(changed)
    ledger.record_audio(changed, path, sha, size + 1)  # not the file the ledger knows
    bad = finished_job("useapi", "pop", queue=1, generation=1, offset=3)
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all")
    ledger.record(bad)
    ledger.record_audio(bad, junk, "11" * 32, junk.stat().st_size)
    df = results(ledger)
    assert len(df) == 3
    assert df["measured_duration_s"].isna().all()


def test_results_from_a_path_the_default_ledger_and_a_list_of_jobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MINIMAX_NB_LEDGER", raising=False)
    job = finished_job("aimlapi", "pop", queue=1, generation=2)
    with Ledger() as led:
        led.record(job)
    assert results()["local_id"].tolist() == [job.local_id]
    assert results(tmp_path / ".minimax_nb" / "ledger.sqlite")["local_id"].tolist() == [job.local_id]
    via_package = minimax_nb.results()  # the lazy public name (the package itself is callable)
    assert via_package["local_id"].tolist() == [job.local_id]
    from minimax_nb import results as public

    assert public(measure=False)["local_id"].tolist() == [job.local_id]
    path = tmp_path / "x.wav"
    write_wav(path, sine(-6.0, 1.0, 8000), 8000)
    listed = results([job.evolve(audio_path=path)])
    assert listed["local_id"].tolist() == [job.local_id]
    assert listed["peak_dbfs"].iloc[0] == pytest.approx(-6.0, abs=0.01)
    assert _dtype_names(listed) == EXPECTED_DTYPES


def test_the_frame_is_the_users_to_edit(ledger: Ledger) -> None:
    for k in range(2):
        ledger.record(finished_job("useapi", "pop", queue=1, generation=2, offset=k))
    df = results(ledger)
    for column in df.columns:  # no read-only arrays shared with anything
        df.loc[0, column] = df.loc[1, column]
    df["note"] = "mine"
    assert df.loc[0, "job_id"] == df.loc[1, "job_id"]


def test_many_files_measured_on_threads_match_one_by_one(tmp_path: Path) -> None:
    levels = [-3.0, -9.0, -15.0, -21.0, -27.0]
    frames = []
    for workers in (1, 3):
        with Ledger(tmp_path / f"l{workers}.sqlite") as led:
            for k, db in enumerate(levels):
                path = tmp_path / f"s{k}.wav"
                sha, size = write_wav(path, sine(db, 1.0, 16000), 16000)
                job = finished_job("useapi", "pop", queue=1, generation=1, offset=k)
                led.record(job)
                led.record_audio(job, path, sha, size)
            frames.append(build_frame(led, workers=workers))
    assert frames[1]["peak_dbfs"].tolist() == pytest.approx(levels, abs=0.01)
    pd.testing.assert_frame_equal(frames[0].drop(columns=["local_id", "created_at", "submitted_at",
                                                          "started_at", "finished_at", "job_id"]),
                                  frames[1].drop(columns=["local_id", "created_at", "submitted_at",
                                                          "started_at", "finished_at", "job_id"]))


@pytest.mark.parametrize("imports", [
    "from minimax_nb import results; import minimax_nb.results as pkg",
    "import minimax_nb.results as pkg; from minimax_nb import results",
    "from minimax_nb.results import results; import minimax_nb.results as pkg",
])
def test_results_is_callable_and_the_package_in_any_import_order(imports: str) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = (f"{imports}\nimport minimax_nb\nfrom minimax_nb.ledger import Ledger\n"
            "assert minimax_nb.results is pkg is results\n"
            "assert callable(pkg.compare) and callable(pkg.listen)\n"
            "print(len(results(Ledger(':memory:')).columns))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(len(COLUMNS))


def test_status_categories_are_every_job_status(ledger: Ledger) -> None:
    assert tuple(s.value for s in JobStatus) == STATUS_CATEGORIES
    assert {"ambiguous", "lost"} <= set(STATUS_CATEGORIES)
    lost = finished_job("apiin", "pop", queue=1, generation=1, status=JobStatus.LOST)
    ledger.record(lost)
    assert list(results(ledger)["status"].astype(str)) == ["lost"]


def test_style_means_the_same_on_every_provider(ledger: Ledger) -> None:
    """useapi reports the style id's name ("Pop"): it goes to style_name; style is what was asked."""
    v1 = Job(provider="useapi", request=MusicRequest(lyrics="la", style_id="42", model="v1"),
             status=JobStatus.COMPLETED, id="u1", style="Pop")
    relaunch = Job(provider="useapi", request=MusicRequest(lyrics="la", style="city pop, bright synths"),
                   status=JobStatus.COMPLETED, id="u2", style="City Pop")
    other = finished_job("aimlapi", "city pop, bright synths", queue=1, generation=1)
    for j in (v1, relaunch, other):
        ledger.record(j)
    df = results(ledger).set_index("job_id")
    assert pd.isna(df.loc["u1", "style"]) and df.loc["u1", "style_name"] == "Pop"
    assert df.loc["u1", "style_id"] == "42"
    assert df.loc["u2", "style"] == "city pop, bright synths" and df.loc["u2", "style_name"] == "City Pop"
    assert df.loc[other.id, "style"] == "city pop, bright synths" and pd.isna(df.loc[other.id, "style_name"])


def test_variant_numbers_repeated_requests(ledger: Ledger) -> None:
    jobs = [finished_job("local", "pop", queue=1, generation=1, title="City Lights", offset=k)
            for k in range(3)]
    jobs.append(finished_job("local", "rock", queue=1, generation=1, title="City Lights", offset=9))
    for j in jobs:
        ledger.record(j)
    df = results(ledger)
    assert list(df["variant"]) == [1, 2, 3, 1]


def test_est_cost_per_job_and_total(ledger: Ledger) -> None:
    from minimax_nb.providers import get_adapter
    from minimax_nb.results import cost_total

    m = "minimax-music"
    price = get_adapter("apiin").estimate_cost_usd(MusicRequest(model=m), model=m)
    assert price is not None and price > 0
    a = finished_job("apiin", "pop", queue=1, generation=1, offset=0).evolve(model=m)
    b = finished_job("apiin", "rock", queue=1, generation=1, offset=1,
                     status=JobStatus.FAILED).evolve(model=m)
    unsent = Job(provider="apiin", request=MusicRequest(lyrics="x", model=m), status=JobStatus.CANCELLED,
                 model=m)
    odd = Job(provider="apiin", request=MusicRequest(lyrics="x"), status=JobStatus.COMPLETED, id="q",
              model="no-such-model")
    for j in (a, b, unsent, odd):
        ledger.record(j)
    df = results(ledger).set_index("local_id")
    assert df.loc[a.local_id, "est_cost_usd"] == pytest.approx(price)
    assert pd.isna(df.loc[odd.local_id, "est_cost_usd"])
    total = cost_total(df.reset_index())
    assert total == {"usd": pytest.approx(2 * price), "jobs": 3, "unknown": 1}
