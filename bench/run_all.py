"""Run every benchmark and write one table to ``bench/RESULTS.md`` (the README's performance table).

    .venv/bin/python bench/run_all.py            # the full run (about 10-14 minutes on 2 cores)
    .venv/bin/python bench/run_all.py --quick    # smaller batches and faster emulators (~3-4 minutes)
    .venv/bin/python bench/run_all.py --only polling,batch

Each row is a figure measured in this run next to its baseline measured in the same run, their ratio,
the goal and whether it is met. Nothing is asserted: a bench that fails is reported as a row saying so.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, fmt, machine

#: (module, what it covers), in the order of the table
BENCHES: tuple[tuple[str, str], ...] = (
    ("bench_batch", "batch vs ideal vs bare loop vs sequential; client CPU"),
    ("bench_polling", "detection latency vs reads per job"),
    ("bench_resume", "resume() of finished jobs"),
    ("bench_kernel", "kernel round trip while the studio watches many jobs"),
    ("bench_client", "one status read vs bare httpx"),
    ("bench_emulator", "emulator requests/s"),
    ("bench_synth", "synthesizer real-time factor"),
    ("bench_ledger", "ledger -> DataFrame, results() measuring"),
)


def table(rows: list[Row]) -> str:
    out = ["| figure | value | baseline | ratio | goal | met? |", "|---|---|---|---|---|---|"]
    for r in rows:
        unit = f" {r.unit}" if r.unit else ""
        base = "" if r.baseline is None else f"{fmt(r.baseline)}{unit} ({r.baseline_label})"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        met = "" if r.met is None or not r.goal else ("yes" if r.met else "**no**")
        figure = r.figure.replace("|", "\\|")
        out.append(f"| {figure} | {fmt(r.value)}{unit} | {base} | {ratio} | {r.goal} | {met} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (about a minute or two)")
    ap.add_argument("--only", default="", help="comma-separated bench names (e.g. polling,batch)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "RESULTS.md")
    args = ap.parse_args(argv)
    wanted = {f"bench_{n.strip().removeprefix('bench_')}" for n in args.only.split(",") if n.strip()}
    started = datetime.now(UTC)
    load_at_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    t_all = time.perf_counter()
    rows: list[Row] = []
    timings: list[str] = []
    for name, what in BENCHES:
        if wanted and name not in wanted:
            continue
        print(f"== {name}: {what}", flush=True)
        t0 = time.perf_counter()
        try:
            got = importlib.import_module(name).run(args.quick)
        except Exception as exc:  # a broken bench is a row, not a crash of the suite
            traceback.print_exc()
            got = [Row(f"{name} failed: {type(exc).__name__}: {exc}", float("nan"), "")]
        for r in got:
            print("  " + r.line(), flush=True)
        rows += got
        timings.append(f"{name} {time.perf_counter() - t0:.0f} s")
    total = time.perf_counter() - t_all
    met = sum(1 for r in rows if r.goal and r.met)
    goals = sum(1 for r in rows if r.goal and r.met is not None)
    text = "\n".join([
        "# Benchmark results",
        "",
        f"Written by `bench/run_all.py{' --quick' if args.quick else ''}` on {started:%Y-%m-%d %H:%M} UTC "
        f"in {total:.0f} s ({', '.join(timings)}).",
        "",
        f"Machine: {machine()} at the end; load avg {load_at_start} at the start (1, 5, 15 min; the "
        "2 cores are shared with other work, so the load is part of every figure).",
        "",
        f"Goals met: {met} of {goals}. Every baseline ran in the same process, in the same run; ratios are "
        "value / baseline. Times on a shared machine are noisy: compare ratios, not absolute values.",
        "",
        table(rows),
        "",
    ])
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({met}/{goals} goals met, {total:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
