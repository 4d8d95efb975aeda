"""apiin.one MiniMax music (``provider="apiin"``): a pure adapter.

Submit ``POST /api/v1/audio/music`` ``{"model": "minimax-music", "prompt": <style, required>,
"lyrics", "bitrate", "sample_rate"}`` → ``{"code": 200, "message": "success", "data": {"task_id",
"status": "IN_PROGRESS"}}``; poll ``GET /api/v1/tasks/{task_id}`` until ``completed`` or ``failed``
(statuses compared case-insensitively). Errors: ``{"error": {"code", "message", "type"}}``.
About $0.06 (30 credits) a song.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from minimax_nb.errors import (
    AuthenticationError,
    InsufficientBalanceError,
    MiniMaxError,
    ModerationError,
    NotFoundError,
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
    as_str,
    check_request,
    error_for_status,
    finish,
    mentions_moderation,
    read_json,
    request_id_of,
    retry_after_of,
)

__all__ = ["ApiinAdapter"]

MODEL = "minimax-music"

_STATUS = {
    "in_progress": JobStatus.RUNNING,
    "processing": JobStatus.RUNNING,
    "running": JobStatus.RUNNING,
    "generating": JobStatus.RUNNING,
    "started": JobStatus.RUNNING,
    "pending": JobStatus.QUEUED,
    "queued": JobStatus.QUEUED,
    "in_queue": JobStatus.QUEUED,
    "submitted": JobStatus.QUEUED,
    "created": JobStatus.QUEUED,
    "waiting": JobStatus.QUEUED,
    "completed": JobStatus.COMPLETED,
    "succeeded": JobStatus.COMPLETED,
    "success": JobStatus.COMPLETED,
    "done": JobStatus.COMPLETED,
    "finished": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "error": JobStatus.FAILED,
    "failure": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
    "canceled": JobStatus.CANCELLED,
}

_TYPES: dict[str, type[MiniMaxError]] = {
    "invalid_request": ValidationError,
    "invalid_request_error": ValidationError,
    "authentication_error": AuthenticationError,
    "insufficient_credits": InsufficientBalanceError,
    "not_found": NotFoundError,
    "rate_limit": RateLimitError,
    "server_error": ServerError,
    "moderation": ModerationError,
    "content_policy": ModerationError,
}


def _audio_url(data: Mapping[str, Any]) -> str | None:
    """The audio URL wherever apiin puts it (``audio_url``, ``audioUrl``, ``output.audio_url``,
    ``result.audio_url``, ``url``)."""
    for key in ("audio_url", "audioUrl"):
        v = as_str(data.get(key))
        if v:
            return v
    for nest in ("output", "result"):
        inner = data.get(nest)
        if isinstance(inner, Mapping):
            for key in ("audio_url", "audioUrl", "url"):
                v = as_str(inner.get(key))
                if v:
                    return v
        if isinstance(inner, list) and inner and isinstance(inner[0], Mapping):
            v = as_str(inner[0].get("audio_url")) or as_str(inner[0].get("url"))
            if v:
                return v
    return as_str(data.get("url"))


class ApiinAdapter(ProviderAdapter):
    """apiin.one ``/api/v1/audio/music``: submit then poll ``/api/v1/tasks/{task_id}``."""

    name: ClassVar[str] = "apiin"
    env_key: ClassVar[str] = "APIIN_API_KEY"
    default_base_url: ClassVar[str] = "https://apiin.one"
    default_model: ClassVar[str] = MODEL
    blocking_submit: ClassVar[bool] = False
    expected_duration_s: ClassVar[float] = 55.0
    audio_404_moderated: ClassVar[bool] = True  # WIRE.md: the status stays "completed"; the file answers 404
    models: ClassVar[Mapping[str, ModelSpec]] = {
        MODEL: ModelSpec(
            name=MODEL,
            prompt_required=True,
            bitrates=(32000, 60000, 64000, 128000, 256000),
            sample_rates=(16000, 24000, 32000, 44100),
            structure_tags=True,
            accompaniment_marks=False,
            price_usd=0.06,
            description="minimax-music: a style description (required) + optional lyrics; ~$0.06 a song",
        ),
    }

    def validate(self, request: MusicRequest, *, model: str | None = None) -> list[Issue]:
        """Every problem with ``request`` (the style description is required)."""
        name = self.resolve_model(request, model)
        bad = self._model_issue(name)
        if bad is not None:
            return [bad]
        return check_request(self.model_spec(name), request)

    def build_submit(
        self, request: MusicRequest, *, model: str | None = None, account: str | None = None
    ) -> HttpRequest:
        """``POST /api/v1/audio/music``; ``ValidationError`` listing every error first."""
        name = self.resolve_model(request, model)
        self._raise_invalid(self.validate(request, model=name), name)
        body: dict[str, Any] = {"model": name, "prompt": request.style}
        if request.lyrics:
            body["lyrics"] = request.lyrics
        if request.bitrate is not None:
            body["bitrate"] = request.bitrate
        if request.sample_rate is not None:
            body["sample_rate"] = request.sample_rate
        body.update(request.extra)
        return HttpRequest("POST", "/api/v1/audio/music", "submit", json=body)

    def parse_submit(self, job: Job, response: HttpResponse) -> SubmitResult:
        """``{"code": 200, "data": {"task_id", "status": "IN_PROGRESS"}}`` → the running job."""
        data = self._envelope(response)
        task_id = as_str(data.get("task_id")) or as_str(data.get("id")) or as_str(data.get("taskId"))
        if task_id is None:
            raise MiniMaxError(
                "apiin submit answer has no task_id",
                provider=self.name,
                status_code=response.status_code,
                request_id=request_id_of(response),
                body=data,
            )
        job = job.evolve(id=task_id, model=self.resolve_model(job.request, job.model))
        return SubmitResult(self._apply(job, data))

    def build_poll(self, job: Job) -> HttpRequest | None:
        """``GET /api/v1/tasks/{task_id}``."""
        if not job.id:
            return None
        return HttpRequest("GET", "/api/v1/tasks/" + quote(job.id, safe=""), "read")

    def parse_poll(self, job: Job, response: HttpResponse) -> Job:
        """``IN_PROGRESS`` keeps going; ``completed`` carries the audio URL; ``failed`` ends it (a message
        mentioning moderation → ``MODERATED``)."""
        return self._apply(job, self._envelope(response))

    def _envelope(self, response: HttpResponse) -> Mapping[str, Any]:
        self.raise_for_error(response)
        body = read_json(self.name, response)
        data = body.get("data")
        if isinstance(data, Mapping):
            return {**data, "_envelope": {k: v for k, v in body.items() if k != "data"}}
        return dict(body)

    def _apply(self, job: Job, data: Mapping[str, Any]) -> Job:
        raw = data.get("status") or data.get("state")
        status = (
            _STATUS.get(raw.strip().lower().replace(" ", "_").replace("-", "_"), JobStatus.RUNNING)
            if isinstance(raw, str)
            else JobStatus.RUNNING
        )
        changes: dict[str, Any] = {}
        url = _audio_url(data)
        if url:
            changes["audio_url"] = url
        cover = as_str(data.get("cover_url")) or as_str(data.get("coverUrl")) or as_str(data.get("image_url"))
        if cover:
            changes["cover_url"] = cover
        d = as_float(data.get("duration"))
        if d is not None:
            changes["duration_s"] = d
        for key in ("title", "lyrics"):
            v = as_str(data.get(key))
            if v:
                changes[key] = v
        if status is JobStatus.COMPLETED and not url:
            status = JobStatus.FAILED
            changes["error"] = "apiin reported the task completed without an audio URL"
        elif status in (JobStatus.FAILED, JobStatus.CANCELLED):
            err = data.get("error") or data.get("error_message") or data.get("message") or data.get("reason")
            if isinstance(err, Mapping):
                err = err.get("message") or err.get("type")
            text = str(err) if err else f"task {raw}"
            changes["error"] = text
            if mentions_moderation(text):
                status = JobStatus.MODERATED
        return finish(job, status, {k: v for k, v in data.items() if k != "_envelope"}, **changes)

    def raise_for_error(self, response: HttpResponse) -> None:
        """``{"error": {"code", "message", "type"}}`` → the error of its type (else of the HTTP status).

        A 200 whose envelope ``code`` is an error (``{"code": 4xx, "message"}``) is treated the same way.
        """
        if response.status_code < 400:
            try:
                body = response.json()
            except (ValueError, UnicodeDecodeError):
                return  # the parse step reports the malformed body
            if not isinstance(body, Mapping):
                return
            err = body.get("error")
            if isinstance(err, Mapping):
                ec = err.get("code")
                self._raise_from(response, body, status=ec if isinstance(ec, int) and ec >= 400 else 400)
            code = body.get("code")
            if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
                self._raise_from(response, body, status=code)
            return
        body = read_json(self.name, response)
        self._raise_from(response, body, status=response.status_code)

    def _raise_from(self, response: HttpResponse, body: Mapping[str, Any], *, status: int) -> None:
        err = body.get("error")
        if isinstance(err, Mapping):
            message = str(err.get("message") or err.get("type") or f"HTTP {status}")
            kind = str(err.get("type") or "")
            code: int | str | None = err.get("code") if isinstance(err.get("code"), int | str) else None
        else:
            message = str(body.get("message") or err or f"HTTP {status}")
            kind = ""
            code = body.get("code") if isinstance(body.get("code"), int | str) else None
        rid = request_id_of(response, body)
        retry_after = retry_after_of(response)
        cls = _TYPES.get(kind.lower())
        if cls is None and status < 500 and mentions_moderation(message):
            cls = ModerationError
        if cls is None:
            raise error_for_status(
                self.name,
                status,
                message,
                code=code or kind or None,
                request_id=rid,
                body=body,
                retry_after=retry_after,
            )
        kw: dict[str, Any] = {
            "provider": self.name,
            "status_code": status,
            "code": kind or code,
            "request_id": rid,
            "body": body,
        }
        if cls is RateLimitError:
            raise RateLimitError(message, retry_after=retry_after, **kw)
        raise cls(message, **kw)
