"""apiin.one adapter, fed the documented payloads (seed 003, PROVIDERS.md §3, WIRE.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import get_adapter
from minimax_nb.providers.apiin import ApiinAdapter
from minimax_nb.providers.base import HttpResponse

MakeResponse = Callable[..., HttpResponse]
STYLE = "An energetic electronic dance track with pulsing synths and driving bass"
LYRICS = "Feel the beat, move your feet, let the music take you higher"
SUBMIT_OK = {
    "code": 200,
    "message": "success",
    "data": {"task_id": "n74xxxx_minimax", "status": "IN_PROGRESS"},
}


@pytest.fixture
def a() -> ApiinAdapter:
    adapter = get_adapter("apiin")
    assert isinstance(adapter, ApiinAdapter)
    return adapter


def _job(**kw: object) -> Job:
    return Job(provider="apiin", request=MusicRequest(lyrics=LYRICS, style=STYLE), **kw)  # type: ignore[arg-type]


def _task(**data: object) -> dict[str, object]:
    return {"code": 200, "message": "success", "data": {"task_id": "n74xxxx_minimax", **data}}


def test_build_seed_example(a: ApiinAdapter) -> None:
    req = MusicRequest(lyrics=LYRICS, style=STYLE, bitrate=256000, sample_rate=44100)
    http = a.build_submit(req)
    assert (http.method, http.path, http.kind, http.blocking) == (
        "POST",
        "/api/v1/audio/music",
        "submit",
        False,
    )
    assert http.json == {
        "model": "minimax-music",
        "prompt": STYLE,
        "lyrics": LYRICS,
        "bitrate": 256000,
        "sample_rate": 44100,
    }


def test_build_minimal(a: ApiinAdapter) -> None:
    assert a.build_submit(MusicRequest(style="calm piano")).json == {
        "model": "minimax-music",
        "prompt": "calm piano",
    }


def test_price(a: ApiinAdapter) -> None:
    assert a.model_spec(None).price_usd == 0.06


@pytest.mark.parametrize("bitrate", [32000, 60000, 64000, 128000, 256000])
def test_allowed_bitrates(a: ApiinAdapter, bitrate: int) -> None:
    assert a.validate(MusicRequest(style=STYLE, bitrate=bitrate)) == []


@pytest.mark.parametrize(
    ("req", "fields"),
    [
        (MusicRequest(lyrics=LYRICS), {"style"}),
        (MusicRequest(style="  "), {"style"}),
        (MusicRequest(style=STYLE, bitrate=96000), {"bitrate"}),
        (MusicRequest(style=STYLE, sample_rate=48000), {"sample_rate"}),
        (MusicRequest(style="", bitrate=1, sample_rate=1), {"style", "bitrate", "sample_rate"}),
    ],
)
def test_validation_errors(a: ApiinAdapter, req: MusicRequest, fields: set[str]) -> None:
    assert {i.field for i in a.validate(req) if i.level == "error"} == fields
    with pytest.raises(E.ValidationError) as info:
        a.build_submit(req)
    assert len(info.value.problems) == len(fields)


def test_format_is_only_a_warning(a: ApiinAdapter) -> None:
    issues = a.validate(MusicRequest(style=STYLE, audio_format="wav"))
    assert [(i.level, i.field) for i in issues] == [("warning", "audio_format")]


def test_parse_submit_seed(a: ApiinAdapter, resp: MakeResponse) -> None:
    job = a.parse_submit(_job(), resp(200, SUBMIT_OK)).job
    assert job.id == "n74xxxx_minimax" and job.status is JobStatus.RUNNING and job.model == "minimax-music"
    assert job.raw["status"] == "IN_PROGRESS"


def test_parse_submit_without_task_id(a: ApiinAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.MiniMaxError, match="task_id"):
        a.parse_submit(
            _job(), resp(200, {"code": 200, "message": "success", "data": {"status": "IN_PROGRESS"}})
        )


def test_poll_request(a: ApiinAdapter) -> None:
    http = a.build_poll(_job(id="n74xxxx_minimax"))
    assert http is not None and (http.method, http.path, http.kind) == (
        "GET",
        "/api/v1/tasks/n74xxxx_minimax",
        "read",
    )
    assert a.build_poll(_job()) is None
    weird = a.build_poll(_job(id="a/b c"))
    assert weird is not None and weird.path == "/api/v1/tasks/a%2Fb%20c"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("IN_PROGRESS", JobStatus.RUNNING),
        ("in_progress", JobStatus.RUNNING),
        ("In Progress", JobStatus.RUNNING),
        ("pending", JobStatus.QUEUED),
        ("QUEUED", JobStatus.QUEUED),
    ],
)
def test_poll_working(a: ApiinAdapter, resp: MakeResponse, status: str, expected: JobStatus) -> None:
    assert a.parse_poll(_job(id="t"), resp(200, _task(status=status))).status is expected


@pytest.mark.parametrize(
    "where",
    [
        {"audio_url": "https://cdn/a.mp3"},
        {"audioUrl": "https://cdn/a.mp3"},
        {"output": {"audio_url": "https://cdn/a.mp3"}},
        {"result": {"audio_url": "https://cdn/a.mp3"}},
        {"url": "https://cdn/a.mp3"},
    ],
)
@pytest.mark.parametrize("status", ["completed", "COMPLETED", "Completed"])
def test_poll_completed_accepts_every_url_shape(
    a: ApiinAdapter, resp: MakeResponse, where: dict[str, object], status: str
) -> None:
    job = a.parse_poll(_job(id="t"), resp(200, _task(status=status, **where)))
    assert job.status is JobStatus.COMPLETED and job.audio_url == "https://cdn/a.mp3"


def test_poll_completed_documented_fields(a: ApiinAdapter, resp: MakeResponse) -> None:
    body = _task(
        status="completed", audio_url="https://cdn/a.mp3", cover_url="https://cdn/c.png", duration=47
    )
    job = a.parse_poll(_job(id="t", status=JobStatus.RUNNING), resp(200, body))
    assert (job.cover_url, job.duration_s) == ("https://cdn/c.png", 47.0)
    assert "_envelope" not in job.raw and job.raw["task_id"] == "n74xxxx_minimax"


def test_poll_completed_without_url_fails(a: ApiinAdapter, resp: MakeResponse) -> None:
    job = a.parse_poll(_job(id="t"), resp(200, _task(status="completed")))
    assert job.status is JobStatus.FAILED and "audio URL" in (job.error or "")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("Lyrics were moderated", JobStatus.MODERATED),
        ("content moderation: blocked", JobStatus.MODERATED),
        ("upstream failure", JobStatus.FAILED),
    ],
)
def test_poll_failed(a: ApiinAdapter, resp: MakeResponse, error: str, expected: JobStatus) -> None:
    job = a.parse_poll(_job(id="t"), resp(200, _task(status="FAILED", error=error)))
    assert job.status is expected and job.error == error


def test_poll_failed_without_text(a: ApiinAdapter, resp: MakeResponse) -> None:
    job = a.parse_poll(_job(id="t"), resp(200, _task(status="failed")))
    assert job.status is JobStatus.FAILED and job.error


@pytest.mark.parametrize(
    ("status", "kind", "cls"),
    [
        (400, "invalid_request", E.ValidationError),
        (401, "authentication_error", E.AuthenticationError),
        (402, "insufficient_credits", E.InsufficientBalanceError),
        (404, "not_found", E.NotFoundError),
        (429, "rate_limit", E.RateLimitError),
        (500, "server_error", E.ServerError),
        (503, "server_error", E.ServerError),
        (409, "brand_new_kind", E.ValidationError),
    ],
)
def test_error_envelope(
    a: ApiinAdapter, resp: MakeResponse, status: int, kind: str, cls: type[E.MiniMaxError]
) -> None:
    body = {"error": {"code": status, "message": "Invalid parameters", "type": kind}}
    r = resp(status, body, {"X-Request-Id": "abc", "Retry-After": "30"})
    for call in (lambda: a.parse_submit(_job(), r), lambda: a.parse_poll(_job(id="t"), r)):
        with pytest.raises(cls) as info:
            call()
        err = info.value
        assert type(err) is cls and err.provider == "apiin" and err.status_code == status
        assert err.message == "Invalid parameters" and err.request_id == "abc"
        if isinstance(err, E.RateLimitError):
            assert err.retry_after == 30.0


def test_error_envelope_inside_a_200(a: ApiinAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.AuthenticationError):
        a.parse_submit(
            _job(),
            resp(200, {"error": {"code": 401, "message": "Invalid API key", "type": "authentication_error"}}),
        )
    with pytest.raises(E.NotFoundError):
        a.parse_poll(_job(id="t"), resp(200, {"code": 404, "message": "task not found"}))


def test_moderation_error_text(a: ApiinAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.ModerationError):
        a.raise_for_error(
            resp(400, {"error": {"code": 400, "message": "prompt moderated", "type": "whatever"}})
        )


def test_malformed(a: ApiinAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.ServerError):
        a.parse_poll(_job(id="t"), resp(502, b"<html>Bad Gateway</html>"))
    with pytest.raises(E.APIConnectionError):
        a.parse_poll(_job(id="t"), resp(200, b"{oops"))
