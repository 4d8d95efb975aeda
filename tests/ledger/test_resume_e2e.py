"""End to end: a batch killed with SIGKILL mid-way; ``resume()`` in a new process finishes every job
with zero extra submits (the emulator's own count proves it)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from minimax_nb.ledger import UNFINISHED_STATES, Ledger

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
SPEED = 40.0

_missing = [m for m in ("minimax_nb.emulator", "minimax_nb.client.sync")
            if importlib.util.find_spec(m) is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(_missing), reason=f"needs the client and the emulator: {_missing} missing"),
]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("MINIMAX_NB_LEDGER", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _states(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with Ledger(path) as led:
        return led.states()


def _kill_batch_midway(provider: str, base_url: str, ledger: Path, downloads: Path, count: int) -> None:
    batch = subprocess.Popen(
        [sys.executable, str(HERE / "_batch.py"), provider, base_url, str(ledger), str(downloads),
         str(count), str(SPEED)], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def midway() -> bool:
            if batch.poll() is not None:
                raise AssertionError(f"the batch ended before the kill: {batch.stderr.read()!r}")  # type: ignore[union-attr]
            states = list(_states(ledger).values())
            return states.count("completed") >= 1 and any(s in UNFINISHED_STATES for s in states)

        _wait_until(midway, 120, "a batch with some jobs done and some not")
    finally:
        if batch.poll() is None:
            os.kill(batch.pid, signal.SIGKILL)
        batch.wait()
    assert batch.returncode == -signal.SIGKILL


def _resume(provider: str, base_url: str, ledger: Path, downloads: Path,
            mode: str = "sync") -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, str(HERE / "_resume.py"), provider, base_url, str(ledger), str(downloads),
         str(SPEED), mode], env=_env(), capture_output=True, text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _check_finished(ledger: Path) -> dict[str, str]:
    with Ledger(ledger) as led:
        states = led.states()
        assert states, "the ledger is empty"
        # what stays open is only what cannot be identified (ambiguous: shown, never sent, never written off)
        assert all(states[j.local_id] == "ambiguous" for j in led.unfinished())
        for job in led.jobs():
            state = states[job.local_id]
            assert state in ("completed", "ambiguous"), (job, state)
            if state == "completed":
                assert job.audio_path is not None and job.audio_path.is_file()
                audio = led.audio(job.local_id)
                assert audio is not None and audio[2] == job.audio_path.stat().st_size
        assert led.missing_audio() == []
    return states


@pytest.fixture
def emulator_process() -> Iterator[str]:
    """``python -m minimax_nb.emulator`` in its own process; yields its root URL."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "minimax_nb.emulator", "--port", str(port),
                             "--speed", str(SPEED)], env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "emulator on" in line, proc.stderr.read() if proc.stderr else line
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


def _useapi_created(root: str) -> set[str]:
    """Every song the emulated useapi account has made (its list endpoint): one per accepted submit."""
    import httpx

    from minimax_nb.emulator import DEFAULT_KEY

    r = httpx.get(f"{root}/useapi/v1/minimax/music/", params={"limit": "100"},
                  headers={"Authorization": f"Bearer {DEFAULT_KEY}"}, timeout=10)
    r.raise_for_status()
    return {item["musicId"] for item in r.json()}


def test_useapi_batch_killed_then_resumed_in_a_new_process(emulator_process: str, tmp_path: Path) -> None:
    ledger, downloads = tmp_path / "ledger.sqlite", tmp_path / "audio"
    base_url = f"{emulator_process}/useapi"
    _kill_batch_midway("useapi", base_url, ledger, downloads, count=5)
    made_before = _useapi_created(emulator_process)
    before = _states(ledger)
    print("useapi states at the kill:", sorted(before.values()))
    assert any(s in UNFINISHED_STATES for s in before.values())
    _resume("useapi", base_url, ledger, downloads)
    states = _check_finished(ledger)
    assert set(states) == set(before)  # resume adds no job
    # useapi has a list endpoint: a job caught in "submitting" whose create reached the server was found
    # there; "ambiguous" only if the kill came before its create was sent (then no song exists for it)
    with Ledger(ledger) as led:
        adopted = {j.id for j in led.jobs() if j.id}
    assert adopted == made_before
    if "ambiguous" in states.values():
        assert len(made_before) == sum(s == "completed" for s in states.values())
    # zero extra submits: the emulator made exactly the songs it had made before the resume
    assert _useapi_created(emulator_process) == made_before


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_aimlapi_batch_killed_then_resumed_in_a_new_process(tmp_path: Path, mode: str) -> None:
    from minimax_nb.emulator import Emulator

    ledger, downloads = tmp_path / "ledger.sqlite", tmp_path / "audio"
    with Emulator(speed=SPEED) as emu:  # its server runs in a thread here; the clients are processes
        emu.start()
        base_url = emu.base_url("aimlapi")
        _kill_batch_midway("aimlapi", base_url, ledger, downloads, count=6)
        submits = emu.submissions("aimlapi")
        before = _states(ledger)
        print("aimlapi states at the kill:", sorted(before.values()))
        assert any(s in UNFINISHED_STATES for s in before.values())
        assert submits >= len([s for s in before.values() if s != "submitting"])
        resumed = _resume("aimlapi", base_url, ledger, downloads, mode)
        assert resumed, "resume() found nothing to do"
        assert emu.submissions("aimlapi") == submits  # zero extra submits
        states = _check_finished(ledger)
        assert set(states) == set(before)
        assert sum(s == "completed" for s in states.values()) >= sum(
            s != "submitting" for s in before.values())
