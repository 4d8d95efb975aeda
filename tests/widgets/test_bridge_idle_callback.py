"""The ticker must not go idle with a ``call``/``post`` callback still waiting to run (the studio's
finished jobs reach the results table through one: a lost wake-up left them out until the next run)."""

from __future__ import annotations

import threading

from minimax_nb.widgets import Bridge


def test_a_callback_posted_while_the_ticker_sleeps_still_runs() -> None:
    bridge = Bridge(lambda provider, **kw: None, interval=0.3)  # type: ignore[arg-type]
    released = threading.Event()
    ran = threading.Event()
    try:
        # the ticker runs this in a flush, then sleeps one interval; the worker's result is posted
        # during that sleep, when nothing else keeps the ticker busy
        bridge.post(released.set)
        bridge.call(lambda: released.wait(10), lambda _: ran.set(), lambda e: None)
        assert ran.wait(10), "the ticker went idle with a posted callback in its inbox"
    finally:
        bridge.close()
