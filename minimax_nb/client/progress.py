"""Progress of ``generate``/``generate_many``/``resume``: a bar in a notebook, text lines in a terminal.

``Progress`` is an ``on_update`` callback (``progress(job)``) and a context manager:

    with Progress(total=len(requests), desc="songs") as bar:
        jobs = client.generate_many(requests, on_update=bar)

In a Jupyter kernel it draws a ``tqdm.notebook`` bar that updates in place (the convention notebook users
know), with the count per status beside it; in a terminal (or when ``notebook=False``) it writes one line
per state change to ``file`` (default ``sys.stderr``). ``enabled=False`` makes every method a no-op, so a
client can always build one: ``Progress(..., enabled=progress)``.

The bar counts jobs that reached a final state (completed, moderated, failed, cancelled, lost), the last
state of a job being its latest update; a completed job counts once its audio is saved when the flow says
so (its update with ``audio_path``). Updates may come from several threads (``generate_many``): every
method takes a lock.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from minimax_nb.models import Job, JobStatus

__all__ = ["Progress", "chain_callbacks", "in_notebook"]


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where a widget bar can be shown)."""
    shell_mod = sys.modules.get("IPython")
    if shell_mod is None:
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()  # type: ignore[no-untyped-call,unused-ignore]
    except Exception:  # pragma: no cover - a broken IPython install
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _label(job: Job) -> str:
    title = job.title or job.request.title or job.key[:8]
    return title if len(title) <= 40 else title[:39] + "…"


class Progress:
    """A progress display for jobs, fed one ``Job`` at a time (see the module doc).

    Args:
        total: how many jobs to expect (``None``: unknown, e.g. ``resume`` before its plan is read).
        desc: the label before the bar ("songs", "resume").
        enabled: ``False`` shows nothing; ``None`` or ``True`` shows progress.
        notebook: force the widget bar (``True``) or text lines (``False``); default: detect a kernel.
        file: where text lines go (default ``sys.stderr``).
    """

    def __init__(self, total: int | None = 1, desc: str = "songs", enabled: bool | None = None, *,
                 notebook: bool | None = None, file: TextIO | None = None) -> None:
        self.total = total
        self.desc = desc
        self.enabled = enabled is not False
        self.notebook = in_notebook() if notebook is None else notebook
        self._file = file
        self._lock = threading.Lock()
        self._states: dict[str, JobStatus] = {}
        self._saved: set[str] = set()
        self._start = time.monotonic()
        self._bar: Any = None
        self._closed = False
        if self.enabled and self.notebook:
            self._bar = self._make_bar()

    # ---- the bar --------------------------------------------------------------------------------

    def _make_bar(self) -> Any:
        try:
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(total=self.total, desc=self.desc, unit="song", leave=True)
        except Exception:  # no ipywidgets front end: fall back to text lines
            self.notebook = False
            return None

    @property
    def done(self) -> int:
        """How many jobs reached a final state."""
        with self._lock:
            return sum(1 for s in self._states.values() if s.is_final)

    def counts(self) -> dict[str, int]:
        """Jobs per latest status value, in lifecycle order (only the statuses seen)."""
        with self._lock:
            seen = list(self._states.values())
        return {s.value: seen.count(s) for s in JobStatus if s in seen}

    def _postfix(self) -> str:
        return ", ".join(f"{n} {s}" for s, n in self.counts().items())

    # ---- feeding --------------------------------------------------------------------------------

    def update(self, job: Job) -> None:
        """Record ``job``'s latest state and redraw (a line in a terminal when its status changed)."""
        if not self.enabled or self._closed:
            return
        with self._lock:
            before = self._states.get(job.local_id)
            saved_now = job.audio_path is not None and job.local_id not in self._saved
            if saved_now:
                self._saved.add(job.local_id)
            self._states[job.local_id] = job.status
            if self.total is not None and len(self._states) > self.total:
                self.total = len(self._states)
                if self._bar is not None:
                    self._bar.total = self.total
            finished = sum(1 for s in self._states.values() if s.is_final)
        changed = before is not job.status
        if self._bar is not None:
            self._bar.n = finished
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.refresh()
            return
        if changed or saved_now:
            self._line(job, finished, saved_now)

    __call__ = update

    def _line(self, job: Job, finished: int, saved_now: bool) -> None:
        out = self._file if self._file is not None else sys.stderr
        total = "?" if self.total is None else str(self.total)
        elapsed = time.monotonic() - self._start
        what = job.status.value
        if saved_now and job.audio_path is not None:
            what += f" -> {job.audio_path}"
        elif job.error and job.status.is_final:
            what += f": {job.error}"
        print(f"[{finished}/{total}] {elapsed:6.1f}s  {self.desc}: {_label(job)} {what}", file=out,
              flush=True)

    def close(self) -> None:
        """Finish the display (the notebook bar stays, showing the final counts). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def chain_callbacks(*callbacks: Callable[[Job], Any] | None) -> Callable[[Job], None] | None:
    """One ``on_update`` that calls each given callback in turn (``None`` entries skipped); ``None`` when
    there is none. A client combines the user's ``on_update`` with its ``Progress`` this way."""
    live = [cb for cb in callbacks if cb is not None]
    if not live:
        return None
    if len(live) == 1:
        only = live[0]

        def one(job: Job) -> None:
            only(job)

        return one

    def every(job: Job) -> None:
        for cb in live:
            cb(job)

    return every
