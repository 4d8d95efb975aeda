"""Issue 11's fidelity fixes, adapter side: useapi's 2026 relaunch (snake_case ``audio_url``, the model's
``title`` and ``lyrics``, an object-or-array create answer, 429 = busy, ``instrumental`` for a wordless
track), the platform's ``Trace-Id`` in error request ids, and provider-shaped 404s, each checked on a
recorded-shape payload and against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import PROVIDER_NAMES, get_adapter
from minimax_nb.providers.base import HttpResponse
from minimax_nb.providers.minimax import MinimaxAdapter
from minimax_nb.providers.useapi import UseapiAdapter

emulator = pytest.importorskip("minimax_nb.emulator")

RELAUNCH = MusicRequest(lyrics="", style="dreamy electronic night drive", model="music-3.0")


def resp(status: int, body: Any, **headers: str) -> HttpResponse:
    return HttpResponse(status, json.dumps(body).encode(), headers)


def test_relaunch_create_answer_may_be_an_array() -> None:
    a = UseapiAdapter()
    job = Job(provider="useapi", request=RELAUNCH, model="music-3.0")
    for body in ({"musicId": "m-1"}, [{"musicId": "m-1"}, {"musicId": "m-2"}]):
        sub = a.parse_submit(job, resp(201, body)).job
        assert sub.id == "m-1" and sub.status is JobStatus.QUEUED
    with pytest.raises(E.MiniMaxError):
        a.parse_submit(job, resp(201, []))


def test_relaunch_retrieve_snake_case_title_and_lyrics() -> None:
    a = UseapiAdapter()
    job = Job(provider="useapi", request=RELAUNCH, model="music-3.0", id="m-1")
    done = a.parse_poll(
        job,
        resp(
            200,
            {
                "musicId": "m-1",
                "status": 2,
                "statusFinal": True,
                "audio_url": "https://cdn/a.mp3",
                "cover_url": "https://cdn/a.png",
                "title": "Night Drive",
                "lyrics": "[Verse]\nwe drive",
                "duration": 61,
            },
        ),
    )
    assert done.status is JobStatus.COMPLETED
    assert done.audio_url == "https://cdn/a.mp3" and done.cover_url == "https://cdn/a.png"
    assert done.title == "Night Drive" and done.lyrics == "[Verse]\nwe drive"
    final = a.parse_poll(
        job, resp(200, {"musicId": "m-1", "statusFinal": True, "audio_url": "https://cdn/b.mp3"})
    )
    assert final.status is JobStatus.COMPLETED


def test_relaunch_empty_lyrics_warns_and_instrumental_is_sent() -> None:
    a = UseapiAdapter()
    warnings = [i for i in a.validate(RELAUNCH) if i.level == "warning" and i.field == "lyrics"]
    assert warnings and "instrumental=True" in warnings[0].message
    wordless = RELAUNCH.replace(instrumental=True)
    assert not [i for i in a.validate(wordless) if i.field == "lyrics"]
    assert a.build_submit(wordless).json["instrumental"] is True


def test_useapi_429_busy_wordings_are_concurrency_refusals() -> None:
    a = UseapiAdapter()
    for text in (
        "The previous request has not been completed yet. Please try again later.",
        "Account is busy generating another song",
    ):
        with pytest.raises(E.ConcurrencyLimitError):
            a.raise_for_error(resp(429, {"error": text, "code": 429}))
    with pytest.raises(E.RateLimitError) as info:
        a.raise_for_error(resp(429, {"error": "Too many requests", "code": 429}))
    assert not isinstance(info.value, E.ConcurrencyLimitError)


def test_platform_trace_id_header_is_the_error_request_id() -> None:
    m = MinimaxAdapter()
    body = {"trace_id": "", "base_resp": {"status_code": 2013, "status_msg": "invalid params"}}
    with pytest.raises(E.ValidationError) as info:
        m.raise_for_error(resp(200, body, **{"Trace-Id": "abc123"}))
    assert info.value.request_id == "abc123"


def test_platform_unknown_path_404_is_not_found() -> None:
    body = {"trace_id": "t", "base_resp": {"status_code": 1000, "status_msg": "not found"}}
    with pytest.raises(E.NotFoundError) as info:
        MinimaxAdapter().raise_for_error(resp(404, body))
    assert info.value.request_id == "t"


# ---------------------------------------------------------------------------------------------- emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    e = emulator.Emulator(speed=5000, seed=3, useapi_create_array=True)
    yield e
    e.stop()


def _client(emu: Any, provider: str) -> httpx.Client:
    scheme = get_adapter(provider).auth_scheme
    return httpx.Client(
        base_url=emu.base_url(provider),
        transport=emu.transport(),
        timeout=30,
        headers={"Authorization": f"{scheme} {emulator.DEFAULT_KEY}"},
    )


def _answer(r: httpx.Response) -> HttpResponse:
    return HttpResponse(r.status_code, r.content, dict(r.headers))


def test_relaunch_end_to_end_at_the_emulator(emu: Any) -> None:
    a = UseapiAdapter()
    with _client(emu, "useapi") as c:
        sub = a.build_submit(RELAUNCH)
        job = Job(provider="useapi", request=RELAUNCH, model="music-3.0")
        job = a.parse_submit(job, _answer(c.request(sub.method, sub.path, json=sub.json))).job
        for _ in range(2000):
            if job.is_final:
                break
            poll = a.build_poll(job)
            assert poll is not None
            job = a.parse_poll(job, _answer(c.get(poll.path)))
    assert job.status is JobStatus.COMPLETED and job.audio_url and job.cover_url
    assert job.title and job.lyrics and "[Verse]" in job.lyrics


def test_platform_error_from_the_emulator_carries_its_trace_id(emu: Any) -> None:
    with _client(emu, "minimax") as c:
        r = c.post("/v1/music_generation", json={"model": "music-2.0"})
    with pytest.raises(E.ValidationError) as info:
        MinimaxAdapter().raise_for_error(_answer(r))
    assert info.value.request_id == r.headers["trace-id"]


@pytest.mark.parametrize("provider", [*PROVIDER_NAMES, "local"])
def test_unknown_paths_parse_as_not_found(emu: Any, provider: str) -> None:
    with _client(emu, provider) as c:
        r = c.get("/no/such/path")
    with pytest.raises(E.NotFoundError):
        get_adapter(provider).raise_for_error(_answer(r))
