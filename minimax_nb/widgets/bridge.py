"""The one place that runs client work in the background and feeds the panels.

Why a thread of our own: the kernel must never block, and on ipykernel 7 asyncio tasks scheduled from a
widget callback on the kernel's loop may only run when the next cell executes (ipykernel #1510,
ipywidgets #4012). A loop (or threads) of our own runs whatever the kernel does; the browser tests
prove that the monitor moves while no cell runs.

- By default every generation (``Run``) is a task on **one event loop in one background thread**,
  driven by ``AsyncMusicClient.generate`` (its ``on_update`` records every new job state): the same
  submit/refusal-retry/wait/download flow as a script, so a busy useapi account, post-moderation and hex
  audio behave the same in the studio. One thread, not one per song: 200 songs in 200 threads made
  the kernel's own threads queue for the GIL (a trivial cell's p95 round trip doubled, bench_kernel).
  A ``client_factory`` of sync clients (``MusicClient``-like) runs them in a thread pool instead.
- Updates are *coalesced*: a worker only stores the latest state and marks the run dirty. One ticker
  thread calls ``flush()`` every ``interval`` seconds (default 0.25 s), which hands each changed or
  still-running run to the listeners (the panels) once, then the batch of runs that finished since the
  last flush to the batch listeners (once per flush, however many finished). So a row gets at most
  ``1 / interval`` updates a second, however fast the client reports; with more than ``rows_per_tick``
  (25) active runs the interval stretches in proportion, so a hundred jobs cannot flood the front end.
- **One owner of widget writes**: only ``flush()`` (the ticker) calls the panels, holding ``ui_lock``,
  which the studio's panels also hold in their event handlers (the kernel's thread). Worker threads never
  touch a widget: ``call(fn, on_done, on_error)`` runs ``fn`` in the pool and queues ``on_done``/``on_error``
  for the next flush; ``post(fn)`` queues any other widget write (a button callback's, say) the same way.
  Heavy work (measuring audio, building frames) belongs in ``fn``, off the ticker's path.
- Every exception (client, listener) is kept on the run or handed to ``on_error``: never swallowed.
- API keys live in memory only (the client cache); they never appear in a repr.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from minimax_nb.models import Job, JobStatus, MusicRequest

__all__ = ["Bridge", "ClientLike", "Run"]


class ClientLike(Protocol):
    """The part of ``minimax_nb.MusicClient`` the bridge drives (``AsyncMusicClient``: the same methods,
    awaited, when the factory is marked ``is_async``)."""

    def generate(self, request: MusicRequest, download: bool = True,
                 on_update: Callable[[Job], None] | None = None, progress: bool = True) -> Job: ...
    def close(self) -> None: ...


ClientFactory = Callable[..., ClientLike]


def default_client_factory(provider: str, **kwargs: Any) -> ClientLike:
    """``MusicClient(provider, **kwargs)`` (imported lazily: the widgets stand above the transport)."""
    from minimax_nb.client.sync import MusicClient

    client: ClientLike = MusicClient(provider, **kwargs)
    return client


def default_async_client_factory(provider: str, **kwargs: Any) -> Any:
    """``AsyncMusicClient(provider, **kwargs)``: the bridge's default, driven on its event loop."""
    from minimax_nb.client.async_ import AsyncMusicClient

    return AsyncMusicClient(provider, **kwargs)


default_async_client_factory.is_async = True  # type: ignore[attr-defined]


@dataclasses.dataclass(eq=False)
class Run:
    """One launched generation as the panels see it. Mutated only by the bridge, under its lock.

    ``state`` is a ``JobStatus``: ``SUBMITTING`` until the client reports a job, then the job's status.
    When the client raised instead of returning a job, ``refused`` is true (the request never became a
    job: a bad key, a refused or unsent request), ``state`` is ``FAILED`` (or the last status the client
    reported, e.g. ``AMBIGUOUS``, which is never written off), and ``error``/``exception`` say why.
    ``watching`` is false after ``stop_watching`` (the job goes on; ``watch`` re-attaches it).
    ``version`` increases at every change.
    """

    id: str
    provider: str
    request: MusicRequest
    model: str | None
    expected_s: float
    started: float
    variant: int = 1
    job: Job | None = None
    state: JobStatus = JobStatus.SUBMITTING
    refused: bool = False
    error: str | None = None
    exception: BaseException | None = None
    finished: float | None = None
    watching: bool = True
    version: int = 0

    @property
    def title(self) -> str:
        t = (self.job.title if self.job and self.job.title else None) or self.request.title or "untitled"
        return f"{t} (v{self.variant})" if self.variant > 1 else t

    @property
    def done(self) -> bool:
        """True once the bridge has finished with this run (final job, downloaded, or error)."""
        return self.finished is not None

    @property
    def active(self) -> bool:
        """Still running in the background and watched (a stopped row is not counted as running)."""
        return self.watching and not self.done

    @property
    def label(self) -> str:
        """What the monitor's pill says: the status, ``"error"`` for a refused request, ``"unwatched"``."""
        if self.refused and not self.state.is_open:
            return "error"
        if not self.watching and not self.done:
            return "unwatched"
        return self.state.value

    def elapsed(self, now: float) -> float:
        return (self.finished if self.finished is not None else now) - self.started

    def progress(self, now: float) -> float:
        """Elapsed vs expected, capped at 0.99 until the run is done (then 1.0)."""
        if self.done:
            return 1.0
        return min(0.99, self.elapsed(now) / max(self.expected_s, 1e-6))

    def __repr__(self) -> str:
        return f"<Run {self.provider} {self.title!r} {self.state.value}>"


Listener = Callable[[Run], None]
BatchListener = Callable[[list[Run]], None]


_SALT = os.urandom(16)
#: The shortest pause between two flushes of the ticker (a quick flush may follow a full one this soon).
QUICK_GAP = 0.1


def _digest(value: Any) -> str:
    return hashlib.sha256(_SALT + repr(value).encode()).hexdigest()


class Bridge:
    """Runs generations in worker threads and feeds coalesced updates to listeners.

    Args:
        client_factory: ``factory(provider, **kwargs) -> client``; default ``AsyncMusicClient`` on the
            bridge's event loop thread. A factory with a true ``is_async`` attribute makes async clients
            too; any other makes sync clients, run in a thread pool.
        max_workers: generations running at once (waiting ones show as ``submitting``).
        interval: seconds between flushes (the most often a listener hears about one run).
        clock: monotonic clock (tests pass a fake).
        ticker: start the background ticker thread; tests pass ``False`` and call ``flush()``.
    """

    def __init__(self, client_factory: ClientFactory | None = None, *, max_workers: int = 8,
                 interval: float = 0.25, clock: Callable[[], float] = time.monotonic,
                 ticker: bool = True) -> None:
        self._factory: ClientFactory = client_factory or default_async_client_factory
        #: Whether generations are tasks on one event loop (async clients) or jobs of a thread pool.
        self.is_async = bool(getattr(self._factory, "is_async", False))
        self._max_workers = max_workers
        self._pool = ThreadPoolExecutor(max_workers=1 if self.is_async else max_workers,
                                        thread_name_prefix="minimax-nb")
        self._loop: asyncio.AbstractEventLoop | None = None  # made on the first async launch
        self._gate: asyncio.Semaphore | None = None  # max_workers, on the loop
        self._async_slots: dict[tuple[str, str | None], asyncio.Semaphore] = {}
        self._interval = interval
        self._clock = clock
        self._lock = threading.RLock()
        self._flush_lock = threading.Lock()
        #: Held while the ticker writes the panels (a whole flush); the studio's panels hold it in their
        #: event handlers (the kernel's thread), so widget traits are never written from two threads at
        #: once. Always taken before the bridge's own lock.
        self.ui_lock = threading.RLock()
        self._clients: dict[tuple[Any, ...], ClientLike] = {}
        self._client_lock = threading.Lock()
        self._slots: dict[tuple[str, str | None], threading.Semaphore] = {}
        self._runs: dict[str, Run] = {}
        self._dirty: set[str] = set()
        self._notified: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self._batch_listeners: list[BatchListener] = []
        self._rows_listeners: list[BatchListener] = []
        self._finished: list[Run] = []
        self._inbox: list[Callable[[], None]] = []
        self._futures: set[Future[Any]] = set()
        self._lanes: dict[str, ThreadPoolExecutor] = {}  # call(lane=...): one worker thread each
        #: Active runs one flush interval serves before the interval stretches (see ``tick_interval``).
        self.rows_per_tick = 25
        self.on_error: Callable[[BaseException, str], None] | None = None
        self.errors: list[tuple[str, BaseException]] = []
        self._wake = threading.Event()
        self._urgent = threading.Event()  # a run finished or a callback was posted: flush soon
        self._closed = False
        self._ticker: threading.Thread | None = None
        self._counter = itertools.count(1)
        if ticker:
            self._ticker = threading.Thread(target=self._tick_loop, name="minimax-nb-ticker", daemon=True)
            self._ticker.start()

    # ------------------------------------------------------------------ public
    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(run)`` (from the ticker thread) when a run changed or is still running."""
        self._listeners.append(listener)

    def add_rows_listener(self, listener: BatchListener) -> None:
        """Call ``listener(runs)`` (from the ticker thread) once per flush with every run that
        ``add_listener``'s listeners get one by one in that flush (never with an empty list): for a
        panel that writes a whole flush at once."""
        self._rows_listeners.append(listener)

    def add_batch_listener(self, listener: BatchListener) -> None:
        """Call ``listener(runs)`` (from the ticker thread) once per flush with the runs that finished
        since the last flush (never with an empty list)."""
        self._batch_listeners.append(listener)

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the ticker at the next flush: the one thread that writes widget traits.

        For callbacks that arrive on other threads (a button click on the kernel's thread, say) and
        must change panels the ticker also changes. Exceptions go to ``on_error``.
        """
        with self._lock:
            self._inbox.append(fn)
        self._urgent.set()
        self._wake.set()

    @property
    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def launch(self, provider: str, request: MusicRequest, *, model: str | None = None,
               account: str | None = None, api_key: str | None = None,
               client_kwargs: Mapping[str, Any] | None = None, expected_s: float = 55.0,
               per_account_limit: int | None = None, variant: int = 1) -> Run:
        """Start one generation in the background and return its ``Run`` at once."""
        if self._closed:
            raise RuntimeError("this Bridge is closed")
        run = Run(id=uuid.uuid4().hex, provider=provider, request=request, model=model,
                  expected_s=expected_s, started=self._clock(), variant=variant)
        with self._lock:
            self._runs[run.id] = run
            self._dirty.add(run.id)
        kwargs = dict(client_kwargs or {})
        if model:
            kwargs["model"] = model
        if account:
            kwargs["account"] = account
        if api_key:
            kwargs["api_key"] = api_key
        if self.is_async:
            loop = self._event_loop()
            self._track(asyncio.run_coroutine_threadsafe(
                self._awork(run, kwargs, (provider, account), per_account_limit), loop))
        else:
            slot = self._slot(provider, account, per_account_limit)
            self._track(self._pool.submit(self._work, run, kwargs, slot))
        self._wake.set()
        return run

    def call(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
             on_error: Callable[[BaseException], None], *, lane: str = "panel") -> Future[Any]:
        """Run ``fn()`` in a worker; ``on_done(result)`` or ``on_error(exc)`` then runs on the ticker at
        the next flush (never in the worker), so it may write widget traits.

        ``lane`` names a worker thread of its own (one per name, made on first use), apart from the
        generations' pool: panel work never waits behind running generations (with 8 workers and 20
        variants it would wait for 12 songs), calls of one lane run in the order given, and a slow lane
        ("measure") never holds up a quick one ("panel").
        """

        def job() -> None:
            try:
                result = fn()
            except BaseException as e:
                err = e
                self.post(lambda: on_error(err))
                return
            self.post(lambda: on_done(result))

        with self._lock:
            pool = self._lanes.get(lane)
            if pool is None:
                pool = self._lanes[lane] = ThreadPoolExecutor(max_workers=1,
                                                              thread_name_prefix=f"minimax-nb-{lane}")
        return self._track(pool.submit(job))

    def client_call(self, provider: str, client_kwargs: Mapping[str, Any], method: str, *args: Any) -> Any:
        """``client.method(*args)`` on the cached client for ``provider`` and ``client_kwargs`` (the one
        generations use), awaited on the bridge's loop when clients are async. Blocks: call it inside a
        ``call(fn, ...)`` worker, never on the ticker or the kernel's thread."""
        client = self._client(provider, dict(client_kwargs))
        result = getattr(client, method)(*args)
        if asyncio.iscoroutine(result):
            return asyncio.run_coroutine_threadsafe(result, self._event_loop()).result()
        return result

    def stop_watching(self, run_id: str) -> None:
        """Stop feeding this run to the panels (the generation itself goes on, and lands in the ledger)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or not run.watching:
                return
            run.watching = False
            run.version += 1
            self._dirty.add(run_id)
        self._wake.set()

    def watch(self, run_id: str) -> None:
        """Feed a stopped run to the panels again (re-attach its row)."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.watching:
                return
            run.watching = True
            run.version += 1
            self._dirty.add(run_id)
        self._wake.set()

    def flush(self, *, rows: bool = True) -> int:
        """Run the queued callbacks (``call``/``post``), hand every changed (or still running) watched run
        to the listeners once, then the newly finished runs to the batch listeners; returns how many runs
        were handed out.

        ``rows=False`` (the ticker's quick flush, between two full ones) hands out only the runs that
        finished, with the callbacks: a finished song reaches the table without waiting for the next
        refresh of every running row (which stretches with their number, ``tick_interval``)."""
        with self._flush_lock, self.ui_lock:
            with self._lock:
                inbox, self._inbox = self._inbox, []
            for fn in inbox:
                try:
                    fn()
                except Exception as e:
                    self._report(e, "updating the panels")
            with self._lock:
                if rows:
                    dirty, self._dirty = self._dirty, set()
                    todo = [r for r in self._runs.values()
                            if r.id in dirty or (r.watching and not r.done)]
                else:  # only the finished ones; the other changes wait for the next full flush
                    todo = [self._runs[i] for i in self._dirty if i in self._runs and self._runs[i].done]
                    self._dirty.difference_update(r.id for r in todo)
                # a run leaves the ticker once its last state (and its unwatching) was delivered
                todo = [r for r in todo if self._notified.get(r.id) != r.version or not r.done]
                for r in todo:
                    self._notified[r.id] = r.version
                finished, self._finished = self._finished, []
            if todo:
                self._tell(self._rows_listeners, todo, f"updating the panels for {len(todo)} run(s)")
            for run in todo:
                self._tell(self._listeners, run, f"updating the panels for {run.title!r}")
            if finished:
                self._tell(self._batch_listeners, finished,
                           f"adding {len(finished)} finished song(s) to the panels")
            return len(todo)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every started piece of work finished (for scripts and tests, not for widgets)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [f for f in self._futures if not f.done()]
            if not pending:
                self.flush()  # runs the queued on_done callbacks, which may start more work
                with self._lock:
                    again = bool(self._inbox) or any(not f.done() for f in self._futures)
                if not again:
                    return True
                continue
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def close(self) -> None:
        """Stop the ticker, let running work finish in the background, close the clients."""
        self._closed = True
        self._wake.set()
        self._urgent.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            lane.shutdown(wait=False, cancel_futures=True)
        with self._client_lock:
            clients, self._clients = list(self._clients.values()), {}
        loop = self._loop
        if loop is not None:
            # generations already running go on to their end (and their ledger rows); then the clients
            # close and the loop stops, in the loop's own thread
            asyncio.run_coroutine_threadsafe(self._wind_down(clients), loop)
            return
        for c in clients:
            try:
                c.close()
            except Exception as e:
                self._report(e, "closing a client")

    def __repr__(self) -> str:  # never shows keys (they are only in the client cache)
        with self._lock:
            states = [r.state for r in self._runs.values()]
        active = sum(1 for s in states if s.is_open)
        return f"<Bridge runs={len(states)} active={active}>"

    # ------------------------------------------------------------------ internals
    def _track(self, fut: Future[Any]) -> Future[Any]:
        with self._lock:
            self._futures.add(fut)

        def forget(f: Future[Any]) -> None:
            with self._lock:
                self._futures.discard(f)

        fut.add_done_callback(forget)
        return fut

    def _slot(self, provider: str, account: str | None, limit: int | None) -> threading.Semaphore | None:
        if not limit:
            return None
        with self._lock:
            key = (provider, account)
            if key not in self._slots:
                self._slots[key] = threading.Semaphore(limit)
            return self._slots[key]

    def _tell(self, listeners: list[Any], arg: Any, context: str) -> None:
        """Call each listener with ``arg``; a listener that raises is reported, the others still run."""
        for listener in list(listeners):
            try:
                listener(arg)
            except Exception as e:
                self._report(e, context)

    def _report(self, exc: BaseException, context: str) -> None:
        self.errors.append((context, exc))
        handler = self.on_error
        if handler is not None:
            try:
                handler(exc, context)
            except Exception:  # the handler itself failed: keep both on the list
                self.errors.append(("the error handler", exc))

    def _client(self, provider: str, kwargs: Mapping[str, Any]) -> ClientLike:
        # the cache key holds a salted digest of an api_key, never the key (vars(bridge) shows it)
        key = (provider, *sorted((k, _digest(v) if k == "api_key" else repr(v)) for k, v in kwargs.items()))
        with self._client_lock:
            client = self._clients.get(key)
            if client is None:
                client = self._factory(provider, **kwargs)
                self._clients[key] = client
            return client

    def _update(self, run: Run, job: Job | None = None, **changes: Any) -> None:
        with self._lock:
            # a late non-final state never moves a final job back
            if job is not None and not (run.job is not None and run.job.is_final and not job.is_final):
                run.job = job
                run.state = job.status
            was_done = run.done
            for k, v in changes.items():
                setattr(run, k, v)
            run.version += 1
            self._dirty.add(run.id)
            if run.done and not was_done:
                self._finished.append(run)
                self._urgent.set()

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._gate = asyncio.Semaphore(self._max_workers)
                thread = threading.Thread(target=self._run_loop, args=(loop,), name="minimax-nb-loop",
                                          daemon=True)
                thread.start()
                self._loop = loop
            return self._loop

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _awork(self, run: Run, kwargs: dict[str, Any], account_key: tuple[str, str | None],
                     limit: int | None) -> None:
        """``_work`` as a task on the bridge's loop (async clients)."""
        slot = None
        if limit:
            slot = self._async_slots.get(account_key)
            if slot is None:
                slot = self._async_slots[account_key] = asyncio.Semaphore(limit)
        gate = self._gate
        assert gate is not None
        try:
            async with gate:
                if slot is not None:
                    await slot.acquire()
                try:
                    # made in a worker thread: the first local client starts the emulator's process
                    client: Any = await asyncio.to_thread(self._client, run.provider, kwargs)
                    job = await client.generate(run.request, on_update=lambda j: self._update(run, j),
                                                progress=False)
                finally:
                    if slot is not None:
                        slot.release()
            self._update(run, job, error=job.error, finished=self._clock())
        except BaseException as e:
            self._failed(run, e)
            if not isinstance(e, Exception):
                raise
        finally:
            self._wake.set()

    async def _wind_down(self, clients: list[Any]) -> None:
        current = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not current]
        if others:
            await asyncio.gather(*others, return_exceptions=True)
        for c in clients:
            try:
                closing = c.close()
                if asyncio.iscoroutine(closing):
                    await closing
            except Exception as e:
                self._report(e, "closing a client")
        asyncio.get_running_loop().stop()

    def _failed(self, run: Run, e: BaseException) -> None:
        # the client raised instead of returning a job: an open state it reported (AMBIGUOUS: the create
        # may have been taken) stays as it is, never written off; otherwise FAILED
        state = run.state if run.job is not None and run.state.is_open else JobStatus.FAILED
        self._update(run, None, state=state, refused=run.job is None, error=f"{type(e).__name__}: {e}",
                     exception=e, finished=self._clock())

    def _work(self, run: Run, kwargs: dict[str, Any], slot: threading.Semaphore | None) -> None:
        try:
            if slot is not None:
                slot.acquire()
            try:
                client = self._client(run.provider, kwargs)
                job = client.generate(run.request, on_update=lambda j: self._update(run, j),
                                      progress=False)  # the monitor is the progress
            finally:
                if slot is not None:
                    slot.release()
            self._update(run, job, error=job.error, finished=self._clock())
        except BaseException as e:
            self._failed(run, e)
        finally:
            self._wake.set()

    def tick_interval(self) -> float:
        """Seconds to the next flush: ``interval``, stretched when many runs are active so the front end
        gets at most about ``rows_per_tick / interval`` row updates a second in all."""
        with self._lock:
            active = sum(1 for r in self._runs.values() if r.watching and not r.done)
        return self._interval * max(1.0, active / self.rows_per_tick)

    def _running(self) -> bool:
        return not self._closed

    def _tick_loop(self) -> None:
        last_full = -math.inf
        while self._running():
            self._wake.wait()
            if not self._running():
                break
            now = time.monotonic()
            full = now - last_full >= self.tick_interval() - 1e-3
            self._urgent.clear()
            self.flush(rows=full)
            if full:
                last_full = now
            # full flushes ``tick_interval`` apart; between them, a quick one (finished runs, posted
            # callbacks: a few a second at most) as soon as a run finishes or a callback is posted
            time.sleep(min(self._interval, QUICK_GAP))
            remaining = last_full + self.tick_interval() - time.monotonic()
            if remaining > 0:
                self._urgent.wait(remaining)
            with self._lock:
                busy = (bool(self._dirty or self._inbox)  # a posted callback (call/post) still to run
                        or any(r.watching and not r.done for r in self._runs.values()))
            if not busy:
                self._wake.clear()
                with self._lock:  # close the race with a concurrent _update/launch
                    if self._dirty or self._inbox:  # a callback posted (call/post) after the check
                        self._wake.set()
