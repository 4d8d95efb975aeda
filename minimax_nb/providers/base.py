"""The adapter contract: one pure class per provider API, in the sans-I/O style of h11.

An adapter never touches the network, the clock or the disk. It turns a ``MusicRequest`` into an
``HttpRequest`` description (without the key: the transport adds ``Authorization``), and turns an
``HttpResponse`` into a new ``Job`` state, or raises the matching typed error. The transport clients
(sync and async) drive it; the tests drive it by feeding it payloads.
"""

from __future__ import annotations

import abc
import dataclasses
import email.utils
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from minimax_nb import lyrics as _lyrics
from minimax_nb.errors import (
    APIConnectionError,
    AuthenticationError,
    ConcurrencyLimitError,
    InsufficientBalanceError,
    MiniMaxError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from minimax_nb.models import Job, JobStatus, MusicRequest

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "Issue",
    "ModelSpec",
    "ProviderAdapter",
    "SubmitResult",
    "check_request",
    "error_for_status",
    "errors_only",
    "parse_retry_after",
    "read_json",
    "request_id_of",
    "retry_after_from_headers",
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
    #: useapi v1: a ``style_id`` (from the styles list) is required.
    needs_style_id: bool = False
    #: Longest title accepted (useapi relaunch: 40); ``None`` when unlimited or unknown.
    title_max: int | None = None
    #: File endings the reference audio URL must have (AIML legacy: ``.wav``/``.mp3``); empty: any.
    reference_audio_exts: tuple[str, ...] = ()
    #: ``extra["audio_base64"]`` may stand in for ``reference_audio_url`` (the platform's music-cover).
    reference_audio_base64: bool = False
    #: The request's ``style`` is sent as the prompt (a description); ``False`` when the prompt is the lyrics.
    prompt_is_style: bool = True
    #: Lyrics may be empty when ``instrumental`` is set or ``extra["lyrics_optimizer"]`` is true.
    lyrics_optional_when_instrumental: bool = False
    #: The request holds the connection until the song is made (no polling needed).
    blocking: bool = False
    #: Short human description (shown by the launcher).
    description: str = ""


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


def errors_only(issues: Sequence[Issue]) -> list[Issue]:
    """Only the ``level="error"`` issues (the ones that block a request)."""
    return [i for i in issues if i.level == "error"]


# --------------------------------------------------------------------------------------------------
# Shared pure helpers for the adapters.
# --------------------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    An HTTP date is measured against ``now`` (default: the current UTC time). Past dates give ``0.0``;
    anything unparseable gives ``None``. Never sleeps.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if math.isnan(seconds) or math.isinf(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ref = now or datetime.now(UTC)
    if ref.tzinfo is None:
        ref = ref.replace(tzinfo=UTC)
    return max(0.0, (when - ref).total_seconds())


def retry_after_of(response: HttpResponse, *, now: datetime | None = None) -> float | None:
    """``retry-after-ms`` (milliseconds) or ``Retry-After`` (seconds / HTTP date) of a response."""
    return retry_after_from_headers(response.headers, now=now)


def retry_after_from_headers(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """``retry-after-ms`` (milliseconds) or ``Retry-After`` (seconds / HTTP date) of response headers."""
    low = {k.lower(): v for k, v in headers.items()}
    ms = low.get("retry-after-ms")
    if ms is not None:
        try:
            v = float(ms)
        except ValueError:
            v = math.nan
        if not math.isnan(v) and not math.isinf(v):
            return max(0.0, v / 1000.0)
    return parse_retry_after(low.get("retry-after"), now=now)


def request_id_of(response: HttpResponse, body: Any = None) -> str | None:
    """The provider's request/trace id: ``x-request-id``-style headers, else ``trace_id`` in the body."""
    for h in ("x-request-id", "request-id", "x-trace-id", "trace-id", "trace_id"):
        v = response.header(h)
        if v:
            return v
    if isinstance(body, Mapping):
        for k in ("trace_id", "request_id", "requestId"):
            v = body.get(k)
            if isinstance(v, str) and v:
                return v
    return None


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_for_status(
    provider: str,
    status_code: int,
    message: str,
    *,
    code: int | str | None = None,
    request_id: str | None = None,
    body: Any = None,
    retry_after: float | None = None,
    problems: list[str] | None = None,
) -> MiniMaxError:
    """The typed error an HTTP status means (no provider-specific rules).

    400/409/413/422 -> ``ValidationError``, 401/403 -> ``AuthenticationError``, 402 ->
    ``InsufficientBalanceError``, 404/410 -> ``NotFoundError``, 429 -> ``RateLimitError``, 5xx ->
    ``ServerError``; anything else -> ``MiniMaxError``.
    """
    kw: dict[str, Any] = {
        "provider": provider,
        "status_code": status_code,
        "code": code,
        "request_id": request_id,
        "body": body,
    }
    if status_code in (400, 409, 413, 422):
        return ValidationError(message, problems=problems, **kw)
    if status_code in (401, 403):
        return AuthenticationError(message, **kw)
    if status_code == 402:
        return InsufficientBalanceError(message, **kw)
    if status_code in (404, 410):
        return NotFoundError(message, **kw)
    if status_code == 429:
        return RateLimitError(message, retry_after=retry_after, **kw)
    if status_code >= 500:
        return ServerError(message, **kw)
    return MiniMaxError(message, **kw)


def read_json(provider: str, response: HttpResponse, *, expect: type = dict) -> Any:
    """The body of ``response`` as JSON of type ``expect``, or the error a garbage body means.

    The decision for bodies that are not JSON (an HTML error page, truncated JSON) or not the expected
    shape: a 5xx raises ``ServerError``; another 4xx raises the error of its status
    (``error_for_status``) with the start of the text as message; a 2xx/3xx raises ``APIConnectionError``
    ("malformed response"), because the request may have worked but we cannot tell what it made.
    """
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError):
        data = _INVALID
    if data is not _INVALID and isinstance(data, expect):
        return data
    rid = request_id_of(response)
    what = "not JSON" if data is _INVALID else f"JSON {type(data).__name__}, expected {expect.__name__}"
    text = _snippet(response.body) or "<empty body>"
    if response.status_code >= 400:
        raise error_for_status(
            provider,
            response.status_code,
            f"HTTP {response.status_code} with a body that is {what}: {text}",
            request_id=rid,
            body=text,
            retry_after=retry_after_of(response),
        )
    raise APIConnectionError(
        f"malformed response from {provider} (HTTP {response.status_code}, body {what}): {text}",
        provider=provider,
        status_code=response.status_code,
        request_id=rid,
        body=text,
    )


_INVALID = object()

_MODERATION_WORDS = (
    "moderat",
    "sensitive",
    "content policy",
    "content_policy",
    "contentpolicy",
    "inappropriate",
    "violat",
    "prohibited",
)


def mentions_moderation(*texts: object) -> bool:
    """True when any text mentions moderation / sensitive content / content policy."""
    for t in texts:
        if isinstance(t, str):
            low = t.lower()
            if any(w in low for w in _MODERATION_WORDS):
                return True
    return False


def url_path_ends_with(url: str, exts: Sequence[str]) -> bool:
    """True when the path of ``url`` (query and fragment ignored) ends with one of ``exts``."""
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        return False
    return any(path.endswith(e.lower()) for e in exts)


def as_float(value: Any) -> float | None:
    """``value`` as a float when it is a number (or a numeric string), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def as_str(value: Any) -> str | None:
    """``value`` when it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


def finish(job: Job, status: JobStatus, payload: Mapping[str, Any], **changes: Any) -> Job:
    """``job`` moved to ``status`` with ``changes``; ``raw`` becomes ``payload`` (``evolve`` stamps times)."""
    if status is JobStatus.COMPLETED:
        changes.setdefault("error", None)
    return job.evolve(status=status, raw=dict(payload), **changes)


def check_request(spec: ModelSpec, request: MusicRequest) -> list[Issue]:
    """Every problem of ``request`` against ``spec``: lengths, required fields, allowed values, and the
    lyrics warnings (text on a tag line, tags or ``##`` on a model that does not use them).
    """
    issues: list[Issue] = []
    lyr = request.lyrics
    prm = request.style or ""
    no_lyrics_ok = spec.lyrics_optional_when_instrumental and (
        request.instrumental or bool(request.extra.get("lyrics_optimizer"))
    )

    # lyrics
    n = _lyrics.char_count(lyr)
    if not lyr.strip():
        if spec.lyrics_required and not no_lyrics_ok:
            issues.append(Issue("error", "lyrics", f"lyrics is required for {spec.name}"))
    else:
        if spec.lyrics_max is not None and n > spec.lyrics_max:
            issues.append(
                Issue(
                    "error",
                    "lyrics",
                    f"lyrics is {n} characters; {spec.name} accepts at most {spec.lyrics_max}",
                )
            )
        if spec.lyrics_min and n < spec.lyrics_min:
            issues.append(
                Issue(
                    "error",
                    "lyrics",
                    f"lyrics is {n} characters; {spec.name} needs at least {spec.lyrics_min}",
                )
            )
    # prompt (style description)
    if spec.prompt_is_style:
        m = len(prm)
        if not prm.strip():
            if spec.prompt_required:
                issues.append(
                    Issue(
                        "error",
                        "style",
                        f"style (the style description, sent as prompt) is required for {spec.name}",
                    )
                )
        else:
            if spec.prompt_max is not None and m > spec.prompt_max:
                issues.append(
                    Issue(
                        "error",
                        "style",
                        f"style is {m} characters; {spec.name} accepts at most {spec.prompt_max}",
                    )
                )
            if spec.prompt_min and m < spec.prompt_min:
                issues.append(
                    Issue(
                        "error",
                        "style",
                        f"style is {m} characters; {spec.name} needs at least {spec.prompt_min}",
                    )
                )
    elif request.style and request.style.strip():
        issues.append(
            Issue("warning", "style", f"{spec.name} takes no style description; the style text is not sent")
        )
    # style id, title
    if spec.needs_style_id and not (request.style_id and request.style_id.strip()):
        issues.append(Issue("error", "style_id", f"style_id is required for {spec.name} (see styles())"))
    if spec.title_max is not None and request.title and len(request.title) > spec.title_max:
        issues.append(
            Issue(
                "error",
                "title",
                f"title is {len(request.title)} characters; {spec.name} accepts at most {spec.title_max}",
            )
        )
    # reference audio
    ref = request.reference_audio_url
    b64 = request.extra.get("audio_base64")
    if spec.needs_reference_audio and not (ref and ref.strip()) and not (b64 and spec.reference_audio_base64):
        unread = "; this model does not read extra['audio_base64']" if b64 else ""
        issues.append(
            Issue("error", "reference_audio_url", f"reference_audio_url is required for {spec.name}{unread}")
        )
    if ref and spec.reference_audio_exts and not url_path_ends_with(ref, spec.reference_audio_exts):
        issues.append(
            Issue(
                "error",
                "reference_audio_url",
                f"reference_audio_url must end with {' or '.join(spec.reference_audio_exts)}",
            )
        )
    if ref and not spec.needs_reference_audio:
        issues.append(Issue("warning", "reference_audio_url", f"{spec.name} does not use reference audio"))
    # output settings
    if request.bitrate is not None:
        if not spec.bitrates:
            issues.append(Issue("warning", "bitrate", f"{spec.name} has no bitrate setting; it is ignored"))
        elif request.bitrate not in spec.bitrates:
            issues.append(
                Issue(
                    "error",
                    "bitrate",
                    f"bitrate {request.bitrate} is not one of " + ", ".join(str(b) for b in spec.bitrates),
                )
            )
    if request.sample_rate is not None:
        if not spec.sample_rates:
            issues.append(
                Issue("warning", "sample_rate", f"{spec.name} has no sample rate setting; it is ignored")
            )
        elif request.sample_rate not in spec.sample_rates:
            issues.append(
                Issue(
                    "error",
                    "sample_rate",
                    f"sample_rate {request.sample_rate} is not one of "
                    + ", ".join(str(r) for r in spec.sample_rates),
                )
            )
    if request.audio_format is not None:
        if not spec.formats:
            issues.append(
                Issue("warning", "audio_format", f"{spec.name} has no format setting; it is ignored")
            )
        elif request.audio_format not in spec.formats:
            issues.append(
                Issue(
                    "error",
                    "audio_format",
                    f"audio_format {request.audio_format!r} is not one of " + ", ".join(spec.formats),
                )
            )
    if request.instrumental and not spec.supports_instrumental:
        issues.append(
            Issue("warning", "instrumental", f"{spec.name} has no instrumental switch; it is ignored")
        )
    # lyrics conventions
    for w in _lyrics.lyric_warnings(
        lyr, structure_tags=spec.structure_tags, accompaniment_marks=spec.accompaniment_marks
    ):
        issues.append(Issue("warning", "lyrics", w))
    return issues
