"""Measuring new files in parallel (any ``concurrent.futures.Executor``) and the facts cache beside the
ledger (the ledger itself is only the journal)."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from minimax_nb.ledger import Ledger
from minimax_nb.results import frame as frame_mod
from minimax_nb.results import results
from minimax_nb.results.audio_facts import FACTS_VERSION, AudioFacts, FactsCache, measure_file
from minimax_nb.results.frame import PARALLEL_MIN, build_frame, measure_files

from ._support import finished_job, sine, write_wav

LEVELS = [-3.0 - 2 * k for k in range(PARALLEL_MIN + 2)]
TIMES = ["local_id", "created_at", "submitted_at", "started_at", "finished_at", "job_id"]


def _library(tmp_path: Path, name: str) -> Ledger:
    led = Ledger(tmp_path / f"{name}.sqlite")
    for k, db in enumerate(LEVELS):
        path = tmp_path / f"s{k}.wav"
        if not path.exists():
            write_wav(path, sine(db, 0.6, 16000), 16000)
        job = finished_job("useapi", "pop", queue=1, generation=1, offset=k)
        led.record(job)
        led.record_audio(job, path, *_sha_size(path))
    return led


def _sha_size(path: Path) -> tuple[str, int]:
    import hashlib

    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def test_results_on_a_process_pool_match_one_by_one(tmp_path: Path) -> None:
    with _library(tmp_path, "serial") as led:
        serial = build_frame(led, workers=1)
    with _library(tmp_path, "pool") as led, ProcessPoolExecutor(max_workers=2) as pool:
        pooled = results(led, executor=pool)
        assert pool.submit(abs, -1).result() == 1  # the caller's executor is not shut down
    assert pooled["peak_dbfs"].tolist() == pytest.approx(LEVELS, abs=0.01)
    pd.testing.assert_frame_equal(serial.drop(columns=TIMES), pooled.drop(columns=TIMES))


def test_many_new_files_go_to_a_process_pool_by_default(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = frame_mod._process_pool

    def spy(n: int) -> ProcessPoolExecutor | None:
        made.append(n)
        return real(n)

    monkeypatch.setattr(frame_mod, "_process_pool", spy)
    with _library(tmp_path, "auto") as led:
        df = build_frame(led)
        assert made == [len(LEVELS)]
        assert df["peak_dbfs"].tolist() == pytest.approx(LEVELS, abs=0.01)
        build_frame(led)  # all cached now: nothing to measure, no pool
        assert made == [len(LEVELS)]


def test_few_files_or_an_unpicklable_measurer_stay_in_process(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frame_mod, "_process_pool", lambda n: pytest.fail("no pool expected"))
    calls: list[Path] = []

    def local_measurer(p: Path) -> AudioFacts:  # a closure cannot be sent to another process
        calls.append(p)
        return measure_file(p)

    with _library(tmp_path, "closure") as led:
        df = build_frame(led, measurer=local_measurer)
    assert len(calls) == len(LEVELS)
    assert df["peak_dbfs"].notna().all()
    groups = [[(str(tmp_path / "s0.wav"), None)], [(str(tmp_path / "missing.wav"), None)]]
    out = measure_files(groups)  # two files: one after another
    assert out[0] is not None and out[1] is None


def test_facts_cache_round_trip_file_and_memory(tmp_path: Path) -> None:
    for cache in (FactsCache(tmp_path / "facts.sqlite"), FactsCache(None)):
        with cache:
            cache.put({"aa": {"peak_dbfs": -3.0, "channels": 2}}, version=1)
            assert cache.get(["aa", "bb"], version=1) == {"aa": {"peak_dbfs": -3.0, "channels": 2}}
            assert cache.get(["aa"], version=2) == {}
        with pytest.raises(ValueError):
            cache.get(["aa"])
    with FactsCache(tmp_path / "facts.sqlite") as again:  # on disk: survives the process's objects
        assert again.get(["aa"], version=1) == {"aa": {"peak_dbfs": -3.0, "channels": 2}}


def test_cache_lives_next_to_the_ledger_and_adopts_an_older_ledgers_facts(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    Ledger(path).close()
    con = sqlite3.connect(path)  # an older ledger kept the measurements inside
    con.execute("INSERT INTO audio_facts VALUES ('cafe', ?, '{\"peak_dbfs\": -1.5}')", (FACTS_VERSION,))
    con.commit()
    con.close()
    with Ledger(path) as led, FactsCache.for_ledger(led) as cache:
        assert cache.path == tmp_path / "old.audio_facts.sqlite"
        assert cache.get(["cafe"]) == {"cafe": {"peak_dbfs": -1.5}}
    with Ledger(":memory:") as mem, FactsCache.for_ledger(mem) as cache:
        assert cache.path is None
    assert not hasattr(Ledger, "to_dataframe") and not hasattr(Ledger, "cached_facts")
