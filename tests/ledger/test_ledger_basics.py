"""Transitions, history, filters and lifetime of the SQLite job ledger."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from minimax_nb.ledger import SUBMITTING, UNKNOWN, Ledger, default_ledger_path
from minimax_nb.models import Job, JobStatus, MusicRequest


def make_job(provider: str = "useapi", **kw: object) -> Job:
    req = MusicRequest(lyrics="[Verse]\nhello world", style="synth-pop", title="Hello", bitrate=256000,
                       sample_rate=44100, audio_format="mp3")
    return Job(provider=provider, request=req, model="music-1.5", **kw)  # type: ignore[arg-type]


@pytest.fixture
def led(tmp_path: Path) -> Ledger:
    ledger = Ledger(tmp_path / "sub" / "ledger.sqlite")
    yield ledger  # type: ignore[misc]
    ledger.close()


def test_full_lifecycle_history(led: Ledger) -> None:
    job = make_job()
    led.record_submitting(job)
    assert led.state(job.local_id) == SUBMITTING
    assert [j.local_id for j in led.unfinished()] == [job.local_id]
    job = job.evolve(id="prov-1", submitted_at=datetime.now(UTC))
    led.record(job)
    assert led.state(job.local_id) == "queued"
    led.record(job)  # same status again: no new history row
    job = job.evolve(status=JobStatus.RUNNING)
    led.record(job)
    job = job.evolve(status=JobStatus.COMPLETED, duration_s=61.5, audio_url="http://127.0.0.1/a.mp3")
    led.record(job)
    hist = led.history(job.local_id)
    assert [s for _, s in hist] == ["submitting", "queued", "running", "completed"]
    times = [t for t, _ in hist]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)
    assert led.unfinished() == []
    got = led.get(job.local_id)
    assert got is not None
    assert got.id == "prov-1"
    assert got.status is JobStatus.COMPLETED
    assert got.duration_s == 61.5
    assert got.request == job.request
    assert got.started_at == job.started_at
    assert got.finished_at == job.finished_at
    assert led.find("useapi", "prov-1") == got
    assert led.find("aimlapi", "prov-1") is None


def test_final_state_is_not_moved_back_by_a_stale_snapshot(led: Ledger) -> None:
    job = make_job(id="x")
    running = job.evolve(status=JobStatus.RUNNING)
    done = running.evolve(status=JobStatus.FAILED, error="boom")
    led.record(running)
    led.record(done)
    led.record(running)  # a late poll answer
    assert led.state(job.local_id) == "failed"
    got = led.get(job.local_id)
    assert got is not None and got.error == "boom"
    assert [s for _, s in led.history(job.local_id)] == ["running", "failed"]


def test_mark_unknown_leaves_unfinished_and_keeps_reason(led: Ledger) -> None:
    job = make_job()
    led.record_submitting(job)
    led.mark_unknown(job, "crashed between sending and the answer")
    assert led.state(job.local_id) == UNKNOWN == "ambiguous"
    # issue 9: an ambiguous job is open, so resume() reconciles it
    assert [j.local_id for j in led.unfinished()] == [job.local_id]
    assert led.note(job.local_id) == "crashed between sending and the answer"
    got = led.get(job.local_id)
    assert got is not None and got.error == "crashed between sending and the answer"
    # matched later against the provider's list: it moves on
    led.record(job.evolve(id="found", status=JobStatus.RUNNING))
    assert led.state(job.local_id) == "running"
    assert [s for _, s in led.history(job.local_id)] == ["submitting", "ambiguous", "running"]


def test_filters_by_provider_and_order(led: Ledger) -> None:
    a = make_job("useapi")
    b = make_job("aimlapi", status=JobStatus.RUNNING)
    c = make_job("aimlapi", status=JobStatus.COMPLETED)
    for j in (a, b, c):
        led.record(j)
    assert [j.local_id for j in led.jobs()] == [a.local_id, b.local_id, c.local_id]
    assert [j.local_id for j in led.jobs("aimlapi")] == [b.local_id, c.local_id]
    assert [j.local_id for j in led.unfinished("aimlapi")] == [b.local_id]
    assert [j.local_id for j in led.unfinished("useapi")] == [a.local_id]
    assert led.states() == {a.local_id: "queued", b.local_id: "running", c.local_id: "completed"}
    assert len(led) == 3
    assert a.local_id in led and "nope" not in led


def test_missing_audio_and_record_audio(led: Ledger, tmp_path: Path) -> None:
    done = make_job(id="d1", status=JobStatus.COMPLETED)
    other = make_job(id="d2", status=JobStatus.COMPLETED)
    failed = make_job(id="d3", status=JobStatus.FAILED)
    for j in (done, other, failed):
        led.record(j)
    assert {j.local_id for j in led.missing_audio()} == {done.local_id, other.local_id}
    path = tmp_path / "song.mp3"
    path.write_bytes(b"ID3 fake")
    led.record_audio(done, path, "AB" * 32, 8)
    assert [j.local_id for j in led.missing_audio()] == [other.local_id]
    got = led.get(done.local_id)
    assert got is not None and got.audio_path == path.absolute()
    assert got.status is JobStatus.COMPLETED
    assert led.audio(done.local_id) == (path.absolute(), "ab" * 32, 8)
    path.unlink()  # the file was deleted: it is missing again
    assert {j.local_id for j in led.missing_audio()} == {done.local_id, other.local_id}
    assert led.missing_audio("aimlapi") == []


def test_record_audio_does_not_regress_a_final_state(led: Ledger, tmp_path: Path) -> None:
    job = make_job(id="z", status=JobStatus.RUNNING)
    done = job.evolve(status=JobStatus.COMPLETED)
    led.record(done)
    led.record_audio(job, tmp_path / "z.wav", "cd" * 32, 3)  # stale snapshot with the audio
    assert led.state(job.local_id) == "completed"
    got = led.get(job.local_id)
    assert got is not None and got.audio_path == (tmp_path / "z.wav").absolute()


def test_state_of_unknown_id_raises_and_get_returns_none(led: Ledger) -> None:
    with pytest.raises(KeyError):
        led.state("missing")
    assert led.get("missing") is None
    assert led.history("missing") == []


def test_memory_ledger_and_context_manager() -> None:
    with Ledger(":memory:") as led:
        job = make_job()
        led.record(job)
        assert led.state(job.local_id) == "queued"
        assert "memory" in repr(led)
    assert led.closed
    with pytest.raises(RuntimeError):
        led.jobs()
    led.close()  # idempotent


def test_default_path_from_env_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MINIMAX_NB_LEDGER", raising=False)
    assert default_ledger_path() == tmp_path / ".minimax_nb" / "ledger.sqlite"
    with Ledger() as led:
        led.record(make_job())
    assert (tmp_path / ".minimax_nb" / "ledger.sqlite").is_file()
    target = tmp_path / "elsewhere" / "l.db"
    monkeypatch.setenv("MINIMAX_NB_LEDGER", str(target))
    assert default_ledger_path() == target
    with Ledger() as led:
        assert led.path == target
        assert len(led) == 0


def test_reopen_sees_everything_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    job = make_job(id="keep")
    with Ledger(path) as led:
        led.record_submitting(job)
        led.record(job.evolve(status=JobStatus.RUNNING))
    with Ledger(path) as led:
        assert led.state(job.local_id) == "running"
        assert [s for _, s in led.history(job.local_id)] == ["submitting", "running"]
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        cols = {r[1] for r in con.execute("PRAGMA table_info(jobs)")}
        assert {"account", "model", "provider", "provider_id", "state",
                "submitted_us", "finished_us"} <= cols
        indexes = {r[1] for r in con.execute("PRAGMA index_list(jobs)")}
        assert "jobs_provider" in indexes
    finally:
        con.close()


def test_mark_unknown_does_not_clobber_a_job_another_process_finished(led: Ledger) -> None:
    job = make_job()
    led.record_submitting(job)
    led.record(job.evolve(id="found", status=JobStatus.COMPLETED))  # another resume adopted it
    led.mark_unknown(job, "no answer")  # a stale decision arrives late
    assert led.state(job.local_id) == "completed"
    assert led.note(job.local_id) is None


def test_record_many_is_one_transaction_and_keeps_final_states(led: Ledger) -> None:
    jobs = [make_job(id=f"m{i}") for i in range(50)]
    assert led.record_many(jobs) == 50
    done = [j.evolve(status=JobStatus.COMPLETED) for j in jobs]
    assert led.record_many(done) == 50
    assert led.record_many(jobs) == 0  # stale snapshots: ignored
    assert set(led.states().values()) == {"completed"}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_connection(led: Ledger) -> None:
    parent_job = make_job()
    led.record(parent_job)
    inherited = led._conn
    pid = os.fork()
    if pid == 0:  # the child: write through the inherited Ledger object
        code = 1
        try:
            child = make_job(local_id="from-child")
            led.record(child)
            led.record(child.evolve(status=JobStatus.RUNNING))
            code = 0 if led.state("from-child") == "running" else 2
            code = code or (3 if led._conn is inherited else 0)  # SQLite handles never cross a fork
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert led.state("from-child") == "running"
    led.record(parent_job.evolve(status=JobStatus.RUNNING))  # and the parent's connection still works
    assert led.state(parent_job.local_id) == "running"


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE jobs (
    local_id TEXT PRIMARY KEY, provider TEXT NOT NULL, account TEXT, model TEXT, provider_id TEXT,
    state TEXT NOT NULL, title TEXT, style TEXT, lyrics TEXT, lyrics_chars INTEGER, bitrate INTEGER,
    sample_rate INTEGER, audio_format TEXT, instrumental INTEGER, error TEXT, duration_s REAL,
    created_us INTEGER, submitted_us INTEGER, started_us INTEGER, finished_us INTEGER,
    updated_us INTEGER NOT NULL, note TEXT, request_json TEXT NOT NULL, job_json TEXT NOT NULL);
CREATE INDEX jobs_state ON jobs (state, provider);
CREATE INDEX jobs_provider ON jobs (provider, created_us);
CREATE INDEX jobs_provider_id ON jobs (provider, provider_id);
CREATE TABLE history (seq INTEGER PRIMARY KEY AUTOINCREMENT, local_id TEXT NOT NULL, at_us INTEGER NOT NULL,
                      state TEXT NOT NULL);
CREATE INDEX history_job ON history (local_id, seq);
CREATE TABLE audio (local_id TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL,
                    size INTEGER NOT NULL, saved_us INTEGER NOT NULL);
CREATE TABLE audio_facts (sha256 TEXT NOT NULL, version INTEGER NOT NULL, facts TEXT NOT NULL,
                          PRIMARY KEY (sha256, version));
INSERT INTO jobs VALUES ('old-1', 'useapi', NULL, NULL, 'x1', 'completed', NULL, 'pop', 'old', 3, NULL, NULL,
    NULL, 0, NULL, NULL, 1795433542426109, NULL, NULL, 1795433542426866, 1795433542426930, NULL,
    '{"lyrics":"old","style":"pop","instrumental":false,"extra":{}}',
    '{"provider":"useapi","request":{"lyrics":"old"},"status":"completed","id":"x1","local_id":"old-1",
      "created_at":"2026-11-23T11:32:22.426109+00:00","finished_at":"2026-11-23T11:32:22.426866+00:00",
      "raw":{}}');
INSERT INTO history (local_id, at_us, state) VALUES ('old-1', 1795433542426225, 'submitting'),
    ('old-1', 1795433542426678, 'completed');
"""


def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite"
    con = sqlite3.connect(path)
    con.executescript(V1_SCHEMA)
    con.close()
    with Ledger(path) as led:
        job = led.get("old-1")
        assert job is not None and job.id == "x1" and job.status is JobStatus.COMPLETED
        assert job.request.lyrics == "old" and job.request.style == "pop"
        assert [s for _, s in led.history("old-1")] == ["submitting", "completed"]
        new = make_job()
        led.record(new)
        assert led.state(new.local_id) == "queued"
    con = sqlite3.connect(path)
    try:
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert version == "3"  # issue 9 bumped it (unknown -> ambiguous)
        assert "job_json" not in {r[1] for r in con.execute("PRAGMA table_info(jobs)")}
    finally:
        con.close()
