"""Small HTML builders for the panels. Every piece of user or provider text goes through ``esc``.

ipywidgets' ``HTML`` widget sets ``innerHTML``: a ``<script>`` would not run there, but an
``<img onerror=…>`` would. So nothing reaches a widget's HTML without ``html.escape``.
"""

from __future__ import annotations

import html
import math
import traceback
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "STATUS_COLOURS",
    "bars",
    "count_badge",
    "error_box",
    "esc",
    "format_elapsed",
    "issues_list",
    "status_badge",
    "table",
]

#: Colour of each job status (and of the widget-side states "submitting" and "error").
STATUS_COLOURS: dict[str, str] = {
    "submitting": "#6b7280",
    "queued": "#6b7280",
    "running": "#2563eb",
    "completed": "#15803d",
    "moderated": "#b45309",
    "failed": "#b91c1c",
    "cancelled": "#6b7280",
    "error": "#b91c1c",
    "unwatched": "#9ca3af",
}
_LEVEL_COLOURS = {"ok": "#15803d", "near": "#b45309", "over": "#b91c1c", "none": "#6b7280"}


def esc(value: Any) -> str:
    """``value`` as text, HTML-escaped (quotes too). ``None`` becomes the empty string."""
    return "" if value is None else html.escape(str(value), quote=True)


def status_badge(status: str) -> str:
    """A coloured pill with the status name."""
    colour = STATUS_COLOURS.get(status, "#6b7280")
    return (f'<span class="mnb-status mnb-status-{esc(status)}" style="background:{colour};color:white;'
            f'border-radius:8px;padding:1px 8px;font-size:12px;white-space:nowrap">{esc(status)}</span>')


def count_badge(count: int, limit: int | None, level: str) -> str:
    """``"123 / 600 characters"`` coloured by ``level`` (``ok``, ``near``, ``over`` or ``none``)."""
    colour = _LEVEL_COLOURS.get(level, "#6b7280")
    text = f"{count} / {limit} characters" if limit else f"{count} characters"
    return (f'<span class="mnb-count mnb-count-{esc(level)}" style="color:{colour};font-weight:600">'
            f"{esc(text)}</span>")


def issues_list(issues: Iterable[tuple[str, str, str]]) -> str:
    """Validation findings as a list: ``(level, field, message)`` triples; empty string when none."""
    items = []
    for level, field, message in issues:
        colour = "#b91c1c" if level == "error" else "#b45309"
        icon = "✖" if level == "error" else "⚠"
        items.append(f'<li class="mnb-issue mnb-issue-{esc(level)}" style="color:{colour}">{icon} '
                     f"<b>{esc(field)}</b>: {esc(message)}</li>")
    if not items:
        return ""
    return '<ul class="mnb-issues" style="margin:2px 0;padding-left:18px">' + "".join(items) + "</ul>"


def error_box(exc: BaseException, context: str = "") -> str:
    """An exception with its traceback, escaped, in a red box (shown in the panel where it happened)."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    head = f"{context}: " if context else ""
    return ('<div class="mnb-error" style="border:1px solid #b91c1c;background:#fef2f2;color:#7f1d1d;'
            'padding:4px 8px;border-radius:4px">'
            f"<b>{esc(head)}{esc(type(exc).__name__)}: {esc(exc)}</b>"
            f'<details><summary>traceback</summary><pre style="white-space:pre-wrap;font-size:11px">'
            f"{esc(tb)}</pre></details></div>")


def format_elapsed(seconds: float | None) -> str:
    """``"1:05"`` for 65 s; ``""`` for ``None``."""
    if seconds is None or math.isnan(seconds):
        return ""
    s = int(max(0.0, seconds))
    return f"{s // 60}:{s % 60:02d}"


def _cell(value: Any, limit: int = 20) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"
    text = str(value)
    if len(text) > limit:  # long styles/titles: shortened, the whole text in the tooltip
        return f'<span title="{esc(text)}">{esc(text[: limit - 1])}…</span>'
    return esc(text)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, selected: int | None = None,
          sort_by: str | None = None, ascending: bool = True, labels: Mapping[str, str] | None = None) -> str:
    """A plain HTML table; the ``selected`` row (index into ``rows``) is highlighted.

    ``labels`` gives short headings for column names. Wide tables scroll sideways.
    """
    arrow = " ▲" if ascending else " ▼"
    labels = labels or {}
    head = "".join(
        f'<th style="text-align:left;padding:2px 6px;border-bottom:1px solid #999;white-space:nowrap">'
        f"{esc(labels.get(c, c))}{arrow if c == sort_by else ''}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        style = "background:#dbeafe;" if i == selected else ""
        cells = "".join(f'<td style="padding:2px 6px;white-space:nowrap">{_cell(v)}</td>' for v in row)
        body.append(f'<tr class="mnb-row" data-row="{i}" style="{style}">{cells}</tr>')
    return ('<div style="overflow-x:auto;max-width:100%">'
            '<table class="mnb-table" style="border-collapse:collapse;font-size:12px;line-height:1.4">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def bars(items: Sequence[tuple[str, float | None]], *, unit: str = "", title: str = "") -> str:
    """A tiny horizontal bar chart (pure HTML/CSS) of ``(label, value)`` pairs."""
    values = [v for _, v in items if v is not None and not math.isnan(v)]
    top = max(values, default=0.0)
    lo = min(values, default=0.0)
    # negative measures (LUFS, dBFS): bars show the distance from the lowest value
    base = lo if lo < 0 else 0.0
    span = (top - base) or 1.0
    rows = []
    for label, v in items:
        if v is None or math.isnan(v):
            width, text = 0.0, "n/a"
        else:
            width = 8 + 92 * (v - base) / span if lo < 0 else 100 * v / span
            text = f"{v:.1f}{unit}"
        rows.append(
            '<div style="display:flex;align-items:center;gap:6px;font-size:11px">'
            '<span style="width:140px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap">'
            f'{esc(label)}</span><span style="flex:1;background:#f3f4f6">'
            f'<span style="display:block;height:10px;width:{width:.1f}%;background:#60a5fa"></span></span>'
            f'<span style="width:70px">{esc(text)}</span></div>')
    head = f'<div style="font-size:12px;font-weight:600">{esc(title)}</div>' if title else ""
    return f'<div class="mnb-chart">{head}{"".join(rows)}</div>'
