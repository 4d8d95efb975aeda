"""Signed, expiring file URLs; the in-process transports (no port); determinism; the command line."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from minimax_nb.emulator import DEFAULT_KEY, Emulator

from .conftest import AUTH, FakeClock, duration_of

LYRICS = "[Verse]\nStreetlights flicker, the night breeze sighs"
AIML_BODY = {"model": "minimax/music-2.0", "prompt": "Lo-fi pop ambient", "lyrics": LYRICS}


def completed_url(emu: Emulator, http: httpx.Client, clock: FakeClock | None = None) -> dict[str, Any]:
    base = emu.base_url("aimlapi")
    gid = http.post(f"{base}/v2/generate/audio", json=AIML_BODY).json()["id"]
    for _ in range(500):
        if clock is not None:
            clock.advance(5)
        body: dict[str, Any] = http.get(f"{base}/v2/generate/audio", params={"generation_id": gid}).json()
        if body["status"] == "completed":
            return body
        time.sleep(0 if clock else 0.01)
    raise AssertionError("never completed")


def test_url_expires_403(slow_emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    url = completed_url(slow_emu, http, clock)["audio_file"]["url"]
    assert http.get(url).status_code == 200
    clock.advance(3500)
    assert http.get(url).status_code == 200
    clock.advance(200)  # past url_ttl_s=3600
    r = http.get(url)
    assert r.status_code == 403 and "expired" in r.text


@pytest.mark.parametrize("mangle", [
    lambda u: u.split("?")[0],
    lambda u: u.replace("sig=", "sig=0"),
    lambda u: u.replace("expires=", "expires=9"),
])
def test_tampered_urls_403(emu: Emulator, http: httpx.Client, mangle: Any) -> None:
    url = completed_url(emu, http)["audio_file"]["url"]
    assert http.get(mangle(url)).status_code == 403


def test_files_unknown_after_restart_404_and_head(emu: Emulator, http: httpx.Client) -> None:
    url = completed_url(emu, http)["audio_file"]["url"]
    head = http.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(http.get(url).content)
    emu.restart()
    assert http.get(url).status_code == 404


def test_signature_covers_the_path(slow_emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    url = completed_url(slow_emu, http, clock)["audio_file"]["url"]
    # another job's file under this URL's signature
    base = slow_emu.base_url("aimlapi")
    gid = http.post(f"{base}/v2/generate/audio", json=AIML_BODY).json()["id"]
    job = next(j for j in slow_emu.jobs("aimlapi") if j.id == gid)
    other_id = url.split("/files/aimlapi/")[1].split(".")[0]
    forged = url.replace(other_id, job.file_id)
    assert http.get(forged).status_code == 403  # the signature covers the path


def test_in_process_sync_without_a_port() -> None:
    emu = Emulator(speed=500)
    assert emu.base_url("useapi") == "http://emulator.invalid/useapi" and not emu.running
    try:
        with httpx.Client(transport=emu.transport(), headers=AUTH, timeout=30) as c:
            params = {"prompt": "la la", "styleId": "pop"}
            r = c.get(f"{emu.base_url('useapi')}/v1/minimax/music/create", params=params)
            assert r.status_code == 200
            audio = c.get(r.json()["audioURL"])
            assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
            assert duration_of(audio.content) == pytest.approx(r.json()["duration"], rel=0.05)
            emu.faults.add(route="poll", kind="reset", times=1)
            with pytest.raises(httpx.RemoteProtocolError):
                c.get(f"{emu.base_url('useapi')}/v1/minimax/music/{r.json()['musicId']}")
            emu.faults.add(route="file", kind="truncated", times=1)
            with pytest.raises(httpx.RemoteProtocolError):
                c.get(r.json()["audioURL"])
            emu.faults.add(route="poll", kind="slow", times=1, delay_s=2)
            with pytest.raises(httpx.ReadTimeout):
                c.get(f"{emu.base_url('useapi')}/v1/minimax/music/x", timeout=httpx.Timeout(5, read=0.2))
            stream = c.post(f"{emu.base_url('minimax')}/v1/music_generation",
                            json={"model": "music-2.6", "lyrics": LYRICS, "stream": True})
            assert stream.text.count("data: ") > 2
        assert emu.submissions() == 2 and emu.requests[0].provider == "useapi"
    finally:
        emu.stop()


async def test_in_process_async() -> None:
    emu = Emulator(speed=500)
    async with httpx.AsyncClient(transport=emu.async_transport(), headers=AUTH,
                                 base_url=emu.base_url("local")) as c:
        gid = (await c.post("/v2/generate/audio", json=AIML_BODY)).json()["id"]
        for _ in range(500):
            body = (await c.get("/v2/generate/audio", params={"generation_id": gid})).json()
            if body["status"] == "completed":
                break
            await asyncio.sleep(0.01)
        assert body["status"] == "completed"
        audio = await c.get(body["audio_file"]["url"])
        assert audio.status_code == 200 and len(audio.content) > 1000
        emu.faults.add(route="submit", kind="reset", times=1)
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/v2/generate/audio", json=AIML_BODY)
        assert emu.submissions("local", accepted_only=True) == 2  # the reset came after the create


async def test_blocking_request_over_async_in_process_does_not_block_the_loop() -> None:
    emu = Emulator(speed=100)
    async with httpx.AsyncClient(transport=emu.async_transport(), headers=AUTH, timeout=30) as c:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        r = await c.post(f"{emu.base_url('minimax')}/v1/music_generation",
                         json={"model": "music-2.6", "lyrics": LYRICS, "output_format": "url"})
        task.cancel()
        assert r.json()["base_resp"]["status_code"] == 0
        assert ticks > 5  # the loop kept running while the platform request was held


def test_same_seed_same_ids_and_timing() -> None:
    def run(seed: int) -> list[tuple[str, float]]:
        clock = FakeClock()
        emu = Emulator(seed=seed, clock=clock, repeatable_ids=True)
        with httpx.Client(transport=emu.transport(), headers=AUTH, base_url=emu.base_url("aimlapi")) as c:
            for _ in range(3):
                c.post("/v2/generate/audio", json=AIML_BODY)
        emu.stop()
        return [(j.id, j.done_at - j.created_at) for j in emu.jobs()]

    first = run(7)
    assert first == run(7) and first != run(8)
    assert all(50 <= total <= 60 for _, total in first)


def test_two_emulators_never_hand_out_the_same_id() -> None:
    ids: list[str] = []
    for _ in range(2):
        emu = Emulator(seed=0, clock=FakeClock())
        with httpx.Client(transport=emu.transport(), headers=AUTH, base_url=emu.base_url("aimlapi")) as c:
            ids.append(c.post("/v2/generate/audio", json=AIML_BODY).json()["id"])
        emu.stop()
    assert ids[0] != ids[1]


def test_keys_per_provider(http: httpx.Client) -> None:
    with Emulator(speed=500, keys={"aimlapi": {"k1", "k2"}}) as emu:
        url = f"{emu.base_url('aimlapi')}/v2/generate/audio"
        assert httpx.get(url, params={"generation_id": "x"}, headers=AUTH).status_code == 401
        for key in ("k1", "k2"):
            r = httpx.get(url, params={"generation_id": "x"}, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 404
        assert http.get(f"{emu.base_url('apiin')}/api/v1/tasks/x").status_code == 404  # default key


def test_start_stop_and_context_manager() -> None:
    emu = Emulator(speed=500)
    with emu:
        assert emu.running and emu.base_url("minimax").startswith("http://127.0.0.1:")
        assert emu.start() is emu  # idempotent
        port = emu.port
        assert httpx.get(f"{emu.url}/apiin/api/v1/tasks/x").status_code == 401
    assert not emu.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/apiin/api/v1/tasks/x")
    with pytest.raises(ValueError):
        emu.base_url("suno")


@pytest.mark.slow
def test_command_line(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps([{"route": "poll", "kind": "503", "times": 1}]))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, "-m", "minimax_nb.emulator", "--port", "0", "--speed", "500",
                             "--faults", str(faults)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "http://127.0.0.1:" in first and DEFAULT_KEY in first
        root = first.split(" on ")[1].split()[0]
        url = f"{root}/apiin/api/v1/tasks/x"
        assert httpx.get(url, headers=AUTH).status_code == 503
        assert httpx.get(url, headers=AUTH).status_code == 404
    finally:
        proc.terminate()
        assert proc.wait(20) == 0


def test_written_from_the_specs_not_from_the_client() -> None:
    """The emulator never imports the client's adapters or transport (so the two check each other)."""
    code = (
        "import sys, httpx\n"
        "from minimax_nb.emulator import Emulator, DEFAULT_KEY\n"
        "emu = Emulator(speed=500)\n"
        "auth = {'Authorization': 'Bearer ' + DEFAULT_KEY}\n"
        "with httpx.Client(transport=emu.transport(), headers=auth) as c:\n"
        "    q = {'prompt': 'la', 'styleId': 'pop'}\n"
        "    r = c.get(emu.base_url('useapi') + '/v1/minimax/music/create', params=q)\n"
        "    assert r.status_code == 200, r.text\n"
        "emu.stop()\n"
        "bad = [m for m in sys.modules if m.startswith(('minimax_nb.providers', 'minimax_nb.client'))]\n"
        "print(bad)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    pkg = Path(__file__).resolve().parents[2] / "minimax_nb" / "emulator"
    for source in pkg.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("minimax_nb.providers", "minimax_nb.client")), source.name


def test_stop_releases_a_caller_held_in_process(clock: FakeClock) -> None:
    emu = Emulator(clock=clock)  # time never moves: the platform request would wait forever
    errors: list[BaseException] = []

    def call() -> None:
        with httpx.Client(transport=emu.transport(), headers=AUTH) as c:
            try:
                c.post(f"{emu.base_url('minimax')}/v1/music_generation",
                       json={"model": "music-2.6", "lyrics": LYRICS})
            except BaseException as exc:
                errors.append(exc)

    t = threading.Thread(target=call)
    t.start()
    for _ in range(1000):
        if emu.jobs("minimax"):
            break
        t.join(0.01)
    emu.stop()
    t.join(10)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], httpx.RemoteProtocolError)
