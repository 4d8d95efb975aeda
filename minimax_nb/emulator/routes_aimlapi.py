"""AIML API audio generation, under ``/aimlapi`` (and, as ``provider="local"``, under ``/local``).

From PROVIDERS.md §2, the OpenAPI fragments in ``shared/specs/aimlapi-openapi/`` and docs/WIRE.md:

- ``POST /v2/generate/audio`` validates the body of each model (required fields, lengths, enums; the
  cover model's ``audio_setting.sample_rate`` versus ``audio_sample_rate`` elsewhere; the legacy model's
  reference URL must be a .wav or .mp3) and answers ``200 {"id", "status": "queued"}`` plus
  ``meta.usage`` for music-2.x. Errors are NestJS-shaped: ``{"statusCode", "message", "error"}``.
- ``GET /v2/generate/audio?generation_id=<id>`` → ``{"id", "status": "queued"|"generating"|"completed"|
  "error", "audio_file": {"url", "duration"} | null, "error": {"name", "message"} | null}``.
  Moderation is asynchronous: the poll ends in ``"error"`` with ``ContentModerationError``.
- ``music-01`` has its own two routes (AIML's docs, ``aimlapi/api-docs`` ``music-models/MiniMax/music-01.md``
  and ``music-01-pair.json``): ``POST /v2/generate/audio/minimax/upload`` (multipart ``file`` + ``purpose``
  song|voice|instrumental) → ``{"voice_id"?, "instrumental_id"?, "trace_id", "base_resp"}``, and
  ``POST /v2/generate/audio/minimax/generate`` JSON ``{"model": "music-01", "lyrics", "refer_voice"?,
  "refer_instrumental"? (at least one), "audio_setting"? {sample_rate, bitrate, format all required}}``,
  which holds the request until the song is made and answers it MiniMax-style:
  ``{"data": {"audio": <hex>, "status": 2}, "extra_info", "trace_id", "base_resp": {"status_code": 0}}``.
  Only ``refer_instrumental`` → no vocals. Refusals are NestJS-shaped like the other routes (AIML's
  gateway validates before MiniMax sees the request: our reading).
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from minimax_nb.emulator.common import (
    ByMethod,
    Context,
    Endpoint,
    ErrorShaper,
    json_response,
    not_found_route,
    parse_json_body,
    retry_after_header,
)
from minimax_nb.emulator.engine import EmuJob, Phase

__all__ = ["MODELS", "error", "routes"]

SAMPLE_RATES = (16000, 24000, 32000, 44100)
BITRATES = (32000, 64000, 128000, 256000)
FORMATS = ("mp3", "wav", "pcm")


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: type
    required: bool = False
    min_len: int | None = None
    max_len: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _Model:
    name: str
    fields: tuple[_Field, ...]
    #: key of the sample rate inside ``audio_setting``; ``None``: the model takes no audio_setting
    rate_key: str | None = "audio_sample_rate"
    legacy_reference: bool = False
    max_duration_s: float = 240.0
    usd: float | None = None


MODELS: dict[str, _Model] = {
    m.name: m
    for m in (
        _Model("minimax-music", (_Field("prompt", str, True, None, 600),
                                 _Field("reference_audio_url", str, True)),
               rate_key=None, legacy_reference=True, max_duration_s=60.0),
        _Model("minimax/music-1.5", (_Field("prompt", str, True, 10, 300),
                                     _Field("lyrics", str, True, 10, 3000))),
        _Model("minimax/music-2.0", (_Field("prompt", str, True, 10, 2000),
                                     _Field("lyrics", str, True, 10, 3000)), usd=0.063),
        _Model("minimax/music-2.6", (_Field("prompt", str, False, None, 2000),
                                     _Field("lyrics", str, False, None, 3000),
                                     _Field("lyrics_optimizer", bool), _Field("is_instrumental", bool)),
               usd=0.0945),
        _Model("minimax/music-cover", (_Field("prompt", str, True, 10, 2000),
                                       _Field("reference_audio_url", str, True),
                                       _Field("lyrics", str, False, 10, 3000)), rate_key="sample_rate"),
    )
}


def error(status: int, message: str | list[str], *, retry_after: float | None = None) -> Response:
    """AIML's NestJS error shape: ``{"statusCode", "message", "error": <reason phrase>}``."""
    return json_response({"statusCode": status, "message": message, "error": HTTPStatus(status).phrase},
                         status, retry_after_header(retry_after))


_shaper: ErrorShaper = error


def _type_name(kind: type) -> str:
    return {str: "a string", bool: "a boolean value", int: "an integer number"}.get(kind, kind.__name__)


def validate(body: dict[str, Any]) -> tuple[_Model | None, list[str]]:
    """The model and every problem with ``body`` (class-validator style messages)."""
    name = body.get("model")
    model = MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        return None, [f"model must be one of the following values: {', '.join(MODELS)}"]
    problems: list[str] = []
    for f in model.fields:
        value = body.get(f.name)
        if value is None:
            if f.required:
                problems.append(f"{f.name} should not be empty")
            continue
        if not isinstance(value, f.kind) or (f.kind is int and isinstance(value, bool)):
            problems.append(f"{f.name} must be {_type_name(f.kind)}")
            continue
        if isinstance(value, str):
            if f.required and not value:
                problems.append(f"{f.name} should not be empty")
            elif f.min_len is not None and len(value) < f.min_len:
                problems.append(f"{f.name} must be longer than or equal to {f.min_len} characters")
            elif f.max_len is not None and len(value) > f.max_len:
                problems.append(f"{f.name} must be shorter than or equal to {f.max_len} characters")
    ref = body.get("reference_audio_url")
    if model.legacy_reference and isinstance(ref, str) and ref:
        parts = urlsplit(ref)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append("reference_audio_url must be a URL address")
        elif not parts.path.lower().endswith((".wav", ".mp3")):
            problems.append("reference_audio_url must be a .wav or .mp3 file")
    setting = body.get("audio_setting")
    if setting is not None:
        if model.rate_key is None:
            problems.append("property audio_setting should not exist")
        elif not isinstance(setting, dict):
            problems.append("audio_setting must be an object")
        else:
            allowed = {model.rate_key: SAMPLE_RATES, "bitrate": BITRATES, "format": FORMATS}
            for key, value in setting.items():
                if key not in allowed:
                    problems.append(f"audio_setting.property {key} should not exist")
                elif value not in allowed[key] or isinstance(value, bool):
                    values = ", ".join(str(v) for v in allowed[key])
                    problems.append(f"audio_setting.{key} must be one of the following values: {values}")
    return model, problems


class _Routes:
    def __init__(self, ctx: Context, provider: str) -> None:
        self.ctx = ctx
        self.provider = provider

    def _unauthorized(self) -> Response:
        return error(401, "Unauthorized")

    def _new_id(self) -> str:
        h = self.ctx.engine.rand_hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    @staticmethod
    def _meta(job: EmuJob) -> dict[str, Any] | None:
        model = MODELS.get(job.model)
        if model is None or model.usd is None:
            return None
        return {"usage": {"credits_used": round(model.usd * 2_000_000), "usd_spent": model.usd}}

    async def submit(self, request: Request) -> Response:
        if self.ctx.auth_problem(self.provider, request):
            return self._unauthorized()
        body, reason = parse_json_body(await request.body())
        if reason is not None or not isinstance(body, dict):
            return error(400, [reason or "request body must be a JSON object"])
        model, problems = validate(body)
        if model is None or problems:
            return error(400, problems)
        setting = body.get("audio_setting") or {}
        rate_key = model.rate_key or "audio_sample_rate"
        lyrics = body.get("lyrics") or ""
        prompt = body.get("prompt") or ""
        if model.legacy_reference:  # the legacy model's prompt is the lyrics
            lyrics, prompt = prompt, ""
        job = self.ctx.engine.create(
            self.provider, self._new_id, model=model.name, lyrics=lyrics, prompt=prompt,
            style=prompt or "pop", title="", sample_rate=int(setting.get(rate_key, 44100)),
            bitrate=int(setting.get("bitrate", 256000)), fmt=str(setting.get("format", "mp3")),
            instrumental=bool(body.get("is_instrumental", False)) or not lyrics.strip(),
            max_duration_s=model.max_duration_s,
        )
        out: dict[str, Any] = {"id": job.id, "status": "queued"}
        meta = self._meta(job)
        if meta is not None:
            out["meta"] = meta
        return json_response(out)

    async def poll(self, request: Request) -> Response:
        if self.ctx.auth_problem(self.provider, request):
            return self._unauthorized()
        gid = request.query_params.get("generation_id")
        if not gid:
            return error(400, ["generation_id should not be empty"])
        job = self.ctx.engine.get(self.provider, gid)
        if job is None:
            return error(404, f"Generation {gid} not found")
        phase = job.phase(self.ctx.engine.now())
        out: dict[str, Any] = {"id": job.id, "status": "queued", "audio_file": None, "error": None}
        if phase is Phase.RUNNING:
            out["status"] = "generating"
        elif phase is Phase.MODERATED:
            out["status"] = "error"
            out["error"] = {"name": "ContentModerationError",
                            "message": "The input was flagged by content moderation (sensitive content)."}
        elif phase in (Phase.COMPLETED, Phase.POST_MODERATED):
            audio = await self.ctx.audio(job)
            out["status"] = "completed"
            out["audio_file"] = {"url": self.ctx.file_url(request, job, audio.ext),
                                 "duration": round(audio.duration_s, 2)}
        meta = self._meta(job)
        if meta is not None:
            out["meta"] = meta
        return json_response(out)


_PURPOSES = {"song": ("voice_id", "instrumental_id"), "voice": ("voice_id",),
             "instrumental": ("instrumental_id",)}


def _form_fields(content_type: str, raw: bytes) -> dict[str, bytes]:
    """The parts of a ``multipart/form-data`` body by name (no dependency on python-multipart)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    out: dict[str, bytes] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            out[name] = payload
    return out


class _Music01:
    """``music-01``'s upload and blocking generate (the reference ids live as long as the emulator)."""

    def __init__(self, ctx: Context, provider: str) -> None:
        self.ctx = ctx
        self.provider = provider
        self.refs: set[str] = set()

    def _ref(self, kind: str) -> str:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(self.ctx.engine.now())) + "00"
        ref = f"{'vocal' if kind == 'voice_id' else 'instrumental'}-{stamp}-{self.ctx.engine.rand_alnum(8)}"
        self.refs.add(ref)
        return ref

    async def upload(self, request: Request) -> Response:
        if self.ctx.auth_problem(self.provider, request):
            return error(401, "Unauthorized")
        fields = _form_fields(request.headers.get("content-type", ""), await request.body())
        purpose = fields.get("purpose", b"").decode("utf-8", "replace")
        problems = []
        if purpose not in _PURPOSES:
            problems.append(f"purpose must be one of the following values: {', '.join(_PURPOSES)}")
        if not fields.get("file"):
            problems.append("file should not be empty")
        if problems:
            return error(400, problems)
        out: dict[str, Any] = {kind: self._ref(kind) for kind in _PURPOSES[purpose]}
        out.update(trace_id=self.ctx.engine.rand_hex(32),
                   base_resp={"status_code": 0, "status_msg": "success"})
        return json_response(out)

    async def generate(self, request: Request) -> Response:
        if self.ctx.auth_problem(self.provider, request):
            return error(401, "Unauthorized")
        body, reason = parse_json_body(await request.body())
        if reason is not None or not isinstance(body, dict):
            return error(400, [reason or "request body must be a JSON object"])
        problems: list[str] = []
        if body.get("model") != "music-01":
            problems.append("model must be one of the following values: music-01")
        lyrics = body.get("lyrics")
        if not isinstance(lyrics, str) or not lyrics.strip():
            problems.append("lyrics should not be empty")
        voice, inst = body.get("refer_voice"), body.get("refer_instrumental")
        if not voice and not inst:
            problems.append("at least one of refer_voice or refer_instrumental is required")
        for name, ref in (("refer_voice", voice), ("refer_instrumental", inst)):
            if ref and ref not in self.refs:
                problems.append(f"{name} {ref!r} was not uploaded")
        setting = body.get("audio_setting")
        if setting is not None:
            allowed = {"sample_rate": SAMPLE_RATES, "bitrate": BITRATES, "format": FORMATS}
            if not isinstance(setting, dict):
                problems.append("audio_setting must be an object")
            else:
                for key, values in allowed.items():
                    if key not in setting:
                        problems.append(f"audio_setting.{key} should not be empty")
                    elif setting[key] not in values or isinstance(setting[key], bool):
                        shown = ", ".join(str(v) for v in values)
                        problems.append(f"audio_setting.{key} must be one of the following values: {shown}")
        if problems:
            return error(400, problems)
        setting = setting or {}
        trace_id = self.ctx.engine.rand_hex(32)
        text = str(lyrics)
        job = self.ctx.engine.create(
            self.provider, trace_id, model="music-01", lyrics=text, prompt="", style="pop",
            sample_rate=int(setting.get("sample_rate", 44100)), bitrate=int(setting.get("bitrate", 256000)),
            fmt=str(setting.get("format", "mp3")), instrumental=not voice, max_duration_s=60.0,
        )
        if job.moderated:
            await self.ctx.wait_until(job.started_at)
            return json_response({"trace_id": trace_id,
                                  "base_resp": {"status_code": 1026, "status_msg": "input sensitive"}})
        await self.ctx.wait_done(job)
        audio = await self.ctx.audio(job)
        return json_response({
            "data": {"audio": audio.data.hex(), "status": 2}, "trace_id": trace_id,
            "extra_info": {"music_duration": round(audio.duration_s * 1000),
                           "music_sample_rate": audio.sample_rate, "music_channel": audio.channels,
                           "bitrate": audio.bitrate, "music_size": len(audio.data)},
            "base_resp": {"status_code": 0, "status_msg": "success"}})


def routes(ctx: Context, prefix: str = "/aimlapi", provider: str = "aimlapi") -> list[BaseRoute]:
    """The AIML routes under ``prefix``, reporting as ``provider``."""
    r = _Routes(ctx, provider)
    m01 = _Music01(ctx, provider)
    audio = ByMethod({"POST": Endpoint(ctx, provider, "submit", r.submit, _shaper),
                      "GET": Endpoint(ctx, provider, "poll", r.poll, _shaper)})
    return [Route(f"{prefix}/v2/generate/audio", audio, methods=["GET", "POST"]),
            Route(f"{prefix}/v2/generate/audio/minimax/upload",
                  Endpoint(ctx, provider, "list", m01.upload, _shaper), methods=["POST"]),
            Route(f"{prefix}/v2/generate/audio/minimax/generate",
                  Endpoint(ctx, provider, "submit", m01.generate, _shaper), methods=["POST"]),
            *not_found_route(ctx, prefix, provider, lambda req: error(
                404, f"Cannot {req.method} {req.url.path.removeprefix(prefix) or '/'}"), _shaper)]
