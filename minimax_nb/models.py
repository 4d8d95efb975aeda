"""The one model every provider is mapped onto: a request, a job and its status.

Plain frozen dataclasses with no I/O. Updates never mutate: ``job.evolve(status=...)`` returns a new
``Job``. Everything here round-trips through plain JSON (``to_dict``/``from_dict``) so the ledger can
store it and the widgets can show it.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["Job", "JobStatus", "MusicRequest", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC). Every timestamp in a ``Job`` is made by this."""
    return datetime.now(UTC)


class JobStatus(str, enum.Enum):
    """Where a job is: the one state vocabulary of the flow, the ledger, the widgets and the results.

    ``SUBMITTING`` — recorded before the create is sent. ``AMBIGUOUS`` — the create may have been
    taken (its answer was lost or garbled) and we do not know its id: it is never sent again and never
    written off; ``resume()`` reconciles it. ``QUEUED``/``RUNNING`` move on. ``COMPLETED``,
    ``MODERATED``, ``FAILED``, ``CANCELLED`` and ``LOST`` (the provider had the job and no longer knows
    it) are final.
    """

    SUBMITTING = "submitting"
    AMBIGUOUS = "ambiguous"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    MODERATED = "moderated"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"

    @property
    def is_final(self) -> bool:
        return self not in _OPEN

    @property
    def is_open(self) -> bool:
        """Not final: the job may still be (or become) a song at the provider."""
        return self in _OPEN

    def __str__(self) -> str:
        return self.value


_OPEN: frozenset[JobStatus] = frozenset(
    {JobStatus.SUBMITTING, JobStatus.AMBIGUOUS, JobStatus.QUEUED, JobStatus.RUNNING})


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def _type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


#: The types every ``MusicRequest`` field accepts (``bool`` is never an ``int`` here).
_STR_OR_NONE = ("style", "style_id", "title", "model", "reference_audio_url", "audio_format")
_INT_OR_NONE = ("bitrate", "sample_rate")


def _check_request_types(req: MusicRequest) -> None:
    """Raise ``TypeError`` naming the first wrongly typed field of ``req`` and the type it got."""
    if not isinstance(req.lyrics, str):
        raise TypeError(f"MusicRequest.lyrics must be a str, got {_type_name(req.lyrics)}")
    for name in _STR_OR_NONE:
        v = getattr(req, name)
        if v is not None and not isinstance(v, str):
            raise TypeError(f"MusicRequest.{name} must be a str or None, got {_type_name(v)}")
    for name in _INT_OR_NONE:
        v = getattr(req, name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise TypeError(f"MusicRequest.{name} must be an int or None, got {_type_name(v)}")
    if not isinstance(req.instrumental, bool):
        raise TypeError(f"MusicRequest.instrumental must be a bool, got {_type_name(req.instrumental)}")
    extra = req.extra
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError(f"MusicRequest.extra must be a mapping with str keys, got {_type_name(extra)}")
    for k in extra or {}:
        if not isinstance(k, str):
            raise TypeError(f"MusicRequest.extra keys must be str, got a key of type {_type_name(k)}")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MusicRequest:
    """What the user asks for, independent of the provider that will make it.

    Attributes:
        lyrics: the lyrics. ``\\n`` separates lines, a blank line makes a pause, ``##…##`` asks for
            accompaniment (minimax-music), ``[Verse]``-style tags on their own line structure newer models.
        style: a free-text description of the music ("upbeat synth-pop, female vocals"). Sent as
            ``prompt`` where the provider's prompt is a description.
        style_id: useapi v1 only: the id of a style from ``client.styles()``.
        title: an optional title.
        model: the provider's model name; ``None`` uses the client's or the provider's default.
        reference_audio_url: a reference song (AIML legacy ``minimax-music``, covers).
        bitrate, sample_rate, audio_format: output settings where the provider takes them.
        instrumental: ask for no vocals where supported.
        extra: provider-specific fields passed through to the request body unchanged (str keys;
            the adapters' ``validate()`` rejects values that cannot be sent as JSON).

    A wrongly typed field raises ``TypeError`` naming the field and the type it got, at construction
    (so before any ledger row or request). ``bool`` is not accepted where an ``int`` is expected.
    """

    lyrics: str = ""
    style: str | None = None
    style_id: str | None = None
    title: str | None = None
    model: str | None = None
    reference_audio_url: str | None = None
    bitrate: int | None = None
    sample_rate: int | None = None
    audio_format: str | None = None
    instrumental: bool = False
    extra: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        _check_request_types(self)
        object.__setattr__(self, "extra", _frozen_mapping(self.extra))

    def replace(self, **changes: Any) -> MusicRequest:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["extra"] = dict(self.extra)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MusicRequest:
        """The request ``to_dict`` gave (unknown keys ignored; ``null`` lyrics/instrumental/extra read
        as their defaults). Wrongly typed values raise ``TypeError`` like the constructor."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        for k, default in (("lyrics", ""), ("instrumental", False), ("extra", {})):
            if k in kw and kw[k] is None:
                kw[k] = default
        return cls(**kw)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable: the read-only ``extra`` view is not
        return (MusicRequest.from_dict, (self.to_dict(),))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One generation at one provider, as last seen.

    ``id`` is the provider's id (``None`` until the provider answered the submit); ``local_id`` is ours,
    made before anything is sent, and is the key of the ledger. ``raw`` is the last payload received,
    with any audio bytes removed. Durations are in seconds whatever unit the provider uses.
    """

    provider: str
    request: MusicRequest
    status: JobStatus = JobStatus.QUEUED
    id: str | None = None
    local_id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    account: str | None = None
    model: str | None = None
    created_at: datetime = dataclasses.field(default_factory=utcnow)
    submitted_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    audio_url: str | None = None
    audio_path: Path | None = None
    cover_url: str | None = None
    duration_s: float | None = None
    title: str | None = None
    lyrics: str | None = None
    style: str | None = None
    error: str | None = None
    raw: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw", _frozen_mapping(self.raw))
        # Accept the plain string a JSON round trip gives back ("completed" -> JobStatus.COMPLETED).
        object.__setattr__(self, "status", JobStatus(self.status))

    @property
    def key(self) -> str:
        """A stable identity for this job: the provider's id when known, else our local id."""
        return self.id or self.local_id

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    def evolve(self, **changes: Any) -> Job:
        """A copy with ``changes`` applied; stamps ``finished_at``/``started_at`` on the transitions."""
        new = dataclasses.replace(self, **changes)
        now = utcnow()
        if new.status is JobStatus.RUNNING and new.started_at is None:
            new = dataclasses.replace(new, started_at=now)
        if new.status.is_final and new.finished_at is None:
            new = dataclasses.replace(new, finished_at=now)
        return new

    def raise_for_status(self) -> Job:
        """Raise ``ModerationError`` (moderated) or ``JobFailedError`` (failed, cancelled, lost)."""
        from minimax_nb.errors import JobFailedError, ModerationError

        if self.status is JobStatus.MODERATED:
            raise ModerationError(self.error or "the provider moderated this song", provider=self.provider,
                                  job=self)
        if self.status in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.LOST):
            raise JobFailedError(self.error or f"job {self.status.value}", provider=self.provider, job=self)
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (datetimes as ISO strings, paths as strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, datetime):
                v = v.isoformat()
            elif isinstance(v, Path):
                v = str(v)
            elif isinstance(v, JobStatus):
                v = v.value
            elif isinstance(v, MusicRequest):
                v = v.to_dict()
            elif f.name == "raw":
                v = dict(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        names = {f.name for f in dataclasses.fields(cls)}
        kw: dict[str, Any] = {k: v for k, v in data.items() if k in names}
        kw["request"] = MusicRequest.from_dict(kw.get("request") or {})
        for k in ("created_at", "submitted_at", "started_at", "finished_at"):
            if isinstance(kw.get(k), str):
                kw[k] = datetime.fromisoformat(kw[k])
        if kw.get("audio_path"):
            kw["audio_path"] = Path(kw["audio_path"])
        return cls(**kw)

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (errors carry jobs across processes)
        return (Job.from_dict, (self.to_dict(),))

    def _repr_html_(self) -> str:
        """A notebook card: title, status, facts, a player, the lyrics folded (``minimax_nb.display``)."""
        from minimax_nb.display import job_html

        return job_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """HTML where the front end shows it, the short ``repr`` text everywhere else."""
        from minimax_nb.display import job_mimebundle

        return job_mimebundle(self, include, exclude)

    def __repr__(self) -> str:  # short: a notebook shows many of these
        title = f" {self.title!r}" if self.title else ""
        return f"<Job {self.provider}:{self.key}{title} {self.status.value}>"
