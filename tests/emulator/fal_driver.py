"""Drives the unmodified ``fal_client`` against the emulator; run as a child process by
``test_official_clients.py`` because ``fal_client`` reads its hosts (``FAL_RUN_HOST``,
``FAL_QUEUE_RUN_HOST``) once, at import. Prints one JSON object of what it saw.

    python fal_driver.py all | reset
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import fal_client

V2 = "fal-ai/minimax-music/v2"
V2_INPUT = {"prompt": "dreamy synth pop", "lyrics_prompt": "[Verse]\nhello there world of song"}


def _name(x: object) -> str:
    return type(x).__name__


def scenario_all() -> dict[str, Any]:
    out: dict[str, Any] = {}
    # sync: submit, status with logs until in progress, result
    handle = fal_client.submit(V2, arguments=V2_INPUT)
    out["request_id"] = handle.request_id
    statuses: list[str] = []
    logs: Any = None
    for _ in range(400):
        st = fal_client.status(V2, handle.request_id, with_logs=True)
        statuses.append(_name(st))
        if isinstance(st, fal_client.InProgress) and st.logs:
            logs = st.logs
        if isinstance(st, fal_client.Completed):
            break
        asyncio.run(asyncio.sleep(0.05))
    out["statuses"] = sorted(set(statuses))
    out["logs"] = logs
    out["result"] = fal_client.result(V2, handle.request_id)
    out["handle_get"] = handle.get()
    # subscribe with on_queue_update, on v1.5 (prompt = lyrics, lyrics_prompt = style)
    updates: list[str] = []
    out["subscribe"] = fal_client.subscribe(
        "fal-ai/minimax-music/v1.5",
        arguments={"prompt": "[verse]\nla la la la la", "lyrics_prompt": "warm jazz ballad"},
        with_logs=True,
        on_queue_update=lambda u: updates.append(_name(u)),
    )
    out["updates"] = sorted(set(updates))
    # synchronous run
    out["run"] = fal_client.run("fal-ai/minimax-music/v2.6",
                                arguments={"prompt": "calm lofi beat", "is_instrumental": True})
    # cancel
    h2 = fal_client.submit(V2, arguments=V2_INPUT)
    fal_client.cancel(V2, h2.request_id)
    out["after_cancel"] = _name(fal_client.status(V2, h2.request_id))
    # errors
    try:
        fal_client.submit(V2, arguments={"prompt": "x"})
    except fal_client.FalClientHTTPError as e:
        out["http_error"] = {"status": e.status_code, "message": str(e.message)[:200]}

    async def async_part() -> dict[str, Any]:
        res: dict[str, Any] = {}
        h = await fal_client.submit_async("fal-ai/minimax-music/v2.5",
                                          arguments={"prompt": "rock anthem", "lyrics": "[verse]\nyeah yeah"})
        res["status"] = _name(await fal_client.status_async("fal-ai/minimax-music/v2.5", h.request_id,
                                                            with_logs=True))
        res["get"] = await h.get()
        res["result"] = await fal_client.result_async("fal-ai/minimax-music/v2.5", h.request_id)
        seen: list[str] = []
        res["subscribe"] = await fal_client.subscribe_async(V2, arguments=V2_INPUT, with_logs=True,
                                                            on_queue_update=lambda u: seen.append(_name(u)))
        res["updates"] = sorted(set(seen))
        instrumental = {"prompt": "calm lofi beat", "is_instrumental": True}
        res["run"] = await fal_client.run_async("fal-ai/minimax-music/v2.6", arguments=instrumental)
        h3 = await fal_client.submit_async(V2, arguments=V2_INPUT)
        await fal_client.cancel_async(V2, h3.request_id)
        res["after_cancel"] = _name(await fal_client.status_async(V2, h3.request_id))
        return res

    out["async"] = asyncio.run(async_part())
    return out


def scenario_reset() -> dict[str, Any]:
    """One submit whose answer is lost: fal_client re-POSTs it."""
    handle = fal_client.submit(V2, arguments=V2_INPUT)
    return {"request_id": handle.request_id, "result": handle.get()}


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    result = scenario_all() if which == "all" else scenario_reset()
    print(json.dumps(result))
