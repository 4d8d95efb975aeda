"""Ledger speed: 100,000 jobs -> DataFrame, and the cost of one status-change write; first results()
measuring synth songs one after another and on a process pool.

    .venv/bin/python bench/bench_ledger.py [--jobs 100000] [--writes 2000]

Prints times and ratios; asserts nothing (goals: DataFrame of 100k jobs in <= 1 s here).
The baseline builds a same-shaped DataFrame (same rows, same columns) from a list of dicts in this
process: ``pd.DataFrame(list_of_dicts)`` with no dtype work at all.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd
from _common import Row, print_rows

from minimax_nb.ledger import Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.results.frame import build_frame

PROVIDERS = ("useapi", "aimlapi", "apiin", "minimax", "local")
STYLES = ("synth-pop", "lo-fi hip hop", "acoustic folk", "drum and bass", "orchestral", "jazz trio")
STATUSES = (JobStatus.COMPLETED,) * 7 + (JobStatus.FAILED, JobStatus.MODERATED, JobStatus.RUNNING)


def make_jobs(n: int, seed: int = 1) -> list[Job]:
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        created = t0 + timedelta(seconds=i * 7)
        status = rng.choice(STATUSES)
        started = created + timedelta(seconds=rng.uniform(0.2, 30))
        finished = started + timedelta(seconds=rng.uniform(20, 120)) if status.is_final else None
        lyrics = "\n".join(f"[Verse]\nline {i} {k} la la la" for k in range(rng.randint(2, 12)))
        req = MusicRequest(lyrics=lyrics, style=rng.choice(STYLES), title=f"Song {i}",
                           bitrate=rng.choice((128000, 256000)), sample_rate=44100, audio_format="mp3")
        out.append(Job(provider=rng.choice(PROVIDERS), request=req, status=status, id=f"p{i}",
                       model="music-2.6", created_at=created, submitted_at=created, started_at=started,
                       finished_at=finished, duration_s=rng.uniform(30, 240) if status.is_final else None,
                       error="failed" if status is JobStatus.FAILED else None))
    return out


def best(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--writes", type=int, default=2000)
    ap.add_argument("--songs", type=int, default=8, help="synth songs for the measurement bench (0: skip)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        jobs = make_jobs(args.jobs)
        with Ledger(path) as led:
            t = time.perf_counter()
            led.record_many(jobs)
            fill = time.perf_counter() - t
            print(f"fill: {args.jobs:,} jobs in one transaction: {fill:.2f} s "
                  f"({fill / args.jobs * 1e6:.1f} µs/job); file {os.path.getsize(path) / 1e6:.1f} MB")

            df = build_frame(led, measure=True)
            assert len(df) == args.jobs
            t_frame = best(lambda: build_frame(led, measure=True))
            t_rows = best(led.rows)
            print(f"results({args.jobs:,} jobs): {t_frame:.3f} s  (of which reading SQLite rows "
                  f"{t_rows:.3f} s)  goal <= 1 s: {'met' if t_frame <= 1.0 else 'NOT met'}")

            # the baseline: the same rows and columns as plain dicts -> DataFrame, nothing else
            dicts = [dict(zip(df.columns, row, strict=True))
                     for row in df.astype(object).itertuples(index=False, name=None)]
            t_base = best(lambda: pd.DataFrame(dicts))
            print(f"baseline pd.DataFrame(list of {len(dicts):,} dicts x {len(df.columns)} columns): "
                  f"{t_base:.3f} s  -> results / baseline = {t_frame / t_base:.2f}x")

        # status-change writes on a file ledger: each is one BEGIN IMMEDIATE transaction + a history row
        with Ledger(Path(tmp) / "writes.sqlite") as led:
            base = make_jobs(args.writes, seed=2)
            queued = [j.evolve(status=JobStatus.QUEUED, finished_at=None) for j in base]
            running = [j.evolve(status=JobStatus.RUNNING) for j in queued]
            done = [j.evolve(status=JobStatus.COMPLETED) for j in running]

            def timed(fn: object, jobs: list[Job]) -> list[float]:
                out = []
                for j in jobs:
                    s = time.perf_counter()
                    fn(j)  # type: ignore[operator]
                    out.append(time.perf_counter() - s)
                return out

            def show(label: str, samples: list[float]) -> None:
                ordered = sorted(samples)
                print(f"  {label:46s} median {statistics.median(ordered) * 1e6:6.0f} µs   mean "
                      f"{statistics.fmean(ordered) * 1e6:6.0f} µs   p99 "
                      f"{ordered[int(len(ordered) * 0.99)] * 1e6:7.0f} µs")

            print(f"one write = one transaction on a WAL file ({args.writes:,} each):")
            show("record_submitting (new row + history)", timed(led.record_submitting, queued))
            show("record: status change (+ history row)", timed(led.record, queued))
            show("record: status change again", timed(led.record, running))
            show("record: same status (no history row)", timed(led.record, running))
            show("record: to a final status", timed(led.record, done))

        if args.songs:
            print_rows(bench_measure(Path(tmp), args.songs))


def make_songs(tmp: Path, songs: int) -> tuple[list[Path], float]:
    from minimax_nb.synth import PRESETS, encode, render

    names = list(PRESETS)
    lyrics = "[Verse]\nHello world here we go\nSinging in the rain today\n[Chorus]\nSing it loud\nAll night"
    total_s = 0.0
    paths = []
    for i in range(songs):
        song = render(lyrics, names[i % len(names)], seed=i)
        total_s += song.duration_s
        path = tmp / f"song{i}.mp3"
        path.write_bytes(encode(song, "mp3", bitrate=128000))
        paths.append(path)
    return paths, total_s


def bench_measure(tmp: Path, songs: int) -> list[Row]:
    """First results() on a ledger of synth songs: one after another, then on a process pool."""
    import hashlib

    paths, total_s = make_songs(tmp, songs)
    timings: dict[str, float] = {}
    for label, workers in (("serial", 1), ("pool", None)):
        with Ledger(tmp / f"measure-{label}.sqlite") as led:
            for i, path in enumerate(paths):
                data = path.read_bytes()
                job = Job(provider="local", request=MusicRequest(lyrics="la"), status=JobStatus.COMPLETED,
                          local_id=f"m{i}")
                led.record(job)
                led.record_audio(job, path, hashlib.sha256(data).hexdigest(), len(data))
            t = time.perf_counter()
            build_frame(led, workers=workers)  # workers=None: the default (a pool when many)
            timings[label] = time.perf_counter() - t
            t = time.perf_counter()
            build_frame(led, workers=workers)
            timings[label + " cached"] = time.perf_counter() - t
    return [
        Row(f"first results() measuring {songs} MP3 songs ({total_s:.0f} s of audio), default (process pool)",
            timings["pool"], "s", timings["serial"], "one after another", "< serial",
            timings["pool"] < timings["serial"]),
        Row("second results() (all cached)", timings["pool cached"] * 1000, "ms", timings["pool"] * 1000,
            "first results()", ""),
    ]


def run(quick: bool = False) -> list[Row]:
    jobs = 20_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        with Ledger(Path(tmp) / "bench.sqlite") as led:
            led.record_many(make_jobs(jobs))
            df = build_frame(led, measure=False)
            t_frame = best(lambda: build_frame(led, measure=True))
            dicts = [dict(zip(df.columns, row, strict=True))
                     for row in df.astype(object).itertuples(index=False, name=None)]
            t_base = best(lambda: pd.DataFrame(dicts))
        rows = [Row(f"ledger -> DataFrame, {jobs:,} jobs (results())", t_frame, "s", t_base,
                    "pd.DataFrame(list of dicts)", "≤ 1 s per 100k jobs", t_frame <= jobs / 100_000)]
        rows += bench_measure(Path(tmp), 16 if quick else 32)
    return rows


if __name__ == "__main__":
    main()
