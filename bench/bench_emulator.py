"""The emulator's throughput: status reads per second against a trivial Starlette app.

    .venv/bin/python bench/bench_emulator.py [--quick]

Both are served the same way (uvicorn on loopback in a thread of this process, one port each) and read
by the same ``httpx.AsyncClient`` with 32 requests in flight for a fixed time. The emulator answers an
AIML status read of a running job (auth, lookup, phase, JSON); the trivial app answers a constant JSON.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
from _common import Row, print_rows
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from minimax_nb.emulator import DEFAULT_KEY, Emulator


def trivial_app() -> Starlette:
    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"id": request.query_params.get("generation_id"), "status": "generating",
                             "audio_file": None, "error": None})

    return Starlette(routes=[Route("/v2/generate/audio", status)])


class Served:
    def __init__(self, app: Starlette) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.sock.close()


async def hammer(url: str, params: dict[str, str], headers: dict[str, str], seconds: float) -> float:
    done = 0
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=32)) as http:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                r = await http.get(url, params=params, headers=headers)
                r.raise_for_status()
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(32)))
        return done / (time.perf_counter() - t0)


def run(quick: bool = False) -> list[Row]:
    seconds = 2.0 if quick else 5.0
    headers = {"Authorization": f"Bearer {DEFAULT_KEY}"}
    with Emulator(speed=0.01, prerender=False) as emu:  # the job stays running for the whole run
        url = emu.base_url("aimlapi") + "/v2/generate/audio"
        gid = httpx.post(url, headers=headers, json={"model": "minimax/music-2.0", "prompt": "bench pop song",
                                                     "lyrics": "[Verse]\nla la la la"}).json()["id"]
        ours = asyncio.run(hammer(url, {"generation_id": gid}, headers, seconds))
    served = Served(trivial_app())
    try:
        base = asyncio.run(hammer(f"http://127.0.0.1:{served.port}/v2/generate/audio", {"generation_id": gid},
                                  headers, seconds))
    finally:
        served.stop()
    return [Row("emulator status reads per second (32 in flight, client in the same process)", ours, "req/s",
                base, "trivial Starlette app", "≥ 0.5 × trivial", ours >= 0.5 * base)]


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    print_rows(run(ap.parse_args().quick))


if __name__ == "__main__":
    main()
