"""``listen(df)``: an HTML table with an inline ``<audio>`` player per row, for listening side by side.

Every piece of text from the DataFrame is escaped with ``html.escape`` (a ``<script>`` in a title shows
as text). A small file is embedded as a ``data:`` URL (it then plays anywhere, and is saved with the
notebook); a bigger one is linked by its path relative to the working directory (Jupyter serves files
under the notebook's directory), so the notebook stays small.
"""

from __future__ import annotations

import base64
import html
import math
import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["DEFAULT_COLUMNS", "audio_src", "listen", "listen_html"]

#: The columns ``listen`` shows (those present), besides the player.
DEFAULT_COLUMNS: tuple[str, ...] = ("provider", "model", "title", "style", "status", "latency_s",
                                    "measured_duration_s", "loudness_lufs", "tempo_bpm", "error")

_MIME = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
         ".m4a": "audio/mp4", ".aac": "audio/aac", ".opus": "audio/ogg"}

_STYLE = ("<style>.mnb-listen{border-collapse:collapse;font-size:13px}"
          ".mnb-listen th,.mnb-listen td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;"
          "vertical-align:middle}.mnb-listen td.num{text-align:right;font-variant-numeric:tabular-nums}"
          ".mnb-listen audio{height:32px;width:260px}</style>")


def audio_src(path: str | os.PathLike[str], *, embed_max_bytes: int = 1_000_000,
              relative_to: str | os.PathLike[str] | None = None) -> str | None:
    """The ``src`` for a player of ``path``: a ``data:`` URL when the file is at most
    ``embed_max_bytes``, else a URL-quoted path relative to ``relative_to`` (default: the working
    directory). ``None`` when the file does not exist. Not HTML-escaped yet."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError:
        return None
    mime = _MIME.get(p.suffix.lower(), "application/octet-stream")
    if size <= embed_max_bytes:
        return f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")
    start = Path(relative_to) if relative_to is not None else Path.cwd()
    try:
        rel = os.path.relpath(p.absolute(), start.absolute())
    except ValueError:  # another drive on Windows
        rel = str(p.absolute())
    return urllib.parse.quote(Path(rel).as_posix())


def _cell(value: Any) -> tuple[str, bool]:
    """The escaped text of one value, and whether it is a number."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "", False
    if isinstance(value, pd.Timestamp):
        return html.escape(value.strftime("%Y-%m-%d %H:%M:%S %Z")), False
    if isinstance(value, bool):
        return html.escape(str(value)), False
    if isinstance(value, float):
        return html.escape(f"{value:.2f}" if math.isfinite(value) else str(value)), True
    if isinstance(value, int):
        return html.escape(str(value)), True
    text = str(value)
    if len(text) > 200:
        text = text[:199] + "…"
    return html.escape(text, quote=True), False


def listen_html(df: pd.DataFrame, columns: Sequence[str] | None = None, *, max_rows: int = 100,
                embed_max_bytes: int = 1_000_000, embed_total_bytes: int = 8_000_000,
                relative_to: str | os.PathLike[str] | None = None) -> str:
    """The HTML that ``listen`` shows (a string).

    At most ``max_rows`` rows; files are embedded while each is at most ``embed_max_bytes`` and their
    total stays under ``embed_total_bytes``, then linked by relative path.
    """
    cols = [c for c in (columns if columns is not None else DEFAULT_COLUMNS) if c in df.columns]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols) + "<th>audio</th>"
    body: list[str] = []
    embedded = 0
    shown = df.head(max_rows)
    paths = shown["audio_path"] if "audio_path" in shown.columns else pd.Series(None, index=shown.index)
    for (_, row), path in zip(shown.iterrows(), paths, strict=True):
        cells = []
        for c in cols:
            text, numeric = _cell(row[c])
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        player = ""
        if isinstance(path, str) and path:
            budget = max(0, min(embed_max_bytes, embed_total_bytes - embedded))
            src = audio_src(path, embed_max_bytes=budget, relative_to=relative_to)
            if src is not None:
                if src.startswith("data:"):
                    embedded += os.path.getsize(path)
                player = (f'<audio controls preload="none" src="{html.escape(src, quote=True)}">'
                          "</audio>")
            else:
                player = "<em>file missing</em>"
        cells.append(f"<td>{player}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(df) > max_rows:
        more = f"<p>{len(df) - max_rows} more rows not shown (max_rows={max_rows}).</p>"
    return (f'{_STYLE}<table class="mnb-listen"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{more}")


def listen(df: pd.DataFrame, columns: Sequence[str] | None = None, *, max_rows: int = 100,
           embed_max_bytes: int = 1_000_000, embed_total_bytes: int = 8_000_000,
           relative_to: str | os.PathLike[str] | None = None) -> Any:
    """An ``IPython.display.HTML`` table of ``df`` with an ``<audio controls preload="none">`` per row.

    See ``listen_html`` for the arguments.
    """
    from IPython.display import HTML

    text = listen_html(df, columns, max_rows=max_rows, embed_max_bytes=embed_max_bytes,
                       embed_total_bytes=embed_total_bytes, relative_to=relative_to)
    return HTML(text)  # type: ignore[no-untyped-call,unused-ignore]
