"""Everything the two clients share that does no I/O (openai-python's ``BaseClient`` split).

The sync ``MusicClient`` and the async ``AsyncMusicClient`` are two short loops around the decisions
made here: which provider and key to use, how to build the httpx request, what a failure means,
whether (and after how long) to retry, what to tell the ledger. Keeping every decision in this module
is what makes drift between the two clients impossible.

Retry rules (the field lessons of ``PROVIDERS.md``):

* a ``"read"`` (status poll, list, styles, download) is retried on 429, 5xx and connection errors,
  with capped exponential backoff and jitter, honouring ``Retry-After`` (seconds or an HTTP date);
* a ``"submit"`` is retried **only** when it surely never reached the server (``httpx.ConnectError``,
  ``httpx.ConnectTimeout``): a replayed create can buy the same song twice.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

import httpx

from minimax_nb.client.download import (
    AUDIO_EXTENSIONS,
    DownloadError,
    audio_duration,
    file_digest,
    find_cached,
    write_audio_bytes,
)
from minimax_nb.client.flow import CheckCache, Journal, Measure, SaveBytes, may_have_reached_server
from minimax_nb.errors import (
    APIConnectionError,
    APITimeoutError,
    BudgetExceededError,
    ConcurrencyLimitError,
    MiniMaxError,
    NotFoundError,
    RateLimitError,
    Secret,
    ServerError,
    from_foreign,
    redact,
)
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers import ENV_KEYS, PROVIDER_NAMES  # the one registry: the adapters'
from minimax_nb.providers import base as _base
from minimax_nb.providers.base import HttpRequest, HttpResponse, ProviderAdapter

if TYPE_CHECKING:
    from minimax_nb.client.polling import PollingPolicy, PollPolicy
    from minimax_nb.client.progress import Progress

__all__ = [
    "DEFAULT_CONCURRENCY",
    "ENV_KEYS",
    "LOCAL_PROVIDER",
    "PROVIDER_NAMES",
    "ClientCore",
    "LedgerLike",
    "RetryPolicy",
    "Timeouts",
    "classify_exception",
    "download_error",
    "may_have_reached_server",
    "parse_retry_after",
    "resolve_api_key",
    "resolve_base_url",
    "resolve_provider",
    "retry_after_from_headers",
    "should_retry",
]

log = logging.getLogger("minimax_nb.client")

LOCAL_PROVIDER = "local"
#: Songs generated at once by ``generate_many`` when ``concurrency`` is not given.
DEFAULT_CONCURRENCY = 4
#: Default local emulator speed (a ~55 s song takes ~5 s); env ``MINIMAX_NB_LOCAL_SPEED`` overrides.
DEFAULT_LOCAL_SPEED = 10.0
#: Largest audio file ``download`` accepts.
DEFAULT_MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024

RequestKind = Literal["submit", "read"]
T = TypeVar("T")


# --------------------------------------------------------------------------------------------------
# timeouts and retry policy
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-request timeouts in seconds.

    ``connect`` is short; ``read`` applies to ordinary requests; ``blocking_read`` to requests that hold
    the connection until the song is made (useapi v1 create, MiniMax platform generation).
    """

    connect: float = 10.0
    read: float = 60.0
    blocking_read: float = 300.0
    write: float = 30.0
    pool: float = 30.0

    @classmethod
    def coerce(cls, value: float | Timeouts | httpx.Timeout | None) -> Timeouts:
        """Accept a number (the blocking read timeout, also caps ordinary reads), a ``Timeouts`` or an
        ``httpx.Timeout``."""
        d = cls()
        if value is None:
            return d
        if isinstance(value, Timeouts):
            return value
        if isinstance(value, httpx.Timeout):
            read = value.read if value.read is not None else d.read
            return cls(
                connect=value.connect if value.connect is not None else d.connect,
                read=read,
                blocking_read=max(read, d.blocking_read),
                write=value.write if value.write is not None else d.write,
                pool=value.pool if value.pool is not None else d.pool,
            )
        seconds = float(value)
        if seconds <= 0:
            raise ValueError("timeout must be positive")
        return cls(connect=min(d.connect, seconds), read=min(d.read, seconds), blocking_read=seconds)

    def for_request(self, request: HttpRequest) -> httpx.Timeout:
        """The httpx timeout for one request (long read for blocking creates)."""
        read = self.blocking_read if request.blocking else self.read
        return httpx.Timeout(connect=self.connect, read=read, write=self.write, pool=self.pool)

    def for_download(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How reads are retried: capped exponential backoff with jitter.

    Attempt ``n`` (1-based) failed → wait ``min(cap, base * 2**(n-1))``, then scaled by a random factor in
    ``[1 - jitter, 1]``. A ``Retry-After`` from the server replaces the backoff (capped at
    ``retry_after_cap``). ``max_attempts`` counts the first try.
    """

    max_attempts: int = 4
    base: float = 0.5
    cap: float = 8.0
    jitter: float = 0.25
    retry_after_cap: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base < 0 or self.cap < 0 or not 0 <= self.jitter <= 1 or self.retry_after_cap < 0:
            raise ValueError("base, cap and retry_after_cap must be >= 0 and jitter in [0, 1]")

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The delay after failed attempt number ``attempt`` (1-based), without a server hint."""
        exp = min(self.cap, self.base * math.pow(2.0, max(0, attempt - 1)))
        return exp * (1.0 - self.jitter * rng())

    def server_delay(self, error: BaseException) -> float | None:
        """The server's ``Retry-After`` carried by ``error`` (capped), or ``None`` when it gave none."""
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, int | float) and hint >= 0:
            return min(float(hint), self.retry_after_cap)
        return None

    def delay(self, error: BaseException, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """The delay before the next attempt: the server's ``Retry-After`` when it gave one, else backoff."""
        hint = self.server_delay(error)
        return hint if hint is not None else self.backoff(attempt, rng)

    def scaled(self, factor: float) -> RetryPolicy:
        """A copy with every duration multiplied by ``factor`` (for fast emulators in tests)."""
        return dataclasses.replace(self, base=self.base * factor, cap=self.cap * factor,
                                   retry_after_cap=self.retry_after_cap * factor)


def parse_retry_after(value: str | None, *, cap: float = 60.0, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), capped at ``cap``.

    ``None`` when absent or unreadable; past dates and negative values give 0. The reading is the
    adapters' (``providers.base.parse_retry_after``); the cap is the client's.
    """
    seconds = _base.parse_retry_after(value, now=now)
    return None if seconds is None else min(seconds, cap)


def retry_after_from_headers(headers: Mapping[str, str], *, cap: float = 60.0,
                             now: datetime | None = None) -> float | None:
    """``retry-after-ms`` (milliseconds) or ``Retry-After`` from response headers, capped."""
    seconds = _base.retry_after_from_headers(headers, now=now)
    return None if seconds is None else min(seconds, cap)


# --------------------------------------------------------------------------------------------------
# failures: classification and the retry decision
# --------------------------------------------------------------------------------------------------

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


def classify_exception(exc: BaseException, *, provider: str | None = None,
                       secrets: Sequence[str | None] = ()) -> APIConnectionError:
    """The ``APIConnectionError``/``APITimeoutError`` an httpx exception means.

    The result carries ``may_have_reached_server``: ``False`` only for ``httpx.ConnectError`` and
    ``httpx.ConnectTimeout`` (the request never left), ``True`` for everything else (a read timeout, a
    dropped connection, a protocol error: the server may have acted on it).
    """
    sent = not isinstance(exc, _NOT_SENT)
    text = redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, secrets)
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    verb = "timed out" if cls is APITimeoutError else "failed"
    where = "before the request was sent" if not sent else "after the request may have reached the server"
    return cls(f"connection {verb} {where} ({text})", provider=provider, may_have_reached_server=sent)


def is_retryable_read_error(error: BaseException) -> bool:
    """429, 5xx and connection errors are worth another read."""
    if isinstance(error, APIConnectionError | RateLimitError | ServerError):
        return True
    if isinstance(error, MiniMaxError) and not isinstance(error, ConcurrencyLimitError):
        status = error.status_code
        return status is not None and (status == 429 or status >= 500)
    return False


def should_retry(kind: RequestKind, error: BaseException, attempt: int,
                 policy: RetryPolicy | None = None) -> bool:
    """Whether a failed request of ``kind`` deserves attempt ``attempt + 1``.

    A ``"submit"`` is retried only when it surely was not sent. A ``"read"`` is retried on 429, 5xx and
    connection errors. Either way at most ``policy.max_attempts`` attempts are made.
    """
    policy = policy or RetryPolicy()
    if attempt >= policy.max_attempts:
        return False
    if kind == "submit":
        return isinstance(error, APIConnectionError) and not may_have_reached_server(error)
    return is_retryable_read_error(error)


def is_refusal(adapter: ProviderAdapter, error: BaseException) -> bool:
    """An answered refusal of a create: nothing was made or bought, the create may be sent again later.

    The adapter's concurrency refusal (useapi's 429 "previous request…", platform 1041), or a rate limit
    answer (429/1002) — both came back from the server, so the create was not carried out.
    """
    if not isinstance(error, Exception):
        return False
    return adapter.is_concurrency_refusal(error) or isinstance(error, RateLimitError)


def download_error(status_code: int, *, provider: str, headers: Mapping[str, str],
                   retry_after_cap: float = 60.0) -> MiniMaxError:
    """The error an unsuccessful audio download answer means."""
    if status_code == 429:
        return RateLimitError("audio download rate limited", provider=provider, status_code=429,
                              retry_after=retry_after_from_headers(headers, cap=retry_after_cap))
    if status_code >= 500:
        err = ServerError(f"audio download failed with HTTP {status_code}", provider=provider,
                          status_code=status_code)
        _attach_retry_after(err, headers, retry_after_cap)
        return err
    if status_code in (403, 404, 410):
        return NotFoundError("the audio URL is gone (expired or moderated)", provider=provider,
                             status_code=status_code)
    return MiniMaxError(f"audio download failed with HTTP {status_code}", provider=provider,
                        status_code=status_code)


# --------------------------------------------------------------------------------------------------
# provider, key and base URL resolution
# --------------------------------------------------------------------------------------------------


def resolve_provider(provider: str | None, env: Mapping[str, str] | None = None) -> str:
    """The provider to use: the one named, else the first whose key env is set, else ``"local"``."""
    env = os.environ if env is None else env
    if provider:
        name = provider.strip().lower()
        if name not in (*PROVIDER_NAMES, LOCAL_PROVIDER):
            raise ValueError(f"unknown provider {provider!r}; expected one of "
                             f"{', '.join((*PROVIDER_NAMES, LOCAL_PROVIDER))}")
        return name
    for name in PROVIDER_NAMES:
        if env.get(ENV_KEYS[name]):
            return name
    return LOCAL_PROVIDER


def resolve_api_key(provider: str, api_key: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The key: the argument, else the provider's env variable, else ``None``."""
    env = os.environ if env is None else env
    if api_key:
        return api_key
    var = ENV_KEYS.get(provider)
    return (env.get(var) or None) if var else None


def resolve_base_url(provider: str, base_url: str | None, default: str,
                     env: Mapping[str, str] | None = None) -> str:
    """The service root: the argument, else ``MINIMAX_NB_<PROVIDER>_BASE_URL``, else the default."""
    env = os.environ if env is None else env
    url = base_url or env.get(f"MINIMAX_NB_{provider.upper()}_BASE_URL") or default
    return url.rstrip("/")


def resolve_local_speed(speed: float | None, env: Mapping[str, str] | None = None) -> float:
    env = os.environ if env is None else env
    if speed is not None:
        return float(speed)
    raw = env.get("MINIMAX_NB_LOCAL_SPEED")
    if raw:
        try:
            value = float(raw)
            if value > 0:
                return value
        except ValueError:
            log.warning("ignoring MINIMAX_NB_LOCAL_SPEED=%r (not a positive number)", raw)
    return DEFAULT_LOCAL_SPEED


# --------------------------------------------------------------------------------------------------
# the ledger seen from the transport
# --------------------------------------------------------------------------------------------------


@runtime_checkable
class LedgerLike(Protocol):
    """What the clients need from ``minimax_nb.ledger.Ledger``."""

    def record_submitting(self, job: Job) -> Any: ...

    def record(self, job: Job) -> Any: ...

    def record_audio(self, job: Job, path: Path, sha256: str, size: int) -> Any: ...

    def mark_unknown(self, job: Job, reason: str) -> Any: ...

    def transition(self, job: Job, *, expect: Any, note: str | None = None) -> bool: ...

    def unfinished(self, provider: str | None = None) -> list[Job]: ...

    def missing_audio(self, provider: str | None = None) -> list[Job]: ...


LedgerArg = LedgerLike | str | os.PathLike[str] | bool | None


def resolve_ledger(ledger: LedgerArg, env: Mapping[str, str] | None = None) -> LedgerLike | None:
    """A ledger object, or ``None`` when off.

    ``False`` or the string ``"off"`` (argument or env ``MINIMAX_NB_LEDGER``) disables it; a path opens a
    ledger there; ``None``/``True`` opens the default one (``.minimax_nb/ledger.sqlite`` under the cwd,
    or the path in ``MINIMAX_NB_LEDGER``).
    """
    env = os.environ if env is None else env
    if ledger is False:
        return None
    if isinstance(ledger, LedgerLike):
        return ledger
    if isinstance(ledger, str | os.PathLike):
        if str(ledger).strip().lower() == "off":
            return None
        path: Path | None = Path(ledger)
    else:
        raw = env.get("MINIMAX_NB_LEDGER", "").strip()
        if raw.lower() == "off":
            return None
        path = Path(raw) if raw else None
    from minimax_nb.ledger import Ledger  # sqlite3 is loaded only when a ledger is opened

    return Ledger(path) if path is not None else Ledger()


# --------------------------------------------------------------------------------------------------
# the shared core of both clients
# --------------------------------------------------------------------------------------------------

class ClientCore:
    """The state and the pure decisions of one client. Both ``MusicClient`` and ``AsyncMusicClient``
    own one; it never does I/O except through the ledger it is given."""

    def __init__(
        self,
        *,
        provider: str,
        adapter: ProviderAdapter,
        api_key: str | None,
        base_url: str,
        account: str | Sequence[str] | None,
        model: str | None,
        timeouts: Timeouts,
        retry: RetryPolicy,
        poll: PollPolicy,
        ledger: LedgerLike | None,
        download_dir: Path,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        learn_polling: bool = False,
        speed: float = 1.0,
    ) -> None:
        self.provider = provider
        self.adapter = adapter
        self.__api_key = Secret(api_key)  # the one place the key lives; never in repr/vars/pickle/logs
        self.base_url = base_url
        if isinstance(account, str) or account is None:
            self.accounts: tuple[str | None, ...] = (account,)
        else:
            self.accounts = tuple(account) or (None,)
        self.model = model
        self.timeouts = timeouts
        self.retry = retry
        self.poll = poll
        self.ledger = ledger
        add_secret = getattr(ledger, "add_secret", None)
        if callable(add_secret) and api_key:
            add_secret(api_key)
        self.download_dir = download_dir
        self.max_download_bytes = max_download_bytes
        #: the flow's clock for deadlines (monotonic seconds); tests may replace it
        self.clock: Callable[[], float] = time.monotonic
        #: learn each job's poll schedule from the ledger (no PollPolicy was given); ``speed``: how much
        #: faster than real time the service runs (an emulator), by which schedules are scaled
        self.learn_polling = learn_polling
        self._scaled_policy: tuple[PollingPolicy, PollingPolicy] | None = None
        self.speed = speed

    def __repr__(self) -> str:
        return f"<ClientCore {self.provider} {self.base_url}>"

    @property
    def account(self) -> str | None:
        """The account used by single submits (the first one configured)."""
        return self.accounts[0]

    @property
    def has_key(self) -> bool:
        return bool(self.__api_key.get())

    def redact(self, text: str) -> str:
        return redact(text, [self.__api_key.get()])

    # ---- requests -------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def request_kwargs(self, request: HttpRequest) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client.build_request``/``AsyncClient.build_request``."""
        headers = {"Accept": "application/json", **dict(request.headers)}
        if not self.__api_key.get() and self.provider != LOCAL_PROVIDER:
            from minimax_nb.errors import AuthenticationError

            var = ENV_KEYS.get(self.provider, "the provider's key variable")
            raise AuthenticationError(f"no API key for {self.provider}: pass api_key= or set {var}",
                                      provider=self.provider)
        if self.__api_key.get():
            headers["Authorization"] = f"{self.adapter.auth_scheme} {self.__api_key.get()}"
        kw: dict[str, Any] = {
            "method": request.method,
            "url": self.url(request.path),
            "headers": httpx.Headers(headers),  # its repr masks Authorization (locals in tracebacks)
            "timeout": self.timeouts.for_request(request),
        }
        if request.params:
            kw["params"] = {k: v for k, v in request.params.items() if v is not None}
        if request.json is not None:
            kw["json"] = request.json
        return kw

    def download_kwargs(self, url: str) -> dict[str, Any]:
        """Audio lives on CDNs: the key is never sent with a download."""
        return {"method": "GET", "url": url, "headers": {"Accept": "audio/*, application/octet-stream"},
                "timeout": self.timeouts.for_download()}

    def connection_error(self, exc: BaseException) -> APIConnectionError:
        return classify_exception(exc, provider=self.provider, secrets=[self.__api_key.get()])

    def to_response(self, status_code: int, body: bytes, headers: httpx.Headers) -> HttpResponse:
        """The adapter's view of an answer. A key the server (or a proxy) echoes back is scrubbed from the
        body and the headers (``X-Request-Id: <key>``), so no error message, request id, error body or
        ledger row made from it can carry the key."""
        key = self.__api_key.get()
        if key and len(key) >= 4 and key.encode() in body:
            body = body.replace(key.encode(), b"***")
        plain = {k: (v.replace(key, "***") if key and len(key) >= 4 else v) for k, v in headers.items()}
        return HttpResponse(status_code=status_code, body=body, headers=plain)

    def retry_delay(self, kind: RequestKind, error: BaseException, attempt: int) -> float | None:
        """Seconds to wait before retrying, or ``None`` to give up and raise ``error``."""
        if not should_retry(kind, error, attempt, self.retry):
            return None
        return self.retry.delay(error, attempt)

    def refusal_delay(self, error: BaseException, attempt: int) -> float:
        """How long to wait before sending a refused create again."""
        hint = self.retry.server_delay(error)
        return hint if hint is not None else max(self.retry.backoff(attempt), self.poll.first_delay / 4)

    def max_refusals(self) -> int:
        """How many refusals one create may meet before giving up (about the poll timeout)."""
        per = max(self.poll.first_delay / 4, self.retry.base, 1e-3)
        return max(3, int(self.poll.timeout / per))

    # ---- jobs -----------------------------------------------------------------------------------

    def new_job(self, request: MusicRequest, account: str | None) -> Job:
        return Job(provider=self.provider, request=request, account=account,
                   model=request.model or self.model or self.adapter.default_model)

    def prepare_submit(self, request: MusicRequest, account: str | None) -> HttpRequest:
        """The create request; raises ``ValidationError`` before anything is sent."""
        return self.adapter.build_submit(request, model=request.model or self.model, account=account)

    def job_from_id(self, job_or_id: Job | str) -> tuple[Job, bool]:
        """The job to read, and whether the ledger may record it: a ``Job``, the ledger's job with that
        provider id, or a bare stand-in (not recorded: it would be a new row on every call)."""
        if isinstance(job_or_id, Job):
            return job_or_id, True
        find = getattr(self.ledger, "find", None)
        if callable(find):
            found = find(self.provider, job_or_id)
            if isinstance(found, Job):
                return found, True
        return Job(provider=self.provider, request=MusicRequest(), id=job_or_id, status=JobStatus.RUNNING,
                   account=self.account), False

    def failed_submit(self, job: Job, error: BaseException) -> Job:
        """The job a rejected create leaves: FAILED, or MODERATED for a moderation refusal."""
        from minimax_nb.errors import ModerationError

        status = JobStatus.MODERATED if isinstance(error, ModerationError) else JobStatus.FAILED
        return job.evolve(status=status, error=self.redact(str(error)))

    def policy_for(self, job: Job) -> PollingPolicy:
        """The poll schedule of ``job``: the user's ``PollPolicy``, else one learned from the ledger's
        finished jobs of this provider and model (``polling.policy_for``), scaled like the user's."""
        if not self.learn_polling:
            return self.poll
        from minimax_nb.client.polling import policy_for

        learned = policy_for(self.provider, job.model, self.ledger,  # type: ignore[arg-type]
                             speed=self.speed, timeout=self.poll.timeout * self.speed)
        if self.speed == 1.0:
            return learned
        # the scaled copy of the (cached) learned policy, made once: not once per job of a batch
        hit = self._scaled_policy
        if hit is None or hit[0] is not learned:
            hit = self._scaled_policy = (learned, learned.scaled(1.0 / self.speed))
        return hit[1]

    def is_refusal(self, error: BaseException) -> bool:
        return is_refusal(self.adapter, error)

    def interpret(self, parse: Callable[[HttpResponse], T], response: HttpResponse) -> T:
        result: T = interpret(parse, response, provider=self.provider)
        return result

    def stream_assembler(self, request: HttpRequest) -> StreamAssemblerLike | None:
        return stream_assembler(self.adapter, request)

    def download_target(self, dest: str | os.PathLike[str] | None) -> tuple[Path, Path | None]:
        return download_target(self, dest)

    @staticmethod
    def digest(path: Path) -> tuple[str, int]:
        return file_digest(path)

    # ---- the local I/O of the flow's effects (the ledger and the disk; blocking) ---------------------

    def journal(self, entry: Journal) -> None:
        """Write one journal entry of the flow to the ledger (nothing when the ledger is off)."""
        led = self.ledger
        if led is None:
            return
        job = entry.job
        if entry.op == "submitting":
            led.record_submitting(job)
        elif entry.op == "ambiguous":  # only out of "submitting": another process may know its id
            led.mark_unknown(job, entry.note or job.error or "the create's answer was lost")
        elif entry.op == "audio" and entry.audio is not None:
            led.record_audio(job, *entry.audio)
        elif entry.op == "adopt" and entry.old is not None:  # only from the state this resume saw
            led.transition(job, expect=(entry.old.status.value, JobStatus.SUBMITTING.value))
        else:  # "record": final states stick, a known provider id is never lost (the ledger's rules)
            led.record(job)

    def local_io(self, effect: Journal | CheckCache | SaveBytes | Measure) -> Any:
        """Carry out an effect that touches only this machine (ledger, files). Blocking: the async
        client runs it in a worker thread."""
        if isinstance(effect, Journal):
            return self.journal(effect)
        if isinstance(effect, CheckCache):
            if effect.exact is not None and effect.exact.is_file():
                return effect.exact
            return find_cached(effect.job, effect.directory)
        if isinstance(effect, SaveBytes):
            return write_audio_bytes(effect.job, effect.data, self.download_dir, ext=effect.ext,
                                     max_bytes=self.max_download_bytes)
        return audio_duration(effect.path)


# --------------------------------------------------------------------------------------------------
# answers, concurrency and client set-up
# --------------------------------------------------------------------------------------------------


def interpret(parse: Callable[[HttpResponse], Any], response: HttpResponse, *, provider: str) -> Any:
    """Run an adapter's parser on ``response``; a parser crash becomes a typed error.

    A body the adapter cannot read is a ``ServerError`` for a 5xx answer (retryable as a read), else an
    ``APIConnectionError`` (malformed answer; it reached the server).
    """
    try:
        return parse(response)
    except MiniMaxError as err:
        _attach_retry_after(err, response.headers)
        raise
    except Exception as exc:  # a parser crash: malformed answer (5xx: ServerError), never a foreign error
        bad = from_foreign(exc, provider=provider, sent=True, status_code=response.status_code)
    raise bad  # outside the except block: no __context__ pointing at the foreign exception


def _attach_retry_after(err: MiniMaxError, headers: Mapping[str, str], cap: float = 3600.0) -> None:
    """Give a 429/5xx error the server's ``Retry-After`` when the adapter did not keep it."""
    if getattr(err, "retry_after", None) is None and (err.status_code or 0) in (429, *range(500, 600)):
        hint = retry_after_from_headers(headers, cap=cap)
        if hint is not None:
            err.retry_after = hint


def account_slots(core: ClientCore, concurrency: int) -> list[str | None]:
    """One entry per generation that may run at once on each account (the per-account bound)."""
    per = core.adapter.per_account_limit or concurrency
    return [acc for acc in core.accounts for _ in range(max(1, per))]


def effective_concurrency(core: ClientCore, concurrency: int | None, n_requests: int) -> int:
    """The global bound of ``generate_many``: the argument, else ``DEFAULT_CONCURRENCY``; never more
    than the requests nor than the account slots."""
    wanted = concurrency if concurrency is not None else DEFAULT_CONCURRENCY
    if wanted < 1:
        raise ValueError("concurrency must be at least 1")
    return max(1, min(wanted, n_requests, len(account_slots(core, wanted))))


def frees_account(job: Job) -> bool:
    """True once the provider no longer counts ``job`` against its account (final, or not yet sent)."""
    return job.is_final


def batch_failure(core: ClientCore, request: MusicRequest, account: str | None,
                  error: BaseException) -> Job:
    """The Job a failed ``generate_many`` item becomes, as true as the journal.

    A job the flow already settled (made: it has an id; or ``AMBIGUOUS``, ``FAILED``, ``MODERATED``…)
    keeps its state and gets the error text (a made job may still finish: ``resume()`` picks it up).
    A request that failed before any job existed (invalid, a bug) becomes a FAILED (or MODERATED) job
    that was never journaled: nothing left.
    """
    job = getattr(error, "job", None)
    text = core.redact(f"{type(error).__name__}: {error}")
    if isinstance(job, Job) and (job.id is not None or job.status is not JobStatus.SUBMITTING):
        return job if job.is_final and job.error else job.evolve(error=job.error or text)
    base = job if isinstance(job, Job) else core.new_job(request, account)
    return core.failed_submit(base, error).evolve(error=text)


def default_download_dir(download_dir: str | os.PathLike[str] | None,
                         env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if download_dir is not None:
        return Path(download_dir)
    raw = env.get("MINIMAX_NB_DOWNLOAD_DIR")
    return Path(raw) if raw else Path.cwd() / "minimax_nb_audio"


@dataclasses.dataclass
class Setup:
    """What ``build_core`` made: the core and, for ``provider="local"``, the running emulator."""

    core: ClientCore
    emulator: Any = None


def build_core(
    *,
    provider: str | None,
    api_key: str | None,
    base_url: str | None,
    account: str | Sequence[str] | None,
    model: str | None,
    timeout: float | Timeouts | httpx.Timeout | None,
    poll: PollPolicy | None,
    retry: RetryPolicy | None,
    ledger: LedgerArg,
    download_dir: str | os.PathLike[str] | None,
    emulator_speed: float | None,
    adapter: ProviderAdapter | None = None,
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    env: Mapping[str, str] | None = None,
) -> Setup:
    """Resolve every client argument (shared by both clients). Starts the emulator for ``"local"``."""
    from minimax_nb.client.polling import PollPolicy

    env = os.environ if env is None else env
    name = adapter.name if adapter is not None and provider is None else resolve_provider(provider, env)
    if adapter is None:
        from minimax_nb.providers import get_adapter

        adapter = get_adapter(name)
    learn = poll is None  # no schedule given: learn one per job from the ledger's finished jobs
    poll = poll or PollPolicy()
    emulator = None
    speed = emulator_speed
    if name == LOCAL_PROVIDER:
        base_url = base_url or env.get("MINIMAX_NB_LOCAL_BASE_URL") or None  # a separately run emulator
    if name == LOCAL_PROVIDER and base_url is None:
        # the emulator (and its synthesizer) runs in a child process shared by this process's clients,
        # so a notebook kernel stays free (client/local.py)
        from minimax_nb.client.local import local_emulator

        speed = resolve_local_speed(emulator_speed, env)
        emulator = local_emulator(speed, env)
        base_url = emulator.base_url(LOCAL_PROVIDER)
        api_key = api_key or emulator.default_key
    elif name == LOCAL_PROVIDER and api_key is None:
        api_key = importlib.import_module("minimax_nb.emulator").DEFAULT_KEY
    if speed:
        poll = poll.scaled(1.0 / speed)
    try:
        core = ClientCore(
            provider=name,
            adapter=adapter,
            api_key=resolve_api_key(name, api_key, env),
            base_url=resolve_base_url(name, base_url, adapter.default_base_url, env),
            account=account,
            model=model,
            timeouts=Timeouts.coerce(timeout),
            retry=retry or RetryPolicy(),
            poll=poll,
            ledger=resolve_ledger(ledger, env),
            download_dir=default_download_dir(download_dir, env),
            max_download_bytes=max_download_bytes,
            learn_polling=learn,
            speed=speed or 1.0,
        )
    except BaseException:
        if emulator is not None:
            emulator.stop()
        raise
    return Setup(core=core, emulator=emulator)


# --------------------------------------------------------------------------------------------------
# downloads and resume (pure parts)
# --------------------------------------------------------------------------------------------------


def download_target(core: ClientCore, dest: str | os.PathLike[str] | None) -> tuple[Path, Path | None]:
    """``(directory, exact file or None)`` for ``download(job, dest)``: a ``dest`` with an audio
    extension is the file itself, anything else a directory."""
    if dest is None:
        return core.download_dir, None
    path = Path(dest)
    if path.suffix.lower().lstrip(".") in AUDIO_EXTENSIONS and not path.is_dir():
        return path.parent, path
    return path, None


def check_length(core: ClientCore, headers: Mapping[str, str]) -> None:
    """Refuse a download whose announced length exceeds the cap before reading it."""
    raw = {k.lower(): v for k, v in headers.items()}.get("content-length")
    if raw and raw.isdigit() and int(raw) > core.max_download_bytes:
        raise DownloadError(f"audio of {raw} bytes exceeds the {core.max_download_bytes}-byte cap",
                            provider=core.provider)


# --------------------------------------------------------------------------------------------------
# streamed creates (MiniMax platform ``stream=true``)
# --------------------------------------------------------------------------------------------------


class StreamAssemblerLike(Protocol):
    """What the clients need from an adapter's stream assembler (``providers.minimax.StreamAssembler``)."""

    done: bool

    def feed(self, line: bytes | str) -> Any: ...

    def result(self, job: Job) -> Any: ...


def stream_assembler(adapter: ProviderAdapter, request: HttpRequest) -> StreamAssemblerLike | None:
    """A fresh assembler when ``request`` asks for ``text/event-stream`` and the adapter's module has
    one (``StreamAssembler``, or an adapter method ``stream_assembler()``); else ``None``."""
    accept = {k.lower(): v for k, v in request.headers.items()}.get("accept", "")
    if "event-stream" not in accept.lower():
        return None
    factory = getattr(adapter, "stream_assembler", None)
    if not callable(factory):
        module = importlib.import_module(type(adapter).__module__)
        factory = getattr(module, "StreamAssembler", None)
    if not callable(factory):
        return None
    made: StreamAssemblerLike = factory()
    return made


def is_event_stream(status_code: int, headers: Mapping[str, str]) -> bool:
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    return status_code < 400 and "event-stream" in ctype.lower()


@dataclasses.dataclass(frozen=True, slots=True)
class ResumePlan:
    """What ``resume()`` starts from (read from the ledger): the open jobs and the known ids."""

    open: list[Job]
    known_ids: set[str]
    missing_audio: list[Job]

    def to_follow(self, jobs: Sequence[Job], download: bool) -> list[Job]:
        """The jobs that need reads or a download: identified open ones, then those missing audio."""
        out = [j for j in jobs if j.id is not None and not j.is_final]
        if download:
            seen = {j.local_id for j in out}
            out += [j for j in self.missing_audio if j.local_id not in seen]
        return out

    @staticmethod
    def merge(jobs: Sequence[Job], done: Sequence[Job]) -> list[Job]:
        """``jobs`` with the followed ones replaced by their last state (new ones appended)."""
        out = list(jobs)
        where = {j.local_id: i for i, j in enumerate(out)}
        for job in done:
            if job.local_id in where:
                out[where[job.local_id]] = job
            else:
                out.append(job)
        return out


def resume_plan(core: ClientCore) -> ResumePlan | None:
    """Read what ``resume()`` needs from the ledger (``None`` without a ledger)."""
    ledger = core.ledger
    if ledger is None:
        return None
    every = getattr(ledger, "jobs", None)
    known = {j.id for j in every(core.provider) if j.id} if callable(every) else set()
    return ResumePlan(open=ledger.unfinished(provider=core.provider), known_ids=known,
                      missing_audio=ledger.missing_audio(provider=core.provider))


def check_budget(core: ClientCore, requests: Sequence[MusicRequest], max_usd: float | None) -> None:
    """Refuse a batch, before anything is sent, whose estimated cost exceeds ``max_usd`` — or cannot be
    bounded because some songs have no price estimate (a limit means "never more than this")."""
    if max_usd is None:
        return
    costs = [core.adapter.estimate_cost_usd(r, model=r.model or core.model) for r in requests]
    refusal = BudgetExceededError.for_batch(core.provider, costs, max_usd)
    if refusal is not None:
        raise refusal


def progress_bar(enabled: bool, total: int | None, desc: str) -> Progress | None:
    """A ``Progress`` display when ``enabled`` (a bar in a notebook, lines in a terminal), else ``None``."""
    if not enabled:
        return None
    from minimax_nb.client.progress import Progress

    return Progress(total=total, desc=desc)


def with_progress(on_update: Callable[[Job], Any] | None,
                  bar: Progress | None) -> Callable[[Job], Any] | None:
    """``on_update`` that also feeds ``bar``; what ``on_update`` returns (an awaitable too) passes through."""
    if bar is None:
        return on_update

    def both(job: Job) -> Any:
        bar.update(job)
        return on_update(job) if on_update is not None else None

    return both


def new_cancelled(core: ClientCore, request: MusicRequest, account: str | None) -> Job:
    """The job of a batch song dropped by an interrupt before it was sent (nothing was bought)."""
    return core.new_job(request, account).evolve(status=JobStatus.CANCELLED,
                                                 error="the batch was interrupted before this song was sent")
