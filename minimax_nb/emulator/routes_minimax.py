"""The MiniMax platform's music generation, under ``/minimax``.

From PROVIDERS.md §4 and docs/WIRE.md:

- ``POST /v1/music_generation`` is synchronous: it holds the request until the song is made and answers
  ``{"data": {"audio": <hex or url>, "status": 2}, "trace_id", "extra_info": {"music_duration": <ms>,
  "music_sample_rate", "music_channel", "bitrate", "music_size"}, "base_resp": {"status_code": 0,
  "status_msg": "success"}}``.
- Errors are HTTP 200 with a non-zero ``base_resp.status_code``: 1004 (no key), 2049 (wrong key),
  2013 (invalid parameters), 1026 (input sensitive: moderated at submit), 1027 (output sensitive:
  the post-moderation word list, answered once the song is made), 1002 (rate limit: the ``429`` fault),
  1008 (insufficient balance: ``Emulator(balance={"minimax": n})`` spent), 1041 (more generations at
  once than ``Emulator(minimax_concurrency=n)``).
- Every answer carries a ``Trace-Id`` header (MiniMax's own client reads it for error messages); it equals
  the body's ``trace_id``. Any other path under the prefix answers HTTP 404 with ``base_resp`` 1000 (the
  platform's wording for it is not documented: our choice).
- ``output_format``: ``hex`` (the platform's default) or ``url``. ``stream: true`` answers
  ``text/event-stream``: ``data: {"data": {"audio": <hex chunk>, "status": 1}, "trace_id"}`` events as the
  song renders, then ``{"data": {"audio": "", "status": 2}, "trace_id", "extra_info", "base_resp"}``.
  The chunks concatenate to the file.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from minimax_nb.emulator.common import (
    AddHeader,
    Context,
    Endpoint,
    json_response,
    not_found_route,
    parse_json_body,
    retry_after_header,
)
from minimax_nb.emulator.engine import EmuJob, NoBalance, TooManyActive
from minimax_nb.emulator.files import RenderedAudio

__all__ = ["MODELS", "error", "routes"]

PROVIDER = "minimax"
SAMPLE_RATES = (16000, 24000, 32000, 44100)
BITRATES = (32000, 64000, 128000, 256000)
FORMATS = ("mp3", "wav", "pcm")
STREAM_CHUNKS = 16


@dataclasses.dataclass(frozen=True, slots=True)
class _Model:
    prompt_min: int
    prompt_max: int
    prompt_required: bool
    lyrics_min: int
    lyrics_max: int
    lyrics_required: bool
    cover: bool = False
    optimizer: bool = True
    max_duration_s: float = 240.0


MODELS: dict[str, _Model] = {
    "music-1.5": _Model(10, 300, True, 10, 600, True, optimizer=False),
    "music-2.0": _Model(10, 2000, True, 10, 3000, True, optimizer=False),
    "music-2.5": _Model(0, 2000, False, 1, 3500, True),
    "music-2.5+": _Model(0, 2000, False, 1, 3500, True),
    "music-2.6": _Model(0, 2000, False, 1, 3500, True),
    "music-cover": _Model(0, 2000, False, 0, 3500, False, cover=True),
}
_STATUS_MSG = {1000: "unknown error", 1001: "timeout", 1002: "rate limit exceeded", 1004: "not authorized",
               1008: "insufficient balance", 1024: "internal error", 1026: "input sensitive",
               1027: "output sensitive", 1033: "system error", 1041: "conn limit", 2013: "invalid params",
               2049: "invalid api key"}
_HTTP_FAULT_CODES = {500: 1024, 502: 1033, 503: 1033}


def _model(name: Any) -> _Model | None:
    if not isinstance(name, str):
        return None
    return MODELS.get(name.removesuffix("-free"))


def base_error(code: int, message: str | None = None, trace_id: str = "", http_status: int = 200,
               retry_after: float | None = None) -> Response:
    """A platform error: HTTP 200 (unless told) with ``base_resp.status_code`` ``code``."""
    base = {"status_code": code, "status_msg": message or _STATUS_MSG.get(code, "")}
    return json_response({"trace_id": trace_id, "base_resp": base}, http_status,
                         retry_after_header(retry_after))


def error(status: int, message: str, *, retry_after: float | None = None) -> Response:
    """Fault answers in the platform's shape: 429 becomes HTTP 200 + 1002; 5xx keep their status."""
    if status == 429:
        return base_error(1002, "rate limit exceeded", retry_after=retry_after or 1)
    code = _HTTP_FAULT_CODES.get(status, 1000)
    return base_error(code, message, http_status=status, retry_after=retry_after)


def validate(body: dict[str, Any]) -> tuple[_Model | None, list[str]]:
    """The model and every problem with ``body``."""
    model = _model(body.get("model"))
    if model is None:
        return None, [f"model {body.get('model')!r} is not supported"]
    problems: list[str] = []
    instrumental = body.get("is_instrumental", False)
    optimizer = body.get("lyrics_optimizer", False)
    for name in ("is_instrumental", "lyrics_optimizer", "stream"):
        if name in body and not isinstance(body[name], bool):
            problems.append(f"{name} must be a boolean")
    checks = (("prompt", model.prompt_min, model.prompt_max, model.prompt_required),
              ("lyrics", model.lyrics_min, model.lyrics_max,
               model.lyrics_required and not instrumental and not optimizer))
    for name, lo, hi, required in checks:
        value = body.get(name)
        if value is None or value == "":
            if required:
                problems.append(f"{name} is required")
            continue
        if not isinstance(value, str):
            problems.append(f"{name} must be a string")
        elif not lo <= len(value) <= hi:
            problems.append(f"{name} length must be between {lo} and {hi} characters (got {len(value)})")
    if model.cover and not (body.get("audio_url") or body.get("audio_base64")):
        problems.append("audio_url or audio_base64 is required for music-cover")
    b64 = body.get("audio_base64")
    if isinstance(b64, str) and len(b64) * 3 // 4 > 50 * 1024 * 1024:
        problems.append("audio_base64 is larger than 50 MB")
    if optimizer is True and not model.optimizer:
        problems.append("lyrics_optimizer needs music-2.5 or later")
    fmt = body.get("output_format", "hex")
    if fmt not in ("url", "hex"):
        problems.append("output_format must be url or hex")
    setting = body.get("audio_setting")
    if setting is not None:
        if not isinstance(setting, dict):
            problems.append("audio_setting must be an object")
        else:
            for key, allowed in (("sample_rate", SAMPLE_RATES), ("bitrate", BITRATES), ("format", FORMATS)):
                if key in setting and (setting[key] not in allowed or isinstance(setting[key], bool)):
                    problems.append(f"audio_setting.{key} must be one of {', '.join(map(str, allowed))}")
    return model, problems


class _Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @staticmethod
    def _extra_info(audio: RenderedAudio) -> dict[str, Any]:
        return {"music_duration": round(audio.duration_s * 1000), "music_sample_rate": audio.sample_rate,
                "music_channel": audio.channels, "bitrate": audio.bitrate, "music_size": len(audio.data)}

    async def generate(self, request: Request) -> Response:
        trace_id = str(request.scope.get("mnb_trace_id") or self.ctx.engine.rand_hex(32))
        problem = self.ctx.auth_problem(PROVIDER, request)
        if problem == "missing":
            return base_error(1004, trace_id=trace_id)
        if problem == "wrong":
            return base_error(2049, trace_id=trace_id)
        body, reason = parse_json_body(await request.body())
        if reason is not None or not isinstance(body, dict):
            return base_error(2013, f"invalid params, {reason or 'body must be a JSON object'}", trace_id)
        model, problems = validate(body)
        if model is None or problems:
            return base_error(2013, "invalid params, " + "; ".join(problems), trace_id)
        prompt = body.get("prompt") or ""
        lyrics = body.get("lyrics") or ""
        if self.ctx.engine.moderated_at_submit(prompt, lyrics):
            return base_error(1026, trace_id=trace_id)
        setting = body.get("audio_setting") or {}
        instrumental = bool(body.get("is_instrumental", False)) or not str(lyrics).strip()
        try:
            job = self.ctx.engine.create(
                PROVIDER, trace_id, model=str(body["model"]), lyrics=lyrics, prompt=prompt,
                style=prompt or "pop", title="", sample_rate=int(setting.get("sample_rate", 44100)),
                bitrate=int(setting.get("bitrate", 256000)), fmt=str(setting.get("format", "mp3")),
                instrumental=instrumental, max_duration_s=model.max_duration_s,
            )
        except NoBalance:
            return base_error(1008, trace_id=trace_id)
        except TooManyActive:
            return base_error(1041, trace_id=trace_id)
        if body.get("stream", False):
            return StreamingResponse(self._stream(job), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        await self.ctx.wait_done(job)
        if job.post_moderated:
            return base_error(1027, trace_id=trace_id)
        audio = await self.ctx.audio(job)
        if body.get("output_format", "hex") == "url":
            payload = self.ctx.file_url(request, job, audio.ext)
        else:
            payload = audio.data.hex()
        return json_response({"data": {"audio": payload, "status": 2}, "trace_id": trace_id,
                              "extra_info": self._extra_info(audio),
                              "base_resp": {"status_code": 0, "status_msg": "success"}})

    async def _stream(self, job: EmuJob) -> AsyncIterator[bytes]:
        def event(payload: dict[str, Any]) -> bytes:
            return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()

        if job.post_moderated:
            await self.ctx.wait_done(job)
            yield event({"trace_id": job.id,
                         "base_resp": {"status_code": 1027, "status_msg": _STATUS_MSG[1027]}})
            return
        audio = await self.ctx.audio(job)
        data = audio.data
        step = max(1, -(-len(data) // STREAM_CHUNKS))
        span = job.done_at - job.started_at
        for i, start in enumerate(range(0, len(data), step)):
            target = job.started_at + span * (i + 1) / STREAM_CHUNKS
            await self.ctx.wait_until(target)
            yield event({"data": {"audio": data[start:start + step].hex(), "status": 1}, "trace_id": job.id})
        await self.ctx.wait_done(job)
        yield event({"data": {"audio": "", "status": 2}, "trace_id": job.id,
                     "extra_info": self._extra_info(audio),
                     "base_resp": {"status_code": 0, "status_msg": "success"}})


def routes(ctx: Context, prefix: str = "/minimax") -> list[BaseRoute]:
    """The platform routes under ``prefix``."""
    r = _Routes(ctx)

    def traced(app: Any) -> AddHeader:
        return AddHeader(app, "Trace-Id", "trace_id", lambda: ctx.engine.rand_hex(32))

    def unknown(request: Request) -> Response:
        return base_error(1000, f"not found: {request.method} {request.url.path.removeprefix(prefix)}",
                          str(request.scope.get("mnb_trace_id", "")), http_status=404)

    others = not_found_route(ctx, prefix, PROVIDER, unknown, error)
    return [Route(f"{prefix}/v1/music_generation",
                  traced(Endpoint(ctx, PROVIDER, "submit", r.generate, error)), methods=["POST"]),
            *[Route(o.path, traced(o.app), methods=list(o.methods or ())) for o in others]]
