"""The learned poll schedule: pure, analytic (latency and reads computed from the schedule, no clock)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from minimax_nb.client import polling
from minimax_nb.client.polling import (
    GenerationTimes,
    LearnedPolicy,
    PollPolicy,
    detection_stats,
    policy_for,
)
from minimax_nb.emulator.engine import Engine, Timing
from minimax_nb.ledger import Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest

FIXED_10 = PollPolicy(first_delay=10, schedule=(), cap=10, backoff=1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _uniform(lo: float, hi: float, n: int = 2000) -> list[float]:
    return [lo + (hi - lo) * (k + 0.5) / n for k in range(n)]


def _mixed(seed: int, n: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(30, 40) if rng.random() < 0.5 else rng.uniform(80, 90) for _ in range(n)]


def _job(duration: float, *, queued: float = 0.0, model: str = "music-2.0",
         status: JobStatus = JobStatus.COMPLETED, n: int = 0) -> Job:
    sub = T0 + timedelta(minutes=n)
    start = sub + timedelta(seconds=queued) if queued else None
    return Job(provider="aimlapi", request=MusicRequest(lyrics="la la", style="pop", model=model),
               id=f"j{n}", status=status, model=model, submitted_at=sub, started_at=start,
               finished_at=(start or sub) + timedelta(seconds=duration))


def test_prior_alone_meets_the_goal_on_documented_50_60_s_jobs() -> None:
    finishes = _uniform(50, 60)
    learned = detection_stats(LearnedPolicy(), finishes)
    assert learned.p50 <= 1.0 and learned.p95 <= 3.0 and learned.mean_reads <= 10
    fixed = detection_stats(FIXED_10, finishes)
    assert learned.p50 < fixed.p50 / 3 and learned.p95 < fixed.p95 / 3
    half_second = detection_stats(PollPolicy(first_delay=0.5, schedule=(), cap=0.5, backoff=1), finishes)
    assert learned.mean_reads < half_second.mean_reads / 10


def test_learned_mixed_30_90_distribution_meets_the_goal_where_the_prior_does_not() -> None:
    times = GenerationTimes.fit(_mixed(1, 300))
    finishes = _mixed(2, 4000)  # fresh draws from the same distribution
    learned = detection_stats(LearnedPolicy(times), finishes)
    assert learned.p50 <= 1.0 and learned.p95 <= 3.0 and learned.mean_reads <= 10
    prior = detection_stats(LearnedPolicy(), finishes)
    assert prior.p95 > 3.0  # the learning is what makes it
    for baseline in (FIXED_10, PollPolicy()):
        other = detection_stats(baseline, finishes)
        assert learned.p50 < other.p50 and learned.p95 < other.p95


def test_no_reads_in_the_gap_between_two_modes() -> None:
    policy = LearnedPolicy(GenerationTimes.fit(_mixed(3, 400), prior_weight=0))
    gap = [t for t in policy.poll_times() if 45 < t < 75]
    inside = [t for t in policy.poll_times() if 30 <= t <= 40]
    assert len(gap) <= 2 < len(inside)


def test_tail_is_never_sparser_than_its_cap_and_ends_at_the_timeout() -> None:
    policy = LearnedPolicy(timeout=600, tail_cap=5)
    times = policy.poll_times()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g > 0 for g in gaps)
    assert max(g for t, g in zip(times[1:], gaps, strict=True) if t > 60) <= 5 + 1e-9
    assert times[-1] == pytest.approx(600)
    assert sum(policy.delays()) == pytest.approx(600)
    # a job that runs far past the learned range is noticed no later than fixed 10 s polling would
    late = detection_stats(policy, _uniform(70, 590))
    assert late.max <= detection_stats(FIXED_10, _uniform(70, 590)).max


def test_next_delay_walks_the_poll_times() -> None:
    policy = LearnedPolicy(timeout=120)
    elapsed = 0.0
    seen = []
    while (d := policy.next_delay(elapsed)) is not None:
        assert d > 0
        elapsed += d
        seen.append(round(elapsed, 6))
    assert seen == policy.poll_times()
    assert policy.next_delay(120) is None
    assert policy.first_delay == seen[0]
    mid = (seen[3] + seen[4]) / 2
    assert policy.next_delay(mid) == pytest.approx(seen[4] - mid)


def test_queued_delay_reads_often_while_queued_so_the_start_is_known() -> None:
    policy = LearnedPolicy(timeout=120, queue_interval=2)
    assert policy.queued_delay(0) == 2 and policy.queued_delay(119) == pytest.approx(1)
    assert policy.queued_delay(120) is None
    assert policy.scaled(0.1).queued_delay(0) == pytest.approx(0.2)
    fixed = PollPolicy()
    assert fixed.queued_delay(3) == fixed.next_delay(3)  # a user's fixed schedule is kept as it is


def test_scaled_shrinks_the_whole_schedule() -> None:
    base = LearnedPolicy(GenerationTimes.fit(_mixed(4, 200)))
    fast = base.scaled(0.1)
    assert fast.timeout == pytest.approx(90)
    assert fast.poll_times() == pytest.approx([t * 0.1 for t in base.poll_times()], abs=1e-5)
    assert fast.scaled(10).poll_times() == pytest.approx(base.poll_times(), abs=1e-4)
    with pytest.raises(ValueError):
        base.scaled(0)


def test_fixed_reads_count_is_respected() -> None:
    policy = LearnedPolicy(reads=4, head=100)
    assert len([t for t in policy.poll_times() if 50 <= t <= 60]) == 4


def test_detection_stats_by_hand() -> None:
    policy = PollPolicy(first_delay=10, schedule=(), cap=10, backoff=1, timeout=30)  # reads 10, 20, 30
    stats = detection_stats(policy, [1, 9, 10, 15, 29, 40])
    # latencies 9, 1, 0, 5, 1 and 0 (past the timeout); reads 1, 1, 1, 2, 3 and 3
    assert stats.p50 == pytest.approx(1.0)
    assert stats.max == 9
    assert stats.mean_reads == pytest.approx(11 / 6)
    with pytest.raises(ValueError):
        detection_stats(policy, [])


@pytest.mark.parametrize("kwargs", [{"reads": 0}, {"head": 0}, {"tail_cap": 0}, {"timeout": 0},
                                    {"low_q": 0.5, "high_q": 0.5}, {"resolution": 0},
                                    {"queue_interval": 0}])
def test_invalid_learned_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LearnedPolicy(**kwargs)  # type: ignore[arg-type]


def test_generation_times_from_jobs_uses_the_flows_anchor_and_skips_unfinished() -> None:
    jobs = [_job(30, n=0), _job(31, queued=20, n=1), _job(99, status=JobStatus.FAILED, n=2),
            _job(35, model="other", n=3)]
    assert GenerationTimes.from_jobs(jobs, "music-2.0").samples == (30.0, 31.0)  # from start when told
    assert GenerationTimes.from_jobs(jobs).samples == (30.0, 31.0, 35.0)
    with pytest.raises(ValueError):
        GenerationTimes((-1.0,))
    with pytest.raises(ValueError):
        GenerationTimes(prior_weight=0)


def test_policy_for_learns_from_the_ledger(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    with Ledger(":memory:") as ledger:
        prior = policy_for("aimlapi", "music-2.0", ledger)
        assert prior == LearnedPolicy(timeout=900.0)
        ledger.record_many(_job(d, n=i) for i, d in enumerate(_mixed(5, 120)))
        learned = policy_for("aimlapi", "music-2.0", ledger)
        assert learned.times.observed == 120
        assert min(t for t in learned.poll_times() if t > 25) < 35  # reads moved to the learned mode
        assert policy_for("aimlapi", "unseen-model", ledger).times.observed == 120  # the provider's
        assert policy_for("useapi", None, ledger).times.observed == 0
        sped = policy_for("aimlapi", "music-2.0", ledger, speed=10)
        assert sped.times.samples[0] == pytest.approx(learned.times.samples[0] * 10)
        assert policy_for("aimlapi", "music-2.0", ledger) is learned  # reused while nothing changed
        ledger.record_many([_job(31, queued=25, n=500 + i) for i in range(5)] +  # timed from the start
                           [_job(70, model="other", n=600 + i) for i in range(5)])
        # a few more songs do not refit (a batch would refit once per finished song) ...
        assert policy_for("aimlapi", "music-2.0", ledger) is learned
        # ... a ledger grown past REFIT_GROWTH (+5) does
        monkeypatch.setattr(polling, "REFIT_GROWTH", 1.0)
        again = policy_for("aimlapi", "music-2.0", ledger)
        assert again is not learned and again.times.observed == 125
        assert again.times.samples.count(31.0) == 5
        assert policy_for("aimlapi", "other", ledger).times.samples == (70.0,) * 5  # its own, once >= 5
    # a closed ledger cannot stop a submit: the prior
    assert policy_for("aimlapi", None, ledger).times.observed == 0


def test_emulator_timing_draws_from_the_configured_distribution() -> None:
    now = [1000.0]
    engine = Engine(speed=2, clock=lambda: now[0], prerender=False,
                    timing=Timing.parse("0.5@uniform:30:40,0.5@uniform:80:90", queue="uniform:1:3"))
    jobs = [engine.create("aimlapi", f"id{i}") for i in range(200)]
    gen = [(j.done_at - j.started_at) * 2 for j in jobs]
    queue = [(j.started_at - j.created_at) * 2 for j in jobs]
    assert all(30 <= g <= 40 or 80 <= g <= 90 for g in gen)
    assert 60 < sum(1 for g in gen if g < 60) < 140
    assert all(1 <= q <= 3 for q in queue)
    default = Engine(clock=lambda: now[0], prerender=False).create("aimlapi", "x")
    assert 50 <= default.done_at - default.created_at <= 60
    with pytest.raises(ValueError):
        Timing.parse("weird:1:2")
    with pytest.raises(ValueError):
        Timing.parse("uniform:5:1")
