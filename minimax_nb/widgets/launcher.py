"""Launcher: provider, model, account, output settings, key, variants, cost, Generate."""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import ipywidgets as w

from minimax_nb.errors import BudgetExceededError, Secret, ValidationError
from minimax_nb.models import MusicRequest
from minimax_nb.providers.base import ModelSpec
from minimax_nb.widgets import _html
from minimax_nb.widgets._catalog import LOCAL, Catalog, CatalogLike

__all__ = ["LaunchSettings", "Launcher"]

DEFAULT = "default"


def _full() -> w.Layout:
    """A fresh full-width layout (each widget needs its own: layouts are shared objects)."""
    return w.Layout(width="98%")


def _wrap(children: list[w.Widget]) -> w.HBox:
    """A row that wraps onto a second line in a narrow output instead of cutting its children."""
    box = w.HBox(children, layout=w.Layout(flex_flow="row wrap", align_items="center", width="98%"))
    box.add_class("mnb-wrap")
    return box


@dataclasses.dataclass(frozen=True)
class LaunchSettings:
    """What the launcher says to run. ``api_key`` is ``None`` unless typed in (never in the repr)."""

    provider: str
    model: str | None
    account: str | None
    bitrate: int | None
    sample_rate: int | None
    audio_format: str | None
    variants: int
    api_key: str | None = dataclasses.field(default=None, repr=False)
    instrumental: bool = False
    #: Refuse a Generate whose estimated total is over this many USD (or unknown); ``None``: no limit.
    max_usd: float | None = None

    def apply(self, request: MusicRequest) -> MusicRequest:
        """``request`` with this launcher's model, output settings and instrumental switch."""
        return request.replace(model=self.model, bitrate=self.bitrate, sample_rate=self.sample_rate,
                               audio_format=self.audio_format,
                               instrumental=self.instrumental or request.instrumental)


class Launcher(w.VBox):  # type: ignore[misc]
    """Choose where and how to generate, then Generate.

    Only the values the chosen model allows are offered (from its ``ModelSpec``). The key status says where
    the key comes from ("key from $APIIN_API_KEY"). Keys are kept **per provider**: a key typed while
    apiin is chosen belongs to apiin and is never handed out for another provider (``api_key_for``). A key
    typed in the Password field is read into a ``Secret`` held in Python and the field is cleared at once,
    so the key never lands in saved widget state; the field syncs only on Enter or when it loses focus
    (``continuous_update=False``), so a half-typed key is never read. ``key_rejected(provider, message)``
    turns the status red with the provider's (scrubbed) message until a new key is given or a job
    succeeds (``key_accepted``). Generate is disabled while the request is invalid (``set_valid``) or a
    key is missing. Batches of more than ``confirm_above`` songs ask for confirmation first.

    ``on_generate(callback)`` registers ``callback(settings)``, called after Generate (and confirmation).
    """

    def __init__(self, *, catalog: CatalogLike | None = None, provider: str | None = None,
                 model: str | None = None, account: str | None = None, confirm_above: int = 3,
                 max_variants: int = 20, env: Mapping[str, str] | None = None) -> None:
        self.catalog: CatalogLike = catalog or Catalog()
        #: Held by the event handlers; the studio shares its bridge's ``ui_lock`` (see ``Bridge``).
        self.ui_lock: AbstractContextManager[Any] = threading.RLock()
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.confirm_above = confirm_above
        self._keys: dict[str, Secret] = {}  # per provider, in memory only; vars()/repr()/pickle hide them
        self._rejected: dict[str, str] = {}  # provider -> the provider's (scrubbed) refusal
        self._valid = True
        self._invalid_reason = ""
        self._request: MusicRequest | None = None
        self._callbacks: list[Callable[[LaunchSettings], None]] = []
        self._change_callbacks: list[Callable[[], None]] = []
        names = self.catalog.providers()
        provider = provider or names[0]
        if provider not in names:
            names.append(provider)
        self.provider = w.Dropdown(options=names, value=provider, description="Provider", layout=_full())
        self.model = w.Dropdown(options=[], description="Model", layout=_full())
        self.account = w.Text(value=account or "", description="Account", placeholder="optional",
                              layout=_full())
        self.bitrate = w.Dropdown(options=[DEFAULT], value=DEFAULT, description="Bitrate", layout=_full())
        self.sample_rate = w.Dropdown(options=[DEFAULT], value=DEFAULT, description="Sample rate",
                                      layout=_full())
        self.audio_format = w.Dropdown(options=[DEFAULT], value=DEFAULT, description="Format", layout=_full())
        self.key_status = w.HTML()
        self.key = w.Password(value="", description="API key", placeholder="paste, then Enter",
                              continuous_update=False,
                              layout=w.Layout(flex="1 1 220px", width="auto", min_width="200px"))
        self.forget_key = w.Button(description="Forget key", layout=w.Layout(width="auto", display="none"))
        self.variants = w.BoundedIntText(value=1, min=1, max=max_variants, description="Variants",
                                         layout=w.Layout(width="180px"))
        self.max_usd = w.Text(value="", description="Max $", placeholder="no limit",
                              tooltip="refuse a Generate whose estimated total is over this (or unknown)",
                              layout=w.Layout(width="170px"))
        self.instrumental = w.Checkbox(value=False, description="Instrumental (no vocals)", indent=False,
                                       layout=w.Layout(width="auto"))
        self.cost = w.HTML()
        self.generate = w.Button(description="Generate", button_style="primary", icon="music",
                                 layout=w.Layout(width="160px"))
        self.confirm_text = w.HTML()
        self.confirm = w.Button(description="Confirm", button_style="warning", layout=w.Layout(width="auto"))
        self.cancel = w.Button(description="Cancel", layout=w.Layout(width="auto"))
        self.confirm_box = w.HBox([self.confirm_text, self.confirm, self.cancel],
                                  layout=w.Layout(display="none", align_items="center"))
        self.message = w.HTML()
        self.errors = w.HTML()
        for cls, widget in (("mnb-provider", self.provider), ("mnb-model", self.model),
                            ("mnb-key", self.key), ("mnb-key-status", self.key_status),
                            ("mnb-generate", self.generate), ("mnb-variants", self.variants),
                            ("mnb-max-usd", self.max_usd),
                            ("mnb-confirm", self.confirm), ("mnb-cancel", self.cancel),
                            ("mnb-confirm-box", self.confirm_box), ("mnb-cost", self.cost),
                            ("mnb-errors", self.errors), ("mnb-launch-message", self.message),
                            ("mnb-forget-key", self.forget_key), ("mnb-instrumental", self.instrumental)):
            widget.add_class(cls)
        self.provider.observe(self._guard(self._on_provider), names="value")
        self.model.observe(self._guard(self._on_model), names="value")
        for ctl in (self.account, self.bitrate, self.sample_rate, self.audio_format, self.variants,
                    self.instrumental, self.max_usd):
            ctl.observe(self._guard(self._on_setting), names="value")
        self.key.observe(self._guard(self._on_key), names="value")
        self.forget_key.on_click(self._guard(self._on_forget))
        self.generate.on_click(self._guard(self._on_generate))
        self.confirm.on_click(self._guard(self._on_confirm))
        self.cancel.on_click(self._guard(self._on_cancel))
        super().__init__([
            w.HTML("<b>Generate</b>"), self.provider, self.model, self.account, self.bitrate,
            self.sample_rate, self.audio_format, self.instrumental, self.key_status,
            _wrap([self.key, self.forget_key]),
            _wrap([self.variants, self.max_usd, self.cost]),
            self.generate, self.confirm_box, self.message, self.errors,
        ], layout=w.Layout(width="100%"))
        self.add_class("mnb-launcher")
        self._on_provider(None, model=model)

    # ------------------------------------------------------------------ API
    @property
    def api_key(self) -> str | None:
        """The key typed into this launcher for the chosen provider (kept in memory only), or ``None``."""
        return self.api_key_for(self.provider.value)

    def api_key_for(self, provider: str) -> str | None:
        """The key given for ``provider`` (never another provider's), or ``None``."""
        if provider == LOCAL:
            return None
        secret = self._keys.get(provider)
        return secret.get() if secret is not None else None

    def set_api_key(self, key: str | None, provider: str | None = None) -> None:
        """Give a key from code (e.g. from ``getpass``) for ``provider`` (default: the chosen one); it is
        kept in memory only, and only ever used for that provider."""
        provider = provider or self.provider.value
        if provider == LOCAL:
            return
        key = key.strip() if key and key.strip() else None
        if key is None:
            self._keys.pop(provider, None)
        else:
            self._keys[provider] = Secret(key)
        self._rejected.pop(provider, None)  # a new key has not been refused yet
        self._refresh_key_status()
        self._refresh_generate()
        self._emit_change()  # e.g. useapi's styles can load now

    def key_rejected(self, provider: str, message: str) -> None:
        """The provider refused the key (an ``AuthenticationError``): show its message in red.

        ``message`` must already be scrubbed of the key (the client's errors are); it is escaped here.
        """
        self._rejected[provider] = message or "the key was refused"
        self._refresh_key_status()

    def key_accepted(self, provider: str) -> None:
        """A request with ``provider``'s key was answered: the status loses its red refusal."""
        if self._rejected.pop(provider, None) is not None:
            self._refresh_key_status()

    def spec(self) -> ModelSpec | None:
        """The chosen model's spec."""
        model = self.model.value
        return self.catalog.models(self.provider.value).get(model) if model else None

    def settings(self, *, with_budget: bool = True) -> LaunchSettings:
        """The current choices. ``ValidationError`` if "Max $" holds something that is not a limit, unless
        ``with_budget=False`` (then ``max_usd`` is ``None``: for validation and estimates, never to send)."""
        return self._settings(max_usd=self.budget() if with_budget else None)

    def _settings(self, max_usd: float | None) -> LaunchSettings:
        def opt(v: Any) -> Any:
            return None if v == DEFAULT else v

        return LaunchSettings(
            provider=self.provider.value, model=self.model.value or None,
            account=self.account.value.strip() or None, bitrate=opt(self.bitrate.value),
            sample_rate=opt(self.sample_rate.value), audio_format=opt(self.audio_format.value),
            variants=int(self.variants.value), api_key=self.api_key,
            instrumental=bool(self.instrumental.value), max_usd=max_usd)

    def budget(self) -> float | None:
        """The "Max $" limit, or ``None`` when the field is empty. Raises ``ValidationError`` for text
        that is not a non-negative number, so a typo never reads as "no limit"."""
        text = self.max_usd.value.strip().lstrip("$").strip()
        if not text or self.provider.value == LOCAL:  # the offline emulator is free (the field hides)
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ValidationError(f"Max $ must be a non-negative number of USD, not {text!r}",
                                  problems=[f"max_usd: {text!r} is not a number >= 0"])
        return value

    def budget_refusal(self, variants: int | None = None) -> BudgetExceededError | None:
        """Why Generate must not send the current batch of ``variants`` songs (default: the Variants
        field) — over "Max $", or not boundable — else ``None``. Free ``local`` is never refused."""
        limit = self.budget()
        if limit is None:
            return None
        n = int(self.variants.value) if variants is None else variants
        return BudgetExceededError.for_batch(self.provider.value, [self.estimate()] * n, limit)

    def key_source(self, provider: str | None = None) -> str | None:
        """Where ``provider``'s key (default: the chosen provider's) comes from: ``"entered"``,
        ``"$ENV_NAME"``, ``"none needed"``, or ``None``."""
        provider = provider or self.provider.value
        if provider == LOCAL:
            return "none needed"
        if self.api_key_for(provider):
            return "entered"
        env_key = self.catalog.env_key(provider)
        if env_key and self.env.get(env_key):
            return f"${env_key}"
        return None

    def set_valid(self, valid: bool, reason: str = "") -> None:
        """Enable Generate only for a valid request (the studio calls this after each validation)."""
        self._valid = valid
        self._invalid_reason = reason
        self._refresh_generate()

    def set_request(self, request: MusicRequest | None) -> None:
        """The request as the composer has it now (for the cost estimate)."""
        self._request = request
        self._refresh_cost()

    def on_generate(self, callback: Callable[[LaunchSettings], None]) -> None:
        """Call ``callback(settings)`` when the user generates (after confirmation for big batches)."""
        self._callbacks.append(callback)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when provider, model or an output setting changes."""
        self._change_callbacks.append(callback)

    def show_error(self, exc: BaseException, context: str = "") -> None:
        self.errors.value = _html.error_box(exc, context)

    def estimate(self) -> float | None:
        """The estimated price of one run of the current request, in USD, when known."""
        if self._request is None:
            return None
        s = self._settings(max_usd=None)
        return self.catalog.estimate_cost(s.provider, s.apply(self._request), s.model)

    # ------------------------------------------------------------------ internals
    def _guard(self, fn: Callable[..., None]) -> Callable[..., None]:
        def wrapped(*args: Any) -> None:
            with self.ui_lock:
                try:
                    fn(*args)
                except Exception as e:
                    self.show_error(e, getattr(fn, "__name__", "callback").lstrip("_").replace("_", " "))

        return wrapped

    def _emit_change(self) -> None:
        for cb in list(self._change_callbacks):
            cb()

    def _on_provider(self, change: Any, model: str | None = None) -> None:
        provider = self.provider.value
        models = list(self.catalog.models(provider))
        default = self.catalog.default_model(provider)
        chosen = model if model in models else (default if default in models else None)
        if chosen is None and models:
            chosen = models[0]
        with self.hold_trait_notifications():
            self.model.options = models
            self.model.value = chosen
        self.account.layout.display = "none" if provider == LOCAL else ""
        self._on_model(None)

    def _on_model(self, change: Any) -> None:
        spec = self.spec()

        def offer(dropdown: w.Dropdown, values: tuple[Any, ...]) -> None:
            old = dropdown.value
            dropdown.options = [DEFAULT, *values]
            dropdown.value = old if old in values else DEFAULT
            dropdown.layout.display = "" if values else "none"

        offer(self.bitrate, spec.bitrates if spec else ())
        offer(self.sample_rate, spec.sample_rates if spec else ())
        offer(self.audio_format, spec.formats if spec else ())
        self._refresh_key_status()
        self._refresh_cost()
        self._refresh_generate()
        self._emit_change()

    def _on_setting(self, change: Any) -> None:
        self._refresh_cost()
        if change is not None and change.get("owner") is self.max_usd:
            self.errors.value = ""  # an earlier refusal no longer describes the limit
            self._refresh_generate()
        self._emit_change()

    def _on_key(self, change: Any) -> None:
        value = self.key.value
        if not value:
            return
        # read the key into Python, then clear the field at once: widget state never keeps it
        self.key.value = ""
        self.set_api_key(value, self.provider.value)

    def _on_forget(self, _: Any) -> None:
        self.set_api_key(None)

    def _refresh_key_status(self) -> None:
        provider = self.provider.value
        env_key = self.catalog.env_key(provider)
        src = self.key_source()
        rejected = self._rejected.get(provider)
        if src == "none needed":
            text, colour = "no key needed (offline emulator)", _html.OK
        elif rejected is not None:
            where = "the key you entered" if src == "entered" else f"the key from {src}" if src else "the key"
            text, colour = f"{provider} refused {where}: {rejected}", _html.BAD
        elif src == "entered":
            text = f"key entered for {provider} in this session (kept in memory, never saved)"
            colour = _html.OK
        elif src:
            text, colour = f"key from {src}", _html.OK
        else:
            hint = f"set ${env_key} or " if env_key else ""
            text, colour = f"no key for {provider}: {hint}paste one below", _html.BAD
        state = "rejected" if rejected is not None and src != "none needed" else ("ok" if src else "missing")
        self.key_status.value = (f'<span class="mnb-key-{state}" style="color:{colour}">'
                                 f"{_html.esc(text)}</span>")
        self.key.layout.display = "none" if provider == LOCAL else ""
        self.max_usd.layout.display = "none" if provider == LOCAL else ""  # the emulator is free
        self.forget_key.layout.display = "" if provider != LOCAL and self.api_key else "none"

    def _refresh_cost(self) -> None:
        try:
            one = self.estimate()
        except Exception as e:  # an invalid model etc.: no estimate, but say why
            self.cost.value = f'<span style="color:{_html.MUTED}">cost: {_html.esc(e)}</span>'
            return
        n = int(self.variants.value)
        if self.provider.value == LOCAL:
            text = f'<span style="color:{_html.MUTED}">free (offline emulator)</span>'
        elif one is None:
            text = f'<span style="color:{_html.MUTED}">cost: unknown</span>'
        else:
            text = (f'<span title="estimate">≈ ${one * n:.2f}'
                    f'{f" ({n} × ${one:.2f})" if n > 1 else ""}</span>')
        refusal: Exception | None
        try:
            refusal = self.budget_refusal()
        except Exception as e:  # a typo in "Max $": say so where the limit is read
            refusal = e
        if refusal is not None:
            word = "over Max $" if isinstance(refusal, BudgetExceededError) else "Max $?"
            text += (f' <span style="color:{_html.BAD}" title="{_html.esc(refusal)}">'
                     f'— {_html.esc(word)}</span>')
        self.cost.value = text

    def _refresh_generate(self) -> None:
        reasons = []
        if not self._valid:
            reasons.append(self._invalid_reason or "the request is not valid")
        if self.key_source() is None:
            reasons.append("no API key")
        try:
            self.budget()
        except ValidationError as e:
            reasons.append(e.message)
        self.generate.disabled = bool(reasons)
        self.generate.tooltip = "; ".join(reasons) if reasons else "generate the song"

    def _on_generate(self, _: Any) -> None:
        if self.generate.disabled:
            return
        refusal = self.budget_refusal()  # before the confirmation too: nothing over the limit is offered
        if refusal is not None:
            self.show_error(refusal, "over budget, nothing was sent")
            return
        self.errors.value = ""
        n = int(self.variants.value)
        if n > self.confirm_above:
            try:
                one = self.estimate()
            except Exception:
                one = None
            cost = f" for about ${one * n:.2f}" if one is not None else ""
            self.confirm_text.value = f"<b>Generate {n} songs{_html.esc(cost)}?</b>&nbsp;"
            self.confirm_box.layout.display = "flex"
            self.generate.disabled = True
            return
        self._fire()

    def _on_confirm(self, _: Any) -> None:
        self.confirm_box.layout.display = "none"
        self._refresh_generate()
        self._fire()

    def _on_cancel(self, _: Any) -> None:
        self.confirm_box.layout.display = "none"
        self.message.value = f'<span style="color:{_html.MUTED}">batch cancelled</span>'
        self._refresh_generate()

    def _fire(self) -> None:
        settings = self.settings()
        refusal = self.budget_refusal()  # again: the limit may have changed while confirming
        if refusal is not None:
            self.show_error(refusal, "over budget, nothing was sent")
            return
        self.message.value = ""
        for cb in list(self._callbacks):
            cb(settings)

    def __repr__(self) -> str:
        return f"<Launcher provider={self.provider.value!r} model={self.model.value!r}>"
