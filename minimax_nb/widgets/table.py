"""ResultsTable: the session's jobs as a sortable table; the selected row drives the Player; a small chart."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from minimax_nb.models import Job
from minimax_nb.widgets import _html

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ResultsTable", "jobs_frame", "ledger_frame"]

#: Columns shown when the frame has them, in this order.
SHOWN = ("title", "provider", "status", "style", "latency_s", "generation_s", "measured_duration_s",
         "reported_duration_s", "loudness_lufs", "tempo_bpm")
#: Short headings for the table.
LABELS = {"latency_s": "latency s", "generation_s": "gen. s", "measured_duration_s": "length s",
          "reported_duration_s": "length s", "loudness_lufs": "LUFS", "tempo_bpm": "BPM"}
#: Numeric columns offered by the chart, when present.
CHART_METRICS = ("latency_s", "generation_s", "measured_duration_s", "reported_duration_s", "loudness_lufs",
                 "tempo_bpm")
KEY = "key"


def jobs_frame(jobs: Sequence[Job], *, measure: bool = False) -> pd.DataFrame:
    """The results frame of ``jobs`` themselves (``minimax_nb.results.jobs_frame``: no ledger needed),
    plus a ``key`` column (the job's ``local_id``). For a session with the ledger off, and for the jobs
    the ledger lacks.
    """
    from minimax_nb.results import jobs_frame as results_jobs_frame

    df = results_jobs_frame(jobs, measure=measure)
    df.insert(0, KEY, df["local_id"].astype(str))
    return df


def ledger_frame(ledger: Any = None, *, measure: bool = True) -> Callable[[Sequence[Job]], pd.DataFrame]:
    """``frame(jobs)``: the rows of ``jobs`` in ``minimax_nb.results.results(ledger, measure=...)`` (with
    the measured audio facts), plus a ``key`` column; jobs the ledger lacks (ledger off) come from
    ``jobs_frame``.
    """

    def frame(jobs: Sequence[Job]) -> pd.DataFrame:
        import pandas as pd

        from minimax_nb.results import results

        keys = [j.local_id for j in jobs]
        if not keys:
            return jobs_frame(jobs)
        df = results(ledger, measure=measure)
        df = df[df["local_id"].isin(keys)].copy()
        df[KEY] = df["local_id"].astype(str)
        missing = [j for j in jobs if j.local_id not in set(df[KEY])]
        if missing:
            extra = jobs_frame(missing, measure=measure)
            df = pd.concat([df, extra], ignore_index=True) if len(df) else extra
        order = {k: i for i, k in enumerate(keys)}  # the order the jobs were added
        return df.sort_values(KEY, key=lambda s: s.map(order), kind="stable").reset_index(drop=True)

    return frame


class ResultsTable(w.VBox):  # type: ignore[misc]
    """The jobs of this session from the results DataFrame.

    Sort with the column dropdown and the ↑/↓ toggle; pick a row in the list below the table to play it
    (``on_select(callback)`` gets the ``Job``); the chart compares one numeric column across rows.

    Args:
        frame: ``frame(jobs) -> DataFrame`` with a ``key`` column of ``local_id`` values;
            default ``ledger_frame()``: ``minimax_nb.results.results()`` of the default ledger.
    """

    def __init__(self, *, frame: Callable[[Sequence[Job]], pd.DataFrame] | None = None) -> None:
        self._frame_fn = frame or ledger_frame()
        self.jobs: dict[str, Job] = {}
        self.df: pd.DataFrame | None = None
        self._order: list[str] = []
        self._quiet = False
        self._callbacks: list[Callable[[Job], None]] = []
        self.sort_by = w.Dropdown(options=["(added)"], value="(added)", description="Sort by",
                                  layout=w.Layout(width="240px"))
        self.ascending = w.ToggleButton(value=True, description="↑ ascending", layout=w.Layout(width="120px"))
        self.table = w.HTML()
        self.select = w.Select(options=[], rows=4, description="Play", layout=w.Layout(width="98%"))
        self.metric = w.Dropdown(options=[], description="Chart", layout=w.Layout(width="240px"))
        self.chart = w.HTML()
        self.errors = w.HTML()
        self.tools = w.HBox([])  # extra buttons (the studio puts "earlier jobs" here)
        for cls, widget in (("mnb-results-table", self.table), ("mnb-results-select", self.select),
                            ("mnb-chart", self.chart), ("mnb-errors", self.errors),
                            ("mnb-sort", self.sort_by)):
            widget.add_class(cls)
        self.sort_by.observe(self._guard(self._render), names="value")
        self.ascending.observe(self._guard(self._on_direction), names="value")
        self.metric.observe(self._guard(self._render_chart), names="value")
        self.select.observe(self._guard(self._on_select), names="value")
        title = w.HBox([w.HTML("<b>Results</b>&nbsp;"), self.tools], layout=w.Layout(align_items="center"))
        super().__init__([title, w.HBox([self.sort_by, self.ascending]), self.table,
                          self.select, self.metric, self.chart, self.errors], layout=w.Layout(width="100%"))
        self.add_class("mnb-results")

    # ------------------------------------------------------------------ API
    def add(self, job: Job) -> None:
        """Add (or replace) a job and rebuild the frame."""
        self.jobs[job.local_id] = job
        self.refresh()

    def set_jobs(self, jobs: Sequence[Job]) -> None:
        """Show exactly ``jobs``."""
        self.jobs = {j.local_id: j for j in jobs}
        self.refresh()

    def add_many(self, jobs: Sequence[Job]) -> int:
        """Add the jobs not shown yet (one rebuild); returns how many were new."""
        new = [j for j in jobs if j.local_id not in self.jobs]
        for j in new:
            self.jobs[j.local_id] = j
        if new:
            self.refresh()
        return len(new)

    def refresh(self) -> None:
        """Rebuild the frame from the jobs (errors show in the panel)."""
        try:
            self.df = self._frame_fn(list(self.jobs.values()))
            cols = [c for c in SHOWN if c in self.df.columns]
            metrics = [c for c in CHART_METRICS if c in self.df.columns]
            with self.hold_trait_notifications():
                if list(self.sort_by.options) != ["(added)", *cols]:
                    old = self.sort_by.value
                    self.sort_by.options = ["(added)", *cols]
                    self.sort_by.value = old if old in cols else "(added)"
                metrics = [c for c in metrics if bool(self.df[c].notna().any())]
                if list(self.metric.options) != metrics:
                    old_m = self.metric.value
                    self.metric.options = metrics
                    self.metric.value = old_m if old_m in metrics else (metrics[0] if metrics else None)
            self._render()
        except Exception as e:
            self.errors.value = _html.error_box(e, "building the results table")

    def on_select(self, callback: Callable[[Job], None]) -> None:
        """Call ``callback(job)`` when the user picks a row."""
        self._callbacks.append(callback)

    def select_job(self, job: Job) -> None:
        """Select ``job``'s row (as if the user picked it)."""
        if job.local_id in self.jobs:
            self.select.value = job.local_id

    def sorted_frame(self) -> pd.DataFrame | None:
        """The frame in display order."""
        if self.df is None:
            return None
        col = self.sort_by.value
        if col and col != "(added)" and col in self.df.columns:
            return self.df.sort_values(col, ascending=bool(self.ascending.value), na_position="last",
                                       kind="stable")
        return self.df if self.ascending.value else self.df.iloc[::-1]

    # ------------------------------------------------------------------ internals
    def _guard(self, fn: Callable[..., None]) -> Callable[..., None]:
        def wrapped(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as e:
                self.errors.value = _html.error_box(e, "results table")

        return wrapped

    def _on_direction(self, change: Any = None) -> None:
        self.ascending.description = "↑ ascending" if self.ascending.value else "↓ descending"
        self._render()

    def _columns(self, df: pd.DataFrame) -> list[str]:
        """The shown columns present in ``df`` that hold at least one value (one length column)."""
        cols = [c for c in SHOWN if c in df.columns and (c in ("title", "provider", "status")
                                                          or bool(df[c].notna().any()))]
        if "measured_duration_s" in cols and "reported_duration_s" in cols:
            cols.remove("reported_duration_s")
        return cols

    def _render_table(self, df: pd.DataFrame) -> None:
        cols = self._columns(df)
        keys = [str(k) for k in df[KEY]]
        sel = self.select.value
        rows = [[None if _isna(v) else v for v in r] for r in df[cols].itertuples(index=False, name=None)]
        sort = self.sort_by.value if self.sort_by.value != "(added)" else None
        self.table.value = _html.table(cols, rows, selected=keys.index(sel) if sel in keys else None,
                                       sort_by=sort, ascending=bool(self.ascending.value), labels=LABELS)

    def _render(self, change: Any = None) -> None:
        df = self.sorted_frame()
        if df is None:
            return
        keys = [str(k) for k in df[KEY]]
        self._order = keys
        selected = self.select.value
        labels = []
        records: list[dict[Any, Any]] = df.to_dict("records")
        for i, (key, d) in enumerate(zip(keys, records, strict=True)):
            title = d.get("title")
            title = "untitled" if _isna(title) or not title else title
            labels.append((f"{i + 1}. {title} — {d.get('provider', '')} — {d.get('status', '')}", key))
        self._quiet = True  # re-listing the rows is not the user picking one
        try:
            self.select.options = labels
            self.select.value = selected if selected in keys else None
        finally:
            self._quiet = False
        self._render_table(df)
        self._render_chart()

    def _render_chart(self, change: Any = None) -> None:
        df = self.sorted_frame()
        metric = self.metric.value
        if df is None or not metric or metric not in df.columns:
            self.chart.value = ""
            return
        items = []
        for i, (_, row) in enumerate(df.iterrows()):
            v = row[metric]
            label = f"{i + 1}. {row.get('title') or 'untitled'} ({row.get('provider', '')})"
            items.append((label, None if _isna(v) else float(v)))
        unit = " s" if metric.endswith("_s") else (" LUFS" if "lufs" in metric else "")
        self.chart.value = _html.bars(items, unit=unit, title=f"compare: {LABELS.get(metric, metric)}")

    def _on_select(self, change: Any) -> None:
        if self._quiet:
            return
        key = self.select.value
        self._render_table_only()
        job = self.jobs.get(key) if key else None
        if job is not None:
            for cb in list(self._callbacks):
                cb(job)

    def _render_table_only(self) -> None:
        df = self.sorted_frame()
        if df is not None:
            self._render_table(df)


def _isna(v: Any) -> bool:
    import pandas as pd  # already loaded whenever there is a frame; not at import time

    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
