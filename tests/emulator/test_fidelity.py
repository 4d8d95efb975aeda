"""Issue 11's fidelity fixes, emulator side: useapi's 2026 relaunch as the vendor answers it, the platform's
``Trace-Id`` header, and unknown paths answered in each provider's own error shape."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from minimax_nb.emulator import DEFAULT_KEY, Emulator

from .conftest import AUTH


def _relaunch(http: httpx.Client, emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    base = emu.base_url("useapi")
    r = http.post(f"{base}/v1/minimax/music/create", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    mid = (created[0] if isinstance(created, list) else created)["musicId"]
    for _ in range(500):
        got = dict(http.get(f"{base}/v1/minimax/music/{mid}").json())
        if got["statusFinal"]:
            return got
        threading.Event().wait(0.01)
    raise AssertionError("never final")


def test_relaunch_retrieve_is_snake_case_with_the_models_title_and_lyrics(emu: Emulator,
                                                                           http: httpx.Client) -> None:
    got = _relaunch(http, emu, {"prompt": "dreamy electronic night drive", "model": "music-3.0"})
    assert got["status"] == 2
    assert "audioURL" not in got and "coverURL" not in got
    assert http.get(got["audio_url"]).status_code == 200 and http.get(got["cover_url"]).status_code == 200
    assert got["title"] and len(got["title"]) <= 40  # the model named it
    assert "[Verse]" in got["lyrics"] and "dreamy" in got["lyrics"]  # ... and wrote the words it sang
    job = emu.engine.get("useapi", got["musicId"])
    assert job is not None and not job.instrumental and job.lyrics == got["lyrics"]


def test_relaunch_wordless_needs_instrumental_true(emu: Emulator, http: httpx.Client) -> None:
    got = _relaunch(http, emu, {"prompt": "ambient piano", "instrumental": True, "title": "Quiet"})
    assert got["lyrics"] == "" and got["title"] == "Quiet"
    job = emu.engine.get("useapi", got["musicId"])
    assert job is not None and job.instrumental


def test_relaunch_create_may_answer_an_array() -> None:
    with Emulator(speed=500, useapi_create_array=True) as emu, httpx.Client(headers=AUTH) as http:
        r = http.post(f"{emu.base_url('useapi')}/v1/minimax/music/create",
                      json={"prompt": "pop", "lyrics": "la"})
        assert r.status_code == 201
        assert isinstance(r.json(), list) and r.json()[0]["musicId"]


def test_relaunch_busy_account_is_429(emu: Emulator, http: httpx.Client) -> None:
    base = emu.base_url("useapi")
    first = http.post(f"{base}/v1/minimax/music/create", json={"prompt": "pop", "lyrics": "la"})
    second = http.post(f"{base}/v1/minimax/music/create", json={"prompt": "pop", "lyrics": "la"})
    assert first.status_code == 201 and second.status_code == 429
    assert "previous request" in second.json()["error"]


def test_platform_answers_carry_trace_id(emu: Emulator, http: httpx.Client) -> None:
    url = f"{emu.base_url('minimax')}/v1/music_generation"
    bad = http.post(url, json={"model": "music-2.0"})
    assert bad.headers["trace-id"] == bad.json()["trace_id"] and len(bad.headers["trace-id"]) == 32
    good = {"model": "music-2.0", "prompt": "Lo-fi pop, calm night", "output_format": "url",
            "lyrics": "[Verse]\nStreetlights flicker, the night breeze sighs"}
    ok = http.post(url, json=good, timeout=30)
    assert ok.json()["base_resp"]["status_code"] == 0, ok.text
    assert ok.headers["trace-id"] == ok.json()["trace_id"]
    unauth = httpx.post(url, json={})
    assert unauth.headers["trace-id"] == unauth.json()["trace_id"]
    emu.faults.add(route="submit", provider="minimax", kind="503", times=1)
    assert http.post(url, json={}).headers.get("trace-id")


@pytest.mark.parametrize(
    ("provider", "check"),
    [
        ("useapi", lambda b: b == {"error": "Not found.", "code": 404}),
        ("aimlapi", lambda b: b["statusCode"] == 404 and "Cannot" in b["message"]),
        ("local", lambda b: b["statusCode"] == 404 and b["error"] == "Not Found"),
        ("apiin", lambda b: b["error"]["code"] == 404 and b["error"]["type"] == "not_found"),
        ("minimax", lambda b: b["base_resp"]["status_code"] != 0 and b["trace_id"]),
        ("fal", lambda b: isinstance(b["detail"], str)),
        ("replicate", lambda b: b["status"] == 404 and b["title"]),
    ],
)
def test_unknown_paths_answer_in_the_providers_shape(emu: Emulator, provider: str, check: Any) -> None:
    headers = {"Authorization": f"{'Key' if provider == 'fal' else 'Bearer'} {DEFAULT_KEY}"}
    for method, path in (("GET", "/no/such/path"), ("POST", "/v9/whatever"), ("PUT", "")):
        r = httpx.request(method, f"{emu.base_url(provider)}{path}", headers=headers, json={})
        assert r.status_code == 404, (provider, method, path, r.text)
        assert "json" in r.headers["content-type"], r.headers["content-type"]
        assert check(r.json()), r.text
    logged = [e for e in emu.requests if e.provider == provider and e.status == 404]
    assert len(logged) >= 3  # logged under the provider, like every request
