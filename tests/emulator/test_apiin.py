"""apiin.one against PROVIDERS.md §3 and docs/WIRE.md, over loopback HTTP."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from minimax_nb.emulator import Emulator

from .conftest import WRONG, FakeClock, decode, duration_of

GOOD = {"model": "minimax-music", "prompt": "An energetic electronic dance track",
        "lyrics": "Feel the beat, move your feet\nLet the music take you higher", "bitrate": 256000,
        "sample_rate": 44100}
TASK_ID = re.compile(r"^n[0-9a-z]+_minimax$")


def submit(http: httpx.Client, emu: Emulator, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"{emu.base_url('apiin')}/api/v1/audio/music", json=body)


def task(http: httpx.Client, emu: Emulator, task_id: str) -> httpx.Response:
    return http.get(f"{emu.base_url('apiin')}/api/v1/tasks/{task_id}")


def wait_final(http: httpx.Client, emu: Emulator, task_id: str) -> dict[str, Any]:
    for _ in range(500):
        data: dict[str, Any] = task(http, emu, task_id).json()["data"]
        if data["status"].lower() in ("completed", "failed"):
            return data
        time.sleep(0.01)
    raise AssertionError("never finished")


@pytest.mark.parametrize("headers", [{}, WRONG])
def test_auth_401_shape(emu: Emulator, headers: dict[str, str]) -> None:
    expected = {"error": {"code": 401, "message": "Invalid API key", "type": "authentication_error"}}
    r = httpx.post(f"{emu.base_url('apiin')}/api/v1/audio/music", json=GOOD, headers=headers)
    assert (r.status_code, r.json()) == (401, expected)
    r = httpx.get(f"{emu.base_url('apiin')}/api/v1/tasks/n1_minimax", headers=headers)
    assert (r.status_code, r.json()) == (401, expected)


def test_submit_envelope_and_case_quirk(emu: Emulator, http: httpx.Client) -> None:
    r = submit(http, emu, GOOD)
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 200 and body["message"] == "success"
    assert set(body["data"]) == {"task_id", "status"}
    assert TASK_ID.match(body["data"]["task_id"]) and body["data"]["status"] == "IN_PROGRESS"
    done = wait_final(http, emu, body["data"]["task_id"])
    assert done["status"] == "completed"  # lower case at the end, upper case while working
    audio = http.get(done["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert duration_of(audio.content) == pytest.approx(done["duration"], rel=0.05)
    assert http.get(done["cover_url"]).content.startswith(b"\x89PNG")


def test_poll_phases(slow_emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    tid = submit(http, slow_emu, GOOD).json()["data"]["task_id"]
    seen = []
    for step in (1, 20, 45):
        clock.advance(step)
        body = task(http, slow_emu, tid).json()
        assert body["code"] == 200 and body["data"]["task_id"] == tid
        seen.append(body["data"]["status"])
    assert seen == ["IN_PROGRESS", "IN_PROGRESS", "completed"]


def test_defaults_and_prompt_only(emu: Emulator, http: httpx.Client) -> None:
    r = submit(http, emu, {"model": "minimax-music", "prompt": "calm lo-fi beat"})
    assert r.status_code == 200
    done = wait_final(http, emu, r.json()["data"]["task_id"])
    samples, rate = decode(http.get(done["audio_url"]).content)
    assert rate == 44100 and samples.shape[1] == 2
    job = next(j for j in emu.jobs("apiin") if j.id == done["task_id"])
    assert (job.bitrate, job.sample_rate) == (256000, 44100)  # the documented defaults


def test_sample_rate_honoured(emu: Emulator, http: httpx.Client) -> None:
    r = submit(http, emu, dict(GOOD, sample_rate=16000, bitrate=32000))
    done = wait_final(http, emu, r.json()["data"]["task_id"])
    assert decode(http.get(done["audio_url"]).content)[1] == 16000


@pytest.mark.parametrize(("body", "needle"), [
    ({"model": "minimax-music"}, "prompt"),
    (dict(GOOD, prompt=""), "prompt"),
    (dict(GOOD, model="suno"), "model"),
    (dict(GOOD, bitrate=100000), "bitrate"),
    (dict(GOOD, sample_rate=48000), "sample_rate"),
    (dict(GOOD, lyrics=5), "lyrics"),
])
def test_validation_400(emu: Emulator, http: httpx.Client, body: dict[str, Any], needle: str) -> None:
    r = submit(http, emu, body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == 400 and err["type"] == "invalid_request"
    assert err["message"].startswith("Invalid parameters") and needle in err["message"]


def test_every_documented_bitrate(emu: Emulator, http: httpx.Client) -> None:
    for bitrate in (32000, 60000, 64000, 128000, 256000):
        assert submit(http, emu, dict(GOOD, bitrate=bitrate)).status_code == 200


def test_unknown_task_404(emu: Emulator, http: httpx.Client) -> None:
    r = task(http, emu, "nope_minimax")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "not_found" and r.json()["error"]["code"] == 404


def test_moderation_fails_the_task(emu: Emulator, http: httpx.Client) -> None:
    r = submit(http, emu, dict(GOOD, lyrics="the forbiddenword song"))
    assert r.status_code == 200
    done = wait_final(http, emu, r.json()["data"]["task_id"])
    assert done["status"] == "failed" and "moderat" in done["error"]
    assert "audio_url" not in done


def test_post_moderated_audio_404(emu: Emulator, http: httpx.Client) -> None:
    r = submit(http, emu, dict(GOOD, prompt="postmoderated dance track"))
    done = wait_final(http, emu, r.json()["data"]["task_id"])
    assert done["status"] == "completed"
    assert http.get(done["audio_url"]).status_code == 404


def test_insufficient_credits_402(http: httpx.Client) -> None:
    with Emulator(speed=500, balance={"apiin": 2}) as emu:
        assert [submit(http, emu, GOOD).status_code for _ in range(3)] == [200, 200, 402]
        err = submit(http, emu, GOOD).json()["error"]
        assert err["code"] == 402 and err["type"] == "insufficient_credits"
