"""When to ask a provider how a job is doing: a pure schedule of delays.

Real generations take about 50–60 s. The default schedule does not hammer early and polls closer
around the expected finish::

    wait 20 s, then every 10 s until 45 s, then every 5 s until 75 s,
    then back off (x1.5) up to one poll every 30 s, and give up after 15 minutes.

``PollPolicy.delays()`` yields the waits (seconds) one after another; the clients sleep them and read
the status in between. ``scaled(factor)`` shrinks every duration for the emulator's speed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

__all__ = ["PollPolicy"]


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
