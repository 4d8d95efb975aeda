"""useapi.net MiniMax music (``provider="useapi"``): a pure adapter.

Model ``"v1"`` (the default) is the hailuoai.com music endpoint: ``GET /v1/minimax/music/create`` with
the lyrics in ``prompt`` (at most 600 characters) and a required ``styleId``. It *blocks* until the
song is made and answers ``{"musicId", "audioURL", "duration"}``; one generation at a time per account
(a second one gets ``429 "The previous request has not been completed yet…"`` →
``ConcurrencyLimitError``). MiniMax may moderate a song after it was made: a later retrieve shows
``status: 4`` and the job becomes ``MODERATED``.

Models ``"music-2.6"`` and ``"music-3.0"`` are the 2026 relaunch: ``POST`` JSON, ``201 {"musicId"}`` or
``201 [{"musicId"}, …]`` (the first item counts), then poll the retrieve endpoint, which answers snake_case
``audio_url`` (and ``cover_url``), a model-written ``title`` and the ``lyrics`` the model sang. A wordless
track needs ``instrumental=True``: empty lyrics alone make the model write and sing its own words. A 429
means the account is busy (songs started on the website count too) → ``ConcurrencyLimitError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from minimax_nb.errors import ConcurrencyLimitError, MiniMaxError, ModerationError
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

__all__ = ["UseapiAdapter"]

V1 = "v1"
#: What a 429 says when the account is busy (another song runs, maybe started on the website).
_BUSY_TEXTS = ("previous request has not been completed", "busy", "in progress", "already generating")

_STATUS = {0: JobStatus.QUEUED, 1: JobStatus.RUNNING, 2: JobStatus.COMPLETED, 4: JobStatus.MODERATED}
_LABELS = {
    "pending": JobStatus.QUEUED,
    "queued": JobStatus.QUEUED,
    "processing": JobStatus.RUNNING,
    "running": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "moderated": JobStatus.MODERATED,
    "failed": JobStatus.FAILED,
    "error": JobStatus.FAILED,
}

_RELAUNCH: dict[str, Any] = dict(
    prompt_max=2000,
    lyrics_max=3500,
    title_max=40,
    structure_tags=True,
    supports_instrumental=True,
    lyrics_optional_when_instrumental=True,
)


class UseapiAdapter(ProviderAdapter):
    """useapi.net: v1 blocking create (default) and the 2026 relaunch models ``music-2.6``/``music-3.0``."""

    name: ClassVar[str] = "useapi"
    env_key: ClassVar[str] = "USEAPI_API_TOKEN"
    default_base_url: ClassVar[str] = "https://api.useapi.net"
    default_model: ClassVar[str] = V1
    blocking_submit: ClassVar[bool] = True
    per_account_limit: ClassVar[int | None] = 1
    expected_duration_s: ClassVar[float] = 55.0
    models: ClassVar[Mapping[str, ModelSpec]] = {
        V1: ModelSpec(
            name=V1,
            lyrics_max=600,
            lyrics_required=True,
            needs_style_id=True,
            prompt_is_style=False,
            accompaniment_marks=True,
            structure_tags=False,
            max_duration_s=60.0,
            blocking=True,
            description="hailuoai.com music v1: lyrics ≤600 characters + a styleId; blocks ~1 min",
        ),
        "music-2.6": ModelSpec(
            name="music-2.6", description="2026 relaunch, music-2.6 (polled)", **_RELAUNCH
        ),
        "music-3.0": ModelSpec(
            name="music-3.0", description="2026 relaunch, music-3.0 (polled)", **_RELAUNCH
        ),
    }

    # ---------------------------------------------------------------- validation and submit
    def validate(self, request: MusicRequest, *, model: str | None = None) -> list[Issue]:
        """Every problem with ``request`` for ``model`` (errors block ``build_submit``; warnings do not)."""
        name = self.resolve_model(request, model)
        bad = self._model_issue(name)
        if bad is not None:
            return [bad]
        spec = self.model_spec(name)
        if name == V1:
            return check_request(spec, request)
        issues = check_request(spec, request)
        if not request.lyrics.strip() and not (request.style or "").strip():
            issues.append(Issue("error", "lyrics", f"{name} needs lyrics or a style description"))
        if request.style_id:
            issues.append(Issue("warning", "style_id", f"{name} takes no styleId; it is ignored"))
        if not request.lyrics.strip() and not request.instrumental and (request.style or "").strip():
            issues.append(
                Issue(
                    "warning",
                    "lyrics",
                    f"no lyrics: {name} will write and sing its own words; "
                    "set instrumental=True for a wordless track",
                )
            )
        return issues

    def build_submit(
        self, request: MusicRequest, *, model: str | None = None, account: str | None = None
    ) -> HttpRequest:
        """The create call: v1 ``GET …/create?prompt=&styleId=`` (blocking), relaunch ``POST`` JSON."""
        name = self.resolve_model(request, model)
        self._raise_invalid(self.validate(request, model=name), name)
        if name == V1:
            params: dict[str, str] = {"prompt": request.lyrics, "styleId": str(request.style_id)}
            if request.title:
                params["title"] = request.title
            if account:
                params["account"] = account
            for k, v in request.extra.items():
                if v is not None:
                    params[str(k)] = v if isinstance(v, str) else str(v)
            return HttpRequest("GET", "/v1/minimax/music/create", "submit", params=params, blocking=True)
        body: dict[str, Any] = {"model": name, "stream": False}
        if request.title:
            body["title"] = request.title
        if request.style:
            body["prompt"] = request.style
        if request.lyrics:
            body["lyrics"] = request.lyrics
        if request.instrumental:
            body["instrumental"] = True
        if account:
            body["account"] = account
        body.update(request.extra)
        return HttpRequest("POST", "/v1/minimax/music/create", "submit", json=body)

    def parse_submit(self, job: Job, response: HttpResponse) -> SubmitResult:
        """v1: a ``COMPLETED`` job with ``audio_url`` and ``duration_s``; relaunch (201): ``QUEUED``."""
        self.raise_for_error(response)
        data = _first_item(read_json(self.name, response, expect=object))
        if data is None:
            data = read_json(self.name, response)  # raises: not an object (nor a list of them)
        music_id = as_str(data.get("musicId"))
        if music_id is None:
            raise MiniMaxError(
                "useapi create answer has no musicId",
                provider=self.name,
                status_code=response.status_code,
                request_id=request_id_of(response, data),
                body=data,
            )
        job = job.evolve(id=music_id, model=self.resolve_model(job.request, job.model))
        if "status" in data or "statusLabel" in data:
            return SubmitResult(self._apply(job, data))
        url = as_str(data.get("audioURL")) or as_str(data.get("audio_url"))
        if url is not None:
            return SubmitResult(
                finish(
                    job, JobStatus.COMPLETED, data, audio_url=url, duration_s=as_float(data.get("duration"))
                )
            )
        return SubmitResult(finish(job, JobStatus.QUEUED, data))

    # ---------------------------------------------------------------- polling
    def build_poll(self, job: Job) -> HttpRequest | None:
        """``GET /v1/minimax/music/{musicId}`` (``:`` kept). Also checks v1 songs for post-moderation."""
        if not job.id:
            return None
        return HttpRequest("GET", "/v1/minimax/music/" + quote(job.id, safe=":"), "read")

    def parse_poll(self, job: Job, response: HttpResponse) -> Job:
        """Status 0/1 keep running, 2 completes, 4 is ``MODERATED`` (also after a completed create)."""
        self.raise_for_error(response)
        return self._apply(job, read_json(self.name, response))

    def _apply(self, job: Job, data: Mapping[str, Any]) -> Job:
        status = self._status_of(data, job)
        changes: dict[str, Any] = {}
        for key, field in (
            ("audio_url", "audio_url"),
            ("audioURL", "audio_url"),
            ("cover_url", "cover_url"),
            ("coverURL", "cover_url"),
            ("title", "title"),
            ("lyrics", "lyrics"),
            ("style", "style"),
            ("musicId", "id"),
        ):
            v = as_str(data.get(key))
            if v is not None:
                changes[field] = v
        duration = as_float(data.get("duration"))
        if duration is not None:
            changes["duration_s"] = duration
        if status is JobStatus.MODERATED:
            after = " after it was made" if job.status is JobStatus.COMPLETED else ""
            changes["error"] = f"moderated by MiniMax{after}; the audio is no longer available"
        elif status is JobStatus.FAILED:
            changes["error"] = (
                as_str(data.get("error")) or as_str(data.get("statusLabel")) or "generation failed"
            )
        elif status is JobStatus.COMPLETED and "audio_url" not in changes and job.audio_url is None:
            status = JobStatus.FAILED
            changes["error"] = "useapi reported the song completed without an audioURL"
        return finish(job, status, data, **changes)

    @staticmethod
    def _status_of(data: Mapping[str, Any], job: Job) -> JobStatus:
        raw = data.get("status")
        if isinstance(raw, bool):
            raw = None
        number = as_int(raw)
        if number is not None:
            raw = number
        if isinstance(raw, int):
            known = _STATUS.get(raw)
            if known is not None:
                return known
        label = data.get("statusLabel")
        if isinstance(label, str) and label.lower() in _LABELS:
            return _LABELS[label.lower()]
        if isinstance(raw, str) and raw.lower() in _LABELS:
            return _LABELS[raw.lower()]
        audio = as_str(data.get("audioURL")) or as_str(data.get("audio_url"))
        if data.get("statusFinal") is True:
            return JobStatus.COMPLETED if audio else JobStatus.FAILED
        if raw is None and label is None and audio:
            return JobStatus.COMPLETED
        return job.status if job.status.is_final else JobStatus.RUNNING

    # ---------------------------------------------------------------- errors
    def raise_for_error(self, response: HttpResponse) -> None:
        """400 → Validation, 401 → Authentication, 404 → NotFound, 422 → Moderation, 429 "previous request
        has not been completed" → ConcurrencyLimit (other 429 → RateLimit), 5xx → Server."""
        if response.status_code < 400:
            return
        data = read_json(self.name, response)
        message = as_str(data.get("error")) or as_str(data.get("message")) or f"HTTP {response.status_code}"
        code = data.get("code") if isinstance(data.get("code"), int | str) else None
        rid = request_id_of(response, data)
        retry_after = retry_after_of(response)
        kw: dict[str, Any] = {
            "provider": self.name,
            "status_code": response.status_code,
            "code": code,
            "request_id": rid,
            "body": data,
        }
        if response.status_code == 422 or (response.status_code == 400 and "moderat" in message.lower()):
            raise ModerationError(message, **kw)
        if response.status_code == 429 and any(t in message.lower() for t in _BUSY_TEXTS):
            raise ConcurrencyLimitError(message, retry_after=retry_after, **kw)
        raise error_for_status(
            self.name,
            response.status_code,
            message,
            code=code,
            request_id=rid,
            body=data,
            retry_after=retry_after,
        )

    # ---------------------------------------------------------------- styles and list
    def build_styles(self, *, account: str | None = None) -> HttpRequest:
        """``GET /v1/minimax/music/styles/?account=``."""
        params = {"account": account} if account else {}
        return HttpRequest("GET", "/v1/minimax/music/styles/", "read", params=params)

    def parse_styles(self, response: HttpResponse) -> list[dict[str, str]]:
        """Flattened styles: ``[{"group", "styleId", "name", "url"}]`` in the order given."""
        self.raise_for_error(response)
        data = read_json(self.name, response, expect=list)
        out: list[dict[str, str]] = []
        for group in data:
            if not isinstance(group, Mapping):
                continue
            gname = as_str(group.get("name")) or ""
            styles = group.get("styles")
            for st in styles if isinstance(styles, list) else []:
                if isinstance(st, Mapping) and st.get("styleId") is not None:
                    out.append(
                        {
                            "group": gname,
                            "styleId": str(st.get("styleId")),
                            "name": str(st.get("name") or ""),
                            "url": str(st.get("url") or ""),
                        }
                    )
        return out

    def build_list(
        self, *, account: str | None = None, limit: int = 20, last_id: str | None = None
    ) -> HttpRequest:
        """``GET /v1/minimax/music/?account=&limit=&lastMusicId=`` (songs moderated later are not listed)."""
        params: dict[str, str] = {"limit": str(limit)}
        if account:
            params["account"] = account
        if last_id:
            params["lastMusicId"] = last_id
        return HttpRequest("GET", "/v1/minimax/music/", "read", params=params)

    def parse_list(self, response: HttpResponse) -> list[Mapping[str, Any]]:
        """The list of retrieve objects."""
        self.raise_for_error(response)
        data = read_json(self.name, response, expect=list)
        return [dict(item) for item in data if isinstance(item, Mapping)]


def _first_item(data: Any) -> Mapping[str, Any] | None:
    """The create answer as one object: itself, or the first object of a list (the relaunch may answer
    ``[{"musicId"}, …]``); ``None`` when it is neither."""
    if isinstance(data, Mapping):
        return data
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        return data[0]
    return None
