"""Kernel responsiveness while the studio watches many local jobs, against the same kernel idle.

    .venv/bin/python bench/bench_kernel.py [--quick] [--jobs 200] [--speed 10]

An IPython kernel (``ipykernel``) is started with ``jupyter_client``; this process plays the front end:
it sends a trivial cell (``pass``) every 50 ms and times each round trip (execute_request to
execute_reply on the shell channel), draining the iopub messages (the widget updates) as a browser
would. First the kernel idle (the baseline), then while a ``Studio(provider="local")`` in that kernel
watches ``jobs`` generations at once (its ``Bridge`` sized to run them all; the emulator runs in its
child process) until every finished job is in the results table. It also reports how long after its
finish (``Run.finished``: the client returned, audio saved) each job's row was drawn in the table (a
spy on ``ResultsTable._render``, clock ``time.monotonic`` in the kernel). Bounded: the watch stops after
``limit`` seconds whatever happened (said in the row). Nothing is asserted.
"""

from __future__ import annotations

import ast
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import Row, print_rows

ROOT = Path(__file__).resolve().parents[1]

SETUP = """
import time as _time, pathlib as _pl
from minimax_nb.widgets.bridge import Bridge as _Bridge
from minimax_nb.widgets.studio import Studio as _Studio
_d = _pl.Path({tmp!r})
_st = _Studio("local", bridge=_Bridge(max_workers={jobs}), ledger=_d / "ledger.sqlite",
              download_dir=_d / "audio", emulator_speed={speed})
_merged = {{}}
_orig_render = _st.table._render
def _spy_render(change=None):
    _orig_render(change)
    _now = _time.monotonic()
    for _k in _st.table._order:
        _merged.setdefault(_k, _now)
_st.table._render = _spy_render
"""

LAUNCH = "_runs = _st.generate(variants={jobs})"

# (runs done, in the table, completed)
STATUS = "(sum(r.done for r in _runs), len(_merged), sum(r.state.value == 'completed' for r in _runs))"

# seconds from each finished run's finish to its arrival in the table (None: never arrived)
LAGS = "[(_merged[r.job.local_id] - r.finished) if r.job is not None and r.job.local_id in _merged " \
       "else None for r in _runs if r.finished is not None]"


class Frontend:
    """A minimal front end: runs cells, times round trips, drains iopub."""

    def __init__(self, kc: Any) -> None:
        self.kc = kc

    def drain(self) -> int:
        n = 0
        while True:
            try:
                self.kc.get_iopub_msg(timeout=0)
            except Exception:  # queue.Empty
                return n
            n += 1

    def run(self, code: str, expressions: dict[str, str] | None = None, timeout: float = 60.0) -> tuple[
            float, dict[str, Any]]:
        """Execute ``code``; (round trip seconds, the reply content)."""
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code, silent=False, store_history=False, user_expressions=expressions or {})
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                rt = time.perf_counter() - t0
                content: dict[str, Any] = reply["content"]
                if content.get("status") != "ok":
                    raise RuntimeError(f"cell failed: {content.get('ename')}: {content.get('evalue')}\n"
                                       + "\n".join(content.get("traceback", [])))
                return rt, content

    def value(self, expr: str) -> Any:
        _, content = self.run("pass", {"x": expr})
        got = content["user_expressions"]["x"]
        if got.get("status") != "ok":
            raise RuntimeError(f"{expr}: {got.get('ename')}: {got.get('evalue')}")
        return ast.literal_eval(got["data"]["text/plain"])

    def sample(self, seconds: float, every: float = 0.05, until: Any = None) -> list[float]:
        """Round trips of ``pass`` for ``seconds`` (or until ``until()`` is true, checked each second)."""
        out: list[float] = []
        end = time.monotonic() + seconds
        next_check = time.monotonic() + 1.0
        while time.monotonic() < end:
            rt, _ = self.run("pass")
            out.append(rt)
            self.drain()
            if until is not None and time.monotonic() >= next_check:
                next_check = time.monotonic() + 1.0
                if until():
                    break
            time.sleep(every)
        return out


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def run(quick: bool = False, jobs: int | None = None, speed: float | None = None) -> list[Row]:
    from jupyter_client.manager import start_new_kernel

    jobs = jobs or (50 if quick else 200)
    speed = speed or 10.0
    limit = 60.0 if quick else 150.0
    idle_s = 8.0 if quick else 15.0
    env_path = str(ROOT)
    km, kc = start_new_kernel(kernel_name="python3", env={**os.environ, "PYTHONPATH": env_path},
                              cwd=tempfile.gettempdir(), startup_timeout=120)
    try:
        fe = Frontend(kc)
        fe.run(f"import sys; sys.path.insert(0, {env_path!r}); import minimax_nb.widgets")
        fe.drain()
        idle = fe.sample(idle_s)
        with tempfile.TemporaryDirectory() as tmp:
            fe.run(SETUP.format(tmp=tmp, jobs=jobs, speed=speed))
            fe.drain()
            t0 = time.monotonic()
            fe.run(LAUNCH.format(jobs=jobs))
            state = {"status": (0, 0, 0)}

            def all_in_table() -> bool:
                state["status"] = fe.value(STATUS)
                done, in_table, _ = state["status"]
                return done >= jobs and in_table >= done

            busy = fe.sample(limit, until=all_in_table)
            watched = time.monotonic() - t0
            done, in_table, completed = fe.value(STATUS)
            lags = [x for x in fe.value(LAGS) if x is not None]
            missing = done - len(lags)
            fe.run("_st.close()")
            fe.drain()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    i50, i95 = statistics.median(idle), pct(idle, 0.95)
    b50, b95, bmax = statistics.median(busy), pct(busy, 0.95), max(busy)
    what = (f"studio watching {jobs} local jobs (speed {speed:g}; {completed} completed, {in_table} in the "
            f"table after {watched:.0f} s{', stopped at the limit' if watched >= limit else ''})")
    rows = [
        Row(f"kernel round trip p50, {what}", b50 * 1000, "ms", i50 * 1000, "same kernel idle", ""),
        Row(f"kernel round trip p95 (max {bmax * 1000:.0f} ms, {len(busy)} cells), {what}", b95 * 1000, "ms",
            i95 * 1000, "same kernel idle", "p95 ≤ 2 × idle", b95 <= 2 * i95),
    ]
    if lags:
        rows.append(Row(f"finished job -> results table, p50 (p95 {pct(lags, 0.95):.2f} s, max "
                        f"{max(lags):.2f} s; {missing} never arrived)", statistics.median(lags), "s",
                        goal="max ≤ 1 s", met=max(lags) <= 1.0 and missing == 0))
    else:
        rows.append(Row("finished job -> results table: no job finished", float("nan"), "s",
                        goal="max ≤ 1 s", met=False))
    return rows


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--speed", type=float)
    a = ap.parse_args()
    print_rows(run(a.quick, a.jobs, a.speed))


if __name__ == "__main__":
    sys.exit(main())
