"""The pure core shared by both clients: retry decisions, Retry-After, classification, resolution."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from minimax_nb.client import core
from minimax_nb.client.core import RetryPolicy, Timeouts
from minimax_nb.client.download import (
    AudioSink,
    DownloadError,
    audio_path_for,
    check_content_type,
    find_cached,
)
from minimax_nb.client.polling import PollPolicy
from minimax_nb.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConcurrencyLimitError,
    ModerationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers.base import HttpRequest, HttpResponse

KEY = "sk-test-SECRET-1234567890"
_REQ = httpx.Request("GET", "http://127.0.0.1/x")


# ---- retry policy --------------------------------------------------------------------------------


def test_backoff_is_exponential_capped_and_jittered() -> None:
    p = RetryPolicy(base=0.5, cap=3.0, jitter=0.5)
    assert [p.backoff(n, rng=lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert p.backoff(2, rng=lambda: 1.0) == pytest.approx(0.5)  # full jitter halves it
    assert 0.25 <= p.backoff(1) <= 0.5


def test_delay_prefers_the_servers_retry_after_capped() -> None:
    p = RetryPolicy(retry_after_cap=10)
    assert p.delay(RateLimitError("x", retry_after=4.0), 1) == 4.0
    assert p.delay(RateLimitError("x", retry_after=400.0), 1) == 10.0
    assert p.delay(ServerError("x"), 1, rng=lambda: 0.0) == p.base


def test_retry_policy_validates_and_scales() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=2)
    s = RetryPolicy(base=1, cap=8, retry_after_cap=60).scaled(0.5)
    assert (s.base, s.cap, s.retry_after_cap) == (0.5, 4, 30)


# ---- Retry-After ---------------------------------------------------------------------------------


def test_parse_retry_after_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert core.parse_retry_after("7") == 7.0
    assert core.parse_retry_after("1.5") == 1.5
    assert core.parse_retry_after("-3") == 0.0
    assert core.parse_retry_after("999", cap=30) == 30.0
    assert core.parse_retry_after(format_datetime(now + timedelta(seconds=12), usegmt=True), now=now) == 12.0
    assert core.parse_retry_after(format_datetime(now - timedelta(seconds=12), usegmt=True), now=now) == 0.0
    for bad in (None, "", "  ", "soon", "nan", "inf"):
        assert core.parse_retry_after(bad) is None


def test_retry_after_from_headers_prefers_milliseconds() -> None:
    assert core.retry_after_from_headers({"Retry-After-Ms": "250", "Retry-After": "9"}) == 0.25
    assert core.retry_after_from_headers({"retry-after": "9"}) == 9.0
    assert core.retry_after_from_headers({}) is None


# ---- classification and the retry decision ------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "cls", "reached"),
    [
        (httpx.ConnectError("refused", request=_REQ), APIConnectionError, False),
        (httpx.ConnectTimeout("slow", request=_REQ), APITimeoutError, False),
        (httpx.ReadTimeout("slow", request=_REQ), APITimeoutError, True),
        (httpx.WriteTimeout("slow", request=_REQ), APITimeoutError, True),
        (httpx.RemoteProtocolError("dropped", request=_REQ), APIConnectionError, True),
        (httpx.ReadError("reset", request=_REQ), APIConnectionError, True),
    ],
)
def test_classify_httpx_exceptions(exc: Exception, cls: type, reached: bool) -> None:
    err = core.classify_exception(exc, provider="useapi")
    assert type(err) is cls
    assert core.may_have_reached_server(err) is reached
    assert err.provider == "useapi"


def test_classified_errors_never_show_the_key() -> None:
    err = core.classify_exception(
        httpx.ConnectError(f"boom Bearer {KEY} and {KEY}", request=_REQ), secrets=[KEY]
    )
    assert KEY not in str(err) and KEY not in repr(err)


def _not_sent() -> APIConnectionError:
    return core.classify_exception(httpx.ConnectError("refused", request=_REQ))


def _maybe_sent() -> APIConnectionError:
    return core.classify_exception(httpx.ReadTimeout("slow", request=_REQ))


@pytest.mark.parametrize(
    ("kind", "error", "retry"),
    [
        ("submit", _not_sent(), True),
        ("submit", _maybe_sent(), False),
        ("submit", ServerError("x", status_code=500), False),
        ("submit", RateLimitError("x", status_code=429), False),
        ("submit", APIConnectionError("no flag"), False),  # unknown: assume it may have been sent
        ("read", _not_sent(), True),
        ("read", _maybe_sent(), True),
        ("read", ServerError("x", status_code=503), True),
        ("read", RateLimitError("x", status_code=429), True),
        ("read", NotFoundError("x", status_code=404), False),
        ("read", ValidationError("x", status_code=400), False),
        ("read", AuthenticationError("x", status_code=401), False),
        ("read", ConcurrencyLimitError("x", status_code=429), False),
        ("read", ModerationError("x", status_code=422), False),
    ],
)
def test_should_retry(kind: Any, error: Exception, retry: bool) -> None:
    assert core.should_retry(kind, error, 1, RetryPolicy(max_attempts=3)) is retry


def test_should_retry_stops_after_max_attempts() -> None:
    p = RetryPolicy(max_attempts=3)
    err = ServerError("x", status_code=500)
    assert [core.should_retry("read", err, n, p) for n in (1, 2, 3)] == [True, True, False]


# ---- resolution ----------------------------------------------------------------------------------


def test_resolve_provider() -> None:
    assert core.resolve_provider("AimlAPI", env={}) == "aimlapi"
    assert core.resolve_provider(None, env={}) == "local"
    assert core.resolve_provider(None, env={"APIIN_API_KEY": "k", "MINIMAX_API_KEY": "k"}) == "apiin"
    assert core.resolve_provider(None, env={"USEAPI_API_TOKEN": "", "MINIMAX_API_KEY": "k"}) == "minimax"
    with pytest.raises(ValueError):
        core.resolve_provider("suno", env={})


def test_resolve_key_and_base_url() -> None:
    env = {"USEAPI_API_TOKEN": "env-key", "MINIMAX_NB_USEAPI_BASE_URL": "http://127.0.0.1:9/useapi/"}
    assert core.resolve_api_key("useapi", None, env) == "env-key"
    assert core.resolve_api_key("useapi", "arg-key", env) == "arg-key"
    assert core.resolve_api_key("aimlapi", None, env) is None
    assert core.resolve_base_url("useapi", None, "https://api.useapi.net", env) == "http://127.0.0.1:9/useapi"
    assert core.resolve_base_url("useapi", "http://h/", "https://x", env) == "http://h"
    assert core.resolve_base_url("apiin", None, "https://apiin.one", env) == "https://apiin.one"
    assert core.resolve_local_speed(None, {"MINIMAX_NB_LOCAL_SPEED": "50"}) == 50
    assert core.resolve_local_speed(None, {"MINIMAX_NB_LOCAL_SPEED": "fast"}) == core.DEFAULT_LOCAL_SPEED
    assert core.resolve_local_speed(3, {}) == 3


def test_timeouts() -> None:
    t = Timeouts()
    assert t.connect <= 10 and t.blocking_read >= 300
    blocking = t.for_request(HttpRequest("GET", "/c", "submit", blocking=True))
    plain = t.for_request(HttpRequest("GET", "/p", "read"))
    assert blocking.read == t.blocking_read and plain.read == t.read and plain.connect == t.connect
    assert Timeouts.coerce(600).blocking_read == 600
    assert Timeouts.coerce(5).read == 5 and Timeouts.coerce(5).connect == 5
    assert Timeouts.coerce(httpx.Timeout(3.0)).connect == 3.0
    with pytest.raises(ValueError):
        Timeouts.coerce(0)


class _Adapter:
    """Just enough of an adapter for ClientCore."""

    name = "useapi"
    auth_scheme = "Bearer"
    default_model = "m"
    default_base_url = "https://example.invalid"
    per_account_limit: int | None = 1
    blocking_submit = True

    def build_poll(self, job: Job) -> HttpRequest | None:
        return HttpRequest("GET", f"/poll/{job.id}", "read")

    def is_concurrency_refusal(self, error: Exception) -> bool:
        return isinstance(error, ConcurrencyLimitError)


def _core(
    api_key: str | None = KEY, provider: str = "useapi", ledger: Any = None, tmp: Path = Path(".")
) -> core.ClientCore:
    return core.ClientCore(
        provider=provider,
        adapter=_Adapter(),
        api_key=api_key,  # type: ignore[arg-type]
        base_url="http://127.0.0.1:1/useapi",
        account=("a1", "a2"),
        model=None,
        timeouts=Timeouts(),
        retry=RetryPolicy(),
        poll=PollPolicy(),
        ledger=ledger,
        download_dir=tmp,
    )


def test_request_kwargs_add_the_key_and_nothing_shows_it() -> None:
    c = _core()
    kw = c.request_kwargs(HttpRequest("GET", "/v1/x", "read", params={"a": "1", "b": None}))  # type: ignore[dict-item]
    assert kw["headers"]["Authorization"] == f"Bearer {KEY}"
    assert kw["url"] == "http://127.0.0.1:1/useapi/v1/x" and kw["params"] == {"a": "1"}
    assert KEY not in repr(c) and KEY not in str(vars(c).get("base_url"))
    assert all(KEY not in repr(v) for k, v in vars(c).items() if k != "_ClientCore__api_key")
    dl = c.download_kwargs("https://cdn.example/a.mp3")
    assert "Authorization" not in dl["headers"]  # never leak the key to a CDN
    assert c.redact(f"oops {KEY}") == "oops ***"


def test_missing_key_fails_before_sending() -> None:
    with pytest.raises(AuthenticationError, match="USEAPI_API_TOKEN"):
        _core(api_key=None).request_kwargs(HttpRequest("GET", "/v1/x", "read"))
    assert (
        "Authorization"
        not in _core(api_key=None, provider="local").request_kwargs(HttpRequest("GET", "/x", "read"))[
            "headers"
        ]
    )


def test_concurrency_slots_per_account() -> None:
    c = _core()
    assert core.account_slots(c, 4) == ["a1", "a2"]  # useapi: one at a time per account
    assert core.effective_concurrency(c, 8, 10) == 2
    assert core.effective_concurrency(c, None, 1) == 1
    with pytest.raises(ValueError):
        core.effective_concurrency(c, 0, 3)


def test_interpret_turns_parser_crashes_into_typed_errors() -> None:
    def boom(r: HttpResponse) -> Any:
        raise ValueError("not json")

    with pytest.raises(ServerError):
        core.interpret(boom, HttpResponse(502, b"<html>"), provider="p")
    with pytest.raises(APIConnectionError) as info:
        core.interpret(boom, HttpResponse(200, b"<html>"), provider="p")
    assert core.may_have_reached_server(info.value)


def test_download_error_mapping() -> None:
    assert isinstance(core.download_error(429, provider="p", headers={"Retry-After": "2"}), RateLimitError)
    assert core.download_error(429, provider="p", headers={"Retry-After": "2"}).retry_after == 2.0  # type: ignore[attr-defined]
    assert isinstance(core.download_error(503, provider="p", headers={}), ServerError)
    assert isinstance(core.download_error(403, provider="p", headers={}), NotFoundError)


def test_batch_failure_keeps_made_jobs_and_fails_unmade_ones() -> None:
    c = _core()
    req = MusicRequest(lyrics="la")
    err = ModerationError("moderated prompt", status_code=422)
    failed = core.batch_failure(c, req, "a1", err)
    assert failed.status is JobStatus.MODERATED and "moderated prompt" in (failed.error or "")
    running = Job(provider="useapi", request=req, id="m1", status=JobStatus.RUNNING)
    kept = core.batch_failure(c, req, "a1", ServerError("down", job=running))
    assert kept.status is JobStatus.RUNNING and kept.id == "m1" and "down" in (kept.error or "")
    crash = core.batch_failure(c, req, "a1", RuntimeError(f"bug {KEY}"))
    assert crash.status is JobStatus.FAILED and KEY not in (crash.error or "")


class _FakeLedger:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def record_submitting(self, job: Job) -> None:
        self.calls.append(("submitting", job))

    def record(self, job: Job) -> None:
        self.calls.append(("record", job))

    def record_audio(self, job: Job, path: Path, sha256: str, size: int) -> None:
        self.calls.append(("audio", (job, path, sha256, size)))

    def mark_unknown(self, job: Job, reason: str) -> None:
        self.calls.append(("unknown", reason))

    def transition(self, job: Job, *, expect: Any, note: str | None = None) -> bool:
        self.calls.append(("transition", job))
        return True

    def unfinished(self, provider: str | None = None) -> list[Job]:
        return []

    def missing_audio(self, provider: str | None = None) -> list[Job]:
        return []


def test_resolve_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    led = _FakeLedger()
    assert core.resolve_ledger(led, env={}) is led
    assert core.resolve_ledger(False, env={}) is None
    assert core.resolve_ledger("off", env={}) is None
    assert core.resolve_ledger(None, env={"MINIMAX_NB_LEDGER": "off"}) is None
    real = core.resolve_ledger(tmp_path / "l.sqlite", env={})
    assert real is not None and (tmp_path / "l.sqlite").exists()
    monkeypatch.chdir(tmp_path)
    env_one = core.resolve_ledger(None, env={"MINIMAX_NB_LEDGER": str(tmp_path / "env.sqlite")})
    assert env_one is not None and (tmp_path / "env.sqlite").exists()
    for lg in (real, env_one):
        lg.close()  # type: ignore[attr-defined]


# ---- files ---------------------------------------------------------------------------------------


def test_audio_file_names_come_from_the_job(tmp_path: Path) -> None:
    job = Job(provider="useapi", request=MusicRequest(), id="user:1-minimax:2/../../etc/passwd")
    path = audio_path_for(job, tmp_path, url="https://cdn/evil/..%2f/name.wav?x=1")
    assert path.parent == tmp_path and path.suffix == ".wav"
    assert "/" not in path.name and ".." not in path.name and path.name.startswith("useapi_user_1-minimax_2")
    odd = audio_path_for(job, tmp_path, url="https://cdn/a.exe")
    assert odd.suffix == ".mp3"
    assert audio_path_for(job, tmp_path, content_type="audio/wav").suffix == ".wav"


def test_content_type_check() -> None:
    for ok in ("audio/mpeg", "audio/wav; charset=binary", "application/octet-stream", None):
        check_content_type(ok)
    for bad in ("text/html", "application/json"):
        with pytest.raises(DownloadError):
            check_content_type(bad)


def test_sink_renames_on_commit_and_cleans_up_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out" / "a.mp3"
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64"  # issue 9: only audio is committed
    with AudioSink(target, max_bytes=20) as sink:
        sink.write(mp3)
        assert not target.exists()
        sink.commit()
    assert target.read_bytes() == mp3 and sink.size == len(mp3)
    with pytest.raises(DownloadError), AudioSink(tmp_path / "b.mp3", max_bytes=4) as big:
        big.write(b"12345")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp file left
    job = Job(provider="p", request=MusicRequest(), id="a")
    assert find_cached(job, tmp_path / "out") is None
    (tmp_path / "out" / "p_a.wav").write_bytes(b"x")  # the old name, shared by colliding ids (issue 9)
    assert find_cached(job, tmp_path / "out") is None
    own = audio_path_for(job, tmp_path / "out").with_suffix(".wav")
    own.write_bytes(b"x")
    assert find_cached(job, tmp_path / "out") == own


# ---- drift between the two clients ---------------------------------------------------------------

#: Methods whose I/O necessarily differs (threads vs tasks, client classes). Everything else in
#: ``AsyncMusicClient`` must be ``MusicClient`` with ``async``/``await`` added.
_ALLOWED_TO_DIFFER = {"__init__", "close", "generate_many", "watch", "_watch", "__repr__", "_local", "_map",
                      "_notify"}


class _Unasync(ast.NodeTransformer):
    NAMES: ClassVar[dict[str, str]] = {
        "aiter_bytes": "iter_bytes", "aiter_lines": "iter_lines", "aread": "read",
        "AsyncIterator": "Iterator", "AsyncMusicClient": "MusicClient",
    }

    def visit_Await(self, node: ast.Await) -> ast.AST:
        return self.visit(node.value)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> ast.AST:
        new = ast.For(target=node.target, iter=node.iter, body=node.body, orelse=node.orelse,
                      type_comment=None)
        return self.generic_visit(ast.copy_location(new, node))

    def visit_AsyncWith(self, node: ast.AsyncWith) -> ast.AST:
        new = ast.With(items=node.items, body=node.body, type_comment=None)
        return self.generic_visit(ast.copy_location(new, node))

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        new = ast.FunctionDef(name=node.name, args=node.args, body=node.body, decorator_list=[],
                              returns=None, type_comment=None, type_params=[])
        return self.generic_visit(ast.copy_location(new, node))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.decorator_list, node.returns = [], None
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        node.attr = self.NAMES.get(node.attr, node.attr)
        return self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.NAMES.get(node.id, node.id)
        return node


def _method_bodies(module: str, cls: str) -> dict[str, str]:
    src = (Path(core.__file__).parent / module).read_text()
    tree = _Unasync().visit(ast.parse(src))
    klass = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    out: dict[str, str] = {}
    for fn in klass.body:
        if isinstance(fn, ast.FunctionDef):
            body = fn.body[1:] if (fn.body and isinstance(fn.body[0], ast.Expr)
                                   and isinstance(fn.body[0].value, ast.Constant)) else fn.body
            out[fn.name] = "\n".join(ast.unparse(stmt) for stmt in body)
    return out


def test_the_async_client_is_the_sync_client_plus_await() -> None:
    sync = _method_bodies("sync.py", "MusicClient")
    asyn = _method_bodies("async_.py", "AsyncMusicClient")
    shared = (set(sync) & set(asyn)) - _ALLOWED_TO_DIFFER
    # the flow (client/flow.py) holds every decision; what remains twinned is the driver
    assert {"_run", "_do", "_send", "_stream", "_fetch", "_fetch_cover", "submit", "wait", "download",
            "resume", "get", "generate", "styles", "list_jobs"} <= shared
    drift = {name for name in shared if sync[name] != asyn[name]}
    assert drift == set(), f"sync and async clients differ in {sorted(drift)}"
