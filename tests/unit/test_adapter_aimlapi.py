"""AIML API adapter, fed the documented payloads (seed 002, aimlapi-openapi/*.json, WIRE.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import get_adapter
from minimax_nb.providers.aimlapi import AimlapiAdapter
from minimax_nb.providers.base import HttpResponse

MakeResponse = Callable[..., HttpResponse]
SPECS = Path("/work/shared/specs/aimlapi-openapi")
LYRICS = (
    "[Verse]\nStreetlights flicker, the night breeze sighs\nShadows stretch as I walk alone\n"
    "[Chorus]\nPushing the wooden door, the aroma spreads"
)
STYLE = "Lo-fi pop hip-hop ambient music"
REF = "https://raw.githubusercontent.com/aimlapi/api-docs/main/reference-files/why-is-this-wind.mp3"
GEN_ID = "60ac7c34-3224-4b14-8e7d-0aa0db708325"
CDN = (
    "https://cdn.aimlapi.com/generations/hippopotamus/1757963033314-8ca7729d-b78c-4d4c-9ef9-89b2fb3d07e8.mp3"
)


@pytest.fixture
def a() -> AimlapiAdapter:
    adapter = get_adapter("aimlapi")
    assert isinstance(adapter, AimlapiAdapter)
    return adapter


def _job(req: MusicRequest | None = None, **kw: object) -> Job:
    return Job(provider="aimlapi", request=req or MusicRequest(lyrics=LYRICS, style=STYLE), **kw)  # type: ignore[arg-type]


def _schema(model_file: str) -> dict[str, object]:
    doc = json.loads((SPECS / model_file).read_text())
    body = doc["paths"]["/v2/generate/audio"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert isinstance(body, dict)
    return body


@pytest.mark.skipif(not SPECS.exists(), reason="shared specs not present")
@pytest.mark.parametrize(
    ("file", "model"),
    [
        ("minimax-music-1.5.json", "minimax/music-1.5"),
        ("minimax-music-2.0.json", "minimax/music-2.0"),
        ("minimax-music-2.6.json", "minimax/music-2.6"),
        ("minimax-music-cover.json", "minimax/music-cover"),
    ],
)
def test_limits_match_the_openapi_fragments(a: AimlapiAdapter, file: str, model: str) -> None:
    schema = _schema(file)
    props = schema["properties"]
    assert isinstance(props, dict)
    spec = a.model_spec(model)
    assert spec.prompt_max == props["prompt"].get("maxLength")
    assert spec.prompt_min == props["prompt"].get("minLength", 0)
    assert spec.lyrics_max == props["lyrics"].get("maxLength")
    assert spec.lyrics_min == props["lyrics"].get("minLength", 0)
    required = set(schema["required"])  # type: ignore[arg-type]
    assert spec.prompt_required == ("prompt" in required)
    assert spec.lyrics_required == ("lyrics" in required)
    assert spec.needs_reference_audio == ("reference_audio_url" in required)
    setting = props["audio_setting"]["properties"]
    assert set(spec.bitrates) == set(setting["bitrate"]["enum"])
    assert set(spec.formats) == set(setting["format"]["enum"])
    rate_key = "sample_rate" if model.endswith("cover") else "audio_sample_rate"
    assert set(spec.sample_rates) == set(setting[rate_key]["enum"])


@pytest.mark.skipif(not SPECS.exists(), reason="shared specs not present")
def test_legacy_schema_required_fields(a: AimlapiAdapter) -> None:
    legacy = json.loads((SPECS / "minimax-music-legacy.schemas.json").read_text())[
        "minimax-music.SubmitPayload"
    ]
    assert set(legacy["required"]) == {"model", "prompt", "reference_audio_url"}
    spec = a.model_spec("minimax-music")
    assert spec.needs_reference_audio and spec.lyrics_required and spec.lyrics_max == 600


def test_build_default_model(a: AimlapiAdapter) -> None:
    http = a.build_submit(
        MusicRequest(lyrics=LYRICS, style=STYLE, bitrate=128000, sample_rate=44100, audio_format="mp3")
    )
    assert (http.method, http.path, http.kind, http.blocking) == (
        "POST",
        "/v2/generate/audio",
        "submit",
        False,
    )
    assert http.json == {
        "model": "minimax/music-2.0",
        "prompt": STYLE,
        "lyrics": LYRICS,
        "audio_setting": {"audio_sample_rate": 44100, "bitrate": 128000, "format": "mp3"},
    }


def test_build_legacy_seed_example(a: AimlapiAdapter) -> None:
    lyrics = (
        "##Side by side, through thick and thin, \n\nWith a laugh, we always win. \n\n"
        " Storms may come, but we stay true, \n\nFriends forever—me and you!##"
    )
    req = MusicRequest(lyrics=lyrics, reference_audio_url=REF, model="minimax-music")
    assert a.validate(req) == []
    assert a.build_submit(req).json == {
        "model": "minimax-music",
        "prompt": lyrics,
        "reference_audio_url": REF,
    }


@pytest.mark.parametrize(
    ("req", "fields"),
    [
        (MusicRequest(lyrics="x" * 601, reference_audio_url=REF), {"lyrics"}),
        (MusicRequest(lyrics="la la"), {"reference_audio_url"}),
        (MusicRequest(lyrics="la la", reference_audio_url="https://x/ref.flac"), {"reference_audio_url"}),
        (MusicRequest(reference_audio_url=REF), {"lyrics"}),
    ],
)
def test_legacy_validation(a: AimlapiAdapter, req: MusicRequest, fields: set[str]) -> None:
    errs = {i.field for i in a.validate(req, model="minimax-music") if i.level == "error"}
    assert errs == fields
    with pytest.raises(E.ValidationError):
        a.build_submit(req, model="minimax-music")


def test_legacy_warns_about_style_settings_and_tags(a: AimlapiAdapter) -> None:
    req = MusicRequest(lyrics="[Verse]\nla la", style="pop", reference_audio_url=REF, bitrate=128000)
    warned = {i.field for i in a.validate(req, model="minimax-music")}
    assert {"style", "bitrate", "lyrics"} <= warned
    assert all(i.level == "warning" for i in a.validate(req, model="minimax-music"))


@pytest.mark.parametrize(
    ("model", "req", "fields"),
    [
        ("minimax/music-1.5", MusicRequest(lyrics=LYRICS, style="x" * 301), {"style"}),
        ("minimax/music-1.5", MusicRequest(lyrics="short", style="short"), {"lyrics", "style"}),
        ("minimax/music-2.0", MusicRequest(lyrics="x" * 3001, style=STYLE), {"lyrics"}),
        ("minimax/music-2.0", MusicRequest(lyrics=LYRICS), {"style"}),
        ("minimax/music-2.0", MusicRequest(lyrics=LYRICS, style=STYLE, bitrate=60000), {"bitrate"}),
        ("minimax/music-2.0", MusicRequest(lyrics=LYRICS, style=STYLE, sample_rate=48000), {"sample_rate"}),
        (
            "minimax/music-2.0",
            MusicRequest(lyrics=LYRICS, style=STYLE, audio_format="flac"),
            {"audio_format"},
        ),
        ("minimax/music-2.6", MusicRequest(lyrics="x" * 3001, style="y" * 2001), {"lyrics", "style"}),
        ("minimax/music-cover", MusicRequest(style=STYLE), {"reference_audio_url"}),
        ("minimax/music-cover", MusicRequest(style="short", reference_audio_url=REF), {"style"}),
        (
            "minimax/music-cover",
            MusicRequest(style=STYLE, reference_audio_url=REF, lyrics="short"),
            {"lyrics"},
        ),
    ],
)
def test_modern_validation(a: AimlapiAdapter, model: str, req: MusicRequest, fields: set[str]) -> None:
    assert {i.field for i in a.validate(req, model=model) if i.level == "error"} == fields


def test_music_26_everything_optional(a: AimlapiAdapter) -> None:
    req = MusicRequest(style="ambient", instrumental=True, extra={"lyrics_optimizer": False})
    assert a.validate(req, model="minimax/music-2.6") == []
    assert a.build_submit(req, model="minimax/music-2.6").json == {
        "model": "minimax/music-2.6",
        "prompt": "ambient",
        "is_instrumental": True,
        "lyrics_optimizer": False,
    }
    empty = a.validate(MusicRequest(), model="minimax/music-2.6")
    assert [i.level for i in empty] == ["error"]  # issue 10: no words asked for and none to sing
    assert a.validate(MusicRequest(extra={"lyrics_optimizer": True}), model="minimax/music-2.6") == []


@pytest.mark.parametrize("model", ["minimax-music", "minimax/music-cover"])
def test_reference_audio_url_is_required_even_with_audio_base64(a: AimlapiAdapter, model: str) -> None:
    """Both schemas require ``reference_audio_url``; ``audio_base64`` is the MiniMax platform's field and
    must not stand in for it here (the legacy body used to go out with ``reference_audio_url: None``)."""
    req = MusicRequest(
        lyrics="##la la la la la##", style="Gentle guitar arpeggios", extra={"audio_base64": "AA"}
    )
    errs = [i for i in a.validate(req, model=model) if i.level == "error"]
    assert [i.field for i in errs] == ["reference_audio_url"]
    with pytest.raises(E.ValidationError):
        a.build_submit(req, model=model)
    ok = MusicRequest(lyrics="##la la la la la##", style="Gentle guitar arpeggios", reference_audio_url=REF)
    assert [i for i in a.validate(ok, model=model) if i.level == "error"] == []


def test_cover_uses_sample_rate_key(a: AimlapiAdapter) -> None:
    req = MusicRequest(
        style="Gentle guitar arpeggios, soft strings.",
        reference_audio_url=REF,
        sample_rate=32000,
        bitrate=256000,
    )
    body = a.build_submit(req, model="minimax/music-cover").json
    assert body == {
        "model": "minimax/music-cover",
        "prompt": "Gentle guitar arpeggios, soft strings.",
        "reference_audio_url": REF,
        "audio_setting": {"sample_rate": 32000, "bitrate": 256000},
    }


def test_instrumental_not_sent_to_models_without_it(a: AimlapiAdapter) -> None:
    req = MusicRequest(lyrics=LYRICS, style=STYLE, instrumental=True)
    assert "is_instrumental" not in a.build_submit(req).json
    assert any(i.field == "instrumental" and i.level == "warning" for i in a.validate(req))


def test_extra_is_passed_through(a: AimlapiAdapter) -> None:
    req = MusicRequest(lyrics=LYRICS, style=STYLE, extra={"seed": 7})
    assert a.build_submit(req).json["seed"] == 7


def test_parse_submit_queued_keeps_usage(a: AimlapiAdapter, resp: MakeResponse) -> None:
    body = {"id": GEN_ID, "status": "queued", "meta": {"usage": {"credits_used": 120000, "usd_spent": 0.06}}}
    job = a.parse_submit(_job(), resp(200, body)).job
    assert job.id == GEN_ID and job.status is JobStatus.QUEUED
    assert job.raw["meta"]["usage"]["usd_spent"] == 0.06
    assert job.model == "minimax/music-2.0"


def test_parse_submit_without_id(a: AimlapiAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.MiniMaxError, match="no id"):
        a.parse_submit(_job(), resp(200, {"status": "queued"}))


def test_poll_request(a: AimlapiAdapter) -> None:
    http = a.build_poll(_job(id=GEN_ID))
    assert http is not None
    assert (http.method, http.path, dict(http.params), http.kind) == (
        "GET",
        "/v2/generate/audio",
        {"generation_id": GEN_ID},
        "read",
    )
    assert a.build_poll(_job()) is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("queued", JobStatus.QUEUED),
        ("generating", JobStatus.RUNNING),
        ("GENERATING", JobStatus.RUNNING),
        ("something-new", JobStatus.RUNNING),
    ],
)
def test_poll_while_working(a: AimlapiAdapter, resp: MakeResponse, status: str, expected: JobStatus) -> None:
    body = {"id": GEN_ID, "status": status, "audio_file": None, "error": None}
    assert a.parse_poll(_job(id=GEN_ID), resp(200, body)).status is expected


def test_poll_completed(a: AimlapiAdapter, resp: MakeResponse) -> None:
    body = {
        "id": GEN_ID,
        "status": "completed",
        "audio_file": {"url": CDN, "duration": 61.5},
        "error": None,
        "meta": {"usage": {"credits_used": 1, "usd_spent": 0.03}},
    }
    job = a.parse_poll(_job(id=GEN_ID, status=JobStatus.RUNNING), resp(200, body))
    assert job.status is JobStatus.COMPLETED and job.audio_url == CDN and job.duration_s == 61.5
    assert job.error is None and job.finished_at is not None and job.raw["meta"]["usage"]["usd_spent"] == 0.03


def test_poll_completed_without_url_is_failed(a: AimlapiAdapter, resp: MakeResponse) -> None:
    job = a.parse_poll(_job(id=GEN_ID), resp(200, {"id": GEN_ID, "status": "completed", "audio_file": None}))
    assert job.status is JobStatus.FAILED and "audio_file" in (job.error or "")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"name": "ContentModerationError", "message": "The prompt was flagged"}, JobStatus.MODERATED),
        ({"name": "Error", "message": "input sensitive content detected"}, JobStatus.MODERATED),
        ({"name": "Error", "message": "violates our content policy"}, JobStatus.MODERATED),
        ({"name": "GenerationError", "message": "upstream timeout"}, JobStatus.FAILED),
        (None, JobStatus.FAILED),
    ],
)
def test_poll_error(a: AimlapiAdapter, resp: MakeResponse, error: object, expected: JobStatus) -> None:
    body = {"id": GEN_ID, "status": "error", "audio_file": None, "error": error}
    job = a.parse_poll(_job(id=GEN_ID), resp(200, body))
    assert job.status is expected and job.error
    if isinstance(error, dict):
        assert error["message"] in job.error


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            400,
            {
                "statusCode": 400,
                "message": ["prompt must be longer than or equal to 10 characters"],
                "error": "Bad Request",
            },
            E.ValidationError,
        ),
        (401, {"statusCode": 401, "message": "Unauthorized", "error": "Unauthorized"}, E.AuthenticationError),
        (403, {"statusCode": 403, "message": "Forbidden", "error": "Forbidden"}, E.AuthenticationError),
        (404, {"statusCode": 404, "message": "Generation not found", "error": "Not Found"}, E.NotFoundError),
        (
            429,
            {"statusCode": 429, "message": "Too Many Requests", "error": "Too Many Requests"},
            E.RateLimitError,
        ),
        (
            500,
            {"statusCode": 500, "message": "Internal server error", "error": "Internal Server Error"},
            E.ServerError,
        ),
        (
            402,
            {"statusCode": 402, "message": "Insufficient credits", "error": "Payment Required"},
            E.InsufficientBalanceError,
        ),
        (
            400,
            {"statusCode": 400, "message": "Prompt rejected by content moderation", "error": "Bad Request"},
            E.ModerationError,
        ),
    ],
)
def test_http_errors(
    a: AimlapiAdapter, resp: MakeResponse, status: int, body: dict[str, object], cls: type[E.MiniMaxError]
) -> None:
    r = resp(status, body, {"x-request-id": "rq", "Retry-After": "4"})
    for call in (lambda: a.parse_submit(_job(), r), lambda: a.parse_poll(_job(id=GEN_ID), r)):
        with pytest.raises(cls) as info:
            call()
        err = info.value
        assert type(err) is cls and err.provider == "aimlapi" and err.status_code == status
        assert err.request_id == "rq" and err.code == status
        if isinstance(err, E.RateLimitError):
            assert err.retry_after == 4.0


def test_validation_list_becomes_problems(a: AimlapiAdapter, resp: MakeResponse) -> None:
    body = {"statusCode": 400, "message": ["prompt too short", "lyrics too short"], "error": "Bad Request"}
    with pytest.raises(E.ValidationError) as info:
        a.raise_for_error(resp(400, body))
    assert info.value.problems == ["prompt too short", "lyrics too short"]
    assert "prompt too short; lyrics too short" in str(info.value)


def test_malformed_bodies(a: AimlapiAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.ServerError):
        a.parse_poll(_job(id=GEN_ID), resp(503, b"<html>Service Unavailable</html>"))
    with pytest.raises(E.APIConnectionError):
        a.parse_poll(_job(id=GEN_ID), resp(200, b"not json"))
    with pytest.raises(E.APIConnectionError):
        a.parse_submit(_job(), resp(200, b""))


def test_aiml_has_no_styles_or_list(a: AimlapiAdapter) -> None:
    with pytest.raises(NotImplementedError):
        a.build_styles()
    with pytest.raises(NotImplementedError):
        a.build_list()
