"""Client overhead: what one status read costs on top of httpx, sync and async.

    .venv/bin/python bench/bench_client.py [--reads 3000]

Prints microseconds per read and ratios; asserts nothing. The baseline is a bare ``httpx.Client.get``
(``AsyncClient.get``) of the same canned AIML poll answer through the same ``httpx.MockTransport`` in
this process, so the ratio is the price of our adapter, retry decisions and job bookkeeping (the goal:
a small multiple, far below any network round trip). A last line times one poll against the real
emulator over loopback HTTP for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from _common import Row

from minimax_nb.client import AsyncMusicClient, MusicClient
from minimax_nb.models import Job, JobStatus, MusicRequest

BASE = "https://api.aimlapi.com"
ANSWER = json.dumps({"id": "gen-1", "status": "generating", "audio_file": None, "error": None}).encode()


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=ANSWER, headers={"content-type": "application/json"})


def per_call_us(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Median over ``rounds`` of the mean time of ``n`` calls, in microseconds."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(times)


async def per_call_us_async(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            await fn()  # type: ignore[misc]
        times.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(times)


def measure(n: int) -> tuple[float, float, float, float]:
    """(bare sync, ours sync, bare async, ours async) microseconds per status read."""
    job = Job(provider="aimlapi", request=MusicRequest(lyrics="[Verse]\nbench", style="bench style text"),
              id="gen-1", status=JobStatus.RUNNING)

    raw = httpx.Client(base_url=BASE, transport=httpx.MockTransport(handler))
    params = {"generation_id": "gen-1"}
    base_sync = per_call_us(lambda: raw.get("/v2/generate/audio", params=params).json(), n)
    client = MusicClient("aimlapi", api_key="bench-key", base_url=BASE, ledger=False,
                         transport=httpx.MockTransport(handler))
    ours_sync = per_call_us(lambda: client.get(job), n)
    client.close()
    raw.close()

    async def run_async() -> tuple[float, float]:
        raw_a = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(handler))

        async def bare() -> object:
            return (await raw_a.get("/v2/generate/audio", params={"generation_id": "gen-1"})).json()

        base = await per_call_us_async(bare, n)
        aclient = AsyncMusicClient("aimlapi", api_key="bench-key", base_url=BASE, ledger=False,
                                   transport=httpx.MockTransport(handler))
        ours = await per_call_us_async(lambda: aclient.get(job), n)
        await aclient.close()
        await raw_a.aclose()
        return base, ours

    base_async, ours_async = asyncio.run(run_async())
    return base_sync, ours_sync, base_async, ours_async


def run(quick: bool = False) -> list[Row]:
    base_sync, ours_sync, base_async, ours_async = measure(500 if quick else 3000)
    return [Row("MusicClient.get, one status read (mocked transport)", ours_sync, "µs", base_sync,
                "bare httpx.Client.get", ""),
            Row("AsyncMusicClient.get, one status read (mocked transport)", ours_async, "µs", base_async,
                "bare httpx.AsyncClient.get", "")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=3000)
    n = ap.parse_args().reads
    base_sync, ours_sync, base_async, ours_async = measure(n)

    print(f"status read, {n} reads x 5 rounds (median of round means)")
    print(f"  sync : bare httpx {base_sync:7.1f} us   MusicClient.get      {ours_sync:7.1f} us   "
          f"ratio {ours_sync / base_sync:5.2f}")
    print(f"  async: bare httpx {base_async:7.1f} us   AsyncMusicClient.get {ours_async:7.1f} us   "
          f"ratio {ours_async / base_async:5.2f}")

    from minimax_nb.emulator import DEFAULT_KEY, Emulator

    with Emulator(speed=1.0) as emu, MusicClient("aimlapi", api_key=DEFAULT_KEY, ledger=False,
                                                  base_url=emu.base_url("aimlapi")) as c:
        submitted = c.submit(MusicRequest(lyrics="[Verse]\nbench song", style="bench style text"))
        loop_us = per_call_us(lambda: c.get(submitted), 200, rounds=3)
    print(f"  for scale: one poll of the emulator over loopback HTTP {loop_us:7.1f} us "
          f"({loop_us / ours_sync:4.1f}x a mocked MusicClient.get)")


if __name__ == "__main__":
    main()
