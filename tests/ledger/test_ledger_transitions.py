"""Compare-and-set transitions of the ledger (issue 9): two writers on one file never lose a provider id,
``ambiguous`` is the one name of the old ``unknown`` state (migrated on open), and the file stays sound."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from minimax_nb.ledger import (
    AMBIGUOUS,
    FINAL_STATES,
    SCHEMA_VERSION,
    SUBMITTING,
    UNFINISHED_STATES,
    UNKNOWN,
    Ledger,
)
from minimax_nb.models import Job, JobStatus, MusicRequest


def make_job(local_id: str, provider: str = "useapi", **kw: object) -> Job:
    return Job(provider=provider, request=MusicRequest(lyrics="[Verse]\nla la", style="pop"),
               local_id=local_id, **kw)  # type: ignore[arg-type]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite"


def test_constants_are_the_jobstatus_vocabulary() -> None:
    assert JobStatus.SUBMITTING.value == SUBMITTING
    assert UNKNOWN == AMBIGUOUS == JobStatus.AMBIGUOUS.value == "ambiguous"
    assert set(UNFINISHED_STATES) == {"submitting", "ambiguous", "queued", "running"}
    assert set(FINAL_STATES) == {"completed", "moderated", "failed", "cancelled", "lost"}
    assert SCHEMA_VERSION == 3


def test_transition_is_compare_and_set_with_history(path: Path) -> None:
    with Ledger(path) as led:
        job = make_job("a", status=JobStatus.SUBMITTING)
        assert led.transition(job, expect=None)  # no row yet
        assert not led.transition(job, expect=[None])  # the row exists now
        queued = job.evolve(id="p1", status=JobStatus.QUEUED)
        assert not led.transition(queued, expect=JobStatus.RUNNING)  # mismatch: nothing written
        assert led.state("a") == "submitting"
        assert led.transition(queued, expect=SUBMITTING, note="create answered")
        assert led.note("a") == "create answered"
        running = queued.evolve(status=JobStatus.RUNNING)
        assert led.transition(running, expect=[JobStatus.QUEUED, "running"])
        done = running.evolve(status=JobStatus.COMPLETED)
        assert led.transition(done, expect=None)  # None: any open state
        assert not led.transition(running, expect=None)  # final now: None does not match
        assert led.state("a") == "completed"
        assert [s for _, s in led.history("a")] == ["submitting", "queued", "running", "completed"]
        # a row with a provider id only takes the same id, whatever the expected state
        assert not led.transition(job.evolve(status=JobStatus.FAILED), expect="completed")
        assert not led.transition(done.evolve(id="other", status=JobStatus.FAILED), expect="completed")
        assert led.transition(done.evolve(status=JobStatus.FAILED), expect="completed")
        with pytest.raises(ValueError, match="unknown job state"):
            led.transition(job, expect="finished")


def test_transition_accepts_the_legacy_unknown_name(path: Path) -> None:
    with Ledger(path) as led:
        job = make_job("b", status=JobStatus.SUBMITTING)
        led.record_submitting(job)
        assert led.mark_ambiguous(job, "answer lost")
        assert led.transition(job.evolve(id="x", status=JobStatus.RUNNING), expect="unknown")
        assert led.state("b") == "running"


def test_mark_unknown_only_moves_out_of_submitting(path: Path) -> None:
    with Ledger(path) as led:
        job = make_job("c", status=JobStatus.SUBMITTING)
        led.record_submitting(job)
        led.record(job.evolve(id="prov-c", status=JobStatus.QUEUED))  # the answer came after all
        assert led.mark_unknown(job, "stale: no answer") is False
        assert led.state("c") == "queued"
        got = led.get("c")
        assert got is not None and got.id == "prov-c" and got.error is None
        other = make_job("d", status=JobStatus.SUBMITTING)
        led.record_submitting(other)
        assert led.mark_unknown(other, "timed out after sending") is True
        got = led.get("d")
        assert got is not None and got.status is JobStatus.AMBIGUOUS
        assert got.error == "timed out after sending"
        assert led.mark_ambiguous(other, "again") is False  # already out of submitting
        assert led.note("d") == "timed out after sending"


def test_record_submitting_never_moves_a_row_back(path: Path) -> None:
    with Ledger(path) as led:
        job = make_job("s", status=JobStatus.SUBMITTING)
        assert led.record_submitting(job)
        assert led.record_submitting(job)  # still submitting: rewritten (same row)
        led.record(job.evolve(id="prov-s", status=JobStatus.QUEUED))
        assert not led.record_submitting(job)  # a stale process's snapshot
        got = led.get("s")
        assert got is not None and got.id == "prov-s" and led.state("s") == "queued"
        other = make_job("t", status=JobStatus.SUBMITTING)
        led.record_submitting(other)
        led.mark_ambiguous(other, "lost")
        assert not led.record_submitting(other)
        assert led.state("t") == "ambiguous"
        assert [s for _, s in led.history("s")] == ["submitting", "queued"]


def test_record_never_drops_a_known_provider_id(path: Path) -> None:
    with Ledger(path) as led:
        job = make_job("e", status=JobStatus.SUBMITTING)
        led.record_submitting(job)
        led.record(job.evolve(id="prov-e", status=JobStatus.QUEUED))
        led.record(job.evolve(status=JobStatus.RUNNING))  # a snapshot without the id: ignored
        got = led.get("e")
        assert got is not None and got.id == "prov-e" and led.state("e") == "queued"
        led.record(job.evolve(id="prov-e", status=JobStatus.RUNNING))
        assert led.state("e") == "running"


def test_ambiguous_and_unfinished_lists(path: Path) -> None:
    with Ledger(path) as led:
        a = make_job("f1", status=JobStatus.SUBMITTING)
        b = make_job("f2", provider="aimlapi", status=JobStatus.SUBMITTING)
        c = make_job("f3", id="p3", status=JobStatus.RUNNING)
        d = make_job("f4", id="p4", status=JobStatus.COMPLETED)
        for j in (a, b):
            led.record_submitting(j)
        led.record_many([c, d])
        led.mark_ambiguous(a, "lost answer")
        led.mark_ambiguous(b, "lost answer")
        assert [j.local_id for j in led.ambiguous()] == ["f1", "f2"]
        assert [j.local_id for j in led.ambiguous("aimlapi")] == ["f2"]
        assert [j.local_id for j in led.unfinished()] == ["f1", "f2", "f3"]
        assert all(j.status is JobStatus.AMBIGUOUS for j in led.ambiguous())


def test_two_ledgers_race_mark_unknown_against_record_with_id(path: Path) -> None:
    """Threads with one Ledger object each: whichever order, the id survives (or was never written)."""
    for round_ in range(30):
        one, two = Ledger(path), Ledger(path)
        job = make_job(f"r{round_}", status=JobStatus.SUBMITTING)
        one.record_submitting(job)
        start = threading.Barrier(2)
        stale = partial(_racer, start, partial(one.mark_unknown, job, "no answer"))  # stale snapshot
        fresh = partial(_racer, start, partial(two.record, job.evolve(id=f"id{round_}",
                                                                       status=JobStatus.QUEUED)))
        threads = [threading.Thread(target=stale), threading.Thread(target=fresh)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = two.get(job.local_id)
        # whichever came first, the recorded id survives (mark_unknown first: the id moves it on)
        assert got is not None and got.id == f"id{round_}"
        assert two.state(job.local_id) == "queued"
        one.close()
        two.close()


def _racer(start: threading.Barrier, act: Callable[[], object]) -> None:
    start.wait()
    act()


def _mark(path: str, ids: list[str], go: mp.synchronize.Event) -> None:
    led = Ledger(path)
    go.wait()
    for lid in ids:
        led.mark_unknown(make_job(lid, status=JobStatus.SUBMITTING), "no answer (stale process)")
    led.close()


def _adopt(path: str, ids: list[str], go: mp.synchronize.Event) -> None:
    led = Ledger(path)
    go.wait()
    for lid in ids:
        led.record(make_job(lid, id=f"prov-{lid}", status=JobStatus.QUEUED))
    led.close()


def test_two_processes_race_mark_unknown_against_record_with_id(path: Path) -> None:
    ids = [f"job{i}" for i in range(150)]
    with Ledger(path) as led:
        for lid in ids:
            led.record_submitting(make_job(lid, status=JobStatus.SUBMITTING))
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    procs = [ctx.Process(target=_mark, args=(str(path), ids, go)),
             ctx.Process(target=_adopt, args=(str(path), list(reversed(ids)), go))]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Ledger(path) as led:
        for lid in ids:
            job = led.get(lid)
            assert job is not None and job.id == f"prov-{lid}", lid
            assert led.state(lid) == "queued"
            states = [s for _, s in led.history(lid)]
            assert states in (["submitting", "queued"], ["submitting", "ambiguous", "queued"])
        assert led.integrity_ok()


def _legacy_ledger(path: Path) -> None:
    """A schema-2 file with a job in the old ``unknown`` state, as the previous release wrote it."""
    with Ledger(path) as led:
        job = make_job("old", status=JobStatus.SUBMITTING)
        led.record_submitting(job)
        led.record(make_job("done", id="p", status=JobStatus.COMPLETED))
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE jobs SET state = 'unknown', note = 'crashed' WHERE local_id = 'old'")
        con.execute("INSERT INTO history (local_id, at_us, state) VALUES ('old', 1, 'unknown')")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()


def test_unknown_rows_are_migrated_to_ambiguous_on_open(path: Path) -> None:
    _legacy_ledger(path)
    with Ledger(path) as led:
        assert led.state("old") == "ambiguous"
        assert led.state("done") == "completed"
        assert [s for _, s in led.history("old")] == ["submitting", "ambiguous"]
        got = led.get("old")
        assert got is not None and got.status is JobStatus.AMBIGUOUS
        assert [j.local_id for j in led.ambiguous()] == ["old"]
        assert led.note("old") == "crashed"
        assert led.integrity_ok()
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    assert con.execute("SELECT COUNT(*) FROM jobs WHERE state = 'unknown'").fetchone() == (0,)
    con.close()


def test_integrity_ok_reports_a_damaged_file(path: Path) -> None:
    with Ledger(path) as led:
        led.record_many([make_job(f"g{i}", id=f"p{i}", status=JobStatus.COMPLETED) for i in range(300)])
        assert led.integrity_ok()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for at in range(page * 2 + 100, len(data) - 100, page):  # scribble over the b-tree pages
        data[at:at + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    try:
        led = Ledger(path)
    except sqlite3.DatabaseError:
        return  # too damaged to open at all: also not "ok"
    try:
        assert not led.integrity_ok()
    except sqlite3.DatabaseError:
        pass
    finally:
        led.close()
