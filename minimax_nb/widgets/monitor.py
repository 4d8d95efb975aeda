"""JobMonitor: one live row per generation (title, provider, status, progress, elapsed, error, stop)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from minimax_nb.widgets import _html
from minimax_nb.widgets.bridge import Run

__all__ = ["JobMonitor", "MonitorRow"]

_BAR_STYLES = {"completed": "success", "moderated": "warning", "failed": "danger", "error": "danger",
               "cancelled": "warning", "lost": "danger", "ambiguous": "warning"}


class MonitorRow(w.HBox):  # type: ignore[misc]
    """The widgets of one run: title, status pill, progress bar, ``info`` (elapsed time and error text),
    stop/watch button.

    Title, pill and bar have fixed widths that never give way, so the pill and the bar stay in the same
    columns on every row, with or without error text (``info`` takes the rest and wraps onto the next
    line in a narrow output). ``update`` only assigns values that changed, and the bar's value and colour
    go in one message, so a flush costs a row at most one bar message plus one ``info`` message a second
    (elapsed time). "stop watching" shows only while the run is running and watched; a stopped row whose
    job still runs offers "watch again".
    """

    def __init__(self, run: Run, on_stop: Callable[[str], None],
                 on_watch: Callable[[str], None] | None = None, now: float | None = None) -> None:
        self.run_id = run.id
        # first values and CSS classes go in the widgets' opening messages: a row costs no extra
        # messages to set up (200 rows at once were ~1,500 class updates)
        now = time.monotonic() if now is None else now  # the monitor passes its own clock's time
        self.title = w.HTML(value=self._title(run),
                            layout=w.Layout(flex="0 0 30%", min_width="150px", overflow="hidden"))
        self.status = w.HTML(value=_html.status_badge(run.label), layout=w.Layout(flex="0 0 96px"),
                             _dom_classes=("mnb-row-status",))
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(flex="0 0 18%",
                                                                                 min_width="80px"),
                                   _dom_classes=("mnb-row-bar",))
        self.info = w.HTML(value=self._info(run, now), layout=w.Layout(flex="1 1 160px", min_width="0"),
                           _dom_classes=("mnb-row-info",))
        self.stop = w.Button(description="stop watching", layout=w.Layout(width="auto", min_width="130px"),
                             tooltip="stop updating this row (the job goes on and is saved in the ledger)",
                             _dom_classes=("mnb-stop",))
        self.watch = w.Button(description="watch again", layout=w.Layout(width="auto", min_width="110px",
                                                                         display="none"),
                              tooltip="update this row again", _dom_classes=("mnb-watch",))
        self.stop.on_click(lambda _: on_stop(self.run_id))
        self.watch.on_click(lambda _: (on_watch or (lambda _id: None))(self.run_id))
        super().__init__([self.title, self.status, self.bar, self.info, self.stop, self.watch],
                         layout=w.Layout(align_items="center", width="100%", flex_flow="row wrap"),
                         _dom_classes=("mnb-monitor-row", "mnb-wrap"))

    @staticmethod
    def _title(run: Run) -> str:
        variant = f" · v{run.variant}" if run.variant > 1 else ""
        return (f"<b>{_html.esc(run.title)}</b><br><span style='color:{_html.MUTED};font-size:11px'>"
                f"{_html.esc(run.provider)}{' · ' + _html.esc(run.model) if run.model else ''}"
                f"{variant}</span>")

    @staticmethod
    def _info(run: Run, now: float) -> str:
        info = (f"<span class='mnb-row-elapsed' style='display:inline-block;width:44px'>"
                f"{_html.format_elapsed(run.elapsed(now))}</span>")
        if run.error:
            info += f"<span class='mnb-row-error'>{_html.esc(run.error)}</span>"
        return info

    def update(self, run: Run, now: float) -> None:
        """Show ``run`` as of ``now`` (monotonic seconds)."""
        self._set(self.title, "value", self._title(run))
        self._set(self.status, "value", _html.status_badge(run.label))
        value, style = round(run.progress(now), 2), _BAR_STYLES.get(run.label, "")
        if (self.bar.value, self.bar.bar_style) != (value, style):
            with self.bar.hold_sync():  # one message for both
                self.bar.value, self.bar.bar_style = value, style
        self._set(self.info, "value", self._info(run, now))
        running = not run.done
        self._set(self.stop, "disabled", not (running and run.watching))
        self._set(self.stop.layout, "display", "" if running and run.watching else "none")
        self._set(self.watch.layout, "display", "" if running and not run.watching else "none")

    @staticmethod
    def _set(widget: Any, name: str, value: Any) -> None:
        if getattr(widget, name) != value:
            setattr(widget, name, value)


class JobMonitor(w.VBox):  # type: ignore[misc]
    """Live rows, one per run, fed by a ``Bridge`` listener (``update``).

    Rows are created on first sight of a run, then updated in place. The bridge coalesces updates, so a
    row changes at most a few times a second; a row only sends what actually changed. The header counts
    the runs still running and watched (a stopped row is not "running"). ``update`` and
    ``clear_finished`` change ``body.children`` under one lock; in the studio both run on the bridge's
    ticker (``post``), the one thread that writes the panels.
    """

    def __init__(self, *, on_stop: Callable[[str], None] | None = None,
                 on_watch: Callable[[str], None] | None = None,
                 post: Callable[[Callable[[], None]], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rows: dict[str, MonitorRow] = {}
        self._on_stop = on_stop or (lambda _id: None)
        self._on_watch = on_watch or (lambda _id: None)
        self._post = post or (lambda fn: fn())
        self._clock = clock
        self._lock = threading.RLock()
        self._active: set[str] = set()
        self.header = w.HTML(f"<b>Jobs</b> <span style='color:{_html.MUTED}'>(none yet)</span>")
        self.clear_button = w.Button(description="clear finished", layout=w.Layout(width="auto"))
        self.clear_button.add_class("mnb-clear")
        self.clear_button.on_click(lambda _: self._post(self.clear_finished))
        self.errors = w.HTML()
        self.errors.add_class("mnb-errors")
        self.body = w.VBox([], layout=w.Layout(width="100%"))
        self._done: set[str] = set()
        head = w.HBox([self.header, self.clear_button], layout=w.Layout(align_items="center"))
        head.add_class("mnb-wrap")
        super().__init__([head, self.body, self.errors], layout=w.Layout(width="100%"))
        self.add_class("mnb-monitor")

    def update(self, run: Run) -> None:
        """Add or refresh the row of ``run`` (called from the bridge's ticker thread)."""
        self.update_many([run])

    def update_many(self, runs: list[Run]) -> None:
        """``update`` for a whole flush: the new rows join ``body.children`` in one message (one per new
        row made the list, and each message, grow with every row: 200 rows sent ~20,000 ids)."""
        with self._lock:
            new: list[MonitorRow] = []
            now = self._clock()
            for run in runs:
                row = self.rows.get(run.id)
                if row is None:
                    row = MonitorRow(run, self._stop, self._watch, now)
                    self.rows[run.id] = row
                    new.append(row)
                row.update(run, now)
                if run.done:
                    self._done.add(run.id)
                if run.active:
                    self._active.add(run.id)
                else:
                    self._active.discard(run.id)
            if new:
                self.body.children = (*self.body.children, *new)
            self._set_header()

    def clear_finished(self) -> None:
        """Remove the rows of finished runs."""
        with self._lock:
            keep = [r for r in self.body.children if r.run_id not in self._done]
            for rid in list(self._done):
                row = self.rows.pop(rid, None)
                if row is not None:
                    row.close()
            self._done.clear()
            self.body.children = tuple(keep)
            self._set_header()

    def show_error(self, exc: BaseException, context: str = "") -> None:
        self.errors.value = _html.error_box(exc, context)

    def _stop(self, run_id: str) -> None:
        try:
            self._on_stop(run_id)
        except Exception as e:
            self.show_error(e, "stop watching")

    def _watch(self, run_id: str) -> None:
        try:
            self._on_watch(run_id)
        except Exception as e:
            self.show_error(e, "watch again")

    def _set_header(self) -> None:
        n = len(self.rows)
        active = len(self._active & set(self.rows))
        text = f"<b>Jobs</b> <span style='color:{_html.MUTED}'>({n} shown, {active} running)</span>"
        if self.header.value != text:
            self.header.value = text
