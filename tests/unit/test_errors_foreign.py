"""Nothing foreign escapes: declared error fields, ``scrub_error``, ``from_foreign``, typed
``MusicRequest`` fields, ``extra=`` that cannot be sent, deep JSON, and the parser guard."""

from __future__ import annotations

import json
import pickle
import traceback
from typing import Any

import httpx
import pytest

from minimax_nb import errors as E
from minimax_nb.errors import from_foreign, scrub_error
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import get_adapter
from minimax_nb.providers.base import HttpResponse, as_float, as_int, read_json

KEY = "sk-live-FOREIGN-0123456789abcdef"
ALL_ERRORS = [E.MiniMaxError, E.ValidationError, E.AuthenticationError, E.ModerationError,
              E.ConcurrencyLimitError, E.RateLimitError, E.InsufficientBalanceError, E.NotFoundError,
              E.ServerError, E.APIConnectionError, E.APITimeoutError, E.JobFailedError, E.WaitTimeoutError]


def texts(exc: BaseException) -> str:
    """Everything an exception shows, through its whole chain (as the secrets audit reads it)."""
    parts = ["".join(traceback.format_exception(exc)),
             "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())]
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts += [str(e), repr(e), repr(vars(e)), repr(e.args), repr(pickle.dumps(e))]
        todo += [e.__cause__, e.__context__]
    return "\n".join(parts)


def keyed_request() -> httpx.Request:
    return httpx.Request("POST", "http://x.invalid/v1", headers={"Authorization": f"Bearer {KEY}"})


# ------------------------------------------------------------------------------------ declared fields
@pytest.mark.parametrize("cls", ALL_ERRORS)
def test_every_error_declares_retry_after_and_may_have_reached_server(cls: type[E.MiniMaxError]) -> None:
    e = cls("m")
    assert e.retry_after is None and e.may_have_reached_server is True
    e2 = cls("m", retry_after=3.0, may_have_reached_server=False)
    assert e2.retry_after == 3.0 and e2.may_have_reached_server is False
    back = pickle.loads(pickle.dumps(e2))
    assert back.retry_after == 3.0 and back.may_have_reached_server is False
    e.retry_after = 1.5  # what client/core.py does today stays valid
    e.may_have_reached_server = False
    assert (e.retry_after, e.may_have_reached_server) == (1.5, False)


def test_rate_and_concurrency_limit_signatures_still_work() -> None:
    assert E.RateLimitError("x", retry_after=2.0, provider="p").retry_after == 2.0
    assert E.ConcurrencyLimitError("x", retry_after=4.0).retry_after == 4.0


def test_old_pickles_without_the_new_fields_read_the_class_defaults() -> None:
    old = E._rebuild(E.ServerError, "m", {"message": "m", "provider": "p", "status_code": 500, "code": None,
                                          "request_id": None, "body": None, "job": None})
    assert old.retry_after is None and old.may_have_reached_server is True


# ------------------------------------------------------------------------------------------ scrubbing
def test_request_id_echoing_the_key_is_redacted_at_construction_and_by_scrub() -> None:
    e = E.ServerError("boom", request_id=f"req-{KEY}", secrets=[KEY])
    assert KEY not in e.request_id and KEY not in str(e)
    e2 = E.ServerError("boom", request_id=f"req-{KEY}")
    assert KEY in e2.request_id  # the adapter cannot know the key: scrub_error is the client's step
    assert KEY not in texts(scrub_error(e2, [KEY]))


@pytest.mark.parametrize("cls", ALL_ERRORS)
def test_pickle_round_trip_with_the_key_in_every_field_shows_no_key(cls: type[E.MiniMaxError]) -> None:
    job = Job(provider="aimlapi", request=MusicRequest(lyrics="la", extra={"echo": KEY}),
              raw={"echo": KEY, "nested": [{"k": f"Bearer {KEY}"}]}, error=f"failed with {KEY}")
    e = cls(f"message {KEY}", provider="aimlapi", status_code=500, code=KEY, request_id=KEY,
            body={"a": [KEY, {"b": KEY.encode()}], KEY: (KEY,)}, job=job)
    if isinstance(e, E.ValidationError):
        e.problems.append(f"problem {KEY}")
    e.add_note(f"note {KEY}")
    e.__context__ = httpx.ConnectError("refused", request=keyed_request())
    assert KEY in texts(e)  # positive control: the check sees the key before scrubbing
    scrub_error(e, [KEY])
    assert KEY not in texts(e)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is cls and KEY not in texts(back)
    assert isinstance(back.job, Job) and back.job.raw["echo"] == "***"


def test_scrub_keeps_project_errors_in_the_chain_and_cuts_foreign_ones() -> None:
    inner = E.APIConnectionError(f"inner {KEY}")
    inner.__cause__ = httpx.ReadError("reset", request=keyed_request())
    outer = E.ServerError("outer")
    outer.__cause__ = inner
    scrub_error(outer, [KEY])
    assert outer.__cause__ is inner and inner.__cause__ is None and inner.__suppress_context__
    assert KEY not in texts(outer)


def test_scrub_turns_foreign_objects_in_fields_into_redacted_text() -> None:
    e = E.MiniMaxError("m")
    e.request = keyed_request()  # type: ignore[attr-defined]
    scrub_error(e, [KEY])
    assert isinstance(e.request, str)  # type: ignore[attr-defined]
    assert KEY not in texts(e)


# -------------------------------------------------------------------------------------- from_foreign
def mapped(exc: Exception) -> E.MiniMaxError:
    """Map ``exc`` in the ``except`` block that caught it (``caught`` is deleted when the block ends)."""
    try:
        raise exc
    except Exception as caught:
        err = from_foreign(caught, provider="aimlapi", secrets=[KEY])
    return err


def raised(err: E.MiniMaxError) -> E.MiniMaxError:
    """``err`` raised outside any ``except`` block, from a frame that holds no foreign exception (a
    traceback formatted with ``capture_locals`` shows every local of every frame)."""
    try:
        raise err
    except E.MiniMaxError as caught:
        return caught


@pytest.mark.parametrize(("exc", "cls", "reached"), [
    (httpx.ConnectError(f"refused {KEY}", request=keyed_request()), E.APIConnectionError, False),
    (httpx.ConnectTimeout("slow", request=keyed_request()), E.APITimeoutError, False),
    (httpx.PoolTimeout("pool", request=keyed_request()), E.APITimeoutError, False),
    (httpx.ReadTimeout("read", request=keyed_request()), E.APITimeoutError, True),
    (httpx.WriteTimeout("write", request=keyed_request()), E.APITimeoutError, True),
    (httpx.TooManyRedirects("loop", request=keyed_request()), E.APIConnectionError, True),
    (httpx.DecodingError("gzip", request=keyed_request()), E.APIConnectionError, True),
    (httpx.RemoteProtocolError("bad", request=keyed_request()), E.APIConnectionError, True),
    (httpx.ReadError("reset", request=keyed_request()), E.APIConnectionError, True),
    (httpx.InvalidURL("nope"), E.APIConnectionError, False),
    (RecursionError("deep"), E.APIConnectionError, True),
    (json.JSONDecodeError("bad", "{", 0), E.APIConnectionError, True),
    (KeyError(KEY), E.APIConnectionError, True),
    (TypeError("t"), E.APIConnectionError, True),
    (AttributeError("a"), E.APIConnectionError, True),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), E.APIConnectionError, True),
    (OSError("net down"), E.APIConnectionError, True),
    (RuntimeError("other"), E.APIConnectionError, True),
])
def test_from_foreign_maps_and_cuts_the_chain(exc: Exception, cls: type[E.MiniMaxError],
                                              reached: bool) -> None:
    err = raised(mapped(exc))
    assert type(err) is cls
    assert err.may_have_reached_server is reached
    assert err.__cause__ is None and err.__context__ is None and err.__suppress_context__
    assert KEY not in texts(err)
    assert type(exc).__name__ in err.message


def test_from_foreign_malformed_answer_wording_and_5xx() -> None:
    bad = from_foreign(ValueError("x"), provider="p", status_code=200)
    assert "malformed answer (HTTP 200)" in bad.message
    assert type(from_foreign(ValueError("x"), provider="p", status_code=502)) is E.ServerError
    not_sent = from_foreign(TypeError("x"), provider="p", sent=False)
    assert not_sent.may_have_reached_server is False
    forced = from_foreign(httpx.ConnectError("x"), provider="p", sent=True)
    assert forced.may_have_reached_server is True


def test_from_foreign_returns_project_errors_scrubbed_and_refuses_interrupts() -> None:
    e = E.ServerError(f"x {KEY}")
    assert from_foreign(e, provider="p", secrets=[KEY]) is e and KEY not in str(e)
    with pytest.raises(TypeError):
        from_foreign(KeyboardInterrupt(), provider="p")


def test_errors_module_does_not_import_httpx() -> None:
    import subprocess
    import sys

    code = "import sys, minimax_nb.errors; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------------- MusicRequest
@pytest.mark.parametrize(("kw", "field", "got"), [
    ({"lyrics": None}, "lyrics", "None"),
    ({"lyrics": 5}, "lyrics", "int"),
    ({"style": 3}, "style", "int"),
    ({"title": b"t"}, "title", "bytes"),
    ({"model": ["m"]}, "model", "list"),
    ({"bitrate": True}, "bitrate", "bool"),
    ({"bitrate": "128000"}, "bitrate", "str"),
    ({"sample_rate": 44100.0}, "sample_rate", "float"),
    ({"instrumental": 1}, "instrumental", "int"),
    ({"extra": [("a", 1)]}, "extra", "list"),
    ({"extra": {1: "x"}}, "extra", "int"),
])
def test_music_request_names_the_wrongly_typed_field(kw: dict[str, Any], field: str, got: str) -> None:
    with pytest.raises(TypeError) as info:
        MusicRequest(**kw)
    assert f"MusicRequest.{field}" in str(info.value) and got in str(info.value)
    with pytest.raises(TypeError):
        MusicRequest().replace(**kw)


def test_music_request_json_round_trip_keeps_ints() -> None:
    req = MusicRequest(lyrics="x", bitrate=128000, sample_rate=44100, instrumental=True, extra={"seed": 3})
    back = MusicRequest.from_dict(json.loads(json.dumps(req.to_dict())))
    assert back == req and isinstance(back.bitrate, int)
    assert MusicRequest.from_dict({"lyrics": None, "extra": None, "instrumental": None}) == MusicRequest()


# ----------------------------------------------------------------------------- extra= that cannot be sent
def _circular() -> dict[str, Any]:
    d: dict[str, Any] = {}
    d["d"] = d
    return d


def _deep(n: int) -> Any:
    out: Any = 1
    for _ in range(n):
        out = [out]
    return out


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", object(), float("nan"), float("inf"), _circular(),
                                   _deep(150), _deep(5000), "\ud800"])
@pytest.mark.parametrize("provider", ["useapi", "aimlapi", "apiin", "minimax", "local"])
def test_validate_rejects_an_extra_that_cannot_be_sent(provider: str, value: Any) -> None:
    adapter = get_adapter(provider)
    req = MusicRequest(lyrics="[Verse]\nhello there friend", style="bright synth-pop", style_id="1",
                       extra={"x": value})
    issues = adapter.validate(req)
    assert any(i.level == "error" and i.field == "extra" for i in issues)
    with pytest.raises(E.ValidationError, match="extra"):
        adapter.build_submit(req)


def test_text_that_is_not_utf8_is_refused_before_sending() -> None:
    req = MusicRequest(lyrics="[Verse]\nhello \ud800 there", style="bright synth-pop")
    with pytest.raises(E.ValidationError, match="lyrics"):
        get_adapter("aimlapi").build_submit(req)


# --------------------------------------------------------------------------------- deep JSON, helpers
@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 200 + b"1" + b"}" * 200])
def test_deeply_nested_json_is_a_malformed_answer_not_a_recursion_error(body: bytes) -> None:
    response = HttpResponse(200, body)
    with pytest.raises(ValueError, match="nested deeper"):
        response.json()
    with pytest.raises(E.APIConnectionError, match="malformed"):
        read_json("aimlapi", response)
    for name in ("useapi", "aimlapi", "apiin", "minimax"):
        job = Job(provider=name, request=MusicRequest(), id="j", status=JobStatus.RUNNING)
        with pytest.raises(E.APIConnectionError):
            get_adapter(name).parse_submit(job, response)


def test_number_readers_never_raise() -> None:
    assert [as_int(v) for v in ("12", "-3", "+4", " 5 ", "--5", "²", "1.5", "9" * 40, True, 7)] == [
        12, -3, 4, 5, None, None, None, None, None, 7]
    assert as_float(10 ** 400) is None and as_float("1e400") is None and as_float("2.5") == 2.5


def test_the_contract_guards_every_parser_against_a_leak() -> None:
    from minimax_nb.providers.aimlapi import AimlapiAdapter

    class Leaky(AimlapiAdapter):
        def parse_poll(self, job: Job, response: HttpResponse) -> Job:
            return {}["missing"]  # type: ignore[no-any-return]

    job = Job(provider="aimlapi", request=MusicRequest(), id="j")
    with pytest.raises(E.APIConnectionError, match="malformed answer") as info:
        Leaky().parse_poll(job, HttpResponse(200, b"{}"))
    assert info.value.__context__ is None and info.value.may_have_reached_server
    with pytest.raises(E.ServerError):
        Leaky().parse_poll(job, HttpResponse(503, b"{}"))
    assert Leaky.parse_poll.__wrapped__  # type: ignore[attr-defined]
