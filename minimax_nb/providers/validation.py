"""Validation: what a model accepts (``ModelSpec``), what is wrong with a request (``Issue``) and the
checks every adapter's ``validate()`` runs (``check_request``). Pure; nothing here sends anything.

Everything that would fail later while sending — an ``extra=`` that cannot be encoded as JSON (sets,
bytes, objects, NaN, circular or too deeply nested values), text that cannot be encoded as UTF-8 —
is reported here as a ``level="error"`` issue, so ``build_submit`` raises ``ValidationError`` before any
request is made and before any ledger row is written.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlsplit

from minimax_nb import lyrics as _lyrics
from minimax_nb.models import MusicRequest
from minimax_nb.providers._json import MAX_JSON_DEPTH, nests_deeper_than

__all__ = [
    "Issue",
    "ModelSpec",
    "check_encodable",
    "check_request",
    "errors_only",
    "url_path_ends_with",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Issue:
    """One validation finding. ``level="error"`` blocks the request; ``"warning"`` does not."""

    level: Literal["error", "warning"]
    field: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class ModelSpec:
    """What one model of one provider accepts. Validation, the composer and the launcher read this."""

    name: str
    lyrics_max: int | None = None
    lyrics_min: int = 0
    lyrics_required: bool = False
    prompt_min: int = 0
    prompt_max: int | None = None
    prompt_required: bool = False
    bitrates: tuple[int, ...] = ()
    sample_rates: tuple[int, ...] = ()
    formats: tuple[str, ...] = ()
    structure_tags: bool = False
    accompaniment_marks: bool = False
    needs_reference_audio: bool = False
    supports_instrumental: bool = False
    max_duration_s: float | None = None
    price_usd: float | None = None
    #: useapi v1: a ``style_id`` (from the styles list) is required.
    needs_style_id: bool = False
    #: Longest title accepted (useapi relaunch: 40); ``None`` when unlimited or unknown.
    title_max: int | None = None
    #: File endings the reference audio URL must have (AIML legacy: ``.wav``/``.mp3``); empty: any.
    reference_audio_exts: tuple[str, ...] = ()
    #: ``extra["audio_base64"]`` may stand in for ``reference_audio_url`` (the platform's music-cover).
    reference_audio_base64: bool = False
    #: The request's ``style`` is sent as the prompt (a description); ``False`` when the prompt is the lyrics.
    prompt_is_style: bool = True
    #: Lyrics may be empty when ``instrumental`` is set or ``extra["lyrics_optimizer"]`` is true.
    lyrics_optional_when_instrumental: bool = False
    #: The request holds the connection until the song is made (no polling needed).
    blocking: bool = False
    #: Short human description (shown by the launcher).
    description: str = ""


def errors_only(issues: Sequence[Issue]) -> list[Issue]:
    """Only the ``level="error"`` issues (the ones that block a request)."""
    return [i for i in issues if i.level == "error"]



def url_path_ends_with(url: str, exts: Sequence[str]) -> bool:
    """True when the path of ``url`` (query and fragment ignored) ends with one of ``exts``."""
    try:
        path = urlsplit(url).path.lower()
    except ValueError:
        return False
    return any(path.endswith(e.lower()) for e in exts)



_TEXT_FIELDS = ("lyrics", "style", "style_id", "title", "model", "reference_audio_url", "audio_format")


def check_encodable(request: MusicRequest) -> list[Issue]:
    """Errors for what cannot be sent: text that is not valid UTF-8 (lone surrogates), and an
    ``extra=`` that is not JSON (``json.dumps(..., allow_nan=False)`` fails, or it nests deeper than
    ``MAX_JSON_DEPTH``)."""
    issues: list[Issue] = []
    for name in _TEXT_FIELDS:
        value = getattr(request, name)
        if isinstance(value, str) and not _utf8(value):
            issues.append(Issue("error", name, f"{name} has characters that cannot be sent (not UTF-8)"))
    extra = dict(request.extra)
    if not extra:
        return issues
    if nests_deeper_than(extra, MAX_JSON_DEPTH):
        issues.append(Issue("error", "extra", f"extra nests deeper than {MAX_JSON_DEPTH} levels"))
        return issues
    try:
        text = json.dumps(extra, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError, OverflowError) as e:
        reason = str(e) or type(e).__name__
        issues.append(Issue("error", "extra", f"extra cannot be sent as JSON: {reason}"))
        return issues
    if not _utf8(text):
        issues.append(Issue("error", "extra", "extra has text that cannot be sent (not UTF-8)"))
    return issues


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_request(spec: ModelSpec, request: MusicRequest) -> list[Issue]:
    """Every problem of ``request`` against ``spec``: what cannot be sent (``check_encodable``), lengths,
    required fields, allowed values, and the lyrics warnings (text on a tag line, tags or ``##`` on a
    model that does not use them).
    """
    issues: list[Issue] = check_encodable(request)
    lyr = request.lyrics
    prm = request.style or ""
    no_lyrics_ok = spec.lyrics_optional_when_instrumental and (
        request.instrumental or bool(request.extra.get("lyrics_optimizer"))
    )

    # lyrics
    n = _lyrics.char_count(lyr)
    if not lyr.strip():
        if spec.lyrics_required and not no_lyrics_ok:
            issues.append(Issue("error", "lyrics", f"lyrics is required for {spec.name}"))
    else:
        if spec.lyrics_max is not None and n > spec.lyrics_max:
            issues.append(
                Issue(
                    "error",
                    "lyrics",
                    f"lyrics is {n} characters; {spec.name} accepts at most {spec.lyrics_max}",
                )
            )
        if spec.lyrics_min and n < spec.lyrics_min:
            issues.append(
                Issue(
                    "error",
                    "lyrics",
                    f"lyrics is {n} characters; {spec.name} needs at least {spec.lyrics_min}",
                )
            )
    # prompt (style description)
    if spec.prompt_is_style:
        m = len(prm)
        if not prm.strip():
            if spec.prompt_required:
                issues.append(
                    Issue(
                        "error",
                        "style",
                        f"style (the style description, sent as prompt) is required for {spec.name}",
                    )
                )
        else:
            if spec.prompt_max is not None and m > spec.prompt_max:
                issues.append(
                    Issue(
                        "error",
                        "style",
                        f"style is {m} characters; {spec.name} accepts at most {spec.prompt_max}",
                    )
                )
            if spec.prompt_min and m < spec.prompt_min:
                issues.append(
                    Issue(
                        "error",
                        "style",
                        f"style is {m} characters; {spec.name} needs at least {spec.prompt_min}",
                    )
                )
    elif request.style and request.style.strip():
        issues.append(
            Issue("warning", "style", f"{spec.name} takes no style description; the style text is not sent")
        )
    # style id, title
    if spec.needs_style_id and not (request.style_id and request.style_id.strip()):
        issues.append(Issue("error", "style_id", f"style_id is required for {spec.name} (see styles())"))
    if spec.title_max is not None and request.title and len(request.title) > spec.title_max:
        issues.append(
            Issue(
                "error",
                "title",
                f"title is {len(request.title)} characters; {spec.name} accepts at most {spec.title_max}",
            )
        )
    # reference audio
    ref = request.reference_audio_url
    b64 = request.extra.get("audio_base64")
    if spec.needs_reference_audio and not (ref and ref.strip()) and not (b64 and spec.reference_audio_base64):
        unread = "; this model does not read extra['audio_base64']" if b64 else ""
        issues.append(
            Issue("error", "reference_audio_url", f"reference_audio_url is required for {spec.name}{unread}")
        )
    if ref and spec.reference_audio_exts and not url_path_ends_with(ref, spec.reference_audio_exts):
        issues.append(
            Issue(
                "error",
                "reference_audio_url",
                f"reference_audio_url must end with {' or '.join(spec.reference_audio_exts)}",
            )
        )
    if ref and not spec.needs_reference_audio:
        issues.append(Issue("warning", "reference_audio_url", f"{spec.name} does not use reference audio"))
    # output settings
    if request.bitrate is not None:
        if not spec.bitrates:
            issues.append(Issue("warning", "bitrate", f"{spec.name} has no bitrate setting; it is ignored"))
        elif request.bitrate not in spec.bitrates:
            issues.append(
                Issue(
                    "error",
                    "bitrate",
                    f"bitrate {request.bitrate} is not one of " + ", ".join(str(b) for b in spec.bitrates),
                )
            )
    if request.sample_rate is not None:
        if not spec.sample_rates:
            issues.append(
                Issue("warning", "sample_rate", f"{spec.name} has no sample rate setting; it is ignored")
            )
        elif request.sample_rate not in spec.sample_rates:
            issues.append(
                Issue(
                    "error",
                    "sample_rate",
                    f"sample_rate {request.sample_rate} is not one of "
                    + ", ".join(str(r) for r in spec.sample_rates),
                )
            )
    if request.audio_format is not None:
        if not spec.formats:
            issues.append(
                Issue("warning", "audio_format", f"{spec.name} has no format setting; it is ignored")
            )
        elif request.audio_format not in spec.formats:
            issues.append(
                Issue(
                    "error",
                    "audio_format",
                    f"audio_format {request.audio_format!r} is not one of " + ", ".join(spec.formats),
                )
            )
    if request.instrumental and not spec.supports_instrumental:
        issues.append(
            Issue("warning", "instrumental", f"{spec.name} has no instrumental switch; it is ignored")
        )
    # lyrics conventions
    for w in _lyrics.lyric_warnings(
        lyr, structure_tags=spec.structure_tags, accompaniment_marks=spec.accompaniment_marks
    ):
        issues.append(Issue("warning", "lyrics", w))
    return issues
