"""The provider adapters: one pure class per API (no I/O), looked up by name.

    >>> from minimax_nb.providers import get_adapter, validate_request
    >>> get_adapter("aimlapi").default_model
    'minimax/music-2.0'

``validate_request`` is what the composer calls on every keystroke: it returns every ``Issue`` (errors
and warnings) and never raises for a bad request.
"""

from __future__ import annotations

from minimax_nb.errors import ValidationError
from minimax_nb.models import MusicRequest
from minimax_nb.providers.aimlapi import AimlapiAdapter
from minimax_nb.providers.apiin import ApiinAdapter
from minimax_nb.providers.base import (
    HttpRequest,
    HttpResponse,
    Issue,
    ModelSpec,
    ProviderAdapter,
    SubmitResult,
)
from minimax_nb.providers.fal import FalAdapter
from minimax_nb.providers.local import LocalAdapter
from minimax_nb.providers.minimax import MinimaxAdapter
from minimax_nb.providers.replicate import ReplicateAdapter
from minimax_nb.providers.useapi import UseapiAdapter

__all__ = [
    "ENV_KEYS",
    "PROVIDERS",
    "PROVIDER_NAMES",
    "AimlapiAdapter",
    "ApiinAdapter",
    "FalAdapter",
    "HttpRequest",
    "HttpResponse",
    "Issue",
    "LocalAdapter",
    "MinimaxAdapter",
    "ModelSpec",
    "ProviderAdapter",
    "ReplicateAdapter",
    "SubmitResult",
    "UseapiAdapter",
    "get_adapter",
    "validate_request",
]

#: Every adapter class by provider name.
PROVIDERS: dict[str, type[ProviderAdapter]] = {
    "useapi": UseapiAdapter,
    "aimlapi": AimlapiAdapter,
    "apiin": ApiinAdapter,
    "minimax": MinimaxAdapter,
    "fal": FalAdapter,
    "replicate": ReplicateAdapter,
    "local": LocalAdapter,
}

#: The real providers (not ``"local"``), in the order used when no provider is named (first key found wins).
PROVIDER_NAMES: tuple[str, ...] = ("useapi", "aimlapi", "apiin", "minimax", "fal", "replicate")
#: The environment variable holding each real provider's key.
ENV_KEYS: dict[str, str] = {name: PROVIDERS[name].env_key for name in PROVIDER_NAMES}


def get_adapter(name: str) -> ProviderAdapter:
    """A new adapter for provider ``name`` (case-insensitive). Unknown names raise ``ValidationError``."""
    key = (name or "").strip().lower()
    cls = PROVIDERS.get(key)
    if cls is None:
        msg = f"unknown provider {name!r}; valid providers: {', '.join(PROVIDERS)}"
        raise ValidationError(msg, problems=[f"provider: {msg}"])
    return cls()


def validate_request(provider: str, request: MusicRequest, model: str | None = None) -> list[Issue]:
    """Every ``Issue`` of ``request`` at ``provider`` (and ``model``, else the request's or the default).

    Never raises for a bad request or an unknown provider/model: those come back as ``level="error"`` issues.
    """
    try:
        adapter = get_adapter(provider)
    except ValidationError as e:
        return [Issue("error", "provider", e.message)]
    return adapter.validate(request, model=model)
