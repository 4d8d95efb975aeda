"""MiniMax platform adapter, fed the documented payloads (PROVIDERS.md §4, WIRE.md)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from minimax_nb import errors as E
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import get_adapter
from minimax_nb.providers.base import HttpResponse
from minimax_nb.providers.minimax import MinimaxAdapter, StreamAssembler, parse_stream_event

MakeResponse = Callable[..., HttpResponse]
STYLE = "Indie folk, melancholic, introspective"
LYRICS = "[Verse]\nWalking down the empty street\n[Chorus]\nHome is where the heart is"
AUDIO = bytes(range(256)) * 3
URL = "https://minimax-algeng-chat-tts.oss-cn-wulanchabu.aliyuncs.com/music/x.mp3?Expires=1"


@pytest.fixture
def a() -> MinimaxAdapter:
    adapter = get_adapter("minimax")
    assert isinstance(adapter, MinimaxAdapter)
    return adapter


def _req(**kw: object) -> MusicRequest:
    return MusicRequest(**{"lyrics": LYRICS, "style": STYLE, **kw})  # type: ignore[arg-type]


def _job(req: MusicRequest | None = None) -> Job:
    return Job(provider="minimax", request=req or _req())


def _ok(audio: str, **extra: object) -> dict[str, object]:
    return {
        "data": {"audio": audio, "status": 2},
        "trace_id": "04ede0ab069fb1ba8be5156a24b1e081",
        "extra_info": {
            "music_duration": 25364,
            "music_sample_rate": 44100,
            "music_channel": 2,
            "bitrate": 256000,
            "music_size": len(AUDIO),
            **extra,
        },
        "base_resp": {"status_code": 0, "status_msg": "success"},
    }


def _err(code: int, msg: str) -> dict[str, object]:
    return {"trace_id": "t-err", "base_resp": {"status_code": code, "status_msg": msg}}


def test_contract(a: MinimaxAdapter) -> None:
    assert a.blocking_submit and a.submit_blocks("music-2.0") and a.build_poll(_job()) is None
    with pytest.raises(NotImplementedError):
        a.parse_poll(_job(), HttpResponse(200, b"{}"))


@pytest.mark.parametrize(
    "model",
    [
        "music-1.5",
        "music-2.0",
        "music-2.5",
        "music-2.5+",
        "music-2.6",
        "music-cover",
        "music-2.6-free",
        "music-cover-free",
    ],
)
def test_documented_models_exist(a: MinimaxAdapter, model: str) -> None:
    assert a.model_spec(model).name == model


def test_any_free_variant_of_a_known_model(a: MinimaxAdapter) -> None:
    spec = a.model_spec("music-2.5-free")
    assert spec.name == "music-2.5-free" and spec.lyrics_max == 3500
    with pytest.raises(E.ValidationError):
        a.model_spec("music-9-free")


def test_build_default_is_url_output(a: MinimaxAdapter) -> None:
    http = a.build_submit(_req(bitrate=256000, sample_rate=44100, audio_format="mp3"))
    assert (http.method, http.path, http.kind, http.blocking) == (
        "POST",
        "/v1/music_generation",
        "submit",
        True,
    )
    assert http.json == {
        "model": "music-2.6",
        "prompt": STYLE,
        "lyrics": LYRICS,
        "stream": False,
        "output_format": "url",
        "audio_setting": {"sample_rate": 44100, "bitrate": 256000, "format": "mp3"},
    }


def test_build_hex_and_extras(a: MinimaxAdapter) -> None:
    http = a.build_submit(
        _req(model="music-2.5", instrumental=True, extra={"output_format": "hex", "lyrics_optimizer": True})
    )
    assert http.json["output_format"] == "hex" and http.json["lyrics_optimizer"] is True
    assert http.json["is_instrumental"] is True and http.json["model"] == "music-2.5"


def test_build_cover(a: MinimaxAdapter) -> None:
    req = _req(model="music-cover", reference_audio_url="https://x/ref.mp3", lyrics="")
    assert a.build_submit(req).json["audio_url"] == "https://x/ref.mp3"
    b64 = _req(model="music-cover", lyrics="", extra={"audio_base64": "AAAA"})
    assert a.validate(b64) == []
    assert a.build_submit(b64).json["audio_base64"] == "AAAA"
    assert {i.field for i in a.validate(_req(model="music-cover", lyrics="")) if i.level == "error"} == {
        "reference_audio_url"
    }


def test_build_stream(a: MinimaxAdapter) -> None:
    http = a.build_submit(_req(extra={"stream": True}))
    assert http.json["stream"] is True and "output_format" not in http.json
    assert http.headers["Accept"] == "text/event-stream"
    assert {i.field for i in a.validate(_req(extra={"stream": True, "output_format": "url"}))} == {
        "output_format"
    }


@pytest.mark.parametrize(
    ("model", "req", "fields"),
    [
        ("music-1.5", _req(style="x" * 301), {"style"}),
        ("music-1.5", _req(lyrics="x" * 601), {"lyrics"}),
        ("music-1.5", _req(style="short", lyrics="short"), {"style", "lyrics"}),
        ("music-2.0", _req(style="x" * 2001, lyrics="x" * 3001), {"style", "lyrics"}),
        ("music-2.0", _req(style=None), {"style"}),
        ("music-2.5", _req(lyrics=""), {"lyrics"}),
        ("music-2.5+", _req(lyrics="x" * 3501), {"lyrics"}),
        ("music-2.6", _req(bitrate=60000), {"bitrate"}),
        ("music-2.6", _req(extra={"output_format": "mp3"}), {"output_format"}),
    ],
)
def test_validation(a: MinimaxAdapter, model: str, req: MusicRequest, fields: set[str]) -> None:
    assert {i.field for i in a.validate(req, model=model) if i.level == "error"} == fields
    with pytest.raises(E.ValidationError):
        a.build_submit(req, model=model)


def test_lyrics_limits_edges(a: MinimaxAdapter) -> None:
    assert a.validate(_req(lyrics="x"), model="music-2.5") == []
    assert a.validate(_req(lyrics="x" * 3500), model="music-2.5") == []
    assert a.validate(_req(lyrics="", instrumental=True), model="music-2.6") == []
    assert a.validate(_req(lyrics="", extra={"lyrics_optimizer": True}), model="music-2.5") == []
    for old in ("music-1.5", "music-2.0"):
        # lyrics_optimizer is a 2.5+ field (PROVIDERS.md §4): sending it to an older model is refused
        # (2013 at the emulator), so validate must stop it before the request is sent
        issues = a.validate(_req(style="x" * 20, extra={"lyrics_optimizer": True}), model=old)
        assert [(i.level, i.field) for i in issues] == [("error", "lyrics_optimizer")]
        with pytest.raises(E.ValidationError):
            a.build_submit(_req(style="x" * 20, extra={"lyrics_optimizer": True}), model=old)
    assert a.validate(_req(extra={"lyrics_optimizer": False}), model="music-2.0") == []


def test_parse_url_answer(a: MinimaxAdapter, resp: MakeResponse) -> None:
    result = a.parse_submit(_job(), resp(200, _ok(URL)))
    job = result.job
    assert job.status is JobStatus.COMPLETED and job.audio_url == URL and result.audio_bytes is None
    assert job.duration_s == pytest.approx(25.364)
    assert job.id == "04ede0ab069fb1ba8be5156a24b1e081" and job.model == "music-2.6"
    assert job.raw["data"]["audio"] == URL


def test_parse_hex_answer_keeps_bytes_out_of_raw(a: MinimaxAdapter, resp: MakeResponse) -> None:
    req = _req(audio_format="wav", extra={"output_format": "hex"})
    result = a.parse_submit(_job(req), resp(200, _ok(AUDIO.hex())))
    assert result.audio_bytes == AUDIO and result.audio_ext == "wav"
    assert result.job.raw["data"]["audio"] == f"<hex: {len(AUDIO)} bytes>"
    assert AUDIO.hex() not in json.dumps(result.job.to_dict())
    assert result.job.audio_url is None and result.job.status is JobStatus.COMPLETED


def test_bad_hex_is_a_connection_error(a: MinimaxAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.APIConnectionError, match="hex"):
        a.parse_submit(_job(), resp(200, _ok("zz-not-hex")))


def test_success_without_audio(a: MinimaxAdapter, resp: MakeResponse) -> None:
    body = _ok("")
    job = a.parse_submit(_job(), resp(200, body)).job
    assert job.status is JobStatus.FAILED
    body["data"] = {"status": 1}
    assert a.parse_submit(_job(), resp(200, body)).job.status is JobStatus.RUNNING


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (1000, E.ServerError),
        (1001, E.ServerError),
        (1024, E.ServerError),
        (1033, E.ServerError),
        (1002, E.RateLimitError),
        (2056, E.RateLimitError),
        (1004, E.AuthenticationError),
        (2049, E.AuthenticationError),
        (1008, E.InsufficientBalanceError),
        (1026, E.ModerationError),
        (1027, E.ModerationError),
        (1039, E.ValidationError),
        (2013, E.ValidationError),
        (1041, E.ConcurrencyLimitError),
        (9999, E.MiniMaxError),
    ],
)
def test_base_resp_errors_on_http_200(
    a: MinimaxAdapter, resp: MakeResponse, code: int, cls: type[E.MiniMaxError]
) -> None:
    r = resp(200, _err(code, "some message"), {"Retry-After": "6"})
    with pytest.raises(cls) as info:
        a.parse_submit(_job(), r)
    err = info.value
    assert type(err) is cls and err.code == code and err.status_code == 200
    assert err.request_id == "t-err" and err.provider == "minimax" and "some message" in err.message
    if isinstance(err, E.RateLimitError | E.ConcurrencyLimitError):
        assert err.retry_after == 6.0


def test_documented_auth_messages(a: MinimaxAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.AuthenticationError, match="not authorized"):
        a.raise_for_error(resp(200, _err(1004, "not authorized")))
    with pytest.raises(E.AuthenticationError, match="invalid api key"):
        a.raise_for_error(resp(200, _err(2049, "invalid api key")))


def test_output_moderation_says_so(a: MinimaxAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.ModerationError, match="output"):
        a.parse_submit(_job(), resp(200, _err(1027, "output new_sensitive")))


def test_error_body_keeps_no_hex(a: MinimaxAdapter, resp: MakeResponse) -> None:
    body = {**_ok(AUDIO.hex()), "base_resp": {"status_code": 1027, "status_msg": "output sensitive"}}
    with pytest.raises(E.ModerationError) as info:
        a.parse_submit(_job(), resp(200, body))
    assert AUDIO.hex() not in json.dumps(info.value.body)


def test_http_errors(a: MinimaxAdapter, resp: MakeResponse) -> None:
    with pytest.raises(E.ServerError):
        a.parse_submit(_job(), resp(502, b"<html>bad gateway</html>"))
    with pytest.raises(E.RateLimitError) as info:
        a.parse_submit(_job(), resp(429, {"message": "slow"}, {"Retry-After": "3", "x-request-id": "r"}))
    assert info.value.retry_after == 3.0 and info.value.request_id == "r"
    with pytest.raises(E.AuthenticationError):
        a.parse_submit(_job(), resp(401, _err(1004, "not authorized")))
    with pytest.raises(E.APIConnectionError):
        a.parse_submit(_job(), resp(200, b"<html>captive portal</html>"))


def test_zero_base_resp_passes(a: MinimaxAdapter, resp: MakeResponse) -> None:
    a.raise_for_error(resp(200, _ok(URL)))
    a.raise_for_error(resp(200, b"data: {}", {"Content-Type": "text/event-stream"}))


# ---------------------------------------------------------------- streaming


def _event(audio: bytes, status: int, **more: object) -> str:
    return "data: " + json.dumps({"data": {"audio": audio.hex(), "status": status}, **more})


def test_parse_stream_event_chunk_and_final() -> None:
    ev = parse_stream_event(_event(b"abc", 1).encode())
    assert (ev.audio, ev.is_final, ev.extra_info) == (b"abc", False, {})
    final = parse_stream_event(
        _event(
            b"",
            2,
            extra_info={"music_duration": 1000},
            trace_id="tr",
            base_resp={"status_code": 0, "status_msg": "success"},
        )
    )
    assert final.is_final and final.extra_info == {"music_duration": 1000} and final.trace_id == "tr"
    audio, is_final, extra = parse_stream_event(_event(b"x", 1))  # a plain 3-tuple as well
    assert (audio, is_final, extra) == (b"x", False, {})


@pytest.mark.parametrize("line", ["", ":keepalive", "event: message", "id: 3", b"\n", "data:"])
def test_parse_stream_event_ignores_non_data_lines(line: str | bytes) -> None:
    assert parse_stream_event(line) == (b"", False, {})


def test_parse_stream_event_done_marker() -> None:
    assert parse_stream_event("data: [DONE]").is_final


def test_parse_stream_event_errors() -> None:
    with pytest.raises(E.RateLimitError):
        parse_stream_event("data: " + json.dumps(_err(1002, "rate limit")))
    with pytest.raises(E.APIConnectionError):
        parse_stream_event("data: {not json")
    with pytest.raises(E.APIConnectionError):
        parse_stream_event("data: [1, 2]")
    with pytest.raises(E.APIConnectionError):
        parse_stream_event(_event(b"", 1).replace('""', '"xyz"'))


def test_assembler_concatenates_chunks() -> None:
    asm = StreamAssembler()
    chunks = [AUDIO[:100], AUDIO[100:500], AUDIO[500:]]
    for c in chunks:
        asm.feed(_event(c, 1))
        asm.feed("")
    assert not asm.done and asm.bytes_received == len(AUDIO)
    asm.feed(_event(b"", 2, extra_info={"music_duration": 30500}, trace_id="tr-1"))
    assert asm.done and asm.audio == AUDIO
    result = asm.result(_job())
    assert result.audio_bytes == AUDIO and result.audio_ext == "mp3"
    assert (
        result.job.status is JobStatus.COMPLETED and result.job.duration_s == 30.5 and result.job.id == "tr-1"
    )
    assert result.job.raw["data"]["audio"] == f"<hex: {len(AUDIO)} bytes>"


def test_assembler_final_event_repeating_the_whole_file_is_not_doubled() -> None:
    asm = StreamAssembler()
    asm.feed(_event(AUDIO[:300], 1))
    asm.feed(_event(AUDIO[300:], 1))
    asm.feed(_event(AUDIO, 2))
    assert asm.audio == AUDIO


def test_assembler_final_event_with_the_last_chunk_is_appended() -> None:
    asm = StreamAssembler()
    asm.feed(_event(AUDIO[:300], 1))
    asm.feed(_event(AUDIO[300:], 2))
    assert asm.audio == AUDIO and asm.done


def test_assembler_stream_cut_short_is_failed() -> None:
    asm = StreamAssembler()
    asm.feed(_event(AUDIO[:10], 1))
    result = asm.result(_job())
    assert result.job.status is JobStatus.FAILED and result.audio_bytes is None


def test_duration_units_and_legacy_extra_info(a: MinimaxAdapter, resp: MakeResponse) -> None:
    """``music_duration`` is milliseconds; the AIML legacy DTO's ``audio_length`` is accepted as well."""
    ok = _ok(URL)
    assert a.parse_submit(_job(), resp(200, ok)).job.duration_s == pytest.approx(25.364)
    legacy = {
        **ok,
        "extra_info": {
            "audio_length": 30000,
            "audio_size": 1,
            "audio_bitrate": 1,
            "audio_sample_rate": 44100,
        },
    }
    assert a.parse_submit(_job(), resp(200, legacy)).job.duration_s == pytest.approx(30.0)


def test_trace_id_is_the_job_id_and_the_error_request_id(a: MinimaxAdapter, resp: MakeResponse) -> None:
    job = a.parse_submit(_job(), resp(200, _ok(URL))).job
    assert job.id == "04ede0ab069fb1ba8be5156a24b1e081"
    with pytest.raises(E.ValidationError) as info:
        a.parse_submit(_job(), resp(200, _err(2013, "invalid params"), {"x-request-id": "other"}))
    assert info.value.request_id == "t-err"  # trace_id wins over a transport request id
