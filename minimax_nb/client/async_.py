"""``AsyncMusicClient``: the awaitable twin of ``MusicClient`` (httpx.AsyncClient), plus ``watch()``.

Same constructor, same methods, same decisions (all made by the flow, ``client.flow``); only the
driver's I/O differs: httpx.AsyncClient, ``asyncio.sleep``, and ledger/disk work in worker threads.
A test checks that both classes expose the same public methods and signatures.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from minimax_nb.client import core as _core
from minimax_nb.client import flow
from minimax_nb.client.core import LedgerArg, RetryPolicy, Timeouts
from minimax_nb.client.download import (
    MAX_COVER_BYTES,
    AudioSink,
    audio_path_for,
    check_content_type,
    clean_orphans,
    cover_path_for,
)
from minimax_nb.client.flow import Flow
from minimax_nb.client.polling import PollPolicy
from minimax_nb.errors import MiniMaxError
from minimax_nb.models import Job, MusicRequest
from minimax_nb.providers.base import HttpResponse, Issue, ProviderAdapter, SubmitResult

__all__ = ["AsyncMusicClient"]

log = logging.getLogger("minimax_nb.client")
T = TypeVar("T")
OnUpdate = Callable[[Job], Any]


class AsyncMusicClient:
    """Generate songs with one MiniMax music provider, awaitable.

    ::

        async with AsyncMusicClient("aimlapi") as client:
            job = await client.submit(MusicRequest(lyrics="[Verse]\\nHello", style="bright synth-pop"))
            async for update in client.watch(job):
                print(update.status)

    The arguments are those of ``MusicClient`` (see ``help(MusicClient)``); ``on_update`` callbacks may be
    plain functions or coroutine functions.
    """

    def __init__(
        self,
        provider: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        account: str | Sequence[str] | None = None,
        model: str | None = None,
        timeout: float | Timeouts | httpx.Timeout | None = None,
        poll: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        transport: Any = None,
        ledger: LedgerArg = None,
        download_dir: str | os.PathLike[str] | None = None,
        emulator_speed: float | None = None,
        *,
        adapter: ProviderAdapter | None = None,
        max_download_bytes: int = _core.DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> None:
        setup = _core.build_core(
            provider=provider, api_key=api_key, base_url=base_url, account=account, model=model,
            timeout=timeout, poll=poll, retry=retry, ledger=ledger, download_dir=download_dir,
            emulator_speed=emulator_speed, adapter=adapter, max_download_bytes=max_download_bytes)
        self._core = setup.core
        self._emulator = setup.emulator
        self._http = httpx.AsyncClient(transport=transport, follow_redirects=True)
        self._sleep: Callable[[float], Any] = asyncio.sleep
        self._closed = False

    # ---- properties ------------------------------------------------------------------------------

    @property
    def provider(self) -> str:
        """The provider name."""
        return self._core.provider

    @property
    def adapter(self) -> ProviderAdapter:
        """The pure provider adapter this client drives."""
        return self._core.adapter

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def poll(self) -> PollPolicy:
        return self._core.poll

    @property
    def ledger(self) -> _core.LedgerLike | None:
        return self._core.ledger

    @property
    def emulator(self) -> Any:
        """The running emulator for ``provider="local"``, else ``None``."""
        return self._emulator

    def __repr__(self) -> str:
        return f"<AsyncMusicClient {self._core.provider} {self._core.base_url}>"

    # ---- the driver: carries out the flow's effects ---------------------------------------------

    async def _run(self, steps: Flow[T], on_update: OnUpdate | None = None) -> T:
        """Drive one flow to its end: do each effect it yields, send back the outcome (or throw the
        typed error in at the ``yield``). All decisions are the flow's (``client.flow``)."""
        outcome: Any = None
        error: MiniMaxError | None = None
        while True:
            try:
                effect = steps.send(outcome) if error is None else steps.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            outcome, error = None, None
            try:
                outcome = await self._do(effect, on_update)
            except MiniMaxError as err:
                error = err

    async def _do(self, effect: flow.Effect, on_update: OnUpdate | None) -> Any:
        if isinstance(effect, flow.Send):
            return await self._send(effect)
        if isinstance(effect, flow.Sleep):
            return await self._sleep(effect.seconds)
        if isinstance(effect, flow.Fetch):
            return await self._fetch(effect)
        if isinstance(effect, flow.FetchCover):
            return await self._fetch_cover(effect)
        if isinstance(effect, flow.Notify):
            return await self._notify(on_update, effect.job)
        return await self._local(self._core.local_io, effect)

    @staticmethod
    async def _notify(on_update: OnUpdate | None, job: Job) -> None:
        if on_update is not None:
            result = on_update(job)
            if inspect.isawaitable(result):
                await result

    @staticmethod
    async def _local(fn: Callable[..., T], *args: Any) -> T:
        """Ledger and disk work, in a worker thread: the event loop never blocks on SQLite or files."""
        return await asyncio.to_thread(fn, *args)

    @staticmethod
    async def _map(fn: Callable[[Job], Awaitable[Job]], jobs: Sequence[Job], concurrency: int) -> list[Job]:
        """``fn`` over ``jobs``, ``concurrency`` at a time, results in order."""
        gate = asyncio.Semaphore(max(1, concurrency))

        async def gated(job: Job) -> Job:
            async with gate:
                return await fn(job)

        return list(await asyncio.gather(*(gated(j) for j in jobs)))

    async def _send(self, effect: flow.Send) -> HttpResponse | SubmitResult:
        kw = self._core.request_kwargs(effect.request)
        try:
            if effect.assembler is not None and effect.job is not None:
                return await self._stream(kw, effect.assembler, effect.job)
            r = await self._http.request(**kw)
        except httpx.HTTPError as exc:
            err = self._core.connection_error(exc)
        else:
            return self._core.to_response(r.status_code, r.content, r.headers)
        # raised outside the except block: no __context__ pointing at the httpx error, whose request
        # carries the Authorization header (and pickles it)
        raise err

    async def _stream(self, kw: dict[str, Any], assembler: _core.StreamAssemblerLike,
                      job: Job) -> HttpResponse | SubmitResult:
        """A streamed create (platform ``stream=true``): hex chunks are assembled as they arrive."""
        async with self._http.stream(**kw) as r:
            if not _core.is_event_stream(r.status_code, r.headers):
                await r.aread()
                return self._core.to_response(r.status_code, r.content, r.headers)
            async for line in r.aiter_lines():
                if line.strip():
                    assembler.feed(line)
                    if assembler.done:
                        break
        done: SubmitResult = assembler.result(job)
        return done

    async def _fetch(self, effect: flow.Fetch) -> tuple[Path, str, int]:
        job = effect.job
        try:
            async with self._http.stream(**self._core.download_kwargs(job.audio_url or "")) as r:
                if r.status_code != 200:
                    raise _core.download_error(r.status_code, provider=self.provider, headers=r.headers,
                                               retry_after_cap=self._core.retry.retry_after_cap)
                ctype = r.headers.get("content-type")
                check_content_type(ctype, provider=self.provider)
                _core.check_length(self._core, r.headers)
                target = effect.exact or audio_path_for(job, effect.directory, url=job.audio_url,
                                                        content_type=ctype)
                with AudioSink(target, max_bytes=self._core.max_download_bytes, provider=self.provider,
                               content_type=ctype, requested=job.request.audio_format,
                               fix_extension=effect.exact is None) as sink:
                    async for chunk in r.aiter_bytes():
                        sink.write(chunk)
                    path = sink.commit()
                    return path, sink.sha256, sink.size
        except httpx.HTTPError as exc:
            err = self._core.connection_error(exc)
        raise err

    async def _fetch_cover(self, effect: flow.FetchCover) -> None:
        """Save the provider's cover beside the audio (best effort: a song never fails for its cover)."""
        try:
            kw = self._core.download_kwargs(effect.job.cover_url or "") | {"headers": {"Accept": "image/*"}}
            r = await self._http.request(**kw)
            target = cover_path_for(effect.audio_path, r.headers.get("content-type"))
            if r.status_code == 200 and target is not None and 0 < len(r.content) <= MAX_COVER_BYTES:
                await self._local(target.write_bytes, r.content)
        except httpx.HTTPError as exc:
            log.warning("no cover for %s: %s", effect.job.key, self._core.redact(str(exc)))

    # ---- public API ------------------------------------------------------------------------------

    def validate(self, request: MusicRequest) -> list[Issue]:
        """Every problem with ``request`` for this provider and model (errors block, warnings do not)."""
        return self._core.adapter.validate(request, model=request.model or self._core.model)

    def estimate_cost(self, request: MusicRequest) -> float | None:
        """The expected price in USD of one song, or ``None`` when unknown."""
        return self._core.adapter.estimate_cost_usd(request, model=request.model or self._core.model)

    async def submit(self, request: MusicRequest) -> Job:
        """Send the create once (see ``MusicClient.submit``)."""
        return await self._run(flow.submit_once(self._core, request, self._core.account))

    async def get(self, job_or_id: Job | str) -> Job:
        """One status read. Returns the updated job (unchanged where the provider has no status read)."""
        job, known = self._core.job_from_id(job_or_id)
        return await self._run(flow.get(self._core, job, record=known))

    def watch(self, job: Job, timeout: float | None = None) -> AsyncIterator[Job]:
        """Yield ``job`` each time its state changes, ending with its final state.

        ``async for update in client.watch(job): ...``. Raises ``WaitTimeoutError`` (carrying the last
        state) after ``timeout`` seconds (default: the poll policy's).
        """
        return self._watch(job, timeout)

    async def _watch(self, job: Job, timeout: float | None = None) -> AsyncIterator[Job]:  # noqa: ASYNC109
        if job.is_final or self._core.adapter.build_poll(job) is None:
            yield job
            return
        steps = flow.wait(self._core, job, timeout)
        outcome: Any = None
        error: MiniMaxError | None = None
        while True:
            try:
                effect = steps.send(outcome) if error is None else steps.throw(error)
            except StopIteration:
                return
            outcome, error = None, None
            if isinstance(effect, flow.Notify):
                yield effect.job
                continue
            try:
                outcome = await self._do(effect, None)
            except MiniMaxError as err:
                error = err

    async def wait(self, job: Job, timeout: float | None = None,  # noqa: ASYNC109
                   on_update: OnUpdate | None = None) -> Job:
        """Poll until ``job`` is final and return it (see ``MusicClient.wait``)."""
        return await self._run(flow.wait(self._core, job, timeout), on_update)

    async def download(self, job: Job, dest: str | os.PathLike[str] | None = None) -> Path:
        """Save ``job``'s audio and return the file path. A second call for the same job is a cache hit."""
        new = await self._run(flow.fetch_audio(self._core, job, dest))
        return flow.audio_path_or_raise(self._core, new)

    async def generate(self, request: MusicRequest, download: bool = True,
                       on_update: OnUpdate | None = None, progress: bool = True) -> Job:
        """Submit, wait for the final state and download the audio (see ``MusicClient.generate``)."""
        bar = _core.progress_bar(progress, 1, "song")
        try:
            return await self._run(flow.generate(self._core, request, self._core.account, download),
                             _core.with_progress(on_update, bar))
        finally:
            if bar is not None:
                bar.close()

    async def generate_many(self, requests: Iterable[MusicRequest], concurrency: int | None = None,
                            on_update: OnUpdate | None = None, download: bool = True,
                            max_usd: float | None = None, progress: bool = True) -> list[Job]:
        """Generate several songs at once (tasks); see ``MusicClient.generate_many``."""
        reqs = list(requests)
        _core.check_budget(self._core, reqs, max_usd)
        if not reqs:
            return []
        bar = _core.progress_bar(progress, len(reqs), "songs")
        on_update = _core.with_progress(on_update, bar)
        workers = _core.effective_concurrency(self._core, concurrency, len(reqs))
        gate = asyncio.Semaphore(workers)
        slots: asyncio.Queue[str | None] = asyncio.Queue()
        for acc in _core.account_slots(self._core, workers):
            slots.put_nowait(acc)

        async def notify(job: Job) -> None:
            try:
                await self._notify(on_update, job)
            except Exception:  # a broken callback must not fail the song
                log.exception("on_update callback failed for %s", job.key)

        async def one(request: MusicRequest) -> Job:
            async with gate:
                account = await slots.get()
                held = True
                try:
                    job = await self._run(flow.obtain(self._core, request, account), notify)
                    if job.is_final:
                        slots.put_nowait(account)
                        held = False
                    return await self._run(flow.follow(self._core, job, download), notify)
                except Exception as err:
                    failed = _core.batch_failure(self._core, request, account, err)
                    await notify(failed)
                    return failed
                finally:
                    if held:
                        slots.put_nowait(account)

        try:
            return list(await asyncio.gather(*(one(r) for r in reqs)))
        finally:
            if bar is not None:
                bar.close()

    async def styles(self) -> list[dict[str, str]]:
        """The provider's style list (useapi). Other providers raise ``NotImplementedError``."""
        request = self._core.adapter.build_styles(account=self._core.account)
        return await self._run(flow.call(self._core, request, self._core.adapter.parse_styles))

    async def list_jobs(self, limit: int = 20, last_id: str | None = None) -> list[Mapping[str, Any]]:
        """The provider's own list of recent songs (useapi), newest first, as raw mappings."""
        request = self._core.adapter.build_list(account=self._core.account, limit=limit, last_id=last_id)
        return await self._run(flow.call(self._core, request, self._core.adapter.parse_list))

    async def resume(self, download: bool = True, concurrency: int = 8,
                     on_update: OnUpdate | None = None, progress: bool = True) -> list[Job]:
        """Bring every unfinished job of the ledger to a final state (see ``MusicClient.resume``)."""
        plan = await self._local(_core.resume_plan, self._core)
        if plan is None or not (plan.open or plan.missing_audio):
            return []
        bar = _core.progress_bar(progress, len(plan.open) + len(plan.missing_audio), "resume")
        try:
            return await self._resume(plan, download, concurrency, _core.with_progress(on_update, bar))
        finally:
            if bar is not None:
                bar.close()

    async def _resume(self, plan: _core.ResumePlan, download: bool, concurrency: int,
                    on_update: OnUpdate | None) -> list[Job]:
        await self._local(clean_orphans, self._core.download_dir)
        jobs = await self._run(flow.reconcile(self._core, plan.open, plan.known_ids), on_update)

        async def one(job: Job) -> Job:
            return await self._run(flow.resume_one(self._core, job, download), on_update)

        done = await self._map(one, plan.to_follow(jobs, download), concurrency)
        return plan.merge(jobs, done)

    # ---- lifecycle -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the HTTP connections and stop the local emulator, if any."""
        if self._closed:
            return
        self._closed = True
        await self._http.aclose()
        if self._emulator is not None:
            await asyncio.to_thread(self._emulator.stop)

    aclose = close

    async def __aenter__(self) -> AsyncMusicClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
