"""The module every adapter imports from: the adapter contract, HTTP error mapping, validation and the
answer-reading helpers, re-exported from their homes.

- ``providers.contract``: ``HttpRequest``, ``HttpResponse``, ``SubmitResult``, ``ProviderAdapter``;
- ``providers.http_errors``: ``error_for_status``, ``read_json``, ``request_id_of`` and the one
  ``Retry-After`` reader (``parse_retry_after``, ``retry_after_from_headers``, ``retry_after_of``);
- ``providers.validation``: ``Issue``, ``ModelSpec``, ``check_request``, ``check_encodable``,
  ``errors_only``;
- ``providers.parsing``: ``as_str``, ``as_float``, ``as_int``, ``finish``, ``mentions_moderation``.
"""

from __future__ import annotations

from minimax_nb.providers._json import MAX_JSON_DEPTH, nests_deeper_than
from minimax_nb.providers.contract import HttpRequest, HttpResponse, ProviderAdapter, SubmitResult
from minimax_nb.providers.http_errors import (
    error_for_status,
    parse_retry_after,
    read_json,
    request_id_of,
    retry_after_from_headers,
    retry_after_of,
    snippet,
)
from minimax_nb.providers.parsing import (
    as_float,
    as_int,
    as_str,
    finish,
    mentions_moderation,
)
from minimax_nb.providers.validation import (
    Issue,
    ModelSpec,
    check_encodable,
    check_request,
    errors_only,
    url_path_ends_with,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "HttpRequest",
    "HttpResponse",
    "Issue",
    "ModelSpec",
    "ProviderAdapter",
    "SubmitResult",
    "as_float",
    "as_int",
    "as_str",
    "check_encodable",
    "check_request",
    "error_for_status",
    "errors_only",
    "finish",
    "mentions_moderation",
    "nests_deeper_than",
    "parse_retry_after",
    "read_json",
    "request_id_of",
    "retry_after_from_headers",
    "retry_after_of",
    "snippet",
    "url_path_ends_with",
]

