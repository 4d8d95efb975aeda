"""``AsyncMusicClient``: the awaitable twin of ``MusicClient`` (httpx.AsyncClient), plus ``watch()``.

Same constructor, same methods, same decisions (all made in ``transport.core``); only the I/O loop and
the sleeping differ. A test checks that both classes expose the same public methods and signatures.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from minimax_nb.client import core as _core
from minimax_nb.client.core import LedgerArg, RetryPolicy, Timeouts
from minimax_nb.client.download import (
    MAX_COVER_BYTES,
    AudioSink,
    DownloadError,
    audio_path_for,
    check_content_type,
    cover_path_for,
    find_cached,
    write_audio_bytes,
)
from minimax_nb.client.polling import PollPolicy
from minimax_nb.errors import MiniMaxError, WaitTimeoutError
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers.base import HttpRequest, HttpResponse, Issue, ProviderAdapter, SubmitResult

__all__ = ["AsyncMusicClient"]

log = logging.getLogger("minimax_nb.client")
T = TypeVar("T")
OnUpdate = Callable[[Job], Any]


async def _notify(on_update: OnUpdate | None, job: Job) -> None:
    if on_update is not None:
        result = on_update(job)
        if inspect.isawaitable(result):
            await result


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

    # ---- the request loop ------------------------------------------------------------------------

    async def _send(self, request: HttpRequest) -> HttpResponse:
        kw = self._core.request_kwargs(request)
        try:
            r = await self._http.request(**kw)
        except httpx.TransportError as exc:
            err = self._core.connection_error(exc)
        else:
            return self._core.to_response(r.status_code, r.content, r.headers)
        # raised outside the except block: no __context__ pointing at the httpx error, whose request
        # carries the Authorization header (and pickles it)
        raise err

    async def _retrying(self, kind: _core.RequestKind, once: Callable[[], Awaitable[T]]) -> T:
        """``once()`` again until it succeeds or the core says to give up (then its error is raised)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await once()
            except httpx.TransportError as exc:
                err: MiniMaxError = self._core.connection_error(exc)
            except MiniMaxError as e:
                err = e
            # raised outside the except blocks: no __context__ pointing at an httpx error
            delay = self._core.retry_delay(kind, err, attempt)
            if delay is None:
                raise err
            log.info("%s %s failed (%s); retry %d in %.2fs", self.provider, kind, type(err).__name__,
                     attempt, delay)
            await self._sleep(delay)

    async def _call(self, request: HttpRequest, parse: Callable[[HttpResponse], T]) -> T:
        async def once() -> T:
            result: T = _core.interpret(parse, await self._send(request), provider=self.provider)
            return result

        return await self._retrying(request.kind, once)

    async def _call_stream(self, request: HttpRequest, job: Job,
                           assembler: _core.StreamAssemblerLike) -> SubmitResult:
        """A streamed create (platform ``stream=true``): hex chunks are assembled as they arrive."""
        kw = self._core.request_kwargs(request)

        async def once() -> SubmitResult:
            async with self._http.stream(**kw) as r:
                if not _core.is_event_stream(r.status_code, r.headers):
                    await r.aread()
                    response = self._core.to_response(r.status_code, r.content, r.headers)
                    parsed: SubmitResult = _core.interpret(
                        lambda x: self._core.adapter.parse_submit(job, x), response, provider=self.provider)
                    return parsed
                async for line in r.aiter_lines():
                    if line.strip():
                        assembler.feed(line)
                        if assembler.done:
                            break
            done: SubmitResult = assembler.result(job)
            return done

        return await self._retrying(request.kind, once)

    # ---- public API ------------------------------------------------------------------------------

    def validate(self, request: MusicRequest) -> list[Issue]:
        """Every problem with ``request`` for this provider and model (errors block, warnings do not)."""
        return self._core.adapter.validate(request, model=request.model or self._core.model)

    def estimate_cost(self, request: MusicRequest) -> float | None:
        """The expected price in USD of one song, or ``None`` when unknown."""
        return self._core.adapter.estimate_cost_usd(request, model=request.model or self._core.model)

    async def submit(self, request: MusicRequest) -> Job:
        """Send the create (see ``MusicClient.submit``)."""
        try:
            return await self._submit(request, self._core.account)
        except MiniMaxError as err:
            if _core.is_refusal(self._core.adapter, err) and isinstance(err.job, Job):
                self._core.record_submit_failure(err.job, err)
            raise

    async def _submit(self, request: MusicRequest, account: str | None, job: Job | None = None) -> Job:
        http_request = self._core.prepare_submit(request, account)
        job = self._core.stamp_sent(job or self._core.new_job(request, account))
        self._core.record_submitting(job)
        sent = job
        try:
            assembler = _core.stream_assembler(self._core.adapter, http_request)
            if assembler is not None:
                result = await self._call_stream(http_request, sent, assembler)
            else:
                result = await self._call(http_request, lambda r: self._core.adapter.parse_submit(sent, r))
        except MiniMaxError as err:
            if err.job is None:
                err.job = job
            if not _core.is_refusal(self._core.adapter, err):
                self._core.record_submit_failure(job, err)
            raise
        job = result.job
        self._core.record(None, job)
        if result.audio_bytes:
            path, sha, size = write_audio_bytes(job, result.audio_bytes, self._core.download_dir,
                                                ext=result.audio_ext, max_bytes=self._core.max_download_bytes)
            job = job.evolve(audio_path=path)
            self._core.record_audio(job, path, sha, size)
        return job

    async def _submit_patiently(self, request: MusicRequest, account: str | None) -> Job:
        job: Job | None = None
        refusals = 0
        while True:
            try:
                return await self._submit(request, account, job)
            except MiniMaxError as err:
                if not _core.is_refusal(self._core.adapter, err):
                    raise
                job = err.job if isinstance(err.job, Job) else job
                refusals += 1
                if refusals > self._core.max_refusals():
                    if job is not None:
                        self._core.record_submit_failure(job, err)
                    raise
                await self._sleep(self._core.refusal_delay(err, refusals))

    async def get(self, job_or_id: Job | str) -> Job:
        """One status read (see ``MusicClient.get``)."""
        job, known = self._core.job_from_id(job_or_id)
        request = self._core.adapter.build_poll(job)
        if request is None:
            return job
        new = await self._call(request, lambda r: self._core.adapter.parse_poll(job, r))
        if known:
            self._core.record(job, new)
        return new

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
        limit = timeout if timeout is not None else self._core.poll.timeout
        deadline = time.monotonic() + limit
        for delay in self._core.poll.delays(timeout):
            await self._sleep(max(0.0, min(delay, deadline - time.monotonic())))
            new = await self.get(job)
            changed = _core._changed(job, new)
            job = new
            if changed or job.is_final:
                yield job
            if job.is_final:
                return
            if time.monotonic() >= deadline:
                break
        raise WaitTimeoutError(f"job {job.key} not finished after {limit:g}s",
                               provider=self.provider, job=job)

    async def wait(self, job: Job, timeout: float | None = None,  # noqa: ASYNC109
                   on_update: OnUpdate | None = None) -> Job:
        """Poll until ``job`` is final and return it (see ``MusicClient.wait``)."""
        if job.is_final:
            return job
        async for new in self._watch(job, timeout):
            if _core._changed(job, new):
                await _notify(on_update, new)
            job = new
        return job

    async def download(self, job: Job, dest: str | os.PathLike[str] | None = None) -> Path:
        """Save ``job``'s audio and return the file path. A second call for the same job is a cache hit."""
        return (await self._download(job, dest)).audio_path or Path()

    async def _download(self, job: Job, dest: str | os.PathLike[str] | None = None) -> Job:
        directory, exact = _core.download_target(self._core, dest)
        cached = exact if exact is not None and exact.is_file() else find_cached(job, directory)
        if cached is not None:
            return self._core.cached_audio(job, cached)
        if not job.audio_url:
            raise DownloadError(f"job {job.key} has no audio URL ({job.status.value})",
                                provider=self.provider, job=job)
        path, sha, size = await self._retrying("read", lambda: self._fetch(job, directory, exact))
        new = job.evolve(audio_path=path)
        self._core.record_audio(new, path, sha, size)
        await self._fetch_cover(new, path)
        return new

    async def _fetch_cover(self, job: Job, audio_path: Path) -> None:
        """Save the provider's cover beside the audio (best effort: a song never fails for its cover)."""
        if not job.cover_url:
            return
        try:
            kw = self._core.download_kwargs(job.cover_url) | {"headers": {"Accept": "image/*"}}
            r = await self._http.request(**kw)
            target = cover_path_for(audio_path, r.headers.get("content-type"))
            if r.status_code == 200 and target is not None and 0 < len(r.content) <= MAX_COVER_BYTES:
                target.write_bytes(r.content)
        except httpx.HTTPError as exc:
            log.warning("no cover for %s: %s", job.key, self._core.redact(str(exc)))

    async def _fetch(self, job: Job, directory: Path, exact: Path | None) -> tuple[Path, str, int]:
        async with self._http.stream(**self._core.download_kwargs(job.audio_url or "")) as r:
            if r.status_code != 200:
                raise _core.download_error(r.status_code, provider=self.provider, headers=r.headers,
                                           retry_after_cap=self._core.retry.retry_after_cap)
            ctype = r.headers.get("content-type")
            check_content_type(ctype, provider=self.provider)
            _core.check_length(self._core, r.headers)
            target = exact or audio_path_for(job, directory, url=job.audio_url, content_type=ctype)
            with AudioSink(target, max_bytes=self._core.max_download_bytes, provider=self.provider) as sink:
                async for chunk in r.aiter_bytes():
                    sink.write(chunk)
                path = sink.commit()
                return path, sink.sha256, sink.size

    async def generate(self, request: MusicRequest, download: bool = True,
                       on_update: OnUpdate | None = None) -> Job:
        """Submit, wait and download (see ``MusicClient.generate``)."""
        job = await self._submit_patiently(request, self._core.account)
        return await self._finish(job, download, on_update)

    async def _finish(self, job: Job, download: bool, on_update: OnUpdate | None) -> Job:
        state = [job]
        try:
            return await self._follow(job, download, on_update, state)
        except MiniMaxError as err:
            if err.job is None:  # say which job failed: the caller may only hold the request
                err.job = state[-1]
            raise

    async def _follow(self, job: Job, download: bool, on_update: OnUpdate | None,
                      state: list[Job]) -> Job:
        on_update = _core.tracking(on_update, state)
        await _notify(on_update, job)
        if not job.is_final:
            job = await self.wait(job, on_update=on_update)
        elif self._core.needs_followup_get(job):
            try:
                new = await self.get(job)
            except MiniMaxError as err:
                log.warning("could not re-read %s after its create: %s", job.key, err)
                new = job
            new = self._core.after_followup(job, new)
            if _core._changed(job, new):
                await _notify(on_update, new)
            job = new
        if download and job.status is JobStatus.COMPLETED and job.audio_path is None and job.audio_url:
            try:
                job = await self._download(job)
            except MiniMaxError as err:
                moderated = self._core.moderated_after_download_error(job, err)
                if moderated is None:
                    raise
                job = moderated
            await _notify(on_update, job)
        return job

    async def generate_many(self, requests: Iterable[MusicRequest], concurrency: int | None = None,
                            on_update: OnUpdate | None = None, download: bool = True) -> list[Job]:
        """Generate several songs at once (tasks); see ``MusicClient.generate_many``."""
        reqs = list(requests)
        if not reqs:
            return []
        workers = _core.effective_concurrency(self._core, concurrency, len(reqs))
        gate = asyncio.Semaphore(workers)
        slots: asyncio.Queue[str | None] = asyncio.Queue()
        for acc in _core.account_slots(self._core, workers):
            slots.put_nowait(acc)

        async def notify(job: Job) -> None:
            try:
                await _notify(on_update, job)
            except Exception:  # a broken callback must not fail the song
                log.exception("on_update callback failed for %s", job.key)

        async def one(request: MusicRequest) -> Job:
            async with gate:
                account = await slots.get()
                held = True
                try:
                    job = await self._submit_patiently(request, account)
                    if _core.frees_account(job):
                        slots.put_nowait(account)
                        held = False
                    return await self._finish(job, download, notify)
                except Exception as err:
                    failed = _core.batch_failure(self._core, request, account, err)
                    await notify(failed)
                    return failed
                finally:
                    if held:
                        slots.put_nowait(account)

        return list(await asyncio.gather(*(one(r) for r in reqs)))

    async def styles(self) -> list[dict[str, str]]:
        """The provider's style list (useapi). Other providers raise ``NotImplementedError``."""
        request = self._core.adapter.build_styles(account=self._core.account)
        return await self._call(request, self._core.adapter.parse_styles)

    async def list_jobs(self, limit: int = 20, last_id: str | None = None) -> list[Mapping[str, Any]]:
        """The provider's own list of recent songs (useapi), newest first, as raw mappings."""
        request = self._core.adapter.build_list(account=self._core.account, limit=limit, last_id=last_id)
        return await self._call(request, self._core.adapter.parse_list)

    async def resume(self, download: bool = True) -> list[Job]:
        """Bring every unfinished ledger job to a final state (see ``MusicClient.resume``)."""
        ledger = self._core.ledger
        if ledger is None:
            return []
        out: list[Job] = []
        listed: list[Mapping[str, Any]] | None = None
        for job in ledger.unfinished(provider=self.provider):
            try:
                if job.id is None:
                    if listed is None:
                        listed = await self._list_for_resume()
                    job = self._core.adopt_submitting(job, listed)
                    if job.id is None:
                        out.append(job)
                        continue
                job = await self.wait(job)
                out.append(job)
            except MiniMaxError as err:
                log.warning("resume: %s not finished: %s", job.key, err)
                out.append(self._core.resume_failed(job, err))
        if download:
            done = {j.local_id: i for i, j in enumerate(out)}
            for job in ledger.missing_audio(provider=self.provider):
                try:
                    new = await self._download(job)
                except MiniMaxError as err:
                    moderated = self._core.moderated_after_download_error(job, err)
                    if moderated is None:
                        log.warning("resume: no audio for %s: %s", job.key, err)
                        continue
                    new = moderated
                if job.local_id in done:
                    out[done[job.local_id]] = new
                else:
                    out.append(new)
        return out

    async def _list_for_resume(self) -> list[Mapping[str, Any]]:
        try:
            return await self.list_jobs(limit=100)
        except NotImplementedError:
            return []

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
