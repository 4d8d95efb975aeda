"""fal.ai's queue at ``/fal`` (and ``/falrun``) against FAL_REPLICATE.md §1, over loopback HTTP with plain
httpx (never our own adapter)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from minimax_nb.emulator import DEFAULT_KEY, Emulator

from .conftest import FakeClock, decode

KEY = {"Authorization": f"Key {DEFAULT_KEY}"}
V2 = "fal-ai/minimax-music/v2"
V2_INPUT = {"prompt": "dreamy synth pop", "lyrics_prompt": "[Verse]\nhello there world of song"}


@pytest.fixture
def fal(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url("fal"), headers=KEY, timeout=30) as c:
        yield c


@pytest.fixture
def slow_fal(slow_emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=slow_emu.base_url("fal"), headers=KEY, timeout=30) as c:
        yield c


def _wait_completed(fal: httpx.Client, rid: str) -> dict[str, Any]:
    for _ in range(1000):
        body = fal.get(f"/fal-ai/minimax-music/requests/{rid}/status").json()
        if body["status"] == "COMPLETED":
            return dict(body)
        time.sleep(0.01)
    raise AssertionError("never completed")


def test_submit_answers_the_four_keys_and_urls_without_the_subpath(fal: httpx.Client, emu: Emulator) -> None:
    r = fal.post(f"/{V2}", json=V2_INPUT)
    assert r.status_code == 200, r.text
    body = r.json()
    rid = body["request_id"]
    base = f"{emu.base_url('fal')}/fal-ai/minimax-music/requests/{rid}"
    assert body["status_url"] == base + "/status"
    assert body["response_url"] == base
    assert body["cancel_url"] == base + "/cancel"
    assert isinstance(body["queue_position"], int)
    assert r.headers["x-fal-request-id"] == rid
    # the subpath form is not a request route: it is an (unknown) app
    assert fal.get(f"/{V2}/requests/{rid}/status").status_code == 404


def test_phases_logs_and_result(slow_fal: httpx.Client, clock: FakeClock) -> None:
    rid = slow_fal.post(f"/{V2}", json=V2_INPUT).json()["request_id"]
    status = f"/fal-ai/minimax-music/requests/{rid}/status"
    first = slow_fal.get(status, params={"logs": "true"}).json()
    assert first["status"] == "IN_QUEUE" and isinstance(first["queue_position"], int) and "logs" in first
    assert slow_fal.get(f"/fal-ai/minimax-music/requests/{rid}").status_code == 400  # still in progress
    clock.advance(20)
    running = slow_fal.get(status, params={"logs": "1"}).json()
    assert running["status"] == "IN_PROGRESS"
    assert running["logs"] and {"message", "level", "source", "timestamp"} <= set(running["logs"][0])
    assert slow_fal.get(status, params={"logs": "false"}).json()["logs"] is None
    clock.advance(60)
    done = slow_fal.get(status, params={"logs": "true"}).json()
    assert done["status"] == "COMPLETED" and "error" not in done and done["metrics"]["inference_time"] > 0
    out = slow_fal.get(f"/fal-ai/minimax-music/requests/{rid}").json()
    audio = out["audio"]
    assert audio["content_type"] == "audio/mpeg" and audio["file_name"].endswith(".mp3")
    data = httpx.get(audio["url"]).content
    assert len(data) == audio["file_size"]
    assert decode(data)[1] == 44100


def test_v15_takes_lyrics_as_prompt_and_style_as_lyrics_prompt(fal: httpx.Client, emu: Emulator) -> None:
    lyrics = "[verse]\nla la la la la la"
    style = "warm jazz ballad with brushes and upright bass " * 10  # 480 chars: a style may be ≤3000
    r = fal.post("/fal-ai/minimax-music/v1.5", json={"prompt": lyrics, "lyrics_prompt": style})
    assert r.status_code == 200, r.text
    job = emu.engine.get("fal", r.json()["request_id"])
    assert job is not None and job.lyrics == lyrics and job.prompt == style
    # the same texts in v2's order are refused: v2's prompt (the style) is at most 300 characters
    r = fal.post(f"/{V2}", json={"prompt": style, "lyrics_prompt": lyrics})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "prompt"]
    # and v1.5's prompt (the lyrics) is at most 600
    r = fal.post("/fal-ai/minimax-music/v1.5", json={"prompt": "x" * 601, "lyrics_prompt": "jazz ballad"})
    assert r.status_code == 422 and "at most 600" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("app", "body", "field"),
    [
        ("fal-ai/minimax-music/v2.6", {"prompt": "calm lofi beat"}, "lyrics"),
        ("fal-ai/minimax-music/v2.6", {"prompt": "short", "is_instrumental": True}, "prompt"),
        ("fal-ai/minimax-music/v2.6", {"prompt": "calm lofi beat", "lyrics": "x" * 1001}, "lyrics"),
        ("fal-ai/minimax-music/v2.5", {"prompt": "rock", "lyrics_optimizer": "yes"}, "lyrics_optimizer"),
        ("fal-ai/minimax-music", {"prompt": "##la la##"}, "reference_audio_url"),
        (V2, {**V2_INPUT, "audio_setting": {"sample_rate": 48000}}, "audio_setting"),
        (V2, {**V2_INPUT, "lyrics": "not a v2 field"}, "lyrics"),
    ],
)
def test_input_errors_are_pydantic_422(fal: httpx.Client, app: str, body: dict[str, Any], field: str) -> None:
    r = fal.post(f"/{app}", json=body)
    assert r.status_code == 422, r.text
    assert field in [d["loc"][1] for d in r.json()["detail"]]


def test_instrumental_and_optimizer_waive_lyrics(fal: httpx.Client) -> None:
    assert fal.post("/fal-ai/minimax-music/v2.6", json={"prompt": "calm lofi beat", "is_instrumental": True}
                    ).status_code == 200
    assert fal.post("/fal-ai/minimax-music/v2.5", json={"prompt": "rock", "lyrics_optimizer": True}
                    ).status_code == 200


def test_auth_needs_the_key_scheme(emu: Emulator) -> None:
    url = f"{emu.base_url('fal')}/{V2}"
    for headers in ({}, {"Authorization": f"Bearer {DEFAULT_KEY}"}, {"Authorization": "Key wrong"}):
        r = httpx.post(url, json=V2_INPUT, headers=headers)
        assert r.status_code == 401 and r.json() == {"detail": "Unauthorized"}


def test_cancel_queued_running_done_unknown(slow_fal: httpx.Client, clock: FakeClock) -> None:
    rid = slow_fal.post(f"/{V2}", json=V2_INPUT).json()["request_id"]
    cancel = f"/fal-ai/minimax-music/requests/{rid}/cancel"
    r = slow_fal.put(cancel)
    assert r.status_code == 202 and r.json() == {"status": "CANCELLATION_REQUESTED"}
    st = slow_fal.get(f"/fal-ai/minimax-music/requests/{rid}/status").json()
    assert st["status"] == "COMPLETED" and st["error_type"] == "request_cancelled"
    assert slow_fal.get(f"/fal-ai/minimax-music/requests/{rid}").status_code == 400
    done = slow_fal.post(f"/{V2}", json=V2_INPUT).json()["request_id"]
    clock.advance(100)
    r = slow_fal.put(f"/fal-ai/minimax-music/requests/{done}/cancel")
    assert r.status_code == 400 and r.json() == {"status": "ALREADY_COMPLETED"}
    r = slow_fal.put("/fal-ai/minimax-music/requests/nope/cancel")
    assert r.status_code == 404 and r.json() == {"status": "NOT_FOUND"}


def test_moderation_completes_with_an_error_and_a_422_result(
    slow_fal: httpx.Client, clock: FakeClock
) -> None:
    body = {"prompt": "dreamy synth pop", "lyrics_prompt": "[Verse]\nforbiddenword in my song"}
    rid = slow_fal.post(f"/{V2}", json=body).json()["request_id"]
    clock.advance(20)
    st = slow_fal.get(f"/fal-ai/minimax-music/requests/{rid}/status").json()
    assert st["status"] == "COMPLETED" and st["error_type"] == "content_policy_violation"
    r = slow_fal.get(f"/fal-ai/minimax-music/requests/{rid}")
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "content_policy_violation"
    assert r.headers["x-fal-retryable"] == "false"


def test_sync_run_host_answers_the_output(emu: Emulator) -> None:
    r = httpx.post(f"{emu.url}/falrun/fal-ai/minimax-music/v2.6", headers=KEY, timeout=30,
                   json={"prompt": "calm lofi beat", "is_instrumental": True})
    assert r.status_code == 200 and r.json()["audio"]["url"].startswith(emu.url + "/files/fal/")
    job = emu.jobs("fal")[-1]
    assert job.instrumental


def test_unknown_paths_answer_in_fal_shape(fal: httpx.Client) -> None:
    for method, path in (("GET", "/nothing/here"), ("DELETE", f"/{V2}"), ("POST", "/fal-ai/unknown-app"),
                         ("GET", "/fal-ai/minimax-music/requests/nope/status")):
        r = fal.request(method, path)
        assert r.status_code == 404, (method, path)
        assert r.headers["content-type"].startswith("application/json")
        assert isinstance(r.json()["detail"], str)


def test_faults_use_fal_shape_and_routes(fal: httpx.Client, emu: Emulator) -> None:
    emu.faults.add(route="submit", provider="fal", kind="429", times=1, retry_after=3)
    r = fal.post(f"/{V2}", json=V2_INPUT)
    assert r.status_code == 429 and r.headers["retry-after"] == "3" and "detail" in r.json()
    assert r.headers["x-fal-error-type"] == "rate_limited"
    rid = fal.post(f"/{V2}", json=V2_INPUT).json()["request_id"]
    emu.faults.add(route="poll", provider="fal", kind="503", times=1)
    assert fal.get(f"/fal-ai/minimax-music/requests/{rid}/status").status_code == 503
    emu.faults.add(route="cancel", provider="fal", kind="500", times=1)
    assert fal.put(f"/fal-ai/minimax-music/requests/{rid}/cancel").status_code == 500
    assert _wait_completed(fal, rid)["status"] == "COMPLETED"


def test_tls_listener_serves_https_with_its_own_ca() -> None:
    with Emulator(speed=500, tls=True) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        assert emu.ca_file is not None
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{emu.base_url('fal')}/{V2}", json=V2_INPUT, headers=KEY)  # not trusted by default
        r = httpx.post(f"{emu.base_url('fal')}/{V2}", json=V2_INPUT, headers=KEY,
                       verify=ssl.create_default_context(cafile=emu.ca_file))
        assert r.status_code == 200 and r.json()["status_url"].startswith("https://")
    assert Emulator().ca_file is None
