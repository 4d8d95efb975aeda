"""The exception tree, and the two guards of the API key (``redact`` for text, ``Secret`` to hold it).
Every error says which provider, HTTP status, provider code, message and
request/trace id it knows — and never the API key (``redact`` scrubs any text that passes through).

    MiniMaxError
    ├── ValidationError            raised before any request is sent, when detectable locally
    │   └── BudgetExceededError    a batch's estimated cost is over ``max_usd`` (or unknown)
    ├── AuthenticationError        401 / platform 1004, 2049
    ├── ModerationError            useapi 422, status 4, platform 1026/1027
    ├── ConcurrencyLimitError      useapi 429 "previous request…", platform 1041
    ├── RateLimitError             429 / platform 1002, 2056 (``retry_after`` when known)
    ├── InsufficientBalanceError   402 / platform 1008
    ├── NotFoundError              404
    ├── ServerError                5xx / platform 1000, 1001, 1024, 1033
    ├── APIConnectionError         could not talk to the server at all
    │   └── APITimeoutError
    ├── JobFailedError             the job ended FAILED/CANCELLED (carries the job)
    └── WaitTimeoutError           ``wait()`` gave up (also a ``TimeoutError``; carries the job)

Two fields other code reads are declared on every error: ``retry_after`` (seconds the server asked to
wait, or ``None``) and ``may_have_reached_server`` (``False`` only when the request surely never left:
a submit may then be sent again; ``True`` — the safe default — everywhere else).

Nothing foreign escapes: ``from_foreign`` turns any failure of the HTTP stack, of decoding or of parsing
into the matching ``MiniMaxError`` (with no ``__cause__``/``__context__`` pointing at the foreign
exception, whose request headers hold the key), and ``scrub_error`` redacts known secrets from every
field of an error (message, request id, body, problems, notes, the job's raw payload) and cuts any
foreign exception out of its chain.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minimax_nb.models import Job

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BudgetExceededError",
    "ConcurrencyLimitError",
    "InsufficientBalanceError",
    "JobFailedError",
    "MiniMaxError",
    "ModerationError",
    "NotFoundError",
    "RateLimitError",
    "Secret",
    "ServerError",
    "ValidationError",
    "WaitTimeoutError",
    "from_foreign",
    "redact",
    "scrub_error",
]

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given secret and every ``Bearer <token>`` replaced by ``***``."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return _BEARER.sub(r"\1***", text)


class Secret:
    """Holds the key so that ``vars()``, ``repr()`` and ``pickle`` of its owner never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value

    def get(self) -> str | None:
        return self._value

    def __repr__(self) -> str:
        return "<secret ***>" if self._value else "<no secret>"

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("an API key is never pickled")


class MiniMaxError(Exception):
    """Base of every error raised by minimax_nb.

    ``retry_after``: seconds the server asked to wait before trying again (``Retry-After``), or ``None``.
    ``may_have_reached_server``: ``False`` only when the request is known never to have left this
    machine (connection refused, pool timeout, invalid URL); ``True`` otherwise — an answered error, a
    dropped connection or a garbled answer all mean the server may have acted on it.
    ``secrets`` (not stored) are redacted from the message, request id and body at construction.
    """

    #: Class-level defaults, so errors unpickled from before these fields existed still read them.
    retry_after: float | None = None
    may_have_reached_server: bool = True

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        code: int | str | None = None,
        request_id: str | None = None,
        body: Any = None,
        job: Job | None = None,
        retry_after: float | None = None,
        may_have_reached_server: bool = True,
        secrets: Iterable[str | None] = (),
    ) -> None:
        secrets = tuple(secrets)
        message = redact(str(message), secrets)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.request_id = redact(request_id, secrets) if isinstance(request_id, str) else request_id
        self.body = _scrub_value(body, secrets) if secrets else body
        self.job = job
        self.retry_after = retry_after
        self.may_have_reached_server = may_have_reached_server

    def __str__(self) -> str:
        parts = [p for p in (
            self.provider,
            f"HTTP {self.status_code}" if self.status_code is not None else None,
            f"code {self.code}" if self.code is not None and self.code != self.status_code else None,
            f"request {self.request_id}" if self.request_id else None,
        ) if p]
        return f"{self.message} ({', '.join(parts)})" if parts else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across processes, keyword fields included
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[MiniMaxError], message: str, state: dict[str, Any]) -> MiniMaxError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class ValidationError(MiniMaxError, ValueError):
    """The request is invalid for this provider/model. Raised before anything is sent.

    ``problems`` lists every problem found (not only the first).
    """

    def __init__(self, message: str, *, problems: list[str] | None = None, **kw: Any) -> None:
        secrets = tuple(kw.pop("secrets", ()))
        super().__init__(message, secrets=secrets, **kw)
        self.problems = [redact(str(p), secrets) for p in problems] if problems else [self.message]


class AuthenticationError(MiniMaxError):
    """The key is missing, wrong or not allowed."""


class ModerationError(MiniMaxError):
    """The provider refused the lyrics/prompt, or moderated the song after it was made."""


class ConcurrencyLimitError(MiniMaxError):
    """Too many generations at once for this account (useapi: one at a time). Nothing was bought."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kw)


class RateLimitError(MiniMaxError):
    """Too many requests. ``retry_after`` (seconds) when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kw)


class InsufficientBalanceError(MiniMaxError):
    """The account has no credit left."""


class NotFoundError(MiniMaxError):
    """The job (or route) does not exist."""


class ServerError(MiniMaxError):
    """The provider failed (5xx, or an internal error code)."""


class APIConnectionError(MiniMaxError):
    """No usable answer: connection refused or reset, malformed body, protocol error.

    ``may_have_reached_server`` (default ``True``) is ``False`` only when the request surely never left.
    """


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class JobFailedError(MiniMaxError):
    """The job reached FAILED or CANCELLED. ``job`` is the job in that state."""


class WaitTimeoutError(MiniMaxError, TimeoutError):
    """``wait()`` ran out of time; the job is still running at the provider. ``job`` is its last state."""


class BudgetExceededError(ValidationError):
    """A batch's estimated cost exceeds ``max_usd`` (or cannot be bounded). Raised before anything is
    sent. ``estimate_usd`` is the known part of the estimate, ``unknown`` how many songs have no price."""

    def __init__(self, message: str, *, estimate_usd: float = 0.0, unknown: int = 0, max_usd: float = 0.0,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.estimate_usd = estimate_usd
        self.unknown = unknown
        self.max_usd = max_usd

    @classmethod
    def for_batch(cls, provider: str, costs: Sequence[float | None],
                  max_usd: float) -> BudgetExceededError | None:
        """The refusal for a batch whose songs are estimated at ``costs`` (``None``: no estimate) under a
        limit of ``max_usd``, or ``None`` when the batch fits. Shared by ``generate_many``, the CLI and
        the studio's "Max $", so all three refuse with the same words."""
        if max_usd < 0:
            raise ValueError("max_usd must be >= 0")
        known = sum(c for c in costs if c is not None)
        unknown = sum(c is None for c in costs)
        if known > max_usd + 1e-9:
            return cls(
                f"the batch of {len(costs)} songs is estimated at ${known:.2f} on {provider}, over the "
                f"limit of ${max_usd:.2f}" + (f" ({unknown} more have no price estimate)" if unknown else ""),
                provider=provider, estimate_usd=known, unknown=unknown, max_usd=max_usd)
        if unknown:
            return cls(
                f"{unknown} of the {len(costs)} songs have no price estimate on {provider} (known part: "
                f"${known:.2f}), so the batch cannot be kept under ${max_usd:.2f}; drop max_usd to send it "
                "anyway",
                provider=provider, estimate_usd=known, unknown=unknown, max_usd=max_usd)
        return None


# --------------------------------------------------------------------------------------------------
# Nothing foreign escapes: scrubbing errors and mapping foreign failures onto the tree.
# --------------------------------------------------------------------------------------------------

#: Containers nested deeper than this are cut (``"<cut: nested too deep>"``) while scrubbing.
_SCRUB_DEPTH = 200
_PLAIN = (bool, int, float, complex, type(None), enum.Enum, _dt.date, _dt.time, _dt.timedelta, PurePath)


def _scrub_value(value: Any, secrets: tuple[str | None, ...], depth: int = 0) -> Any:
    """``value`` with every secret redacted: strings, bytes, mappings, sequences, sets, jobs, errors.

    Anything else (a foreign object that may carry a key in its attributes, such as an
    ``httpx.Request``) becomes the redacted text of its ``repr``.
    """
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, _PLAIN):
        return value
    if depth > _SCRUB_DEPTH:
        return "<cut: nested too deep>"
    if isinstance(value, bytes | bytearray):
        text = value.decode("utf-8", errors="replace")
        clean = redact(text, secrets)
        return value if clean == text else clean.encode("utf-8")
    if isinstance(value, MiniMaxError):
        return _scrub_in_place(value, secrets, set())
    if isinstance(value, Mapping):
        return {_scrub_value(k, secrets, depth + 1): _scrub_value(v, secrets, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_scrub_value(v, secrets, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, set | frozenset):
        return frozenset(_scrub_value(v, secrets, depth + 1) for v in value)
    from minimax_nb.models import Job, MusicRequest

    if isinstance(value, Job):
        return dataclasses.replace(
            value,
            raw=_scrub_value(value.raw, secrets, depth + 1),
            error=_scrub_value(value.error, secrets, depth + 1),
            request=_scrub_value(value.request, secrets, depth + 1),
        )
    if isinstance(value, MusicRequest):
        return value.replace(extra=_scrub_value(value.extra, secrets, depth + 1))
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return redact(text, secrets)


def _scrub_in_place(err: MiniMaxError, secrets: tuple[str | None, ...], seen: set[int]) -> MiniMaxError:
    if id(err) in seen:
        return err
    seen.add(id(err))
    for name, value in list(vars(err).items()):
        setattr(err, name, _scrub_value(value, secrets))
    err.args = tuple(_scrub_value(a, secrets) for a in err.args)
    notes = getattr(err, "__notes__", None)
    if isinstance(notes, list):
        err.__notes__ = [redact(str(n), secrets) for n in notes]
    # Keep links to project errors (scrubbed too); cut every foreign exception out of the chain.
    foreign = False
    for link in ("__cause__", "__context__"):
        linked = getattr(err, link)
        if isinstance(linked, MiniMaxError):
            _scrub_in_place(linked, secrets, seen)
        elif linked is not None:
            setattr(err, link, None)
            foreign = True
    if foreign:
        err.__suppress_context__ = True
    # Frames may hold the key in their locals (request headers): a re-raise starts a fresh traceback.
    err.__traceback__ = None
    return err


def scrub_error(err: MiniMaxError, secrets: Iterable[str | None] = ()) -> MiniMaxError:
    """Redact ``secrets`` (and any ``Bearer <token>``) from every field of ``err``, in place; returns it.

    Scrubbed: the message and ``args``, ``request_id``, ``body`` (recursively through dicts, lists and
    strings), ``problems``, notes, the carried ``Job`` (its ``raw``, ``error`` and request ``extra``)
    and any other attribute (a foreign object becomes the redacted text of its ``repr``). Chained
    project errors are scrubbed too; a foreign exception in ``__cause__``/``__context__`` is cut out
    (its ``request.headers`` would carry ``Authorization``), and tracebacks are cleared, since their
    frames' locals may hold the key. Idempotent.

    Raise the result *outside* the ``except`` block that caught the foreign exception: Python sets
    ``__context__`` again on a ``raise`` inside an ``except`` block (even with ``from None``).
    """
    return _scrub_in_place(err, tuple(secrets), set())


#: Python exceptions a parser raises on an answer it cannot read.
_PARSE_ERRORS: tuple[type[BaseException], ...] = (
    RecursionError,
    ValueError,  # json.JSONDecodeError, UnicodeDecodeError, int() of a bad string
    LookupError,  # KeyError, IndexError
    TypeError,
    AttributeError,
    ArithmeticError,  # OverflowError of float() on a huge int
    UnicodeError,
    AssertionError,
)


def _describe(exc: BaseException, secrets: tuple[str | None, ...], limit: int = 300) -> str:
    try:
        text = str(exc)
    except Exception:
        text = ""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, secrets)


def _httpx_not_sent(httpx: Any) -> tuple[type[BaseException], ...]:
    names = ("ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol", "InvalidURL")
    return tuple(t for t in (getattr(httpx, n, None) for n in names) if isinstance(t, type))


def from_foreign(
    exc: BaseException,
    *,
    provider: str | None,
    secrets: Iterable[str | None] = (),
    sent: bool | None = None,
    status_code: int | None = None,
) -> MiniMaxError:
    """The project error a non-project failure of the HTTP stack, of decoding or of parsing means.

    - ``httpx.ConnectError``/``ConnectTimeout`` (and ``PoolTimeout``, ``UnsupportedProtocol``,
      ``InvalidURL``: the request never left) → ``APIConnectionError(may_have_reached_server=False)``;
    - any other ``httpx.TimeoutException`` → ``APITimeoutError`` (may have reached the server);
    - ``httpx.TooManyRedirects``, ``DecodingError``, ``RemoteProtocolError`` and every other
      ``httpx.HTTPError`` (and ``OSError``) → ``APIConnectionError`` (may have reached the server);
    - ``RecursionError``, ``ValueError`` (JSON, Unicode), ``KeyError``, ``TypeError``,
      ``AttributeError``, ``OverflowError``… raised while reading an answer → ``APIConnectionError``
      "malformed answer" (it reached the server), or ``ServerError`` when ``status_code`` is a 5xx;
    - anything else → ``APIConnectionError`` "unexpected failure" (may have reached the server).

    ``sent`` overrides the inference: ``False`` when the failure is known to have happened before
    anything was sent (building or encoding the request), ``True`` when it surely came after.
    A ``MiniMaxError`` is returned scrubbed. The result's text is redacted and it has no
    ``__cause__``/``__context__`` pointing at ``exc`` (``__suppress_context__`` is set); raise it
    outside the ``except`` block (see ``scrub_error``). ``KeyboardInterrupt``, ``SystemExit`` and
    ``CancelledError`` are not failures to map: they raise ``TypeError`` here and must propagate.
    """
    secrets = tuple(secrets)
    if isinstance(exc, MiniMaxError):
        return scrub_error(exc, secrets)
    if not isinstance(exc, Exception):
        raise TypeError(f"from_foreign maps failures, not {type(exc).__name__}: let it propagate")
    text = _describe(exc, secrets)
    httpx = sys.modules.get("httpx")  # an httpx exception exists only once httpx was imported
    err: MiniMaxError
    if httpx is not None and isinstance(exc, (httpx.HTTPError, *_httpx_not_sent(httpx))):
        reached = sent if sent is not None else not isinstance(exc, _httpx_not_sent(httpx))
        timeout = isinstance(exc, httpx.TimeoutException)
        verb = "timed out" if timeout else "failed"
        where = ("after the request may have reached the server" if reached
                 else "before the request was sent")
        if isinstance(exc, httpx.TooManyRedirects):
            what = "too many redirects"
        elif isinstance(exc, httpx.DecodingError):
            what = "the answer could not be decoded"
        else:
            what = f"connection {verb}"
        cls = APITimeoutError if timeout else APIConnectionError
        err = cls(f"{what} {where} ({text})", provider=provider, status_code=status_code,
                  may_have_reached_server=reached, secrets=secrets)
    elif isinstance(exc, _PARSE_ERRORS):
        if sent is False:
            err = APIConnectionError(f"failed before the request was sent ({text})", provider=provider,
                                     may_have_reached_server=False, secrets=secrets)
        elif status_code is not None and status_code >= 500:
            err = ServerError(f"HTTP {status_code} with an unreadable body ({text})", provider=provider,
                              status_code=status_code, secrets=secrets)
        else:
            http = f"HTTP {status_code}" if status_code is not None else "no status"
            err = APIConnectionError(f"malformed answer ({http}): {text}", provider=provider,
                                     status_code=status_code, secrets=secrets)
    elif isinstance(exc, OSError):
        reached = sent if sent is not None else True
        err = APIConnectionError(f"connection failed ({text})", provider=provider,
                                 may_have_reached_server=reached, secrets=secrets)
    else:
        reached = sent if sent is not None else True
        err = APIConnectionError(f"unexpected failure ({text})", provider=provider, status_code=status_code,
                                 may_have_reached_server=reached, secrets=secrets)
    err.__cause__ = None
    err.__context__ = None
    err.__suppress_context__ = True
    return err
