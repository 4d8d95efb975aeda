"""``provider="local"``'s emulator in a child process: started lazily, shared, stopped, never orphaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from minimax_nb import MusicClient, MusicRequest
from minimax_nb.client import local
from minimax_nb.client.local import local_emulator, running_children

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int, within: float = 30.0) -> bool:
    """True once ``pid`` no longer runs (a zombie counts as gone); polls up to ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _generate(url: str, key: str, tmp_path: Path) -> str:
    with MusicClient(provider="local", base_url=url, api_key=key, ledger=False, download_dir=tmp_path,
                     emulator_speed=300) as client:
        job = client.generate(MusicRequest(lyrics="[Verse]\nA line to sing", style="pop"))
    assert job.audio_path is not None and Path(job.audio_path).stat().st_size > 0
    assert job.id is not None
    return job.id


def test_two_clients_share_one_child_which_stops_with_the_last(tmp_path: Path) -> None:
    first = local_emulator(300.0, {})
    second = local_emulator(300.0, {})
    try:
        assert first.pid == second.pid != os.getpid()
        assert first.base_url("local") == second.base_url("local")
        assert first.base_url("local").startswith("http://127.0.0.1:")
        assert psutil.Process(first.pid).ppid() == os.getpid()
        ids = {_generate(h.base_url("local"), h.default_key, tmp_path) for h in (first, second)}
        assert len(ids) == 2  # one emulator, two different jobs
        other = local_emulator(150.0, {})  # another speed is another child
        assert other.pid != first.pid
        other.stop()
        assert _gone(other.pid)
        first.stop()
        first.stop()  # idempotent: still holds nothing, does not release the other's hold
        assert _alive(second.pid) and second.pid in running_children()
        _generate(second.base_url("local"), second.default_key, tmp_path)
    finally:
        first.stop()
        second.stop()
    assert _gone(second.pid)
    assert second.pid not in running_children()
    third = local_emulator(300.0, {})  # after the last stop, a new one starts on demand
    try:
        assert third.pid != second.pid and third.running
    finally:
        third.stop()


def test_env_speed_and_bad_input() -> None:
    with pytest.raises(ValueError):
        local_emulator(0, {})
    with pytest.raises(ValueError):
        local_emulator(10, {}, generation="nonsense:1")
    assert local._resolve_speed(None, {"MINIMAX_NB_LOCAL_SPEED": "42"}) == 42.0
    assert local._resolve_speed(None, {"MINIMAX_NB_LOCAL_SPEED": "-1"}) == local.DEFAULT_LOCAL_SPEED
    assert running_children() == []  # nothing was started by bad input


def _parent(tmp_path: Path, body: str) -> subprocess.Popen[str]:
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from minimax_nb.client.local import local_emulator
        handle = local_emulator(300.0, {}, generation="uniform:30:40", queue="uniform:0:2")
        print(handle.pid, flush=True)
    """) + textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)


def test_child_is_stopped_when_the_parent_exits_normally(tmp_path: Path) -> None:
    parent = _parent(tmp_path, "sys.stdin.close()\n")  # exits without stopping: atexit must
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert parent.wait(60) == 0
    assert _gone(child)


def test_child_dies_when_the_parent_is_killed(tmp_path: Path) -> None:
    parent = _parent(tmp_path, "time.sleep(600)\n")
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)  # no atexit, no cleanup: only the closed pipe tells the child
    parent.wait(30)
    assert _gone(child)
