"""LyricsComposer: lyrics, title and style, with a live character count and the validator's messages."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import ipywidgets as w

from minimax_nb import lyrics as _lyrics
from minimax_nb.models import MusicRequest
from minimax_nb.providers.base import Issue, ModelSpec
from minimax_nb.widgets import _html
from minimax_nb.widgets._catalog import Catalog, CatalogLike

__all__ = ["LyricsComposer", "count_level", "widget_wording"]

#: Share of the limit from which the count turns from "ok" to "near".
NEAR = 0.9


#: Python-argument advice in the validator's messages, as the studio's controls say it.
_WIDGET_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"set instrumental=True or extra=\{'lyrics_optimizer': True\} to let the model write them"),
     'write some lyrics, or tick "Instrumental (no vocals)" in the launcher'),
    (re.compile(r"instrumental=True"), '"Instrumental (no vocals)"'),
    (re.compile(r"style_id is required for (\S+) \(see styles\(\)\)"), r'pick a "Style id" for \1'),
    (re.compile(r"\bstyle_id\b"), '"Style id"'),
    (re.compile(r"\baudio_format\b"), '"Format"'),
    (re.compile(r"\bsample_rate\b"), '"Sample rate"'),
)
_FIELD_LABELS = {"style_id": "Style id", "audio_format": "Format", "sample_rate": "Sample rate",
                 "bitrate": "Bitrate", "lyrics": "Lyrics", "style": "Style", "title": "Title",
                 "instrumental": "Instrumental", "model": "Model"}


def widget_wording(field: str, message: str) -> tuple[str, str]:
    """A validator finding ``(field, message)`` worded for the studio: the control's label instead of a
    Python argument (``instrumental=True`` becomes the "Instrumental (no vocals)" checkbox)."""
    for pattern, words in _WIDGET_WORDS:
        message = pattern.sub(words, message)
    return _FIELD_LABELS.get(field, field), message


def count_level(count: int, limit: int | None) -> str:
    """``"ok"``, ``"near"`` (≥ 90 % of the limit), ``"over"`` (above it), or ``"none"`` without a limit."""
    if not limit:
        return "none"
    if count > limit:
        return "over"
    if count >= NEAR * limit:
        return "near"
    return "ok"


class LyricsComposer(w.VBox):  # type: ignore[misc]
    """Write the song: title, style, lyrics.

    The count shows the lyrics' length against the chosen model's limit (ok / near / over); the messages
    come from ``minimax_nb.providers.validate_request`` (``show_issues``), the same code the client
    validates with. Helper buttons add a pause, wrap the lyrics in ``##`` (accompaniment) and add a
    structure tag where the model uses them. For useapi, the style is picked from its styles list
    (``set_styles``), which the studio loads in the background.

    ``request()`` returns the ``MusicRequest`` the fields describe (lyrics, style, style id, title).
    """

    def __init__(self, *, catalog: CatalogLike | None = None, provider: str = "local",
                 model: str | None = None, lyrics: str = "", title: str = "", style: str = "pop") -> None:
        self.catalog: CatalogLike = catalog or Catalog()
        #: Held by the event handlers; the studio shares its bridge's ``ui_lock`` (see ``Bridge``).
        self.ui_lock: AbstractContextManager[Any] = threading.RLock()
        self.provider = provider
        self.model = model
        self.spec: ModelSpec | None = None
        self.title = w.Text(value=title, description="Title", placeholder="optional",
                            layout=w.Layout(width="98%"))
        self.style = w.Text(value=style, description="Style",
                            placeholder="e.g. upbeat synth-pop, female vocals", layout=w.Layout(width="98%"))
        self.style_id = w.Dropdown(options=[("(loading styles…)", "")], value="", description="Style id",
                                   layout=w.Layout(width="98%", display="none"))
        self.lyrics = w.Textarea(value=lyrics, placeholder="[Verse]\nYour lyrics here…",
                                 layout=w.Layout(width="98%", height="220px"))
        self.count = w.HTML()
        self.insight = w.HTML()  # syllables per line, sections, estimated length (before paying)
        self.history: Sequence[Any] = ()  # finished jobs the length estimate is fitted on (set_history)
        self.issues = w.HTML()
        self.errors = w.HTML()
        self.pause_button = w.Button(description="Pause", tooltip="add a blank line (a pause)",
                                     icon="pause", layout=w.Layout(width="auto"))
        self.accompaniment_button = w.Button(description="## accompaniment",
                                             tooltip="wrap the lyrics in ## … ## (accompaniment)",
                                             layout=w.Layout(width="auto"))
        self.tag = w.Dropdown(options=list(_lyrics.STRUCTURE_TAGS), value="Verse",
                              layout=w.Layout(width="130px"))
        self.tag_button = w.Button(description="Add tag", tooltip="add the structure tag on its own line",
                                   icon="tag", layout=w.Layout(width="auto"))
        self._tag_box = w.HBox([self.tag, self.tag_button])
        self._styles_loaded = False
        self._listeners: list[Callable[[], None]] = []
        for b in (self.title, self.style, self.style_id, self.lyrics):
            b.observe(self._changed, names="value")
        self.pause_button.on_click(self._guard(self._on_pause))
        self.accompaniment_button.on_click(self._guard(self._on_accompaniment))
        self.tag_button.on_click(self._guard(self._on_tag))
        self.lyrics.add_class("mnb-lyrics")
        self.style_id.add_class("mnb-style-id")
        self.count.add_class("mnb-count-box")
        self.issues.add_class("mnb-issues-box")
        self.errors.add_class("mnb-errors")
        super().__init__([
            w.HTML("<b>Lyrics</b>"), self.title, self.style, self.style_id, self.lyrics,
            w.HBox([self.count], layout=w.Layout(justify_content="flex-end", width="98%")),
            w.HBox([self.pause_button, self.accompaniment_button, self._tag_box]),
            self.insight, self.issues, self.errors,
        ], layout=w.Layout(width="100%"))
        self.add_class("mnb-composer")
        self.set_target(provider, model)

    # ------------------------------------------------------------------ API
    def request(self) -> MusicRequest:
        """The request the fields describe (output settings and model come from the launcher)."""
        uses_style_id = self.spec is not None and self.spec.needs_style_id
        return MusicRequest(
            lyrics=self.lyrics.value,
            style=self.style.value.strip() or None,
            style_id=(self.style_id.value or None) if uses_style_id else None,
            title=self.title.value.strip() or None,
        )

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever the title, style or lyrics change."""
        self._listeners.append(callback)

    def set_target(self, provider: str, model: str | None) -> None:
        """Count and help against ``provider``/``model`` (the launcher's choice)."""
        self.provider, self.model = provider, model
        try:
            models = self.catalog.models(provider)
            self.spec = models.get(model or self.catalog.default_model(provider))
        except Exception as e:
            self.spec = None
            self.show_error(e, "reading the model's limits")
        spec = self.spec
        self._tag_box.layout.display = "" if spec is None or spec.structure_tags else "none"
        self.accompaniment_button.layout.display = "" if spec is None or spec.accompaniment_marks else "none"
        needs_id = spec is not None and spec.needs_style_id
        self.style_id.layout.display = "" if needs_id else "none"
        self._update_count()

    def set_styles(self, styles: Sequence[Any]) -> None:
        """Fill the style dropdown from useapi's ``styles()``: groups of ``{"styleId", "name"}``, or flat."""
        options: list[tuple[str, str]] = []
        for item in styles:
            if isinstance(item, dict) and isinstance(item.get("styles"), list):
                group = str(item.get("name") or "")
                for s in item["styles"]:
                    sid = str(s.get("styleId") or s.get("id") or "")
                    name = str(s.get("name") or sid)
                    if sid:
                        options.append((f"{group} / {name}" if group else name, sid))
            elif isinstance(item, dict):
                sid = str(item.get("styleId") or item.get("style_id") or item.get("id") or "")
                if sid:
                    options.append((str(item.get("name") or sid), sid))
        self._styles_loaded = True
        self.style_id.options = options or [("(no styles)", "")]
        self.style_id.value = options[0][1] if options else ""

    @property
    def styles_loaded(self) -> bool:
        return self._styles_loaded

    def show_issues(self, issues: Sequence[Issue]) -> None:
        """Show validation findings (errors and warnings) as the validator worded them."""
        self.issues.value = _html.issues_list((i.level, *widget_wording(i.field, i.message)) for i in issues)

    def show_error(self, exc: BaseException, context: str = "") -> None:
        """Show an exception from a callback in this panel."""
        self.errors.value = _html.error_box(exc, context)

    # ------------------------------------------------------------------ internals
    def _guard(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        def wrapped(arg: Any) -> None:
            with self.ui_lock:
                try:
                    fn(arg)
                except Exception as e:
                    self.show_error(e, getattr(fn, "__name__", "callback").lstrip("_"))

        return wrapped

    def _changed(self, change: Any = None) -> None:
        with self.ui_lock:
            try:
                self._update_count()
                for cb in list(self._listeners):
                    cb()
            except Exception as e:
                self.show_error(e, "checking the lyrics")

    def set_history(self, jobs: Sequence[Any]) -> None:
        """Fit the length estimate on these finished jobs (the studio passes the ledger's)."""
        self.history = list(jobs)
        self._update_count()

    def _update_count(self) -> None:
        text = self.lyrics.value
        n = _lyrics.char_count(text)
        limit = self.spec.lyrics_max if self.spec else None
        self.count.value = _html.count_badge(n, limit, count_level(n, limit))
        if not text.strip():
            self.insight.value = ""
            return
        estimate = _lyrics.estimate_length(text, self.history or None, provider=self.provider,
                                           model=self.model)
        sections = [(s.label, s.lines, s.syllables) for s in _lyrics.section_map(text)]
        self.insight.value = _html.lyrics_insight(_lyrics.line_syllables(text), text.split("\n"), sections,
                                                  str(estimate))

    def _on_pause(self, _: Any) -> None:
        self.lyrics.value = _lyrics.insert_pause(self.lyrics.value)

    def _on_accompaniment(self, _: Any) -> None:
        self.lyrics.value = _lyrics.wrap_accompaniment(self.lyrics.value)

    def _on_tag(self, _: Any) -> None:
        text = _lyrics.insert_tag(self.lyrics.value, self.tag.value)
        self.lyrics.value = text if text.endswith("\n") else text + "\n"  # ready for the next line
