"""The life of a job as one pure flow: every decision, no I/O.

The pattern is httpx's ``Auth.auth_flow``: each step is a generator that *yields effects* (send this
request, sleep, write this to the journal, save these bytes, tell the user) and *receives their
outcomes*; a failed effect is thrown back into the generator at the ``yield``. The sync
``MusicClient`` and the async ``AsyncMusicClient`` are two short drivers of these generators, so the
two clients cannot disagree, and the flow is tested effect by effect without a socket
(``tests/unit/test_flow.py``, h11-style: feed an outcome, check the next effect).

The life of a job::

    SUBMITTING --answer--> QUEUED/RUNNING --status reads--> COMPLETED --download--> audio saved
        |                                                 \\-> MODERATED / FAILED / CANCELLED
        |--refused (busy, rate limit: nothing bought)--> sent again after a wait (or FAILED)
        |--rejected (4xx: nothing bought)--> FAILED / MODERATED
        `--answer lost (reset, timeout, garbled, 5xx or a gateway page)--> AMBIGUOUS
              AMBIGUOUS --reconcile (the provider's list, every account)--> RUNNING ...
                        | AMBIGUOUS ("paid? cannot be identified": no list, or no match)

Rules every path keeps: a create is sent again only when it surely never left (a refused connection)
or when the server answered that it refused it; nothing ambiguous is ever sent again or written off;
a 404 on the audio means moderated only when the provider says so (a fresh status read, or the
provider's documented reading of a 404), otherwise the provider lost it (``LOST``, with the reason);
an expired URL (403) gets one fresh status read, then the download again.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from minimax_nb.client.download import DownloadError
from minimax_nb.errors import (
    APIConnectionError,
    MiniMaxError,
    NotFoundError,
    ServerError,
    WaitTimeoutError,
)
from minimax_nb.models import Job, JobStatus, MusicRequest, utcnow
from minimax_nb.providers.base import HttpRequest, HttpResponse, SubmitResult

if TYPE_CHECKING:
    from minimax_nb.client.core import ClientCore, StreamAssemblerLike

__all__ = [
    "CheckCache",
    "Fetch",
    "FetchCover",
    "Flow",
    "Journal",
    "Measure",
    "Notify",
    "SaveBytes",
    "Send",
    "Sleep",
    "call",
    "fetch_audio",
    "follow",
    "generate",
    "get",
    "match_listed",
    "obtain",
    "reconcile",
    "resume_one",
    "submit",
    "submit_once",
    "submit_patiently",
    "wait",
]

log = logging.getLogger("minimax_nb.client")
T = TypeVar("T")


# --------------------------------------------------------------------------------------------------
# the effects (what the drivers do for the flow)
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Send ``request``; the outcome is the ``HttpResponse``. With ``assembler`` (a streamed create)
    the driver feeds the event stream to it and the outcome is its ``SubmitResult`` (or the plain
    ``HttpResponse`` when the server did not answer with a stream). Failures arrive as
    ``MiniMaxError`` (``APIConnectionError`` says whether the request may have reached the server)."""

    request: HttpRequest
    assembler: StreamAssemblerLike | None = None
    job: Job | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclasses.dataclass(frozen=True, slots=True)
class Journal:
    """Write to the ledger. ``op``: ``"submitting"`` (before the create is sent), ``"record"`` (a
    state change, ``old`` is the state the flow saw), ``"ambiguous"`` (move out of ``submitting``
    only, with ``note``), ``"adopt"`` (an ambiguous job identified: ``new`` gets its id) or
    ``"audio"`` (a saved file: ``audio`` is ``(path, sha256, size)``)."""

    op: str
    job: Job
    old: Job | None = None
    note: str | None = None
    audio: tuple[Path, str, int] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Notify:
    """Tell the user (``on_update``, progress, ``watch()``) about a new state."""

    job: Job


@dataclasses.dataclass(frozen=True, slots=True)
class CheckCache:
    """Outcome: the already-downloaded file of ``job`` (``exact`` when it exists), or ``None``."""

    job: Job
    directory: Path
    exact: Path | None


@dataclasses.dataclass(frozen=True, slots=True)
class Fetch:
    """Stream ``job.audio_url`` to a file; outcome ``(path, sha256, size)``. Failures arrive as the
    typed download errors (403/404/410 ``NotFoundError``, 429, 5xx, ``DownloadError``)."""

    job: Job
    directory: Path
    exact: Path | None


@dataclasses.dataclass(frozen=True, slots=True)
class SaveBytes:
    """Write audio that came in the answer itself; outcome ``(path, sha256, size)``."""

    job: Job
    data: bytes
    ext: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class FetchCover:
    """Save the provider's cover beside the audio (best effort: the outcome is ignored)."""

    job: Job
    audio_path: Path


@dataclasses.dataclass(frozen=True, slots=True)
class Measure:
    """Outcome: the duration in seconds of the audio file at ``path`` (``None`` when unreadable)."""

    path: Path


Effect = Send | Sleep | Journal | Notify | CheckCache | Fetch | SaveBytes | FetchCover | Measure
Flow = Generator[Effect, Any, T]


# --------------------------------------------------------------------------------------------------
# reads
# --------------------------------------------------------------------------------------------------


def call(core: ClientCore, request: HttpRequest, parse: Callable[[HttpResponse], T]) -> Flow[T]:
    """Send ``request`` and parse the answer, retrying as its kind allows (a read on 429, 5xx and
    connection errors; a submit only when it surely never left)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            response = yield Send(request)
            return core.interpret(parse, response)
        except MiniMaxError as err:
            delay = core.retry_delay(request.kind, err, attempt)
            if delay is None:
                raise
        log.info("%s %s failed; retry %d in %.2fs", core.provider, request.kind, attempt, delay)
        yield Sleep(delay)


def get(core: ClientCore, job: Job, *, record: bool = True) -> Flow[Job]:
    """One status read (retried as a read); the new state is journaled when ``record``."""
    request = core.adapter.build_poll(job)
    if request is None:
        return job
    new = yield from call(core, request, lambda r: core.adapter.parse_poll(job, r))
    if record and changed(job, new):
        yield Journal("record", new, old=job)
    return new


def lose(core: ClientCore, job: Job, reason: str) -> Flow[Job]:
    """The provider had ``job`` and lost it: recorded ``LOST`` with the reason (final)."""
    new = job.evolve(status=JobStatus.LOST, error=core.redact(reason))
    yield Journal("record", new, old=job)
    return new


# --------------------------------------------------------------------------------------------------
# the create
# --------------------------------------------------------------------------------------------------


def may_have_reached_server(error: BaseException) -> bool:
    """False only for an error known to have happened before the request was sent."""
    return bool(getattr(error, "may_have_reached_server", True))


def may_have_created(error: BaseException) -> bool:
    """Whether a failed create may have been carried out: the answer was lost, garbled, or a server
    failure (5xx, a gateway's page) came back after the server may have made the song. A refusal, a
    rejection (4xx) or a connection that never opened made nothing."""
    if isinstance(error, APIConnectionError):
        return may_have_reached_server(error)
    if isinstance(error, ServerError):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and status >= 500


def submit(core: ClientCore, request: MusicRequest, account: str | None, job: Job | None = None) -> Flow[Job]:
    """Send the create once (refusals raise and leave the job ``SUBMITTING`` for a re-send).

    Raises ``ValidationError`` before anything is journaled or sent. A create whose answer was lost
    raises its error with ``err.job`` in state ``AMBIGUOUS`` (journaled); a rejection raises with the
    job ``FAILED``/``MODERATED`` (journaled). Audio that came inside the answer is saved.
    """
    http = core.prepare_submit(request, account)
    job = (job or core.new_job(request, account)).evolve(status=JobStatus.SUBMITTING, submitted_at=utcnow())
    yield Journal("submitting", job)
    sent = job
    assembler = core.stream_assembler(http)
    attempt = 0
    while True:
        attempt += 1
        try:
            answer = yield Send(http, assembler=assembler, job=sent)
            if isinstance(answer, SubmitResult):
                result = answer
            else:
                result = core.interpret(lambda r: core.adapter.parse_submit(sent, r), answer)
            break
        except MiniMaxError as err:
            if err.job is None:
                err.job = job
            if core.is_refusal(err):
                raise
            if may_have_created(err):
                err.job = yield from _ambiguous(core, job, f"the create may have been carried out, but its "
                                                            f"answer was lost ({type(err).__name__}: {err})")
                raise
            delay = core.retry_delay("submit", err, attempt)  # only a create that surely never left
            if delay is None:
                failed = core.failed_submit(job, err)
                yield Journal("record", failed, old=job)
                err.job = failed
                raise
        yield Sleep(delay)
    new = result.job
    if new.status is JobStatus.SUBMITTING:  # the adapter took the order without naming a state
        new = new.evolve(status=JobStatus.QUEUED)
    yield Journal("record", new, old=job)
    if result.audio_bytes:
        path, sha, size = yield SaveBytes(new, result.audio_bytes, result.audio_ext)
        new = yield from _saved(core, new, path, sha, size)
    return new


def _ambiguous(core: ClientCore, job: Job, reason: str) -> Flow[Job]:
    new = job.evolve(status=JobStatus.AMBIGUOUS, error=core.redact(reason))
    yield Journal("ambiguous", new, old=job, note=new.error)
    return new


def submit_patiently(core: ClientCore, request: MusicRequest, account: str | None) -> Flow[Job]:
    """``submit``, and after a refusal (a busy account, a rate limit: nothing was bought) wait and send
    it again, up to about the poll timeout; then the job is ``FAILED`` ("refused"), truthfully."""
    job: Job | None = None
    refusals = 0
    while True:
        try:
            return (yield from submit(core, request, account, job))
        except MiniMaxError as err:
            if not core.is_refusal(err):
                raise
            job = err.job if isinstance(err.job, Job) else job
            refusals += 1
            if refusals > core.max_refusals():
                if job is not None:
                    failed = core.failed_submit(job, err)
                    yield Journal("record", failed, old=job)
                    err.job = failed
                raise
            delay = core.refusal_delay(err, refusals)
        yield Sleep(delay)


# --------------------------------------------------------------------------------------------------
# waiting, following, downloading
# --------------------------------------------------------------------------------------------------


def seconds_since(moment: datetime | None, fallback: datetime) -> float:
    return max(0.0, (utcnow() - (moment or fallback)).total_seconds())


def wait(core: ClientCore, job: Job, timeout: float | None = None) -> Flow[Job]:
    """Read the status on the poll schedule until ``job`` is final (each change is notified).

    The schedule (the user's ``PollPolicy``, else one learned from the ledger's finished jobs) runs on
    the job's own clock: from the submit, or — once a read sees the provider move the job from queued
    to running — from the midpoint of those two reads (its start, known to within a read). While the
    provider says queued, reads follow ``policy.queued_delay``. A job older than the first delay (a
    resume) is read at once. A provider answering 404 for the id it handed out has lost the job:
    ``LOST``. Raises ``WaitTimeoutError`` (with the last state) after ``timeout`` seconds of waiting.
    """
    if job.is_final or core.adapter.build_poll(job) is None:
        return job
    policy = core.policy_for(job)
    limit = timeout if timeout is not None else policy.timeout
    deadline = core.clock() + limit
    tail = float(getattr(policy, "cap", 0.0) or policy.first_delay or 1.0)
    started: datetime | None = None  # the start of generation, when a read saw queued -> running
    last_queued: datetime | None = None
    reads = 0
    while True:
        since_submit = seconds_since(job.submitted_at, job.created_at)
        if reads == 0 and since_submit >= policy.first_delay:
            nxt: float | None = 0.0
        elif job.status is JobStatus.QUEUED:
            nxt = policy.queued_delay(since_submit)
        elif started is not None:
            nxt = policy.next_delay(seconds_since(started, job.created_at))
        else:
            nxt = policy.next_delay(since_submit)
        delay = max(0.0, min(tail if nxt is None else nxt, deadline - core.clock()))
        if delay > 0:
            yield Sleep(delay)
        read_at = utcnow()
        try:
            new = yield from get(core, job, record=False)
        except NotFoundError as err:
            if job.id is None:
                raise
            new = yield from lose(core, job, f"the provider no longer knows this job ({err})")
        except MiniMaxError as err:
            if err.job is None:
                err.job = job
            raise
        reads += 1
        if new.status is JobStatus.QUEUED:
            last_queued = read_at
        elif last_queued is not None and started is None and new.status is JobStatus.RUNNING:
            started = last_queued + (read_at - last_queued) / 2
            new = dataclasses.replace(new, started_at=started)
        if changed(job, new):
            if new.status is not JobStatus.LOST:
                yield Journal("record", new, old=job)
            yield Notify(new)
        job = new
        if job.is_final:
            return job
        if core.clock() >= deadline:
            raise WaitTimeoutError(f"job {job.key} not finished after {limit:g}s", provider=core.provider,
                                   job=job)


def fetch_audio(core: ClientCore, job: Job, dest: str | os.PathLike[str] | None = None) -> Flow[Job]:
    """Save ``job``'s audio (a cache hit sends nothing) and return the job with ``audio_path`` (and
    ``duration_s`` measured from the file when the provider gave none).

    A 403/404/410 gets one fresh status read: it may bring a fresh URL (then the download again), say
    the song was moderated, or show the provider lost the job (``LOST``). A 404 while the status still
    says completed is moderation only where the provider documents that reading
    (``adapter.audio_404_moderated``: AIML, apiin — their status never reports a later moderation);
    anything else is ``LOST``, with the reason.
    A 403 that persists raises: the job stays ``COMPLETED`` without audio, and a later resume retries.
    """
    directory, exact = core.download_target(dest)
    cached = yield CheckCache(job, directory, exact)
    if cached is not None:
        return (yield from _cached(core, job, cached))
    if not job.audio_url:
        raise DownloadError(f"job {job.key} has no audio URL ({job.status.value})", provider=core.provider,
                            job=job)
    refreshed = False
    while True:
        try:
            path, sha, size = yield from _fetch_retrying(core, job, directory, exact)
            break
        except NotFoundError as err:
            if err.job is None:
                err.job = job
            if refreshed or core.adapter.build_poll(job) is None:
                return (yield from _audio_gone(core, job, err))
            refreshed = True
        try:
            fresh = yield from get(core, job)
        except NotFoundError as gone:
            return (yield from lose(core, job, f"the audio and the job are gone at the provider ({gone})"))
        if fresh.status is not JobStatus.COMPLETED or not fresh.audio_url:
            return fresh  # moderated (or otherwise final) on a fresh read: journaled by get()
        job = fresh
    return (yield from _saved(core, job, path, sha, size))


def _fetch_retrying(core: ClientCore, job: Job, directory: Path,
                    exact: Path | None) -> Flow[tuple[Path, str, int]]:
    attempt = 0
    while True:
        attempt += 1
        try:
            saved: tuple[Path, str, int] = yield Fetch(job, directory, exact)
            return saved
        except MiniMaxError as err:
            if err.job is None:
                err.job = job
            delay = core.retry_delay("read", err, attempt)
            if delay is None:
                raise
        yield Sleep(delay)


def _audio_gone(core: ClientCore, job: Job, err: NotFoundError) -> Flow[Job]:
    if err.status_code == 403:
        raise err  # still expired after a fresh read: COMPLETED without audio, recoverable later
    if core.adapter.audio_404_moderated and err.status_code == 404:
        new = job.evolve(status=JobStatus.MODERATED,
                         error="the provider removed the audio after the song was made (moderated)")
        yield Journal("record", new, old=job)
        return new
    return (yield from lose(core, job, f"the audio is gone at the provider (HTTP {err.status_code}) and its "
                                       f"status does not say the song was moderated"))


def _saved(core: ClientCore, job: Job, path: Path, sha: str, size: int) -> Flow[Job]:
    changes: dict[str, Any] = {"audio_path": path}
    if job.duration_s is None:
        changes["duration_s"] = yield Measure(path)
    new = job.evolve(**changes)
    yield Journal("audio", new, audio=(path, sha, size))
    if new.cover_url:
        yield FetchCover(new, path)
    return new


def _cached(core: ClientCore, job: Job, path: Path) -> Flow[Job]:
    if job.audio_path is not None and Path(job.audio_path) == path and job.duration_s is not None:
        return job
    changes: dict[str, Any] = {"audio_path": path}
    if job.duration_s is None:
        changes["duration_s"] = yield Measure(path)
    new = job.evolve(**changes)
    yield Journal("audio", new, audio=(path, *core.digest(path)))
    return new


def follow(core: ClientCore, job: Job, download: bool = True) -> Flow[Job]:
    """From an accepted create to the final state (and the audio saved when ``download``)."""
    yield Notify(job)
    if not job.is_final:
        job = yield from wait(core, job)
    elif job.id is not None and core.adapter.build_poll(job) is not None:
        # a blocking create answered final: one status read picks up cover/title and post-moderation
        try:
            new = yield from get(core, job)
        except MiniMaxError as err:
            log.warning("could not re-read %s after its create: %s", job.key, err)
            new = job
        if new.is_final and changed(job, new):
            yield Notify(new)
            job = new
    if download and job.status is JobStatus.COMPLETED and job.audio_path is None and job.audio_url:
        job = yield from fetch_audio(core, job)
        yield Notify(job)
    return job


def submit_once(core: ClientCore, request: MusicRequest, account: str | None) -> Flow[Job]:
    """``submit`` for a single public ``submit()``: a refusal is final here (``FAILED``, nothing was
    bought), journaled, and raised."""
    try:
        return (yield from submit(core, request, account))
    except MiniMaxError as err:
        if core.is_refusal(err) and isinstance(err.job, Job) and err.job.status is JobStatus.SUBMITTING:
            failed = core.failed_submit(err.job, err)
            yield Journal("record", failed, old=err.job)
            err.job = failed
        raise


def obtain(core: ClientCore, request: MusicRequest, account: str | None) -> Flow[Job]:
    """An accepted job for ``request``: submitted patiently; a create whose answer was lost is
    reconciled at once against the provider's list. Still unidentified, its error is raised with the
    job ``AMBIGUOUS`` (``resume()`` tries again later; nothing is ever sent twice)."""
    try:
        return (yield from submit_patiently(core, request, account))
    except MiniMaxError as err:
        ambiguous = err.job if isinstance(err.job, Job) and err.job.status is JobStatus.AMBIGUOUS else None
        if ambiguous is None:
            raise
        job = (yield from reconcile(core, [ambiguous]))[0]
        if job.id is None:
            err.job = job
            raise
    return job


def generate(core: ClientCore, request: MusicRequest, account: str | None,
             download: bool = True) -> Flow[Job]:
    """Obtain the job, follow it to the end, save its audio."""
    job = yield from obtain(core, request, account)
    return (yield from follow(core, job, download))


def audio_path_or_raise(core: ClientCore, job: Job) -> Path:
    """The saved file of ``job``; a download that ended in another state (moderated, lost) raises."""
    if job.audio_path is None:
        raise DownloadError(f"job {job.key} has no audio: {job.status.value}"
                            + (f" ({job.error})" if job.error else ""), provider=core.provider, job=job)
    return Path(job.audio_path)


# --------------------------------------------------------------------------------------------------
# reconciliation and resume
# --------------------------------------------------------------------------------------------------


def list_every_account(core: ClientCore, limit: int = 100) -> Flow[list[Mapping[str, Any]] | None]:
    """The provider's list of recent songs over every account of the client (``None``: no list)."""
    out: list[Mapping[str, Any]] = []
    for account in core.accounts:
        try:
            request = core.adapter.build_list(account=account, limit=limit, last_id=None)
        except NotImplementedError:
            return None
        items = yield from call(core, request, core.adapter.parse_list)
        out.extend({**item, "_account": account} for item in items)
    return out


def match_listed(job: Job, listed: Sequence[Mapping[str, Any]], known_ids: set[str]) -> str | None:
    """The id of the listed song that is ``job`` (whose create answer was lost), when exactly one fits:
    same lyrics and title, made no earlier than two minutes before the job, not already a known job."""
    want_lyrics = (job.request.lyrics or "").strip()
    want_title = (job.request.title or "").strip()
    since_ms = ((job.submitted_at or job.created_at).timestamp() - 120) * 1000
    hits: list[str] = []
    for item in listed:
        mid = item.get("musicId") or item.get("id")
        if not isinstance(mid, str) or mid in known_ids:
            continue
        if job.account is not None and item.get("_account", job.account) != job.account:
            continue
        lyrics = str(item.get("lyrics") or item.get("prompt") or "").strip()
        if want_lyrics and lyrics and lyrics != want_lyrics:
            continue
        if want_title and item.get("title") and str(item.get("title")).strip() != want_title:
            continue
        created = item.get("createTime")
        if isinstance(created, int | float) and created < since_ms:
            continue
        hits.append(mid)
    return hits[0] if len(hits) == 1 else None


def reconcile(core: ClientCore, jobs: Sequence[Job], known_ids: set[str] | None = None,
              listed: list[Mapping[str, Any]] | None = None) -> Flow[list[Job]]:
    """Identify jobs whose create answer was lost (``SUBMITTING`` left by a crash, or ``AMBIGUOUS``).

    Matched against the provider's list over every account: a match gets its id and is ``RUNNING``
    (the next status read tells more). Otherwise the job is (or stays) ``AMBIGUOUS``: perhaps paid,
    cannot be identified. Its absence from a list proves nothing (a song moderated after it was made
    leaves the list), so it is never written off, and never sent again.
    """
    pending = [j for j in jobs if j.id is None and not j.is_final]
    if not pending:
        return list(jobs)
    if listed is None:
        try:
            listed = yield from list_every_account(core)
        except MiniMaxError as err:
            log.warning("reconcile: the provider's list could not be read: %s", err)
            listed = None
    known = set(known_ids or ())
    out: list[Job] = []
    for job in jobs:
        if job not in pending:
            out.append(job)
            continue
        mid = match_listed(job, listed, known) if listed else None
        if mid is not None:
            known.add(mid)
            new = job.evolve(id=mid, status=JobStatus.RUNNING, error=None)
            yield Journal("adopt", new, old=job)
            out.append(new)
        elif job.status is not JobStatus.AMBIGUOUS:
            why = ("the provider's list shows no such song" if listed is not None
                   else "the provider has no list to identify it by")
            why = f"the create may or may not have reached the provider; it was not sent again ({why})"
            out.append((yield from _ambiguous(core, job, why)))
        else:
            out.append(job)
    return out


def resume_one(core: ClientCore, job: Job, download: bool = True) -> Flow[Job]:
    """Bring one identified job (it has an id) to its final state and its audio, as far as possible.
    Errors leave it open (with the error text) for the next resume."""
    try:
        if not job.is_final:
            job = yield from wait(core, job)
        if download and job.status is JobStatus.COMPLETED and job.audio_url and not _has_file(job):
            job = yield from fetch_audio(core, job)
            yield Notify(job)
    except MiniMaxError as err:
        log.warning("resume: %s not finished: %s", job.key, err)
        last = err.job if isinstance(err.job, Job) and err.job.local_id == job.local_id else job
        return last.evolve(error=core.redact(str(err))) if not last.is_final else last
    return job


def _has_file(job: Job) -> bool:
    return job.audio_path is not None and Path(job.audio_path).is_file()


def changed(old: Job, new: Job) -> bool:
    """Whether ``new`` differs from ``old`` in anything a user (or the journal) cares about."""
    return (old.status, old.id, old.audio_url, old.audio_path, old.cover_url, old.title, old.error) != (
        new.status, new.id, new.audio_url, new.audio_path, new.cover_url, new.title, new.error)
