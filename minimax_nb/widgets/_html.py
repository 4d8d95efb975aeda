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
    "MUTED",
    "STATUS_COLOURS",
    "THEME_CSS",
    "bars",
    "count_badge",
    "error_box",
    "esc",
    "format_elapsed",
    "issues_list",
    "status_badge",
    "table",
]

# Colours come from JupyterLab's theme variables (``--jp-*``), so the panels follow the light and dark
# themes; each has a fallback for front ends without them (Colab, plain HTML exports). Voila and VS Code
# define the ``--jp-*`` variables.
#: Secondary text (hints, units, provider names).
MUTED = "var(--jp-ui-font-color2, #6b7280)"
#: Normal text.
TEXT = "var(--jp-ui-font-color1, #1f2937)"
OK = "var(--jp-success-color0, #15803d)"
WARN = "var(--jp-warn-color0, #b45309)"
BAD = "var(--jp-error-color0, #b91c1c)"
INFO = "var(--jp-brand-color1, #2563eb)"
BORDER = "var(--jp-border-color2, #e5e7eb)"
TRACK = "var(--jp-layout-color2, #f3f4f6)"
BAR = "var(--jp-brand-color2, #60a5fa)"
#: Colour of each job status (and of the widget-side labels "error" for a request refused before any
#: job existed, and "unwatched").
STATUS_COLOURS: dict[str, str] = {
    "submitting": "var(--jp-inverse-layout-color4, #6b7280)",
    "ambiguous": WARN,
    "queued": "var(--jp-inverse-layout-color4, #6b7280)",
    "running": "var(--jp-brand-color0, #1d4ed8)",
    "completed": OK,
    "moderated": WARN,
    "failed": BAD,
    "cancelled": "var(--jp-inverse-layout-color4, #6b7280)",
    "lost": BAD,
    "error": BAD,
    "unwatched": "var(--jp-inverse-layout-color4, #6b7280)",
}
_LEVEL_COLOURS = {"ok": OK, "near": WARN, "over": BAD, "none": MUTED}

#: The panels' stylesheet (the studio shows it once, in an ``HTML`` widget). The selected results row
#: mixes the theme's brand colour into its background and keeps the theme's strongest text colour, so it
#: reads in light and dark themes; the rest lays out the panels so they wrap from ~700 px to wide.
THEME_CSS = """<style>
.mnb-studio, .mnb-results, .mnb-monitor {color: var(--jp-ui-font-color1, #1f2937);}
.mnb-table {border-collapse: collapse; table-layout: fixed; font-size: 12px; line-height: 1.4;}
.mnb-table td {padding: 2px 6px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  border-bottom: 1px solid var(--jp-border-color2, #e5e7eb);}
.mnb-table tr.mnb-selected td {
  background: var(--jp-brand-color3, #dbeafe);
  background: color-mix(in srgb, var(--jp-brand-color1, #2563eb) 30%, var(--jp-layout-color0, #ffffff));
  color: var(--jp-ui-font-color0, #111827); font-weight: 600;}
.mnb-thead button.mnb-th {margin: 0; padding: 0 6px; text-align: left; font-size: 12px; font-weight: 600;
  border-radius: 0; overflow: hidden; text-overflow: ellipsis;}
.mnb-thead button.mnb-th-sorted {color: var(--jp-brand-color0, #1d4ed8);}
.mnb-scroll {overflow-x: auto !important;}
.mnb-wrap {flex-wrap: wrap !important; gap: 4px 12px;}
.mnb-studio .widget-button, .mnb-studio .jupyter-button {min-width: max-content;}
.mnb-monitor-row .mnb-row-error {color: var(--jp-error-color0, #b91c1c); font-size: 11px;}
</style>"""


def esc(value: Any) -> str:
    """``value`` as text, HTML-escaped (quotes too). ``None`` becomes the empty string."""
    return "" if value is None else html.escape(str(value), quote=True)


def status_badge(status: str) -> str:
    """A coloured pill with the status name."""
    colour = STATUS_COLOURS.get(str(status), MUTED)
    return (f'<span class="mnb-status mnb-status-{esc(status)}" style="background:{colour};color:#fff;'
            f'border-radius:8px;padding:1px 8px;font-size:12px;white-space:nowrap;display:inline-block;'
            f'min-width:72px;text-align:center">{esc(status)}</span>')


def count_badge(count: int, limit: int | None, level: str) -> str:
    """``"123 / 600 characters"`` coloured by ``level`` (``ok``, ``near``, ``over`` or ``none``)."""
    colour = _LEVEL_COLOURS.get(level, MUTED)
    text = f"{count} / {limit} characters" if limit else f"{count} characters"
    return (f'<span class="mnb-count mnb-count-{esc(level)}" style="color:{colour};font-weight:600">'
            f"{esc(text)}</span>")


def lyrics_insight(syllables: Sequence[int], lines: Sequence[str], sections: Iterable[tuple[str, int, int]],
                   length: str) -> str:
    """Before paying: the syllables of each sung line (a gutter beside the text), the section map
    (label, sung lines, syllables) and the estimated song length with its interval."""
    rows = "".join(
        f'<div style="white-space:nowrap;overflow:hidden;text-overflow:ellipsis">'
        f'<span style="display:inline-block;width:2.2em;text-align:right;color:{MUTED};margin-right:.6em">'
        f'{n if n else ""}</span>{esc(text) or "&nbsp;"}</div>'
        for n, text in zip(syllables, lines, strict=False))
    secs = " · ".join(f"{esc(label or 'intro')} ({sung} lines, {syl} syl.)" for label, sung, syl in sections)
    return (f'<details class="mnb-insight"><summary style="color:{MUTED}">estimated length '
            f'<b>{esc(length)}</b>{" · " + secs if secs else ""}</summary>'
            f'<div style="font-family:var(--jp-code-font-family, monospace);font-size:12px;'
            f'max-height:14em;overflow:auto">{rows}</div></details>')


def issues_list(issues: Iterable[tuple[str, str, str]]) -> str:
    """Validation findings as a list: ``(level, field, message)`` triples; empty string when none."""
    items = []
    for level, field, message in issues:
        colour = BAD if level == "error" else WARN
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
    return (f'<div class="mnb-error" style="border:1px solid {BAD};'
            'background:var(--jp-rendermime-error-background, #fef2f2);'
            'color:var(--jp-ui-font-color1, #7f1d1d);'
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
          sort_by: str | None = None, ascending: bool = True, labels: Mapping[str, str] | None = None,
          widths: Sequence[int] | None = None, header: bool = True) -> str:
    """A plain HTML table; the ``selected`` row (index into ``rows``) has the class ``mnb-selected``.

    ``labels`` gives short headings for column names. With ``widths`` (pixels per column) the table has a
    fixed layout of that width (long text ends in "…", the whole of it in the tooltip), so a row of
    header buttons of the same widths lines up with it; ``header=False`` leaves the ``<thead>`` out.
    Wide tables scroll sideways.
    """
    arrow = " ▲" if ascending else " ▼"
    labels = labels or {}
    head = ""
    if header:
        cells = "".join(
            f'<th style="text-align:left;padding:2px 6px;border-bottom:1px solid {BORDER};'
            'white-space:nowrap">'
            f"{esc(labels.get(c, c))}{arrow if c == sort_by else ''}</th>" for c in columns)
        head = f"<thead><tr>{cells}</tr></thead>"
    cols, width_css = "", ""
    if widths is not None:
        cols = "<colgroup>" + "".join(f'<col style="width:{int(px)}px">' for px in widths) + "</colgroup>"
        width_css = f"width:{sum(int(px) for px in widths)}px;"
    body = []
    for i, row in enumerate(rows):
        cls = "mnb-row mnb-selected" if i == selected else "mnb-row"
        if widths is None:
            tds = "".join(f'<td style="padding:2px 6px;white-space:nowrap">{_cell(v)}</td>' for v in row)
        else:  # fixed layout: CSS ends long text in "…"; every cell keeps its whole text in a tooltip
            tds = "".join(f'<td title="{esc(_plain(v))}">{_cell(v, 200)}</td>' for v in row)
        body.append(f'<tr class="{cls}" data-row="{i}">{tds}</tr>')
    return ('<div class="mnb-scroll" style="overflow-x:auto;max-width:100%">'
            f'<table class="mnb-table" style="border-collapse:collapse;font-size:12px;line-height:1.4;'
            f'{width_css}">{cols}{head}<tbody>{"".join(body)}</tbody></table></div>')


def _plain(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


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
            f'{esc(label)}</span><span style="flex:1;background:{TRACK}">'
            f'<span style="display:block;height:10px;width:{width:.1f}%;background:{BAR}"></span></span>'
            f'<span style="width:70px">{esc(text)}</span></div>')
    head = f'<div style="font-size:12px;font-weight:600">{esc(title)}</div>' if title else ""
    return f'<div class="mnb-chart">{head}{"".join(rows)}</div>'
