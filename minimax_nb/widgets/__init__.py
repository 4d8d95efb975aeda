"""Jupyter widgets for minimax_nb, built from standard ipywidgets 8 controls (no front-end build).

    import minimax_nb
    minimax_nb.studio(provider="local")      # the whole studio, offline

Panels: ``LyricsComposer``, ``Launcher``, ``JobMonitor``, ``Player``, ``ResultsTable`` and ``Studio``
(all of them). Widgets never talk HTTP: the ``Bridge`` runs the plain client in background threads and
feeds coalesced updates to the panels, so the kernel is never blocked.
"""

from __future__ import annotations

from minimax_nb.widgets.bridge import Bridge, Run
from minimax_nb.widgets.composer import LyricsComposer
from minimax_nb.widgets.launcher import Launcher, LaunchSettings
from minimax_nb.widgets.monitor import JobMonitor
from minimax_nb.widgets.player import Player
from minimax_nb.widgets.studio import Studio, studio
from minimax_nb.widgets.table import ResultsTable

__all__ = [
    "Bridge",
    "JobMonitor",
    "LaunchSettings",
    "Launcher",
    "LyricsComposer",
    "Player",
    "ResultsTable",
    "Run",
    "Studio",
    "studio",
]
