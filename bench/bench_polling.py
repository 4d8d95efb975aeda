"""Detection latency vs reads per job: the learned schedule against fixed polling.

    .venv/bin/python bench/bench_polling.py [--quick]

1. Analytic, from the schedules alone: for jobs finishing at many times drawn from a distribution, the
   delay until the next read (p50/p95) and the reads each job costs. Distributions: the documented
   50–60 s, and a mixed 30–90 s one (half 30–40 s, half 80–90 s) that the learned policy is fitted on
   from 300 earlier jobs. Baselines: fixed polling every 10 s and every 0.5 s, and the old default
   ``PollPolicy()``.
2. Confirmed on the emulator (a child process, ``minimax_nb.client.local``): jobs with those timings are
   polled through the AIML route following each schedule (reading every ``queued_delay`` while it is
   queued, re-anchored at the midpoint between the last read that said queued and the first that said
   generating, as the client's flow should), and the
   measured delay between the emulator's completion and the sending of the read that saw it is
   reported in real seconds (emulator seconds x speed; so event-loop jitter is multiplied too).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import statistics
import time
from typing import Any

from _common import Row, print_rows

from minimax_nb.client.polling import (
    GenerationTimes,
    LearnedPolicy,
    PollingPolicy,
    PollPolicy,
    detection_stats,
)

FIXED_10 = PollPolicy(first_delay=10, schedule=(), cap=10, backoff=1)
FIXED_05 = PollPolicy(first_delay=0.5, schedule=(), cap=0.5, backoff=1)
MIXED = "0.5@uniform:30:40,0.5@uniform:80:90"


def draw_mixed(rng: random.Random, n: int) -> list[float]:
    return [rng.uniform(30, 40) if rng.random() < 0.5 else rng.uniform(80, 90) for _ in range(n)]


def analytic() -> list[Row]:
    rng = random.Random(12)
    cases = {
        "50–60 s jobs": ([rng.uniform(50, 60) for _ in range(20000)], LearnedPolicy()),
        "mixed 30–90 s jobs": (draw_mixed(rng, 20000),
                               LearnedPolicy(GenerationTimes.fit(draw_mixed(rng, 300)))),
    }
    rows = []
    for name, (finishes, learned) in cases.items():
        ours = detection_stats(learned, finishes)
        f10 = detection_stats(FIXED_10, finishes)
        f05 = detection_stats(FIXED_05, finishes)
        old = detection_stats(PollPolicy(), finishes)
        rows += [
            Row(f"detection p50, {name} (analytic)", ours.p50, "s", f10.p50, "fixed 10 s",
                "p50 ≤ 1 s", ours.p50 <= 1),
            Row(f"detection p95, {name} (analytic)", ours.p95, "s", f10.p95, "fixed 10 s",
                "p95 ≤ 3 s", ours.p95 <= 3),
            Row(f"reads per job, {name} (analytic)", ours.mean_reads, "reads", f05.mean_reads,
                "fixed 0.5 s", "≤ 10", ours.mean_reads <= 10),
            Row(f"old default PollPolicy(), {name}: detection p50 (analytic)", old.p50, "s", ours.p50,
                "learned", ""),
        ]
    return rows


async def on_emulator(speed: float, jobs: int, generation: str, policy: PollingPolicy,
                      queue: str = "uniform:2:6") -> tuple[list[float], list[int]]:
    """(detection delays in real seconds, reads per job) of ``jobs`` polled concurrently."""
    import httpx

    from minimax_nb.emulator import DEFAULT_KEY, Emulator
    from minimax_nb.emulator import engine as engine_mod
    from minimax_nb.emulator.engine import Timing

    scaled = policy.scaled(1 / speed)
    delays: list[float] = []
    reads: list[int] = []
    # The synthesizer's time is not divided by the speed: songs cut to 2 s keep it from competing
    # with the (sped-up) clock for this process's GIL.
    real_render = engine_mod.render_audio

    def short_render(**kw: Any) -> Any:
        return real_render(**{**kw, "max_duration_s": 2.0})

    engine_mod.render_audio = short_render  # type: ignore[assignment]
    # in this process (a uvicorn thread), so the bench can read each job's exact completion time
    with contextlib.ExitStack() as stack:
        stack.callback(setattr, engine_mod, "render_audio", real_render)
        emu = stack.enter_context(Emulator(speed=speed, seed=7))
        emu.engine.timing = Timing(generation, queue)
        url = emu.base_url("aimlapi") + "/v2/generate/audio"
        headers = {"Authorization": f"Bearer {DEFAULT_KEY}"}
        body = {"model": "minimax/music-2.0", "prompt": "bench pop song",
                "lyrics": "[Verse]\nla la la\nla la"}
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as http:

            async def one() -> None:
                r = await http.post(url, json=body, headers=headers)
                r.raise_for_status()
                gid = r.json()["id"]
                done_at = emu.engine.get("aimlapi", gid).done_at  # type: ignore[union-attr]
                submitted = anchor = time.monotonic()
                status, n = "queued", 0
                last_read = submitted
                while True:
                    now = time.monotonic()
                    wait = (scaled.queued_delay(now - submitted) if status == "queued"
                            else scaled.next_delay(now - anchor))
                    if wait is None:
                        return
                    await asyncio.sleep(wait)
                    # the emulator decides the phase when the read arrives; its answer may then wait
                    # for the synthesizer (not scaled by speed), which is not the schedule's doing
                    t_read = time.time()
                    answer = (await http.get(url, params={"generation_id": gid}, headers=headers)).json()
                    n += 1
                    if answer["status"] == "generating" and status == "queued":
                        # the anchor: the start lies between the last read that said queued and this
                        # one; the midpoint is its expectation (off by at most queue_interval / 2)
                        anchor = (last_read + time.monotonic()) / 2
                    status = answer["status"]
                    last_read = time.monotonic()
                    if status == "completed":
                        delays.append(max(0.0, t_read - done_at) * speed)
                        reads.append(n)
                        return

            await asyncio.gather(*(one() for _ in range(jobs)))
    return delays, reads


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main_rows(quick: bool) -> list[Row]:
    rows = analytic()
    # more jobs in flight or a faster emulator multiply this process's event-loop lag into the figures
    speed = 20.0 if quick else 5.0
    n = 20 if quick else 30
    # what a ledger holds after 300 such jobs: generation times measured from the flow's anchor, which
    # is off by up to ±1 s (queue_interval / 2) from the true start
    rng = random.Random(5)
    learned = [g + rng.uniform(-1, 1) for g in draw_mixed(rng, 300)]
    for name, generation, policy in (
        ("50–60 s jobs", "uniform:50:60", LearnedPolicy()),
        ("mixed 30–90 s jobs", MIXED, LearnedPolicy(GenerationTimes.fit(learned))),
    ):
        delays, reads = asyncio.run(on_emulator(speed, n, generation, policy))
        base, base_reads = asyncio.run(on_emulator(speed, n, generation, FIXED_10))
        label = f"{name}, emulator ({n} jobs, speed {speed:g}, queue 2–6 s)"
        rows.append(Row(f"detection p50, {label}", statistics.median(delays), "s", statistics.median(base),
                        "fixed 10 s", "≤ 1 s", statistics.median(delays) <= 1))
        rows.append(Row(f"detection p95, {label}", _p(delays, 0.95), "s", _p(base, 0.95),
                        "fixed 10 s", "≤ 3 s", _p(delays, 0.95) <= 3))
        rows.append(Row(f"reads per job (queued reads included), {label}", statistics.fmean(reads), "reads",
                        statistics.fmean(base_reads), "fixed 10 s", "≤ 10", statistics.fmean(reads) <= 10))
    return rows


def run(quick: bool = False) -> list[Row]:
    return main_rows(quick)


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    print_rows(run(ap.parse_args().quick))


if __name__ == "__main__":
    main()
