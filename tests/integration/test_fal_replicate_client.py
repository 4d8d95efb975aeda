# ruff: noqa: ASYNC240
"""Our own clients (``MusicClient``/``AsyncMusicClient``) with ``provider="fal"`` and ``"replicate"`` against
the emulator on a real 127.0.0.1 port: the same happy path, moderation, poll faults and never-replayed create
as the four other providers.

**Needs the lead's wiring** of ``ProviderAdapter.auth_scheme`` in ``client/core.py`` ``request_kwargs``
(``f"{adapter.auth_scheme} {key}"`` instead of the hard-coded ``Bearer``) and of
``providers.PROVIDER_NAMES``/``ENV_KEYS`` for the provider list: until then the fal tests fail with
``AuthenticationError`` (the emulator, like fal, refuses a Bearer key) and ``provider="fal"`` may be refused.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minimax_nb.client import AsyncMusicClient, MusicClient, RetryPolicy
from minimax_nb.emulator import DEFAULT_KEY, Emulator
from minimax_nb.errors import APIConnectionError
from minimax_nb.models import JobStatus, MusicRequest

from ._fake import Both

SPEED = 300.0
FAST_RETRY = RetryPolicy(max_attempts=5, base=0.02, cap=0.1)
REQUESTS: dict[str, MusicRequest] = {
    "fal": MusicRequest(lyrics="[Verse]\nHello from the fal test\n[Chorus]\nLa la la",
                        style="bright synth-pop with female vocals", model="fal-ai/minimax-music/v2"),
    "replicate": MusicRequest(lyrics="[Verse]\nHello from the replicate test", style="calm lo-fi piano",
                              model="minimax/music-1.5"),
}
PROVIDERS = ["fal", "replicate"]


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=SPEED, seed=7) as e:
        yield e


def client_for(kind: str, emu: Emulator, provider: str, tmp_path: Path, **kw: Any) -> Any:
    cls = MusicClient if kind == "sync" else AsyncMusicClient
    return cls(provider, api_key=DEFAULT_KEY, base_url=emu.base_url(provider), ledger=False,
               download_dir=tmp_path / "audio", emulator_speed=SPEED, retry=kw.pop("retry", FAST_RETRY), **kw)


async def _close(client: Any) -> None:
    result = client.close()
    if inspect.isawaitable(result):
        await result


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_happy_path(kind: str, emu: Emulator, tmp_path: Path, provider: str) -> None:
    client = client_for(kind, emu, provider, tmp_path)
    job = await Both(client).generate(REQUESTS[provider])
    assert job.status is JobStatus.COMPLETED, job.error
    assert job.provider == provider and job.id
    assert job.audio_path is not None and Path(job.audio_path).stat().st_size > 1000
    assert emu.submissions(provider) == 1 and emu.submissions(provider, accepted_only=True) == 1
    await _close(client)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_moderation(kind: str, emu: Emulator, tmp_path: Path, provider: str) -> None:
    client = client_for(kind, emu, provider, tmp_path)
    request = REQUESTS[provider].replace(lyrics="[Verse]\nforbiddenword in my song")
    job = await Both(client).submit(request)
    final = await Both(client).wait(job)
    assert final.status is JobStatus.MODERATED
    await _close(client)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_poll_faults_are_retried(kind: str, emu: Emulator, tmp_path: Path, provider: str) -> None:
    emu.faults.add(route="poll", provider=provider, kind="503", times=2, retry_after=0.01)
    client = client_for(kind, emu, provider, tmp_path)
    job = await Both(client).generate(REQUESTS[provider])
    assert job.status is JobStatus.COMPLETED, job.error
    assert emu.submissions(provider) == 1
    await _close(client)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_dropped_create_is_never_replayed(kind: str, emu: Emulator, tmp_path: Path,
                                                  provider: str) -> None:
    """Unlike fal_client (which re-POSTs, see tests/emulator/test_official_clients.py)."""
    client = client_for(kind, emu, provider, tmp_path)
    emu.faults.add(route="submit", provider=provider, kind="reset", times=1)
    with pytest.raises(APIConnectionError) as info:
        await Both(client).generate(REQUESTS[provider])
    assert info.value.job is not None and info.value.job.status is JobStatus.AMBIGUOUS
    assert emu.submissions(provider) == 1 and emu.submissions(provider, accepted_only=True) == 1
    await _close(client)
