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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    "redact",
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
    """Base of every error raised by minimax_nb."""

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
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body
        self.job = job

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
        super().__init__(message, **kw)
        self.problems = problems or [message]


class AuthenticationError(MiniMaxError):
    """The key is missing, wrong or not allowed."""


class ModerationError(MiniMaxError):
    """The provider refused the lyrics/prompt, or moderated the song after it was made."""


class ConcurrencyLimitError(MiniMaxError):
    """Too many generations at once for this account (useapi: one at a time). Nothing was bought."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RateLimitError(MiniMaxError):
    """Too many requests. ``retry_after`` (seconds) when the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class InsufficientBalanceError(MiniMaxError):
    """The account has no credit left."""


class NotFoundError(MiniMaxError):
    """The job (or route) does not exist."""


class ServerError(MiniMaxError):
    """The provider failed (5xx, or an internal error code)."""


class APIConnectionError(MiniMaxError):
    """No usable answer: connection refused or reset, malformed body, protocol error."""


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
