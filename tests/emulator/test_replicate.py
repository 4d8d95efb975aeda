"""Replicate's predictions at ``/replicate`` against FAL_REPLICATE.md §2, over loopback HTTP with plain
httpx (never our own adapter)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from minimax_nb.emulator import Emulator
from minimax_nb.emulator import routes_replicate as rr

from .conftest import AUTH, FakeClock

ID = re.compile(r"^[a-z2-7]{26}$")
M15 = {"input": {"prompt": "dreamy synth pop", "lyrics": "[verse]\nhello there world"}}
REQUIRED = {"id", "model", "version", "input", "logs", "output", "error", "status", "created_at",
            "started_at", "completed_at", "data_removed", "urls"}


@pytest.fixture
def rep(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url("replicate"), headers=AUTH, timeout=70) as c:
        yield c


@pytest.fixture
def slow_rep(slow_emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=slow_emu.base_url("replicate"), headers=AUTH, timeout=30) as c:
        yield c


def _create(
    c: httpx.Client, model: str = "minimax/music-1.5", body: Any = M15, **headers: str
) -> httpx.Response:
    return c.post(f"/v1/models/{model}/predictions", json=body, headers=headers)


def test_create_answers_201_a_full_prediction(slow_rep: httpx.Client, slow_emu: Emulator) -> None:
    r = _create(slow_rep)
    assert r.status_code == 201, r.text
    p = r.json()
    assert set(p) >= REQUIRED and ID.match(p["id"])
    assert p["status"] == "starting" and p["output"] is None and p["model"] == "minimax/music-1.5"
    assert p["version"] == rr.MODELS["minimax/music-1.5"].version
    assert p["urls"]["get"] == f"{slow_emu.base_url('replicate')}/v1/predictions/{p['id']}"
    assert p["input"] == M15["input"]


def test_phases_output_and_data_removal(slow_rep: httpx.Client, clock: FakeClock) -> None:
    pid = _create(slow_rep).json()["id"]
    get = f"/v1/predictions/{pid}"
    clock.advance(20)
    p = slow_rep.get(get).json()
    assert p["status"] == "processing" and p["started_at"] and p["completed_at"] is None
    clock.advance(60)
    p = slow_rep.get(get).json()
    assert p["status"] == "succeeded" and p["output"].startswith("http") and p["metrics"]["predict_time"] > 0
    assert httpx.get(p["output"]).status_code == 200
    clock.advance(rr.DATA_RETENTION_S + 1)
    p = slow_rep.get(get).json()
    assert p["status"] == "succeeded" and p["data_removed"] is True
    assert p["output"] is None and p["input"] == {}


def test_prefer_wait_holds_until_final(rep: httpx.Client) -> None:
    p = _create(rep, Prefer="wait").json()
    assert p["status"] == "succeeded" and p["output"]


def test_prefer_wait_n_never_answers_a_false_processing(slow_rep: httpx.Client) -> None:
    p = _create(slow_rep, Prefer="wait=1").json()  # the fake clock never moves: the job is still queued
    assert p["status"] == "starting"


def test_cancel_after_aborts_before_start_and_cancels_during(
    slow_rep: httpx.Client, clock: FakeClock
) -> None:
    aborted = _create(slow_rep, **{"Cancel-After": "1s"}).json()["id"]
    during = _create(slow_rep, **{"Cancel-After": "30s"}).json()["id"]
    clock.advance(40)
    assert slow_rep.get(f"/v1/predictions/{aborted}").json()["status"] == "aborted"
    p = slow_rep.get(f"/v1/predictions/{during}").json()
    assert p["status"] == "canceled" and p["output"] is None


def test_cancel_and_versioned_create(slow_rep: httpx.Client, clock: FakeClock) -> None:
    version = rr.MODELS["minimax/music-2.5"].version
    r = slow_rep.post("/v1/predictions", json={"version": version, "input": {"lyrics": "[verse]\nhi"}})
    assert r.status_code == 201 and r.json()["model"] == "minimax/music-2.5"
    pid = r.json()["id"]
    assert slow_rep.post(f"/v1/predictions/{pid}/cancel").json()["status"] == "canceled"
    clock.advance(100)
    assert slow_rep.get(f"/v1/predictions/{pid}").json()["status"] == "canceled"
    r = slow_rep.post("/v1/predictions", json={"version": "0" * 64, "input": {}})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_version_endpoint_has_what_run_reads(rep: httpx.Client) -> None:
    v = rr.MODELS["minimax/music-1.5"].version
    body = rep.get(f"/v1/models/minimax/music-1.5/versions/{v}").json()
    assert body["id"] == v and body["cog_version"]
    assert body["openapi_schema"]["components"]["schemas"]["Output"]["format"] == "uri"
    assert rep.get(f"/v1/models/minimax/music-2.5/versions/{v}").status_code == 404


def test_moderation_fails_the_prediction(slow_rep: httpx.Client, clock: FakeClock) -> None:
    pid = _create(slow_rep, body={"input": {"prompt": "dreamy synth pop", "lyrics": "forbiddenword here"}}
                  ).json()["id"]
    clock.advance(20)
    p = slow_rep.get(f"/v1/predictions/{pid}").json()
    assert p["status"] == "failed" and "flagged as sensitive" in p["error"]


@pytest.mark.parametrize(
    ("model", "inp", "field"),
    [
        ("minimax/music-1.5", {"prompt": "short", "lyrics": "[verse]\nhello there"}, "input.prompt"),
        ("minimax/music-1.5", {"prompt": "dreamy synth pop", "lyrics": "x" * 601}, "input.lyrics"),
        ("minimax/music-01", {"lyrics": "x" * 401}, "input.lyrics"),
        ("minimax/music-2.6", {"is_instrumental": True}, "input.prompt"),
        ("minimax/music-2.6", {"prompt": "calm"}, "input.lyrics"),
        ("minimax/music-2.5", {"lyrics": "hi", "audio_format": "flac"}, "input.audio_format"),
        ("minimax/music-2.5", {"lyrics": "hi", "audio_setting": {}}, "input.audio_setting"),
    ],
)
def test_input_problems_are_rfc7807_422(
    rep: httpx.Client, model: str, inp: dict[str, Any], field: str
) -> None:
    r = _create(rep, model, {"input": inp})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 422 and body["title"] and field in body["detail"]
    assert field in [f["field"] for f in body["invalid_fields"]]


def test_auth_and_unknown_paths_are_problems(emu: Emulator, rep: httpx.Client) -> None:
    r = httpx.post(f"{emu.base_url('replicate')}/v1/models/minimax/music-1.5/predictions", json=M15)
    assert r.status_code == 401 and r.json()["status"] == 401 and r.json()["detail"]
    for method, path in (("GET", "/v1/nothing"), ("GET", "/v1/predictions/nope"),
                         ("POST", "/v1/models/minimax/unknown/predictions"), ("DELETE", "/v1/predictions")):
        r = rep.request(method, path, json=M15 if method == "POST" else None)
        assert r.status_code == 404, (method, path)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 404


def test_throttling_fault_says_it_like_replicate(rep: httpx.Client, emu: Emulator) -> None:
    emu.faults.add(route="submit", provider="replicate", kind="429", times=1, retry_after=7)
    r = _create(rep)
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json()["detail"] == "Request was throttled. Your rate limit resets in ~7s."
