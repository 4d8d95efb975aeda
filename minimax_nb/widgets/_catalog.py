"""What the panels need to know about providers and models, read from the adapters (one source of truth).

The widgets never duplicate limits or validation rules: they ask ``minimax_nb.providers`` through this
thin ``Catalog``. Tests pass a fake catalog with the same methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from minimax_nb.models import MusicRequest
from minimax_nb.providers.base import Issue, ModelSpec

__all__ = ["LOCAL", "Catalog", "CatalogLike"]

#: The offline provider: the in-process emulator, needs no key.
LOCAL = "local"


class CatalogLike(Protocol):
    """The questions the panels ask about providers."""

    def providers(self) -> list[str]: ...
    def models(self, provider: str) -> dict[str, ModelSpec]: ...
    def default_model(self, provider: str) -> str: ...
    def env_key(self, provider: str) -> str | None: ...
    def expected_duration_s(self, provider: str, emulator_speed: float | None = None) -> float: ...
    def per_account_limit(self, provider: str) -> int | None: ...
    def has_styles(self, provider: str) -> bool: ...
    def validate(self, provider: str, request: MusicRequest, model: str | None) -> list[Issue]: ...
    def estimate_cost(self, provider: str, request: MusicRequest, model: str | None) -> float | None: ...


class Catalog:
    """The real catalog: ``minimax_nb.providers`` adapters and ``validate_request``."""

    def _adapter(self, provider: str) -> Any:
        from minimax_nb.providers import get_adapter

        return get_adapter(provider)

    def providers(self) -> list[str]:
        """Every provider name, ``"local"`` first."""
        from minimax_nb import providers as p

        names = [str(n) for n in getattr(p, "PROVIDERS", ())]
        return [LOCAL, *[n for n in names if n != LOCAL]]

    def models(self, provider: str) -> dict[str, ModelSpec]:
        models: Mapping[str, ModelSpec] = self._adapter(provider).models
        return dict(models)

    def default_model(self, provider: str) -> str:
        return str(self._adapter(provider).default_model)

    def env_key(self, provider: str) -> str | None:
        if provider == LOCAL:
            return None
        key = getattr(self._adapter(provider), "env_key", None)
        return str(key) if key else None

    def expected_duration_s(self, provider: str, emulator_speed: float | None = None) -> float:
        """How long a song usually takes; for ``local`` over the emulator speed the client will use."""
        expected = float(self._adapter(provider).expected_duration_s)
        if provider == LOCAL:
            from minimax_nb.client.core import resolve_local_speed

            expected /= max(resolve_local_speed(emulator_speed), 1e-3)
        return expected

    def per_account_limit(self, provider: str) -> int | None:
        limit = getattr(self._adapter(provider), "per_account_limit", None)
        return int(limit) if limit else None

    def has_styles(self, provider: str) -> bool:
        return provider == "useapi"

    def validate(self, provider: str, request: MusicRequest, model: str | None) -> list[Issue]:
        from minimax_nb.providers import validate_request

        return list(validate_request(provider, request, model=model))

    def estimate_cost(self, provider: str, request: MusicRequest, model: str | None) -> float | None:
        cost = self._adapter(provider).estimate_cost_usd(request, model=model)
        return None if cost is None else float(cost)
