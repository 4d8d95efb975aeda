"""An offline emulator of the four MiniMax music APIs, with a real song synthesizer behind it.

    from minimax_nb.emulator import Emulator, DEFAULT_KEY
    with Emulator(speed=50) as emu:                       # a real loopback server on a free port
        emu.base_url("useapi")                            # "http://127.0.0.1:PORT/useapi"
        emu.faults.add(route="poll", kind="503", times=2) # fault injection
        emu.submissions(accepted_only=True)               # how many songs were "bought"

It follows ``shared/specs/PROVIDERS.md`` and ``docs/WIRE.md`` (written from the specs, not from the
client: it never imports ``minimax_nb.providers`` or ``minimax_nb.client``). Run it on its own with
``python -m minimax_nb.emulator --port 8765 [--speed 50] [--faults FILE]``.

Prefixes: ``/useapi`` (v1 blocking create, retrieve, list, styles, and the 2026 POST create),
``/aimlapi`` and ``/local`` (AIML ``/v2/generate/audio``), ``/apiin`` (submit and task poll),
``/minimax`` (the platform's blocking ``/v1/music_generation``, also streamed) and ``/files`` (signed,
expiring audio and cover URLs). Jobs take 50–60 s divided by ``speed``; their phase is computed from
the clock on each request. ``moderate_words`` are refused at submit (useapi 422, platform 1026, AIML and
apiin fail asynchronously); ``post_moderate_words`` are moderated once made (useapi status 4, absent
from the list, audio URL 404; platform 1027). Fault kinds: see ``minimax_nb.emulator.faults``.
"""

from __future__ import annotations

from minimax_nb.emulator.common import DEFAULT_KEY, LoggedRequest
from minimax_nb.emulator.engine import EmuJob, Phase
from minimax_nb.emulator.faults import FaultRule, FaultSet
from minimax_nb.emulator.server import PROVIDERS, AsyncEmulatorTransport, Emulator, SyncEmulatorTransport

__all__ = [
    "DEFAULT_KEY",
    "PROVIDERS",
    "AsyncEmulatorTransport",
    "EmuJob",
    "Emulator",
    "FaultRule",
    "FaultSet",
    "LoggedRequest",
    "Phase",
    "SyncEmulatorTransport",
]
