"""HTTP error mapping: the typed error an answer's status means, the one ``Retry-After`` reader, the
request id of an answer, and what a body that is not the expected JSON means (``read_json``).

``Retry-After`` is read here and only here (``retry_after_from_headers``: ``retry-after-ms`` or
``Retry-After`` seconds / HTTP date); the clients apply their own cap on top.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from minimax_nb.errors import (
    APIConnectionError,
    AuthenticationError,
    InsufficientBalanceError,
    MiniMaxError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from minimax_nb.providers.contract import HttpResponse

__all__ = [
    "error_for_status",
    "parse_retry_after",
    "read_json",
    "request_id_of",
    "retry_after_from_headers",
    "retry_after_of",
    "snippet",
]


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
    except (TypeError, ValueError, IndexError, OverflowError):
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


def snippet(body: bytes, limit: int = 200) -> str:
    """The start of ``body`` as one line of text (at most ``limit`` characters)."""
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


_INVALID = object()


def read_json(provider: str, response: HttpResponse, *, expect: type = dict) -> Any:
    """The body of ``response`` as JSON of type ``expect``, or the error a garbage body means.

    The decision for bodies that are not JSON (an HTML error page, truncated JSON) or not the expected
    shape: a 5xx raises ``ServerError``; another 4xx raises the error of its status
    (``error_for_status``) with the start of the text as message; a 2xx/3xx raises ``APIConnectionError``
    ("malformed response"), because the request may have worked but we cannot tell what it made.
    """
    try:
        data = response.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = _INVALID
    if data is not _INVALID and isinstance(data, expect):
        return data
    rid = request_id_of(response)
    what = "not JSON" if data is _INVALID else f"JSON {type(data).__name__}, expected {expect.__name__}"
    text = snippet(response.body) or "<empty body>"
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
