"""minimax_nb — MiniMax AI music generation as a first-class citizen of Jupyter.

    from minimax_nb import MusicClient, MusicRequest
    with MusicClient() as client:            # provider="local" (the offline emulator) without a key
        job = client.generate(MusicRequest(lyrics="[Verse]\\nHello world", style="pop"))
    job.audio_path

Public names are imported lazily so ``import minimax_nb`` stays fast and light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # models
    "MusicRequest": "minimax_nb.models",
    "Job": "minimax_nb.models",
    "JobStatus": "minimax_nb.models",
    # errors
    "MiniMaxError": "minimax_nb.errors",
    "ValidationError": "minimax_nb.errors",
    "AuthenticationError": "minimax_nb.errors",
    "ModerationError": "minimax_nb.errors",
    "ConcurrencyLimitError": "minimax_nb.errors",
    "RateLimitError": "minimax_nb.errors",
    "InsufficientBalanceError": "minimax_nb.errors",
    "NotFoundError": "minimax_nb.errors",
    "ServerError": "minimax_nb.errors",
    "APIConnectionError": "minimax_nb.errors",
    "APITimeoutError": "minimax_nb.errors",
    "JobFailedError": "minimax_nb.errors",
    "WaitTimeoutError": "minimax_nb.errors",
    # providers
    "get_adapter": "minimax_nb.providers",
    "PROVIDERS": "minimax_nb.providers",
    # transport
    "MusicClient": "minimax_nb.client.sync",
    "AsyncMusicClient": "minimax_nb.client.async_",
    "PollPolicy": "minimax_nb.client.polling",
    "RetryPolicy": "minimax_nb.client.core",
    # ledger and results
    "Ledger": "minimax_nb.ledger",
    "results": "minimax_nb.results",
    "compare": "minimax_nb.results",
    # offline world
    "Emulator": "minimax_nb.emulator",
    # widgets
    "studio": "minimax_nb.widgets",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from minimax_nb.client.async_ import AsyncMusicClient
    from minimax_nb.client.core import RetryPolicy
    from minimax_nb.client.polling import PollPolicy
    from minimax_nb.client.sync import MusicClient
    from minimax_nb.emulator import Emulator
    from minimax_nb.errors import (
        APIConnectionError,
        APITimeoutError,
        AuthenticationError,
        ConcurrencyLimitError,
        InsufficientBalanceError,
        JobFailedError,
        MiniMaxError,
        ModerationError,
        NotFoundError,
        RateLimitError,
        ServerError,
        ValidationError,
        WaitTimeoutError,
    )
    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job, JobStatus, MusicRequest
    from minimax_nb.providers import PROVIDERS, get_adapter
    from minimax_nb.results import compare, results
    from minimax_nb.widgets.studio import studio as studio


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'minimax_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
