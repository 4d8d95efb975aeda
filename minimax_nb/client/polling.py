"""When to ask a provider how a job is doing: a pure schedule of delays.

Real generations take about 50–60 s. The default schedule does not hammer early and polls closer
around the expected finish::

    wait 20 s, then every 10 s until 45 s, then every 5 s until 75 s,
    then back off (x1.5) up to one poll every 30 s, and give up after 15 minutes.

``PollPolicy.delays()`` yields the waits (seconds) one after another; the clients sleep them and read
the status in between. ``scaled(factor)`` shrinks every duration for the emulator's speed.

When the user gives no policy, the client asks ``policy_for(provider, model, ledger)`` for a
``LearnedPolicy``: the generation-time distribution of that provider/model is learned from the ledger's
finished jobs (``GenerationTimes``; the documented 50–60 s is the prior) and the reads are placed at its
quantiles, so they are densest where completions are likeliest. Its clock is anchored where the
uncertainty is smallest: at the moment the provider said generation started when it tells queueing from
generating, else at the submit (the fit measures each past job from the same anchor). Before the learned
range a few sparse reads catch early finishers; after it, reads continue no farther apart than
``tail_cap`` (no back-off beyond fixed polling).

``detection_stats(policy, times)`` computes, from the schedule alone, how late a job finishing at each of
``times`` is noticed and how many reads it costs (``bench/bench_polling.py`` prints it against fixed polling).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from minimax_nb.models import JobStatus

if TYPE_CHECKING:
    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job

__all__ = ["DetectionStats", "GenerationTimes", "LearnedPolicy", "PollPolicy", "PollingPolicy",
           "detection_stats", "policy_for"]


class PollingPolicy(Protocol):
    """What the client's flow needs from a schedule (``PollPolicy`` and ``LearnedPolicy`` have it)."""

    @property
    def timeout(self) -> float: ...

    @property
    def first_delay(self) -> float: ...

    def scaled(self, factor: float) -> PollingPolicy: ...

    def delays(self, timeout: float | None = None) -> Iterator[float]: ...

    def poll_times(self, timeout: float | None = None) -> list[float]: ...

    def next_delay(self, elapsed: float) -> float | None: ...

    def queued_delay(self, elapsed: float) -> float | None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class PollPolicy:
    """A polling schedule.

    Attributes:
        first_delay: seconds before the first status read.
        schedule: windows ``(until, interval)``: while less than ``until`` seconds have elapsed since the
            submit, poll every ``interval`` seconds (a poll never jumps over a window's start).
        cap: after the last window the interval grows by ``backoff`` up to ``cap``.
        timeout: total seconds before ``wait()`` gives up (``WaitTimeoutError``).
        backoff: growth factor of the interval after the last window.
    """

    first_delay: float = 20.0
    schedule: tuple[tuple[float, float], ...] = ((45.0, 10.0), (75.0, 5.0))
    cap: float = 30.0
    timeout: float = 900.0
    backoff: float = 1.5

    def __post_init__(self) -> None:
        if self.first_delay < 0 or self.cap <= 0 or self.timeout <= 0 or self.backoff < 1:
            raise ValueError("first_delay >= 0, cap > 0, timeout > 0 and backoff >= 1 are required")
        last = 0.0
        for until, interval in self.schedule:
            if interval <= 0 or until < last:
                raise ValueError("schedule windows need positive intervals in increasing order")
            last = until
        object.__setattr__(self, "schedule", tuple((float(u), float(i)) for u, i in self.schedule))

    def delays(self, timeout: float | None = None) -> Iterator[float]:
        """The waits between status reads, summing to at most ``timeout`` (default ``self.timeout``).

        The last delay is clipped so the total lands exactly on the timeout; then the iterator ends.
        """
        limit = self.timeout if timeout is None else timeout
        elapsed = 0.0
        interval = self.first_delay
        first = True
        while elapsed < limit:
            if first:
                step = self.first_delay
                first = False
            else:
                step, interval = self._next(elapsed, interval)
            step = min(step, limit - elapsed)
            elapsed += step
            yield step

    def _next(self, elapsed: float, last_interval: float) -> tuple[float, float]:
        for until, interval in self.schedule:
            if elapsed < until:
                return min(interval, until - elapsed), interval
        grown = min(self.cap, max(last_interval, self._last_interval()) * self.backoff)
        return grown, grown

    def _last_interval(self) -> float:
        return self.schedule[-1][1] if self.schedule else self.first_delay or self.cap

    def poll_times(self, timeout: float | None = None) -> list[float]:
        """Seconds since the submit at which the status is read (for docs, tests and progress bars)."""
        out: list[float] = []
        total = 0.0
        for d in self.delays(timeout):
            total += d
            out.append(round(total, 6))
        return out

    def next_delay(self, elapsed: float) -> float | None:
        """Seconds from now to the next status read of a job whose clock (seconds since its anchor: the
        submit, or the moment the provider said generation started) reads ``elapsed``; ``None`` once
        the timeout is reached. The schedule's reads are the ``poll_times()``."""
        if elapsed >= self.timeout:
            return None
        for t in self.poll_times():
            if t > elapsed + 1e-9:
                return t - elapsed
        return None

    def queued_delay(self, elapsed: float) -> float | None:
        """The wait while the provider says the job is still queued (``elapsed`` since the submit):
        for a fixed schedule, the same as ``next_delay``."""
        return self.next_delay(elapsed)

    def scaled(self, factor: float) -> PollPolicy:
        """A copy with every duration multiplied by ``factor`` (``1/speed`` for an emulator)."""
        if factor <= 0:
            raise ValueError("factor must be positive")
        return dataclasses.replace(
            self,
            first_delay=self.first_delay * factor,
            schedule=tuple((u * factor, i * factor) for u, i in self.schedule),
            cap=self.cap * factor,
            timeout=self.timeout * factor,
        )


# --------------------------------------------------------------------------------------------------
# the learned schedule
# --------------------------------------------------------------------------------------------------

#: the documented generation time of the real services (seconds), the prior of every fit
PRIOR_RANGE: tuple[float, float] = (50.0, 60.0)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values (``0 <= q <= 1``)."""
    if not sorted_values:
        raise ValueError("no values")
    pos = min(max(q, 0.0), 1.0) * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds()


def job_duration(job: Job) -> float | None:
    """Seconds from a finished job's anchor to its completion: from ``started_at`` when the provider
    said generation started later than the submit, else from ``submitted_at`` (the flow's rule)."""
    if job.status is not JobStatus.COMPLETED or job.finished_at is None or job.submitted_at is None:
        return None
    start = job.started_at if job.started_at is not None and job.started_at > job.submitted_at else None
    d = _seconds(start or job.submitted_at, job.finished_at)
    return d if d is not None and d > 0 else None


@dataclasses.dataclass(frozen=True, slots=True)
class GenerationTimes:
    """A generation-time distribution: observed durations mixed with a uniform prior.

    The prior counts as ``prior_weight`` observations spread evenly over ``prior`` (seconds), so a
    handful of past jobs shifts it and a few dozen dominate it.
    """

    samples: tuple[float, ...] = ()
    prior: tuple[float, float] = PRIOR_RANGE
    prior_weight: int = 10

    def __post_init__(self) -> None:
        lo, hi = self.prior
        if not 0 <= lo <= hi or self.prior_weight < 0:
            raise ValueError("prior needs 0 <= low <= high and prior_weight >= 0")
        if not self.samples and self.prior_weight == 0:
            raise ValueError("a distribution needs samples or a prior")
        if any(not math.isfinite(s) or s < 0 for s in self.samples):
            raise ValueError("durations must be finite and >= 0")
        object.__setattr__(self, "samples", tuple(sorted(float(s) for s in self.samples)))

    @classmethod
    def fit(cls, durations: Iterable[float], *, prior: tuple[float, float] = PRIOR_RANGE,
            prior_weight: int = 10, limit: int = 500) -> GenerationTimes:
        """The distribution of the last ``limit`` of ``durations`` (oldest first) with the prior."""
        kept = [d for d in durations if math.isfinite(d) and d > 0]
        return cls(tuple(kept[-limit:]), prior, prior_weight)

    @classmethod
    def from_jobs(cls, jobs: Iterable[Job], model: str | None = None, **kwargs: object) -> GenerationTimes:
        """Fit from finished jobs (of ``model`` when given; a job's model is ``job.model`` or the
        requested one), each measured from the flow's anchor (``job_duration``)."""
        durations: list[float] = []
        for job in jobs:
            if model is not None and (job.model or job.request.model) != model:
                continue
            d = job_duration(job)
            if d is not None:
                durations.append(d)
        return cls.fit(durations, **kwargs)  # type: ignore[arg-type]

    @property
    def observed(self) -> int:
        return len(self.samples)

    def values(self) -> list[float]:
        """The samples with the prior's pseudo-observations, sorted."""
        lo, hi = self.prior
        n = self.prior_weight
        pseudo = [lo + (hi - lo) * (k + 0.5) / n for k in range(n)]
        return sorted([*self.samples, *pseudo])

    def quantile(self, q: float) -> float:
        return _quantile(self.values(), q)

    def scaled(self, factor: float) -> GenerationTimes:
        if factor <= 0:
            raise ValueError("factor must be positive")
        lo, hi = self.prior
        return GenerationTimes(tuple(s * factor for s in self.samples), (lo * factor, hi * factor),
                               self.prior_weight)


@dataclasses.dataclass(frozen=True, slots=True)
class LearnedPolicy:
    """Reads at the quantiles of a learned generation-time distribution (same protocol as ``PollPolicy``).

    Attributes:
        times: the distribution (seconds from the job's anchor to its completion).
        reads: reads spent across the learned range ``[q(low_q), q(high_q)]``, placed at the quantiles of
            the square root of the learned density (the spacing that minimizes the mean detection
            latency for a given number of reads: densest where completions are likeliest, none in gaps
            between modes); consecutive reads never closer than ``resolution``. ``None``: the fewest
            that meet ``goal_p50``/``goal_p95`` (seconds) on the learned distribution while the mean
            reads per job stay within ``max_mean_reads`` (else as many as that budget allows). The
            default 8.5 leaves room for the reads while a job is queued (``queued_delay``) within a
            total of 10 per job.
        head: before the learned range, one read every ``head`` seconds (catches jobs that finish early).
        tail_cap: after the range, the gap grows x1.5 from the last one up to ``tail_cap``, then stays.
        timeout: seconds (from the anchor) before ``wait()`` gives up.
        queue_interval: seconds between reads while the provider says the job is queued (see
            ``queued_delay``): the generation's start, where the schedule is re-anchored, is then
            known to within it.
        scale: the factor ``scaled()`` applied: the schedule is built in real seconds (``timeout /
            scale``), then multiplied by it.
    """

    times: GenerationTimes = dataclasses.field(default_factory=GenerationTimes)
    reads: int | None = None
    goal_p50: float = 0.8
    goal_p95: float = 2.5
    max_mean_reads: float = 8.5
    low_q: float = 0.0
    high_q: float = 1.0
    resolution: float = 0.5
    head: float = 20.0
    tail_cap: float = 5.0
    timeout: float = 900.0
    queue_interval: float = 2.0
    scale: float = 1.0
    _times: tuple[float, ...] = dataclasses.field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if ((self.reads is not None and self.reads < 1) or self.max_mean_reads < 1
                or not 0 <= self.low_q < self.high_q <= 1 or self.resolution <= 0
                or self.head <= 0 or self.tail_cap <= 0 or self.timeout <= 0 or self.scale <= 0
                or self.queue_interval <= 0):
            raise ValueError("reads >= 1, 0 <= low_q < high_q <= 1, and positive resolution, head, "
                             "tail_cap and timeout are required")
        # The schedule (in real seconds) depends on the distribution, the goals and timeout/scale only:
        # ``scaled()`` copies and every job of a batch share one search (it costs tens of ms of CPU)
        key = (self.times, self.reads, self.goal_p50, self.goal_p95, self.max_mean_reads, self.low_q,
               self.high_q, self.resolution, self.head, self.tail_cap, self.timeout / self.scale)
        schedule = _SCHEDULES.get(key)
        if schedule is None:
            schedule = tuple(self._schedule())
            if len(_SCHEDULES) > 256:
                _SCHEDULES.clear()
            _SCHEDULES[key] = schedule
        object.__setattr__(self, "_times", tuple(round(t * self.scale, 6) for t in schedule))

    def _schedule(self) -> list[float]:
        values = self.times.values()
        if self.reads is not None:
            return self._build(values, self.reads)
        # the fewest reads across the range that meet the goals on the distribution itself, within
        # the budget of reads per job
        # (else the one with the smallest p95 within the budget)
        best: tuple[tuple[float, float], list[float]] | None = None
        for n in range(2, 61):
            times = self._build(values, n)
            stats = _stats(times, values)
            if stats.mean_reads > self.max_mean_reads:
                if best is None:
                    best = ((math.inf, math.inf), times)
                continue
            if stats.p50 <= self.goal_p50 and stats.p95 <= self.goal_p95:
                return times
            if best is None or (stats.p95, stats.p50) < best[0]:
                best = ((stats.p95, stats.p50), times)
        assert best is not None
        return best[1]

    def _build(self, values: Sequence[float], reads: int) -> list[float]:
        timeout = self.timeout / self.scale
        lo, hi = _quantile(values, self.low_q), _quantile(values, self.high_q)
        out: list[float] = []
        t = self.head
        while t < lo - self.head / 2 and t < timeout:
            out.append(t)
            t += self.head
        for t in _sqrt_density_points(values, lo, hi, reads, self.resolution):
            t = max(t, (out[-1] if out else 0.0) + self.resolution)
            if t >= timeout:
                break
            out.append(t)
        gap = out[-1] - out[-2] if len(out) > 1 else self.resolution
        t = out[-1] if out else 0.0
        while t < timeout:
            gap = min(self.tail_cap, max(gap, self.resolution) * 1.5)
            t = min(t + gap, timeout)
            out.append(t)
        return [round(x, 6) for x in out]

    @property
    def first_delay(self) -> float:
        return self._times[0]

    def poll_times(self, timeout: float | None = None) -> list[float]:
        """Seconds since the anchor at which the status is read (the last one at the timeout)."""
        limit = self.timeout if timeout is None else timeout
        out = [t for t in self._times if t < limit]
        if limit > 0 and (not out or out[-1] < limit) and (timeout is None or limit <= self.timeout):
            out.append(round(limit, 6))
        return out

    def delays(self, timeout: float | None = None) -> Iterator[float]:
        last = 0.0
        for t in self.poll_times(timeout):
            yield t - last
            last = t

    def next_delay(self, elapsed: float) -> float | None:
        if elapsed >= self.timeout:
            return None
        i = bisect.bisect_right(self._times, elapsed + 1e-9)
        return None if i >= len(self._times) else self._times[i] - elapsed

    def queued_delay(self, elapsed: float) -> float | None:
        """The wait while the provider says the job is still queued (``elapsed`` since the submit): a
        read every ``queue_interval`` (scaled), so the start that re-anchors the schedule is known
        to within that; ``None`` at the timeout."""
        if elapsed >= self.timeout:
            return None
        return min(self.queue_interval * self.scale, self.timeout - elapsed)

    def scaled(self, factor: float) -> LearnedPolicy:
        """A copy whose whole schedule (and timeout) is multiplied by ``factor`` (``1/speed`` for an
        emulator); the distribution and the other fields stay in real seconds."""
        if factor <= 0:
            raise ValueError("factor must be positive")
        return dataclasses.replace(self, scale=self.scale * factor, timeout=self.timeout * factor)


def _sqrt_density_points(values: Sequence[float], lo: float, hi: float, n: int,
                         resolution: float) -> list[float]:
    """``n`` points in ``(lo, hi]``, the last at ``hi``, at the quantiles of sqrt(density) of ``values``
    (a histogram of ``resolution / 2`` bins smoothed over ±1 s)."""
    if hi <= lo:
        return [hi]
    h = resolution / 2
    bins = max(1, math.ceil((hi - lo) / h))
    counts = [0.0] * bins
    for v in values:
        if lo <= v <= hi:
            counts[min(bins - 1, int((v - lo) / h))] += 1.0
    half = max(1, round(1.0 / h))
    prefix = [0.0]
    for c in counts:
        prefix.append(prefix[-1] + c)
    root = [math.sqrt(prefix[min(bins, i + half + 1)] - prefix[max(0, i - half)]) for i in range(bins)]
    total = sum(root)
    if total <= 0:
        return [lo + (hi - lo) * k / n for k in range(1, n + 1)]
    out: list[float] = []
    acc = 0.0
    k = 1
    for i, r in enumerate(root):
        while k < n and acc + r >= total * k / n:
            frac = (total * k / n - acc) / r if r > 0 else 1.0
            out.append(lo + (i + frac) * h)
            k += 1
        acc += r
    out.append(hi)
    return out


def _stats(reads: Sequence[float], finish_times: Iterable[float]) -> DetectionStats:
    lat: list[float] = []
    counts: list[float] = []
    for t in finish_times:
        i = bisect.bisect_left(reads, t)
        if i >= len(reads):
            lat.append(0.0)
            counts.append(float(len(reads)))
            continue
        lat.append(reads[i] - t)
        counts.append(float(i + 1))
    if not lat:
        raise ValueError("no finish times")
    lat.sort()
    counts_sorted = sorted(counts)
    return DetectionStats(p50=_quantile(lat, 0.5), p95=_quantile(lat, 0.95), max=lat[-1],
                          mean_reads=sum(counts) / len(counts), p95_reads=_quantile(counts_sorted, 0.95))


_POLICY_CACHE: dict[tuple[object, ...], tuple[float, int, LearnedPolicy]] = {}
_POLICY_LOCK = threading.Lock()
#: a cached schedule is refitted once the ledger holds this many times the jobs it was fitted on
REFIT_GROWTH = 1.25
#: unscaled schedules already searched (``LearnedPolicy.__post_init__``), by their inputs
_SCHEDULES: dict[tuple[object, ...], tuple[float, ...]] = {}
#: seconds a learned policy is reused (while the ledger holds the same number of jobs)
POLICY_TTL = 60.0


def _durations_from_rows(rows: Sequence[Sequence[Any]], model: str | None) -> list[float]:
    from minimax_nb.ledger import ROW_COLUMNS

    i_state, i_model, i_sub, i_start, i_fin = (ROW_COLUMNS.index(c) for c in (
        "state", "model", "submitted_us", "started_us", "finished_us"))
    out: list[float] = []
    for r in rows:
        if r[i_state] != JobStatus.COMPLETED.value or r[i_fin] is None or r[i_sub] is None:
            continue
        if model is not None and r[i_model] != model:
            continue
        start = r[i_start] if r[i_start] is not None and r[i_start] > r[i_sub] else r[i_sub]
        d = (r[i_fin] - start) / 1e6
        if d > 0:
            out.append(d)
    return out


def _learned_durations(ledger: Any, provider: str, model: str | None) -> tuple[list[float], list[float]]:
    """(this model's durations, the provider's), oldest first; empty when the ledger cannot tell."""
    try:
        rows = ledger.rows(provider)
    except AttributeError:  # a ledger-like without flat rows: whole jobs
        jobs = ledger.jobs(provider)
        every = [d for d in map(job_duration, jobs) if d is not None]
        mine = [d for j in jobs if (j.model or j.request.model) == model
                and (d := job_duration(j)) is not None] if model else every
        return mine, every
    every = _durations_from_rows(rows, None)
    return (_durations_from_rows(rows, model) if model else every), every


def _fit(mine: list[float], every: list[float], model: str | None, speed: float, timeout: float,
         limit: int) -> LearnedPolicy:
    chosen = mine if model is not None and len(mine) >= 5 else every
    chosen = [d * speed for d in chosen[-limit:]]
    return LearnedPolicy(times=GenerationTimes.fit(chosen, limit=limit), timeout=timeout)


def policy_for(provider: str, model: str | None, ledger: Ledger | None, *, speed: float = 1.0,
               timeout: float = 900.0, limit: int = 500) -> LearnedPolicy:
    """The schedule for a new job of ``provider``/``model`` when the user gave no ``PollPolicy``.

    Learned from ``ledger``'s completed jobs of that provider (the model's own when it has at least
    five, else the provider's; the last ``limit``), with the documented 50–60 s as the prior. The result
    is in real seconds, like ``PollPolicy()``: scale it by ``1/speed`` for an emulator as any policy.
    Past jobs of an emulator ran at ``speed``, so their durations are multiplied by ``speed`` first. A
    ledger that cannot be read gives the prior alone. A result is reused for ``POLICY_TTL`` seconds
    unless the ledger grew by more than a quarter since (building one reads the ledger's rows and
    searches a schedule: a batch whose every finished song changed the ledger would otherwise refit
    once per song).
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    if ledger is None:
        return _fit([], [], model, speed, timeout, limit)
    try:
        where: object = ledger.path if ledger.path is not None else id(ledger)
        key = (where, provider, model, speed, timeout, limit)
        with _POLICY_LOCK:  # one build at a time: a batch's threads wait for it, then share it
            size = len(ledger)
            hit = _POLICY_CACHE.get(key)
            if hit is not None and hit[0] > time.monotonic() and size <= hit[1] * REFIT_GROWTH + 5:
                return hit[2]
            mine, every = _learned_durations(ledger, provider, model)
            policy = _fit(mine, every, model, speed, timeout, limit)
            if len(_POLICY_CACHE) > 256:
                _POLICY_CACHE.clear()
            _POLICY_CACHE[key] = (time.monotonic() + POLICY_TTL, size, policy)
    except Exception:  # a closed or broken ledger must not stop a submit: poll on the prior
        policy = _fit([], [], model, speed, timeout, limit)
    return policy


# --------------------------------------------------------------------------------------------------
# what a schedule costs and gains (analytic)
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class DetectionStats:
    """How late completions are noticed (seconds) and how many reads each job costs."""

    p50: float
    p95: float
    max: float
    mean_reads: float
    p95_reads: float

    def __str__(self) -> str:
        return (f"detection p50 {self.p50:.2f} s, p95 {self.p95:.2f} s, max {self.max:.2f} s; "
                f"{self.mean_reads:.1f} reads/job (p95 {self.p95_reads:.0f})")


def detection_stats(policy: PollingPolicy, finish_times: Iterable[float]) -> DetectionStats:
    """Detection latency and reads per job, computed from the schedule for jobs finishing at
    ``finish_times`` (seconds from the anchor). A job is noticed at the first read at or after its
    finish; jobs finishing after the timeout count the whole schedule and the latency to the timeout."""
    return _stats(policy.poll_times(), finish_times)
