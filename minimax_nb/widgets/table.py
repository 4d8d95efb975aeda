"""ResultsTable: the session's jobs as a sortable table; the selected row drives the Player; a small chart."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from minimax_nb.models import Job
from minimax_nb.widgets import _html

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ResultsTable", "jobs_frame", "ledger_frame"]

#: Columns shown when the frame has them, in this order.
SHOWN = ("title", "variant", "provider", "status", "style", "latency_s", "generation_s",
         "measured_duration_s", "reported_duration_s", "loudness_lufs", "tempo_bpm")
#: Short headings for the table.
LABELS = {"latency_s": "latency s", "generation_s": "gen. s", "measured_duration_s": "length s",
          "reported_duration_s": "length s", "loudness_lufs": "LUFS", "tempo_bpm": "BPM", "variant": "v"}
#: Column widths in pixels (the header buttons and the table cells share them, so they line up).
WIDTHS = {"title": 190, "variant": 34, "provider": 80, "status": 96, "style": 170}
NUMBER_WIDTH = 78
#: Numeric columns offered by the chart, when present.
CHART_METRICS = ("latency_s", "generation_s", "measured_duration_s", "reported_duration_s", "loudness_lufs",
                 "tempo_bpm")
KEY = "key"
#: The longest a big table waits between two drawings of new rows (seconds).
MAX_RENDER_PAUSE = 0.5


def jobs_frame(jobs: Sequence[Job], *, measure: bool = False,
               executor: Executor | None = None) -> pd.DataFrame:
    """The results frame of ``jobs`` themselves (``minimax_nb.results.jobs_frame``: no ledger needed),
    plus a ``key`` column (the job's ``local_id``). For a session with the ledger off, and for the
    quick first version of a row (nothing decoded). ``executor``: where files are decoded when
    ``measure``.
    """
    from minimax_nb.results import jobs_frame as results_jobs_frame

    df = results_jobs_frame(jobs, measure=measure, executor=executor)
    df.insert(0, KEY, df["local_id"].astype(str))
    return df


def ledger_frame(ledger: Any = None, *, measure: bool = True,
                 executor: Executor | None = None) -> Callable[[Sequence[Job]], pd.DataFrame]:
    """``frame(jobs)``: the rows of ``jobs`` with the columns of ``minimax_nb.results.results()``, plus a
    ``key`` column. Only these jobs are read and measured (never the whole ledger: a table that adds
    one song must not decode a library), and their measurements go to ``ledger``'s facts cache, so a
    later ``results(ledger)`` finds them. ``ledger``: a ``Ledger``, a path, or ``None`` (the default
    ledger). ``executor``: where new files are decoded (see ``results()``; the studio passes a process
    pool, so decoding never holds the kernel).
    """

    where: list[Path | None] = []  # the facts cache's file (None: in memory), found on first use

    def frame(jobs: Sequence[Job]) -> pd.DataFrame:
        from minimax_nb.results import jobs_frame as results_jobs_frame
        from minimax_nb.results.audio_facts import FactsCache
        from minimax_nb.results.frame import open_ledger

        if not measure or not jobs:
            return jobs_frame(jobs)
        if not where:  # the ledger is opened once, to find its facts cache; each batch opens only that
            led, owned = open_ledger(ledger)
            try:
                first = FactsCache.for_ledger(led)  # creates the file (with a legacy import) once
                where.append(first.path)
                first.close()
            finally:
                if owned:
                    led.close()
        cache = FactsCache(where[0])
        try:
            df = results_jobs_frame(list(jobs), measure=True, executor=executor, cache=cache)
        finally:
            cache.close()
        df.insert(0, KEY, df["local_id"].astype(str))
        return df

    return frame


class ResultsTable(w.VBox):  # type: ignore[misc]
    """The jobs of this session from the results DataFrame.

    Sort with the column dropdown and the ↑/↓ toggle; pick a row in the list below the table to play it
    (``on_select(callback)`` gets the ``Job``); the chart compares one numeric column across rows.

    Args:
        frame: ``frame(jobs) -> DataFrame`` with a ``key`` column of ``local_id`` values;
            default ``ledger_frame()``: ``minimax_nb.results.results()`` of the default ledger.
    """

    def __init__(self, *, frame: Callable[[Sequence[Job]], pd.DataFrame] | None = None,
                 measured: Callable[[Sequence[Job]], pd.DataFrame] | None = None) -> None:
        self._frame_fn = frame or ledger_frame()
        self._measured_fn = measured
        self._lock = threading.RLock()
        #: Held by the event handlers; the studio shares its bridge's ``ui_lock`` (see ``Bridge``).
        self.ui_lock: AbstractContextManager[Any] = threading.RLock()
        self.jobs: dict[str, Job] = {}
        #: The variant number of a job (``local_id`` -> n) when it was one of several from one Generate.
        self.variants: dict[str, int] = {}
        self.df: pd.DataFrame | None = None
        self._order: list[str] = []
        self._quiet = False
        self._callbacks: list[Callable[[Job], None]] = []
        #: ``defer(fn)`` runs ``fn`` later on the thread that writes the widgets (the studio passes its
        #: bridge's ``post``). With it, new rows are drawn at once unless the table was drawn a moment
        #: ago; then at a later flush, so drawing takes at most ``max_render_share`` of the CPU time (200
        #: rows take ~40 ms to draw; drawn after every batch, they held the kernel's GIL), never waiting
        #: more than ``MAX_RENDER_PAUSE``. Without it: always at once.
        self.defer: Callable[[Callable[[], None]], None] | None = None
        self.max_render_share = 0.1
        self._render_pending = False
        self._render_posted = False
        self._next_render_at = 0.0
        self._want_selected: str | None = None
        self.sort_by = w.Dropdown(options=["(added)"], value="(added)", description="Sort by",
                                  layout=w.Layout(width="240px"))
        self.ascending = w.ToggleButton(value=True, description="↑ ascending", layout=w.Layout(width="120px"))
        self.table = w.HTML(layout=w.Layout(width="max-content", min_width="100%"))
        #: Clickable column headings: a click sorts by that column, a second click reverses the order.
        self.header = w.HBox([], layout=w.Layout(width="max-content", flex_flow="row nowrap"))
        self.header.add_class("mnb-thead")
        self._scroll = w.VBox([self.header, self.table], layout=w.Layout(
            width="100%", overflow="auto hidden", align_items="flex-start"))
        self._scroll.add_class("mnb-scroll")
        self._header_cols: list[str] = []
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
        sort_row = w.HBox([self.sort_by, self.ascending], layout=w.Layout(flex_flow="row wrap"))
        sort_row.add_class("mnb-wrap")
        super().__init__([title, sort_row, self._scroll, self.select, self.metric, self.chart, self.errors],
                         layout=w.Layout(width="100%", min_width="0"))
        self.add_class("mnb-results")

    # ------------------------------------------------------------------ API
    def add(self, job: Job, variant: int | None = None) -> None:
        """Add (or replace) a job and rebuild the frame."""
        with self._lock:
            self.jobs[job.local_id] = job
            if variant:
                self.variants[job.local_id] = variant
            self.refresh()

    def prepare(self, jobs: Sequence[Job]) -> pd.DataFrame:
        """The frame rows of ``jobs`` alone (measuring their audio when the frame does). Touches no widget:
        the studio runs it in a worker thread, then hands the result to ``merge`` on the ticker."""
        return self._frame_fn(list(jobs))

    def prepare_measured(self, jobs: Sequence[Job]) -> pd.DataFrame | None:
        """The rows of ``jobs`` with their audio measured (``measured`` given at construction), or
        ``None``. Slow (decodes files): the studio runs it on a lane of its own after ``prepare``'s quick
        rows are shown, then hands the rows to ``update_rows``."""
        return None if self._measured_fn is None else self._measured_fn(list(jobs))

    def merge(self, jobs: Sequence[Job], rows: pd.DataFrame,
              variants: Mapping[str, int] | None = None) -> None:
        """Add ``jobs`` with their ready-made frame ``rows`` (from ``prepare``): the rows already shown keep
        their place (a row given again is replaced where it stands), new ones join at the end (one
        re-render for the whole batch)."""
        try:
            with self._lock:
                for j in jobs:
                    self.jobs[j.local_id] = j
                self.variants.update(variants or {})
                self._set_frame(self._merged(rows, add=True))
        except Exception as e:
            self.errors.value = _html.error_box(e, "adding results")

    def update_rows(self, rows: pd.DataFrame) -> int:
        """Replace the shown rows that ``rows`` has a newer version of (the measured columns filled in),
        in place; rows of jobs not shown are ignored. One re-render; returns how many were replaced."""
        try:
            with self._lock:
                if self.df is None or not len(rows):
                    return 0
                shown = set(self.df[KEY].astype(str))
                rows = rows[rows[KEY].astype(str).isin(shown)]
                if not len(rows):
                    return 0
                self._set_frame(self._merged(rows, add=False))
                return len(rows)
        except Exception as e:
            self.errors.value = _html.error_box(e, "updating results")
            return 0

    def _merged(self, rows: pd.DataFrame, *, add: bool) -> pd.DataFrame:
        import pandas as pd

        if self.df is None or not len(self.df):
            return rows.reset_index(drop=True)
        if not len(rows):
            return self.df
        old_keys = [str(k) for k in self.df[KEY]]
        new_keys = [str(k) for k in rows[KEY]]
        order = {k: i for i, k in enumerate(old_keys)}
        for k in new_keys:
            if add:
                order.setdefault(k, len(order))
        kept = self.df[~self.df[KEY].astype(str).isin(set(new_keys))]
        from minimax_nb.results import apply_dtypes

        df = apply_dtypes(pd.concat([kept, rows], ignore_index=True), only_mismatched=True)
        df = df[df[KEY].astype(str).isin(order.keys())]
        return df.sort_values(KEY, key=lambda col: col.astype(str).map(order), kind="stable").reset_index(
            drop=True)

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
            with self._lock:
                self._set_frame(self._frame_fn(list(self.jobs.values())))
        except Exception as e:
            self.errors.value = _html.error_box(e, "building the results table")

    def _set_frame(self, df: pd.DataFrame) -> None:
        """Show ``df`` (the variant numbers this table knows fill its ``variant`` column)."""
        if self.variants:
            known = df[KEY].astype(str).map(lambda k: self.variants.get(k))
            df = df.assign(variant=known.where(known.notna(), df["variant"]) if "variant" in df.columns
                           else known)
        self.df = df
        cols = [c for c in SHOWN if c in df.columns]
        metrics = [c for c in CHART_METRICS if c in df.columns]
        with self.hold_trait_notifications():
            if list(self.sort_by.options) != ["(added)", *cols]:
                old = self.sort_by.value
                self.sort_by.options = ["(added)", *cols]
                self.sort_by.value = old if old in cols else "(added)"
            metrics = [c for c in metrics if bool(df[c].notna().any())]
            if list(self.metric.options) != metrics:
                old_m = self.metric.value
                self.metric.options = metrics
                self.metric.value = old_m if old_m in metrics else (metrics[0] if metrics else None)
        self._request_render()

    def _request_render(self) -> None:
        if self.defer is None:
            self._render()
            return
        self._render_pending = True
        if self._render_posted:
            return
        if time.monotonic() >= self._next_render_at:
            self._timed_render()  # not drawn lately: now
            return
        self._render_posted = True  # drawn a moment ago: at a later flush
        self.defer(self._render_later)

    def _render_later(self) -> None:
        self._render_posted = False
        if self._render_pending:
            self._request_render()

    def _timed_render(self) -> None:
        with self._lock:
            t0 = time.thread_time()  # CPU time: waiting for the GIL is not drawing
            self._render()
            pause = min(MAX_RENDER_PAUSE, (time.thread_time() - t0) / self.max_render_share)
            self._next_render_at = time.monotonic() + pause

    def on_select(self, callback: Callable[[Job], None]) -> None:
        """Call ``callback(job)`` when the user picks a row."""
        self._callbacks.append(callback)

    def select_job(self, job: Job) -> None:
        """Select ``job``'s row (as if the user picked it)."""
        if job.local_id not in self.jobs:
            return
        if self._render_pending:  # its row is not drawn yet: picked when it is
            self._want_selected = job.local_id
            return
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
            with self.ui_lock:
                try:
                    fn(*args)
                except Exception as e:
                    self.errors.value = _html.error_box(e, "results table")

        return wrapped

    def sort_by_header(self, column: str) -> None:
        """What a click on a column heading does: sort by it; the same heading again reverses the order."""
        if column not in list(self.sort_by.options):
            return
        if self.sort_by.value == column:
            self.ascending.value = not self.ascending.value
        else:
            self.sort_by.value = column

    def _render_header(self, cols: list[str], widths: list[int]) -> None:
        sort = self.sort_by.value
        arrow = " ▲" if self.ascending.value else " ▼"
        if self._header_cols != cols or len(self.header.children) != len(cols):
            buttons = []
            for c, px in zip(cols, widths, strict=True):
                b = w.Button(layout=w.Layout(width=f"{px}px", min_width=f"{px}px", height="24px", margin="0"),
                             tooltip=f"sort by {LABELS.get(c, c)}")
                b.add_class("mnb-th")
                b.add_class(f"mnb-th-{c}")
                b.on_click(self._guard(lambda _b, col=c: self.sort_by_header(col)))
                buttons.append(b)
            old = self.header.children
            self.header.children = tuple(buttons)
            for b in old:
                b.close()
            self._header_cols = list(cols)
        for c, b in zip(cols, self.header.children, strict=True):
            text = f"{LABELS.get(c, c)}{arrow if c == sort else ''}"
            if b.description != text:
                b.description = text
            if c == sort:
                b.add_class("mnb-th-sorted")
            else:
                b.remove_class("mnb-th-sorted")

    def _on_direction(self, change: Any = None) -> None:
        self.ascending.description = "↑ ascending" if self.ascending.value else "↓ descending"
        self._render()

    def _columns(self, df: pd.DataFrame) -> list[str]:
        """The shown columns present in ``df`` that hold at least one value (one length column)."""
        cols = [c for c in SHOWN if c in df.columns and (c in ("title", "provider", "status")
                                                          or bool(df[c].notna().any()))]
        if "variant" in cols and not bool((df["variant"].fillna(1).astype(float) > 1).any()):
            cols.remove("variant")  # one song per Generate: no variant column
        if "measured_duration_s" in cols and "reported_duration_s" in cols:
            cols.remove("reported_duration_s")
        return cols

    def _render_table(self, df: pd.DataFrame) -> None:
        cols = self._columns(df)
        keys = [str(k) for k in df[KEY]]
        sel = self.select.value
        rows = [[None if _isna(v) else v for v in r] for r in df[cols].itertuples(index=False, name=None)]
        if "variant" in cols:
            i = cols.index("variant")
            rows = [[*r[:i], None if r[i] is None else f"v{int(str(r[i]).split('.')[0])}", *r[i + 1:]]
                    for r in rows]
        widths = [WIDTHS.get(c, NUMBER_WIDTH) for c in cols]
        self._render_header(cols, widths)
        self.table.value = _html.table(cols, rows, selected=keys.index(sel) if sel in keys else None,
                                       labels=LABELS, widths=widths, header=False)

    def _render(self, change: Any = None) -> None:
        df = self.sorted_frame()
        if df is None:
            return
        self._render_pending = False
        keys = [str(k) for k in df[KEY]]
        self._order = keys
        selected = self.select.value
        labels = []
        n = len(df)

        def column(name: str) -> list[Any]:  # plain values, one column at a time (no per-row Series)
            return df[name].tolist() if name in df.columns else [None] * n

        numbered = "variant" in df.columns and bool((df["variant"].fillna(1).astype(float) > 1).any())
        for i, (key, title, v, provider, status) in enumerate(zip(
                keys, column("title"), column("variant"), column("provider"), column("status"), strict=True)):
            title = "untitled" if _isna(title) or not title else title
            if numbered and not _isna(v) and v is not None:
                title = f"{title} (v{int(v)})"
            labels.append((f"{i + 1}. {title} — {'' if _isna(provider) else provider} — "
                           f"{'' if _isna(status) else status}", key))
        self._quiet = True  # re-listing the rows is not the user picking one
        try:
            with self.select.hold_sync():  # options and value in one message: the page never sees a gap
                self.select.options = labels
                self.select.value = selected if selected in keys else None
        finally:
            self._quiet = False
        want, self._want_selected = self._want_selected, None
        if want is not None and want in keys and want != self.select.value:
            self.select.value = want  # a pick made while the row was not drawn yet (drives the player)
            self._render_chart()  # _on_select has drawn the table
            return
        self._render_table(df)
        self._render_chart()

    def _render_chart(self, change: Any = None) -> None:
        df = self.sorted_frame()
        metric = self.metric.value
        if df is None or not metric or metric not in df.columns:
            self.chart.value = ""
            return
        items = []
        n = len(df)
        titles = df["title"].tolist() if "title" in df.columns else [None] * n
        providers = df["provider"].tolist() if "provider" in df.columns else [""] * n
        for i, (title, provider, v) in enumerate(zip(titles, providers, df[metric].tolist(), strict=True)):
            title = "untitled" if _isna(title) or not title else title
            label = f"{i + 1}. {title} ({'' if _isna(provider) else provider})"
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
