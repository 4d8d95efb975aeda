"""fal.ai MiniMax music (``provider="fal"``): a pure adapter for fal's queue API.

From ``shared/specs/FAL_REPLICATE.md`` §1:

- submit ``POST https://queue.fal.run/<endpoint id>`` with the model's input object (not wrapped),
  answered ``{"request_id", "response_url", "status_url", "cancel_url"}``;
- status ``GET /<owner>/<alias>/requests/<id>/status`` — **without** the endpoint's subpath
  (``fal-ai/minimax-music/v2`` polls ``/fal-ai/minimax-music/requests/<id>/status``) —
  ``IN_QUEUE`` → ``IN_PROGRESS`` → ``COMPLETED`` (``COMPLETED`` may carry ``error``/``error_type``);
- result ``GET /<owner>/<alias>/requests/<id>`` → ``{"audio": {"url", "content_type", …}}``; a request
  that failed answers its error there (``422 {"detail": [{"type": "content_policy_violation", …}]}``).

So a job takes two kinds of reads: status reads until ``COMPLETED``, then one result read. The adapter
tells them apart by the last answer kept in ``Job.raw`` (a status answer has ``status``).

Auth is ``Authorization: Key <FAL_KEY>`` (``auth_scheme = "Key"``), not Bearer.

Models (the field names differ per version — v1.5's ``prompt`` is the **lyrics** and its
``lyrics_prompt`` the **style**; v2 swaps them back):

===============================  =======================================================================
``fal-ai/minimax-music``         ``prompt`` = lyrics ≤600 (``##`` accompaniment) + ``reference_audio_url``
``fal-ai/minimax-music/v1.5``    ``prompt`` = lyrics 10–600, ``lyrics_prompt`` = style 10–3000; $0.03
``fal-ai/minimax-music/v2``      ``prompt`` = style 10–300, ``lyrics_prompt`` = lyrics 10–3000; $0.03
``fal-ai/minimax-music/v2.5``    ``prompt`` ≤2000, ``lyrics`` ≤3500 (optional with ``is_instrumental``
                                 or ``lyrics_optimizer``); $0.15
``fal-ai/minimax-music/v2.6``    ``prompt`` 10–300, ``lyrics`` ≤1000 (optional with ``is_instrumental``);
                                 $0.15
``minimax/music-3``              ``prompt`` + ``lyrics`` (limits and price not published in our copies)
===============================  =======================================================================

The ``audio_setting`` sub-fields (``sample_rate``, ``bitrate``, ``format``) are MiniMax's own; the spec
marks them unverified for fal. Unlike ``fal_client`` (which re-POSTs a submit after a dropped
connection), our client never replays a submit: ``HttpRequest.kind="submit"``.
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

__all__ = ["FAL_MODELS", "FalAdapter", "owner_alias"]

_BITRATES = (32000, 64000, 128000, 256000)
_RATES = (16000, 24000, 32000, 44100)
_FORMATS = ("mp3", "wav", "pcm")
_AUDIO: dict[str, Any] = dict(bitrates=_BITRATES, sample_rates=_RATES, formats=_FORMATS)

V1 = "fal-ai/minimax-music"
V15 = "fal-ai/minimax-music/v1.5"
V2 = "fal-ai/minimax-music/v2"
V25 = "fal-ai/minimax-music/v2.5"
V26 = "fal-ai/minimax-music/v2.6"
MUSIC3 = "minimax/music-3"

FAL_MODELS: dict[str, ModelSpec] = {
    V1: ModelSpec(
        name=V1,
        lyrics_max=600,
        lyrics_required=True,
        prompt_is_style=False,
        needs_reference_audio=True,
        accompaniment_marks=True,
        max_duration_s=60.0,
        description="MiniMax (Hailuo) music v1: lyrics ≤600 as prompt + a reference song URL",
    ),
    V15: ModelSpec(
        name=V15,
        lyrics_min=10,
        lyrics_max=600,
        lyrics_required=True,
        prompt_min=10,
        prompt_max=3000,
        prompt_required=True,
        structure_tags=True,
        price_usd=0.03,
        description="music v1.5: lyrics 10–600 (sent as prompt), style 10–3000 (sent as lyrics_prompt)",
        **_AUDIO,
    ),
    V2: ModelSpec(
        name=V2,
        prompt_min=10,
        prompt_max=300,
        prompt_required=True,
        lyrics_min=10,
        lyrics_max=3000,
        lyrics_required=True,
        structure_tags=True,
        price_usd=0.03,
        description="music v2: style 10–300 (prompt), lyrics 10–3000 (lyrics_prompt)",
        **_AUDIO,
    ),
    V25: ModelSpec(
        name=V25,
        prompt_max=2000,
        prompt_required=True,
        lyrics_max=3500,
        lyrics_required=True,
        lyrics_optional_when_instrumental=True,
        supports_instrumental=True,
        structure_tags=True,
        price_usd=0.15,
        description="music v2.5: style ≤2000, lyrics ≤3500; instrumental and lyrics optimizer",
        **_AUDIO,
    ),
    V26: ModelSpec(
        name=V26,
        prompt_min=10,
        prompt_max=300,
        prompt_required=True,
        lyrics_max=1000,
        lyrics_required=True,
        lyrics_optional_when_instrumental=True,
        supports_instrumental=True,
        structure_tags=True,
        price_usd=0.15,
        description="music v2.6: style 10–300, lyrics ≤1000 (optional when instrumental)",
        **_AUDIO,
    ),
    MUSIC3: ModelSpec(
        name=MUSIC3,
        prompt_required=True,
        structure_tags=True,
        description="music-3 (owner minimax): prompt (genre, BPM, key, vocals) + lyrics; limits unpublished",
    ),
}

#: Models whose lyrics go in ``lyrics_prompt`` (v2) or whose style does (v1.5).
_LYRICS_KEY = {V15: "prompt", V2: "lyrics_prompt", V25: "lyrics", V26: "lyrics", MUSIC3: "lyrics"}
_STYLE_KEY = {V15: "lyrics_prompt", V2: "prompt", V25: "prompt", V26: "prompt", MUSIC3: "prompt"}

_STATUS = {"IN_QUEUE": JobStatus.QUEUED, "IN_PROGRESS": JobStatus.RUNNING, "COMPLETED": JobStatus.RUNNING}


def owner_alias(endpoint_id: str) -> str:
    """``owner/alias`` of an endpoint id, its subpath dropped.

    ``fal-ai/minimax-music/v2`` → ``fal-ai/minimax-music``.
    """
    parts = [p for p in endpoint_id.strip("/").split("/") if p]
    return "/".join(parts[:2])


class FalAdapter(ProviderAdapter):
    """fal.ai queue: submit, status reads, then one result read. Default model ``fal-ai/minimax-music/v2``."""

    name: ClassVar[str] = "fal"
    env_key: ClassVar[str] = "FAL_KEY"
    auth_scheme: ClassVar[str] = "Key"
    default_base_url: ClassVar[str] = "https://queue.fal.run"
    default_model: ClassVar[str] = V2
    blocking_submit: ClassVar[bool] = False
    #: New accounts run 2 at once; the rest wait IN_QUEUE (never refused), so no hard limit here.
    per_account_limit: ClassVar[int | None] = None
    expected_duration_s: ClassVar[float] = 55.0
    models: ClassVar[Mapping[str, ModelSpec]] = FAL_MODELS

    # ---------------------------------------------------------------- validation and submit
    def validate(self, request: MusicRequest, *, model: str | None = None) -> list[Issue]:
        """Every problem with ``request`` for ``model`` (errors block ``build_submit``; warnings do not)."""
        name = self.resolve_model(request, model)
        bad = self._model_issue(name)
        if bad is not None:
            return [bad]
        issues = check_request(self.model_spec(name), request)
        optimizer = bool(request.extra.get("lyrics_optimizer"))
        if name == V26 and optimizer:
            issues.append(Issue("error", "extra", f"{name} has no lyrics_optimizer (v2.5 has)"))
            if not request.lyrics.strip() and not request.instrumental:
                issues.append(Issue("error", "lyrics", f"lyrics is required for {name} unless instrumental"))
        if name == MUSIC3 and not request.lyrics.strip():
            issues.append(Issue("warning", "lyrics", f"{name}: no lyrics given"))
        if request.style_id:
            issues.append(Issue("warning", "style_id", f"{name} takes no style id; it is ignored"))
        return issues

    def build_submit(
        self, request: MusicRequest, *, model: str | None = None, account: str | None = None
    ) -> HttpRequest:
        """``POST /<endpoint id>`` with the model's input; ``ValidationError`` on any error."""
        name = self.resolve_model(request, model)
        self._raise_invalid(self.validate(request, model=name), name)
        return HttpRequest("POST", "/" + name, "submit", json=self.body_for(request, name))

    def body_for(self, request: MusicRequest, model: str) -> dict[str, Any]:
        """The input object for ``model`` (no validation). ``request.extra`` is merged in last."""
        body: dict[str, Any] = {}
        if model == V1:
            body["prompt"] = request.lyrics
            body["reference_audio_url"] = request.reference_audio_url
        else:
            if request.lyrics or model in (V15, V2):
                body[_LYRICS_KEY[model]] = request.lyrics
            if request.style:
                body[_STYLE_KEY[model]] = request.style
            spec = self.model_spec(model)
            setting: dict[str, Any] = {}
            if request.sample_rate is not None and spec.sample_rates:
                setting["sample_rate"] = request.sample_rate
            if request.bitrate is not None and spec.bitrates:
                setting["bitrate"] = request.bitrate
            if request.audio_format is not None and spec.formats:
                setting["format"] = request.audio_format
            if setting:
                body["audio_setting"] = setting
            if request.instrumental and spec.supports_instrumental:
                body["is_instrumental"] = True
        body.update(request.extra)
        return body

    def parse_submit(self, job: Job, response: HttpResponse) -> SubmitResult:
        """``{"request_id", …}`` → the job with its request id, ``QUEUED``."""
        self.raise_for_error(response)
        data = read_json(self.name, response)
        rid = as_str(data.get("request_id"))
        if rid is None:
            raise MiniMaxError(
                f"{self.name} submit answer has no request_id",
                provider=self.name,
                status_code=response.status_code,
                request_id=_request_id(response, data),
                body=data,
            )
        job = job.evolve(id=rid, model=self.resolve_model(job.request, job.model))
        return SubmitResult(finish(job, JobStatus.QUEUED, data))

    # ---------------------------------------------------------------- polling
    def build_poll(self, job: Job) -> HttpRequest | None:
        """Status reads (``…/requests/<id>/status?logs=1``) until ``COMPLETED``, then the result read."""
        if not job.id:
            return None
        base = f"/{owner_alias(job.model or self.default_model)}/requests/{quote(job.id, safe='')}"
        if _is_completed_status(job.raw):
            return HttpRequest("GET", base, "read")
        return HttpRequest("GET", base + "/status", "read", params={"logs": "1"})

    def parse_poll(self, job: Job, response: HttpResponse) -> Job:
        """A status answer moves the job along; the result answer (``audio.url``) completes it.

        A result read that answers 400/422 is the request's own failure: the job ends ``MODERATED``
        (content policy) or ``FAILED``, rather than raising.
        """
        result_read = _is_completed_status(job.raw)
        if result_read and response.status_code in (400, 422):
            data = read_json(self.name, response)
            message, etype = _detail_message(data)
            etype = etype or response.header("x-fal-error-type") or ""
            status = JobStatus.MODERATED if mentions_moderation(message, etype) else JobStatus.FAILED
            return finish(job, status, data, error=message or f"HTTP {response.status_code}")
        self.raise_for_error(response)
        data = read_json(self.name, response)
        if result_read or "audio" in data:
            return self._apply_result(job, data)
        raw = data.get("status")
        found = _STATUS.get(raw) if isinstance(raw, str) else None
        if found is None:
            raise MiniMaxError(
                f"{self.name} status answer has an unknown status {raw!r}",
                provider=self.name,
                status_code=response.status_code,
                request_id=_request_id(response, data),
                body=data,
            )
        if raw == "COMPLETED":
            err = data.get("error")
            etype = as_str(data.get("error_type")) or ""
            if err:
                text = str(err)
                final = JobStatus.FAILED
                if mentions_moderation(text, etype):
                    final = JobStatus.MODERATED
                elif "cancel" in etype.lower():
                    final = JobStatus.CANCELLED
                return finish(job, final, data, error=": ".join(p for p in (etype, text) if p))
        return finish(job, found, data)

    def _apply_result(self, job: Job, data: Mapping[str, Any]) -> Job:
        audio = data.get("audio")
        url = as_str(audio.get("url")) if isinstance(audio, Mapping) else as_str(audio)
        if url is None:
            return finish(job, JobStatus.FAILED, data, error=f"{self.name} result has no audio.url")
        changes: dict[str, Any] = {"audio_url": url}
        if isinstance(audio, Mapping):
            d = as_float(audio.get("duration"))
            if d is not None:
                changes["duration_s"] = d
        return finish(job, JobStatus.COMPLETED, data, **changes)

    # ---------------------------------------------------------------- errors
    def raise_for_error(self, response: HttpResponse) -> None:
        """``{"detail": str | [{loc, msg, type}]}`` → the typed error of the status; a
        ``content_policy_violation`` (or a message about it) → ``ModerationError``."""
        if response.status_code < 400:
            return
        data = read_json(self.name, response)
        message, etype = _detail_message(data)
        etype = etype or as_str(data.get("error_type")) or response.header("x-fal-error-type") or ""
        message = message or f"HTTP {response.status_code}"
        problems = _detail_problems(data)
        rid = _request_id(response, data)
        if response.status_code in (400, 422) and mentions_moderation(message, etype):
            raise ModerationError(
                message, provider=self.name, status_code=response.status_code, code=etype or None,
                request_id=rid, body=data,
            )
        raise error_for_status(
            self.name,
            response.status_code,
            message,
            code=etype or None,
            request_id=rid,
            body=data,
            retry_after=retry_after_of(response),
            problems=problems,
        )


def _is_completed_status(raw: Mapping[str, Any]) -> bool:
    return raw.get("status") == "COMPLETED" and not raw.get("error")


def _request_id(response: HttpResponse, data: Any) -> str | None:
    return response.header("x-fal-request-id") or request_id_of(response, data)


def _detail_message(data: Mapping[str, Any]) -> tuple[str, str]:
    """The message and error type of a fal error body (``detail`` a string or a list of items)."""
    detail = data.get("detail")
    if isinstance(detail, str):
        return detail, ""
    if isinstance(detail, list):
        msgs: list[str] = []
        etype = ""
        for item in detail:
            if isinstance(item, Mapping):
                loc = item.get("loc")
                where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
                msg = str(item.get("msg") or "")
                msgs.append(f"{where}: {msg}" if where else msg)
                etype = etype or str(item.get("type") or "")
            elif item:
                msgs.append(str(item))
        return "; ".join(m for m in msgs if m), etype
    if isinstance(detail, Mapping):
        return str(detail.get("msg") or detail.get("message") or detail), str(detail.get("type") or "")
    err = data.get("error")
    return (str(err) if err else ""), ""


def _detail_problems(data: Mapping[str, Any]) -> list[str] | None:
    detail = data.get("detail")
    if not isinstance(detail, list):
        return None
    out = []
    for item in detail:
        if isinstance(item, Mapping):
            loc = item.get("loc")
            where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else "input"
            out.append(f"{where}: {item.get('msg') or item.get('type') or 'invalid'}")
    return out or None
