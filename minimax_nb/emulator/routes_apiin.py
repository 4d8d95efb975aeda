"""apiin.one MiniMax Music, under ``/apiin``.

From PROVIDERS.md §3 and docs/WIRE.md:

- ``POST /api/v1/audio/music`` ``{"model": "minimax-music", "prompt" (required), "lyrics", "bitrate":
  32000|60000|64000|128000|256000 (256000), "sample_rate": 16000|24000|32000|44100 (44100)}`` →
  ``{"code": 200, "message": "success", "data": {"task_id": "n74…_minimax", "status": "IN_PROGRESS"}}``.
- ``GET /api/v1/tasks/{task_id}`` → the same envelope; ``"IN_PROGRESS"`` while working (upper case, as at
  submit), then ``"completed"`` (``audio_url``, ``cover_url``, ``duration`` in seconds) or ``"failed"``
  (``error`` text; moderation says "moderated"). The case differs on purpose: the real service does it.
- Errors: ``{"error": {"code": <status>, "message", "type"}}``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from minimax_nb.emulator.common import (
    Context,
    Endpoint,
    json_response,
    not_found_route,
    parse_json_body,
    retry_after_header,
)
from minimax_nb.emulator.engine import NoBalance, Phase, TooManyActive

__all__ = ["BITRATES", "SAMPLE_RATES", "error", "routes"]

PROVIDER = "apiin"
BITRATES = (32000, 60000, 64000, 128000, 256000)
SAMPLE_RATES = (16000, 24000, 32000, 44100)
_TYPES = {400: "invalid_request", 401: "authentication_error", 402: "insufficient_credits",
          404: "not_found", 429: "rate_limit"}


def error(status: int, message: str, *, retry_after: float | None = None) -> Response:
    """apiin's error shape: ``{"error": {"code", "message", "type"}}``."""
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request")
    return json_response({"error": {"code": status, "message": message, "type": kind}}, status,
                         retry_after_header(retry_after))


def _envelope(data: dict[str, Any]) -> Response:
    return json_response({"code": 200, "message": "success", "data": data})


class _Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def submit(self, request: Request) -> Response:
        if self.ctx.auth_problem(PROVIDER, request):
            return error(401, "Invalid API key")
        body, reason = parse_json_body(await request.body())
        if reason is not None or not isinstance(body, dict):
            return error(400, f"Invalid parameters: {reason or 'body must be a JSON object'}")
        problems: list[str] = []
        if body.get("model") != "minimax-music":
            problems.append("model must be 'minimax-music'")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append("prompt is required")
        lyrics = body.get("lyrics", "")
        if lyrics is None:
            lyrics = ""
        if not isinstance(lyrics, str):
            problems.append("lyrics must be a string")
        bitrate = body.get("bitrate", 256000)
        if isinstance(bitrate, bool) or bitrate not in BITRATES:
            problems.append(f"bitrate must be one of {', '.join(map(str, BITRATES))}")
        rate = body.get("sample_rate", 44100)
        if isinstance(rate, bool) or rate not in SAMPLE_RATES:
            problems.append(f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}")
        if problems:
            return error(400, "Invalid parameters: " + "; ".join(problems))
        assert isinstance(prompt, str) and isinstance(lyrics, str)
        try:
            job = self.ctx.engine.create(
                PROVIDER, lambda: f"n{self.ctx.engine.rand_alnum(10)}_minimax", model="minimax-music",
                lyrics=lyrics, prompt=prompt, style=prompt, title="", sample_rate=int(rate),
                bitrate=int(bitrate), fmt="mp3", instrumental=not lyrics.strip(), max_duration_s=60.0,
            )
        except NoBalance:
            return error(402, "Insufficient credits: a song costs 30 credits")
        except TooManyActive:
            return error(429, "Too many concurrent tasks", retry_after=1)
        return _envelope({"task_id": job.id, "status": "IN_PROGRESS"})

    async def poll(self, request: Request) -> Response:
        if self.ctx.auth_problem(PROVIDER, request):
            return error(401, "Invalid API key")
        task_id = request.path_params["task_id"]
        job = self.ctx.engine.get(PROVIDER, task_id)
        if job is None:
            return error(404, f"Task {task_id} not found")
        phase = job.phase(self.ctx.engine.now())
        data: dict[str, Any] = {"task_id": job.id, "status": "IN_PROGRESS"}
        if phase is Phase.MODERATED:
            data.update(status="failed",
                        error="Generation failed: the input was moderated (sensitive content)")
        elif phase in (Phase.COMPLETED, Phase.POST_MODERATED):
            audio = await self.ctx.audio(job)
            data.update(status="completed", audio_url=self.ctx.file_url(request, job, audio.ext),
                        cover_url=self.ctx.file_url(request, job, "png"), duration=round(audio.duration_s, 2))
        return _envelope(data)


def routes(ctx: Context, prefix: str = "/apiin") -> list[BaseRoute]:
    """The apiin routes under ``prefix``."""
    r = _Routes(ctx)
    return [
        Route(f"{prefix}/api/v1/audio/music", Endpoint(ctx, PROVIDER, "submit", r.submit, error),
              methods=["POST"]),
        Route(f"{prefix}/api/v1/tasks/{{task_id:str}}", Endpoint(ctx, PROVIDER, "poll", r.poll, error),
              methods=["GET"]),
        *not_found_route(ctx, prefix, PROVIDER, lambda req: error(404, "Not found"), error),
    ]
