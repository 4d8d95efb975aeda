"""``MusicClient``: the blocking client (httpx.Client, threads for batches).

It uses no asyncio at all, so it works in a Jupyter cell where an event loop is already running.
Every decision (retry or not, how long to wait, what to record) is made by the flow
(``client.flow``); this module is the short driver that carries out its effects, twin of
``client.async_``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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

__all__ = ["MusicClient"]

log = logging.getLogger("minimax_nb.client")
T = TypeVar("T")
OnUpdate = Callable[[Job], Any]


class MusicClient:
    """Generate songs with one MiniMax music provider, blocking.

    ::

        with MusicClient("aimlapi") as client:          # key from AIMLAPI_API_KEY
            job = client.generate(MusicRequest(lyrics="[Verse]\\nHello", style="bright synth-pop"))
        job.audio_path

    Args:
        provider: ``"useapi"``, ``"aimlapi"``, ``"apiin"``, ``"minimax"``, ``"fal"``, ``"replicate"`` or
            ``"local"`` (the offline emulator, in a child process). ``None``: the first provider whose
            key variable is set, else ``"local"``.
        api_key: the key; default from the provider's variable (``USEAPI_API_TOKEN``,
            ``AIMLAPI_API_KEY``, ``APIIN_API_KEY``, ``MINIMAX_API_KEY``, ``FAL_KEY``,
            ``REPLICATE_API_TOKEN``: ``minimax_nb.providers.ENV_KEYS``). Never shown in a repr, log or error.
        base_url: the service root; default ``MINIMAX_NB_<PROVIDER>_BASE_URL`` or the provider's.
        account: useapi account(s). Several accounts let ``generate_many`` run one song on each.
        model: the default model (``request.model`` wins).
        timeout: seconds for blocking creates (a ``Timeouts`` or ``httpx.Timeout`` for full control).
        poll: the ``PollPolicy`` of ``wait()`` (default: a schedule learned per provider/model from the
            ledger's finished jobs). retry: the ``RetryPolicy`` of reads.
        transport: an httpx transport (tests, proxies).
        ledger: a ``Ledger``, a path, or ``False``/``"off"``; default ``.minimax_nb/ledger.sqlite``
            under the cwd (env ``MINIMAX_NB_LEDGER``).
        download_dir: where audio is saved (default ``./minimax_nb_audio``).
        emulator_speed: the emulator's speed-up; the poll policy is scaled by ``1/speed``.
            For ``"local"`` default env ``MINIMAX_NB_LOCAL_SPEED`` else 10.
        adapter: a provider adapter object to use instead of the built-in one (advanced).
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
        self._http = httpx.Client(transport=transport, follow_redirects=True)
        self._sleep: Callable[[float], None] = time.sleep
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
        return f"<MusicClient {self._core.provider} {self._core.base_url}>"

    # ---- the driver: carries out the flow's effects ---------------------------------------------

    def _run(self, steps: Flow[T], on_update: OnUpdate | None = None) -> T:
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
                outcome = self._do(effect, on_update)
            except MiniMaxError as err:
                error = err

    def _do(self, effect: flow.Effect, on_update: OnUpdate | None) -> Any:
        if isinstance(effect, flow.Send):
            return self._send(effect)
        if isinstance(effect, flow.Sleep):
            return self._sleep(effect.seconds)
        if isinstance(effect, flow.Fetch):
            return self._fetch(effect)
        if isinstance(effect, flow.FetchCover):
            return self._fetch_cover(effect)
        if isinstance(effect, flow.Notify):
            return self._notify(on_update, effect.job)
        return self._local(self._core.local_io, effect)

    @staticmethod
    def _notify(on_update: OnUpdate | None, job: Job) -> None:
        if on_update is not None:
            on_update(job)

    @staticmethod
    def _local(fn: Callable[..., T], *args: Any) -> T:
        """Ledger and disk work (the async twin runs it in a worker thread)."""
        return fn(*args)

    @staticmethod
    def _map(fn: Callable[[Job], Job], jobs: Sequence[Job], concurrency: int) -> list[Job]:
        """``fn`` over ``jobs``, ``concurrency`` at a time, results in order."""
        if len(jobs) <= 1 or concurrency <= 1:
            return [fn(j) for j in jobs]
        with ThreadPoolExecutor(max_workers=min(concurrency, len(jobs)),
                                thread_name_prefix="minimax_nb-resume") as pool:
            return list(pool.map(fn, jobs))

    def _send(self, effect: flow.Send) -> HttpResponse | SubmitResult:
        kw = self._core.request_kwargs(effect.request)
        try:
            if effect.assembler is not None and effect.job is not None:
                return self._stream(kw, effect.assembler, effect.job)
            r = self._http.request(**kw)
        except httpx.HTTPError as exc:
            err = self._core.connection_error(exc)
        else:
            return self._core.to_response(r.status_code, r.content, r.headers)
        # raised outside the except block: no __context__ pointing at the httpx error, whose request
        # carries the Authorization header (and pickles it)
        raise err

    def _stream(self, kw: dict[str, Any], assembler: _core.StreamAssemblerLike,
                job: Job) -> HttpResponse | SubmitResult:
        """A streamed create (platform ``stream=true``): hex chunks are assembled as they arrive."""
        with self._http.stream(**kw) as r:
            if not _core.is_event_stream(r.status_code, r.headers):
                r.read()
                return self._core.to_response(r.status_code, r.content, r.headers)
            for line in r.iter_lines():
                if line.strip():
                    assembler.feed(line)
                    if assembler.done:
                        break
        done: SubmitResult = assembler.result(job)
        return done

    def _fetch(self, effect: flow.Fetch) -> tuple[Path, str, int]:
        job = effect.job
        try:
            with self._http.stream(**self._core.download_kwargs(job.audio_url or "")) as r:
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
                    for chunk in r.iter_bytes():
                        sink.write(chunk)
                    path = sink.commit()
                    return path, sink.sha256, sink.size
        except httpx.HTTPError as exc:
            err = self._core.connection_error(exc)
        raise err

    def _fetch_cover(self, effect: flow.FetchCover) -> None:
        """Save the provider's cover beside the audio (best effort: a song never fails for its cover)."""
        try:
            kw = self._core.download_kwargs(effect.job.cover_url or "") | {"headers": {"Accept": "image/*"}}
            r = self._http.request(**kw)
            target = cover_path_for(effect.audio_path, r.headers.get("content-type"))
            if r.status_code == 200 and target is not None and 0 < len(r.content) <= MAX_COVER_BYTES:
                self._local(target.write_bytes, r.content)
        except httpx.HTTPError as exc:
            log.warning("no cover for %s: %s", effect.job.key, self._core.redact(str(exc)))

    # ---- public API ------------------------------------------------------------------------------

    def validate(self, request: MusicRequest) -> list[Issue]:
        """Every problem with ``request`` for this provider and model (errors block, warnings do not)."""
        return self._core.adapter.validate(request, model=request.model or self._core.model)

    def estimate_cost(self, request: MusicRequest) -> float | None:
        """The expected price in USD of one song, or ``None`` when unknown."""
        return self._core.adapter.estimate_cost_usd(request, model=request.model or self._core.model)

    def submit(self, request: MusicRequest) -> Job:
        """Send the create once. Blocking providers (useapi v1, platform) answer with a final job.

        Validation runs first (``ValidationError``, nothing sent). A create is never replayed once it
        may have reached the server: if its answer is lost the error carries the job, ``AMBIGUOUS``.
        """
        return self._run(flow.submit_once(self._core, request, self._core.account))

    def get(self, job_or_id: Job | str) -> Job:
        """One status read. Returns the updated job (unchanged where the provider has no status read)."""
        job, known = self._core.job_from_id(job_or_id)
        return self._run(flow.get(self._core, job, record=known))

    def wait(self, job: Job, timeout: float | None = None, on_update: OnUpdate | None = None) -> Job:
        """Poll until ``job`` is final and return it (COMPLETED, MODERATED, FAILED, CANCELLED or LOST).

        Raises ``WaitTimeoutError`` (carrying the last state) after ``timeout`` seconds (default: the poll
        policy's); the job keeps running at the provider.
        """
        return self._run(flow.wait(self._core, job, timeout), on_update)

    def download(self, job: Job, dest: str | os.PathLike[str] | None = None) -> Path:
        """Save ``job``'s audio and return the file path. A second call for the same job is a cache hit."""
        new = self._run(flow.fetch_audio(self._core, job, dest))
        return flow.audio_path_or_raise(self._core, new)

    def generate(self, request: MusicRequest, download: bool = True,
                 on_update: OnUpdate | None = None, progress: bool = True) -> Job:
        """Submit, wait for the final state and (when COMPLETED) download the audio. Returns the job.

        A refused create (busy account, rate limit) is sent again after a wait. A moderated or failed
        song comes back as such (``job.raise_for_status()`` raises); a create the provider rejects raises,
        and so does one whose answer was lost and that the provider's list cannot identify (its error's
        ``job`` is ``AMBIGUOUS``: ``resume()`` tries again, nothing is sent twice).
        ``on_update(job)`` is called with each new state, the downloaded one last.
        """
        bar = _core.progress_bar(progress, 1, "song")
        try:
            return self._run(flow.generate(self._core, request, self._core.account, download),
                             _core.with_progress(on_update, bar))
        finally:
            if bar is not None:
                bar.close()

    def generate_many(self, requests: Iterable[MusicRequest], concurrency: int | None = None,
                      on_update: OnUpdate | None = None, download: bool = True,
                      max_usd: float | None = None, progress: bool = True) -> list[Job]:
        """Generate several songs at once (threads); returns the jobs in input order.

        At most ``concurrency`` at once overall (default 4) and ``adapter.per_account_limit`` per account
        (useapi: one; give several ``account`` values to spread the work). One failure never aborts the
        batch: that item comes back as a FAILED/MODERATED job with ``error`` text (a job that was made
        but could not be followed keeps its last state, with ``error`` set; an ambiguous one stays
        AMBIGUOUS). Interrupted, it returns at once: unsent songs are dropped, sent ones finish in the
        background. ``max_usd``: refuse the whole batch before anything is sent (``BudgetExceededError``)
        when its estimated cost is over this many dollars, or cannot be bounded (a song with no price).
        """
        reqs = list(requests)
        _core.check_budget(self._core, reqs, max_usd)
        if not reqs:
            return []
        bar = _core.progress_bar(progress, len(reqs), "songs")
        on_update = _core.with_progress(on_update, bar)
        workers = _core.effective_concurrency(self._core, concurrency, len(reqs))
        slots: queue.Queue[str | None] = queue.Queue()
        for acc in _core.account_slots(self._core, workers):
            slots.put(acc)
        lock = threading.Lock()

        def notify(job: Job) -> None:
            if on_update is not None:
                with lock:
                    try:
                        on_update(job)
                    except Exception:  # a broken callback must not fail the song
                        log.exception("on_update callback failed for %s", job.key)

        # Set on an interrupt (in the caller or in a callback): no song not yet sent is sent after it.
        # ``cancel_futures`` alone races with a worker that is just picking up the next song.
        stop = threading.Event()

        def one(request: MusicRequest) -> Job:
            account = slots.get()
            held = True
            try:
                if stop.is_set():
                    return _core.new_cancelled(self._core, request, account)
                job = self._run(flow.obtain(self._core, request, account), notify)
                if job.is_final:
                    slots.put(account)
                    held = False
                return self._run(flow.follow(self._core, job, download), notify)
            except Exception as err:
                failed = _core.batch_failure(self._core, request, account, err)
                notify(failed)
                return failed
            except BaseException:
                stop.set()
                raise
            finally:
                if held:
                    slots.put(account)

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minimax_nb")
        try:
            futures = [pool.submit(one, r) for r in reqs]
            return [f.result() for f in futures]
        except BaseException:
            stop.set()
            raise
        finally:
            # On an interrupt (a Jupyter "stop"), songs not yet sent are dropped at once; those already
            # sent finish in the background (recorded in the ledger; ``resume()`` also picks them up).
            pool.shutdown(wait=False, cancel_futures=True)
            if bar is not None:
                bar.close()

    def styles(self) -> list[dict[str, str]]:
        """The provider's style list (useapi). Other providers raise ``NotImplementedError``."""
        request = self._core.adapter.build_styles(account=self._core.account)
        return self._run(flow.call(self._core, request, self._core.adapter.parse_styles))

    def list_jobs(self, limit: int = 20, last_id: str | None = None) -> list[Mapping[str, Any]]:
        """The provider's own list of recent songs (useapi), newest first, as raw mappings."""
        request = self._core.adapter.build_list(account=self._core.account, limit=limit, last_id=last_id)
        return self._run(flow.call(self._core, request, self._core.adapter.parse_list))

    def resume(self, download: bool = True, concurrency: int = 8,
               on_update: OnUpdate | None = None, progress: bool = True) -> list[Job]:
        """Bring every unfinished job of the ledger to a final state and fetch missing audio.

        Jobs whose create answer was lost (left ``SUBMITTING`` by a crash, or ``AMBIGUOUS``) are never
        sent again: they are matched against the provider's list over every account when it has one,
        else they stay ``AMBIGUOUS`` ("paid? cannot be identified"). Every identified job gets one
        status read at once (``concurrency`` at a time) and its audio. Returns the jobs touched.
        """
        plan = self._local(_core.resume_plan, self._core)
        if plan is None or not (plan.open or plan.missing_audio):
            return []
        bar = _core.progress_bar(progress, len(plan.open) + len(plan.missing_audio), "resume")
        try:
            return self._resume(plan, download, concurrency, _core.with_progress(on_update, bar))
        finally:
            if bar is not None:
                bar.close()

    def _resume(self, plan: _core.ResumePlan, download: bool, concurrency: int,
              on_update: OnUpdate | None) -> list[Job]:
        self._local(clean_orphans, self._core.download_dir)
        jobs = self._run(flow.reconcile(self._core, plan.open, plan.known_ids), on_update)

        def one(job: Job) -> Job:
            return self._run(flow.resume_one(self._core, job, download), on_update)

        done = self._map(one, plan.to_follow(jobs, download), concurrency)
        return plan.merge(jobs, done)

    # ---- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections and stop the local emulator, if any."""
        if self._closed:
            return
        self._closed = True
        self._http.close()
        if self._emulator is not None:
            self._emulator.stop()

    def __enter__(self) -> MusicClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
