"""Conformance: the unmodified official clients — ``fal-client`` 1.0.x and ``replicate`` 1.0.x — against the
emulator over real loopback sockets, pointed at it only through their documented settings.

fal: ``FAL_QUEUE_RUN_HOST=127.0.0.1:PORT/fal``, ``FAL_RUN_HOST=127.0.0.1:PORT/falrun``, ``FAL_KEY``, and
``SSL_CERT_FILE`` = the emulator's CA (fal_client speaks only HTTPS and reads its hosts once at import, so it
runs in a child process, ``fal_driver.py``). Replicate: ``replicate.Client(base_url=…/replicate)``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from minimax_nb.emulator import DEFAULT_KEY, Emulator

fal_client = pytest.importorskip("fal_client")
replicate = pytest.importorskip("replicate")

DRIVER = Path(__file__).with_name("fal_driver.py")
M15_INPUT = {"prompt": "dreamy synth pop", "lyrics": "[verse]\nhello there world"}


@pytest.fixture(scope="module")
def tls_emu() -> Iterator[Emulator]:
    with Emulator(speed=40, seed=3, tls=True) as emu:
        yield emu


def _run_fal(emu: Emulator, scenario: str) -> dict[str, Any]:
    hostport = emu.url.split("://", 1)[1]
    assert emu.ca_file is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAL_")}
    env.update(SSL_CERT_FILE=emu.ca_file, FAL_KEY=DEFAULT_KEY, FAL_QUEUE_RUN_HOST=f"{hostport}/fal",
               FAL_RUN_HOST=f"{hostport}/falrun")
    proc = subprocess.run([sys.executable, str(DRIVER), scenario], env=env, capture_output=True, text=True,
                          timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _unsigned(result: Any) -> Any:
    """A result with its audio URL's signature dropped: two reads a second apart sign with another
    ``expires`` (the same file, a fresh URL)."""
    audio = dict(result.get("audio") or {}) if isinstance(result, dict) else {}
    if "url" in audio:
        audio["url"] = str(audio["url"]).split("?", 1)[0]
    return {**result, "audio": audio} if isinstance(result, dict) else result


def _is_audio(output: Any, emu: Emulator) -> bool:
    return isinstance(output, dict) and str(output["audio"]["url"]).startswith(f"{emu.url}/files/fal/")


def test_fal_client_sync_and_async(tls_emu: Emulator) -> None:
    tls_emu.clear_requests()
    out = _run_fal(tls_emu, "all")
    assert {"Queued", "InProgress", "Completed"} >= set(out["statuses"]) and "Completed" in out["statuses"]
    assert out["logs"] and out["logs"][0]["message"]
    assert _is_audio(out["result"], tls_emu) and _unsigned(out["result"]) == _unsigned(out["handle_get"])
    assert _is_audio(out["subscribe"], tls_emu) and "Completed" in out["updates"]
    assert _is_audio(out["run"], tls_emu)
    assert out["after_cancel"] == "Completed"
    assert out["http_error"]["status"] == 422 and "at least 10" in out["http_error"]["message"]
    a = out["async"]
    assert a["status"] in ("Queued", "InProgress", "Completed")
    assert _is_audio(a["get"], tls_emu) and _unsigned(a["get"]) == _unsigned(a["result"])
    assert _is_audio(a["subscribe"], tls_emu) and "Completed" in a["updates"]
    assert _is_audio(a["run"], tls_emu) and a["after_cancel"] == "Completed"
    paths = [(r.method, r.path) for r in tls_emu.requests]
    # the subpath is used to submit, never to read a request
    assert ("POST", "/fal/fal-ai/minimax-music/v2") in paths
    assert not any("/v2/requests/" in p or "/v1.5/requests/" in p for _, p in paths)
    assert ("POST", "/falrun/fal-ai/minimax-music/v2.6") in paths
    assert any(m == "PUT" and p.endswith("/cancel") for m, p in paths)
    status_queries = {r.query.get("logs") for r in tls_emu.requests if r.path.endswith("/status")}
    assert {"true", "false"} <= status_queries
    v15 = [j for j in tls_emu.jobs("fal") if j.model.endswith("/v1.5")]
    assert v15 and v15[0].lyrics.startswith("[verse]") and v15[0].prompt == "warm jazz ballad"


def test_fal_client_replays_a_submit_whose_answer_was_lost(tls_emu: Emulator) -> None:
    """The double purchase the spec warns of: fal_client re-POSTs after a dropped connection, and the
    emulator (like fal) has then queued two requests. Our own client never does this."""
    tls_emu.faults.clear()
    before = tls_emu.submissions("fal", accepted_only=True)
    tls_emu.faults.add(route="submit", provider="fal", kind="reset", times=1)
    try:
        out = _run_fal(tls_emu, "reset")
    finally:
        tls_emu.faults.clear()
    assert _is_audio(out["result"], tls_emu)
    assert tls_emu.submissions("fal", accepted_only=True) - before == 2


@pytest.fixture
def rep(tls_emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    assert tls_emu.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", tls_emu.ca_file)
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
    tls_emu.faults.clear()
    yield replicate.Client(api_token=DEFAULT_KEY, base_url=tls_emu.base_url("replicate"))
    tls_emu.faults.clear()


def test_replicate_run_without_and_with_a_version(rep: Any, tls_emu: Emulator) -> None:
    from replicate.helpers import FileOutput

    out = rep.run("minimax/music-1.5", input=M15_INPUT)
    assert isinstance(out, FileOutput) and out.url.startswith(f"{tls_emu.url}/files/replicate/")
    assert len(out.read()) > 10_000
    version = "70c8395540eae909be2c09a0b4897d22ee2455a5e5c9826b71161743b5cc45f1"
    out = rep.run(f"minimax/music-1.5:{version}", input=M15_INPUT)
    assert isinstance(out, FileOutput)
    paths = [r.path for r in tls_emu.requests]
    assert f"/replicate/v1/models/minimax/music-1.5/versions/{version}" in paths
    assert "/replicate/v1/predictions" in paths


def test_replicate_create_wait_cancel(rep: Any) -> None:
    p = rep.predictions.create(model="minimax/music-2.5", input={"lyrics": "[verse]\nhi there"})
    assert p.status == "starting"
    p.wait()
    assert p.status == "succeeded" and p.output.startswith("https://")
    q = rep.models.predictions.create(model="minimax/music-2.6",
                                      input={"prompt": "calm", "is_instrumental": True})
    q.cancel()
    q.reload()
    assert q.status == "canceled"


def test_replicate_failed_run_raises_model_error(rep: Any) -> None:
    with pytest.raises(replicate.exceptions.ModelError):
        rep.run("minimax/music-1.5", input={"prompt": "dreamy synth pop", "lyrics": "forbiddenword again"})


def test_replicate_async_run(rep: Any) -> None:
    async def go() -> Any:
        return await rep.async_run("minimax/music-01", input={"lyrics": "##la la la##"})

    out = asyncio.run(go())
    assert str(out).startswith("https://")


def test_replicate_problem_errors_reach_the_client(rep: Any) -> None:
    with pytest.raises(replicate.exceptions.ReplicateError) as info:
        rep.predictions.create(model="minimax/music-1.5", input={"prompt": "x"})
    assert info.value.status == 422 and "input.prompt" in str(info.value.detail)


def test_replicate_never_retries_a_create_but_retries_a_throttled_read(rep: Any, tls_emu: Emulator) -> None:
    before = tls_emu.submissions("replicate")
    tls_emu.faults.add(route="submit", provider="replicate", kind="503", times=1)
    with pytest.raises(replicate.exceptions.ReplicateError):
        rep.predictions.create(model="minimax/music-1.5", input=M15_INPUT)
    assert tls_emu.submissions("replicate") - before == 1
    p = rep.predictions.create(model="minimax/music-1.5", input=M15_INPUT)
    tls_emu.faults.add(route="poll", provider="replicate", kind="429", times=1, retry_after=0)
    p.wait()
    assert p.status == "succeeded"
    assert any(r.fault == "429" for r in tls_emu.requests)
