# ruff: noqa: ASYNC240
"""The transport's own rules, written once and run for both clients, against a stand-in provider
(``_fake``): retries, never replaying a create, ledger order, batches, downloads, resume."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minimax_nb.client import AsyncMusicClient, MusicClient, PollPolicy, RetryPolicy
from minimax_nb.client.download import DownloadError, cache_stem
from minimax_nb.errors import (
    APIConnectionError,
    APITimeoutError,
    ServerError,
    ValidationError,
    WaitTimeoutError,
)
from minimax_nb.ledger import Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest

from ._fake import AUDIO, KEY, Both, FakeAdapter, FakeService, install_sleep_recorder

KINDS = ["sync", "async"]
FAST_POLL = PollPolicy(first_delay=0.01, schedule=((0.02, 0.01),), cap=0.02, timeout=10)
SONG = MusicRequest(lyrics="[Verse]\nhello world", style="pop")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite") as led:
        yield led


def make(kind: str, service: FakeService, tmp_path: Path, *, ledger: Any = False, **kw: Any) -> Any:
    adapter = kw.pop("adapter", None) or FakeAdapter(blocking=service.blocking)
    cls = MusicClient if kind == "sync" else AsyncMusicClient
    client = cls(api_key=KEY, base_url="http://fake.invalid", transport=service.transport(),
                 adapter=adapter, ledger=ledger, download_dir=tmp_path / "audio",
                 poll=kw.pop("poll", FAST_POLL),
                 retry=kw.pop("retry", RetryPolicy(max_attempts=4, base=0.01, cap=0.05)), **kw)
    return client


async def _close(client: Any) -> None:
    result = client.close()
    if inspect.isawaitable(result):
        await result


async def test_generate_happy_path(kind: str, tmp_path: Path, ledger: Ledger) -> None:
    svc = FakeService(polls_to_finish=3)
    states: list[str] = []
    svc.on_submit = lambda req: states.append(ledger.states()[next(iter(ledger.states()))])
    client = make(kind, svc, tmp_path, ledger=ledger)
    job = await Both(client).generate(SONG)
    assert job.status is JobStatus.COMPLETED and job.id == "job-1"
    assert job.audio_path is not None and Path(job.audio_path).read_bytes() == AUDIO
    assert Path(job.audio_path).parent == tmp_path / "audio"
    assert states == ["submitting"]  # recorded BEFORE the create was sent
    assert svc.submits == 1 and svc.jobs["job-1"]["polls"] == 3
    stored = ledger.get(job.local_id)
    assert stored is not None and stored.status is JobStatus.COMPLETED
    assert ledger.audio(job.local_id) is not None
    await _close(client)


async def test_validation_error_sends_nothing(kind: str, tmp_path: Path, ledger: Ledger) -> None:
    svc = FakeService()
    client = make(kind, svc, tmp_path, ledger=ledger)
    with pytest.raises(ValidationError):
        await Both(client).submit(MusicRequest(lyrics=" "))
    assert svc.requests == [] and len(ledger) == 0
    assert [i.field for i in client.validate(MusicRequest())] == ["lyrics"]
    assert client.estimate_cost(SONG) == 0.05
    await _close(client)


async def test_poll_errors_are_retried_honouring_retry_after(kind: str, tmp_path: Path) -> None:
    svc = FakeService(polls_to_finish=2)
    svc.fault("poll", "503", "drop", "html")
    client = make(kind, svc, tmp_path)
    sleeps: list[float] = []
    install_sleep_recorder(client, sleeps)
    job = await Both(client).generate(SONG, download=False)
    assert job.status is JobStatus.COMPLETED
    assert 1.5 in sleeps  # the 503's Retry-After, not the tiny backoff
    assert svc.submits == 1
    await _close(client)


async def test_poll_retries_give_up_after_max_attempts(kind: str, tmp_path: Path) -> None:
    svc = FakeService()
    svc.fault("poll", "500", "500", "500")
    client = make(kind, svc, tmp_path, retry=RetryPolicy(max_attempts=3, base=0.0, cap=0.0))
    install_sleep_recorder(client, [])
    job = await Both(client).submit(SONG)
    with pytest.raises(ServerError):
        await Both(client).get(job)
    assert len([r for r in svc.requests if r[1].startswith("/jobs/")]) == 3
    await _close(client)


async def test_submit_refused_before_sending_is_retried(kind: str, tmp_path: Path) -> None:
    svc = FakeService()
    svc.fault("submit", "connect")
    client = make(kind, svc, tmp_path)
    install_sleep_recorder(client, [])
    job = await Both(client).submit(SONG)
    assert job.id == "job-1" and svc.submits == 1
    await _close(client)


@pytest.mark.parametrize(("fault", "error"), [("drop", APIConnectionError), ("timeout", APITimeoutError)])
async def test_a_lost_create_answer_is_reconciled_never_replayed(
        kind: str, tmp_path: Path, ledger: Ledger, fault: str, error: type[Exception]) -> None:
    """The order was taken, its answer lost: the provider's list identifies the song (issue 9)."""
    svc = FakeService()
    svc.fault("submit", fault)
    client = make(kind, svc, tmp_path, ledger=ledger)
    install_sleep_recorder(client, [])
    job = await Both(client).generate(SONG)
    assert svc.submits == 1  # sent exactly once, never replayed
    assert job.id == "job-1" and job.status is JobStatus.COMPLETED and job.audio_path is not None
    assert [s for _, s in ledger.history(job.local_id)][:2] == ["submitting", "ambiguous"]
    await _close(client)


@pytest.mark.parametrize(("fault", "error"), [("500", ServerError), ("html", ServerError)])
async def test_submit_is_never_replayed_once_it_may_have_reached_the_server(
        kind: str, tmp_path: Path, ledger: Ledger, fault: str, error: type[Exception]) -> None:
    svc = FakeService()
    svc.fault("submit", fault)
    client = make(kind, svc, tmp_path, ledger=ledger)
    install_sleep_recorder(client, [])
    with pytest.raises(error) as info:
        await Both(client).generate(SONG)
    assert svc.submits == 1  # sent exactly once, never replayed
    local_id = info.value.job.local_id  # type: ignore[attr-defined]
    # a 5xx or a gateway page after the create may hide a made song: ambiguous, never written off
    assert ledger.state(local_id) == "ambiguous"
    assert info.value.job.status is JobStatus.AMBIGUOUS  # type: ignore[attr-defined]
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    await _close(client)


async def test_wait_timeout_carries_the_job(kind: str, tmp_path: Path) -> None:
    svc = FakeService(polls_to_finish=10_000)
    client = make(kind, svc, tmp_path, poll=PollPolicy(first_delay=0.01, schedule=(), cap=0.01, timeout=0.2))
    job = await Both(client).submit(SONG)
    with pytest.raises(WaitTimeoutError) as info:
        await Both(client).wait(job, timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    assert info.value.job is not None and info.value.job.status is JobStatus.RUNNING
    await _close(client)


async def test_wait_reports_updates(kind: str, tmp_path: Path) -> None:
    svc = FakeService(polls_to_finish=3)
    client = make(kind, svc, tmp_path)
    install_sleep_recorder(client, [])
    seen: list[JobStatus] = []
    job = await Both(client).submit(SONG)
    final = await Both(client).wait(job, on_update=lambda j: seen.append(j.status))
    assert final.status is JobStatus.COMPLETED
    assert seen == [JobStatus.RUNNING, JobStatus.COMPLETED]  # only changes
    await _close(client)


async def test_generate_many_keeps_order_and_survives_failures(kind: str, tmp_path: Path) -> None:
    svc = FakeService(polls_to_finish=2)
    client = make(kind, svc, tmp_path)
    install_sleep_recorder(client, [])
    reqs = [MusicRequest(lyrics=f"song {i}") for i in range(3)]
    reqs.insert(1, MusicRequest(lyrics="a forbidden song"))
    reqs.insert(3, MusicRequest(lyrics=""))  # invalid: fails locally
    updates: list[Job] = []
    jobs = await Both(client).generate_many(reqs, concurrency=3, on_update=updates.append)
    assert [j.status for j in jobs] == [JobStatus.COMPLETED, JobStatus.MODERATED, JobStatus.COMPLETED,
                                        JobStatus.FAILED, JobStatus.COMPLETED]
    assert [j.request for j in jobs] == reqs
    assert "Moderated" in (jobs[1].error or "") and "lyrics" in (jobs[3].error or "")
    assert all(j.audio_path and Path(j.audio_path).exists() for j in jobs if j.status is JobStatus.COMPLETED)
    assert svc.submits == 4  # the invalid one was never sent
    assert {j.local_id for j in updates} == {j.local_id for j in jobs}
    await _close(client)


async def test_busy_account_is_waited_for_and_the_create_sent_again(kind: str, tmp_path: Path) -> None:
    svc = FakeService(blocking=True)
    svc.fault("submit", "busy", "busy")
    client = make(kind, svc, tmp_path, adapter=FakeAdapter(blocking=True, per_account_limit=1))
    sleeps: list[float] = []
    install_sleep_recorder(client, sleeps)
    job = await Both(client).generate(SONG)
    assert job.status is JobStatus.COMPLETED and job.audio_path is not None
    assert sleeps[:2] == [1.5, 1.5]  # Retry-After of each refusal
    assert svc.submits == 3 and len(svc.jobs) == 1  # two refusals, one song bought
    await _close(client)


async def test_download_is_cached_and_checked(kind: str, tmp_path: Path, ledger: Ledger) -> None:
    svc = FakeService()
    client = make(kind, svc, tmp_path, ledger=ledger)
    install_sleep_recorder(client, [])
    job = await Both(client).generate(SONG, download=False)
    assert job.audio_path is None
    path = await Both(client).download(job)
    files_before = len([r for r in svc.requests if "/files/" in r[1]])
    again = await Both(client).download(job)
    assert again == path and path.name == f"{cache_stem('fake', 'job-1')}.mp3"  # issue 9: digest names
    assert len([r for r in svc.requests if "/files/" in r[1]]) == files_before == 1
    exact = await Both(client).download(job, tmp_path / "mine.mp3")
    assert exact == tmp_path / "mine.mp3" and exact.read_bytes() == AUDIO
    svc.file_type = "text/html"
    other = job.evolve(id="job-x", audio_path=None)
    with pytest.raises(DownloadError):
        await Both(client).download(other)
    assert not any(p.name.endswith(".part") for p in (tmp_path / "audio").iterdir())
    await _close(client)


async def test_download_retries_server_errors_and_caps_size(kind: str, tmp_path: Path) -> None:
    svc = FakeService()
    svc.fault("file", "503", "drop")
    client = make(kind, svc, tmp_path)
    sleeps: list[float] = []
    install_sleep_recorder(client, sleeps)
    job = await Both(client).generate(SONG)
    assert job.audio_path is not None and 1.5 in sleeps
    small = make(kind, svc, tmp_path / "small", max_download_bytes=100)
    with pytest.raises(DownloadError):
        await Both(small).download(job.evolve(audio_path=None))
    await _close(client)
    await _close(small)


async def test_hex_audio_goes_straight_to_a_file(kind: str, tmp_path: Path, ledger: Ledger) -> None:
    svc = FakeService(blocking=True)
    client = make(kind, svc, tmp_path, ledger=ledger, adapter=FakeAdapter(blocking=True, hex_audio=True))
    job = await Both(client).generate(SONG)
    assert job.audio_path is not None and Path(job.audio_path).read_bytes() == AUDIO
    assert "audio_hex" not in job.raw and not any("/files/" in r[1] for r in svc.requests)
    assert ledger.audio(job.local_id) is not None
    await _close(client)


async def test_blocking_create_is_followed_by_one_status_read(kind: str, tmp_path: Path) -> None:
    svc = FakeService(blocking=True, polls_to_finish=1)
    client = make(kind, svc, tmp_path, adapter=FakeAdapter(blocking=True))
    job = await Both(client).generate(SONG, download=False)
    assert job.status is JobStatus.COMPLETED
    assert [r for r in svc.requests if r[1].startswith("/jobs/")] == [("GET", "/jobs/job-1")]
    await _close(client)


async def test_resume_never_resubmits(kind: str, tmp_path: Path, ledger: Ledger) -> None:
    svc = FakeService(polls_to_finish=1)
    svc.jobs["job-1"] = {"polls": 0, "lyrics": "found me"}
    svc.jobs["job-2"] = {"polls": 0, "lyrics": "running"}
    lost = Job(provider="fake", request=MusicRequest(lyrics="found me"))
    gone = Job(provider="fake", request=MusicRequest(lyrics="never arrived"))
    running = Job(provider="fake", request=MusicRequest(lyrics="running"), id="job-2",
                  status=JobStatus.RUNNING)
    for j in (lost, gone):
        ledger.record_submitting(j)
    ledger.record(running)
    client = make(kind, svc, tmp_path, ledger=ledger)
    install_sleep_recorder(client, [])
    out = {j.local_id: j for j in await Both(client).resume()}
    assert svc.submits == 0
    assert out[lost.local_id].id == "job-1" and out[lost.local_id].status is JobStatus.COMPLETED
    assert out[running.local_id].status is JobStatus.COMPLETED
    assert out[running.local_id].audio_path is not None
    assert ledger.state(gone.local_id) == "ambiguous"
    assert ledger.missing_audio(provider="fake") == []
    await _close(client)


def test_sync_client_works_inside_a_running_event_loop(tmp_path: Path) -> None:
    """What a Jupyter cell does: call the blocking client while an event loop runs in this thread."""

    async def cell() -> list[Job]:
        asyncio.get_running_loop()  # a loop is running, as in ipykernel
        svc = FakeService(polls_to_finish=1)
        with make("sync", svc, tmp_path) as client:
            client._sleep = lambda d: None
            one = client.generate(SONG)
            many = client.generate_many([SONG, SONG], concurrency=2)
        return [one, *many]

    jobs = asyncio.run(cell())
    assert [j.status for j in jobs] == [JobStatus.COMPLETED] * 3


async def test_async_watch_yields_each_change(tmp_path: Path) -> None:
    svc = FakeService(polls_to_finish=3)
    client = make("async", svc, tmp_path)
    install_sleep_recorder(client, [])
    job = await client.submit(SONG)
    seen = [j.status async for j in client.watch(job)]
    assert seen == [JobStatus.RUNNING, JobStatus.COMPLETED]
    await client.close()


def test_both_clients_expose_the_same_methods_and_signatures() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {n: inspect.signature(m) for n, m in vars(cls).items()
                if not n.startswith("_") and callable(m)}

    sync, asyn = public(MusicClient), public(AsyncMusicClient)
    assert set(asyn) - set(sync) == {"watch", "aclose"}
    assert set(sync) - set(asyn) == set()
    for name, sig in sync.items():
        other = asyn[name]
        assert list(sig.parameters) == list(other.parameters), name
        for p, q in zip(sig.parameters.values(), other.parameters.values(), strict=True):
            assert (p.kind, p.default, p.annotation) == (q.kind, q.default, q.annotation), (name, p.name)
        is_coro = inspect.iscoroutinefunction(getattr(AsyncMusicClient, name))
        assert is_coro is (name not in ("validate", "estimate_cost")), name
    props = {n for n, m in vars(MusicClient).items() if isinstance(m, property)}
    assert props == {n for n, m in vars(AsyncMusicClient).items() if isinstance(m, property)}
    assert inspect.signature(MusicClient.__init__) == inspect.signature(AsyncMusicClient.__init__)


def test_repr_and_errors_never_show_the_key(tmp_path: Path) -> None:
    svc = FakeService()
    with make("sync", svc, tmp_path) as client:
        assert KEY not in repr(client) and KEY not in repr(vars(client))
        assert KEY not in repr(client._core) and KEY not in str(client.__dict__)


async def test_get_by_id_uses_the_ledgers_job(kind: str, tmp_path: Path, ledger: Ledger) -> None:
    svc = FakeService(polls_to_finish=1)
    client = make(kind, svc, tmp_path, ledger=ledger)
    job = await Both(client).submit(SONG)
    by_id = await Both(client).get("job-1")
    assert by_id.local_id == job.local_id and by_id.status is JobStatus.COMPLETED
    svc.jobs["job-9"] = {"polls": 0, "lyrics": "x"}
    stranger = await Both(client).get("job-9")
    assert stranger.id == "job-9" and len(ledger) == 1  # an unknown id is read, not recorded
    await _close(client)


def test_interrupting_a_sync_batch_drops_unsent_songs(tmp_path: Path) -> None:
    svc = FakeService(polls_to_finish=1)
    client = make("sync", svc, tmp_path)
    client._sleep = lambda d: None

    def stop(job: Job) -> None:
        raise KeyboardInterrupt  # what a Jupyter "interrupt" looks like to the caller

    with pytest.raises(KeyboardInterrupt):
        client.generate_many([SONG] * 5, concurrency=1, on_update=stop)
    assert svc.submits == 1  # the four songs not yet sent were dropped, not bought
    client.close()


async def test_resume_records_audio_gone_with_its_job_as_lost(kind: str, tmp_path: Path,
                                                              ledger: Ledger) -> None:
    """The audio answers 404 and a fresh status read says the provider no longer knows the job: the
    provider lost it (issue 9: a 404 is moderation only when the provider says so)."""
    svc = FakeService()
    svc.fault("file", "404")
    done = Job(provider="fake", request=SONG, id="job-7", status=JobStatus.COMPLETED,
               audio_url="http://fake.invalid/files/job-7.mp3")
    ledger.record(done)
    client = make(kind, svc, tmp_path, ledger=ledger)
    out = await Both(client).resume()
    assert [j.status for j in out] == [JobStatus.LOST]
    assert out[0].error is not None and "gone at the provider" in out[0].error
    assert ledger.state(done.local_id) == "lost" and ledger.missing_audio() == []
    await _close(client)


class _Audio404MeansModerated(FakeAdapter):
    audio_404_moderated = True


@pytest.mark.parametrize("documented", [True, False])
async def test_resume_marks_audio_gone_after_completion_as_moderated(
        kind: str, tmp_path: Path, ledger: Ledger, documented: bool) -> None:
    """The status still says completed, the file answers 404 twice (once more after the fresh read):
    moderated where the provider documents that reading, else lost."""
    svc = FakeService()
    svc.jobs["job-7"] = {"polls": 5, "lyrics": SONG.lyrics}
    svc.fault("file", "404", "404")
    done = Job(provider="fake", request=SONG, id="job-7", status=JobStatus.COMPLETED,
               audio_url="http://fake.invalid/files/job-7.mp3")
    ledger.record(done)
    adapter = _Audio404MeansModerated() if documented else FakeAdapter()
    client = make(kind, svc, tmp_path, ledger=ledger, adapter=adapter)
    out = await Both(client).resume()
    expected = JobStatus.MODERATED if documented else JobStatus.LOST
    assert [j.status for j in out] == [expected]
    assert ledger.state(done.local_id) == expected.value and ledger.missing_audio() == []
    assert [r for r in svc.requests if r[1] == "/jobs/job-7"] == [("GET", "/jobs/job-7")]  # one fresh read
    await _close(client)


async def test_an_expired_audio_url_gets_one_fresh_status_read(kind: str, tmp_path: Path,
                                                               ledger: Ledger) -> None:
    svc = FakeService()
    svc.jobs["job-7"] = {"polls": 5, "lyrics": SONG.lyrics}
    svc.fault("file", "403")
    done = Job(provider="fake", request=SONG, id="job-7", status=JobStatus.COMPLETED,
               audio_url="http://fake.invalid/files/job-7.mp3?expired")
    ledger.record(done)
    client = make(kind, svc, tmp_path, ledger=ledger)
    out = await Both(client).resume()
    assert [j.status for j in out] == [JobStatus.COMPLETED] and out[0].audio_path is not None
    assert ledger.missing_audio() == [] and svc.submits == 0
    await _close(client)


async def test_a_broken_update_callback_does_not_fail_the_batch(kind: str, tmp_path: Path) -> None:
    svc = FakeService(polls_to_finish=1)
    client = make(kind, svc, tmp_path)
    install_sleep_recorder(client, [])

    def broken(job: Job) -> None:
        raise RuntimeError("callback bug")

    jobs = await Both(client).generate_many([SONG, SONG], on_update=broken)
    assert [j.status for j in jobs] == [JobStatus.COMPLETED] * 2
    await _close(client)
