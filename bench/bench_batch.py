"""A batch of songs: the client against the ideal, a bare asyncio+httpx loop, and the providers'
documented one-after-another pattern; and the client's CPU per job against the bare loop.

    .venv/bin/python bench/bench_batch.py [--quick] [--jobs 100] [--concurrency 20] [--speed 5]

At a realistic time scale: the emulator (a child process, so its CPU is not counted here) is slowed
to ``speed`` 5 by default, so a job takes 10–12 s (50–60 s / 5), and the client is told the speed.
All three download every song.

- ideal: ``ceil(jobs / concurrency)`` waves of the mean job time (55 s / speed), nothing else.
- bare loop: ``asyncio`` + ``httpx`` with a semaphore, polling every 5 s (scaled), no ledger, no checks.
- sequential: the pattern of the providers' docs (submit, poll every 10 s, download, next song),
  timed on a few songs and counted per song.
- CPU: ``time.process_time()`` of this process per job and per HTTP request.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import Row, print_rows

from minimax_nb.client import AsyncMusicClient
from minimax_nb.client.local import local_emulator
from minimax_nb.models import JobStatus, MusicRequest

MODEL = "minimax/music-2.0"
BODY = {"model": MODEL, "prompt": "bench synth-pop", "lyrics": "[Verse]\nOne line to sing\nand another one"}


class Counting(httpx.AsyncHTTPTransport):
    requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        Counting.requests += 1
        return await super().handle_async_request(request)


async def bare_loop(base: str, key: str, jobs: int, concurrency: int, interval: float, out: Path) -> int:
    """The bare batch; returns the number of HTTP requests."""
    url = base + "/v2/generate/audio"
    headers = {"Authorization": f"Bearer {key}"}
    gate = asyncio.Semaphore(concurrency)
    count = 0
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency * 2)) as http:

        async def one(i: int) -> None:
            nonlocal count
            async with gate:
                r = await http.post(url, json=BODY, headers=headers)
                count += 1
                gid = r.json()["id"]
                while True:
                    await asyncio.sleep(interval)
                    answer = (await http.get(url, params={"generation_id": gid}, headers=headers)).json()
                    count += 1
                    if answer["status"] == "completed":
                        audio = await http.get(answer["audio_file"]["url"])
                        count += 1
                        (out / f"bare{i}.mp3").write_bytes(audio.content)
                        return
                    if answer["status"] == "error":
                        return

        await asyncio.gather(*(one(i) for i in range(jobs)))
    return count


def sequential(base: str, key: str, songs: int, interval: float, out: Path) -> float:
    """Seconds per song of the documented pattern."""
    url = base + "/v2/generate/audio"
    headers = {"Authorization": f"Bearer {key}"}
    t0 = time.perf_counter()
    with httpx.Client(timeout=60) as http:
        for i in range(songs):
            gid = http.post(url, json=BODY, headers=headers).json()["id"]
            while True:
                time.sleep(interval)
                answer = http.get(url, params={"generation_id": gid}, headers=headers).json()
                if answer["status"] in ("completed", "error"):
                    break
            if answer["status"] == "completed":
                (out / f"seq{i}.mp3").write_bytes(http.get(answer["audio_file"]["url"]).content)
    return (time.perf_counter() - t0) / songs


async def ours(base: str, key: str, jobs: int, concurrency: int, speed: float, tmp: Path) -> tuple[int, int]:
    """Our batch; returns (completed, requests)."""
    Counting.requests = 0
    requests = [MusicRequest(lyrics=BODY["lyrics"], style=BODY["prompt"], model=MODEL) for _ in range(jobs)]
    client = AsyncMusicClient("aimlapi", api_key=key, base_url=base, emulator_speed=speed,
                              ledger=tmp / "ledger.sqlite", download_dir=tmp / "ours", transport=Counting())
    try:
        done = await client.generate_many(requests, concurrency=concurrency, download=True, progress=False)
    finally:
        await client.close()
    return sum(1 for j in done if j.status is JobStatus.COMPLETED), Counting.requests


def run(quick: bool = False, jobs: int | None = None, concurrency: int | None = None,
        speed: float | None = None) -> list[Row]:
    jobs = jobs or (30 if quick else 100)
    concurrency = concurrency or (10 if quick else 20)
    speed = speed or (25.0 if quick else 5.0)
    seq_songs = 2 if quick else 4
    handle = local_emulator(speed, {})
    base, key = handle.base_url("aimlapi"), handle.default_key
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            (tmp / "bare").mkdir()
            c0, t0 = time.process_time(), time.perf_counter()
            completed, our_requests = asyncio.run(ours(base, key, jobs, concurrency, speed, tmp))
            our_wall, our_cpu = time.perf_counter() - t0, time.process_time() - c0
            c0, t0 = time.process_time(), time.perf_counter()
            bare_requests = asyncio.run(bare_loop(base, key, jobs, concurrency, 5.0 / speed, tmp / "bare"))
            bare_wall, bare_cpu = time.perf_counter() - t0, time.process_time() - c0
            per_song = sequential(base, key, seq_songs, 10.0 / speed, tmp / "bare")
    finally:
        handle.stop()
    ideal = math.ceil(jobs / concurrency) * 55.0 / speed
    label = f"{jobs} songs at concurrency {concurrency}, jobs {50 / speed:.3g}–{60 / speed:.3g} s"
    rows.append(Row(f"batch wall time, {label} ({completed} completed)", our_wall, "s", ideal,
                    "ideal wave bound", "≤ 1.2 × ideal", our_wall <= 1.2 * ideal))
    rows.append(Row("batch wall time vs bare asyncio+httpx loop (polls every 5 s scaled)", our_wall, "s",
                    bare_wall, "bare loop", "≤ 1.05 × bare", our_wall <= 1.05 * bare_wall))
    rows.append(Row(f"batch wall time vs the documented sequential pattern ({seq_songs} songs timed, "
                    f"x {jobs})", our_wall, "s", per_song * jobs, "sequential", ""))
    rows.append(Row("HTTP requests per job", our_requests / jobs, "requests", bare_requests / jobs,
                    "bare loop", ""))
    rows.append(Row("client CPU per job", our_cpu / jobs * 1000, "ms", bare_cpu / jobs * 1000, "bare loop",
                    "≤ 1.05 × bare", our_cpu / jobs <= 1.05 * bare_cpu / jobs))
    rows.append(Row("client CPU per HTTP request", our_cpu / our_requests * 1000, "ms",
                    bare_cpu / bare_requests * 1000, "bare loop", "≤ 1.05 × bare",
                    our_cpu / our_requests <= 1.05 * bare_cpu / bare_requests))
    return rows


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--speed", type=float)
    a = ap.parse_args()
    kw: dict[str, Any] = {"jobs": a.jobs, "concurrency": a.concurrency, "speed": a.speed}
    print_rows(run(a.quick, **kw))


if __name__ == "__main__":
    main()
