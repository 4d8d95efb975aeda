"""kill -9 at seeded random moments: 24 batches across the six providers are killed mid-flight, then
``resume()`` runs in a new process. Every song the provider made and that can be identified (it has its
id in the ledger, or the provider lists songs) ends final with its audio; nothing is sent again; the
SQLite file passes ``PRAGMA integrity_check``. Songs that cannot be identified stay ``ambiguous``.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from minimax_nb.emulator import Emulator
from minimax_nb.ledger import Ledger

from .test_resume_e2e import HERE, SPEED, _env, _resume

pytestmark = pytest.mark.slow

RUNS = [("useapi", s) for s in range(6)] + [("aimlapi", s) for s in range(6)] + \
       [("apiin", s) for s in range(4)] + [("minimax", s) for s in range(4)] + \
       [("fal", s) for s in range(2)] + [("replicate", s) for s in range(2)]


def _made(emu: Emulator, provider: str) -> Counter[str]:
    return Counter(j.lyrics for j in emu.jobs(provider))


@pytest.mark.parametrize(("provider", "seed"), RUNS, ids=[f"{p}-{s}" for p, s in RUNS])
def test_kill9_then_resume(provider: str, seed: int, tmp_path: Path) -> None:
    rng = random.Random(f"kill9:{provider}:{seed}")
    ledger, downloads = tmp_path / "ledger.sqlite", tmp_path / "audio"
    with Emulator(speed=SPEED, seed=seed, useapi_accounts=("1001",)) as emu:
        emu.start()
        base_url = emu.base_url(provider)
        count = rng.randint(3, 6)
        batch = subprocess.Popen(
            [sys.executable, str(HERE / "_batch.py"), provider, base_url, str(ledger), str(downloads),
             str(count), str(SPEED)], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        kill_after = rng.uniform(0.5, 4.0)  # the seeded random moment (the child needs ~0.5 s to start)
        deadline = time.monotonic() + kill_after
        while time.monotonic() < deadline and batch.poll() is None:
            time.sleep(0.01)
        if batch.poll() is None:
            batch.send_signal(signal.SIGKILL)
        batch.wait()
        received, accepted = emu.submissions(provider), emu.submissions(provider, accepted_only=True)
        made_before = _made(emu, provider)

        resumed = _resume(provider, base_url, ledger, downloads) if ledger.exists() else []
        assert emu.submissions(provider) == received  # resume sent no create
        assert emu.submissions(provider, accepted_only=True) == accepted
        assert _made(emu, provider) == made_before and all(n <= 1 for n in made_before.values())

    if not ledger.exists():  # killed before the first row: nothing was sent either
        assert received == 0, resumed
        return
    with sqlite3.connect(ledger) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Ledger(ledger) as led:
        states = led.states()
        lists_songs = provider == "useapi"
        for job in led.jobs():
            state = states[job.local_id]
            made = made_before[job.request.lyrics] > 0
            identifiable = job.id is not None or lists_songs
            if made and identifiable:
                assert state == "completed", (provider, seed, state, job.error)
                assert job.audio_path is not None and Path(job.audio_path).is_file()
            elif made:
                assert state == "ambiguous", (provider, seed, state, job.error)
            else:  # never made: refused, or killed before it was sent; never completed
                assert state in ("ambiguous", "failed", "cancelled"), (provider, seed, state)
        row: Any = led.missing_audio()
        assert row == []
