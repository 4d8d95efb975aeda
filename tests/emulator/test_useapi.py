"""useapi.net v1 (and the 2026 POST create) against PROVIDERS.md §1 and docs/WIRE.md, over loopback HTTP."""

from __future__ import annotations

import re
import threading

import httpx
import numpy as np
import pytest

from minimax_nb.emulator import Emulator

from .conftest import AUTH, WRONG, FakeClock, decode, duration_of

BUSY = {"error": "The previous request has not been completed yet. Please try again later."}
MUSIC_ID = re.compile(r"^user:\d+-minimax:1001-music:\d+$")
RETRIEVE_KEYS = {"title", "lyrics", "style", "coverURL", "audioURL", "status", "statusLabel", "statusFinal",
                 "createTime", "duration", "musicId"}


def create(http: httpx.Client, emu: Emulator, **params: str) -> httpx.Response:
    return http.get(f"{emu.base_url('useapi')}/v1/minimax/music/create", params=params)


@pytest.mark.parametrize("headers", [{}, WRONG, {"Authorization": "Basic abc"}])
@pytest.mark.parametrize("path", ["/v1/minimax/music/create?prompt=la&styleId=pop", "/v1/minimax/music/x",
                                  "/v1/minimax/music/", "/v1/minimax/music/styles/"])
def test_auth_401_shape(emu: Emulator, headers: dict[str, str], path: str) -> None:
    r = httpx.get(emu.base_url("useapi") + path, headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": "Unauthorized", "code": 401}


def test_create_blocks_and_answers_music(emu: Emulator, http: httpx.Client) -> None:
    before = emu.submissions("useapi", accepted_only=True)
    r = create(http, emu, prompt="Hello there\nSinging in the rain\n\nOne more line", styleId="pop",
               title="Rain")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"musicId", "audioURL", "duration"}
    assert MUSIC_ID.match(body["musicId"])
    assert emu.submissions("useapi", accepted_only=True) == before + 1
    audio = http.get(body["audioURL"])
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/mpeg"
    samples, rate = decode(audio.content)
    assert rate == 44100 and samples.shape[1] == 2
    assert float(np.abs(samples).max()) > 0.05
    assert duration_of(audio.content) == pytest.approx(body["duration"], rel=0.05)

    got = http.get(f"{emu.base_url('useapi')}/v1/minimax/music/{body['musicId']}").json()
    assert set(got) == RETRIEVE_KEYS
    assert got["status"] == 2 and got["statusLabel"] == "completed" and got["statusFinal"] is True
    assert got["title"] == "Rain" and got["style"] == "Pop"
    assert got["lyrics"].startswith("Hello there")
    assert got["musicId"] == body["musicId"] and got["duration"] == body["duration"]
    assert isinstance(got["createTime"], int) and got["createTime"] > 1_600_000_000_000  # ms
    cover = http.get(got["coverURL"])
    assert cover.headers["content-type"] == "image/png" and cover.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(("params", "message"), [
    ({"styleId": "pop"}, "prompt"),
    ({"prompt": "", "styleId": "pop"}, "prompt"),
    ({"prompt": "x" * 601, "styleId": "pop"}, "600"),
    ({"prompt": "la la la"}, "styleId"),
])
def test_create_400(emu: Emulator, http: httpx.Client, params: dict[str, str], message: str) -> None:
    before = emu.submissions("useapi")
    r = create(http, emu, **params)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 400 and message in body["error"]
    assert emu.submissions("useapi") == before + 1  # refused creates are still counted as received


def test_prompt_of_600_characters_is_accepted(emu: Emulator, http: httpx.Client) -> None:
    assert create(http, emu, prompt="la " * 200, styleId="rock").status_code == 200


def test_moderated_prompt_422(emu: Emulator, http: httpx.Client) -> None:
    accepted = emu.submissions("useapi", accepted_only=True)
    r = create(http, emu, prompt="a song about ForbiddenWord", styleId="pop")
    assert r.status_code == 422
    assert r.json() == {"error": "Moderated prompt"}
    assert emu.submissions("useapi", accepted_only=True) == accepted


def test_one_generation_per_account_429(slow_emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    base = slow_emu.base_url("useapi")
    first = http.post(f"{base}/v1/minimax/music/create", json={"prompt": "calm piano", "lyrics": "la la"})
    assert first.status_code == 201
    r = http.get(f"{base}/v1/minimax/music/create", params={"prompt": "la", "styleId": "pop"})
    assert r.status_code == 429 and r.json() == BUSY
    r = http.post(f"{base}/v1/minimax/music/create", json={"prompt": "again"})
    assert r.status_code == 429 and r.json() == BUSY
    clock.advance(61)
    assert http.post(f"{base}/v1/minimax/music/create", json={"prompt": "now"}).status_code == 201
    assert slow_emu.submissions("useapi") == 4
    assert slow_emu.submissions("useapi", accepted_only=True) == 2


def test_blocking_create_holds_the_account(clock: FakeClock, http: httpx.Client) -> None:
    with Emulator(speed=1, clock=clock) as emu:
        url = f"{emu.base_url('useapi')}/v1/minimax/music/create"
        result: dict[str, httpx.Response] = {}
        params = {"prompt": "la", "styleId": "jazz"}
        t = threading.Thread(target=lambda: result.update(r=http.get(url, params=params)))
        t.start()
        for _ in range(1000):
            if emu.jobs("useapi"):
                break
            t.join(0.01)
        assert emu.jobs("useapi"), "the first create never reached the emulator"
        second = http.get(url, params={"prompt": "other", "styleId": "jazz"})
        assert second.status_code == 429 and second.json() == BUSY
        assert t.is_alive()  # still held: the song is not made yet
        clock.advance(61)
        t.join(10)
        assert result["r"].status_code == 200


def test_several_accounts_need_account(http: httpx.Client) -> None:
    with Emulator(speed=500, useapi_accounts=("1001", "2002")) as emu:
        r = create(http, emu, prompt="la la", styleId="pop")
        assert r.status_code == 400
        assert r.json() == {"error": "Parameter account is required", "code": 400}
        r = http.get(f"{emu.base_url('useapi')}/v1/minimax/music/")
        assert r.status_code == 400
        r = create(http, emu, prompt="la la", styleId="pop", account="9999")
        assert r.status_code == 400 and r.json()["code"] == 400
        r = create(http, emu, prompt="la la", styleId="pop", account="2002")
        assert r.status_code == 200 and ":2002-music:" in r.json()["musicId"]
        # accounts are independent: each may run one generation
        base = emu.base_url("useapi")
        for account in ("1001", "2002"):
            r = http.post(f"{base}/v1/minimax/music/create?account={account}", json={"prompt": "a"})
            assert r.status_code == 201


def test_retrieve_phases(slow_emu: Emulator, clock: FakeClock, http: httpx.Client) -> None:
    base = slow_emu.base_url("useapi")
    body = {"title": "Phases", "lyrics": "[Verse]\nOne two three", "prompt": "pop"}
    mid = http.post(f"{base}/v1/minimax/music/create", json=body).json()["musicId"]
    seen = []
    for step in (1, 20, 45):
        clock.advance(step)
        got = http.get(f"{base}/v1/minimax/music/{mid}").json()
        seen.append((got["status"], got["statusLabel"], got["statusFinal"]))
        if got["status"] != 2:
            assert "audioURL" not in got
    assert seen == [(0, "pending", False), (1, "processing", False), (2, "completed", True)]


def test_retrieve_unknown_404(emu: Emulator, http: httpx.Client) -> None:
    r = http.get(f"{emu.base_url('useapi')}/v1/minimax/music/user:1-minimax:1001-music:0")
    assert r.status_code == 404
    assert r.json() == {"error": "Not found.", "code": 404}


def test_post_moderation(emu: Emulator, http: httpx.Client) -> None:
    r = create(http, emu, prompt="this one gets postmoderated later", styleId="pop")
    assert r.status_code == 200  # the song was made ...
    body = r.json()
    got = http.get(f"{emu.base_url('useapi')}/v1/minimax/music/{body['musicId']}").json()
    assert got["status"] == 4 and got["statusLabel"] == "moderated" and got["statusFinal"] is True
    assert http.get(body["audioURL"]).status_code == 404  # ... then its audio stopped working
    listed = http.get(f"{emu.base_url('useapi')}/v1/minimax/music/").json()
    assert body["musicId"] not in [m["musicId"] for m in listed]


def test_list_newest_first_with_paging(http: httpx.Client) -> None:
    with Emulator(speed=500) as emu:
        ids = [create(http, emu, prompt=f"song {i}", styleId="folk").json()["musicId"] for i in range(3)]
        base = f"{emu.base_url('useapi')}/v1/minimax/music"
        listed = http.get(f"{base}/").json()
        assert [m["musicId"] for m in listed] == ids[::-1]
        assert all(m["status"] == 2 and "audioURL" in m for m in listed)
        assert [m["musicId"] for m in http.get(base, params={"limit": 2}).json()] == ids[:0:-1]
        page2 = http.get(f"{base}/", params={"limit": 2, "lastMusicId": ids[1]}).json()
        assert [m["musicId"] for m in page2] == [ids[0]]
        assert http.get(f"{base}/", params={"limit": "x"}).status_code == 400


def test_styles(emu: Emulator, http: httpx.Client) -> None:
    r = http.get(f"{emu.base_url('useapi')}/v1/minimax/music/styles/")
    assert r.status_code == 200
    groups = r.json()
    assert groups and all(set(g) == {"name", "styles"} for g in groups)
    styles = [s for g in groups for s in g["styles"]]
    assert all(set(s) == {"url", "styleId", "name"} for s in styles)
    assert {"pop", "rock", "jazz"} <= {s["styleId"] for s in styles}
    assert http.get(styles[0]["url"]).headers["content-type"] == "image/png"
    assert http.get(f"{emu.base_url('useapi')}/v1/minimax/music/styles").status_code == 200


@pytest.mark.parametrize(("body", "message"), [
    ({"title": "t" * 41, "prompt": "ok"}, "title"),
    ({"prompt": "p" * 2001}, "prompt"),
    ({"lyrics": "l" * 3501}, "lyrics"),
    ({"prompt": "ok", "model": "music-1.0"}, "model"),
    ({"prompt": "ok", "instrumental": "yes"}, "instrumental"),
    ({}, "prompt or lyrics"),
])
def test_relaunch_create_400(emu: Emulator, http: httpx.Client, body: dict[str, object],
                             message: str) -> None:
    r = http.post(f"{emu.base_url('useapi')}/v1/minimax/music/create", json=body)
    assert r.status_code == 400
    assert r.json()["code"] == 400 and message in r.json()["error"]


def test_relaunch_create_201_then_poll(emu: Emulator, http: httpx.Client) -> None:
    base = emu.base_url("useapi")
    r = http.post(f"{base}/v1/minimax/music/create",
                  json={"title": "New", "prompt": "dreamy electronic", "lyrics": "[Verse]\nNeon lights",
                        "model": "music-2.6", "instrumental": False, "stream": False})
    assert r.status_code == 201
    mid = r.json()["musicId"]
    assert MUSIC_ID.match(mid)
    with httpx.Client(headers=AUTH) as c:
        for _ in range(200):
            got = c.get(f"{base}/v1/minimax/music/{mid}").json()
            if got["statusFinal"]:
                break
            threading.Event().wait(0.02)
    assert got["status"] == 2
    # issue 11: the relaunch's retrieve answers snake_case audio_url (v1 songs keep audioURL)
    assert "audioURL" not in got
    assert http.get(got["audio_url"]).status_code == 200
    assert http.post(f"{base}/v1/minimax/music/create", json={"prompt": "forbiddenword"}).status_code == 422


def test_list_default_limit_is_20_and_items_are_retrieve_objects(http: httpx.Client) -> None:
    """``GET /v1/minimax/music/?account=&limit=20&lastMusicId=``: 20 when no limit is given."""
    with Emulator(speed=5000) as emu:
        base = f"{emu.base_url('useapi')}/v1/minimax/music"
        ids = [create(http, emu, prompt=f"song {i}", styleId="folk").json()["musicId"] for i in range(21)]
        listed = http.get(f"{base}/").json()
        assert [m["musicId"] for m in listed] == ids[::-1][:20]
        assert all(set(m) == RETRIEVE_KEYS and m["statusFinal"] is True for m in listed)
        rest = http.get(f"{base}/", params={"lastMusicId": listed[-1]["musicId"]}).json()
        assert [m["musicId"] for m in rest] == [ids[0]]
