"""The poll schedule: pure delays, no clock."""

from __future__ import annotations

import itertools

import pytest

from minimax_nb.client.polling import PollPolicy


def test_default_schedule_waits_then_tightens_around_the_expected_finish() -> None:
    times = PollPolicy().poll_times()
    assert times[0] == 20.0  # nothing before 20 s
    early = [t for t in times if t < 45]
    assert len(early) <= 4  # does not hammer early
    window = [t for t in times if 45 <= t <= 75]
    gaps = [b - a for a, b in itertools.pairwise(window)]
    assert gaps and max(gaps) <= 5.0  # close polls around 50-60 s
    assert any(50 <= t <= 60 for t in times)


def test_default_schedule_backs_off_to_the_cap_and_ends_at_the_timeout() -> None:
    policy = PollPolicy()
    delays = list(policy.delays())
    assert sum(delays) == pytest.approx(policy.timeout)
    late = [d for t, d in zip(policy.poll_times(), delays, strict=True) if t > 75][:-1]
    assert late == sorted(late)  # non-decreasing back-off
    assert max(delays) == policy.cap
    assert all(d > 0 for d in delays)


def test_timeout_argument_clips_the_last_delay() -> None:
    delays = list(PollPolicy().delays(timeout=33))
    assert delays == [20.0, 10.0, 3.0]


def test_scaled_multiplies_every_duration() -> None:
    base = PollPolicy()
    fast = base.scaled(0.1)
    assert fast.first_delay == pytest.approx(2.0)
    assert fast.cap == pytest.approx(3.0)
    assert fast.timeout == pytest.approx(90.0)
    assert fast.poll_times()[:10] == pytest.approx([t * 0.1 for t in base.poll_times()[:10]])


def test_custom_schedule_and_backoff() -> None:
    p = PollPolicy(first_delay=1, schedule=((3, 1),), cap=4, timeout=20, backoff=2)
    assert list(p.delays()) == [1, 1, 1, 2, 4, 4, 4, 3]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_delay": -1},
        {"cap": 0},
        {"timeout": 0},
        {"backoff": 0.5},
        {"schedule": ((10, 0),)},
        {"schedule": ((10, 1), (5, 1))},
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PollPolicy(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PollPolicy().scaled(0)
