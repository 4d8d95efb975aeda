"""Every adapter and model against the offline emulator (in-process, no socket).

The emulator is written from the specs without importing the adapters, so a request the adapter
builds must be accepted there and every answer it gives must parse into the right job or error.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import get_adapter
from minimax_nb.providers.base import HttpRequest, HttpResponse, ProviderAdapter
from minimax_nb.providers.minimax import StreamAssembler

emulator = pytest.importorskip("minimax_nb.emulator")

LYRICS = "[Verse]\nStreetlights flicker, the night breeze sighs\n[Chorus]\nHome again tonight"
STYLE = "Lo-fi pop hip-hop ambient music"
REF = "https://example.com/reference-song.mp3"


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    e = emulator.Emulator(speed=5000, seed=7)
    yield e


def _client(emu: Any, provider: str, key: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=emu.base_url(provider),
        transport=emu.transport(),
        timeout=30,
        headers={"Authorization": f"Bearer {key or emulator.DEFAULT_KEY}"},
    )


def _send(client: httpx.Client, req: HttpRequest) -> HttpResponse:
    r = client.request(
        req.method, req.path, params=dict(req.params), json=req.json, headers=dict(req.headers)
    )
    return HttpResponse(r.status_code, r.content, dict(r.headers))


def _run(emu: Any, provider: str, request: MusicRequest, model: str | None = None) -> Job:
    adapter = get_adapter(provider)
    with _client(emu, provider) as client:
        job = Job(provider=provider, request=request, model=model or request.model or adapter.default_model)
        result = adapter.parse_submit(job, _send(client, adapter.build_submit(request, model=model)))
        job = result.job
        for _ in itertools.repeat(None, 400):
            if job.is_final:
                break
            poll = adapter.build_poll(job)
            assert poll is not None
            job = adapter.parse_poll(job, _send(client, poll))
        return job


def _request_for(adapter: ProviderAdapter, model: str) -> MusicRequest:
    spec = adapter.model_spec(model)
    if not spec.prompt_is_style:  # the lyrics are the prompt (useapi v1, AIML legacy)
        return MusicRequest(
            lyrics="##Side by side\n\nthrough thick and thin##",
            style_id="1",
            reference_audio_url=REF if spec.needs_reference_audio else None,
        )
    return MusicRequest(
        lyrics=LYRICS, style=STYLE, reference_audio_url=REF if spec.needs_reference_audio else None
    )


# AIML's music-01 needs uploaded reference ids and answers hex audio (no URL): its own end-to-end test is
# tests/unit/test_adapter_aiml_music01.py
CASES = [
    (p, m)
    for p in ("useapi", "aimlapi", "apiin", "minimax", "local")
    for m in get_adapter(p).models
    if m != "music-01"
]


@pytest.mark.parametrize(("provider", "model"), CASES)
def test_every_model_completes_at_the_emulator(emu: Any, provider: str, model: str) -> None:
    adapter = get_adapter(provider)
    job = _run(emu, provider, _request_for(adapter, model), model=model)
    assert job.status is JobStatus.COMPLETED, job.error
    assert job.audio_url and job.id
    assert job.finished_at is not None


def test_minimax_hex_output(emu: Any) -> None:
    adapter = get_adapter("minimax")
    req = MusicRequest(lyrics=LYRICS, style=STYLE, extra={"output_format": "hex"})
    with _client(emu, "minimax") as client:
        result = adapter.parse_submit(
            Job(provider="minimax", request=req), _send(client, adapter.build_submit(req))
        )
    assert result.job.status is JobStatus.COMPLETED and result.audio_bytes
    assert result.audio_bytes[:3] == b"ID3" or result.audio_bytes[0] == 0xFF
    assert result.job.duration_s and str(result.job.raw["data"]["audio"]).startswith("<hex: ")


def test_minimax_stream(emu: Any) -> None:
    adapter = get_adapter("minimax")
    req = MusicRequest(lyrics=LYRICS, style=STYLE, extra={"stream": True})
    http = adapter.build_submit(req)
    asm = StreamAssembler()
    with (
        _client(emu, "minimax") as client,
        client.stream(http.method, http.path, json=http.json, headers=dict(http.headers)) as r,
    ):
        adapter.raise_for_error(HttpResponse(r.status_code, b"", dict(r.headers)))
        for line in r.iter_lines():
            asm.feed(line)
    result = asm.result(Job(provider="minimax", request=req))
    assert asm.done and result.job.status is JobStatus.COMPLETED and result.audio_bytes
    assert result.job.duration_s and result.job.duration_s > 1


@pytest.mark.parametrize("provider", ["aimlapi", "apiin", "local", "useapi", "minimax"])
def test_wrong_key_is_an_authentication_error(emu: Any, provider: str) -> None:
    adapter = get_adapter(provider)
    req = _request_for(adapter, adapter.default_model)
    with (
        _client(emu, provider, key="wrong-key-123456") as client,
        pytest.raises(E.AuthenticationError) as info,
    ):
        adapter.parse_submit(Job(provider=provider, request=req), _send(client, adapter.build_submit(req)))
    assert info.value.provider == provider and "wrong-key-123456" not in str(info.value)


@pytest.mark.parametrize("provider", ["aimlapi", "apiin", "local", "useapi", "minimax"])
def test_moderated_words(emu: Any, provider: str) -> None:
    adapter = get_adapter(provider)
    base = _request_for(adapter, adapter.default_model)
    req = base.replace(
        lyrics=base.lyrics.replace("Side by side", "forbiddenword").replace("Streetlights", "forbiddenword")
    )
    try:
        job = _run(emu, provider, req)
    except E.ModerationError:
        return  # refused at submit (useapi 422, platform 1026)
    assert job.status is JobStatus.MODERATED, (job.status, job.error)


@pytest.mark.parametrize("provider", ["aimlapi", "apiin", "useapi"])
def test_unknown_job_id_is_not_found(emu: Any, provider: str) -> None:
    adapter = get_adapter(provider)
    job = Job(
        provider=provider, request=MusicRequest(), id="user:0-minimax:0-music:0", status=JobStatus.RUNNING
    )
    poll = adapter.build_poll(job)
    assert poll is not None
    with _client(emu, provider) as client, pytest.raises(E.NotFoundError):
        adapter.parse_poll(job, _send(client, poll))


def test_useapi_styles_and_list(emu: Any) -> None:
    adapter = get_adapter("useapi")
    with _client(emu, "useapi") as client:
        styles = adapter.parse_styles(_send(client, adapter.build_styles()))
        assert styles and all(s["styleId"] for s in styles)
        job = _run(emu, "useapi", MusicRequest(lyrics="Listed song\n\nla la", style_id=styles[0]["styleId"]))
        listed = adapter.parse_list(_send(client, adapter.build_list(limit=50)))
    assert any(item.get("musicId") == job.id for item in listed)


def test_emulator_rejects_what_validate_would_have_caught(emu: Any) -> None:
    """Bypass validation: the emulator's 400 parses into a ValidationError with the problems listed."""
    adapter = get_adapter("aimlapi")
    body = adapter.body_for(MusicRequest(lyrics="short", style="short"), "minimax/music-2.0")  # type: ignore[attr-defined]
    with _client(emu, "aimlapi") as client, pytest.raises(E.ValidationError) as info:
        adapter.parse_submit(
            Job(provider="aimlapi", request=MusicRequest()),
            _send(client, HttpRequest("POST", "/v2/generate/audio", "submit", json=body)),
        )
    assert len(info.value.problems) >= 2 and info.value.status_code == 400
