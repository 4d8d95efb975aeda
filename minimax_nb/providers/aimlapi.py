"""AIML API MiniMax music (``provider="aimlapi"``): a pure adapter.

Submit ``POST /v2/generate/audio`` with a body per model, answered ``{"id", "status": "queued", "meta"}``;
poll ``GET /v2/generate/audio?generation_id=<id>`` until ``completed`` (``audio_file.url``) or ``error``.
Moderation is asynchronous: the poll ends in ``error`` whose name or message mentions moderation,
sensitive content or content policy → ``MODERATED``; any other ``error`` → ``FAILED``.

Models (limits from the AIML OpenAPI fragments):

- ``minimax-music`` (legacy): ``prompt`` = the lyrics (≤600, ``##`` accompaniment) and a
  ``reference_audio_url`` ending ``.wav``/``.mp3`` (both required);
- ``minimax/music-1.5``: style ``prompt`` 10–300, ``lyrics`` 10–3000, ``audio_setting``;
- ``minimax/music-2.0`` (default): ``prompt`` 10–2000, ``lyrics`` 10–3000, ``audio_setting``;
- ``minimax/music-2.6``: everything optional; ``is_instrumental``, ``lyrics_optimizer``;
- ``minimax/music-cover``: ``prompt`` 10–2000 + ``reference_audio_url`` required, ``lyrics`` 10–3000;
  its audio setting key is ``sample_rate`` (the others say ``audio_sample_rate``).

- ``music-01`` (AIML's docs: ``aimlapi/api-docs`` ``music-models/MiniMax/music-01.md``): its own route
  ``POST /v2/generate/audio/minimax/generate`` with ``lyrics`` (``##`` accompaniment) and the reference ids
  ``refer_voice`` and/or ``refer_instrumental`` (from AIML's multipart upload
  ``/v2/generate/audio/minimax/upload``, which this JSON-only adapter does not make: pass the ids in
  ``extra``). It holds the request until the song is made and answers MiniMax-style, the audio as hex in
  ``data.audio``: the job completes at submit with the bytes (``SubmitResult.audio_bytes``).

``meta.usage`` (``credits_used``, ``usd_spent``) stays in ``Job.raw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from minimax_nb.errors import MiniMaxError, ModerationError
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

__all__ = ["AIML_MODELS", "AimlapiAdapter"]

_BITRATES = (32000, 64000, 128000, 256000)
_RATES = (16000, 24000, 32000, 44100)
_FORMATS = ("mp3", "wav", "pcm")
_AUDIO: dict[str, Any] = dict(bitrates=_BITRATES, sample_rates=_RATES, formats=_FORMATS)

LEGACY = "minimax-music"
COVER = "minimax/music-cover"
MUSIC01 = "music-01"

AIML_MODELS: dict[str, ModelSpec] = {
    LEGACY: ModelSpec(
        name=LEGACY,
        lyrics_max=600,
        lyrics_required=True,
        prompt_is_style=False,
        needs_reference_audio=True,
        reference_audio_exts=(".wav", ".mp3"),
        accompaniment_marks=True,
        structure_tags=False,
        max_duration_s=60.0,
        description="legacy minimax-music: lyrics ≤600 as prompt + a .wav/.mp3 reference song with vocals",
    ),
    MUSIC01: ModelSpec(
        name=MUSIC01,
        lyrics_required=True,
        prompt_is_style=False,
        accompaniment_marks=True,
        max_duration_s=60.0,
        blocking=True,
        description="music-01: lyrics + uploaded refer_voice/refer_instrumental ids in extra; blocks, hex",
        **_AUDIO,
    ),
    "minimax/music-1.5": ModelSpec(
        name="minimax/music-1.5",
        prompt_min=10,
        prompt_max=300,
        prompt_required=True,
        lyrics_min=10,
        lyrics_max=3000,
        lyrics_required=True,
        structure_tags=True,
        description="music-1.5: style 10–300, lyrics 10–3000",
        **_AUDIO,
    ),
    "minimax/music-2.0": ModelSpec(
        name="minimax/music-2.0",
        prompt_min=10,
        prompt_max=2000,
        prompt_required=True,
        lyrics_min=10,
        lyrics_max=3000,
        lyrics_required=True,
        structure_tags=True,
        description="music-2.0: style 10–2000, lyrics 10–3000",
        **_AUDIO,
    ),
    "minimax/music-2.6": ModelSpec(
        name="minimax/music-2.6",
        prompt_max=2000,
        lyrics_max=3000,
        structure_tags=True,
        supports_instrumental=True,
        lyrics_optional_when_instrumental=True,
        description="music-2.6: style ≤2000, lyrics ≤3000, instrumental and lyrics optimizer",
        **_AUDIO,
    ),
    COVER: ModelSpec(
        name=COVER,
        prompt_min=10,
        prompt_max=2000,
        prompt_required=True,
        lyrics_min=10,
        lyrics_max=3000,
        needs_reference_audio=True,
        structure_tags=True,
        description="music-cover: style 10–2000 + reference audio (6 s–6 min); lyrics 10–3000 optional",
        **_AUDIO,
    ),
}

_STATUS = {
    "queued": JobStatus.QUEUED,
    "pending": JobStatus.QUEUED,
    "waiting": JobStatus.QUEUED,
    "generating": JobStatus.RUNNING,
    "processing": JobStatus.RUNNING,
    "in_progress": JobStatus.RUNNING,
    "running": JobStatus.RUNNING,
    "active": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "succeeded": JobStatus.COMPLETED,
    "success": JobStatus.COMPLETED,
    "error": JobStatus.FAILED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
    "canceled": JobStatus.CANCELLED,
}


class AimlapiAdapter(ProviderAdapter):
    """AIML API ``/v2/generate/audio``: submit then poll. Default model ``minimax/music-2.0``."""

    name: ClassVar[str] = "aimlapi"
    env_key: ClassVar[str] = "AIMLAPI_API_KEY"
    default_base_url: ClassVar[str] = "https://api.aimlapi.com"
    default_model: ClassVar[str] = "minimax/music-2.0"
    blocking_submit: ClassVar[bool] = False
    per_account_limit: ClassVar[int | None] = None
    expected_duration_s: ClassVar[float] = 55.0
    audio_404_moderated: ClassVar[bool] = True  # WIRE.md: the status stays "completed"; the file answers 404
    models: ClassVar[Mapping[str, ModelSpec]] = AIML_MODELS

    # ---------------------------------------------------------------- validation and submit
    def validate(self, request: MusicRequest, *, model: str | None = None) -> list[Issue]:
        """Every problem with ``request`` for ``model`` (errors block ``build_submit``; warnings do not)."""
        name = self.resolve_model(request, model)
        bad = self._model_issue(name)
        if bad is not None:
            return [bad]
        spec = self.model_spec(name)
        issues = check_request(spec, request)
        refs = request.extra.get("refer_voice") or request.extra.get("refer_instrumental")
        if name == MUSIC01 and not refs:
            issues.append(
                Issue(
                    "error",
                    "extra",
                    "music-01 needs extra['refer_voice'] and/or extra['refer_instrumental'] "
                    "(ids from AIML's /v2/generate/audio/minimax/upload)",
                )
            )
        if (
            spec.lyrics_optional_when_instrumental
            and not request.lyrics.strip()
            and not request.instrumental
            and not request.extra.get("lyrics_optimizer")
        ):
            # AIML's 2.6 schema: lyrics are "not required" only with is_instrumental, and empty lyrics
            # are written by the model only with lyrics_optimizer — as on MiniMax's own 2.6 (an error
            # there too). ``local`` mirrors this shape, so it refuses as well (issue 10).
            issues.append(
                Issue(
                    "error",
                    "lyrics",
                    f"{spec.name} needs lyrics, unless the song is instrumental (instrumental=True) or "
                    "the model writes them (extra={'lyrics_optimizer': True})",
                )
            )
        return issues

    def build_submit(
        self, request: MusicRequest, *, model: str | None = None, account: str | None = None
    ) -> HttpRequest:
        """``POST /v2/generate/audio`` with the body of ``model``; ``ValidationError`` on any error."""
        name = self.resolve_model(request, model)
        self._raise_invalid(self.validate(request, model=name), name)
        if name == MUSIC01:
            return HttpRequest(
                "POST",
                "/v2/generate/audio/minimax/generate",
                "submit",
                json=self.body_for(request, name),
                blocking=True,
            )
        return HttpRequest("POST", "/v2/generate/audio", "submit", json=self.body_for(request, name))

    def body_for(self, request: MusicRequest, model: str) -> dict[str, Any]:
        """The JSON body for ``model`` (no validation). ``request.extra`` is merged in last."""
        body: dict[str, Any] = {"model": model}
        if model == MUSIC01:
            body["lyrics"] = request.lyrics
            if request.sample_rate or request.bitrate or request.audio_format:  # all three or none
                body["audio_setting"] = {
                    "sample_rate": request.sample_rate or 44100,
                    "bitrate": request.bitrate or 256000,
                    "format": request.audio_format or "mp3",
                }
        elif model == LEGACY:
            body["prompt"] = request.lyrics
            body["reference_audio_url"] = request.reference_audio_url
        else:
            if request.style:
                body["prompt"] = request.style
            if request.lyrics:
                body["lyrics"] = request.lyrics
            if request.reference_audio_url and self.model_spec(model).needs_reference_audio:
                body["reference_audio_url"] = request.reference_audio_url
            rate_key = "sample_rate" if model == COVER else "audio_sample_rate"
            setting: dict[str, Any] = {}
            if request.sample_rate is not None:
                setting[rate_key] = request.sample_rate
            if request.bitrate is not None:
                setting["bitrate"] = request.bitrate
            if request.audio_format is not None:
                setting["format"] = request.audio_format
            if setting:
                body["audio_setting"] = setting
            if request.instrumental and self.model_spec(model).supports_instrumental:
                body["is_instrumental"] = True
        body.update(request.extra)
        return body

    def parse_submit(self, job: Job, response: HttpResponse) -> SubmitResult:
        """``{"id", "status"}`` → the job with its generation id, usually ``QUEUED``; music-01's MiniMax-style
        answer → the ``COMPLETED`` job plus its audio bytes."""
        self.raise_for_error(response)
        data = read_json(self.name, response)
        if self.resolve_model(job.request, job.model) == MUSIC01 or "base_resp" in data:
            return self._parse_music01(job, response, data)
        gen_id = as_str(data.get("id")) or as_str(data.get("generation_id"))
        if gen_id is None:
            raise MiniMaxError(
                f"{self.name} submit answer has no id",
                provider=self.name,
                status_code=response.status_code,
                request_id=request_id_of(response, data),
                body=data,
            )
        job = job.evolve(id=gen_id, model=self.resolve_model(job.request, job.model))
        return SubmitResult(self._apply(job, data, default=JobStatus.QUEUED))

    def _parse_music01(self, job: Job, response: HttpResponse, data: Mapping[str, Any]) -> SubmitResult:
        from minimax_nb.providers.minimax import _base_resp_error, _decode_hex, _duration_s

        trace_id = as_str(data.get("trace_id")) or request_id_of(response)
        err = _base_resp_error(
            data, provider=self.name, status_code=response.status_code, request_id=trace_id
        )
        if err is not None:
            raise err
        payload = data.get("data")
        audio = payload.get("audio") if isinstance(payload, Mapping) else None
        if not isinstance(audio, str) or not audio:
            raise MiniMaxError(
                f"{self.name} music-01 answer has no data.audio",
                provider=self.name,
                status_code=response.status_code,
                request_id=trace_id,
            )
        audio_bytes = _decode_hex(audio, provider=self.name, request_id=trace_id)
        extra = data.get("extra_info")
        raw = {k: v for k, v in data.items() if k != "data"}
        job = job.evolve(id=trace_id or job.id, model=MUSIC01)
        done = finish(
            job,
            JobStatus.COMPLETED,
            raw,
            duration_s=_duration_s(extra) if isinstance(extra, Mapping) else None,
        )
        return SubmitResult(done, audio_bytes=audio_bytes, audio_ext=job.request.audio_format or "mp3")

    # ---------------------------------------------------------------- polling
    def build_poll(self, job: Job) -> HttpRequest | None:
        """``GET /v2/generate/audio?generation_id=<id>``; ``None`` for music-01 (no status endpoint)."""
        if not job.id or job.model == MUSIC01:
            return None
        return HttpRequest("GET", "/v2/generate/audio", "read", params={"generation_id": job.id})

    def parse_poll(self, job: Job, response: HttpResponse) -> Job:
        """``queued``/``generating`` go on; ``completed`` carries ``audio_file.url``; ``error`` ends it."""
        self.raise_for_error(response)
        return self._apply(job, read_json(self.name, response), default=JobStatus.RUNNING)

    def _apply(self, job: Job, data: Mapping[str, Any], *, default: JobStatus) -> Job:
        raw_status = data.get("status")
        status = _STATUS.get(raw_status.strip().lower(), default) if isinstance(raw_status, str) else default
        changes: dict[str, Any] = {}
        audio = data.get("audio_file")
        if isinstance(audio, Mapping):
            url = as_str(audio.get("url"))
            if url:
                changes["audio_url"] = url
            d = as_float(audio.get("duration"))
            if d is not None:
                changes["duration_s"] = d
        elif isinstance(audio, str) and audio:
            changes["audio_url"] = audio
        err = data.get("error")
        if status is JobStatus.COMPLETED and "audio_url" not in changes:
            status = JobStatus.FAILED
            changes["error"] = f"{self.name} reported completed without an audio_file.url"
        elif status in (JobStatus.FAILED, JobStatus.CANCELLED) or (status is not JobStatus.COMPLETED and err):
            name, message = _error_parts(err)
            text = ": ".join(p for p in (name, message) if p) or f"generation {raw_status or 'failed'}"
            changes["error"] = text
            if mentions_moderation(name, message):
                status = JobStatus.MODERATED
            elif status is not JobStatus.CANCELLED:
                status = JobStatus.FAILED
        return finish(job, status, data, **changes)

    # ---------------------------------------------------------------- errors
    def raise_for_error(self, response: HttpResponse) -> None:
        """NestJS-style ``{"statusCode", "message": str | [str], "error"}`` → the typed error of the status;
        a message mentioning moderation → ``ModerationError``."""
        if response.status_code < 400:
            return
        data = read_json(self.name, response)
        msg = data.get("message")
        problems: list[str] | None = None
        if isinstance(msg, list):
            problems = [str(m) for m in msg]
            message = "; ".join(problems)
        elif isinstance(msg, Mapping):
            message = str(msg.get("message") or msg)
        else:
            message = str(msg) if msg else ""
        err = data.get("error")
        if isinstance(err, Mapping):
            name, emsg = _error_parts(err)
            message = message or emsg or name
        elif not message and isinstance(err, str):
            message = err
        message = message or f"HTTP {response.status_code}"
        code = data.get("statusCode")
        code = code if isinstance(code, int) else None
        rid = request_id_of(response, data)
        if (
            response.status_code < 500
            and response.status_code not in (401, 403, 429)
            and mentions_moderation(message, err if isinstance(err, str) else None)
        ):
            raise ModerationError(
                message,
                provider=self.name,
                status_code=response.status_code,
                code=code,
                request_id=rid,
                body=data,
            )
        raise error_for_status(
            self.name,
            response.status_code,
            message,
            code=code,
            request_id=rid,
            body=data,
            retry_after=retry_after_of(response),
            problems=problems,
        )


def _error_parts(err: Any) -> tuple[str, str]:
    if isinstance(err, Mapping):
        return str(err.get("name") or err.get("type") or ""), str(err.get("message") or "")
    if isinstance(err, str):
        return "", err
    return "", ""
