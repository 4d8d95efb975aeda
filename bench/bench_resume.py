"""``MusicClient.resume()`` of jobs that finished long ago at the provider, against a bare loop.

    .venv/bin/python bench/bench_resume.py [--quick] [--jobs 100] [--speed 25]

Jobs are submitted (recorded in a ledger) and left. Once the emulator (a child process; ``speed`` only
makes them finish sooner) has finished them, their times in the ledger are moved an hour back, as
after a night away, and a new client at real speed (told nothing about the emulator, its default
polling, ``progress=False``) resumes the ledger. Before either is timed, a warm-up pass reads and
downloads every song once, so the emulator's one-time rendering of each song is in neither figure (it
was, in the first run's resume only: that made an earlier 48x). The baseline is a bare loop doing
what is needed: one status read and one download per job, one after another. HTTP requests of the
resume are counted (the goal: about one read plus one download per job).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
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


class Counting(httpx.HTTPTransport):
    requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        Counting.requests += 1
        return super().handle_request(request)


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


def move_back(ledger: Path, seconds: float) -> None:
    """Every time in the ledger ``seconds`` earlier (the columns and the stored jobs alike)."""
    shift_us = int(seconds * 1e6)
    con = sqlite3.connect(ledger)
    try:
        with con:
            con.execute("UPDATE jobs SET created_us = created_us - ?, submitted_us = submitted_us - ?, "
                        "started_us = started_us - ?, updated_us = updated_us - ?", (shift_us,) * 4)
            con.execute("UPDATE history SET at_us = at_us - ?", (shift_us,))
            for local_id, text in con.execute("SELECT local_id, job_json FROM job_data").fetchall():
                data = json.loads(text)
                for k in ("created_at", "submitted_at", "started_at", "finished_at"):
                    if isinstance(data.get(k), str):
                        data[k] = (datetime.fromisoformat(data[k]) - timedelta(seconds=seconds)).isoformat()
                con.execute("UPDATE job_data SET job_json = ? WHERE local_id = ?",
                            (json.dumps(data), local_id))
    finally:
        con.close()


def run(quick: bool = False, jobs: int | None = None, speed: float | None = None) -> list[Row]:
    jobs = jobs or (30 if quick else 100)
    speed = speed or 25.0
    handle = local_emulator(speed, {})
    base, key = handle.base_url("aimlapi"), handle.default_key
    try:
        with tempfile.TemporaryDirectory() as d:
            ledger = Path(d) / "ledger.sqlite"
            ids = asyncio.run(submit_all(base, key, speed, ledger, jobs))
            time.sleep(62.0 / speed)  # every job has finished at the emulator now
            move_back(ledger, 3600.0)
            bare(base, key, ids, Path(d) / "warm")  # the emulator renders each song once, here
            Counting.requests = 0
            t0, c0 = time.perf_counter(), time.process_time()
            with MusicClient("aimlapi", api_key=key, base_url=base, ledger=ledger, transport=Counting(),
                             download_dir=Path(d) / "resumed") as client:
                resumed = client.resume(progress=False)
            ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
            done = sum(1 for j in resumed if j.status is JobStatus.COMPLETED and j.audio_path)
            with Ledger(ledger) as led:
                left = len(led.unfinished())
            c0 = time.process_time()
            baseline = bare(base, key, ids, Path(d) / "bare")
            bare_cpu = time.process_time() - c0
    finally:
        handle.stop()
    what = f"{jobs} jobs finished an hour ago ({done} completed with audio, {left} left unfinished)"
    return [Row(f"resume() of {what}", ours / jobs * 1000, "ms/job", baseline / jobs * 1000,
                "bare loop: one read + download each", "≤ 2 × bare", ours <= 2 * baseline),
            Row("resume(): HTTP requests per job", Counting.requests / jobs, "requests", 2.0,
                "one read + one download", "≤ 2.1", Counting.requests / jobs <= 2.1),
            Row("resume(): client CPU per job (all threads)", ours_cpu / jobs * 1000, "ms",
                bare_cpu / jobs * 1000, "bare loop", "")]


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
