"""The adapter contract: one pure class per provider API, in the sans-I/O style of h11.

An adapter never touches the network, the clock or the disk. It turns a ``MusicRequest`` into an
``HttpRequest`` description (without the key: the transport adds ``Authorization``), and turns an
``HttpResponse`` into a new ``Job`` state, or raises the matching typed error. The transport clients
(sync and async) drive it; the tests drive it by feeding it payloads.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from minimax_nb.models import Job, MusicRequest

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "Issue",
    "ModelSpec",
    "ProviderAdapter",
    "SubmitResult",
]


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
        """The body as JSON; raises ``ValueError`` when it is not JSON."""
        import json

        return json.loads(self.body.decode("utf-8"))


@dataclasses.dataclass(frozen=True, slots=True)
class Issue:
    """One validation finding. ``level="error"`` blocks the request; ``"warning"`` does not."""

    level: Literal["error", "warning"]
    field: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class ModelSpec:
    """What one model of one provider accepts. Validation, the composer and the launcher read this."""

    name: str
    lyrics_max: int | None = None
    lyrics_min: int = 0
    lyrics_required: bool = False
    prompt_min: int = 0
    prompt_max: int | None = None
    prompt_required: bool = False
    bitrates: tuple[int, ...] = ()
    sample_rates: tuple[int, ...] = ()
    formats: tuple[str, ...] = ()
    structure_tags: bool = False
    accompaniment_marks: bool = False
    needs_reference_audio: bool = False
    supports_instrumental: bool = False
    max_duration_s: float | None = None
    price_usd: float | None = None


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
    default_base_url: ClassVar[str]
    default_model: ClassVar[str]
    models: ClassVar[Mapping[str, ModelSpec]]
    #: True when the submit answer is already final (useapi v1 create, platform): no polling needed.
    blocking_submit: ClassVar[bool] = False
    #: Generations one account may run at once (useapi: 1); ``None`` when unknown/unlimited.
    per_account_limit: ClassVar[int | None] = None
    #: How long a generation usually takes (seconds): drives the poll schedule and progress bars.
    expected_duration_s: ClassVar[float] = 55.0

    def model_spec(self, model: str | None) -> ModelSpec:
        """The spec of ``model`` (or the default model). Unknown names raise ``ValidationError``."""
        raise NotImplementedError

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

    def build_list(self, *, account: str | None = None, limit: int = 20,
                   last_id: str | None = None) -> HttpRequest:
        raise NotImplementedError(f"{self.name} has no list endpoint")

    def parse_list(self, response: HttpResponse) -> list[Mapping[str, Any]]:
        raise NotImplementedError(f"{self.name} has no list endpoint")

    def is_concurrency_refusal(self, error: Exception) -> bool:
        """True when ``error`` means "busy, try this create again later" (nothing was bought)."""
        from minimax_nb.errors import ConcurrencyLimitError

        return isinstance(error, ConcurrencyLimitError)

    def estimate_cost_usd(self, request: MusicRequest, *, model: str | None = None) -> float | None:
        return self.model_spec(model or request.model).price_usd


def errors_only(issues: Sequence[Issue]) -> list[Issue]:
    return [i for i in issues if i.level == "error"]
