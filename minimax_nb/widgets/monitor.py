"""JobMonitor: one live row per generation (title, provider, status, progress, elapsed, error, stop)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from minimax_nb.widgets import _html
from minimax_nb.widgets.bridge import Run

__all__ = ["JobMonitor", "MonitorRow"]

_BAR_STYLES = {"completed": "success", "moderated": "warning", "failed": "danger", "error": "danger",
               "cancelled": "warning"}


class MonitorRow(w.HBox):  # type: ignore[misc]
    """The widgets of one run: title, status, progress bar, ``info`` (elapsed time and error), stop.

    ``update`` only assigns values that changed, and the bar's value and colour go in one message, so a
    flush costs a row at most one bar message plus one ``info`` message a second (elapsed time); the
    status and title change a few times in a job's life.
    """

    def __init__(self, run: Run, on_stop: Callable[[str], None]) -> None:
        self.run_id = run.id
        self.title = w.HTML(layout=w.Layout(width="28%"))
        self.status = w.HTML(layout=w.Layout(width="100px"))
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="20%"))
        self.info = w.HTML(layout=w.Layout(flex="1 1 auto", width="auto"))
        self.stop = w.Button(description="stop watching", layout=w.Layout(width="auto", min_width="130px"),
                             tooltip="stop updating this row (the job goes on and is saved in the ledger)")
        self.stop.on_click(lambda _: on_stop(self.run_id))
        super().__init__([self.title, self.status, self.bar, self.info, self.stop],
                         layout=w.Layout(align_items="center", width="100%"))
        self.add_class("mnb-monitor-row")
        self.status.add_class("mnb-row-status")
        self.info.add_class("mnb-row-info")
        self.bar.add_class("mnb-row-bar")

    def update(self, run: Run, now: float) -> None:
        """Show ``run`` as of ``now`` (monotonic seconds)."""
        state = run.state if run.watching or run.done else "unwatched"
        title = (f"<b>{_html.esc(run.title)}</b><br><span style='color:#6b7280;font-size:11px'>"
                 f"{_html.esc(run.provider)}{' · ' + _html.esc(run.model) if run.model else ''}</span>")
        self._set(self.title, "value", title)
        self._set(self.status, "value", _html.status_badge(state))
        value, style = round(run.progress(now), 2), _BAR_STYLES.get(run.state, "")
        if (self.bar.value, self.bar.bar_style) != (value, style):
            with self.bar.hold_sync():  # one message for both
                self.bar.value, self.bar.bar_style = value, style
        info = (f"<span class='mnb-row-elapsed' style='display:inline-block;width:44px'>"
                f"{_html.format_elapsed(run.elapsed(now))}</span>")
        if run.error:
            info += ("<span class='mnb-row-error' style='color:#b91c1c;font-size:11px'>"
                     f"{_html.esc(run.error)}</span>")
        self._set(self.info, "value", info)
        self._set(self.stop, "disabled", run.done or not run.watching)

    @staticmethod
    def _set(widget: w.Widget, name: str, value: Any) -> None:
        if getattr(widget, name) != value:
            setattr(widget, name, value)


class JobMonitor(w.VBox):  # type: ignore[misc]
    """Live rows, one per run, fed by a ``Bridge`` listener (``update``).

    Rows are created on first sight of a run, then updated in place. The bridge coalesces updates, so a
    row changes at most a few times a second; a row only sends what actually changed.
    """

    def __init__(self, *, on_stop: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rows: dict[str, MonitorRow] = {}
        self._on_stop = on_stop or (lambda _id: None)
        self._clock = clock
        self.header = w.HTML("<b>Jobs</b> <span style='color:#6b7280'>(none yet)</span>")
        self.clear_button = w.Button(description="clear finished", layout=w.Layout(width="auto"))
        self.clear_button.on_click(lambda _: self.clear_finished())
        self.errors = w.HTML()
        self.errors.add_class("mnb-errors")
        self.body = w.VBox([])
        self._done: set[str] = set()
        super().__init__([w.HBox([self.header, self.clear_button], layout=w.Layout(align_items="center")),
                          self.body, self.errors], layout=w.Layout(width="100%"))
        self.add_class("mnb-monitor")

    def update(self, run: Run) -> None:
        """Add or refresh the row of ``run`` (called from the bridge's ticker thread)."""
        row = self.rows.get(run.id)
        if row is None:
            row = MonitorRow(run, self._stop)
            self.rows[run.id] = row
            self.body.children = (*self.body.children, row)
        row.update(run, self._clock())
        if run.done:
            self._done.add(run.id)
        self._set_header()

    def clear_finished(self) -> None:
        """Remove the rows of finished runs."""
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

    def _set_header(self) -> None:
        n = len(self.rows)
        active = n - len(self._done)
        text = f"<b>Jobs</b> <span style='color:#6b7280'>({n} shown, {active} running)</span>"
        if self.header.value != text:
            self.header.value = text
