"""useapi.net adapter, fed the documented payloads (seeds 000/001, PROVIDERS.md §1, WIRE.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import get_adapter
from minimax_nb.providers.base import HttpResponse
from minimax_nb.providers.useapi import UseapiAdapter

MakeResponse = Callable[..., HttpResponse]
MUSIC_ID = "user:1234-minimax:987654321-music:998877665544332211"
CREATE_OK = {
    "musicId": MUSIC_ID,
    "audioURL": "https://cdn.hailuoai.com/prod/2024-10-05-08/music/123456789-music_998877665544332211.mp3",
    "duration": 55,
}
RETRIEVE_OK = {
    "title": "<title>",
    "lyrics": "<lyrics>",
    "style": "Popular",
    "coverURL": "https://minimax-public-cdn.com/music/final_v3/987654321.png",
    "audioURL": "https://cdn.hailuoai.com/prod/2024-10-05-08/music/987654321.mp3",
    "status": 2,
    "statusLabel": "completed",
    "statusFinal": True,
    "createTime": 123456789,
    "duration": 38,
    "musicId": "user:user_id-minimax:account_id-music:music_id",
}
REQ = MusicRequest(lyrics="Hello world\nSecond line\n\nAfter a pause", style_id="abcdef", title="Hi")


@pytest.fixture
def a() -> UseapiAdapter:
    adapter = get_adapter("useapi")
    assert isinstance(adapter, UseapiAdapter)
    return adapter


def _job(**kw: object) -> Job:
    return Job(provider="useapi", request=REQ, **kw)  # type: ignore[arg-type]


def test_contract_flags(a: UseapiAdapter) -> None:
    assert a.per_account_limit == 1 and a.blocking_submit is True
    assert a.submit_blocks("v1") and not a.submit_blocks("music-3.0") and not a.submit_blocks("music-2.6")
    assert a.submit_blocks(None)


def test_build_v1_create(a: UseapiAdapter) -> None:
    http = a.build_submit(REQ, account="acc1")
    assert (http.method, http.path, http.kind, http.blocking) == (
        "GET",
        "/v1/minimax/music/create",
        "submit",
        True,
    )
    assert dict(http.params) == {"prompt": REQ.lyrics, "styleId": "abcdef", "title": "Hi", "account": "acc1"}
    assert http.json is None


def test_build_v1_create_without_optional_params(a: UseapiAdapter) -> None:
    http = a.build_submit(MusicRequest(lyrics="la la", style_id="s"))
    assert dict(http.params) == {"prompt": "la la", "styleId": "s"}


@pytest.mark.parametrize(
    ("req", "fields"),
    [
        (MusicRequest(lyrics="x" * 601, style_id="s"), {"lyrics"}),
        (MusicRequest(lyrics="ok"), {"style_id"}),
        (MusicRequest(lyrics="", style_id=""), {"lyrics", "style_id"}),
        (MusicRequest(lyrics="   ", style_id="s"), {"lyrics"}),
    ],
)
def test_v1_validation_errors(a: UseapiAdapter, req: MusicRequest, fields: set[str]) -> None:
    errs = {i.field for i in a.validate(req) if i.level == "error"}
    assert errs == fields
    with pytest.raises(E.ValidationError) as info:
        a.build_submit(req)
    assert len(info.value.problems) == len(fields)


def test_v1_600_characters_exactly_is_fine(a: UseapiAdapter) -> None:
    assert a.validate(MusicRequest(lyrics="x" * 600, style_id="s")) == []


def test_v1_warnings(a: UseapiAdapter) -> None:
    issues = a.validate(MusicRequest(lyrics="[Verse]\nla", style_id="s", style="pop", instrumental=True))
    assert {i.field for i in issues} == {"lyrics", "style", "instrumental"}
    assert all(i.level == "warning" for i in issues)
    assert a.validate(MusicRequest(lyrics="##la la##", style_id="s")) == []


def test_parse_v1_create_is_completed(a: UseapiAdapter, resp: MakeResponse) -> None:
    result = a.parse_submit(_job(), resp(200, CREATE_OK))
    job = result.job
    assert job.status is JobStatus.COMPLETED and job.id == MUSIC_ID
    assert job.audio_url == CREATE_OK["audioURL"] and job.duration_s == 55.0
    assert job.finished_at is not None and job.model == "v1"
    assert result.audio_bytes is None
    assert dict(job.raw) == CREATE_OK


def test_poll_path_quotes_the_id_but_keeps_colons(a: UseapiAdapter) -> None:
    http = a.build_poll(_job(id=MUSIC_ID))
    assert http is not None and http.path == f"/v1/minimax/music/{MUSIC_ID}" and http.kind == "read"
    odd = a.build_poll(_job(id="user:1 music/2?x"))
    assert odd is not None and odd.path == "/v1/minimax/music/user:1%20music%2F2%3Fx"
    assert a.build_poll(_job()) is None


def test_parse_retrieve_completed(a: UseapiAdapter, resp: MakeResponse) -> None:
    job = a.parse_poll(_job(id="x", status=JobStatus.RUNNING), resp(200, RETRIEVE_OK))
    assert job.status is JobStatus.COMPLETED
    assert (job.title, job.lyrics, job.style) == ("<title>", "<lyrics>", "Popular")
    assert job.cover_url == RETRIEVE_OK["coverURL"] and job.duration_s == 38.0
    assert job.id == RETRIEVE_OK["musicId"]


@pytest.mark.parametrize(
    ("status", "label", "expected"),
    [
        (0, "pending", JobStatus.QUEUED),
        (1, "processing", JobStatus.RUNNING),
        (4, "moderated", JobStatus.MODERATED),
        (None, "processing", JobStatus.RUNNING),
        ("1", None, JobStatus.RUNNING),
        (None, None, JobStatus.RUNNING),
    ],
)
def test_retrieve_statuses(
    a: UseapiAdapter, resp: MakeResponse, status: object, label: object, expected: JobStatus
) -> None:
    body = {"musicId": "m"}
    if status is not None:
        body["status"] = status  # type: ignore[assignment]
    if label is not None:
        body["statusLabel"] = label  # type: ignore[assignment]
    assert a.parse_poll(_job(id="m"), resp(200, body)).status is expected


def test_post_moderation_after_a_completed_create(a: UseapiAdapter, resp: MakeResponse) -> None:
    done = a.parse_submit(_job(), resp(200, CREATE_OK)).job
    later = a.parse_poll(done, resp(200, {**RETRIEVE_OK, "status": 4, "statusLabel": "moderated"}))
    assert later.status is JobStatus.MODERATED
    assert "after it was made" in (later.error or "")
    with pytest.raises(E.ModerationError):
        later.raise_for_status()


def test_completed_without_audio_url_is_failed(a: UseapiAdapter, resp: MakeResponse) -> None:
    job = a.parse_poll(_job(id="m"), resp(200, {"status": 2, "musicId": "m"}))
    assert job.status is JobStatus.FAILED and "audioURL" in (job.error or "")


def test_create_without_music_id_is_an_error(a: UseapiAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.MiniMaxError, match="musicId"):
        a.parse_submit(_job(), resp(200, {"audioURL": "https://x"}))


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (400, {"error": "<Error message>", "code": 400}, E.ValidationError, 400),
        (400, {"error": "Parameter account is required", "code": 400}, E.ValidationError, 400),
        (401, {"error": "Unauthorized", "code": 401}, E.AuthenticationError, 401),
        (404, {"error": "Not found.", "code": 404}, E.NotFoundError, 404),
        (422, {"error": "Moderated prompt"}, E.ModerationError, None),
        (
            429,
            {"error": "The previous request has not been completed yet. Please try again later."},
            E.ConcurrencyLimitError,
            None,
        ),
        (429, {"error": "Too many requests", "code": 429}, E.RateLimitError, 429),
        (500, {"error": "Internal"}, E.ServerError, None),
        (402, {"error": "Payment required"}, E.InsufficientBalanceError, None),
    ],
)
def test_documented_errors(
    a: UseapiAdapter,
    resp: MakeResponse,
    status: int,
    body: dict[str, object],
    cls: type[E.MiniMaxError],
    code: object,
) -> None:
    r = resp(status, body, {"x-request-id": "req-1", "Retry-After": "12"})
    for call in (
        lambda: a.raise_for_error(r),
        lambda: a.parse_submit(_job(), r),
        lambda: a.parse_poll(_job(id="m"), r),
    ):
        with pytest.raises(cls) as info:
            call()
        err = info.value
        assert type(err) is cls
        assert err.provider == "useapi" and err.status_code == status and err.code == code
        assert err.request_id == "req-1" and err.message == body["error"]


def test_retry_after_on_429s(a: UseapiAdapter, resp: MakeResponse) -> None:
    busy = resp(
        429,
        {"error": "The previous request has not been completed yet. Please try again later."},
        {"Retry-After": "5"},
    )
    with pytest.raises(E.ConcurrencyLimitError) as c:
        a.raise_for_error(busy)
    assert c.value.retry_after == 5.0 and a.is_concurrency_refusal(c.value)
    with pytest.raises(E.RateLimitError) as r:
        a.raise_for_error(resp(429, {"error": "Too many requests", "code": 429}, {"Retry-After": "2"}))
    assert r.value.retry_after == 2.0 and not a.is_concurrency_refusal(r.value)


def test_html_error_pages(a: UseapiAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.ServerError):
        a.parse_submit(_job(), resp(504, b"<html>Gateway Timeout</html>"))
    with pytest.raises(E.APIConnectionError):
        a.parse_submit(_job(), resp(200, b"<html>oops</html>"))


def test_success_answers_pass_raise_for_error(a: UseapiAdapter, resp: MakeResponse) -> None:
    a.raise_for_error(resp(200, CREATE_OK))
    a.raise_for_error(resp(201, {"musicId": "m"}))


# ---------------------------------------------------------------- 2026 relaunch


def test_relaunch_build_and_parse(a: UseapiAdapter, resp: MakeResponse) -> None:
    req = MusicRequest(
        lyrics="[Verse]\nla la", style="dream pop", title="T", instrumental=False, model="music-3.0"
    )
    http = a.build_submit(req, account="acc")
    assert (http.method, http.path, http.blocking) == ("POST", "/v1/minimax/music/create", False)
    assert http.json == {
        "model": "music-3.0",
        "stream": False,
        "title": "T",
        "prompt": "dream pop",
        "lyrics": "[Verse]\nla la",
        "account": "acc",
    }
    job = a.parse_submit(
        Job(provider="useapi", request=req, model="music-3.0"), resp(201, {"musicId": "m-26"})
    ).job
    assert job.status is JobStatus.QUEUED and job.id == "m-26" and not job.is_final
    running = a.parse_poll(job, resp(200, {"musicId": "m-26", "status": 1}))
    assert running.status is JobStatus.RUNNING and running.started_at is not None
    done = a.parse_poll(
        running, resp(200, {"musicId": "m-26", "status": 2, "audioURL": "https://a.mp3", "duration": 120})
    )
    assert done.status is JobStatus.COMPLETED and done.duration_s == 120.0


def test_relaunch_limits(a: UseapiAdapter) -> None:
    bad = MusicRequest(lyrics="x" * 3501, style="y" * 2001, title="t" * 41, model="music-2.6")
    assert {i.field for i in a.validate(bad) if i.level == "error"} == {"lyrics", "style", "title"}
    assert {i.field for i in a.validate(MusicRequest(model="music-2.6")) if i.level == "error"} == {"lyrics"}
    instrumental = MusicRequest(style="ambient piano", instrumental=True, model="music-2.6")
    assert a.validate(instrumental) == []
    assert a.build_submit(instrumental).json["instrumental"] is True


# ---------------------------------------------------------------- styles and list


def test_styles(a: UseapiAdapter, resp: MakeResponse) -> None:
    http = a.build_styles(account="acc")
    assert (http.method, http.path, dict(http.params), http.kind) == (
        "GET",
        "/v1/minimax/music/styles/",
        {"account": "acc"},
        "read",
    )
    assert dict(a.build_styles().params) == {}
    body = [
        {
            "name": "Popular",
            "styles": [
                {"url": "https://s/1.png", "styleId": "abc", "name": "Pop"},
                {"url": "https://s/2.png", "styleId": "def", "name": "Rock"},
            ],
        },
        {"name": "Chill", "styles": [{"styleId": 7, "name": "Lo-fi"}]},
    ]
    assert a.parse_styles(resp(200, body)) == [
        {"group": "Popular", "styleId": "abc", "name": "Pop", "url": "https://s/1.png"},
        {"group": "Popular", "styleId": "def", "name": "Rock", "url": "https://s/2.png"},
        {"group": "Chill", "styleId": "7", "name": "Lo-fi", "url": ""},
    ]
    with pytest.raises(E.AuthenticationError):
        a.parse_styles(resp(401, {"error": "Unauthorized", "code": 401}))


def test_list(a: UseapiAdapter, resp: MakeResponse) -> None:
    http = a.build_list(account="acc", limit=5, last_id=MUSIC_ID)
    assert (http.path, dict(http.params)) == (
        "/v1/minimax/music/",
        {"account": "acc", "limit": "5", "lastMusicId": MUSIC_ID},
    )
    assert dict(a.build_list().params) == {"limit": "20"}
    assert a.parse_list(resp(200, [RETRIEVE_OK, "junk"])) == [RETRIEVE_OK]
    with pytest.raises(E.APIConnectionError):
        a.parse_list(resp(200, {"not": "a list"}))


def test_post_moderation_keeps_the_original_finish_time(a: UseapiAdapter, resp: MakeResponse) -> None:
    done = a.parse_submit(_job(), resp(200, CREATE_OK)).job
    later = a.parse_poll(done, resp(200, {"musicId": MUSIC_ID, "status": 4}))
    assert later.finished_at == done.finished_at  # the song was made then; moderation came later


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # statusFinal is true for 2 and 4 only (WIRE.md); the number wins when both are present
        ({"status": 1, "statusLabel": "processing", "statusFinal": False}, JobStatus.RUNNING),
        ({"status": 4, "statusLabel": "moderated", "statusFinal": True}, JobStatus.MODERATED),
        # every field is optional: statusFinal alone still ends the job
        ({"statusFinal": True, "audioURL": "https://a.mp3"}, JobStatus.COMPLETED),
        ({"statusFinal": True}, JobStatus.FAILED),
        ({"statusFinal": False}, JobStatus.RUNNING),
        ({"statusLabel": "completed", "audioURL": "https://a.mp3"}, JobStatus.COMPLETED),
        ({"statusLabel": "Moderated"}, JobStatus.MODERATED),
    ],
)
def test_status_final_and_labels(
    a: UseapiAdapter, resp: MakeResponse, body: dict[str, object], expected: JobStatus
) -> None:
    assert a.parse_poll(_job(id="m"), resp(200, {"musicId": "m", **body})).status is expected


def test_retrieve_units(a: UseapiAdapter, resp: MakeResponse) -> None:
    """``duration`` is seconds (not ms); ``createTime`` (ms since the epoch) stays in ``raw`` untouched."""
    job = a.parse_poll(_job(id="m"), resp(200, {**RETRIEVE_OK, "createTime": 1_727_000_000_000}))
    assert job.duration_s == 38.0 and job.raw["createTime"] == 1_727_000_000_000
