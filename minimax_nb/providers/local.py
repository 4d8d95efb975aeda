"""The offline emulator (``provider="local"``): the AIML API shape, model ``minimax/music-2.6``.

No key is needed and there is no fixed base URL: the client fills ``base_url`` from the running
emulator (``Emulator().base_url("local")``). Everything else — bodies, statuses, errors — is exactly
the ``aimlapi`` adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from minimax_nb.providers.aimlapi import AIML_MODELS, AimlapiAdapter
from minimax_nb.providers.base import ModelSpec

__all__ = ["LocalAdapter"]

LOCAL_MODEL = "minimax/music-2.6"


class LocalAdapter(AimlapiAdapter):
    """The emulator's AIML-shaped endpoint: ``minimax/music-2.6`` by default, no key."""

    name: ClassVar[str] = "local"
    env_key: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    default_model: ClassVar[str] = LOCAL_MODEL
    #: Like the real services at emulator speed 1 (the emulator divides its 50–60 s by its ``speed``).
    expected_duration_s: ClassVar[float] = 55.0
    #: The emulator speaks the whole AIML surface; ``minimax/music-2.6`` is the one it is built around.
    models: ClassVar[Mapping[str, ModelSpec]] = {
        LOCAL_MODEL: AIML_MODELS[LOCAL_MODEL],
        # not music-01: it needs reference ids from a multipart upload the client does not make
        **{k: v for k, v in AIML_MODELS.items() if k not in (LOCAL_MODEL, "music-01")},
    }
