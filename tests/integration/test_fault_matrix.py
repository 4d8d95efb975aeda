# ruff: noqa: ASYNC240
"""Every emulator fault kind on every route it can hit, for the sync and the async client.

Each case asserts the final outcome a user sees and the emulator's own count of creates: a create that
may have reached the server is never sent twice, a refused one (429) is sent again, reads and downloads
are retried until they succeed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minimax_nb.client import AsyncMusicClient, MusicClient, RetryPolicy
from minimax_nb.client.download import DownloadError
from minimax_nb.emulator import DEFAULT_KEY, Emulator
from minimax_nb.emulator.faults import FAULT_KINDS
from minimax_nb.errors import APIConnectionError, MiniMaxError, ServerError
from minimax_nb.ledger import Ledger
from minimax_nb.models import JobStatus, MusicRequest

from ._fake import Both

SPEED = 300.0
REQUEST = MusicRequest(lyrics="[Verse]\nHello from the fault matrix\n[Chorus]\nLa la la",
                       style="bright synth-pop with female vocals")

# (route, fault) -> (expected status or exception type, creates received, creates accepted)
Outcome = tuple[JobStatus | type[BaseException], int, int]
EXPECTED: dict[tuple[str, str], Outcome] = {
    # a create answered 429 was refused: nothing bought, sent again
    ("submit", "429"): (JobStatus.COMPLETED, 2, 1),
    # a 5xx create may or may not have been processed: never replayed, the error is raised, the job is
    # "ambiguous" (never written off as failed: a gateway timing out a create hides a made song)
    ("submit", "500"): (ServerError, 1, 0),
    ("submit", "502"): (ServerError, 1, 0),
    ("submit", "503"): (ServerError, 1, 0),
    ("submit", "html_error"): (ServerError, 1, 0),
    # the song was made but its answer was lost or garbled: never replayed, the ledger says "ambiguous"
    # (AIML has no list to identify it by)
    ("submit", "malformed_json"): (APIConnectionError, 1, 1),
    ("submit", "reset"): (APIConnectionError, 1, 1),
    ("submit", "truncated"): (APIConnectionError, 1, 1),
    ("submit", "restart"): (JobStatus.COMPLETED, 1, 1),
    ("submit", "slow"): (JobStatus.COMPLETED, 1, 1),
    # a provider that forgot the job answers 404 on every poll: LOST with the reason, not an endless wait
    ("poll", "restart"): (JobStatus.LOST, 1, 1),
    # a download answering JSON is not audio
    ("file", "malformed_json"): (DownloadError, 1, 1),
    # the audio answers 404 and a fresh status read says the provider forgot the job: LOST, not moderated
    ("file", "restart"): (JobStatus.LOST, 1, 1),
}
CASES = [(route, fault) for route in ("submit", "poll", "file") for fault in sorted(FAULT_KINDS)]


def expected(route: str, fault: str) -> Outcome:
    return EXPECTED.get((route, fault), (JobStatus.COMPLETED, 1, 1))  # reads are retried to success


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(("route", "fault"), CASES)
async def test_fault(kind: str, route: str, fault: str, tmp_path: Path) -> None:
    outcome, received, accepted = expected(route, fault)
    with Emulator(speed=SPEED, seed=3) as emu, Ledger(tmp_path / "ledger.sqlite") as ledger:
        emu.faults.add(route=route, provider=None if route == "file" else "aimlapi", kind=fault, times=1,
                       retry_after=0.02, delay_s=0.3)
        cls: Any = MusicClient if kind == "sync" else AsyncMusicClient
        client = cls("aimlapi", api_key=DEFAULT_KEY, base_url=emu.base_url("aimlapi"), ledger=ledger,
                     download_dir=tmp_path / "audio", emulator_speed=SPEED,
                     retry=RetryPolicy(max_attempts=5, base=0.02, cap=0.1))
        both = Both(client)
        try:
            if isinstance(outcome, JobStatus):
                job = await both.generate(REQUEST)
                assert job.status is outcome, job.error
                if outcome is JobStatus.COMPLETED:
                    assert job.audio_path is not None and Path(job.audio_path).stat().st_size > 1000
                assert ledger.state(job.local_id) == outcome.value
            else:
                with pytest.raises(outcome) as info:
                    await both.generate(REQUEST)
                err = info.value
                assert isinstance(err, MiniMaxError) and err.job is not None
                if route == "submit" and outcome in (APIConnectionError, ServerError):
                    assert ledger.state(err.job.local_id) == "ambiguous"
                    assert err.job.status is JobStatus.AMBIGUOUS
        finally:
            await both.close()
        assert emu.submissions("aimlapi") == received
        assert emu.submissions("aimlapi", accepted_only=True) == accepted
        assert not list(tmp_path.glob("audio/*.part"))  # no half-written file left behind
