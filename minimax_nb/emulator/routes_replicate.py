"""Replicate's predictions API for the official ``minimax/*`` music models, under ``/replicate``.

From ``shared/specs/FAL_REPLICATE.md`` §2 (point ``replicate.Client(base_url=…/replicate)`` here):

- ``POST /v1/models/<owner>/<name>/predictions`` ``{"input": {…}, "webhook"?, …}`` and
  ``POST /v1/predictions`` ``{"version": <64 hex>, "input": {…}}`` → ``201`` the prediction object.
  ``Prefer: wait`` (or ``wait=N``, at most 60 s) holds the answer until the prediction is final or the
  wait runs out (then it answers its current status; never a ``processing`` that is not real).
  ``Cancel-After: 1m`` (``s``/``m``/``h`` or seconds) sets a deadline: ``aborted`` when it passes before
  the run started, ``canceled`` when during.
- ``GET /v1/predictions/<id>``; ``POST /v1/predictions/<id>/cancel`` → the prediction object.
- ``GET /v1/models/<owner>/<name>/versions/<id>`` → ``{"id", "created_at", "cog_version", "openapi_schema"}``.
- Prediction object: ``id, model, version, input, logs, output, error, status, created_at, started_at,
  completed_at, data_removed, metrics{predict_time,total_time}, urls{get, cancel, stream, web}``; status
  ``starting|processing|succeeded|failed|canceled|aborted``; ``output`` one URI string. One hour after a
  prediction finished its input, output and logs are deleted (``data_removed: true``, ``output: null``).
- Moderation: ``failed`` with ``error`` "The input or output was flagged as sensitive… (E005)".
- Errors are RFC 7807 (``application/problem+json``) ``{"title", "detail", "status"}``; input problems
  are ``422`` with ``invalid_fields``. Every other path under ``/replicate`` answers a 404 problem.

Auth: ``Authorization: Bearer <token>`` (``Token <token>``, the older scheme, is accepted too).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import re
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from minimax_nb.emulator.common import (
    ByMethod,
    Context,
    Endpoint,
    ErrorShaper,
    json_response,
    parse_json_body,
    retry_after_header,
)
from minimax_nb.emulator.engine import EmuJob, Phase

__all__ = ["DATA_RETENTION_S", "MODELS", "PROVIDER", "VERSIONS", "error", "routes"]

PROVIDER = "replicate"
#: Inputs, outputs and logs of API predictions are deleted this long after they finish.
DATA_RETENTION_S = 3600.0
#: Longest ``Prefer: wait``.
MAX_WAIT_S = 60.0
SAMPLE_RATES = (16000, 24000, 32000, 44100)
BITRATES = (32000, 64000, 128000, 256000)
FORMATS = ("mp3", "wav", "pcm")
MODERATED_ERROR = ("The input or output was flagged as sensitive. Please try again with different inputs. "
                   "(E005)")


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: type
    required: bool = False
    min_len: int | None = None
    max_len: int | None = None
    choices: tuple[Any, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class _Model:
    name: str
    version: str
    fields: tuple[_Field, ...]
    max_duration_s: float = 240.0


_AUDIO = (_Field("sample_rate", int, choices=SAMPLE_RATES), _Field("bitrate", int, choices=BITRATES))

MODELS: dict[str, _Model] = {
    m.name: m
    for m in (
        _Model("minimax/music-01", "0254c7e2f54315b667dbae03da7c155822ba29ffe0457be5bc246d564be486bd",
               (_Field("lyrics", str, False, None, 400), _Field("song_file", str), _Field("voice_file", str),
                _Field("instrumental_file", str), _Field("voice_id", str), _Field("instrumental_id", str),
                *_AUDIO), max_duration_s=60.0),
        _Model("minimax/music-1.5", "70c8395540eae909be2c09a0b4897d22ee2455a5e5c9826b71161743b5cc45f1",
               (_Field("prompt", str, True, 10, 300), _Field("lyrics", str, True, 10, 600), *_AUDIO,
                _Field("audio_format", str, choices=FORMATS))),
        _Model("minimax/music-2.5", "f2100977b6ce90322ab00443b76d48f079435c1d903c4805517f89d2b8cc9c5a",
               (_Field("prompt", str, False, 0, 2000), _Field("lyrics", str, True, 1, 3500), *_AUDIO,
                _Field("audio_format", str, choices=FORMATS))),
        _Model("minimax/music-2.6", "5a9d1b0e3c7f48e2b6a1d4c8e9f0a7b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7",
               (_Field("prompt", str, False, 0, 2000), _Field("lyrics", str, False, 0, 3500), *_AUDIO,
                _Field("audio_format", str, choices=FORMATS), _Field("is_instrumental", bool),
                _Field("lyrics_optimizer", bool)), max_duration_s=360.0),
    )
}
#: version id → model (music-2.6's id is the emulator's own: the stored pages name none).
VERSIONS: dict[str, _Model] = {m.version: m for m in MODELS.values()}
VERSIONS["75fc11fc" + "0" * 56] = MODELS["minimax/music-01"]


def problem(status: int, detail: str, *, title: str | None = None, retry_after: float | None = None,
            **extra: Any) -> Response:
    """An RFC 7807 problem answer."""
    body: dict[str, Any] = {"title": title or HTTPStatus(status).phrase, "detail": detail, "status": status}
    body.update(extra)
    resp = json_response(body, status, retry_after_header(retry_after))
    resp.headers["content-type"] = "application/problem+json"
    return resp


def error(status: int, message: str, *, retry_after: float | None = None) -> Response:
    """The shaper for faults: a problem answer (429 uses Replicate's throttling sentence)."""
    if status == 429:
        wait = int(retry_after or 30)
        message = f"Request was throttled. Your rate limit resets in ~{wait}s."
    return problem(status, message, retry_after=retry_after)


_shaper: ErrorShaper = error


def validate(model: _Model, inp: dict[str, Any]) -> list[dict[str, str]]:
    """Every problem of ``inp`` for ``model``, as Replicate's ``invalid_fields`` items."""
    out: list[dict[str, str]] = []
    known = {f.name for f in model.fields}
    for f in model.fields:
        value = inp.get(f.name)
        if value is None:
            if f.required:
                out.append({"type": "required", "field": f"input.{f.name}",
                            "description": f"{f.name} is required"})
            continue
        if not isinstance(value, f.kind) or (f.kind is not bool and isinstance(value, bool)):
            kind = {str: "string", int: "integer", bool: "boolean"}.get(f.kind, f.kind.__name__)
            out.append({"type": "invalid_type", "field": f"input.{f.name}",
                        "description": f"Invalid type. Expected: {kind}"})
            continue
        if f.choices and value not in f.choices:
            out.append({"type": "enum", "field": f"input.{f.name}",
                        "description": f"{f.name} must be one of the following: "
                                       + ", ".join(_show(c) for c in f.choices)})
        if isinstance(value, str):
            if f.min_len is not None and len(value) < f.min_len:
                out.append({"type": "string_gte", "field": f"input.{f.name}",
                            "description": f"String length must be greater than or equal to {f.min_len}"})
            elif f.max_len is not None and len(value) > f.max_len:
                out.append({"type": "string_lte", "field": f"input.{f.name}",
                            "description": f"String length must be less than or equal to {f.max_len}"})
    if model.name == "minimax/music-2.6":
        instrumental = bool(inp.get("is_instrumental"))
        if instrumental and not str(inp.get("prompt") or "").strip():
            out.append({"type": "required", "field": "input.prompt",
                        "description": "prompt is required when is_instrumental is true"})
        if not instrumental and not inp.get("lyrics_optimizer") and not str(inp.get("lyrics") or "").strip():
            out.append({"type": "required", "field": "input.lyrics",
                        "description": "lyrics is required unless is_instrumental or lyrics_optimizer"})
    if model.name == "minimax/music-01" and not str(inp.get("lyrics") or "").strip():
        out.append({"type": "required", "field": "input.lyrics", "description": "lyrics is required"})
    for key in inp:
        if key not in known:
            out.append({"type": "additional_property_not_allowed", "field": f"input.{key}",
                        "description": f"Additional property {key} is not allowed"})
    return out


def _show(choice: Any) -> str:
    return f'"{choice}"' if isinstance(choice, str) else str(choice)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def _duration_s(text: str | None) -> float | None:
    m = _DURATION.match(text or "")
    if m is None:
        return None
    return float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}[m.group(2)]


def _wait_s(prefer: str | None) -> float | None:
    """Seconds a ``Prefer: wait[=N]`` asks to hold (capped at 60); ``None`` without it."""
    for part in (prefer or "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "wait":
            n = _duration_s(value) if value else None
            return min(MAX_WAIT_S, n if n is not None else MAX_WAIT_S)
    return None


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Routes:
    def __init__(self, ctx: Context, prefix: str) -> None:
        self.ctx = ctx
        self.prefix = prefix

    def _auth(self, request: Request) -> Response | None:
        problem_ = self.ctx.auth_problem(PROVIDER, request)
        if problem_ is not None and self.ctx.auth_problem(PROVIDER, request, scheme="token") is not None:
            return problem(401, "You did not pass a valid authentication token", title="Unauthenticated")
        return None

    def _new_id(self) -> str:
        """26 characters of lowercase base32, like ``gm3qorzdhgbfurvjtvhg6dckhu``."""
        alphabet = "abcdefghijklmnopqrstuvwxyz234567"
        h = self.ctx.engine.rand_hex(52)
        return "".join(alphabet[int(h[i:i + 2], 16) % 32] for i in range(0, 52, 2))

    # -- the prediction object -------------------------------------------------------------------------
    def _state(self, job: EmuJob, now: float) -> tuple[str, float | None]:
        """The prediction's status and when it became final (``None`` while open)."""
        cancelled = job.extra.get("cancelled_at")
        deadline = job.extra.get("deadline")
        if isinstance(deadline, float) and now >= deadline and (cancelled is None or deadline < cancelled) \
                and deadline < job.done_at and not job.moderated:
            return ("aborted" if deadline < job.started_at else "canceled"), deadline
        if isinstance(cancelled, float):
            return "canceled", cancelled
        phase = job.phase(now)
        if phase is Phase.QUEUED:
            return "starting", None
        if phase is Phase.MODERATED:
            return "failed", job.started_at
        if phase is Phase.RUNNING:
            return "processing", None
        return "succeeded", job.done_at

    async def prediction(self, request: Request, job: EmuJob) -> dict[str, Any]:
        now = self.ctx.engine.now()
        status, ended = self._state(job, now)
        removed = ended is not None and now >= ended + DATA_RETENTION_S
        base = f"{str(request.base_url).rstrip('/')}{self.prefix}/v1/predictions/{job.id}"
        started = job.started_at if now >= job.started_at and status != "aborted" else None
        out: dict[str, Any] = {
            "id": job.id, "model": job.model, "version": job.extra.get("version", ""),
            "input": {} if removed else dict(job.extra.get("input", {})),
            "logs": "" if removed else self._logs(job, now, status),
            "output": None, "error": None, "status": status, "source": "api",
            "created_at": _iso(job.created_at), "started_at": _iso(started), "completed_at": _iso(ended),
            "data_removed": removed,
            "urls": {"get": base, "cancel": base + "/cancel", "stream": base + "/stream",
                     "web": f"https://replicate.com/p/{job.id}"},
        }
        if ended is not None and started is not None:
            out["metrics"] = {"predict_time": round(max(0.0, ended - started), 3),
                              "total_time": round(ended - job.created_at, 3)}
        if status == "failed":
            out["error"] = MODERATED_ERROR
        elif status == "succeeded" and not removed:
            audio = await self.ctx.audio(job)
            out["output"] = self.ctx.file_url(request, job, audio.ext)
        return out

    @staticmethod
    def _logs(job: EmuJob, now: float, status: str) -> str:
        if status in ("starting", "aborted"):
            return ""
        lines = ["Generating music…"]
        if status == "processing":
            lines.append(f"{round(100 * job.progress(now))}%")
        elif status == "succeeded":
            lines.append("Done.")
        return "\n".join(lines)

    # -- handlers -------------------------------------------------------------------------------------
    async def _create(self, request: Request, model: _Model | None, body: Any) -> Response:
        if model is None:
            return problem(404, "The requested resource could not be found.", title="Not found")
        inp = body.get("input")
        if not isinstance(inp, dict):
            return problem(422, "- input: Invalid type. Expected: object, given: " + type(inp).__name__,
                           title="Input validation failed",
                           invalid_fields=[{"type": "invalid_type", "field": "input",
                                            "description": "Invalid type. Expected: object"}])
        problems = validate(model, inp)
        if problems:
            detail = "\n".join(f"- {p['field']}: {p['description']}" for p in problems)
            return problem(422, detail, title="Input validation failed", invalid_fields=problems)
        lyrics = str(inp.get("lyrics") or "")
        style = str(inp.get("prompt") or "")
        fmt = str(inp.get("audio_format", "mp3"))
        job = self.ctx.engine.create(
            PROVIDER, self._new_id, model=model.name, lyrics=lyrics, prompt=style, style=style or "pop",
            sample_rate=int(inp.get("sample_rate", 44100)), bitrate=int(inp.get("bitrate", 256000)), fmt=fmt,
            instrumental=bool(inp.get("is_instrumental")) or not lyrics.strip(),
            max_duration_s=model.max_duration_s,
            extra={"input": dict(inp), "version": model.version},
        )
        cancel_after = _duration_s(request.headers.get("cancel-after"))
        if cancel_after is not None:
            job.extra["deadline"] = float(job.created_at + cancel_after)
        wait = _wait_s(request.headers.get("prefer"))
        if wait is not None:
            with_final = self._final_at(job)
            try:
                async with asyncio.timeout(wait):
                    await self.ctx.wait_until(with_final)
            except TimeoutError:
                pass
        return json_response(await self.prediction(request, job), 201)

    @staticmethod
    def _final_at(job: EmuJob) -> float:
        deadline = job.extra.get("deadline")
        end = job.started_at if job.moderated else job.done_at
        return min(end, deadline) if isinstance(deadline, float) else end

    async def create_for_model(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        body, reason = parse_json_body(await request.body())
        if reason is not None or not isinstance(body, dict):
            return problem(400, reason or "request body must be a JSON object", title="Bad request")
        name = f"{request.path_params['owner']}/{request.path_params['name']}"
        return await self._create(request, MODELS.get(name), body)

    async def create(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        body, reason = parse_json_body(await request.body())
        if reason is not None or not isinstance(body, dict):
            return problem(400, reason or "request body must be a JSON object", title="Bad request")
        version = body.get("version")
        if not isinstance(version, str) or not version:
            return problem(422, "- version: version is required", title="Input validation failed",
                           invalid_fields=[{"type": "required", "field": "version",
                                            "description": "version is required"}])
        model = VERSIONS.get(version.rpartition(":")[2])
        if model is None:
            return problem(422, f"Invalid version or not permitted: {version}", title="Invalid version")
        return await self._create(request, model, body)

    def _find(self, request: Request) -> tuple[EmuJob | None, Response | None]:
        denied = self._auth(request)
        if denied is not None:
            return None, denied
        job = self.ctx.engine.get(PROVIDER, request.path_params["id"])
        if job is None:
            return None, problem(404, "The requested resource could not be found.", title="Not found")
        return job, None

    async def get(self, request: Request) -> Response:
        job, refused = self._find(request)
        if job is None:
            assert refused is not None
            return refused
        return json_response(await self.prediction(request, job))

    async def cancel(self, request: Request) -> Response:
        job, refused = self._find(request)
        if job is None:
            assert refused is not None
            return refused
        now = self.ctx.engine.now()
        _, ended = self._state(job, now)
        if ended is None:
            job.extra["cancelled_at"] = float(now)
        return json_response(await self.prediction(request, job))

    async def version(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        name = f"{request.path_params['owner']}/{request.path_params['name']}"
        model = VERSIONS.get(request.path_params["version"])
        if model is None or model.name != name:
            return problem(404, "The requested resource could not be found.", title="Not found")
        props: dict[str, Any] = {}
        for f in model.fields:
            kind = {str: "string", int: "integer", bool: "boolean"}[f.kind]
            prop: dict[str, Any] = {"type": kind, "title": f.name}
            if f.choices:
                prop["enum"] = list(f.choices)
            props[f.name] = prop
        schema = {"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"}, "paths": {},
                  "components": {"schemas": {
                      "Input": {"type": "object", "title": "Input", "properties": props,
                                "required": [f.name for f in model.fields if f.required]},
                      "Output": {"type": "string", "title": "Output", "format": "uri"}}}}
        return json_response({"id": model.version, "created_at": "2025-01-01T00:00:00.000000Z",
                              "cog_version": "0.13.6", "openapi_schema": schema})

    async def not_found(self, request: Request) -> Response:
        return problem(404, "The requested resource could not be found.", title="Not found")


def routes(ctx: Context, prefix: str = "/replicate") -> list[BaseRoute]:
    """The Replicate routes under ``prefix``."""
    r = _Routes(ctx, prefix)
    anything = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    lost = Endpoint(ctx, PROVIDER, "other", r.not_found, _shaper)
    return [
        Route(f"{prefix}/v1/models/{{owner:str}}/{{name:str}}/predictions",
              Endpoint(ctx, PROVIDER, "submit", r.create_for_model, _shaper), methods=["POST"]),
        Route(f"{prefix}/v1/predictions", Endpoint(ctx, PROVIDER, "submit", r.create, _shaper),
              methods=["POST"]),
        Route(f"{prefix}/v1/predictions/{{id:str}}", Endpoint(ctx, PROVIDER, "poll", r.get, _shaper),
              methods=["GET"]),
        Route(f"{prefix}/v1/predictions/{{id:str}}/cancel",
              Endpoint(ctx, PROVIDER, "cancel", r.cancel, _shaper), methods=["POST"]),
        Route(f"{prefix}/v1/models/{{owner:str}}/{{name:str}}/versions/{{version:str}}",
              Endpoint(ctx, PROVIDER, "list", r.version, _shaper), methods=["GET"]),
        Route(f"{prefix}/{{rest:path}}", ByMethod({m: lost for m in anything}), methods=anything),
        Route(prefix, lost, methods=anything),
    ]
