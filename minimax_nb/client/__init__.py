"""The only place with I/O to the providers: the sync and async clients and what they share.

``MusicClient`` (blocking, httpx.Client) and ``AsyncMusicClient`` (httpx.AsyncClient) are thin loops
around ``core`` (every decision), ``polling`` (when to ask) and ``download`` (files on disk).
"""

from __future__ import annotations

from minimax_nb.client.async_ import AsyncMusicClient
from minimax_nb.client.core import RetryPolicy, Timeouts
from minimax_nb.client.polling import PollPolicy
from minimax_nb.client.sync import MusicClient

__all__ = ["AsyncMusicClient", "MusicClient", "PollPolicy", "RetryPolicy", "Timeouts"]
