# ruff: noqa: ASYNC240
"""The clients against the emulator on a real 127.0.0.1 port, every test body written once and run for
the sync and the async client: happy path per provider, moderation (also after the song is made),
useapi's one-song-per-account queue, 429 + Retry-After, 5xx and dropped connections, ``wait()``
timeouts, and the emulator's own count proving every create was sent exactly once."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minimax_nb.client import AsyncMusicClient, MusicClient, RetryPolicy
from minimax_nb.emulator import DEFAULT_KEY, Emulator
from minimax_nb.errors import (
    APIConnectionError,
    BudgetExceededError,
    ModerationError,
    ValidationError,
    WaitTimeoutError,
)
from minimax_nb.models import JobStatus, MusicRequest

from ._fake import Both

SPEED = 300.0
FAST_RETRY = RetryPolicy(max_attempts=5, base=0.02, cap=0.1)
REQUESTS: dict[str, MusicRequest] = {
    "useapi": MusicRequest(lyrics="Hello from the useapi test\nSecond line", title="U"),
    "aimlapi": MusicRequest(lyrics="[Verse]\nHello from the aiml test\n[Chorus]\nLa la la",
                            style="bright synth-pop with female vocals"),
    "apiin": MusicRequest(lyrics="[Verse]\nHello from the apiin test", style="calm lo-fi piano"),
    "minimax": MusicRequest(lyrics="[Verse]\nHello from the platform test", style="warm acoustic folk",
                            model="music-2.0"),
    "local": MusicRequest(lyrics="[Verse]\nHello from the local test", style="upbeat synth-pop"),
}


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(speed=SPEED, seed=7, useapi_accounts=("1001", "1002")) as e:
        yield e


def client_for(kind: str, emu: Emulator, provider: str, tmp_path: Path, **kw: Any) -> Any:
    cls = MusicClient if kind == "sync" else AsyncMusicClient
    kw.setdefault("account", "1001" if provider == "useapi" else None)
    return cls(provider, api_key=DEFAULT_KEY, base_url=emu.base_url(provider), ledger=kw.pop("ledger", False),
               download_dir=tmp_path / "audio", emulator_speed=SPEED, retry=kw.pop("retry", FAST_RETRY),
               **kw)


async def _close(client: Any) -> None:
    result = client.close()
    if inspect.isawaitable(result):
        await result


def record_sleeps(client: Any, sleeps: list[float]) -> None:
    """Record every wait the client makes (and still wait: the emulator runs on real time)."""
    real = client._sleep

    if inspect.iscoroutinefunction(getattr(type(client), "generate", None)):
        async def asleep(d: float) -> None:
            sleeps.append(d)
            await real(d)

        client._sleep = asleep
    else:
        def ssleep(d: float) -> None:
            sleeps.append(d)
            real(d)

        client._sleep = ssleep


async def useapi_request(client: Any, lyrics: str = "Hello from the useapi test") -> MusicRequest:
    styles = await Both(client).styles()
    assert styles and all(s.get("styleId") for s in styles)
    return MusicRequest(lyrics=lyrics, style_id=styles[0]["styleId"], title="U")


@pytest.mark.parametrize("provider", ["useapi", "aimlapi", "apiin", "minimax"])
async def test_happy_path_per_provider(kind: str, emu: Emulator, tmp_path: Path, provider: str) -> None:
    client = client_for(kind, emu, provider, tmp_path)
    request = await useapi_request(client) if provider == "useapi" else REQUESTS[provider]
    job = await Both(client).generate(request)
    assert job.status is JobStatus.COMPLETED, job.error
    assert job.provider == provider and job.id
    assert job.audio_path is not None and Path(job.audio_path).stat().st_size > 1000
    assert Path(job.audio_path).parent == tmp_path / "audio"
    assert job.duration_s is not None and job.duration_s > 0
    assert emu.submissions(provider) == 1 and emu.submissions(provider, accepted_only=True) == 1
    await _close(client)


async def test_platform_hex_audio_is_written_straight_to_the_file(kind: str, emu: Emulator,
                                                                  tmp_path: Path) -> None:
    client = client_for(kind, emu, "minimax", tmp_path)
    job = await Both(client).generate(REQUESTS["minimax"].replace(extra={"output_format": "hex"}))
    assert job.status is JobStatus.COMPLETED and job.audio_path is not None
    assert Path(job.audio_path).stat().st_size > 1000
    assert all(not isinstance(v, bytes) for v in job.raw.values())
    assert len(repr(dict(job.raw))) < 5000  # the audio is not kept in the job
    assert not [r for r in emu.requests if "/files/" in r.path]  # nothing downloaded
    await _close(client)


async def test_local_provider_starts_and_stops_its_own_emulator(kind: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIMAX_NB_LOCAL_SPEED", str(SPEED))
    for var in ("USEAPI_API_TOKEN", "AIMLAPI_API_KEY", "APIIN_API_KEY", "MINIMAX_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    cls = MusicClient if kind == "sync" else AsyncMusicClient
    client = cls(ledger=False, download_dir=tmp_path)
    assert client.provider == "local" and client.emulator is not None
    assert client.emulator.speed == SPEED and client.poll.first_delay == pytest.approx(20 / SPEED)
    job = await Both(client).generate(REQUESTS["local"])
    assert job.status is JobStatus.COMPLETED and job.audio_path is not None
    assert job.id and client.emulator.pid != os.getpid()  # the emulator runs in a child process
    emulator = client.emulator
    await _close(client)
    assert not emulator.running


async def test_moderation_at_submit(kind: str, emu: Emulator, tmp_path: Path) -> None:
    useapi = client_for(kind, emu, "useapi", tmp_path)
    with pytest.raises(ModerationError):
        await Both(useapi).generate(await useapi_request(useapi, "a forbiddenword song"))
    aiml = client_for(kind, emu, "aimlapi", tmp_path)
    job = await Both(aiml).generate(REQUESTS["aimlapi"].replace(lyrics="[Verse]\nforbiddenword here"))
    assert job.status is JobStatus.MODERATED and job.audio_path is None and job.error
    with pytest.raises(ModerationError):
        job.raise_for_status()
    assert emu.submissions() == 2
    await _close(useapi)
    await _close(aiml)


async def test_post_moderation_is_picked_up_after_a_blocking_create(kind: str, emu: Emulator,
                                                                    tmp_path: Path) -> None:
    client = client_for(kind, emu, "useapi", tmp_path)
    job = await Both(client).generate(await useapi_request(client, "a postmoderated song"))
    assert job.status is JobStatus.MODERATED
    assert job.audio_path is None  # its URL stopped working: nothing downloaded
    assert emu.submissions("useapi") == 1
    await _close(client)


async def test_post_moderation_on_a_polled_provider(kind: str, emu: Emulator, tmp_path: Path) -> None:
    client = client_for(kind, emu, "apiin", tmp_path)
    job = await Both(client).generate(REQUESTS["apiin"].replace(lyrics="[Verse]\na postmoderated song"))
    # the poll said completed, the audio URL answers 404: moderated after it was made
    assert job.status is JobStatus.MODERATED and job.audio_path is None and job.error
    assert not list((tmp_path / "audio").glob("*"))
    await _close(client)


@pytest.mark.slow
@pytest.mark.parametrize("accounts", [("1001",), ("1001", "1002")])
async def test_useapi_queues_one_song_per_account(kind: str, emu: Emulator, tmp_path: Path,
                                                  accounts: tuple[str, ...]) -> None:
    client = client_for(kind, emu, "useapi", tmp_path, account=accounts)
    base = await useapi_request(client)
    reqs = [base.replace(lyrics=f"Song number {i} of the queue test") for i in range(4)]
    jobs = await Both(client).generate_many(reqs, concurrency=4)
    assert [j.status for j in jobs] == [JobStatus.COMPLETED] * 4
    assert [j.request.lyrics for j in jobs] == [r.lyrics for r in reqs]
    assert {j.account for j in jobs} == set(accounts)
    refused = [r for r in emu.requests if r.route == "submit" and r.status == 429]
    assert refused == []  # the client queued per account: the provider never had to refuse
    assert emu.submissions("useapi") == 4
    # the emulator saw at most one job per account at a time
    spans = sorted((j.account, j.created_at, j.done_at) for j in emu.jobs("useapi"))
    for (a1, _s1, e1), (a2, s2, _e2) in itertools.pairwise(spans):
        if a1 == a2:
            assert s2 >= e1 - 1e-6
    await _close(client)


async def test_useapi_busy_refusal_is_waited_out(kind: str, emu: Emulator, tmp_path: Path) -> None:
    """Two clients on one account: the second is refused (nothing bought), waits and sends again."""
    a = client_for(kind, emu, "useapi", tmp_path)
    b = client_for(kind, emu, "useapi", tmp_path)
    sleeps: list[float] = []
    record_sleeps(b, sleeps)
    req = await useapi_request(a)

    async def run(client: Any, request: MusicRequest) -> Any:
        if kind == "sync":
            return await asyncio.to_thread(client.generate, request, False)
        return await client.generate(request, False)

    first = asyncio.ensure_future(run(a, req))
    while not emu.jobs("useapi"):  # noqa: ASYNC110 (a's song is being made: the account is busy)
        await asyncio.sleep(0.002)
    second = await run(b, req.replace(lyrics="the other song"))
    jobs = [await first, second]
    assert [j.status for j in jobs] == [JobStatus.COMPLETED] * 2
    refused = [r for r in emu.requests if r.route == "submit" and r.status == 429]
    assert len(refused) >= 1 and sleeps  # b was refused at least once and waited
    assert emu.submissions("useapi", accepted_only=True) == 2  # two songs bought, never more
    assert emu.submissions("useapi") == 2 + len(refused)
    await _close(a)
    await _close(b)


async def test_poll_429_and_retry_after(kind: str, emu: Emulator, tmp_path: Path) -> None:
    emu.faults.add(route="poll", provider="aimlapi", kind="429", times=2, retry_after=0.05)
    client = client_for(kind, emu, "aimlapi", tmp_path)
    sleeps: list[float] = []
    record_sleeps(client, sleeps)
    job = await Both(client).generate(REQUESTS["aimlapi"], download=False)
    assert job.status is JobStatus.COMPLETED
    assert sleeps.count(0.05) >= 2  # the server's Retry-After, honoured
    assert emu.submissions("aimlapi") == 1
    await _close(client)


POLL_FAULTS = [("aimlapi", f) for f in ("503", "500", "reset", "html_error", "malformed_json")] + [
    (p, f) for p in ("apiin", "useapi") for f in ("503", "reset")]


@pytest.mark.parametrize(("provider", "fault"), POLL_FAULTS)
async def test_poll_faults_are_retried(kind: str, emu: Emulator, tmp_path: Path, provider: str,
                                       fault: str) -> None:
    emu.faults.add(route="poll", provider=provider, kind=fault, times=2, retry_after=0.02)
    client = client_for(kind, emu, provider, tmp_path)
    request = await useapi_request(client) if provider == "useapi" else REQUESTS[provider]
    job = await Both(client).generate(request, download=False)
    assert job.status is JobStatus.COMPLETED
    assert emu.submissions(provider) == 1
    if provider != "useapi" or fault != "malformed_json":
        assert sum(r.fired for r in emu.faults.rules) == 2
    await _close(client)


async def test_download_faults_are_retried(kind: str, emu: Emulator, tmp_path: Path) -> None:
    emu.faults.add(route="file", kind="503", times=1, retry_after=0.02)
    emu.faults.add(route="file", kind="truncated", times=1)
    client = client_for(kind, emu, "aimlapi", tmp_path)
    job = await Both(client).generate(REQUESTS["aimlapi"])
    assert job.audio_path is not None and Path(job.audio_path).stat().st_size > 1000
    assert not [p for p in (tmp_path / "audio").iterdir() if p.suffix == ".part"]
    path_again = await Both(client).download(job)
    assert path_again == job.audio_path
    assert len([r for r in emu.requests if r.route == "file"]) == 3  # 503, truncated, good; no 4th
    await _close(client)


@pytest.mark.parametrize("provider", ["aimlapi", "useapi", "minimax"])
@pytest.mark.parametrize("phase", ["after", "before"])
async def test_a_dropped_create_is_never_replayed(kind: str, emu: Emulator, tmp_path: Path, provider: str,
                                                  phase: str) -> None:
    client = client_for(kind, emu, provider, tmp_path)
    request = await useapi_request(client) if provider == "useapi" else REQUESTS[provider]
    emu.faults.add(route="submit", provider=provider, kind="reset", times=1, phase=phase)
    if provider == "useapi" and phase == "after":  # the song was made: useapi's list identifies it
        job = await Both(client).generate(request)
        assert job.status is JobStatus.COMPLETED and job.audio_path is not None
    else:  # made but unidentifiable (no list), or not made (absent from the list): ambiguous either way
        with pytest.raises(APIConnectionError) as info:
            await Both(client).generate(request)
        assert info.value.job is not None and info.value.job.status is JobStatus.AMBIGUOUS
    assert emu.submissions(provider) == 1  # sent exactly once
    assert emu.submissions(provider, accepted_only=True) == (1 if phase == "after" else 0)
    await _close(client)


async def test_wait_timeout(kind: str, emu: Emulator, tmp_path: Path) -> None:
    client = client_for(kind, emu, "aimlapi", tmp_path)
    job = await Both(client).submit(REQUESTS["aimlapi"])
    t0 = time.monotonic()
    with pytest.raises(WaitTimeoutError) as info:
        await Both(client).wait(job, timeout=0.05)
    assert info.value.job is not None and not info.value.job.is_final
    assert info.value.job.id == job.id
    final = await Both(client).wait(info.value.job)  # it keeps running at the provider
    assert final.status is JobStatus.COMPLETED and time.monotonic() - t0 > 0
    assert emu.submissions("aimlapi") == 1
    await _close(client)


async def test_batch_across_providers_submits_each_once(kind: str, emu: Emulator, tmp_path: Path) -> None:
    emu.faults.add(route="poll", kind="503", rate=0.3, retry_after=0.01)
    client = client_for(kind, emu, "aimlapi", tmp_path)
    reqs = [REQUESTS["aimlapi"].replace(lyrics=f"[Verse]\nbatch song {i}") for i in range(6)]
    reqs[2] = reqs[2].replace(lyrics="[Verse]\nforbiddenword")
    jobs = await Both(client).generate_many(reqs, concurrency=3)
    assert [j.status for j in jobs] == [JobStatus.COMPLETED] * 2 + [JobStatus.MODERATED] + \
        [JobStatus.COMPLETED] * 3
    assert emu.submissions("aimlapi") == 6
    assert len({j.id for j in jobs}) == 6
    await _close(client)


async def test_platform_stream_is_assembled_into_the_file(kind: str, emu: Emulator, tmp_path: Path) -> None:
    client = client_for(kind, emu, "minimax", tmp_path)
    job = await Both(client).generate(REQUESTS["minimax"].replace(extra={"stream": True}))
    assert job.status is JobStatus.COMPLETED, job.error
    assert job.audio_path is not None and Path(job.audio_path).stat().st_size > 1000
    assert not [r for r in emu.requests if r.route == "file"]
    assert emu.submissions("minimax") == 1
    # a stream cut short is not replayed (the song may have been bought)
    emu.faults.add(route="submit", provider="minimax", kind="reset", times=1)
    with pytest.raises(APIConnectionError):
        await Both(client).generate(REQUESTS["minimax"].replace(extra={"stream": True}))
    assert emu.submissions("minimax") == 2
    await _close(client)


async def test_resume_after_a_crash(kind: str, emu: Emulator, tmp_path: Path) -> None:
    """A kernel died after submitting: a new client finishes the jobs from the ledger, never resubmits."""
    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job

    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        first = client_for(kind, emu, "aimlapi", tmp_path, ledger=ledger)
        running = await Both(first).submit(REQUESTS["aimlapi"])  # then the kernel "dies"
        await _close(first)
        # a useapi create that was sent, made a song, and whose answer was lost with the process
        maker = client_for(kind, emu, "useapi", tmp_path)
        made = await Both(maker).submit(await useapi_request(maker, "lost answer song"))
        lost = Job(provider="useapi", request=made.request, created_at=made.created_at)
        ledger.record_submitting(lost)
        never = Job(provider="useapi", request=made.request.replace(lyrics="never reached the server"))
        ledger.record_submitting(never)
        sent_before = emu.submissions()

        second = client_for(kind, emu, "aimlapi", tmp_path, ledger=ledger)
        out = {j.local_id: j for j in await Both(second).resume()}
        assert out[running.local_id].status is JobStatus.COMPLETED
        assert out[running.local_id].audio_path is not None
        useapi = client_for(kind, emu, "useapi", tmp_path, ledger=ledger)
        out = {j.local_id: j for j in await Both(useapi).resume()}
        assert out[lost.local_id].id == made.id and out[lost.local_id].status is JobStatus.COMPLETED
        assert ledger.state(never.local_id) == "ambiguous"
        assert emu.submissions() == sent_before  # nothing was sent again
        # only the unidentifiable one stays open (ambiguous: listed, never sent again, never written off)
        assert [j.local_id for j in ledger.unfinished()] == [never.local_id]
        assert ledger.missing_audio() == []
        for c in (maker, second, useapi):
            await _close(c)


async def test_resume_records_a_job_the_provider_lost_as_lost(kind: str, emu: Emulator,
                                                             tmp_path: Path) -> None:
    """The provider restarted and forgot a job (404 for an id it handed out): resume records it LOST
    (final, with the reason) once, so later resumes stop polling it, and nothing is submitted again."""
    from minimax_nb.ledger import Ledger

    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        client = client_for(kind, emu, "aimlapi", tmp_path, ledger=ledger)
        job = await Both(client).submit(REQUESTS["aimlapi"])
        emu.restart()
        out = await Both(client).resume()
        assert [j.status for j in out] == [JobStatus.LOST]
        assert "no longer knows" in (out[0].error or "")
        assert ledger.state(job.local_id) == "lost" and ledger.unfinished() == []
        assert await Both(client).resume() == []
        assert emu.submissions("aimlapi") == 1
        await _close(client)


@pytest.mark.parametrize("provider", ["useapi", "apiin"])
async def test_cover_is_saved_beside_the_audio(kind: str, emu: Emulator, tmp_path: Path,
                                               provider: str) -> None:
    """Providers that give a cover URL get it saved as ``<stem>.cover.png`` (where the player looks)."""
    client = client_for(kind, emu, provider, tmp_path)
    request = await useapi_request(client) if provider == "useapi" else REQUESTS[provider]
    job = await Both(client).generate(request)
    assert job.status is JobStatus.COMPLETED and job.cover_url and job.audio_path is not None
    cover = Path(job.audio_path).with_name(Path(job.audio_path).stem + ".cover.png")
    assert cover.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    await _close(client)


async def test_two_stuck_twins_never_claim_one_song(kind: str, emu: Emulator, tmp_path: Path) -> None:
    """Two jobs with the same lyrics left in "submitting", one song at the provider: one adopts it, the
    other is unknown (before, both took the same id and the ledger held one paid song twice)."""
    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job

    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        maker = client_for(kind, emu, "useapi", tmp_path)
        made = await Both(maker).submit(await useapi_request(maker, "twin song"))
        twins = [Job(provider="useapi", request=made.request, created_at=made.created_at) for _ in range(2)]
        for twin in twins:
            ledger.record_submitting(twin)
        sent_before = emu.submissions()
        client = client_for(kind, emu, "useapi", tmp_path, ledger=ledger)
        out = {j.local_id: j for j in await Both(client).resume()}
        ids = [out[t.local_id].id for t in twins if t.local_id in out and out[t.local_id].id]
        assert ids == [made.id]
        assert sorted(ledger.state(t.local_id) for t in twins) == ["ambiguous", "completed"]
        assert emu.submissions() == sent_before
        for c in (maker, client):
            await _close(c)


async def test_resume_lists_every_account_of_the_client(kind: str, emu: Emulator, tmp_path: Path) -> None:
    """A crash leftover bought on the second useapi account is found there (issue 9: resume used to
    list the first account only)."""
    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job

    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        maker = client_for(kind, emu, "useapi", tmp_path, account="1002")
        made = await Both(maker).submit(await useapi_request(maker, "bought on the second account"))
        assert made.account == "1002"
        stuck = Job(provider="useapi", request=made.request, account="1002", created_at=made.created_at)
        ledger.record_submitting(stuck)
        sent_before = emu.submissions()
        client = client_for(kind, emu, "useapi", tmp_path, ledger=ledger, account=("1001", "1002"))
        out = {j.local_id: j for j in await Both(client).resume()}
        assert out[stuck.local_id].id == made.id and out[stuck.local_id].status is JobStatus.COMPLETED
        assert out[stuck.local_id].audio_path is not None
        listed = {r.query.get("account") for r in emu.requests
                  if r.method == "GET" and r.path.endswith("/music/")}
        assert {"1001", "1002"} <= listed
        assert emu.submissions() == sent_before
        for c in (maker, client):
            await _close(c)


async def test_a_blocking_create_that_times_out_is_marked_ambiguous_not_replayed(
        kind: str, emu: Emulator, tmp_path: Path) -> None:
    from minimax_nb.client.core import Timeouts
    from minimax_nb.errors import APITimeoutError
    from minimax_nb.ledger import Ledger

    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        client = client_for(kind, emu, "useapi", tmp_path, ledger=ledger,
                            timeout=Timeouts(connect=2, read=2, blocking_read=0.3))
        request = await useapi_request(client)
        emu.faults.add(route="submit", provider="useapi", kind="slow", delay_s=1.5, times=1)
        with pytest.raises(APITimeoutError) as info:
            await Both(client).generate(request)
        assert emu.submissions("useapi") == 1  # the song may be made: never sent again
        job = info.value.job
        assert job is not None and ledger.state(job.local_id) == "ambiguous"
        await _close(client)


def test_local_base_url_env_uses_a_running_emulator(emu: Emulator, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIMAX_NB_LOCAL_BASE_URL", emu.base_url("local"))
    with MusicClient("local", ledger=False, download_dir=tmp_path, emulator_speed=SPEED) as client:
        assert client.emulator is None and client.base_url == emu.base_url("local")
        job = client.generate(REQUESTS["local"], download=False)
    assert job.status is JobStatus.COMPLETED and emu.submissions("local") == 1


# ---- the budget guard: a batch over max_usd is refused with zero requests sent ----------------------


async def test_a_batch_over_its_limit_sends_nothing(kind: str, emu: Emulator, tmp_path: Path) -> None:
    client = client_for(kind, emu, "apiin", tmp_path)  # 30 credits, about $0.06 a song
    each = client.estimate_cost(REQUESTS["apiin"])
    assert each is not None and each > 0
    with pytest.raises(BudgetExceededError) as info:
        await Both(client).generate_many([REQUESTS["apiin"]] * 5, max_usd=each * 4.5)
    err = info.value
    assert isinstance(err, ValidationError) and err.estimate_usd == pytest.approx(each * 5)
    assert f"{each * 5:.2f}" in str(err) and err.unknown == 0
    assert emu.submissions() == 0 and emu.requests == []  # not even a read
    jobs = await Both(client).generate_many([REQUESTS["apiin"]] * 2, max_usd=each * 2)  # at the limit: sent
    assert [j.status.value for j in jobs] == ["completed", "completed"] and emu.submissions() == 2
    await Both(client).close()


async def test_a_batch_with_unknown_prices_cannot_be_bounded(kind: str, emu: Emulator,
                                                             tmp_path: Path) -> None:
    client = client_for(kind, emu, "useapi", tmp_path)  # priced by the user's useapi plan: unknown
    request = MusicRequest(lyrics="a song", style_id="pop")
    assert client.estimate_cost(request) is None
    with pytest.raises(BudgetExceededError, match="no price estimate") as info:
        await Both(client).generate_many([request] * 3, max_usd=100)
    assert info.value.unknown == 3 and emu.submissions() == 0
    await Both(client).close()
