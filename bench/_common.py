"""Shared by the benchmarks: one result row per figure, and the machine they ran on.

Every bench module has ``run(quick: bool) -> list[Row]`` (used by ``bench/run_all.py``) and a ``main()``
that prints its rows. A row holds a figure, its baseline measured in the same run, their ratio and the
goal; nothing here asserts a time.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@dataclasses.dataclass
class Row:
    """One figure of a benchmark. ``ratio`` is ``value / baseline`` unless given; ``met`` is ``None``
    when there is no goal."""

    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    goal: str = ""
    met: bool | None = None
    ratio: float | None = None

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline:
            self.ratio = self.value / self.baseline

    def line(self) -> str:
        base = ("" if self.baseline is None
                else f"   baseline {fmt(self.baseline)} {self.unit} ({self.baseline_label})")
        ratio = "" if self.ratio is None else f"   ratio {self.ratio:.2f}"
        goal = "" if not self.goal else f"   goal {self.goal}: {'met' if self.met else 'NOT met'}"
        return f"{self.figure}: {fmt(self.value)} {self.unit}{base}{ratio}{goal}"


def fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 0.1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def machine() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ""
    if hasattr(os, "getloadavg"):
        load = " load avg " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip() + ", "
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.machine()}, {model}{cpus} CPUs available,{load}; "
            f"Python {platform.python_version()}")


def print_rows(rows: list[Row]) -> None:
    for r in rows:
        print("  " + r.line())
