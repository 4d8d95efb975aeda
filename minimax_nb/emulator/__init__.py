"""An offline emulator of the four MiniMax music APIs, with a real song synthesizer behind it.

    from minimax_nb.emulator import Emulator, DEFAULT_KEY
    with Emulator(speed=50) as emu:                       # a real loopback server on a free port
        emu.base_url("useapi")                            # "http://127.0.0.1:PORT/useapi"
        emu.faults.add(route="poll", kind="503", times=2) # fault injection
        emu.submissions(accepted_only=True)               # how many songs were "bought"

It follows ``shared/specs/PROVIDERS.md`` and ``docs/WIRE.md`` (written from the specs, not from the
client: it never imports ``minimax_nb.providers`` or ``minimax_nb.transport``). Run it on its own with
``python -m minimax_nb.emulator --port 8765 [--speed 50] [--faults FILE]``.
"""

from __future__ import annotations

from minimax_nb.emulator.common import DEFAULT_KEY, LoggedRequest
from minimax_nb.emulator.faults import FaultRule, FaultSet
from minimax_nb.emulator.server import PROVIDERS, AsyncEmulatorTransport, Emulator, SyncEmulatorTransport

__all__ = [
    "DEFAULT_KEY",
    "PROVIDERS",
    "AsyncEmulatorTransport",
    "Emulator",
    "FaultRule",
    "FaultSet",
    "LoggedRequest",
    "SyncEmulatorTransport",
]
