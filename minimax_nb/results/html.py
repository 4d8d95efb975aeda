"""``listen(df)``: a compact listening view — the players first, one row per song, side by side.

Made to fit a normal notebook output (~850 px): each row starts with a small waveform over its player,
then the title (one line, cut with "…", the full text on hover) with provider · model · style under it,
the status, and a few short numeric columns; the view scrolls sideways rather than clip when columns
are added. Every piece of text from the DataFrame is escaped with ``html.escape``.

Audio is linked by default by its path relative to the working directory (the notebook's directory
under Jupyter; an exported HTML file next to the audio plays it too), so the notebook stays small. With
``embed=True`` files are embedded as ``data:`` URLs — playable anywhere (VS Code, Colab, nbviewer) —
while each is at most ``embed_max_bytes`` and all of them stay under ``embed_total_bytes``; the rest
stay linked. The waveform is an inline SVG computed from the decoded samples (soundfile, as the
measurements in ``audio_facts``), so it shows without any server.
"""

from __future__ import annotations

import base64
import html
import itertools
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from minimax_nb.display import audio_src as _display_audio_src
from minimax_nb.display import status_pill

__all__ = ["DEFAULT_COLUMNS", "audio_src", "listen", "listen_html", "waveform_html", "waveform_peaks",
           "waveform_svg"]

#: The numeric/short columns ``listen`` shows after the title and status (those present).
DEFAULT_COLUMNS: tuple[str, ...] = ("measured_duration_s", "loudness_lufs", "tempo_bpm", "latency_s",
                                    "est_cost_usd")

#: Column -> short heading.
_HEADINGS: Final = {"measured_duration_s": "dur s", "reported_duration_s": "dur s", "loudness_lufs": "LUFS",
                    "tempo_bpm": "BPM", "latency_s": "took s", "queue_s": "queue s",
                    "generation_s": "gen s", "est_cost_usd": "est $", "peak_dbfs": "peak dB",
                    "rms_dbfs": "RMS dB", "bitrate_kbps": "kbps"}

# Cell rules are scoped under the wrapper: JupyterLab right-aligns output table cells with a more specific
# rule (``:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td``), which a plain ``.mnb-listen td`` loses to.
_STYLE: Final = (
    "<style>.mnb-listen-wrap{overflow-x:auto;max-width:100%}"
    ".mnb-listen{border-collapse:collapse;font-size:12px;font-family:var(--jp-ui-font-family,system-ui,"
    "sans-serif);color:var(--jp-ui-font-color1,inherit)}"
    ".mnb-listen-wrap .mnb-listen th,.mnb-listen-wrap .mnb-listen td{"
    "border-bottom:1px solid var(--jp-border-color2,#ddd);padding:3px 6px;"
    "text-align:left;vertical-align:middle;white-space:nowrap}"
    ".mnb-listen-wrap .mnb-listen td.num,.mnb-listen-wrap .mnb-listen th.num{text-align:right;"
    "font-variant-numeric:tabular-nums}"
    ".mnb-listen td.play{width:250px;padding-left:0}"
    ".mnb-listen audio{height:30px;width:250px;display:block}"
    ".mnb-listen .mnb-wave{display:block;margin-bottom:1px}"
    ".mnb-listen .ttl{max-width:230px;overflow:hidden;text-overflow:ellipsis;font-weight:600}"
    ".mnb-listen .sub{max-width:230px;overflow:hidden;text-overflow:ellipsis;"
    "color:var(--jp-ui-font-color2,#666)}"
    ".mnb-listen .err{max-width:230px;overflow:hidden;text-overflow:ellipsis;"
    "color:var(--jp-error-color1,#d32f2f)}"
    ".mnb-pill{display:inline-block;border-radius:9px;padding:1px 8px;font-size:11px;font-weight:600}"
    "</style>"
)

_WAVE_BINS: Final = 125
_PEAK_MEMO: dict[tuple[str, int, int, int], list[float]] = {}


def audio_src(path: str | os.PathLike[str], *, embed_max_bytes: int = 0,
              relative_to: str | os.PathLike[str] | None = None) -> str | None:
    """The ``src`` for a player of ``path``: a ``data:`` URL when the file is at most ``embed_max_bytes``
    (default 0: never), else a URL-quoted path relative to ``relative_to`` (default: the working
    directory). ``None`` when the file does not exist. Not HTML-escaped yet."""
    return _display_audio_src(path, embed=embed_max_bytes > 0, embed_max_bytes=embed_max_bytes,
                              relative_to=relative_to)


def waveform_peaks(path: str | os.PathLike[str], bins: int = _WAVE_BINS) -> list[float] | None:
    """The peak level (0–1, max over channels) of each of ``bins`` equal slices of the decoded file;
    ``None`` when it cannot be decoded. Memoized per (path, size, mtime) in this process."""
    import soundfile as sf

    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None
    key = (str(p.absolute()), st.st_size, st.st_mtime_ns, bins)
    if key in _PEAK_MEMO:
        return _PEAK_MEMO[key]
    try:
        data, _rate = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception:  # undecodable: no picture
        return None
    mono = np.abs(data).max(axis=1) if data.size else np.zeros(0, dtype=np.float32)
    if mono.size == 0:
        peaks = [0.0] * bins
    else:
        edges = np.linspace(0, mono.size, bins + 1).astype(np.int64)
        peaks = [float(mono[a:b].max()) if b > a else 0.0 for a, b in itertools.pairwise(edges)]
    if len(_PEAK_MEMO) > 2048:
        _PEAK_MEMO.clear()
    _PEAK_MEMO[key] = peaks
    return peaks


def waveform_svg(peaks: Sequence[float], *, width: int = 250, height: int = 22,
                 colour: str = "#1976d2") -> str:
    """A small standalone SVG document of ``peaks`` (one bar per value, mirrored about the middle).

    ``colour`` goes into the markup as is: pass a constant, never user text."""
    n = max(1, len(peaks))
    step = width / n
    mid = height / 2
    top = max([*peaks, 1e-9])
    scale = 1.0 / top if top > 1.0 else 1.0
    parts = []
    for i, v in enumerate(peaks):
        h = max(0.5, min(1.0, float(v) * scale) * (mid - 1))
        parts.append(f"M{i * step + step / 2:.1f} {mid - h:.1f}V{mid + h:.1f}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" preserveAspectRatio="none"><path d="{"".join(parts)}" '
            f'stroke="{colour}" stroke-width="{max(0.6, step * 0.7):.2f}" fill="none"/></svg>')


def waveform_html(peaks: Sequence[float], *, width: int = 250, height: int = 22) -> str:
    """The waveform as an element that needs no ``<svg>``/``<img>`` in the page: a ``<div>`` painted in
    the theme's brand colour through a CSS mask made of ``waveform_svg`` (a ``data:`` URL of numbers)."""
    svg = waveform_svg(peaks, width=width, height=height, colour="#000")
    url = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("ascii")).decode("ascii")
    mask = f"url({url}) center/100% 100% no-repeat"
    return (f'<div class="mnb-wave" role="img" aria-label="waveform" style="width:{width}px;'
            f"height:{height}px;background:var(--jp-brand-color1,#1976d2);-webkit-mask:{mask};"
            f'mask:{mask}"></div>')


def _text(value: Any) -> str:
    """Plain text of a value ('' for missing), not escaped yet."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z")
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def _cell(value: Any, column: str = "") -> tuple[str, bool]:
    """The escaped text of one value, and whether it is a number."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "", False
    if isinstance(value, bool):
        return html.escape(str(value)), False
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return html.escape(str(value)), True
        fmt = "{:.3f}" if column == "est_cost_usd" else ("{:.0f}" if column == "tempo_bpm" else "{:.1f}")
        return html.escape(fmt.format(float(value))), True
    if isinstance(value, int | np.integer):
        return html.escape(str(int(value))), True
    return html.escape(_text(value), quote=True), False


def _get(row: pd.Series, name: str) -> Any:
    return row[name] if name in row.index else None


def listen_html(df: pd.DataFrame, columns: Sequence[str] | None = None, *, max_rows: int = 100,
                embed: bool = False, embed_max_bytes: int = 2_000_000, embed_total_bytes: int = 8_000_000,
                relative_to: str | os.PathLike[str] | None = None, waveform: bool = True) -> str:
    """The HTML that ``listen`` shows (a string).

    At most ``max_rows`` rows. ``columns``: the short columns after the title and status (default
    ``DEFAULT_COLUMNS``, those present). Audio is linked; with ``embed=True`` each file of at most
    ``embed_max_bytes`` is embedded while the total stays under ``embed_total_bytes``. ``waveform``:
    draw each file's waveform above its player.
    """
    cols = [c for c in (columns if columns is not None else DEFAULT_COLUMNS) if c in df.columns]
    head = ('<th class="play">audio</th><th>song</th><th>status</th>'
            + "".join(f'<th class="num" title="{html.escape(str(c), quote=True)}">'
                      f"{html.escape(_HEADINGS.get(str(c), str(c)))}</th>" for c in cols))
    body: list[str] = []
    embedded = 0
    outside = 0
    shown = df.head(max_rows)
    for _, row in shown.iterrows():
        path = _get(row, "audio_path")
        player = ""
        if isinstance(path, str) and path:
            budget = max(0, min(embed_max_bytes, embed_total_bytes - embedded)) if embed else 0
            src = audio_src(path, embed_max_bytes=budget, relative_to=relative_to)
            if src is None:
                player = "<em>file missing</em>"
            else:
                if src.startswith("data:"):
                    embedded += os.path.getsize(path)
                elif src.startswith(("..", "/")) or ":" in src.split("/", 1)[0]:
                    outside += 1  # above the notebook's folder: a Jupyter server cannot serve it
                wave = ""
                if waveform:
                    peaks = waveform_peaks(path)
                    wave = waveform_html(peaks) if peaks is not None else ""
                player = f'{wave}<audio controls preload="none" src="{html.escape(src, quote=True)}"></audio>'
        title = _text(_get(row, "title")) or "(untitled)"
        variant = _get(row, "variant")
        if isinstance(variant, int | np.integer) and not isinstance(variant, bool) and int(variant) > 1:
            title += f" (v{int(variant)})"
        sub = " · ".join(t for t in (_text(_get(row, "provider")), _text(_get(row, "model")),
                                     _text(_get(row, "style"))) if t)
        song = (f'<div class="ttl" title="{html.escape(title, quote=True)}">{html.escape(title)}</div>'
                f'<div class="sub" title="{html.escape(sub, quote=True)}">{html.escape(sub)}</div>')
        err = _text(_get(row, "error"))
        if err:
            song += f'<div class="err" title="{html.escape(err, quote=True)}">{html.escape(err)}</div>'
        status = _text(_get(row, "status"))
        cells = [f'<td class="play">{player}</td>', f"<td>{song}</td>",
                 f"<td>{status_pill(status) if status else ''}</td>"]
        for c in cols:
            text, numeric = _cell(row[c], str(c))
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(df) > max_rows:
        more = f"<p>{len(df) - max_rows} more rows not shown (max_rows={max_rows}).</p>"
    if outside:
        more += (f'<p class="mnb-note">{outside} file(s) are outside this folder, where Jupyter cannot '
                 "serve them: <code>listen(df, embed=True)</code> embeds them, or save the audio under "
                 "the notebook's folder (<code>download_dir=</code>).</p>")
    return (f'{_STYLE}<div class="mnb-listen-wrap"><table class="mnb-listen"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{more}</div>")


def listen(df: pd.DataFrame, columns: Sequence[str] | None = None, *, max_rows: int = 100,
           embed: bool = False, embed_max_bytes: int = 2_000_000, embed_total_bytes: int = 8_000_000,
           relative_to: str | os.PathLike[str] | None = None, waveform: bool = True) -> Any:
    """An ``IPython.display.HTML`` listening view of ``df``: a waveform and an ``<audio>`` player first
    on each row, then the song and a few short columns. See ``listen_html`` for the arguments."""
    from IPython.display import HTML

    text = listen_html(df, columns, max_rows=max_rows, embed=embed, embed_max_bytes=embed_max_bytes,
                       embed_total_bytes=embed_total_bytes, relative_to=relative_to, waveform=waveform)
    return HTML(text)  # type: ignore[no-untyped-call,unused-ignore]
