"""Property tests (hypothesis): whatever a caller builds and whatever a server answers, only the
project's errors escape — ``MusicRequest`` raises only ``TypeError``, ``validate()``/``build_submit()``
only ``ValidationError`` (never anything foreign, so nothing is sent for a bad request), and every
adapter parser only ``MiniMaxError`` subclasses (``NotImplementedError`` for an operation the provider
does not have)."""

from __future__ import annotations

import functools
import json
import math
import os
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minimax_nb.errors import MiniMaxError, ValidationError
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import get_adapter
from minimax_nb.providers.base import HttpRequest, HttpResponse, ProviderAdapter, SubmitResult
from minimax_nb.providers.contract import PARSERS

ADAPTERS = ("useapi", "aimlapi", "apiin", "minimax", "local")
FIELDS = ("lyrics", "style", "style_id", "title", "model", "reference_audio_url", "bitrate", "sample_rate",
          "audio_format", "instrumental", "extra")
MAX_EXAMPLES = int(os.environ.get("MINIMAX_NB_HYPOTHESIS_EXAMPLES", "200"))
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)


class Opaque:
    """An object no JSON encoder knows."""


def deep(depth: int, leaf: Any = 1) -> Any:
    out: Any = leaf
    for i in range(depth):
        out = [out] if i % 2 else {"k": out}
    return out


def circular() -> dict[str, Any]:
    d: dict[str, Any] = {"a": 1}
    d["self"] = d
    return d


json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_trees = st.recursive(
    json_leaves,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=25,
)
weird = (st.binary(max_size=10) | st.sets(st.integers(), max_size=3) | st.builds(Opaque)
         | st.just(float("nan")) | st.just(float("inf")) | st.builds(circular)
         | st.integers(min_value=1, max_value=400).map(deep) | st.just(deep(5000))
)
# Lone surrogates (text that cannot be sent) are pinned by test_errors_foreign.py instead: under xdist a
# generated one can end up in a test report, which execnet cannot serialise.
any_value = json_trees | weird | st.tuples(st.integers()) | st.complex_numbers()

# Values a user plausibly writes for each field (so many requests get past the type checks).
good_values: dict[str, st.SearchStrategy[Any]] = {
    "lyrics": st.sampled_from(["", "[Verse]\nHello there my friend\n[Chorus]\nLa la la la",
                               "a" * 700, "##\nhum\n##"]) | st.text(max_size=80),
    "style": st.none() | st.sampled_from(["upbeat synth-pop, female vocals", "x", "y" * 2100]) | st.text(),
    "style_id": st.none() | st.sampled_from(["pop", "1", ""]) | st.text(max_size=10),
    "title": st.none() | st.sampled_from(["Song", "t" * 50]) | st.text(max_size=50),
    "model": st.none() | st.sampled_from([
        "v1", "music-2.6", "music-3.0", "minimax/music-2.0", "minimax/music-2.6", "minimax-music",
        "minimax/music-cover", "music-2.0", "music-1.5", "music-cover", "music-2.6-free", "nope"]),
    "reference_audio_url": st.none() | st.sampled_from(["https://x.test/a.mp3", "https://x.test/a.ogg", ""]),
    "bitrate": st.none() | st.sampled_from([32000, 64000, 128000, 256000, 1, -5]),
    "sample_rate": st.none() | st.sampled_from([16000, 24000, 32000, 44100, 0]),
    "audio_format": st.none() | st.sampled_from(["mp3", "wav", "pcm", "ogg"]),
    "instrumental": st.booleans(),
    "extra": st.dictionaries(
        st.sampled_from(["stream", "output_format", "lyrics_optimizer", "audio_base64", "seed", "x"]),
        any_value, max_size=3),
}


@st.composite
def kwargs_of_random_types(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=len(FIELDS)))
    return {n: draw(good_values[n] if draw(st.booleans()) else any_value) for n in names}


@st.composite
def requests(draw: st.DrawFn) -> MusicRequest:
    names = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=len(FIELDS)))
    return MusicRequest(**{n: draw(good_values[n]) for n in names})


# ------------------------------------------------------------------------------------------ MusicRequest
@SETTINGS
@given(kwargs_of_random_types())
def test_music_request_raises_only_type_errors(kw: dict[str, Any]) -> None:
    try:
        req = MusicRequest(**kw)
    except TypeError as e:
        assert "MusicRequest." in str(e)  # names the field
        return
    # Accepted: every field has its declared type, and a JSON round trip gives the same request.
    assert isinstance(req.lyrics, str) and isinstance(req.instrumental, bool)
    for n in ("bitrate", "sample_rate"):
        v = getattr(req, n)
        assert v is None or (isinstance(v, int) and not isinstance(v, bool))
    if all(not isinstance(v, float) or math.isfinite(v) for v in req.extra.values()):
        try:
            text = json.dumps(req.to_dict(), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return  # extra is not JSON: validate() rejects it (tested below)
        assert MusicRequest.from_dict(json.loads(text)) == req


# ------------------------------------------------------------------------------------ validate / submit
@pytest.mark.parametrize("name", ADAPTERS)
@SETTINGS
@given(req=requests(), model=st.none() | good_values["model"], account=st.none() | st.text(max_size=8))
def test_validate_and_build_submit_raise_only_validation_errors(
        name: str, req: MusicRequest, model: str | None, account: str | None) -> None:
    adapter = get_adapter(name)
    try:
        issues = adapter.validate(req, model=model)
    except MiniMaxError as e:
        assert isinstance(e, ValidationError), repr(e)
        issues = None
    try:
        built = adapter.build_submit(req, model=model, account=account)
    except ValidationError:
        if issues is not None:  # build_submit refuses exactly when validate() reported an error
            assert any(i.level == "error" for i in issues)
        return
    assert issues is not None and not [i for i in issues if i.level == "error"]
    assert isinstance(built, HttpRequest) and built.kind == "submit"
    # What passed validation can be sent: the body encodes as httpx does, the params as UTF-8.
    if built.json is not None:
        json.dumps(built.json, ensure_ascii=False, allow_nan=False).encode("utf-8")
    for k, v in built.params.items():
        assert isinstance(k, str) and isinstance(v, str)
        v.encode("utf-8")


# ----------------------------------------------------------------------------------------------- parsers
header_names = st.sampled_from(["content-type", "Retry-After", "retry-after-ms", "x-request-id",
                                "X-Trace-Id", "request-id"]) | st.text(max_size=8)
header_values = st.sampled_from(["text/event-stream", "application/json", "text/html", "5", "-1", "nan",
                                 "1e400", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 99999 23:59:59 GMT",
                                 "Mon, 01 Jan 0001 00:00:00 +9999", "²", ""]) | st.text(max_size=20)

#: The keys each adapter reads, so random answers hit the code that reads them.
KEYS: dict[str, tuple[str, ...]] = {
    "useapi": ("musicId", "audioURL", "duration", "status", "statusLabel", "statusFinal", "error", "message",
               "code", "coverURL", "title", "lyrics", "style", "styles", "styleId", "name", "url"),
    "aimlapi": ("id", "generation_id", "status", "audio_file", "url", "duration", "error", "name", "type",
                "message", "statusCode"),
    "apiin": ("code", "message", "data", "task_id", "id", "taskId", "status", "state", "audio_url",
              "audioUrl", "output", "result", "url", "duration", "error", "error_message", "reason", "type",
              "cover_url", "title", "lyrics"),
    "minimax": ("base_resp", "status_code", "status_msg", "trace_id", "data", "audio", "status",
                "extra_info", "music_duration", "audio_length", "message", "error"),
}
KEYS["local"] = KEYS["aimlapi"]

#: Strings that look like numbers (several break a naive ``int()``), and numbers too large for a float.
bad_numbers = st.sampled_from(["--5", "²", "-²", "1²", "9" * 5000, 10 ** 400, "1e400", "٣", "1_0", " 7 "])
numberish = st.sampled_from(["2", "4", "+5", "1.5", "-0", 1e308, -1, 2, 4, 1004, 1026, 1041, 2013])
words = st.sampled_from(["completed", "failed", "error", "queued", "IN_PROGRESS", "moderated", "cancelled",
                         "https://x.test/a.mp3", "abcd", "0g", "content policy violation", "", True, None])
# ``.map`` keeps ``json_leaves`` one branch of four (``|`` would flatten its five branches in).
scalar = st.one_of(bad_numbers, numberish, words, json_leaves.map(lambda v: v))
_MISSING = object()


def shaped_for(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """An answer shaped like the provider's: an object where each key the adapter reads is present
    half the time, with surprising values (nested objects are shaped the same way)."""
    def obj(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        maybe = st.one_of(st.just(_MISSING), values)
        return st.fixed_dictionaries({k: maybe for k in KEYS[name]}).map(
            lambda d: {k: v for k, v in d.items() if v is not _MISSING})

    keys = st.sampled_from(KEYS[name])
    nested = st.recursive(scalar, lambda kids: st.lists(kids, max_size=3)
                          | st.dictionaries(keys, kids, max_size=4), max_leaves=10)
    return obj(st.one_of(scalar, scalar, nested))


#: Anything else a server (or a proxy in front of it) may send.
garbage = (
    json_trees.map(lambda t: json.dumps(t).encode())
    | st.binary(max_size=40)
    | st.integers(min_value=50, max_value=3000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(min_value=50, max_value=3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
    | st.just(b"[" * 100_000)
    | st.sampled_from([b"", b"{}", b"[]", b"null", b"<html>502 Bad Gateway</html>", b'{"id": "x"',
                       b"\xff\xfe\x00", b'{"status": NaN}', b"1" * 5000, b"data: {}\n\n"])
)
statuses = (st.just(200) | st.sampled_from([200, 201, 202])
            | st.sampled_from([400, 401, 402, 403, 404, 409, 422, 429, 500, 502]) | st.integers(100, 599))
headers = st.dictionaries(header_names, header_values, max_size=4)


def responses_for(name: str) -> st.SearchStrategy[HttpResponse]:
    shaped = shaped_for(name)
    body = (shaped.map(lambda t: json.dumps(t).encode())
            | shaped.map(lambda t: json.dumps(t).encode())
            | st.lists(shaped, max_size=3).map(lambda t: json.dumps(t).encode())
            | garbage)
    return st.builds(HttpResponse, status_code=statuses, body=body, headers=headers)


#: Built once: a strategy is validated on first use, and rebuilding it per example costs seconds.
RESPONSES = {name: responses_for(name) for name in ADAPTERS}


def unguarded(adapter: ProviderAdapter, name: str) -> Callable[..., Any]:
    """The adapter's own parser, without the contract's last-line guard: the parser itself must map
    every answer onto a project error."""
    fn = getattr(type(adapter), name)
    return functools.partial(getattr(fn, "__wrapped__", fn), adapter)


def call_parser(adapter: ProviderAdapter, name: str, job: Job, response: HttpResponse) -> Any:
    fn = unguarded(adapter, name)
    return fn(job, response) if name in ("parse_submit", "parse_poll") else fn(response)


def implemented(adapter_name: str, parser: str) -> bool:
    return getattr(type(get_adapter(adapter_name)), parser) is not getattr(ProviderAdapter, parser)


CASES = [(n, p) for n in ADAPTERS for p in PARSERS if implemented(n, p)]


@pytest.mark.parametrize(("name", "parser"), [(n, p) for n in ADAPTERS for p in PARSERS
                                              if not implemented(n, p)])
def test_operations_a_provider_lacks_raise_not_implemented(name: str, parser: str) -> None:
    adapter = get_adapter(name)
    job = Job(provider=name, request=MusicRequest(), id="job-1")
    with pytest.raises(NotImplementedError):
        call_parser(adapter, parser, job, HttpResponse(200, b"[]"))


@pytest.mark.parametrize(("name", "parser"), CASES)
@SETTINGS
@given(data=st.data(), status=st.sampled_from(list(JobStatus)), model=good_values["model"])
def test_parsers_raise_only_project_errors(name: str, parser: str, data: st.DataObject,
                                           status: JobStatus, model: str | None) -> None:
    adapter = get_adapter(name)
    response = data.draw(RESPONSES[name], label="response")
    job = Job(provider=name, request=MusicRequest(lyrics="[Verse]\nla la la la", style="pop pop pop",
                                                  model=model),
              status=status, id="job-1", model=model)
    try:
        out = call_parser(adapter, parser, job, response)
    except NotImplementedError:  # an operation this provider does not have (minimax: no status read)
        return
    except MiniMaxError as e:
        # The error is usable: it prints, and it crosses a process boundary.
        assert str(e) and repr(e)
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e)
        return
    expected = {"parse_submit": SubmitResult, "parse_poll": Job, "parse_list": list, "parse_styles": list,
                "raise_for_error": type(None)}[parser]
    assert isinstance(out, expected)
