"""Replicate MiniMax music (``provider="replicate"``): a pure adapter for Replicate predictions.

From ``shared/specs/FAL_REPLICATE.md`` §2:

- create ``POST /v1/models/minimax/<name>/predictions`` with ``{"input": {…}}`` (official models need no
  version). No ``Prefer: wait``: our client polls, so a create never holds a connection for 60 s;
- poll ``GET /v1/predictions/<id>``: ``starting`` → ``processing`` → ``succeeded`` (``output`` = one URI
  string) | ``failed`` (``error`` string; moderation when it says so) | ``canceled`` | ``aborted``
  (a ``Cancel-After`` deadline hit before the run started: nothing was made, → ``CANCELLED``);
- inputs, outputs and files are deleted one hour after a prediction finishes (``data_removed: true``,
  ``output: null``): a succeeded prediction whose output is gone is ``LOST``;
- errors are RFC 7807 problem JSON ``{"type"?, "title"?, "status", "detail"}``.

Models (owner ``minimax``; inputs are flat: ``sample_rate``, ``bitrate``, ``audio_format``):

=====================  ==================================================================================
``minimax/music-01``    ``lyrics`` ≤400 (``##`` accompaniment) + optional reference ``song_file`` URL
                        (``extra`` may carry ``voice_file``, ``instrumental_file``, ``voice_id``, …)
``minimax/music-1.5``   ``prompt`` 10–300 (style), ``lyrics`` 10–600; $0.03 (third-party figure)
``minimax/music-2.5``   ``prompt`` ≤2000, ``lyrics`` 1–3500
``minimax/music-2.6``   as 2.5 plus ``is_instrumental`` (then the prompt is required, lyrics optional)
                        and ``lyrics_optimizer``
=====================  ==================================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from minimax_nb.errors import MiniMaxError, ModerationError
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers.base import (
    HttpRequest,
    HttpResponse,
    Issue,
    ModelSpec,
    ProviderAdapter,
    SubmitResult,
    as_str,
    check_request,
    error_for_status,
    finish,
    mentions_moderation,
    read_json,
    request_id_of,
    retry_after_of,
)

__all__ = ["REPLICATE_MODELS", "ReplicateAdapter"]

_BITRATES = (32000, 64000, 128000, 256000)
_RATES = (16000, 24000, 32000, 44100)
_FORMATS = ("mp3", "wav", "pcm")

M01 = "minimax/music-01"
M15 = "minimax/music-1.5"
M25 = "minimax/music-2.5"
M26 = "minimax/music-2.6"

REPLICATE_MODELS: dict[str, ModelSpec] = {
    M01: ModelSpec(
        name=M01,
        lyrics_max=400,
        lyrics_required=True,
        prompt_is_style=False,
        accompaniment_marks=True,
        bitrates=_BITRATES,
        sample_rates=_RATES,
        max_duration_s=60.0,
        description="music-01: lyrics ≤400 (## accompaniment) + optional reference song/voice/instrumental",
    ),
    M15: ModelSpec(
        name=M15,
        prompt_min=10,
        prompt_max=300,
        prompt_required=True,
        lyrics_min=10,
        lyrics_max=600,
        lyrics_required=True,
        structure_tags=True,
        bitrates=_BITRATES,
        sample_rates=_RATES,
        formats=_FORMATS,
        price_usd=0.03,
        description="music-1.5: style 10–300, lyrics 10–600",
    ),
    M25: ModelSpec(
        name=M25,
        prompt_max=2000,
        lyrics_min=1,
        lyrics_max=3500,
        lyrics_required=True,
        structure_tags=True,
        bitrates=_BITRATES,
        sample_rates=_RATES,
        formats=_FORMATS,
        description="music-2.5: style ≤2000, lyrics 1–3500",
    ),
    M26: ModelSpec(
        name=M26,
        prompt_max=2000,
        lyrics_max=3500,
        lyrics_required=True,
        lyrics_optional_when_instrumental=True,
        supports_instrumental=True,
        structure_tags=True,
        bitrates=_BITRATES,
        sample_rates=_RATES,
        formats=_FORMATS,
        max_duration_s=360.0,
        description="music-2.6: style ≤2000, lyrics ≤3500; instrumental and lyrics optimizer; up to 6 min",
    ),
}

_STATUS = {
    "starting": JobStatus.QUEUED,
    "processing": JobStatus.RUNNING,
    "succeeded": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "canceled": JobStatus.CANCELLED,
    "cancelled": JobStatus.CANCELLED,
    "aborted": JobStatus.CANCELLED,
}


class ReplicateAdapter(ProviderAdapter):
    """Replicate predictions of the official ``minimax/*`` models. Default model ``minimax/music-1.5``."""

    name: ClassVar[str] = "replicate"
    env_key: ClassVar[str] = "REPLICATE_API_TOKEN"
    auth_scheme: ClassVar[str] = "Bearer"
    default_base_url: ClassVar[str] = "https://api.replicate.com"
    default_model: ClassVar[str] = M15
    blocking_submit: ClassVar[bool] = False
    per_account_limit: ClassVar[int | None] = None
    expected_duration_s: ClassVar[float] = 55.0
    models: ClassVar[Mapping[str, ModelSpec]] = REPLICATE_MODELS

    # ---------------------------------------------------------------- validation and submit
    def validate(self, request: MusicRequest, *, model: str | None = None) -> list[Issue]:
        """Every problem with ``request`` for ``model`` (errors block ``build_submit``; warnings do not)."""
        name = self.resolve_model(request, model)
        bad = self._model_issue(name)
        if bad is not None:
            return [bad]
        issues = check_request(self.model_spec(name), request)
        if name == M01:
            # music-01 takes a reference song by URL (``song_file``) without requiring one
            issues = [i for i in issues if i.field != "reference_audio_url"]
            if request.lyrics.strip() and len(request.lyrics) > 350:
                issues.append(Issue("warning", "lyrics", "music-01 documents 350 to 400 characters at most"))
            if request.audio_format is not None:
                issues = [i for i in issues if i.field != "audio_format"]
                issues.append(
                    Issue("warning", "audio_format", f"{name} has no format setting; it is ignored")
                )
            ref = request.reference_audio_url
            if ref and not ref.lower().startswith(("http://", "https://", "data:")):
                issues.append(Issue("error", "reference_audio_url", "reference_audio_url must be a URL"))
        if name == M26 and request.instrumental and not (request.style or "").strip():
            issues.append(Issue("error", "style", f"{name}: an instrumental needs a style (the prompt)"))
        if name != M26 and request.extra.get("lyrics_optimizer"):
            issues.append(Issue("error", "extra", f"{name} has no lyrics_optimizer (music-2.6 has)"))
        if request.style_id:
            issues.append(Issue("warning", "style_id", f"{name} takes no style id; it is ignored"))
        return issues

    def build_submit(
        self, request: MusicRequest, *, model: str | None = None, account: str | None = None
    ) -> HttpRequest:
        """``POST /v1/models/<owner>/<name>/predictions`` with ``{"input": …}``; ``ValidationError`` first."""
        name = self.resolve_model(request, model)
        self._raise_invalid(self.validate(request, model=name), name)
        return HttpRequest(
            "POST", f"/v1/models/{name}/predictions", "submit", json={"input": self.input_for(request, name)}
        )

    def input_for(self, request: MusicRequest, model: str) -> dict[str, Any]:
        """The prediction's ``input`` for ``model`` (no validation). ``request.extra`` is merged in last."""
        inp: dict[str, Any] = {}
        if request.lyrics:
            inp["lyrics"] = request.lyrics
        if model == M01:
            if request.reference_audio_url:
                inp["song_file"] = request.reference_audio_url
        else:
            if request.style:
                inp["prompt"] = request.style
            if request.audio_format is not None:
                inp["audio_format"] = request.audio_format
        if request.sample_rate is not None:
            inp["sample_rate"] = request.sample_rate
        if request.bitrate is not None:
            inp["bitrate"] = request.bitrate
        if request.instrumental and self.model_spec(model).supports_instrumental:
            inp["is_instrumental"] = True
        inp.update(request.extra)
        return inp

    def parse_submit(self, job: Job, response: HttpResponse) -> SubmitResult:
        """The prediction object → the job with its id (usually ``starting`` → ``QUEUED``)."""
        self.raise_for_error(response)
        data = read_json(self.name, response)
        pid = as_str(data.get("id"))
        if pid is None:
            raise MiniMaxError(
                f"{self.name} create answer has no prediction id",
                provider=self.name,
                status_code=response.status_code,
                request_id=request_id_of(response, data),
                body=data,
            )
        job = job.evolve(id=pid, model=self.resolve_model(job.request, job.model))
        return SubmitResult(self._apply(job, data))

    # ---------------------------------------------------------------- polling
    def build_poll(self, job: Job) -> HttpRequest | None:
        """``GET /v1/predictions/<id>``."""
        if not job.id:
            return None
        return HttpRequest("GET", f"/v1/predictions/{quote(job.id, safe='')}", "read")

    def parse_poll(self, job: Job, response: HttpResponse) -> Job:
        self.raise_for_error(response)
        return self._apply(job, read_json(self.name, response))

    def _apply(self, job: Job, data: Mapping[str, Any]) -> Job:
        raw = data.get("status")
        status = _STATUS.get(raw.strip().lower()) if isinstance(raw, str) else None
        if status is None:
            raise MiniMaxError(
                f"{self.name} prediction has an unknown status {raw!r}",
                provider=self.name,
                body=dict(data),
            )
        changes: dict[str, Any] = {}
        if status is JobStatus.COMPLETED:
            url = _output_url(data.get("output"))
            if url is None:
                if data.get("data_removed"):
                    return finish(job, JobStatus.LOST, data,
                                  error="replicate deleted the output (outputs are kept one hour)")
                return finish(job, JobStatus.FAILED, data, error="replicate succeeded without an output URL")
            changes["audio_url"] = url
        elif status is JobStatus.FAILED:
            err = str(data.get("error") or "prediction failed")
            changes["error"] = err
            if mentions_moderation(err):
                status = JobStatus.MODERATED
        elif status is JobStatus.CANCELLED:
            changes["error"] = f"prediction {raw}"
        return finish(job, status, data, **changes)

    # ---------------------------------------------------------------- errors
    def raise_for_error(self, response: HttpResponse) -> None:
        """RFC 7807 ``{"title", "detail", "status"}`` → the typed error of the status; a 4xx detail about
        moderation → ``ModerationError``."""
        if response.status_code < 400:
            return
        data = read_json(self.name, response)
        detail = data.get("detail")
        title = as_str(data.get("title")) or ""
        if isinstance(detail, list):  # input validation errors may list several problems
            problems: list[str] | None = [str(d) for d in detail]
            message = "; ".join(problems or [])
        else:
            problems = None
            message = str(detail) if detail else ""
        message = message or title or f"HTTP {response.status_code}"
        rid = request_id_of(response, data)
        if response.status_code in (400, 422) and mentions_moderation(message, title):
            raise ModerationError(
                message, provider=self.name, status_code=response.status_code, request_id=rid, body=data
            )
        raise error_for_status(
            self.name,
            response.status_code,
            message,
            code=as_str(data.get("type")),
            request_id=rid,
            body=data,
            retry_after=retry_after_of(response),
            problems=problems,
        )


def _output_url(output: Any) -> str | None:
    if isinstance(output, str) and output:
        return output
    if isinstance(output, list) and output and isinstance(output[0], str) and output[0]:
        return str(output[0])
    if isinstance(output, Mapping):
        return as_str(output.get("url")) or as_str(output.get("audio"))
    return None
