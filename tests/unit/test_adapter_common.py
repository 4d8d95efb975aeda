"""What every adapter shares: the registry, attributes, validation entry point and the pure helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, MusicRequest
from minimax_nb.providers import PROVIDERS, ProviderAdapter, get_adapter, validate_request
from minimax_nb.providers.base import (
    HttpRequest,
    HttpResponse,
    Issue,
    ModelSpec,
    check_request,
    error_for_status,
    parse_retry_after,
    read_json,
    request_id_of,
    retry_after_of,
)

MakeResponse = Callable[..., HttpResponse]

EXPECTED = {
    "useapi": ("USEAPI_API_TOKEN", "https://api.useapi.net", "v1"),
    "aimlapi": ("AIMLAPI_API_KEY", "https://api.aimlapi.com", "minimax/music-2.0"),
    "apiin": ("APIIN_API_KEY", "https://apiin.one", "minimax-music"),
    "minimax": ("MINIMAX_API_KEY", "https://api.minimax.io", "music-2.6"),
    "fal": ("FAL_KEY", "https://queue.fal.run", "fal-ai/minimax-music/v2"),
    "replicate": ("REPLICATE_API_TOKEN", "https://api.replicate.com", "minimax/music-1.5"),
    "local": ("", "", "minimax/music-2.6"),
}


def test_registry_holds_every_provider() -> None:  # issue 11 adds fal and replicate
    assert set(PROVIDERS) == set(EXPECTED)
    for name, cls in PROVIDERS.items():
        assert issubclass(cls, ProviderAdapter)
        assert cls.name == name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_adapter_attributes(name: str) -> None:
    a = get_adapter(name)
    env, base, default = EXPECTED[name]
    assert (a.env_key, a.default_base_url, a.default_model) == (env, base, default)
    assert a.default_model in a.models
    assert a.model_spec(None).name == a.default_model
    assert a.expected_duration_s > 0
    for model, spec in a.models.items():
        assert isinstance(spec, ModelSpec) and spec.name == model


def test_get_adapter_is_case_insensitive_and_rejects_unknown_names() -> None:
    assert get_adapter(" AIMLAPI ").name == "aimlapi"
    with pytest.raises(E.ValidationError) as info:
        get_adapter("suno")
    assert "useapi" in str(info.value) and "local" in str(info.value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_unknown_model_is_an_issue_and_a_validation_error(name: str) -> None:
    a = get_adapter(name)
    issues = a.validate(MusicRequest(lyrics="x"), model="no-such-model")
    assert [i.field for i in issues] == ["model"] and issues[0].level == "error"
    with pytest.raises(E.ValidationError) as info:
        a.model_spec("no-such-model")
    assert a.default_model in str(info.value)
    with pytest.raises(E.ValidationError):
        a.build_submit(MusicRequest(lyrics="x"), model="no-such-model")


def test_validate_request_never_raises() -> None:
    issues = validate_request("nope", MusicRequest())
    assert (
        issues == [Issue("error", "provider", issues[0].message)] and "valid providers" in issues[0].message
    )
    assert validate_request("aimlapi", MusicRequest(), model="nope")[0].field == "model"
    assert validate_request("local", MusicRequest(lyrics="[Verse]\nhello there", style="pop")) == []


def test_validate_request_uses_the_request_model() -> None:
    req = MusicRequest(
        lyrics="la" * 400, style="pop, bright", model="minimax-music", reference_audio_url="https://x/ref.mp3"
    )
    issues = validate_request("aimlapi", req)
    assert any(i.field == "lyrics" and "600" in i.message for i in issues)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_build_submit_raises_every_problem_and_builds_nothing(name: str) -> None:
    a = get_adapter(name)
    bad = MusicRequest(lyrics="x" * 5000, style="y" * 5000, bitrate=1, sample_rate=2)
    issues = a.validate(bad)
    errors = [i for i in issues if i.level == "error"]
    assert len(errors) >= 2
    with pytest.raises(E.ValidationError) as info:
        a.build_submit(bad)
    assert info.value.provider == name
    assert len(info.value.problems) == len(errors)
    for issue in errors:
        assert any(issue.message in p for p in info.value.problems)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_warnings_do_not_block(name: str) -> None:
    a = get_adapter(name)
    good = {
        "useapi": MusicRequest(lyrics="[Verse] hi\nla la la la", style_id="s1"),
        "aimlapi": MusicRequest(lyrics="[Verse] hi\nla la la la", style="synth pop, bright"),
        "apiin": MusicRequest(lyrics="[Verse] hi\nla la la la", style="synth pop, bright"),
        "minimax": MusicRequest(lyrics="[Verse] hi\nla la la la", style="synth pop, bright"),
        "local": MusicRequest(lyrics="[Verse] hi\nla la la la", style="synth pop, bright"),
        "fal": MusicRequest(lyrics="[Verse] hi\nla la la la", style="synth pop, bright"),
        "replicate": MusicRequest(lyrics="[Verse] hi\nla la la la", style="synth pop, bright"),
    }[name]
    issues = a.validate(good)
    assert issues and all(i.level == "warning" for i in issues)
    assert isinstance(a.build_submit(good), HttpRequest)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_submit_is_never_marked_as_a_read(name: str) -> None:
    a = get_adapter(name)
    req = MusicRequest(lyrics="[Verse]\nla la la la la", style="synth pop, bright", style_id="s1")
    http = a.build_submit(req)
    assert http.kind == "submit"
    assert "Authorization" not in http.headers  # the transport adds the key


# ---------------------------------------------------------------- Retry-After


NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        (" 2.5 ", 2.5),
        ("-4", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_http_date() -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=NOW) == 90.0
    earlier = format_datetime(NOW - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(earlier, now=NOW) == 0.0


def test_retry_after_ms_header_wins(resp: MakeResponse) -> None:
    r = resp(429, {}, {"Retry-After-Ms": "1500", "Retry-After": "9"})
    assert retry_after_of(r) == 1.5
    assert retry_after_of(resp(429, {}, {"retry-after": "9"})) == 9.0
    assert retry_after_of(resp(429, {})) is None


def test_request_id_from_headers_or_body(resp: MakeResponse) -> None:
    assert request_id_of(resp(200, {}, {"X-Request-Id": "h1"}), {"trace_id": "b1"}) == "h1"
    assert request_id_of(resp(200, {}), {"trace_id": "b1"}) == "b1"
    assert request_id_of(resp(200, {})) is None


# ---------------------------------------------------------------- malformed bodies


def test_read_json_html_5xx_is_a_server_error(resp: MakeResponse) -> None:
    with pytest.raises(E.ServerError) as info:
        read_json("aimlapi", resp(502, b"<html><body>Bad Gateway</body></html>", {"x-request-id": "r9"}))
    assert info.value.status_code == 502 and info.value.request_id == "r9"
    assert "Bad Gateway" in str(info.value)


def test_read_json_garbage_200_is_a_connection_error(resp: MakeResponse) -> None:
    with pytest.raises(E.APIConnectionError, match="malformed"):
        read_json("apiin", resp(200, b'{"id": "trunc'))
    with pytest.raises(E.APIConnectionError, match="expected dict"):
        read_json("apiin", resp(200, [1, 2]))
    with pytest.raises(E.APIConnectionError):
        read_json("apiin", resp(200, b"\xff\xfe"))


def test_read_json_non_json_4xx_maps_by_status(resp: MakeResponse) -> None:
    with pytest.raises(E.AuthenticationError):
        read_json("useapi", resp(401, b"Unauthorized"))
    with pytest.raises(E.RateLimitError) as info:
        read_json("useapi", resp(429, b"slow down", {"Retry-After": "7"}))
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, E.ValidationError),
        (422, E.ValidationError),
        (401, E.AuthenticationError),
        (403, E.AuthenticationError),
        (402, E.InsufficientBalanceError),
        (404, E.NotFoundError),
        (429, E.RateLimitError),
        (500, E.ServerError),
        (503, E.ServerError),
        (418, E.MiniMaxError),
    ],
)
def test_error_for_status(status: int, cls: type[E.MiniMaxError]) -> None:
    err = error_for_status("p", status, "m", request_id="r", retry_after=1.0)
    assert type(err) is cls and err.status_code == status and err.request_id == "r"


def test_check_request_reports_reference_extension_and_unused_settings() -> None:
    spec = ModelSpec(name="m", reference_audio_exts=(".wav", ".mp3"), needs_reference_audio=True)
    req = MusicRequest(reference_audio_url="https://x/a.flac?x=.mp3", bitrate=128000, instrumental=True)
    fields = {(i.level, i.field) for i in check_request(spec, req)}
    assert ("error", "reference_audio_url") in fields
    assert ("warning", "bitrate") in fields and ("warning", "instrumental") in fields
    ok = MusicRequest(reference_audio_url="https://x/a.MP3?sig=1")
    assert not [i for i in check_request(spec, ok) if i.field == "reference_audio_url"]


def test_estimate_cost() -> None:
    assert get_adapter("apiin").estimate_cost_usd(MusicRequest()) == 0.06
    assert get_adapter("aimlapi").estimate_cost_usd(MusicRequest()) is None


def test_is_concurrency_refusal() -> None:
    a = get_adapter("useapi")
    assert a.is_concurrency_refusal(E.ConcurrencyLimitError("busy"))
    assert not a.is_concurrency_refusal(E.RateLimitError("slow"))


def test_response_header_lookup_is_case_insensitive() -> None:
    r = HttpResponse(200, b"{}", {"Content-Type": "application/json"})
    assert r.header("content-type") == "application/json" and r.header("x") is None


def test_job_raw_never_holds_the_key(resp: MakeResponse) -> None:
    # adapters never see keys; a key echoed by a server in an error message is scrubbed by redact() only
    # when it is a Bearer token — check that path end to end through an adapter error.
    a = get_adapter("aimlapi")
    with pytest.raises(E.AuthenticationError) as info:
        a.raise_for_error(
            resp(
                401,
                {"statusCode": 401, "message": "bad header Bearer sk-secret-123456", "error": "Unauthorized"},
            )
        )
    assert "sk-secret-123456" not in str(info.value)
    assert Job(provider="aimlapi", request=MusicRequest()).raw == {}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_requests_are_plain_wire_data(name: str) -> None:
    """Bodies serialise to JSON and query parameters are strings, whatever the request holds."""
    import json

    a = get_adapter(name)
    req = MusicRequest(
        lyrics="[Verse]\nla la la la la", style="synth pop, bright", style_id="s1", title="T", extra={"n": 3}
    )
    http = a.build_submit(req)
    json.dumps(http.json)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in http.params.items())
    assert http.path.startswith("/")
    poll = a.build_poll(Job(provider=name, request=req, id="abc:1"))
    if poll is not None:
        assert poll.kind == "read" and poll.method == "GET" and not poll.blocking
