"""``MusicClient.resume()`` of jobs that already finished at the provider, against a bare loop.

    .venv/bin/python bench/bench_resume.py [--quick] [--jobs 100] [--speed 5]

Jobs are submitted (recorded in a ledger) and left; once the emulator (a child process, slowed to
``speed``) has finished all of them, a new client resumes the ledger. The baseline is a bare loop
doing what is needed: one status read and one download per job, one after another.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from _common import Row, print_rows

from minimax_nb.client import AsyncMusicClient, MusicClient
from minimax_nb.client.local import local_emulator
from minimax_nb.ledger import Ledger
from minimax_nb.models import JobStatus, MusicRequest

MODEL = "minimax/music-2.0"


async def submit_all(base: str, key: str, speed: float, ledger: Path, jobs: int) -> list[str]:
    req = MusicRequest(lyrics="[Verse]\nResume me please\nand download me", style="bench folk", model=MODEL)
    async with AsyncMusicClient("aimlapi", api_key=key, base_url=base, emulator_speed=speed, ledger=ledger,
                                download_dir=ledger.parent / "unused") as client:
        submitted = await asyncio.gather(*(client.submit(req) for _ in range(jobs)))
    return [j.id for j in submitted if j.id]


def bare(base: str, key: str, ids: list[str], out: Path) -> float:
    url = base + "/v2/generate/audio"
    headers = {"Authorization": f"Bearer {key}"}
    out.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    with httpx.Client(timeout=60) as http:
        for gid in ids:
            answer = http.get(url, params={"generation_id": gid}, headers=headers).json()
            if answer["status"] == "completed":
                (out / f"{gid}.mp3").write_bytes(http.get(answer["audio_file"]["url"]).content)
    return time.perf_counter() - t0


def run(quick: bool = False, jobs: int | None = None, speed: float | None = None) -> list[Row]:
    jobs = jobs or (30 if quick else 100)
    speed = speed or (25.0 if quick else 5.0)
    handle = local_emulator(speed, {})
    base, key = handle.base_url("aimlapi"), handle.default_key
    try:
        with tempfile.TemporaryDirectory() as d:
            ledger = Path(d) / "ledger.sqlite"
            ids = asyncio.run(submit_all(base, key, speed, ledger, jobs))
            time.sleep(62.0 / speed)  # every job has finished at the emulator now
            t0 = time.perf_counter()
            with MusicClient("aimlapi", api_key=key, base_url=base, emulator_speed=speed, ledger=ledger,
                             download_dir=Path(d) / "resumed") as client:
                resumed = client.resume()
            ours = time.perf_counter() - t0
            done = sum(1 for j in resumed if j.status is JobStatus.COMPLETED and j.audio_path)
            with Ledger(ledger) as led:
                left = len(led.unfinished())
            baseline = bare(base, key, ids, Path(d) / "bare")
    finally:
        handle.stop()
    return [Row(f"resume() of {jobs} finished jobs ({done} completed with audio, {left} left unfinished; "
                f"emulator speed {speed:g})", ours / jobs, "s/job", baseline / jobs,
                "bare loop: one read + download each", "≤ 2 × bare", ours <= 2 * baseline)]


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--speed", type=float)
    a = ap.parse_args()
    print_rows(run(a.quick, a.jobs, a.speed))


if __name__ == "__main__":
    main()
