"""The official MiniMax platform (``provider="minimax"``): a pure adapter.

``POST /v1/music_generation`` is synchronous: the answer carries the song (a URL by default here,
or hex-encoded bytes with ``extra={"output_format": "hex"}``) and there is no task to poll
(``build_poll`` returns ``None``). Errors come as **HTTP 200** with a non-zero
``base_resp.status_code``, mapped as follows:

====================  ==============================
1002, 2056            ``RateLimitError``
1004, 2049            ``AuthenticationError``
1008                  ``InsufficientBalanceError``
1026, 1027            ``ModerationError`` (1027: the output was moderated)
1041                  ``ConcurrencyLimitError``
1039, 2013            ``ValidationError``
1000, 1001, 1024,     ``ServerError``
1033
====================  ==============================

Hex audio is decoded into ``SubmitResult.audio_bytes`` and replaced in ``Job.raw`` by a placeholder
(``"<hex: N bytes>"``). ``extra_info.music_duration`` is milliseconds; ``Job.duration_s`` is seconds.
``trace_id`` is both the job id and the ``request_id`` of errors.

With ``extra={"stream": True}`` the answer is ``text/event-stream``; feed its lines to
``parse_stream_event`` or a ``StreamAssembler``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

from minimax_nb.errors import (
    APIConnectionError,
    AuthenticationError,
    ConcurrencyLimitError,
    InsufficientBalanceError,
    MiniMaxError,
    ModerationError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers.base import (
    HttpRequest,
    HttpResponse,
    Issue,
    ModelSpec,
    ProviderAdapter,
    SubmitResult,
    as_float,
    as_int,
    as_str,
    check_request,
    error_for_status,
    finish,
    read_json,
    request_id_of,
    retry_after_of,
)

__all__ = ["BASE_RESP_ERRORS", "MinimaxAdapter", "StreamAssembler", "StreamEvent", "parse_stream_event"]

#: ``base_resp.status_code`` → the error it means.
BASE_RESP_ERRORS: dict[int, type[MiniMaxError]] = {
    1000: ServerError,
    1001: ServerError,
    1024: ServerError,
    1033: ServerError,
    1002: RateLimitError,
    2056: RateLimitError,
    1004: AuthenticationError,
    2049: AuthenticationError,
    1008: InsufficientBalanceError,
    1026: ModerationError,
    1027: ModerationError,
    1039: ValidationError,
    2013: ValidationError,
    1041: ConcurrencyLimitError,
}
_CODE_HINTS = {
    1000: "unknown error",
    1001: "timeout",
    1002: "rate limit",
    1004: "not authorized",
    1008: "insufficient balance",
    1024: "internal error",
    1026: "input is sensitive (moderated)",
    1027: "output is sensitive (the song was moderated)",
    1033: "system error",
    1039: "token limit",
    1041: "connection limit",
    2013: "invalid parameters",
    2049: "invalid API key",
    2056: "usage limit",
}

_BITRATES = (32000, 64000, 128000, 256000)
_RATES = (16000, 24000, 32000, 44100)
_FORMATS = ("mp3", "wav", "pcm")
OUTPUT_FORMATS = ("url", "hex")
COVER = "music-cover"


def _spec(name: str, **kw: Any) -> ModelSpec:
    return ModelSpec(
        name=name,
        bitrates=_BITRATES,
        sample_rates=_RATES,
        formats=_FORMATS,
        structure_tags=True,
        blocking=True,
        **kw,
    )


_MODERN: dict[str, Any] = dict(
    prompt_max=2000,
    lyrics_min=1,
    lyrics_max=3500,
    lyrics_required=True,
    supports_instrumental=True,
    lyrics_optional_when_instrumental=True,
)

_MODELS: dict[str, ModelSpec] = {
    "music-1.5": _spec(
        "music-1.5",
        prompt_min=10,
        prompt_max=300,
        prompt_required=True,
        lyrics_min=10,
        lyrics_max=600,
        lyrics_required=True,
        description="music-1.5: style 10–300, lyrics 10–600",
    ),
    "music-2.0": _spec(
        "music-2.0",
        prompt_min=10,
        prompt_max=2000,
        prompt_required=True,
        lyrics_min=10,
        lyrics_max=3000,
        lyrics_required=True,
        description="music-2.0: style 10–2000, lyrics 10–3000",
    ),
    "music-2.5": _spec(
        "music-2.5", description="music-2.5: style ≤2000, lyrics 1–3500, lyrics optimizer", **_MODERN
    ),
    "music-2.5+": _spec(
        "music-2.5+", description="music-2.5+: style ≤2000, lyrics 1–3500, lyrics optimizer", **_MODERN
    ),
    "music-2.6": _spec(
        "music-2.6", description="music-2.6: style ≤2000, lyrics ≤3500, instrumental", **_MODERN
    ),
    COVER: _spec(
        COVER,
        prompt_min=10,
        prompt_max=2000,
        prompt_required=True,
        lyrics_min=10,
        lyrics_max=3500,
        needs_reference_audio=True,
        reference_audio_base64=True,
        description="music-cover: style 10–2000 + reference audio_url/audio_base64 (6 s–6 min)",
    ),
}


def _free_tier(spec: ModelSpec) -> ModelSpec:
    """The ``<name>-free`` variant of ``spec``: the same limits."""
    return dataclasses.replace(spec, name=f"{spec.name}-free", description=spec.description + " (free tier)")


for _n in ("music-2.6", COVER):
    _MODELS[f"{_n}-free"] = _free_tier(_MODELS[_n])


class _StreamEventFields(NamedTuple):
    audio: bytes
    is_final: bool
    extra_info: dict[str, Any]


class StreamEvent(_StreamEventFields):
    """One parsed ``stream=true`` line: ``(audio chunk, is_final, extra_info)``.

    The chunk may be empty, ``extra_info`` is ``{}`` when the event had none; ``trace_id`` (an attribute,
    not part of the tuple) is the event's trace id when it carried one.
    """

    trace_id: str | None = None

    @classmethod
    def make(
        cls, audio: bytes, is_final: bool, extra_info: dict[str, Any], trace_id: str | None = None
    ) -> StreamEvent:
        ev = cls(audio, is_final, extra_info)
        ev.trace_id = trace_id
        return ev


def _base_resp_error(
    body: Mapping[str, Any],
    *,
    provider: str,
    status_code: int | None,
    request_id: str | None,
    retry_after: float | None = None,
) -> MiniMaxError | None:
    base = body.get("base_resp")
    if not isinstance(base, Mapping):
        return None
    code = as_int(base.get("status_code"))
    if code is None or code == 0:
        return None
    msg = as_str(base.get("status_msg")) or _CODE_HINTS.get(code, "error")
    hint = _CODE_HINTS.get(code)
    if hint and hint.split(" (")[0] not in msg.lower():
        msg = f"{msg} [{hint}]"
    cls = BASE_RESP_ERRORS.get(code, MiniMaxError)
    kw: dict[str, Any] = {
        "provider": provider,
        "status_code": status_code,
        "code": code,
        "request_id": request_id,
        "body": _scrub(body),
    }
    if cls in (RateLimitError, ConcurrencyLimitError):
        return cls(msg, retry_after=retry_after, **kw)
    return cls(msg, **kw)


def _scrub(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with any hex audio replaced by ``"<hex: N bytes>"`` (URLs are kept)."""
    out = dict(body)
    data = out.get("data")
    if isinstance(data, Mapping):
        d = dict(data)
        audio = d.get("audio")
        if isinstance(audio, str) and audio and not audio.startswith(("http://", "https://")):
            d["audio"] = f"<hex: {len(audio) // 2} bytes>"
        out["data"] = d
    return out


def _decode_hex(text: str, *, provider: str, request_id: str | None) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise APIConnectionError(
            f"{provider}: the audio is neither a URL nor valid hex ({len(text)} chars)",
            provider=provider,
            request_id=request_id,
        ) from None


def parse_stream_event(line: bytes | str) -> StreamEvent:
    """Parse one line of a ``stream=true`` answer (``text/event-stream``).

    ``data: {"data": {"audio": "<hex>", "status": 1}, …}`` gives the decoded chunk; ``"status": 2`` marks
    the last event, which carries ``extra_info``. Blank lines, comments (``:``), ``event:``/``id:`` lines
    give an empty non-final event; ``data: [DONE]`` a final one. A non-zero ``base_resp.status_code``
    raises its typed error; a line that is not JSON raises ``APIConnectionError``.
    """
    text = line.decode("utf-8", errors="replace") if isinstance(line, bytes | bytearray) else line
    text = text.strip()
    if not text.startswith("data:"):
        return StreamEvent.make(b"", False, {})
    payload = text[5:].strip()
    if not payload:
        return StreamEvent.make(b"", False, {})
    if payload == "[DONE]":
        return StreamEvent.make(b"", True, {})
    try:
        body = json.loads(payload)
    except ValueError:
        raise APIConnectionError(
            f"minimax stream event is not JSON: {payload[:120]!r}", provider="minimax"
        ) from None
    if not isinstance(body, Mapping):
        raise APIConnectionError("minimax stream event is not a JSON object", provider="minimax")
    trace_id = as_str(body.get("trace_id"))
    err = _base_resp_error(body, provider="minimax", status_code=None, request_id=trace_id)
    if err is not None:
        raise err
    data = body.get("data") if isinstance(body.get("data"), Mapping) else {}
    assert isinstance(data, Mapping)
    audio_text = data.get("audio")
    chunk = b""
    if isinstance(audio_text, str) and audio_text and not audio_text.startswith(("http://", "https://")):
        chunk = _decode_hex(audio_text, provider="minimax", request_id=trace_id)
    extra = body.get("extra_info")
    status = data.get("status")
    is_final = status == 2 or str(status) == "2"
    return StreamEvent.make(chunk, is_final, dict(extra) if isinstance(extra, Mapping) else {}, trace_id)


class StreamAssembler:
    """Collects the audio of a ``stream=true`` answer line by line.

        asm = StreamAssembler()
        for line in response.iter_lines():
            asm.feed(line)
            if asm.done: break
        result = asm.result(job)     # SubmitResult with audio_bytes

    Chunks are concatenated. If the last event repeats the whole file (some MiniMax streams do), it
    replaces what was collected instead of doubling it.
    """

    def __init__(self) -> None:
        self._audio = bytearray()
        self.done = False
        self.extra_info: dict[str, Any] = {}
        self.trace_id: str | None = None

    def feed(self, line: bytes | str) -> StreamEvent:
        """Parse and collect one line; returns the event (raises on an error event)."""
        ev = parse_stream_event(line)
        if ev.trace_id:
            self.trace_id = ev.trace_id
        if ev.extra_info:
            self.extra_info = ev.extra_info
        if ev.audio:
            if ev.is_final and self._audio and ev.audio.startswith(bytes(self._audio)):
                self._audio = bytearray(ev.audio)
            else:
                self._audio.extend(ev.audio)
        if ev.is_final:
            self.done = True
        return ev

    @property
    def audio(self) -> bytes:
        """The audio collected so far."""
        return bytes(self._audio)

    @property
    def bytes_received(self) -> int:
        return len(self._audio)

    def result(self, job: Job) -> SubmitResult:
        """The finished job (``COMPLETED``, or ``FAILED`` when the stream ended early) and its audio."""
        ext = _ext_for(job.request)
        raw: dict[str, Any] = {
            "trace_id": self.trace_id,
            "extra_info": dict(self.extra_info),
            "data": {"audio": f"<hex: {len(self._audio)} bytes>", "status": 2 if self.done else 1},
            "stream": True,
        }
        changes: dict[str, Any] = {
            "id": job.id or self.trace_id,
            "model": job.model or job.request.model or MinimaxAdapter.default_model,
        }
        d = _duration_s(self.extra_info)
        if d is not None:
            changes["duration_s"] = d
        if not self.done or not self._audio:
            changes["error"] = (
                "the stream ended before the last event" if not self.done else "the stream had no audio"
            )
            return SubmitResult(finish(job, JobStatus.FAILED, raw, **changes))
        return SubmitResult(
            finish(job, JobStatus.COMPLETED, raw, **changes), audio_bytes=self.audio, audio_ext=ext
        )


def _ext_for(request: MusicRequest) -> str:
    return request.audio_format or "mp3"


def _duration_s(extra: Mapping[str, Any]) -> float | None:
    ms = as_float(extra.get("music_duration"))
    if ms is None:
        ms = as_float(extra.get("audio_length"))
    return ms / 1000.0 if ms is not None else None


class MinimaxAdapter(ProviderAdapter):
    """MiniMax platform ``/v1/music_generation`` (synchronous). Default model ``music-2.6``."""

    name: ClassVar[str] = "minimax"
    env_key: ClassVar[str] = "MINIMAX_API_KEY"
    default_base_url: ClassVar[str] = "https://api.minimax.io"
    default_model: ClassVar[str] = "music-2.6"
    blocking_submit: ClassVar[bool] = True
    per_account_limit: ClassVar[int | None] = None
    expected_duration_s: ClassVar[float] = 55.0
    models: ClassVar[Mapping[str, ModelSpec]] = _MODELS

    def model_spec(self, model: str | None) -> ModelSpec:
        """The spec of ``model``; any ``<known>-free`` name uses the spec of ``<known>``."""
        if model and model not in self.models and model.endswith("-free") and model[:-5] in self.models:
            return _free_tier(self.models[model[:-5]])
        return super().model_spec(model)

    def validate(self, request: MusicRequest, *, model: str | None = None) -> list[Issue]:
        """Every problem with ``request`` for ``model`` (errors block ``build_submit``)."""
        name = self.resolve_model(request, model)
        bad = self._model_issue(name)
        if bad is not None:
            return [bad]
        issues = check_request(self.model_spec(name), request)
        fmt = request.extra.get("output_format")
        if fmt is not None and fmt not in OUTPUT_FORMATS:
            issues.append(Issue("error", "output_format", f"output_format {fmt!r} is not one of url, hex"))
        if request.extra.get("stream") and fmt == "url":
            issues.append(
                Issue("error", "output_format", "stream=true gives hex chunks only; drop output_format")
            )
        if request.extra.get("lyrics_optimizer") and name in ("music-1.5", "music-2.0"):
            issues.append(
                Issue("error", "lyrics_optimizer", f"{name} has no lyrics optimizer (music-2.5+)")
            )
        return issues

    def build_submit(
        self, request: MusicRequest, *, model: str | None = None, account: str | None = None
    ) -> HttpRequest:
        """``POST /v1/music_generation`` (blocking); ``output_format`` is ``url`` unless asked for hex."""
        name = self.resolve_model(request, model)
        self._raise_invalid(self.validate(request, model=name), name)
        spec = self.model_spec(name)
        stream = bool(request.extra.get("stream"))
        body: dict[str, Any] = {"model": name}
        if request.style:
            body["prompt"] = request.style
        if request.lyrics:
            body["lyrics"] = request.lyrics
        body["stream"] = stream
        if not stream:
            body["output_format"] = "url"
        setting: dict[str, Any] = {}
        if request.sample_rate is not None:
            setting["sample_rate"] = request.sample_rate
        if request.bitrate is not None:
            setting["bitrate"] = request.bitrate
        if request.audio_format is not None:
            setting["format"] = request.audio_format
        if setting:
            body["audio_setting"] = setting
        if request.instrumental and spec.supports_instrumental:
            body["is_instrumental"] = True
        if spec.needs_reference_audio and request.reference_audio_url:
            body["audio_url"] = request.reference_audio_url
        body.update(request.extra)
        headers = {"Accept": "text/event-stream"} if stream else {}
        return HttpRequest(
            "POST", "/v1/music_generation", "submit", json=body, headers=headers, blocking=True
        )

    def parse_submit(self, job: Job, response: HttpResponse) -> SubmitResult:
        """The finished job: ``audio_url`` for URL output, or ``audio_bytes`` (decoded) for hex output."""
        body = self._checked_body(response)
        if not isinstance(body, Mapping):
            body = read_json(self.name, response)  # raises: the body is not a JSON object
        trace_id = as_str(body.get("trace_id")) or request_id_of(response)
        data = body.get("data")
        data = data if isinstance(data, Mapping) else {}
        extra = body.get("extra_info")
        extra = extra if isinstance(extra, Mapping) else {}
        changes: dict[str, Any] = {
            "id": job.id or trace_id,
            "model": self.resolve_model(job.request, job.model),
        }
        d = _duration_s(extra)
        if d is not None:
            changes["duration_s"] = d
        raw = _scrub(body)
        audio = data.get("audio")
        status = data.get("status")
        if not isinstance(audio, str) or not audio:
            running = status == 1 or str(status) == "1"
            if running:
                return SubmitResult(finish(job, JobStatus.RUNNING, raw, **changes))
            changes["error"] = "minimax answered success without audio"
            return SubmitResult(finish(job, JobStatus.FAILED, raw, **changes))
        if audio.startswith(("http://", "https://")):
            return SubmitResult(finish(job, JobStatus.COMPLETED, raw, audio_url=audio, **changes))
        audio_bytes = _decode_hex(audio, provider=self.name, request_id=trace_id)
        return SubmitResult(
            finish(job, JobStatus.COMPLETED, raw, **changes),
            audio_bytes=audio_bytes,
            audio_ext=_ext_for(job.request),
        )

    def build_poll(self, job: Job) -> HttpRequest | None:
        """``None``: the platform answers the generation call itself; there is nothing to poll."""
        return None

    def parse_poll(self, job: Job, response: HttpResponse) -> Job:
        """Not used (``build_poll`` returns ``None``)."""
        raise NotImplementedError("the minimax platform has no status endpoint; the submit answer is final")

    def raise_for_error(self, response: HttpResponse) -> None:
        """A non-zero ``base_resp.status_code`` (usually with HTTP 200) → its typed error; HTTP ≥400 without
        ``base_resp`` → the error of the status. Event-stream bodies are left to ``parse_stream_event``."""
        self._checked_body(response)

    def _checked_body(self, response: HttpResponse) -> Any:
        """The parsed body once ``raise_for_error``'s checks pass (parsed once: a hex song is megabytes);
        ``None`` for an event stream or a success body that is not JSON (``parse_submit`` reports it)."""
        ctype = (response.header("content-type") or "").lower()
        if response.status_code < 400 and "event-stream" in ctype:
            return None
        if response.status_code < 400:
            try:
                body = response.json()
            except (ValueError, UnicodeDecodeError):
                return None
        else:
            body = read_json(self.name, response)
        if not isinstance(body, Mapping):
            return body
        rid = as_str(body.get("trace_id")) or request_id_of(response)
        err = _base_resp_error(
            body,
            provider=self.name,
            status_code=response.status_code,
            request_id=rid,
            retry_after=retry_after_of(response),
        )
        if err is not None and response.status_code >= 400 and (
            type(err) is MiniMaxError or response.status_code == 404
        ):
            # an HTTP 404 (an unknown path) or a code with no class of its own: the HTTP status decides
            raise error_for_status(
                self.name,
                response.status_code,
                err.message,
                code=err.code,
                request_id=rid,
                body=_scrub(body),
                retry_after=retry_after_of(response),
            )
        if err is not None:
            raise err
        if response.status_code >= 400:
            message = (
                as_str(body.get("message")) or as_str(body.get("error")) or f"HTTP {response.status_code}"
            )
            raise error_for_status(
                self.name,
                response.status_code,
                message,
                request_id=rid,
                body=_scrub(body),
                retry_after=retry_after_of(response),
            )
        return body
