"""The emulator's job state. Nothing runs in the background: a job stores when it was created, when it
starts running and when it is done, and every request derives the job's phase from the clock. So the
emulator works the same over a socket and in-process, and a test can drive it with a fake clock.

Timing is deterministic per job: ``random.Random(f"{seed}:{provider}:{n}")`` draws a total of 50–60 s
(like the real services), divided by ``speed``; the first 5–15 % of it the job is queued. A ``Timing``
(``Engine(timing=...)``) draws generation times and queue delays from other distributions instead
(e.g. ``Timing.parse("0.5@uniform:30:40,0.5@uniform:80:90", queue="uniform:0:5")``), so polling can be
measured against them.

Audio is rendered once per job and cached. With ``prerender=True`` (the default) one daemon thread
starts rendering each new job right away, so the answer at completion does not wait for the
synthesizer; a request that needs the audio first renders it itself (under the job's lock, never twice).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import queue
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from minimax_nb.emulator.files import RenderedAudio, render_audio, render_cover

__all__ = ["AccountBusy", "EmuJob", "Engine", "NoBalance", "Phase", "Timing", "TooManyActive"]


class NoBalance(Exception):
    """The provider's balance (songs it will still sell) is spent."""


class TooManyActive(Exception):
    """The provider already runs as many generations as its concurrency limit allows."""


class AccountBusy(Exception):
    """``Engine.create(..., exclusive=True)`` found the account still running a job."""

    def __init__(self, job: EmuJob) -> None:
        super().__init__(f"account {job.account!r} is busy with {job.id}")
        self.job = job


class Phase(enum.StrEnum):
    """Where an emulated job is at a given time."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    #: moderated at submit, on a provider that reports it asynchronously (AIML, apiin)
    MODERATED = "moderated"
    #: completed, then moderated: the audio URL no longer works
    POST_MODERATED = "post_moderated"


@dataclasses.dataclass(eq=False)
class EmuJob:
    """One emulated generation. ``id`` is what the provider shows; ``file_id`` names its files."""

    provider: str
    id: str
    file_id: str
    seq: int
    seed: int
    model: str
    lyrics: str
    prompt: str
    style: str
    title: str
    account: str | None
    created_at: float
    started_at: float
    done_at: float
    sample_rate: int = 44100
    bitrate: int = 256000
    fmt: str = "mp3"
    instrumental: bool = False
    max_duration_s: float = 60.0
    moderated: bool = False
    post_moderated: bool = False
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    _audio: RenderedAudio | None = dataclasses.field(default=None, repr=False)
    _cover: bytes | None = dataclasses.field(default=None, repr=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)
    _cover_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def phase(self, now: float) -> Phase:
        """The job's phase at time ``now``."""
        if now < self.started_at:
            return Phase.QUEUED
        if self.moderated:
            return Phase.MODERATED
        if now < self.done_at:
            return Phase.RUNNING
        return Phase.POST_MODERATED if self.post_moderated else Phase.COMPLETED

    def is_active(self, now: float) -> bool:
        """True while queued or running (it still occupies its account)."""
        return self.phase(now) in (Phase.QUEUED, Phase.RUNNING)

    def progress(self, now: float) -> float:
        """0.0 at creation, 1.0 when done."""
        span = self.done_at - self.created_at
        return 1.0 if span <= 0 else min(1.0, max(0.0, (now - self.created_at) / span))

    def audio(self) -> RenderedAudio:
        """The encoded audio, rendered on first use and cached (thread-safe; call it off the event loop)."""
        with self._lock:
            if self._audio is None:
                self._audio = render_audio(
                    lyrics=self.lyrics, style=self.style or self.prompt, seed=self.seed,
                    sample_rate=self.sample_rate, bitrate=self.bitrate, fmt=self.fmt,
                    max_duration_s=self.max_duration_s, instrumental=self.instrumental,
                )
            return self._audio

    @property
    def rendered(self) -> bool:
        return self._audio is not None

    def cover(self) -> bytes:
        """The cover PNG, rendered on first use and cached."""
        with self._cover_lock:
            if self._cover is None:
                self._cover = render_cover(self.title or "Untitled", self.style or self.prompt, self.seed)
            return self._cover


_Dist = tuple[tuple[float, str, float, float], ...]


def _parse_dist(spec: str) -> _Dist:
    """``"uniform:A:B"``, ``"normal:MEAN:SD"`` or ``"fixed:X"``, or a weighted mix of them:
    ``"0.7@uniform:50:60,0.3@normal:80:5"``. Seconds at speed 1."""
    parts: list[tuple[float, str, float, float]] = []
    usage = "use uniform:A:B, normal:MEAN:SD or fixed:X"
    for raw in spec.split(","):
        weight, _, body = raw.strip().rpartition("@")
        kind, *nums = body.split(":")
        try:
            w = float(weight) if weight else 1.0
            a, b = (float(nums[0]),) * 2 if kind == "fixed" and len(nums) == 1 else map(float, nums)
        except ValueError:
            raise ValueError(f"bad distribution {raw!r}: {usage}") from None
        if kind not in ("uniform", "normal", "fixed") or min(w, a, b) < 0 or w == 0 or (
                kind == "uniform" and b < a):
            raise ValueError(f"bad distribution {raw!r}: {usage}")
        parts.append((w, kind, a, b))
    return tuple(parts)


def _draw(dist: _Dist, rng: random.Random) -> float:
    pick = rng.uniform(0.0, sum(p[0] for p in dist))
    chosen = dist[-1]
    for part in dist:
        pick -= part[0]
        if pick <= 0:
            chosen = part
            break
    _, kind, a, b = chosen
    if kind == "uniform":
        return rng.uniform(a, b)
    if kind == "normal":
        return max(0.0, rng.gauss(a, b))
    return a


@dataclasses.dataclass(frozen=True)
class Timing:
    """Where emulated jobs' durations come from (seconds at speed 1, divided by the engine's speed).

    ``generation``: time from the start of generation to completion; ``queue``: time queued before.
    Both are ``_parse_dist`` specs (``"uniform:50:60"``, ``"normal:55:3"``, ``"0.5@uniform:30:40,0.5@…"``).
    """

    generation: str = "uniform:50:60"
    queue: str = "fixed:0"

    def __post_init__(self) -> None:
        _parse_dist(self.generation)
        _parse_dist(self.queue)

    @classmethod
    def parse(cls, generation: str, queue: str = "fixed:0") -> Timing:
        return cls(generation=generation, queue=queue)

    def draw(self, rng: random.Random) -> tuple[float, float]:
        """``(queue_s, generation_s)`` at speed 1."""
        return _draw(_parse_dist(self.queue), rng), _draw(_parse_dist(self.generation), rng)


def _contains_any(texts: Iterable[str], words: Iterable[str]) -> bool:
    low = " ".join(t.lower() for t in texts if t)
    return any(w and w.lower() in low for w in words)


class Engine:
    """All jobs of one emulator, with the clock, the timing and the moderation rules."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        seed: int = 0,
        clock: Callable[[], float] | None = None,
        moderate_words: Iterable[str] = ("forbiddenword",),
        post_moderate_words: Iterable[str] = ("postmoderated",),
        prerender: bool = True,
        balance: Mapping[str, int] | None = None,
        max_active: Mapping[str, int] | None = None,
        repeatable_ids: bool = False,
        timing: Timing | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self.seed = seed
        self.clock: Callable[[], float] = clock or time.time
        self.moderate_words = tuple(moderate_words)
        self.post_moderate_words = tuple(post_moderate_words)
        self._lock = threading.RLock()
        self._jobs: dict[tuple[str, str], EmuJob] = {}
        self._files: dict[str, EmuJob] = {}
        self._seq = 0
        # Real services never hand out an id twice. Two emulators started with the same seed (every
        # `provider="local"` client starts one) must not either, or a download cache keyed by job id
        # would serve one song's file for another: ids get a per-instance salt unless asked otherwise.
        salt = "" if repeatable_ids else secrets.token_hex(8)
        self._rng = random.Random(f"ids:{seed}:{salt}")
        self.accepted: Counter[str] = Counter()
        self.restarts = 0
        self.prerender = prerender
        #: songs each listed provider will still sell (absent: unlimited)
        self.balance: dict[str, int] = dict(balance or {})
        #: generations each listed provider runs at once at most (absent: unlimited)
        self.max_active: dict[str, int] = dict(max_active or {})
        #: where durations come from (``None``: 50–60 s in all, the first 5–15 % queued)
        self.timing = timing
        self._render_queue: queue.SimpleQueue[EmuJob] = queue.SimpleQueue()
        self._render_thread: threading.Thread | None = None

    def now(self) -> float:
        return self.clock()

    # -- ids ----------------------------------------------------------------------------------------
    def rand_digits(self, n: int) -> str:
        with self._lock:
            return "".join(self._rng.choice("0123456789") for _ in range(n))

    def rand_hex(self, n: int) -> str:
        with self._lock:
            return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))

    def rand_alnum(self, n: int) -> str:
        with self._lock:
            return "".join(self._rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    # -- moderation ---------------------------------------------------------------------------------
    def moderated_at_submit(self, *texts: str | None) -> bool:
        return _contains_any([t for t in texts if t], self.moderate_words)

    def moderated_after(self, *texts: str | None) -> bool:
        return _contains_any([t for t in texts if t], self.post_moderate_words)

    # -- jobs ---------------------------------------------------------------------------------------
    def create(self, provider: str, job_id: str | Callable[[], str], *, exclusive: bool = False,
               **fields: Any) -> EmuJob:
        """Create and store a job; timing is drawn from the seed and the job's sequence number.

        ``fields`` are ``EmuJob`` fields (``lyrics``, ``prompt``, ``style``, ``model`` …). Moderation is
        decided here from the word lists unless ``moderated``/``post_moderated`` are given. With
        ``exclusive=True`` raise ``AccountBusy`` when ``fields["account"]`` still runs a job (checked
        and created under one lock). Raise ``TooManyActive`` beyond ``max_active[provider]`` and
        ``NoBalance`` once ``balance[provider]`` is spent (each created job costs one).
        """
        with self._lock:
            if exclusive:
                active = self.busy(provider, fields.get("account"))
                if active is not None:
                    raise AccountBusy(active)
            if provider in self.max_active:
                now = self.clock()
                running = sum(1 for j in self._jobs.values() if j.provider == provider and j.is_active(now))
                if running >= self.max_active[provider]:
                    raise TooManyActive(f"{provider} runs {running} generations already")
            if provider in self.balance:
                if self.balance[provider] <= 0:
                    raise NoBalance(f"{provider} balance is spent")
                self.balance[provider] -= 1
            self._seq += 1
            seq = self._seq
            jid = job_id() if callable(job_id) else job_id
            rng = random.Random(f"{self.seed}:{provider}:{seq}")
            if self.timing is None:
                total = rng.uniform(50.0, 60.0) / self.speed
                queued = total * rng.uniform(0.05, 0.15)
            else:
                q, g = self.timing.draw(rng)
                queued, total = q / self.speed, (q + g) / self.speed
            now = self.clock()
            texts = (fields.get("lyrics"), fields.get("prompt"), fields.get("title"), fields.get("style"))
            fields.setdefault("moderated", self.moderated_at_submit(*texts))
            fields.setdefault("post_moderated", self.moderated_after(*texts))
            fields.setdefault("style", fields.get("prompt") or "pop")
            fields.setdefault("title", "")
            fields.setdefault("account", None)
            fields.setdefault("lyrics", "")
            fields.setdefault("prompt", "")
            fields.setdefault("model", "")
            job = EmuJob(provider=provider, id=jid, file_id=secrets.token_hex(8) + f"{seq:04x}", seq=seq,
                         seed=rng.randrange(2**31), created_at=now, started_at=now + queued,
                         done_at=now + total, **fields)
            self._jobs[(provider, jid)] = job
            self._files[job.file_id] = job
            self.accepted[provider] += 1
            if self.prerender and not job.moderated:
                self._schedule_render(job)
            return job

    def _schedule_render(self, job: EmuJob) -> None:
        self._render_queue.put(job)
        if self._render_thread is None or not self._render_thread.is_alive():
            self._render_thread = threading.Thread(target=self._render_worker, name="mnb-emulator-render",
                                                   daemon=True)
            self._render_thread.start()

    def _render_worker(self) -> None:
        while True:
            try:
                job = self._render_queue.get(timeout=5.0)
            except queue.Empty:
                with self._lock:
                    if self._render_queue.empty():
                        self._render_thread = None
                        return
                continue
            with self._lock:
                alive = self._files.get(job.file_id) is job
            if alive:
                # a failure here is not lost: the request that needs the audio renders again and fails loudly
                with contextlib.suppress(Exception):
                    job.audio()

    def get(self, provider: str, job_id: str) -> EmuJob | None:
        with self._lock:
            return self._jobs.get((provider, job_id))

    def by_file(self, file_id: str) -> EmuJob | None:
        with self._lock:
            return self._files.get(file_id)

    def jobs(self, provider: str | None = None) -> list[EmuJob]:
        """Jobs in creation order (optionally of one provider)."""
        with self._lock:
            return [j for j in self._jobs.values() if provider is None or j.provider == provider]

    def busy(self, provider: str, account: str | None) -> EmuJob | None:
        """The active job of ``account`` at ``provider``, if any."""
        t = self.clock()
        with self._lock:
            for j in self._jobs.values():
                if j.provider == provider and j.account == account and j.is_active(t):
                    return j
        return None

    def restart(self) -> None:
        """Forget every job (lost state), as if the service restarted. Counters are kept."""
        with self._lock:
            self._jobs.clear()
            self._files.clear()
            self.restarts += 1
