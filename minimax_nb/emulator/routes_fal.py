"""fal.ai's queue (under ``/fal``) and its synchronous run host (under ``/falrun``).

From ``shared/specs/FAL_REPLICATE.md`` §1 (what fal documents, and what the unmodified ``fal_client``
1.0.3 needs; point it here with ``FAL_QUEUE_RUN_HOST=127.0.0.1:PORT/fal`` and
``FAL_RUN_HOST=127.0.0.1:PORT/falrun`` over the emulator's TLS listener):

- ``POST /fal/<endpoint id>`` (the full id, subpath included) with the model's input object →
  ``200 {"request_id", "response_url", "status_url", "cancel_url", "queue_position"}``. The three URLs
  drop the endpoint's subpath: ``…/fal/<owner>/<alias>/requests/<id>[/status|/cancel]``.
- ``GET /fal/<owner>/<alias>/requests/<id>/status?logs=true|false|1|0`` →
  ``{"status": "IN_QUEUE", "queue_position", "logs"}`` / ``{"status": "IN_PROGRESS", "logs"}`` /
  ``{"status": "COMPLETED", "logs", "metrics"}`` (+ ``error``/``error_type`` when the request failed);
  ``logs`` is always present (``null`` unless asked for).
- ``GET /fal/<owner>/<alias>/requests/<id>`` → ``{"audio": {"url", "content_type", "file_name",
  "file_size"}}``; a moderated request answers ``422 {"detail": [{"type": "content_policy_violation",
  …}]}`` there; one still running ``400 {"detail": "Request is still in progress"}``.
- ``PUT /fal/<owner>/<alias>/requests/<id>/cancel`` → ``202 {"status": "CANCELLATION_REQUESTED"}``,
  ``400 {"status": "ALREADY_COMPLETED"}``, ``404 {"status": "NOT_FOUND"}``. A cancelled request then
  reads ``COMPLETED`` with ``error_type: "request_cancelled"`` (fal's client knows only the three
  statuses; the exact cancelled shape is not documented — our choice).
- ``POST /falrun/<endpoint id>`` runs synchronously: the output, once the song is made.

Auth: ``Authorization: Key <key>``; anything else (a Bearer key too) → ``401 {"detail": "Unauthorized"}``.
Input errors answer at submit, pydantic-style: ``422 {"detail": [{"loc": ["body", field], "msg",
"type"}]}`` (fal documents this shape; whether the queue checks at submit or at run is not — our choice).
Every other path under ``/fal`` answers ``404 {"detail": "Not Found"}``. Error answers carry
``X-Fal-Request-Id`` when they concern a request and ``X-Fal-Error-Type`` for request errors.
"""

from __future__ import annotations

import dataclasses
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

__all__ = ["MODELS", "PROVIDER", "error", "routes"]

PROVIDER = "fal"
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
    #: the input key holding the lyrics and the one holding the style description
    lyrics_key: str
    style_key: str | None
    audio_setting: bool = True
    #: lyrics required unless ``is_instrumental`` (or ``lyrics_optimizer``, when the model has it)
    lyrics_unless: tuple[str, ...] = ()
    max_duration_s: float = 240.0


MODELS: dict[str, _Model] = {
    m.name: m
    for m in (
        _Model("fal-ai/minimax-music", (_Field("prompt", str, True, 1, 600),
                                        _Field("reference_audio_url", str, True)),
               lyrics_key="prompt", style_key=None, audio_setting=False, max_duration_s=60.0),
        _Model("fal-ai/minimax-music/v1.5", (_Field("prompt", str, True, 10, 600),
                                             _Field("lyrics_prompt", str, True, 10, 3000)),
               lyrics_key="prompt", style_key="lyrics_prompt"),
        _Model("fal-ai/minimax-music/v2", (_Field("prompt", str, True, 10, 300),
                                           _Field("lyrics_prompt", str, True, 10, 3000)),
               lyrics_key="lyrics_prompt", style_key="prompt"),
        _Model("fal-ai/minimax-music/v2.5", (_Field("prompt", str, True, 1, 2000),
                                             _Field("lyrics", str, False, None, 3500),
                                             _Field("is_instrumental", bool),
                                             _Field("lyrics_optimizer", bool)),
               lyrics_key="lyrics", style_key="prompt",
               lyrics_unless=("is_instrumental", "lyrics_optimizer")),
        _Model("fal-ai/minimax-music/v2.6", (_Field("prompt", str, True, 10, 300),
                                             _Field("lyrics", str, False, None, 1000),
                                             _Field("is_instrumental", bool)),
               lyrics_key="lyrics", style_key="prompt", lyrics_unless=("is_instrumental",)),
        _Model("minimax/music-3", (_Field("prompt", str, True, 1, None), _Field("lyrics", str, False)),
               lyrics_key="lyrics", style_key="prompt", audio_setting=False),
    )
}


def error(status: int, message: str, *, retry_after: float | None = None) -> Response:
    """fal's error shape: ``{"detail": <message>}`` (5xx/429 faults add ``X-Fal-Error-Type``)."""
    headers = retry_after_header(retry_after)
    if status >= 500 or status == 429:
        kinds = {429: "rate_limited", 504: "request_timeout"}
        headers["X-Fal-Error-Type"] = kinds.get(status, "internal_error")
    return json_response({"detail": message}, status, headers)


_shaper: ErrorShaper = error


def _owner_alias(app: str) -> str:
    return "/".join(app.strip("/").split("/")[:2])


def _problem(field: str, msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", field], "msg": msg, "type": kind}


def validate(model: _Model, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every problem of ``body`` for ``model``, as pydantic-style ``detail`` items."""
    problems: list[dict[str, Any]] = []
    known = {f.name for f in model.fields} | ({"audio_setting"} if model.audio_setting else set())
    for f in model.fields:
        value = body.get(f.name)
        if value is None:
            if f.required:
                problems.append(_problem(f.name, "field required", "value_error.missing"))
            continue
        if not isinstance(value, f.kind) or (f.kind is not bool and isinstance(value, bool)):
            kind = {str: "str", bool: "bool"}.get(f.kind, f.kind.__name__)
            problems.append(_problem(f.name, f"value is not a valid {kind}", f"type_error.{kind}"))
            continue
        if isinstance(value, str):
            if f.min_len is not None and len(value) < f.min_len:
                problems.append(_problem(f.name, f"ensure this value has at least {f.min_len} characters",
                                         "value_error.any_str.min_length"))
            elif f.max_len is not None and len(value) > f.max_len:
                problems.append(_problem(f.name, f"ensure this value has at most {f.max_len} characters",
                                         "value_error.any_str.max_length"))
    if model.lyrics_unless:
        lyrics = body.get(model.lyrics_key)
        waived = any(body.get(k) for k in model.lyrics_unless)
        if not (isinstance(lyrics, str) and lyrics.strip()) and not waived:
            unless = " or ".join(model.lyrics_unless)
            problems.append(_problem(model.lyrics_key, f"lyrics are required unless {unless}", "value_error"))
    setting = body.get("audio_setting")
    if setting is not None and model.audio_setting:
        if not isinstance(setting, dict):
            problems.append(_problem("audio_setting", "value is not a valid dict", "type_error.dict"))
        else:
            allowed = {"sample_rate": SAMPLE_RATES, "bitrate": BITRATES, "format": FORMATS}
            for key, value in setting.items():
                if key not in allowed:
                    problems.append({"loc": ["body", "audio_setting", key],
                                     "msg": "extra fields not permitted", "type": "value_error.extra"})
                elif isinstance(value, bool) or value not in allowed[key]:
                    values = ", ".join(repr(v) for v in allowed[key])
                    problems.append({"loc": ["body", "audio_setting", key],
                                     "msg": f"value is not a valid enumeration member; permitted: {values}",
                                     "type": "type_error.enum"})
    for key in body:
        if key not in known:
            problems.append(_problem(key, "extra fields not permitted", "value_error.extra"))
    return problems


def _bool_param(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


class _Routes:
    def __init__(self, ctx: Context, prefix: str) -> None:
        self.ctx = ctx
        self.prefix = prefix

    def _unauthorized(self) -> Response:
        return json_response({"detail": "Unauthorized"}, 401)

    def _auth(self, request: Request) -> Response | None:
        return self._unauthorized() if self.ctx.auth_problem(PROVIDER, request, scheme="key") else None

    def _new_id(self) -> str:
        h = self.ctx.engine.rand_hex(32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    async def _create(self, request: Request, app: str) -> tuple[EmuJob | None, Response | None]:
        denied = self._auth(request)
        if denied is not None:
            return None, denied
        model = MODELS.get(app.strip("/"))
        if model is None:
            return None, json_response({"detail": f"Application '{app}' not found"}, 404)
        body, reason = parse_json_body(await request.body())
        if reason is not None or not isinstance(body, dict):
            return None, json_response({"detail": [_problem("__root__", reason or "value is not a valid dict",
                                                            "type_error.dict")]}, 422)
        problems = validate(model, body)
        if problems:
            return None, json_response({"detail": problems}, 422)
        setting = body.get("audio_setting") or {}
        lyrics = str(body.get(model.lyrics_key) or "")
        style = str(body.get(model.style_key) or "") if model.style_key else ""
        job = self.ctx.engine.create(
            PROVIDER, self._new_id, model=model.name, lyrics=lyrics, prompt=style, style=style or "pop",
            sample_rate=int(setting.get("sample_rate", 44100)), bitrate=int(setting.get("bitrate", 256000)),
            fmt=str(setting.get("format", "mp3")),
            instrumental=bool(body.get("is_instrumental")) or not lyrics.strip(),
            max_duration_s=model.max_duration_s,
        )
        return job, None

    def _queue_position(self, job: EmuJob, now: float) -> int:
        return sum(1 for j in self.ctx.engine.jobs(PROVIDER)
                   if j.seq < job.seq and j.phase(now) is Phase.QUEUED and not j.extra.get("cancelled"))

    async def submit(self, request: Request) -> Response:
        app = request.path_params["app"]
        job, refused = await self._create(request, app)
        if job is None:
            assert refused is not None
            return refused
        base = f"{str(request.base_url).rstrip('/')}{self.prefix}/{_owner_alias(app)}/requests/{job.id}"
        return json_response({"request_id": job.id, "response_url": base, "status_url": base + "/status",
                              "cancel_url": base + "/cancel",
                              "queue_position": self._queue_position(job, self.ctx.engine.now())},
                             headers={"X-Fal-Request-Id": job.id})

    def _job(self, request: Request) -> tuple[EmuJob | None, Response | None]:
        denied = self._auth(request)
        if denied is not None:
            return None, denied
        rid = request.path_params["request_id"]
        job = self.ctx.engine.get(PROVIDER, rid)
        owner_alias = f"{request.path_params['owner']}/{request.path_params['alias']}"
        if job is None or _owner_alias(job.model) != owner_alias:
            return None, json_response({"detail": "Request not found"}, 404, {"X-Fal-Request-Id": rid})
        return job, None

    def _logs(self, job: EmuJob, now: float) -> list[dict[str, Any]]:
        out = [{"message": "Starting generation", "level": "INFO", "source": "user",
                "timestamp": _iso(job.started_at)}]
        if now >= job.done_at and not job.moderated:
            out.append({"message": "Generation complete", "level": "INFO", "source": "user",
                        "timestamp": _iso(job.done_at)})
        else:
            pct = round(100 * job.progress(now))
            out.append({"message": f"Generating: {pct}%", "level": "INFO", "source": "user",
                        "timestamp": _iso(now)})
        return out

    async def status(self, request: Request) -> Response:
        job, refused = self._job(request)
        if job is None:
            assert refused is not None
            return refused
        now = self.ctx.engine.now()
        with_logs = _bool_param(request.query_params.get("logs"))
        phase = job.phase(now)
        cancelled_at = job.extra.get("cancelled")
        headers = {"X-Fal-Request-Id": job.id}
        if isinstance(cancelled_at, float):
            return json_response({"status": "COMPLETED", "logs": [] if with_logs else None, "metrics": {},
                                  "error": "Request was cancelled", "error_type": "request_cancelled"},
                                 headers=headers)
        if phase is Phase.QUEUED:
            return json_response({"status": "IN_QUEUE", "queue_position": self._queue_position(job, now),
                                  "logs": None}, headers=headers)
        logs = self._logs(job, now) if with_logs else None
        if phase is Phase.RUNNING:
            return json_response({"status": "IN_PROGRESS", "logs": logs}, headers=headers)
        out: dict[str, Any] = {"status": "COMPLETED", "logs": logs,
                               "metrics": {"inference_time": round(job.done_at - job.started_at, 3)}}
        if phase is Phase.MODERATED:
            out["metrics"] = {}
            out["error"] = "The content could not be processed because it was flagged by a content checker."
            out["error_type"] = "content_policy_violation"
        return json_response(out, headers=headers)

    async def _output(self, request: Request, job: EmuJob) -> dict[str, Any]:
        audio = await self.ctx.audio(job)
        content_type = {"mp3": "audio/mpeg", "wav": "audio/wav"}.get(audio.ext, "application/octet-stream")
        return {"audio": {"url": self.ctx.file_url(request, job, audio.ext), "content_type": content_type,
                          "file_name": f"{job.file_id}.{audio.ext}", "file_size": len(audio.data)}}

    def _moderated(self, job: EmuJob) -> Response:
        return json_response({"detail": [{
            "loc": ["body", "prompt"], "type": "content_policy_violation",
            "msg": ("The content could not be processed because it contained material flagged by a content "
                    "checker."),
            "url": "https://docs.fal.ai/errors#content_policy_violation",
            "ctx": {"categories": ["sexual"]}, "input": job.lyrics or job.prompt}]},
            422, {"X-Fal-Request-Id": job.id, "X-Fal-Retryable": "false"})

    async def result(self, request: Request) -> Response:
        job, refused = self._job(request)
        if job is None:
            assert refused is not None
            return refused
        if job.extra.get("cancelled") is not None:
            return json_response({"detail": "Request was cancelled"}, 400,
                                 {"X-Fal-Request-Id": job.id, "X-Fal-Error-Type": "request_cancelled"})
        phase = job.phase(self.ctx.engine.now())
        if phase is Phase.MODERATED:
            return self._moderated(job)
        if phase in (Phase.QUEUED, Phase.RUNNING):
            return json_response({"detail": "Request is still in progress"}, 400,
                                 {"X-Fal-Request-Id": job.id})
        return json_response(await self._output(request, job), headers={"X-Fal-Request-Id": job.id})

    async def cancel(self, request: Request) -> Response:
        job, refused = self._job(request)
        if job is None:
            assert refused is not None
            if refused.status_code == 404:
                return json_response({"status": "NOT_FOUND"}, 404)
            return refused
        now = self.ctx.engine.now()
        if job.extra.get("cancelled") is not None:
            return json_response({"status": "CANCELLATION_REQUESTED"}, 202)
        if not job.is_active(now):
            return json_response({"status": "ALREADY_COMPLETED"}, 400)
        job.extra["cancelled"] = float(now)
        return json_response({"status": "CANCELLATION_REQUESTED"}, 202)

    async def run(self, request: Request) -> Response:
        job, refused = await self._create(request, request.path_params["app"])
        if job is None:
            assert refused is not None
            return refused
        if job.moderated:
            await self.ctx.wait_until(job.started_at)
            return self._moderated(job)
        await self.ctx.wait_done(job)
        return json_response(await self._output(request, job), headers={"X-Fal-Request-Id": job.id})

    async def not_found(self, request: Request) -> Response:
        return json_response({"detail": "Not Found"}, 404)


def _iso(t: float) -> str:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(t, _dt.UTC).isoformat().replace("+00:00", "Z")


def routes(ctx: Context, prefix: str = "/fal", run_prefix: str = "/falrun") -> list[BaseRoute]:
    """The fal queue routes under ``prefix`` and the synchronous run route under ``run_prefix``."""
    r = _Routes(ctx, prefix)
    req = f"{prefix}/{{owner:str}}/{{alias:str}}/requests/{{request_id:str}}"
    lost = Endpoint(ctx, PROVIDER, "other", r.not_found, _shaper)
    anything = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return [
        Route(req + "/status", Endpoint(ctx, PROVIDER, "poll", r.status, _shaper), methods=["GET"]),
        Route(req + "/cancel", Endpoint(ctx, PROVIDER, "cancel", r.cancel, _shaper), methods=["PUT"]),
        Route(req, Endpoint(ctx, PROVIDER, "poll", r.result, _shaper), methods=["GET"]),
        Route(f"{prefix}/{{app:path}}",
              ByMethod({"POST": Endpoint(ctx, PROVIDER, "submit", r.submit, _shaper),
                        **{m: lost for m in anything if m != "POST"}}), methods=anything),
        Route(f"{run_prefix}/{{app:path}}",
              ByMethod({"POST": Endpoint(ctx, PROVIDER, "submit", r.run, _shaper),
                        **{m: lost for m in anything if m != "POST"}}), methods=anything),
        Route(prefix, lost, methods=anything),
    ]

