"""The adapter contract: one pure class per provider API, in the sans-I/O style of h11.

An adapter never touches the network, the clock or the disk. It turns a ``MusicRequest`` into an
``HttpRequest`` description (without the key: the client adds ``Authorization``), and turns an
``HttpResponse`` into a new ``Job`` state, or raises the matching typed error. The clients (sync and
async) drive it; the tests drive it by feeding it payloads.

Every parser raises only ``MiniMaxError`` subclasses (``NotImplementedError`` for an operation the
provider does not have); ``validate()``/``build_submit()`` raise only ``ValidationError``. The parsers
are written to map every surprising answer themselves (the property tests feed them unguarded); as a
last line, ``ProviderAdapter`` wraps each subclass's ``parse_submit``, ``parse_poll``, ``parse_list``,
``parse_styles`` and ``raise_for_error`` so that a leaked Python exception becomes the project's
malformed-answer error (``errors.from_foreign``: ``APIConnectionError``, or ``ServerError`` for a 5xx).
The original is kept as the wrapper's ``__wrapped__``.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

from minimax_nb.errors import ConcurrencyLimitError, MiniMaxError, ValidationError, from_foreign
from minimax_nb.models import Job, MusicRequest
from minimax_nb.providers._json import MAX_JSON_DEPTH, nests_deeper_than
from minimax_nb.providers.validation import Issue, ModelSpec, errors_only

__all__ = ["PARSERS", "HttpRequest", "HttpResponse", "ProviderAdapter", "SubmitResult"]

#: The methods that read an answer; each is guarded so that only project errors escape.
PARSERS = ("parse_submit", "parse_poll", "parse_list", "parse_styles", "raise_for_error")

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True, slots=True)
class HttpRequest:
    """What to send. ``path`` is appended to the client's base URL.

    ``kind`` tells the transport how it may retry: a ``"submit"`` is never replayed once it may have
    reached the server; ``"read"`` requests (polls, lists, styles) are retried with backoff.
    ``blocking`` marks a request that holds the connection until the song is made (useapi v1 create,
    platform generation): the transport uses its long read timeout for it.
    """

    method: Literal["GET", "POST"]
    path: str
    kind: Literal["submit", "read"]
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    blocking: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class HttpResponse:
    """What came back, already read. ``body`` is the raw bytes; ``json()`` parses it."""

    status_code: int
    body: bytes
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers.items():
            if k.lower() == low:
                return v
        return None

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` when it is not JSON (not UTF-8, not JSON, or nested
        deeper than ``MAX_JSON_DEPTH`` — never a ``RecursionError``)."""
        import json

        try:
            data = json.loads(self.body.decode("utf-8"))
        except RecursionError:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        if nests_deeper_than(data, MAX_JSON_DEPTH):
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class SubmitResult:
    """The job after its submit answer, plus audio bytes when the answer carried them (platform hex).

    ``audio_bytes`` never goes into ``Job``: the transport writes it straight to a file.
    """

    job: Job
    audio_bytes: bytes | None = None
    audio_ext: str | None = None


class ProviderAdapter(abc.ABC):
    """Base of the four adapters. Subclasses set the class attributes and implement the hooks."""

    name: ClassVar[str]
    env_key: ClassVar[str]
    #: The scheme of the ``Authorization`` header the client sends: ``f"{auth_scheme} {key}"``
    #: (fal.ai: ``"Key"``).
    auth_scheme: ClassVar[str] = "Bearer"
    default_base_url: ClassVar[str]
    default_model: ClassVar[str]
    models: ClassVar[Mapping[str, ModelSpec]]
    #: True when the submit answer is already final (useapi v1 create, platform): no polling needed.
    blocking_submit: ClassVar[bool] = False
    #: Generations one account may run at once (useapi: 1); ``None`` when unknown/unlimited.
    per_account_limit: ClassVar[int | None] = None
    #: How long a generation usually takes (seconds): drives the poll schedule and progress bars.
    expected_duration_s: ClassVar[float] = 55.0
    #: A 404 on an audio URL whose job's status still says completed means the song was moderated
    #: after it was made (the provider documents no other signal of a later moderation).
    audio_404_moderated: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in PARSERS:
            fn = cls.__dict__.get(name)
            if callable(fn) and not hasattr(fn, "__wrapped__"):
                setattr(cls, name, _guard_parser(fn))

    def model_spec(self, model: str | None) -> ModelSpec:
        """The spec of ``model`` (or the default model). Unknown names raise ``ValidationError``."""
        name = model or self.default_model
        spec = self.models.get(name)
        if spec is None:
            valid = ", ".join(self.models)
            msg = f"unknown model {name!r} for {self.name}; valid models: {valid}"
            raise ValidationError(msg, problems=[f"model: {msg}"], provider=self.name)
        return spec

    def resolve_model(self, request: MusicRequest, model: str | None = None) -> str:
        """The model name a request will use: the argument, else ``request.model``, else the default."""
        return model or request.model or self.default_model

    def submit_blocks(self, model: str | None = None) -> bool:
        """True when the create call for ``model`` answers only once the song is made."""
        try:
            return self.model_spec(model).blocking
        except ValidationError:
            return self.blocking_submit

    def _model_issue(self, name: str) -> Issue | None:
        try:
            self.model_spec(name)
        except ValidationError as e:
            return Issue("error", "model", e.message)
        return None

    def _raise_invalid(self, issues: Sequence[Issue], model: str) -> None:
        """Raise ``ValidationError`` listing every error in ``issues`` (warnings do not block)."""
        errs = errors_only(issues)
        if errs:
            problems = [f"{i.field}: {i.message}" for i in errs]
            raise ValidationError(
                f"request not valid for {self.name} model {model}: " + "; ".join(problems),
                problems=problems,
                provider=self.name,
            )

    @abc.abstractmethod
    def validate(self, request: MusicRequest, *, model: str | None = None) -> list[Issue]:
        """Every problem with ``request`` for this provider/model, errors and warnings. Pure."""

    @abc.abstractmethod
    def build_submit(
        self, request: MusicRequest, *, model: str | None = None, account: str | None = None
    ) -> HttpRequest:
        """The create request. Raises ``ValidationError`` listing every error before anything is sent."""

    @abc.abstractmethod
    def parse_submit(self, job: Job, response: HttpResponse) -> SubmitResult:
        """The job after the create answer, or the typed error the answer means."""

    @abc.abstractmethod
    def build_poll(self, job: Job) -> HttpRequest | None:
        """The status read for ``job``; ``None`` when the provider has none (platform)."""

    @abc.abstractmethod
    def parse_poll(self, job: Job, response: HttpResponse) -> Job:
        """The job after a status answer, or the typed error the answer means."""

    @abc.abstractmethod
    def raise_for_error(self, response: HttpResponse) -> None:
        """Raise the typed error an error answer means; return quietly for a success answer."""

    # Optional capabilities: providers without them raise NotImplementedError with a clear message.
    def build_styles(self, *, account: str | None = None) -> HttpRequest:
        raise NotImplementedError(f"{self.name} has no styles list")

    def parse_styles(self, response: HttpResponse) -> list[dict[str, str]]:
        raise NotImplementedError(f"{self.name} has no styles list")

    def build_list(
        self, *, account: str | None = None, limit: int = 20, last_id: str | None = None
    ) -> HttpRequest:
        raise NotImplementedError(f"{self.name} has no list endpoint")

    def parse_list(self, response: HttpResponse) -> list[Mapping[str, Any]]:
        raise NotImplementedError(f"{self.name} has no list endpoint")

    def is_concurrency_refusal(self, error: Exception) -> bool:
        """True when ``error`` means "busy, try this create again later" (nothing was bought)."""
        return isinstance(error, ConcurrencyLimitError)

    def estimate_cost_usd(self, request: MusicRequest, *, model: str | None = None) -> float | None:
        return self.model_spec(self.resolve_model(request, model)).price_usd


def _guard_parser(fn: _F) -> _F:
    """``fn`` (a parser) with any leaked non-project exception turned into the malformed-answer error."""

    @functools.wraps(fn)
    def guarded(self: ProviderAdapter, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except (MiniMaxError, NotImplementedError):
            raise
        except Exception as exc:  # a parser surprised by an answer: the answer is malformed
            response = next((a for a in (*args, *kwargs.values()) if isinstance(a, HttpResponse)), None)
            err = from_foreign(exc, provider=self.name, sent=True,
                               status_code=response.status_code if response is not None else None)
        raise err  # outside the except block: no __context__ to the foreign exception

    return guarded  # type: ignore[return-value]
