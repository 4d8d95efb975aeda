"""The fal and Replicate adapters: pure (validation, request building, status and error parsing, cost) and
driven against the emulator in-process through plain httpx, with the header the adapter's ``auth_scheme``
names (the client will do the same once it reads ``auth_scheme``)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import ENV_KEYS, PROVIDER_NAMES, PROVIDERS, get_adapter
from minimax_nb.providers.base import HttpRequest, HttpResponse, errors_only
from minimax_nb.providers.fal import FalAdapter, owner_alias
from minimax_nb.providers.replicate import ReplicateAdapter

emulator = pytest.importorskip("minimax_nb.emulator")

LYRICS = "[Verse]\nStreetlights flicker, the night breeze sighs\n[Chorus]\nHome again tonight"
STYLE = "Lo-fi pop hip-hop ambient"
REF = "https://example.com/reference-song.mp3"


def resp(status: int, body: Any, **headers: str) -> HttpResponse:
    return HttpResponse(status, json.dumps(body).encode(), headers)


def job_for(provider: str, model: str, **kw: Any) -> Job:
    return Job(provider=provider, request=MusicRequest(lyrics=LYRICS, style=STYLE), model=model, **kw)


# ---------------------------------------------------------------------------------------------- registry


def test_registry_lists_real_providers_in_auto_pick_order_with_their_keys() -> None:
    assert PROVIDER_NAMES == ("useapi", "aimlapi", "apiin", "minimax", "fal", "replicate")
    assert ENV_KEYS["fal"] == "FAL_KEY" and ENV_KEYS["replicate"] == "REPLICATE_API_TOKEN"
    assert set(PROVIDER_NAMES) | {"local"} == set(PROVIDERS)
    assert (*PROVIDER_NAMES, "local") == tuple(emulator.PROVIDERS)  # the emulator's own list stays in step
    assert get_adapter("fal").auth_scheme == "Key"
    assert all(get_adapter(p).auth_scheme == "Bearer" for p in PROVIDERS if p != "fal")


# ---------------------------------------------------------------------------------------------- fal, pure


def test_fal_v15_swaps_prompt_and_lyrics_prompt_v2_does_not() -> None:
    fal = FalAdapter()
    req = MusicRequest(lyrics=LYRICS, style=STYLE)
    v15 = fal.build_submit(req, model="fal-ai/minimax-music/v1.5")
    assert v15.path == "/fal-ai/minimax-music/v1.5" and v15.kind == "submit" and v15.method == "POST"
    assert v15.json == {"prompt": LYRICS, "lyrics_prompt": STYLE}
    v2 = fal.build_submit(req, model="fal-ai/minimax-music/v2")
    assert v2.json == {"prompt": STYLE, "lyrics_prompt": LYRICS}
    v26 = fal.build_submit(
        MusicRequest(lyrics="", style=STYLE, instrumental=True, bitrate=128000),
        model="fal-ai/minimax-music/v2.6",
    )
    assert v26.json == {"prompt": STYLE, "is_instrumental": True, "audio_setting": {"bitrate": 128000}}
    v1 = fal.build_submit(
        MusicRequest(lyrics="##la la##", reference_audio_url=REF), model="fal-ai/minimax-music"
    )
    assert v1.json == {"prompt": "##la la##", "reference_audio_url": REF}


@pytest.mark.parametrize(
    ("model", "request_", "field"),
    [
        ("fal-ai/minimax-music/v1.5", MusicRequest(lyrics="x" * 601, style=STYLE), "lyrics"),
        ("fal-ai/minimax-music/v1.5", MusicRequest(lyrics=LYRICS, style="short"), "style"),
        ("fal-ai/minimax-music/v2", MusicRequest(lyrics=LYRICS, style="s" * 301), "style"),
        ("fal-ai/minimax-music/v2.6", MusicRequest(lyrics="x" * 1001, style=STYLE), "lyrics"),
        ("fal-ai/minimax-music/v2.6", MusicRequest(lyrics="", style=STYLE), "lyrics"),
        (
            "fal-ai/minimax-music/v2.6",
            MusicRequest(lyrics=LYRICS, style=STYLE, extra={"lyrics_optimizer": True}),
            "extra",
        ),
        ("fal-ai/minimax-music/v2.5", MusicRequest(lyrics="x" * 3501, style=STYLE), "lyrics"),
        ("fal-ai/minimax-music", MusicRequest(lyrics="##la##"), "reference_audio_url"),
        (
            "fal-ai/minimax-music/v2",
            MusicRequest(lyrics=LYRICS, style=STYLE, sample_rate=48000),
            "sample_rate",
        ),
        ("minimax/music-3", MusicRequest(lyrics=LYRICS), "style"),
    ],
)
def test_fal_validation_refuses_before_sending(model: str, request_: MusicRequest, field: str) -> None:
    fal = FalAdapter()
    assert field in [i.field for i in errors_only(fal.validate(request_, model=model))]
    with pytest.raises(E.ValidationError):
        fal.build_submit(request_, model=model)


def test_fal_instrumental_or_optimizer_waive_lyrics_on_v25() -> None:
    fal = FalAdapter()
    for req in (
        MusicRequest(lyrics="", style=STYLE, instrumental=True),
        MusicRequest(lyrics="", style=STYLE, extra={"lyrics_optimizer": True}),
    ):
        assert not errors_only(fal.validate(req, model="fal-ai/minimax-music/v2.5"))


def test_fal_polls_owner_alias_then_reads_the_result() -> None:
    fal = FalAdapter()
    assert owner_alias("fal-ai/minimax-music/v2.6") == "fal-ai/minimax-music"
    assert owner_alias("minimax/music-3") == "minimax/music-3"
    job = job_for("fal", "fal-ai/minimax-music/v2")
    sub = fal.parse_submit(
        job, resp(200, {"request_id": "r-1", "status_url": "x", "response_url": "y", "cancel_url": "z"})
    )
    job = sub.job
    assert job.id == "r-1" and job.status is JobStatus.QUEUED
    poll = fal.build_poll(job)
    assert (
        poll is not None and poll.path == "/fal-ai/minimax-music/requests/r-1/status" and poll.kind == "read"
    )
    job = fal.parse_poll(job, resp(200, {"status": "IN_PROGRESS", "logs": None}))
    assert job.status is JobStatus.RUNNING
    job = fal.parse_poll(job, resp(200, {"status": "COMPLETED", "logs": None, "metrics": {}}))
    assert job.status is JobStatus.RUNNING  # the output is one read away
    poll = fal.build_poll(job)
    assert poll is not None and poll.path == "/fal-ai/minimax-music/requests/r-1"
    job = fal.parse_poll(job, resp(200, {"audio": {"url": "https://v3.fal.media/files/a.mp3"}}))
    assert job.status is JobStatus.COMPLETED and job.audio_url == "https://v3.fal.media/files/a.mp3"


def test_fal_failures_moderation_and_cancel() -> None:
    fal = FalAdapter()
    base = job_for("fal", "fal-ai/minimax-music/v2", id="r-2")
    moderated = fal.parse_poll(
        base,
        resp(
            200,
            {
                "status": "COMPLETED",
                "logs": None,
                "error": "flagged",
                "error_type": "content_policy_violation",
            },
        ),
    )
    assert moderated.status is JobStatus.MODERATED
    cancelled = fal.parse_poll(
        base,
        resp(
            200,
            {"status": "COMPLETED", "logs": None, "error": "cancelled", "error_type": "request_cancelled"},
        ),
    )
    assert cancelled.status is JobStatus.CANCELLED
    done = fal.parse_poll(base, resp(200, {"status": "COMPLETED", "logs": None}))
    late = fal.parse_poll(
        done,
        resp(422, {"detail": [{"loc": ["body", "prompt"], "msg": "no", "type": "content_policy_violation"}]}),
    )
    assert late.status is JobStatus.MODERATED
    with pytest.raises(E.MiniMaxError, match="unknown status"):
        fal.parse_poll(base, resp(200, {"status": "WEIRD"}))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"detail": "Unauthorized"}, E.AuthenticationError),
        (
            422,
            {"detail": [{"loc": ["body", "prompt"], "msg": "too short", "type": "value_error"}]},
            E.ValidationError,
        ),
        (
            422,
            {"detail": [{"loc": ["body", "prompt"], "msg": "flagged", "type": "content_policy_violation"}]},
            E.ModerationError,
        ),
        (429, {"detail": "slow down"}, E.RateLimitError),
        (503, {"detail": "busy"}, E.ServerError),
        (404, {"detail": "Request not found"}, E.NotFoundError),
    ],
)
def test_fal_errors_map_to_typed_errors(status: int, body: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        FalAdapter().raise_for_error(resp(status, body, **{"x-fal-request-id": "rq-9", "Retry-After": "2"}))
    assert isinstance(info.value, E.MiniMaxError) and info.value.request_id == "rq-9"
    if status == 422 and error is E.ValidationError:
        assert info.value.problems == ["prompt: too short"]


def test_fal_cost_estimates() -> None:
    fal = FalAdapter()
    assert (
        fal.estimate_cost_usd(MusicRequest(lyrics=LYRICS, style=STYLE), model="fal-ai/minimax-music/v2")
        == 0.03
    )
    assert (
        fal.estimate_cost_usd(MusicRequest(lyrics=LYRICS, style=STYLE), model="fal-ai/minimax-music/v2.6")
        == 0.15
    )
    assert fal.estimate_cost_usd(MusicRequest(lyrics=LYRICS, style=STYLE), model="minimax/music-3") is None


# ------------------------------------------------------------------------------------------- replicate, pure


def test_replicate_builds_model_predictions() -> None:
    rep = ReplicateAdapter()
    req = MusicRequest(lyrics=LYRICS, style=STYLE, audio_format="wav", sample_rate=32000)
    sub = rep.build_submit(req, model="minimax/music-2.6")
    assert sub.path == "/v1/models/minimax/music-2.6/predictions" and sub.kind == "submit"
    assert sub.json == {
        "input": {"lyrics": LYRICS, "prompt": STYLE, "audio_format": "wav", "sample_rate": 32000}
    }
    assert "Prefer" not in sub.headers and not sub.blocking
    m01 = rep.build_submit(
        MusicRequest(lyrics="##la la##", reference_audio_url=REF), model="minimax/music-01"
    )
    assert m01.json == {"input": {"lyrics": "##la la##", "song_file": REF}}


@pytest.mark.parametrize(
    ("model", "request_", "field"),
    [
        ("minimax/music-01", MusicRequest(lyrics="x" * 401), "lyrics"),
        ("minimax/music-1.5", MusicRequest(lyrics=LYRICS, style="short"), "style"),
        ("minimax/music-1.5", MusicRequest(lyrics="x" * 601, style=STYLE), "lyrics"),
        ("minimax/music-2.5", MusicRequest(lyrics="", style=STYLE), "lyrics"),
        ("minimax/music-2.6", MusicRequest(lyrics="", instrumental=True), "style"),
        ("minimax/music-2.5", MusicRequest(lyrics=LYRICS, audio_format="flac"), "audio_format"),
        (
            "minimax/music-1.5",
            MusicRequest(lyrics=LYRICS, style=STYLE, extra={"lyrics_optimizer": True}),
            "extra",
        ),
    ],
)
def test_replicate_validation_refuses_before_sending(model: str, request_: MusicRequest, field: str) -> None:
    rep = ReplicateAdapter()
    assert field in [i.field for i in errors_only(rep.validate(request_, model=model))]
    with pytest.raises(E.ValidationError):
        rep.build_submit(request_, model=model)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"id": "p", "status": "starting"}, JobStatus.QUEUED),
        ({"id": "p", "status": "processing"}, JobStatus.RUNNING),
        (
            {"id": "p", "status": "succeeded", "output": "https://replicate.delivery/a.mp3"},
            JobStatus.COMPLETED,
        ),
        ({"id": "p", "status": "succeeded", "output": None, "data_removed": True}, JobStatus.LOST),
        ({"id": "p", "status": "failed", "error": "flagged as sensitive (E005)"}, JobStatus.MODERATED),
        ({"id": "p", "status": "failed", "error": "CUDA out of memory"}, JobStatus.FAILED),
        ({"id": "p", "status": "canceled"}, JobStatus.CANCELLED),
        ({"id": "p", "status": "aborted"}, JobStatus.CANCELLED),
    ],
)
def test_replicate_statuses(body: dict[str, Any], status: JobStatus) -> None:
    job = ReplicateAdapter().parse_poll(job_for("replicate", "minimax/music-1.5", id="p"), resp(200, body))
    assert job.status is status
    if status is JobStatus.COMPLETED:
        assert job.audio_url == body["output"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, E.AuthenticationError),
        (402, E.InsufficientBalanceError),
        (404, E.NotFoundError),
        (422, E.ValidationError),
        (429, E.RateLimitError),
        (500, E.ServerError),
    ],
)
def test_replicate_rfc7807_errors(status: int, error: type[Exception]) -> None:
    body = {"title": "T", "detail": "something happened", "status": status}
    with pytest.raises(error) as info:
        ReplicateAdapter().raise_for_error(resp(status, body, **{"Retry-After": "30"}))
    assert isinstance(info.value, E.MiniMaxError) and "something happened" in str(info.value)
    if isinstance(info.value, E.RateLimitError):
        assert info.value.retry_after == 30.0


# ------------------------------------------------------------------------------------- against the emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    e = emulator.Emulator(speed=5000, seed=7)
    yield e
    e.stop()


def _send(client: httpx.Client, req: HttpRequest) -> HttpResponse:
    r = client.request(
        req.method, req.path, params=dict(req.params), json=req.json, headers=dict(req.headers)
    )
    return HttpResponse(r.status_code, r.content, dict(r.headers))


def _run(emu: Any, provider: str, request: MusicRequest, model: str) -> Job:
    adapter = get_adapter(provider)
    headers = {"Authorization": f"{adapter.auth_scheme} {emulator.DEFAULT_KEY}"}
    with httpx.Client(
        base_url=emu.base_url(provider), transport=emu.transport(), headers=headers, timeout=30
    ) as client:
        job = Job(provider=provider, request=request, model=model)
        job = adapter.parse_submit(job, _send(client, adapter.build_submit(request, model=model))).job
        for _ in itertools.repeat(None, 2000):
            if job.is_final:
                break
            poll = adapter.build_poll(job)
            assert poll is not None
            job = adapter.parse_poll(job, _send(client, poll))
        return job


def _request_for(provider: str, model: str) -> MusicRequest:
    spec = get_adapter(provider).model_spec(model)
    if not spec.prompt_is_style:
        return MusicRequest(
            lyrics="##Side by side\n\nthrough thick and thin##",
            reference_audio_url=REF if provider == "fal" else None,
        )
    return MusicRequest(lyrics=LYRICS, style=STYLE)


CASES = [(p, m) for p in ("fal", "replicate") for m in get_adapter(p).models]


@pytest.mark.parametrize(("provider", "model"), CASES)
def test_every_model_completes_at_the_emulator(emu: Any, provider: str, model: str) -> None:
    job = _run(emu, provider, _request_for(provider, model), model)
    assert job.status is JobStatus.COMPLETED, job.error
    assert job.audio_url and job.id and job.finished_at is not None
    with httpx.Client(transport=emu.transport()) as files:
        assert files.get(job.audio_url).status_code == 200


@pytest.mark.parametrize("provider", ["fal", "replicate"])
def test_moderation_ends_moderated(emu: Any, provider: str) -> None:
    model = "fal-ai/minimax-music/v2" if provider == "fal" else "minimax/music-1.5"
    job = _run(emu, provider, MusicRequest(lyrics="[Verse]\nforbiddenword tonight", style=STYLE), model)
    assert job.status is JobStatus.MODERATED and job.error


def test_wrong_scheme_is_an_authentication_error(emu: Any) -> None:
    fal = FalAdapter()
    with httpx.Client(
        base_url=emu.base_url("fal"),
        transport=emu.transport(),
        headers={"Authorization": f"Bearer {emulator.DEFAULT_KEY}"},
    ) as client:
        answer = _send(client, fal.build_submit(MusicRequest(lyrics=LYRICS, style=STYLE)))
    with pytest.raises(E.AuthenticationError):
        fal.parse_submit(job_for("fal", fal.default_model), answer)
