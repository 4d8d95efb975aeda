"""The MiniMax platform against PROVIDERS.md §4 and docs/WIRE.md, over loopback HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from minimax_nb.emulator import Emulator

from .conftest import AUTH, WRONG, decode, duration_of

LYRICS = "[Verse]\nStreetlights flicker, the night breeze sighs\n[Chorus]\nIn this small cafe, I find my way"
GOOD = {"model": "music-2.0", "prompt": "Lo-fi pop, calm night", "lyrics": LYRICS}


def generate(http: httpx.Client, emu: Emulator, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return http.post(f"{emu.base_url('minimax')}/v1/music_generation", json=body, **kw)


def base_resp(r: httpx.Response) -> tuple[int, str]:
    assert r.status_code == 200  # errors are HTTP 200 at the platform
    b = r.json()["base_resp"]
    return b["status_code"], b["status_msg"]


def test_auth_missing_1004_wrong_2049(emu: Emulator) -> None:
    url = f"{emu.base_url('minimax')}/v1/music_generation"
    assert base_resp(httpx.post(url, json=GOOD)) == (1004, "not authorized")
    assert base_resp(httpx.post(url, json=GOOD, headers=WRONG)) == (2049, "invalid api key")


def test_every_answer_carries_a_trace_id(emu: Emulator, http: httpx.Client) -> None:
    """``trace_id`` on errors too (HTTP 200 + base_resp): clients report it as the request id."""
    url = f"{emu.base_url('minimax')}/v1/music_generation"
    for r in (httpx.post(url, json=GOOD), httpx.post(url, json=GOOD, headers=WRONG),
              generate(http, emu, {"model": "music-2.0"}),
              generate(http, emu, dict(GOOD, output_format="url"))):
        assert r.status_code == 200
        body = r.json()
        assert isinstance(body["trace_id"], str) and len(body["trace_id"]) == 32, body
        assert set(body["base_resp"]) == {"status_code", "status_msg"}


def test_hex_output_by_default(emu: Emulator, http: httpx.Client) -> None:
    r = generate(http, emu, GOOD)
    body = r.json()
    assert base_resp(r) == (0, "success")
    assert body["data"]["status"] == 2 and body["trace_id"]
    audio = bytes.fromhex(body["data"]["audio"])
    info = body["extra_info"]
    assert info["music_size"] == len(audio)
    assert info["music_sample_rate"] == 44100 and info["music_channel"] == 2 and info["bitrate"] == 256000
    assert isinstance(info["music_duration"], int)
    assert duration_of(audio) * 1000 == pytest.approx(info["music_duration"], rel=0.05)  # milliseconds


def test_url_output_and_wav(emu: Emulator, http: httpx.Client) -> None:
    body = dict(GOOD, output_format="url",
                audio_setting={"sample_rate": 24000, "bitrate": 128000, "format": "wav"})
    r = generate(http, emu, body)
    assert base_resp(r) == (0, "success")
    url = r.json()["data"]["audio"]
    assert url.startswith(emu.url + "/files/minimax/") and ".wav?" in url
    audio = http.get(url)
    assert audio.headers["content-type"] == "audio/wav"
    samples, rate = decode(audio.content)
    assert rate == 24000 and samples.shape[1] == 2
    assert r.json()["extra_info"]["music_size"] == len(audio.content)


def test_stream_sends_hex_chunks_then_final_event(emu: Emulator) -> None:
    events: list[dict[str, Any]] = []
    with httpx.Client(headers=AUTH, timeout=30) as c, c.stream(
        "POST", f"{emu.base_url('minimax')}/v1/music_generation", json=dict(GOOD, stream=True)
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: "):]))
    assert len(events) > 2
    *chunks, last = events
    assert all(e["data"]["status"] == 1 and e["data"]["audio"] for e in chunks)
    assert last["data"]["status"] == 2 and last["base_resp"]["status_code"] == 0
    audio = bytes.fromhex("".join(e["data"]["audio"] for e in chunks))
    assert len(audio) == last["extra_info"]["music_size"]
    assert duration_of(audio) * 1000 == pytest.approx(last["extra_info"]["music_duration"], rel=0.05)


@pytest.mark.parametrize(("body", "needle"), [
    ({"model": "music-0.1", "prompt": "x" * 20, "lyrics": LYRICS}, "model"),
    ({"prompt": "x" * 20, "lyrics": LYRICS}, "model"),
    ({"model": "music-1.5", "prompt": "x" * 9, "lyrics": LYRICS}, "prompt"),
    ({"model": "music-1.5", "prompt": "x" * 301, "lyrics": LYRICS}, "prompt"),
    ({"model": "music-1.5", "prompt": "x" * 20, "lyrics": "y" * 601}, "lyrics"),
    ({"model": "music-2.0", "prompt": "x" * 20}, "lyrics is required"),
    ({"model": "music-2.0", "lyrics": LYRICS}, "prompt is required"),
    ({"model": "music-2.5", "prompt": "x" * 20}, "lyrics is required"),
    ({"model": "music-2.5", "lyrics": "y" * 3501}, "lyrics"),
    ({"model": "music-2.6", "prompt": "p" * 2001, "lyrics": LYRICS}, "prompt"),
    ({"model": "music-cover", "prompt": "acoustic"}, "audio_url"),
    (dict(GOOD, output_format="mp3"), "output_format"),
    (dict(GOOD, audio_setting={"sample_rate": 48000}), "sample_rate"),
    (dict(GOOD, audio_setting={"bitrate": 96000}), "bitrate"),
    (dict(GOOD, audio_setting={"format": "flac"}), "format"),
    (dict(GOOD, stream="yes"), "stream"),
    (dict(GOOD, lyrics_optimizer=True), "lyrics_optimizer"),
    ({"model": "music-cover", "audio_base64": "A" * (70 * 1024 * 1024)}, "50 MB"),
])
def test_invalid_params_2013(emu: Emulator, http: httpx.Client, body: dict[str, Any], needle: str) -> None:
    code, msg = base_resp(generate(http, emu, body))
    assert code == 2013 and msg.startswith("invalid params") and needle in msg


@pytest.mark.parametrize("body", [
    {"model": "music-2.5", "is_instrumental": True, "prompt": "ambient piano"},
    {"model": "music-2.6-free", "lyrics": "[Verse]\nHi"},
    {"model": "music-2.5+", "lyrics_optimizer": True, "prompt": "a song about the sea"},
    {"model": "music-cover", "prompt": "acoustic", "audio_url": "https://example.com/a.mp3"},
])
def test_other_models_accepted(emu: Emulator, http: httpx.Client, body: dict[str, Any]) -> None:
    assert base_resp(generate(http, emu, dict(body, output_format="url"))) == (0, "success")


def test_moderation_1026_and_post_moderation_1027(emu: Emulator, http: httpx.Client) -> None:
    accepted = emu.submissions("minimax", accepted_only=True)
    assert base_resp(generate(http, emu, dict(GOOD, lyrics="[Verse]\nforbiddenword")))[0] == 1026
    assert emu.submissions("minimax", accepted_only=True) == accepted
    assert base_resp(generate(http, emu, dict(GOOD, lyrics="[Verse]\npostmoderated words")))[0] == 1027


def test_invalid_json_2013(emu: Emulator, http: httpx.Client) -> None:
    r = http.post(f"{emu.base_url('minimax')}/v1/music_generation", content=b"[1,",
                  headers={"Content-Type": "application/json"})
    assert base_resp(r)[0] == 2013


@pytest.mark.slow
def test_balance_1008_and_concurrency_1041(clock: Any) -> None:
    with Emulator(speed=500, balance={"minimax": 1}) as emu, httpx.Client(headers=AUTH, timeout=30) as c:
        assert base_resp(generate(c, emu, dict(GOOD, output_format="url"))) == (0, "success")
        assert base_resp(generate(c, emu, GOOD)) == (1008, "insufficient balance")
        assert emu.submissions("minimax", accepted_only=True) == 1
    with Emulator(clock=clock, minimax_concurrency=1) as emu, httpx.Client(headers=AUTH, timeout=30) as c:
        stream = dict(GOOD, stream=True)  # a streamed request is accepted before it waits
        with c.stream("POST", f"{emu.base_url('minimax')}/v1/music_generation", json=stream) as first:
            assert first.status_code == 200
            assert base_resp(generate(c, emu, GOOD)) == (1041, "conn limit")
            clock.advance(61)  # the first one is done: room again
            with c.stream("POST", f"{emu.base_url('minimax')}/v1/music_generation", json=stream) as third:
                assert third.headers["content-type"].startswith("text/event-stream")


def test_balance_only_where_emulated() -> None:
    with pytest.raises(ValueError):
        Emulator(balance={"aimlapi": 1})
