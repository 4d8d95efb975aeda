"""Fault injection over loopback HTTP: every kind, in each provider's shape, by script and by rate."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from minimax_nb.emulator import DEFAULT_KEY, Emulator, FaultRule, FaultSet

from .conftest import AUTH

LYRICS = "[Verse]\nStreetlights flicker, the night breeze sighs"
AIML_BODY = {"model": "minimax/music-2.0", "prompt": "Lo-fi pop ambient", "lyrics": LYRICS}
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


def aiml_submit(http: httpx.Client, emu: Emulator) -> httpx.Response:
    return http.post(f"{emu.base_url('aimlapi')}/v2/generate/audio", json=AIML_BODY)


def aiml_poll(http: httpx.Client, emu: Emulator, gid: str) -> httpx.Response:
    return http.get(f"{emu.base_url('aimlapi')}/v2/generate/audio", params={"generation_id": gid})


def aiml_done(http: httpx.Client, emu: Emulator) -> dict[str, Any]:
    gid = aiml_submit(http, emu).json()["id"]
    for _ in range(500):
        body: dict[str, Any] = aiml_poll(http, emu, gid).json()
        if body["status"] == "completed":
            return body
        time.sleep(0.01)
    raise AssertionError("never completed")


def test_scripted_503_in_useapi_shape(emu: Emulator, http: httpx.Client) -> None:
    rule = emu.faults.add(route="poll", provider="useapi", kind="503", times=2, retry_after=3)
    url = f"{emu.base_url('useapi')}/v1/minimax/music/unknown-id"
    for _ in range(2):
        r = http.get(url)
        assert r.status_code == 503 and r.headers["retry-after"] == "3"
        assert r.json() == {"error": "Service unavailable", "code": 503}
    assert http.get(url).status_code == 404  # the script is used up: normal answers again
    assert rule.fired == 2 and rule.exhausted


@pytest.mark.parametrize(("provider", "kind", "expect"), [
    ("aimlapi", "500",
     {"statusCode": 500, "message": "Internal server error", "error": "Internal Server Error"}),
    ("aimlapi", "429", {"statusCode": 429, "message": "Too many requests", "error": "Too Many Requests"}),
    ("apiin", "429", {"error": {"code": 429, "message": "Too many requests", "type": "rate_limit"}}),
    ("apiin", "502", {"error": {"code": 502, "message": "Bad gateway", "type": "server_error"}}),
    ("useapi", "429", {"error": "Too many requests", "code": 429}),
])
def test_error_shapes_per_provider(emu: Emulator, http: httpx.Client, provider: str, kind: str,
                                   expect: dict[str, Any]) -> None:
    emu.faults.add(route="submit", provider=provider, kind=kind, times=1, retry_after=7)
    paths = {"aimlapi": ("POST", "/v2/generate/audio"), "apiin": ("POST", "/api/v1/audio/music"),
             "useapi": ("GET", "/v1/minimax/music/create")}
    method, path = paths[provider]
    accepted = emu.submissions(provider, accepted_only=True)
    received = emu.submissions(provider)
    r = http.request(method, emu.base_url(provider) + path, json={})
    assert r.status_code == int(kind) and r.json() == expect
    if kind == "429":
        assert r.headers["retry-after"] == "7"
    assert emu.submissions(provider) == received + 1
    assert emu.submissions(provider, accepted_only=True) == accepted  # refused before the handler


def test_platform_429_is_1002_and_5xx_keep_status(emu: Emulator, http: httpx.Client) -> None:
    url = f"{emu.base_url('minimax')}/v1/music_generation"
    emu.faults.add(route="submit", provider="minimax", kind="429", times=1, retry_after=2)
    emu.faults.add(route="submit", provider="minimax", kind="502", times=1)
    r = http.post(url, json={})
    assert r.status_code == 200 and r.json()["base_resp"]["status_code"] == 1002
    assert r.headers["retry-after"] == "2"
    r = http.post(url, json={})
    assert r.status_code == 502 and r.json()["base_resp"]["status_code"] == 1033


def test_html_error_page(emu: Emulator, http: httpx.Client) -> None:
    emu.faults.add(route="poll", kind="html_error", times=1)
    r = aiml_poll(http, emu, "x")
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert "<html>" in r.text and "502 Bad Gateway" in r.text


def test_malformed_json_after_the_job_was_created(emu: Emulator, http: httpx.Client) -> None:
    emu.faults.add(route="submit", provider="aimlapi", kind="malformed_json", times=1)
    accepted = emu.submissions("aimlapi", accepted_only=True)
    r = aiml_submit(http, emu)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        r.json()
    assert emu.submissions("aimlapi", accepted_only=True) == accepted + 1


def test_reset_on_poll_drops_the_connection(emu: Emulator, http: httpx.Client) -> None:
    gid = aiml_submit(http, emu).json()["id"]
    emu.faults.add(route="poll", kind="reset", times=1)
    with pytest.raises(DROPPED):
        aiml_poll(http, emu, gid)
    assert emu.requests[-1].status == 0 and emu.requests[-1].fault == "reset"
    assert aiml_poll(http, emu, gid).status_code == 200


def test_reset_on_submit_happens_after_the_job_was_created(emu: Emulator, http: httpx.Client) -> None:
    emu.faults.add(route="submit", provider="aimlapi", kind="reset", times=1)
    accepted = emu.submissions("aimlapi", accepted_only=True)
    with pytest.raises(DROPPED):
        aiml_submit(http, emu)
    assert emu.submissions("aimlapi", accepted_only=True) == accepted + 1  # bought, answer lost
    emu.faults.add(route="submit", provider="aimlapi", kind="reset", times=1, phase="before")
    with pytest.raises(DROPPED):
        aiml_submit(http, emu)
    assert emu.submissions("aimlapi", accepted_only=True) == accepted + 1  # nothing bought


def test_reset_on_blocking_platform_request(emu: Emulator, http: httpx.Client) -> None:
    emu.faults.add(route="submit", provider="minimax", kind="reset", times=1)
    with pytest.raises(DROPPED):
        http.post(f"{emu.base_url('minimax')}/v1/music_generation",
                  json={"model": "music-2.6", "lyrics": LYRICS, "output_format": "url"})


def test_slow_answer(emu: Emulator) -> None:
    emu.faults.add(route="poll", kind="slow", times=1, delay_s=3.0)
    quick = httpx.Timeout(5, read=0.3)
    with httpx.Client(headers=AUTH, timeout=quick) as c, pytest.raises(httpx.ReadTimeout):
        aiml_poll(c, emu, "x")
    with httpx.Client(headers=AUTH, timeout=httpx.Timeout(5, read=0.3)) as c:
        assert aiml_poll(c, emu, "x").status_code == 404  # the next one is quick again


def test_restart_loses_state(emu: Emulator, http: httpx.Client) -> None:
    gid = aiml_submit(http, emu).json()["id"]
    assert aiml_poll(http, emu, gid).status_code == 200
    emu.faults.add(route="poll", provider="aimlapi", kind="restart", times=1)
    r = aiml_poll(http, emu, gid)
    assert r.status_code == 404 and r.json()["statusCode"] == 404
    gid = aiml_submit(http, emu).json()["id"]
    emu.restart()
    assert aiml_poll(http, emu, gid).status_code == 404


def test_truncated_download(emu: Emulator, http: httpx.Client) -> None:
    url = aiml_done(http, emu)["audio_file"]["url"]
    full = http.get(url).content
    emu.faults.add(route="file", kind="truncated", times=1)
    with pytest.raises(DROPPED):
        http.get(url)
    emu.faults.add(route="file", kind="truncated", times=1)
    got = b""
    with pytest.raises(DROPPED), http.stream("GET", url) as r:
        assert int(r.headers["content-length"]) == len(full)
        for chunk in r.iter_raw():
            got += chunk
    assert 0 < len(got) < len(full) and full.startswith(got)
    assert http.get(url).content == full


def test_provider_filter_and_wildcard_route(emu: Emulator, http: httpx.Client) -> None:
    emu.faults.add(route="*", provider="apiin", kind="500")
    assert http.get(f"{emu.base_url('apiin')}/api/v1/tasks/x").status_code == 500
    assert aiml_poll(http, emu, "x").status_code == 404  # other providers untouched


def _pattern(emu: Emulator, n: int) -> list[int]:
    with httpx.Client(headers=AUTH, transport=emu.transport(), base_url=emu.base_url("aimlapi")) as c:
        return [c.get("/v2/generate/audio", params={"generation_id": "x"}).status_code for _ in range(n)]


def test_rate_is_seeded_and_repeatable() -> None:
    patterns = []
    for _ in range(2):
        emu = Emulator(speed=500, seed=42)
        emu.faults.add(route="poll", kind="503", rate=0.5)
        patterns.append(_pattern(emu, 60))
        emu.stop()
    assert patterns[0] == patterns[1]
    assert 5 < patterns[0].count(503) < 55 and set(patterns[0]) == {404, 503}
    other = Emulator(speed=500, seed=43)
    other.faults.add(route="poll", kind="503", rate=0.5)
    assert _pattern(other, 60) != patterns[0]
    other.stop()


def test_rate_and_times_together() -> None:
    emu = Emulator(seed=1)
    rule = emu.faults.add(route="poll", kind="500", rate=0.5, times=3)
    codes = _pattern(emu, 40)
    emu.stop()
    assert codes.count(500) == 3 and rule.fired == 3


def test_faults_from_json_file(tmp_path: Path, http: httpx.Client) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps([{"route": "poll", "kind": "502", "times": 1},
                                {"route": "styles", "provider": "useapi", "kind": "429", "retry_after": 4}]))
    with Emulator(speed=500, faults=path) as emu:
        assert aiml_poll(http, emu, "x").status_code == 502
        assert aiml_poll(http, emu, "x").status_code == 404
        r = http.get(f"{emu.base_url('useapi')}/v1/minimax/music/styles/")
        assert r.status_code == 429 and r.headers["retry-after"] == "4"
    assert len(Emulator(faults=[{"kind": "reset"}]).faults) == 1


@pytest.mark.parametrize("bad", [{"kind": "teapot"}, {"kind": "500", "route": "nowhere"},
                                 {"kind": "500", "rate": 2}, {"kind": "500", "provider": "suno"},
                                 {"kind": "truncated", "phase": "before"}])
def test_bad_rules_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FaultRule(**bad)
    with pytest.raises(ValueError):
        FaultSet().load([bad])


def test_request_log_never_holds_the_key(emu: Emulator, http: httpx.Client) -> None:
    n = len(emu.requests)
    aiml_submit(http, emu)
    httpx.get(f"{emu.base_url('apiin')}/api/v1/tasks/x", headers={"Authorization": "Bearer sk-SECRET-123"})
    new = emu.requests[n:]
    assert [(e.provider, e.method, e.route, e.status) for e in new] == [
        ("aimlapi", "POST", "submit", 200), ("apiin", "GET", "poll", 401)]
    assert new[1]["path"] == "/apiin/api/v1/tasks/x" and new[1]["time"] > 0
    text = repr(emu.requests) + json.dumps([vars_of(e) for e in emu.requests])
    assert DEFAULT_KEY not in text and "SECRET" not in text


def vars_of(entry: Any) -> dict[str, Any]:
    return dict(entry)  # a log entry reads as a mapping too


def test_a_failing_render_answers_a_shaped_500(monkeypatch: pytest.MonkeyPatch) -> None:
    import minimax_nb.emulator.engine as engine

    def broken(**_: Any) -> Any:
        raise RuntimeError("synth exploded")

    monkeypatch.setattr(engine, "render_audio", broken)
    emu = Emulator(speed=500, prerender=False)
    with httpx.Client(transport=emu.transport(), headers=AUTH, base_url=emu.base_url("aimlapi")) as c:
        gid = c.post("/v2/generate/audio", json=AIML_BODY).json()["id"]
        for _ in range(500):
            r = c.get("/v2/generate/audio", params={"generation_id": gid})
            if r.status_code != 200:
                break
            time.sleep(0.01)
    emu.stop()
    assert r.status_code == 500 and r.json()["statusCode"] == 500


def test_faults_from_json_text() -> None:
    rules = FaultSet()
    rules.load('{"faults": [{"route": "file", "kind": "truncated", "times": 2}]}')
    rules.load('[{"kind": "slow", "delay_s": 0.5}]')
    got = [(r.route, r.kind, r.times) for r in rules.rules]
    assert got == [("file", "truncated", 2), ("*", "slow", None)]
    assert rules.rules[1].delay_s == 0.5
    assert rules.pick("useapi", "file") is rules.rules[0]
    assert rules.rules[0].effective_phase("file") == "after"
