"""Rich notebook display of jobs: ``Job._repr_html_``, ``Jobs`` (a list that displays as a table).

Pure and stdlib-only (no pandas, no IPython): everything builds HTML strings, and every piece of text
that comes from a user or a provider is escaped with ``html.escape``. ``minimax_nb.models.Job`` imports
this module lazily, inside its ``_repr_*`` methods.

Audio: a player links the file by its path relative to the notebook's working directory (Jupyter serves
files under the directory it was started in; exported HTML next to the file plays it too). It is
embedded as a ``data:`` URL (base64, saved with the notebook) only on request — ``embed=True`` — and only
while the file is at most ``embed_max_bytes`` (default 2 MB); bigger files stay linked.

    from minimax_nb.display import Jobs, job_html
    jobs = Jobs(client.generate_many(requests))   # displays as a table with a player per song
    display(HTML(job_html(job, embed=True)))      # one song, playable anywhere (nbviewer, VS Code)
"""

from __future__ import annotations

import base64
import html
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, SupportsIndex, overload

from minimax_nb.models import Job, JobStatus

__all__ = [
    "DEFAULT_EMBED_MAX_BYTES",
    "Jobs",
    "audio_player",
    "audio_src",
    "display_jobs",
    "job_html",
    "job_text",
    "jobs_html",
    "jobs_text",
    "status_pill",
]

#: The largest file ``embed=True`` embeds (bytes); bigger files are linked.
DEFAULT_EMBED_MAX_BYTES: Final = 2_000_000

_MIME: Final = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
                ".m4a": "audio/mp4", ".aac": "audio/aac", ".opus": "audio/ogg"}

# Theme-aware: JupyterLab's --jp-* variables, with fallbacks for Voila, VS Code, Colab and nbviewer.
_PILL_COLOURS: Final[Mapping[JobStatus, tuple[str, str]]] = {
    JobStatus.SUBMITTING: ("var(--jp-layout-color3, #9e9e9e)", "var(--jp-ui-font-color0, #111)"),
    JobStatus.AMBIGUOUS: ("var(--jp-warn-color1, #f57c00)", "#fff"),
    JobStatus.QUEUED: ("var(--jp-layout-color3, #9e9e9e)", "var(--jp-ui-font-color0, #111)"),
    JobStatus.RUNNING: ("var(--jp-brand-color1, #1976d2)", "#fff"),
    JobStatus.COMPLETED: ("var(--jp-success-color1, #388e3c)", "#fff"),
    JobStatus.MODERATED: ("var(--jp-warn-color1, #f57c00)", "#fff"),
    JobStatus.FAILED: ("var(--jp-error-color1, #d32f2f)", "#fff"),
    JobStatus.CANCELLED: ("var(--jp-layout-color3, #757575)", "var(--jp-ui-font-color0, #111)"),
    JobStatus.LOST: ("var(--jp-error-color1, #d32f2f)", "#fff"),
}

_CSS: Final = (
    "<style>"
    ".mnb-job{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;"
    "color:var(--jp-ui-font-color1,inherit);border:1px solid var(--jp-border-color2,#ddd);"
    "border-radius:6px;padding:8px 10px;max-width:820px;box-sizing:border-box}"
    ".mnb-job .mnb-head{display:flex;align-items:center;gap:8px;flex-wrap:wrap}"
    ".mnb-job .mnb-title{font-weight:600;font-size:14px;overflow:hidden;text-overflow:ellipsis;"
    "white-space:nowrap;max-width:520px}"
    ".mnb-pill{display:inline-block;border-radius:9px;padding:1px 8px;font-size:11px;font-weight:600;"
    "white-space:nowrap}"
    ".mnb-facts{color:var(--jp-ui-font-color2,#666);margin:4px 0;display:flex;flex-wrap:wrap;"
    "gap:2px 14px}"
    ".mnb-err{color:var(--jp-error-color1,#d32f2f);margin:4px 0;white-space:pre-wrap}"
    ".mnb-job audio{height:32px;width:100%;max-width:420px;display:block;margin:4px 0}"
    ".mnb-job details pre{white-space:pre-wrap;margin:4px 0;font-size:12px;max-height:240px;overflow:auto}"
    ".mnb-jobs{border-collapse:collapse;font-size:13px;max-width:100%}"
    # scoped under the wrapper to beat JupyterLab's right-aligned output cells (a more specific rule)
    ".mnb-jobs-wrap .mnb-jobs th,.mnb-jobs-wrap .mnb-jobs td{"
    "border-bottom:1px solid var(--jp-border-color2,#ddd);padding:3px 6px;"
    "text-align:left;vertical-align:middle}"
    ".mnb-jobs-wrap .mnb-jobs td.t{max-width:220px;overflow:hidden;text-overflow:ellipsis;"
    "white-space:nowrap}"
    ".mnb-jobs audio{height:28px;width:220px}"
    "</style>"
)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def audio_src(path: str | os.PathLike[str], *, embed: bool = False,
              embed_max_bytes: int = DEFAULT_EMBED_MAX_BYTES,
              relative_to: str | os.PathLike[str] | None = None) -> str | None:
    """The ``src`` of a player for ``path`` (not HTML-escaped yet), or ``None`` when the file is gone.

    By default the path relative to ``relative_to`` (default: the working directory, which is the
    notebook's directory under Jupyter), URL-quoted. With ``embed=True`` and a file of at most
    ``embed_max_bytes``: a ``data:`` URL with the file base64-encoded.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError:
        return None
    if embed and size <= embed_max_bytes:
        mime = _MIME.get(p.suffix.lower(), "application/octet-stream")
        return f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")
    start = Path(relative_to) if relative_to is not None else Path.cwd()
    try:
        rel = os.path.relpath(p.absolute(), start.absolute())
    except ValueError:  # another drive on Windows: no relative path exists
        rel = str(p.absolute())
    return urllib.parse.quote(Path(rel).as_posix())


def audio_player(path: str | os.PathLike[str] | None, *, embed: bool = False,
                 embed_max_bytes: int = DEFAULT_EMBED_MAX_BYTES,
                 relative_to: str | os.PathLike[str] | None = None, width: str | None = None) -> str:
    """An ``<audio controls preload="none">`` element for ``path`` ("" without a path; a note when the
    file is missing)."""
    if path is None or str(path) == "":
        return ""
    src = audio_src(path, embed=embed, embed_max_bytes=embed_max_bytes, relative_to=relative_to)
    if src is None:
        return f'<em title="{_esc(path)}">file missing</em>'
    style = f' style="width:{_esc(width)}"' if width else ""
    return f'<audio controls preload="none" src="{_esc(src)}"{style}></audio>'


def status_pill(status: JobStatus | str) -> str:
    """A small coloured label with the status' value."""
    try:
        st = JobStatus(status)
    except ValueError:
        return f'<span class="mnb-pill">{_esc(status)}</span>'
    bg, fg = _PILL_COLOURS[st]
    return f'<span class="mnb-pill mnb-{st.value}" style="background:{bg};color:{fg}">{st.value}</span>'


def _title(job: Job) -> str:
    return job.title or job.request.title or "(untitled)"


def _style(job: Job) -> str | None:
    return job.request.style or job.style


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (later - earlier).total_seconds()


def _facts(job: Job) -> list[tuple[str, str]]:
    """``(label, value)`` pairs of what is known about ``job`` (plain text, not escaped)."""
    out: list[tuple[str, str]] = [("provider", job.provider)]
    model = job.model or job.request.model
    if model:
        out.append(("model", model))
    if job.account:
        out.append(("account", job.account))
    style = _style(job)
    if style:
        out.append(("style", style if len(style) <= 80 else style[:79] + "…"))
    if job.request.style_id:
        out.append(("style id", job.request.style_id))
    if job.duration_s is not None:
        out.append(("duration", f"{job.duration_s:.1f} s"))
    took = _seconds(job.finished_at, job.submitted_at)
    if took is not None:
        out.append(("took", f"{took:.1f} s"))
    if job.request.instrumental:
        out.append(("instrumental", "yes"))
    out.append(("id", job.key))
    if job.audio_path is not None:
        out.append(("file", str(job.audio_path)))
    return out


def job_text(job: Job) -> str:
    """A few plain-text lines about ``job`` (what a terminal or a text-only front end shows)."""
    lines = [f"{_title(job)} — {job.status.value}"]
    lines.append("  " + " · ".join(f"{k}: {v}" for k, v in _facts(job)))
    if job.error:
        lines.append(f"  error: {job.error}")
    return "\n".join(lines)


def job_html(job: Job, *, embed: bool = False, embed_max_bytes: int = DEFAULT_EMBED_MAX_BYTES,
             relative_to: str | os.PathLike[str] | None = None, css: bool = True) -> str:
    """A card for ``job``: title and status pill, facts, a player when there is a file, the error, and
    the lyrics folded in a ``<details>``. Everything from the job is escaped."""
    parts = [_CSS if css else "", f'<div class="mnb-job" data-status="{job.status.value}">',
             '<div class="mnb-head">',
             f'<span class="mnb-title" title="{_esc(_title(job))}">{_esc(_title(job))}</span>',
             status_pill(job.status), "</div>", '<div class="mnb-facts">']
    parts += [f"<span><b>{_esc(k)}</b> {_esc(v)}</span>" for k, v in _facts(job)]
    parts.append("</div>")
    if job.error:
        parts.append(f'<div class="mnb-err">{_esc(job.error)}</div>')
    if job.audio_path is not None:
        parts.append(audio_player(job.audio_path, embed=embed, embed_max_bytes=embed_max_bytes,
                                  relative_to=relative_to))
    elif job.status is JobStatus.COMPLETED and job.audio_url:
        parts.append('<div class="mnb-facts">not downloaded yet: <code>client.download(job)</code></div>')
    lyrics = job.lyrics or job.request.lyrics
    if lyrics:
        n = len([ln for ln in lyrics.splitlines() if ln.strip()])
        parts.append(f"<details><summary>lyrics ({n} lines)</summary><pre>{_esc(lyrics)}</pre></details>")
    parts.append("</div>")
    return "".join(parts)


def jobs_text(jobs: Iterable[Job]) -> str:
    """One line per job: title, provider, status, duration and error."""
    rows = list(jobs)
    if not rows:
        return "(no jobs)"
    out = []
    for i, job in enumerate(rows, start=1):
        dur = f" {job.duration_s:.1f}s" if job.duration_s is not None else ""
        err = f" — {job.error}" if job.error else ""
        out.append(f"{i:>3}. {_title(job)} [{job.provider}] {job.status.value}{dur}{err}")
    return "\n".join(out)


def jobs_html(jobs: Iterable[Job], *, embed: bool = False, embed_max_bytes: int = DEFAULT_EMBED_MAX_BYTES,
              embed_total_bytes: int = 8_000_000, relative_to: str | os.PathLike[str] | None = None,
              max_rows: int = 200) -> str:
    """A compact table of ``jobs``: the player first, then title, provider, status, duration and error.

    With ``embed=True`` files are embedded while each is at most ``embed_max_bytes`` and all together stay
    under ``embed_total_bytes``; the rest are linked.
    """
    rows = list(jobs)
    counts: dict[str, int] = {}
    for job in rows:
        counts[job.status.value] = counts.get(job.status.value, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in counts.items()) or "no jobs"
    body = []
    used = 0
    for job in rows[:max_rows]:
        budget = max(0, min(embed_max_bytes, embed_total_bytes - used)) if embed else 0
        player = audio_player(job.audio_path, embed=embed and budget > 0, embed_max_bytes=budget,
                              relative_to=relative_to)
        if embed and player.startswith("<audio") and 'src="data:' in player and job.audio_path is not None:
            used += os.path.getsize(job.audio_path)
        dur = f"{job.duration_s:.1f} s" if job.duration_s is not None else ""
        title = _title(job)
        body.append(
            f"<tr><td>{player}</td><td class=\"t\" title=\"{_esc(title)}\">{_esc(title)}</td>"
            f"<td>{_esc(job.provider)}</td><td>{status_pill(job.status)}</td><td>{dur}</td>"
            f"<td class=\"t\" title=\"{_esc(job.error or '')}\">{_esc(job.error or '')}</td></tr>")
    more = f"<p>{len(rows) - max_rows} more not shown</p>" if len(rows) > max_rows else ""
    return (f'{_CSS}<div class="mnb-jobs-wrap" style="overflow-x:auto"><div>{len(rows)} jobs: '
            f'{_esc(summary)}</div><table class="mnb-jobs"><thead><tr><th>audio</th><th>title</th>'
            f"<th>provider</th><th>status</th><th>duration</th><th>error</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{more}</div>")


def _bundle(text: str, rich: str, include: Any, exclude: Any) -> dict[str, str]:
    out = {"text/plain": text, "text/html": rich}
    if include:
        out = {k: v for k, v in out.items() if k in include}
    if exclude:
        out = {k: v for k, v in out.items() if k not in exclude}
    return out


def job_mimebundle(job: Job, include: Any = None, exclude: Any = None) -> dict[str, str]:
    """``{"text/plain": repr, "text/html": card}`` for IPython's ``_repr_mimebundle_``."""
    return _bundle(repr(job), job_html(job), include, exclude)


class Jobs(list[Job]):
    """A list of jobs that displays as a table in a notebook (and as lines in a terminal).

    ``Jobs(client.generate_many(reqs))``; still a plain ``list``: index, slice, iterate as usual
    (a slice is a ``Jobs`` too). ``.html(embed=True)`` embeds the audio (size-capped).
    """

    def html(self, **kwargs: Any) -> str:
        """``jobs_html(self, **kwargs)``."""
        return jobs_html(self, **kwargs)

    def _repr_html_(self) -> str:
        return jobs_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return _bundle(jobs_text(self), jobs_html(self), include, exclude)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(jobs_text(self))

    @overload
    def __getitem__(self, index: SupportsIndex) -> Job: ...

    @overload
    def __getitem__(self, index: slice) -> Jobs: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Job | Jobs:
        if isinstance(index, slice):
            return Jobs(super().__getitem__(index))
        return super().__getitem__(index)


def display_jobs(jobs: Iterable[Job], **kwargs: Any) -> Any:
    """Show ``jobs`` as a table in a notebook (``IPython.display.HTML``); returns the HTML object."""
    from IPython.display import HTML

    return HTML(jobs_html(jobs, **kwargs))  # type: ignore[no-untyped-call,unused-ignore]
