"""Studio: composer, launcher, monitor, results and player in one widget, wired through one Bridge."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from minimax_nb.errors import AuthenticationError, redact
from minimax_nb.models import Job, JobStatus
from minimax_nb.providers.base import errors_only
from minimax_nb.results.frame import MeasurePool
from minimax_nb.widgets import _html
from minimax_nb.widgets._catalog import LOCAL, Catalog, CatalogLike
from minimax_nb.widgets.bridge import Bridge, ClientFactory, Run
from minimax_nb.widgets.composer import LyricsComposer
from minimax_nb.widgets.launcher import Launcher, LaunchSettings
from minimax_nb.widgets.monitor import JobMonitor
from minimax_nb.widgets.player import Player
from minimax_nb.widgets.table import ResultsTable, jobs_frame, ledger_frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Studio", "default_provider", "studio"]

#: Ctrl+Enter (Cmd+Enter) in the lyrics box clicks Generate. Shown once per page as a JavaScript output
#: (JupyterLab, Notebook 7 and Voila run it; the studio works without it). Capturing the key before
#: JupyterLab sees it keeps Ctrl+Enter from running the cell instead.
CTRL_ENTER_JS = """(() => {
  if (window.__mnbCtrlEnter) return; window.__mnbCtrlEnter = true;
  document.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.key !== 'Enter' || !e.target || !e.target.closest) return;
    if (!e.target.closest('.mnb-lyrics')) return;
    const studio = e.target.closest('.mnb-studio');
    const button = studio && studio.querySelector('button.mnb-generate');
    e.preventDefault(); e.stopPropagation();
    if (button && !button.disabled) { e.target.blur(); setTimeout(() => button.click(), 30); }
  }, true);
})();"""

DEMO_LYRICS = ("[Verse]\nCity lights are humming low\nEvery window tells a story\n\n"
               "[Chorus]\nSing it loud, sing it slow\n")


def default_provider(catalog: CatalogLike, env: Mapping[str, str] | None = None) -> str:
    """The first real provider whose key is in the environment, else ``"local"`` (like the client)."""
    env = os.environ if env is None else env
    for name in catalog.providers():
        if name == LOCAL:
            continue
        key = catalog.env_key(name)
        if key and env.get(key):
            return name
    return LOCAL


class Studio(w.VBox):  # type: ignore[misc]
    """Everything in one place: write lyrics, pick a provider, generate, watch, compare, listen.

    Jobs run in the background (``bridge``), so the kernel stays free; the monitor updates live; finished
    songs land in the results table and the player. Validation runs on every change with the same
    ``validate_request`` the client uses, and Generate stays disabled while the request is invalid.

    Attributes: ``composer``, ``launcher``, ``monitor``, ``table``, ``player``, ``bridge``; ``jobs`` lists
    the finished jobs of this session; ``runs`` every generation started here.
    """

    def __init__(self, provider: str | None = None, *, catalog: CatalogLike | None = None,
                 bridge: Bridge | None = None, client_factory: ClientFactory | None = None,
                 confirm_above: int = 3, lyrics: str = DEMO_LYRICS, title: str = "City Lights",
                 style: str = "upbeat synth-pop, female vocals",
                 frame: Callable[[Sequence[Job]], pd.DataFrame] | None = None,
                 env: Mapping[str, str] | None = None, **client_kwargs: Any) -> None:
        self.catalog: CatalogLike = catalog or Catalog()
        self.client_kwargs = dict(client_kwargs)
        self.client_kwargs.pop("api_key", None)  # a key argument goes to the launcher (memory only),
        # for the provider it was given with only
        api_key = client_kwargs.get("api_key")
        provider = provider or default_provider(self.catalog, env)
        self.bridge = bridge or Bridge(client_factory)
        self.bridge.on_error = self._on_bridge_error
        self.launcher = Launcher(catalog=self.catalog, provider=provider, model=client_kwargs.get("model"),
                                 account=client_kwargs.get("account"), confirm_above=confirm_above, env=env)
        self.client_kwargs.pop("model", None)
        self.client_kwargs.pop("account", None)
        if api_key:
            self.launcher.set_api_key(str(api_key))
        s = self.launcher.settings()
        self.composer = LyricsComposer(catalog=self.catalog, provider=s.provider, model=s.model,
                                       lyrics=lyrics, title=title, style=style)
        self.monitor = JobMonitor(on_stop=self.bridge.stop_watching, on_watch=self.bridge.watch,
                                  post=self.bridge.post)
        ledger = self.client_kwargs.get("ledger")
        measured: Callable[[Sequence[Job]], pd.DataFrame] | None = None
        #: Decodes finished songs for the measured columns: worker processes started on first use, at a
        #: lower priority, so decoding never holds the kernel; shut down by ``close``.
        self.measure_pool: MeasurePool | None = None
        if frame is None:
            # two steps: a finished job's row is shown at once (nothing decoded), then its measured
            # columns (length, LUFS, BPM) fill in when the pool has decoded the file
            self.measure_pool = MeasurePool()
            frame = jobs_frame
            measured = (functools.partial(jobs_frame, measure=True, executor=self.measure_pool)
                        if ledger is False or ledger == "off"
                        else ledger_frame(ledger, executor=self.measure_pool))
        self.table = ResultsTable(frame=frame, measured=measured)
        self.table.defer = self.bridge.post  # new rows drawn on the ticker, at most once per flush
        self.history_button = w.Button(
            description="earlier jobs", icon="history", layout=w.Layout(width="auto"),
            tooltip="add the finished jobs of earlier sessions from the ledger")
        self.history_button.add_class("mnb-history")
        self._ledger_arg = ledger
        if ledger is not False and ledger != "off":
            self.table.tools.children = (self.history_button,)
        self.history_button.on_click(self._guard(self._load_history, "loading earlier jobs"))
        self.player = Player()
        self.errors = w.HTML()
        self.errors.add_class("mnb-errors")
        self._finished: set[str] = set()
        self._session = uuid.uuid4().hex[:8]
        self._styles_requested: set[tuple[str, str]] = set()
        self._variants: dict[str, int] = {}  # run id -> variant number
        self.composer.on_change(self.revalidate)
        self.launcher.on_change(self._on_target)
        self.launcher.on_generate(self._guard(self._launch, "starting the generation"))
        self.table.on_select(self.player.show)
        self.bridge.add_rows_listener(self._on_runs)
        self.bridge.add_batch_listener(self._on_finished)
        header = w.HTML("<div style='font-size:18px;font-weight:700'>minimax_nb studio</div>"
                        f"<div style='color:{_html.MUTED};font-size:12px'>write, generate, watch, compare, "
                        "listen — jobs run in the background, the kernel stays free · Ctrl+Enter in the "
                        "lyrics generates</div>")
        self.style = w.HTML(_html.THEME_CSS, layout=w.Layout(display="none"))
        self.keys_js = w.Output(layout=w.Layout(display="none"))
        self._add_ctrl_enter()
        # two columns that wrap into one below ~720 px: each has a basis and may grow, never a fixed %
        left = w.VBox([self.composer], layout=w.Layout(flex="3 1 400px", min_width="0"))
        right = w.VBox([self.launcher], layout=w.Layout(flex="2 1 300px", min_width="0"))
        bottom_left = w.VBox([self.table], layout=w.Layout(flex="3 1 420px", min_width="0"))
        bottom_right = w.VBox([self.player], layout=w.Layout(flex="2 1 300px", min_width="0"))
        top = w.HBox([left, right], layout=w.Layout(flex_flow="row wrap", width="100%"))
        bottom = w.HBox([bottom_left, bottom_right], layout=w.Layout(flex_flow="row wrap", width="100%"))
        top.add_class("mnb-wrap")
        bottom.add_class("mnb-wrap")
        super().__init__([self.style, self.keys_js, header, top, self.monitor, bottom, self.errors],
                         layout=w.Layout(width="100%", border=f"1px solid {_html.BORDER}", padding="8px"))
        self.add_class("mnb-studio")
        # the panels' event handlers (kernel thread) and the ticker's flush never write widgets at once
        for panel in (self.launcher, self.composer, self.table):
            panel.ui_lock = self.bridge.ui_lock
        self._on_target()
        if ledger is not False and ledger != "off":  # fit the composer's length estimate on past songs
            self.bridge.call(lambda: [j for j in self.load_history() if j.status is JobStatus.COMPLETED],
                             self.composer.set_history,
                             lambda e: self.composer.show_error(e, "reading past songs for the estimate"))

    # ------------------------------------------------------------------ API
    @property
    def runs(self) -> list[Run]:
        return self.bridge.runs

    @property
    def jobs(self) -> list[Job]:
        """Finished jobs of this session (in the results table)."""
        return list(self.table.jobs.values())

    def generate(self, variants: int | None = None) -> list[Run]:
        """Start what Generate would start (no confirmation) and return the runs at once."""
        s = self.launcher.settings()
        if variants is not None:
            s = LaunchSettings(**{**s.__dict__, "variants": variants})
        return self._launch(s)

    def revalidate(self) -> None:
        """Validate the current request with the client's validator; show the issues; enable Generate."""
        try:
            s = self.launcher.settings(with_budget=False)  # "Max $" is the launcher's own to check
            request = s.apply(self.composer.request())
            issues = self.catalog.validate(s.provider, request, s.model)
            self.composer.show_issues(issues)
            errs = errors_only(issues)
            self.launcher.set_valid(not errs, "; ".join(i.message for i in errs))
            self.launcher.set_request(request)
        except Exception as e:
            self.launcher.set_valid(False, f"validation failed: {e}")
            self.composer.show_error(e, "validating the request")

    def close(self) -> None:
        """Close the widgets, the bridge (its clients) and the measuring processes."""
        self.bridge.close()
        if self.measure_pool is not None:
            self.measure_pool.shutdown(wait=False, cancel_futures=True)
        super().close()

    def __repr__(self) -> str:
        return f"<Studio provider={self.launcher.provider.value!r} runs={len(self.bridge.runs)}>"

    # ------------------------------------------------------------------ internals
    def _guard(self, fn: Callable[..., Any], context: str) -> Callable[..., None]:
        def wrapped(*args: Any) -> None:
            with self.bridge.ui_lock:
                try:
                    fn(*args)
                except Exception as e:
                    self.launcher.show_error(e, context)

        return wrapped

    def _add_ctrl_enter(self) -> None:
        try:
            from IPython.display import Javascript

            self.keys_js.append_display_data(Javascript(CTRL_ENTER_JS))  # type: ignore[no-untyped-call]
        except Exception:  # no IPython: no shortcut, the button still works
            pass

    def _on_bridge_error(self, exc: BaseException, context: str) -> None:
        self.errors.value = _html.error_box(exc, context)

    def _on_target(self) -> None:
        try:
            s = self.launcher.settings()
            self.composer.set_target(s.provider, s.model)
            self._load_styles(s.provider)
        except Exception as e:
            self.composer.show_error(e, "switching provider")
        self.revalidate()

    def _load_styles(self, provider: str) -> None:
        """useapi: fill the style dropdown from ``client.styles()`` in the background (once per key).

        Only ``provider``'s own key (typed for it, or its environment variable) is used: a key typed
        for another provider never leaves for this one.
        """
        if not self.catalog.has_styles(provider):
            return
        source = self.launcher.key_source(provider)
        if source is None:
            self.composer.style_id.options = [("(needs a key to load styles)", "")]
            return
        s = self.launcher.settings()
        key = self.launcher.api_key_for(provider)
        token = (provider, source)
        if token in self._styles_requested:
            return
        self._styles_requested.add(token)
        kwargs = dict(self.client_kwargs)
        if s.account and s.provider == provider:
            kwargs["account"] = s.account
        if key:
            kwargs["api_key"] = key

        def fetch() -> Any:
            return self.bridge.client_call(provider, kwargs, "styles")

        def failed(e: BaseException) -> None:
            self._styles_requested.discard(token)
            self.composer.style_id.options = [("(styles failed to load)", "")]
            if isinstance(e, AuthenticationError):  # the key status says it, in red, beside the key
                self.launcher.key_rejected(provider, redact(str(e), [key]))
                return
            self.composer.show_error(e, f"loading {provider} styles")

        def loaded(styles: Any) -> None:
            self.launcher.key_accepted(provider)
            self.composer.errors.value = ""
            self.composer.set_styles(styles)
            self.revalidate()

        self.bridge.call(fetch, loaded, failed)

    def load_history(self) -> list[Job]:
        """The finished (and the ambiguous) jobs of the ledger, earlier sessions included, newest last.
        Blocks: for scripts."""
        from minimax_nb.ledger import Ledger

        arg = self._ledger_arg
        led = arg if isinstance(arg, Ledger) else Ledger(arg)
        try:
            # final jobs, and the ambiguous ones: "paid?, cannot be identified" is shown, never hidden
            jobs = [j for j in led.jobs() if j.is_final or j.status is JobStatus.AMBIGUOUS]
        finally:
            if led is not arg:
                led.close()
        return sorted(jobs, key=lambda j: j.created_at)

    def _load_history(self, _: Any = None) -> None:
        self.history_button.disabled = True
        shown = set(self.table.jobs)

        def work() -> tuple[list[Job], pd.DataFrame | None]:  # a worker: reads the ledger, builds rows
            new = [j for j in self.load_history() if j.local_id not in shown]
            return new, (self.table.prepare(new) if new else None)

        def done(result: tuple[list[Job], pd.DataFrame | None]) -> None:
            new, rows = result
            new = [j for j in new if j.local_id not in self.table.jobs]
            if new and rows is not None:
                self.table.merge(new, rows[rows["key"].isin([j.local_id for j in new])])
                self._measure(new)
            self.history_button.disabled = False
            self.history_button.description = f"earlier jobs (+{len(new)})"

        def failed(e: BaseException) -> None:
            self.history_button.disabled = False
            self.table.errors.value = _html.error_box(e, "loading earlier jobs")

        self.bridge.call(work, done, failed)

    def _launch(self, s: LaunchSettings) -> list[Run]:
        request = s.apply(self.composer.request())
        issues = self.catalog.validate(s.provider, request, s.model)
        if errors_only(issues):
            self.composer.show_issues(issues)
            raise ValueError("the request is not valid: " + "; ".join(i.message for i in errors_only(issues)))
        refusal = self.launcher.budget_refusal(s.variants)  # "Max $": refuse before anything is sent
        if refusal is not None:
            raise refusal
        expected = self.catalog.expected_duration_s(s.provider, self.client_kwargs.get("emulator_speed"))
        limit = self.catalog.per_account_limit(s.provider)
        kwargs = dict(self.client_kwargs)
        if s.provider == LOCAL and "download_dir" not in kwargs:
            # Each local emulator numbers its jobs from the same seed, so two of them (this studio's and a
            # plain client's in another cell) hand out the same ids; the download cache, keyed by id,
            # would then return the other song. A folder per studio keeps the files apart.
            kwargs["download_dir"] = Path("minimax_nb_audio") / f"studio-{self._session}"
        key = self.launcher.api_key_for(s.provider)  # this provider's own key, or None (env / local)
        runs = [self.bridge.launch(s.provider, request, model=s.model, account=s.account, api_key=key,
                                   client_kwargs=kwargs, expected_s=expected,
                                   per_account_limit=limit, variant=i + 1 if s.variants > 1 else 1)
                for i in range(s.variants)]
        if len(runs) > 1:  # variants of one Generate: numbered in the table and the Play list
            for r in runs:
                self._variants[r.id] = r.variant
        plural = "s" if len(runs) > 1 else ""
        self.launcher.message.value = (f"<span style='color:{_html.OK}'>started {len(runs)} "
                                       f"generation{plural} on {_html.esc(s.provider)}</span>")
        return runs

    def _on_runs(self, runs: list[Run]) -> None:
        """Bridge rows listener (ticker thread, once per flush): update the monitor rows of ``runs``."""
        self.monitor.update_many(runs)

    def _on_finished(self, runs: list[Run]) -> None:
        """Bridge batch listener (ticker thread, once per flush): the key status learns the answers; the
        finished jobs' frame rows are built in a worker (measuring audio is slow), then join the table in
        one batch on the ticker; the first completed song goes to the player."""
        jobs: list[Job] = []
        variants: dict[str, int] = {}
        for run in runs:
            if run.id in self._finished:
                continue
            self._finished.add(run.id)
            if isinstance(run.exception, AuthenticationError):
                self.launcher.key_rejected(run.provider, redact(str(run.exception),
                                                                [self.launcher.api_key_for(run.provider)]))
            elif run.job is not None:
                self.launcher.key_accepted(run.provider)  # the provider took the key
            if run.job is not None:
                jobs.append(run.job)
                if run.id in self._variants:
                    variants[run.job.local_id] = self._variants[run.id]
        if not jobs:
            return

        def merged(rows: pd.DataFrame) -> None:
            self.table.merge(jobs, rows, variants)
            done = [j for j in jobs if j.status is JobStatus.COMPLETED]
            if done and (self.player.job is None or self.player.job.status is not JobStatus.COMPLETED):
                self.table.select_job(done[0])  # drives the player

        def failed(e: BaseException) -> None:
            self.table.errors.value = _html.error_box(e, "building the results rows")

        self.bridge.call(lambda: self.table.prepare(jobs), merged, failed)  # quick: nothing decoded
        self._measure(jobs)

    def _measure(self, jobs: Sequence[Job]) -> None:
        """Fill in the measured columns of ``jobs``' rows once their files are decoded (a lane of its own,
        so a batch being decoded never delays the next batch's quick rows)."""
        if not any(j.audio_path for j in jobs):
            return

        def measured(rows: pd.DataFrame | None) -> None:
            if rows is not None:
                self.table.update_rows(rows)

        def failed(e: BaseException) -> None:
            self.table.errors.value = _html.error_box(e, "measuring the songs")

        self.bridge.call(lambda: self.table.prepare_measured(jobs), measured, failed, lane="measure")


def studio(provider: str | None = None, **client_kwargs: Any) -> Studio:
    """The composed studio widget. ``studio(provider="local")`` works offline with no key.

    ``client_kwargs`` go to ``MusicClient`` (``base_url``, ``timeout``, ``model``, ``account``…); an
    ``api_key`` is kept in memory by the launcher, never in widget state.
    """
    return Studio(provider, **client_kwargs)
