"""Several threads and processes on one ledger file; a writer killed with SIGKILL mid-way."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from minimax_nb.ledger import Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest

ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("_writer.py")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _run_job(led: Ledger, tag: str, i: int) -> str:
    job = Job(provider="aimlapi", request=MusicRequest(lyrics=f"{tag}{i}"), local_id=f"{tag}-{i}")
    led.record_submitting(job)
    job = job.evolve(id=f"id-{tag}-{i}")
    led.record(job)
    job = job.evolve(status=JobStatus.RUNNING)
    led.record(job)
    led.record(job.evolve(status=JobStatus.COMPLETED))
    return job.local_id


def _check_complete(path: Path, ids: set[str]) -> None:
    with Ledger(path) as led:
        states = led.states()
        assert ids <= set(states)
        for lid in ids:
            assert states[lid] == "completed"
            assert [s for _, s in led.history(lid)] == ["submitting", "queued", "running", "completed"]


def test_threads_share_one_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    led = Ledger(path)
    errors: list[BaseException] = []

    def work(tag: str) -> None:
        try:
            for i in range(40):
                _run_job(led, tag, i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{k}",)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    led.close()
    assert errors == []
    _check_complete(path, {f"t{k}-{i}" for k in range(6) for i in range(40)})


def test_threads_with_their_own_ledgers(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    errors: list[BaseException] = []

    def work(tag: str) -> None:
        try:
            with Ledger(path) as led:
                for i in range(40):
                    _run_job(led, tag, i)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"o{k}",)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _check_complete(path, {f"o{k}-{i}" for k in range(6) for i in range(40)})


def test_processes_write_one_file(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger(path) as led:  # and this process writes at the same time
        procs = [subprocess.Popen([sys.executable, str(WRITER), str(path), f"p{k}", "60"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
                 for k in range(3)]
        for i in range(60):
            _run_job(led, "main", i)
        outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert len(out.split()) == 60
    with Ledger(path) as led:
        assert len(led) == 4 * 60
    _check_complete(path, {f"main-{i}" for i in range(60)})
    with Ledger(path) as led:
        assert all(s == "completed" for s in led.states().values())


@pytest.mark.parametrize("after", [1, 37, 150])
def test_kill_9_leaves_a_consistent_file_with_every_committed_job(tmp_path: Path, after: int) -> None:
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    proc = subprocess.Popen([sys.executable, str(WRITER), str(path), "k", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout is not None
    committed: list[str] = []
    try:
        while len(committed) < after:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "writer died"
            committed.append(line.strip())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # lines printed but not read yet were committed too; read them all
    committed += [ln.strip() for ln in proc.stdout.read().splitlines() if ln.strip()]
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    with Ledger(path) as led:
        states = led.states()
        for lid in committed:
            assert states[lid] == "completed"
            job = led.get(lid)
            assert job is not None and job.id == f"p-{lid}"
        # the job being written at the kill is there in some consistent intermediate state, or absent
        assert set(states.values()) <= {"submitting", "queued", "running", "completed"}
        for lid, state in states.items():
            assert [s for _, s in led.history(lid)][-1] == state
        led.record(Job(provider="useapi", request=MusicRequest(), local_id="after-crash"))
        assert led.state("after-crash") == "queued"


def test_kill_9_during_bulk_transactions_leaves_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    proc = subprocess.Popen([sys.executable, str(WRITER), str(path), "bulk", "0", "bulk"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout is not None
    try:
        for _ in range(5):
            assert proc.stdout.readline(), proc.stderr.read() if proc.stderr else "writer died"
        time.sleep(0.013)  # land somewhere inside a later transaction
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    printed = [int(x) for x in proc.stdout.read().split()]
    last_printed = max([4, *printed])
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT local_id FROM jobs").fetchall()
        n_history = con.execute("SELECT COUNT(*) FROM history").fetchone()[0]
        n_data = con.execute("SELECT COUNT(*) FROM job_data").fetchone()[0]
    finally:
        con.close()
    per_batch: dict[int, int] = {}
    for (lid,) in rows:
        batch = int(lid.split("-")[1])
        per_batch[batch] = per_batch.get(batch, 0) + 1
    assert all(n == 200 for n in per_batch.values()), per_batch  # all of a transaction, or nothing
    assert set(range(last_printed + 1)) <= set(per_batch)  # every committed batch is there
    assert n_history == n_data == len(rows)
