"""Fixtures for the pure unit tests: a factory of ``HttpResponse`` payloads."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from minimax_nb.providers.base import HttpResponse

MakeResponse = Callable[..., HttpResponse]


def make_response(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """An ``HttpResponse`` whose body is ``body`` as JSON (bytes and str are sent as they are)."""
    if isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
    return HttpResponse(status, raw, dict(headers or {}))


@pytest.fixture
def resp() -> MakeResponse:
    return make_response
