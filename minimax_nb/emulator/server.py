"""The emulator: one Starlette app with a prefix per provider, served by uvicorn in a daemon thread or
driven in-process through httpx transports.

Why Starlette + uvicorn (not aiohttp): the app is a plain ASGI callable, so the very same app runs
behind a real loopback socket (uvicorn) *and* in-process with no port (``httpx.ASGITransport`` and the
sync twin below), which ``provider="local"`` and fast tests need; uvicorn starts in a thread with
``port=0`` and lets us plug in a protocol class, which is how the ``reset`` and ``truncated`` faults get
at the socket to drop it. Both are small, typed and already dependencies of the project.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from minimax_nb.emulator import (
    routes_aimlapi,
    routes_apiin,
    routes_fal,
    routes_minimax,
    routes_replicate,
    routes_useapi,
)
from minimax_nb.emulator.common import (
    DEFAULT_KEY,
    Context,
    DropConnection,
    Endpoint,
    LoggedRequest,
    retry_after_header,
)
from minimax_nb.emulator.engine import EmuJob, Engine, Phase
from minimax_nb.emulator.faults import FaultRule, FaultSet
from minimax_nb.emulator.files import CONTENT_TYPES, UrlSigner, render_cover

__all__ = ["PROVIDERS", "Emulator"]

#: The provider prefixes the emulator serves. ``"local"`` is the AIML shape at ``/local``. The emulator never
#: imports the adapters (layering), so this list is its own; a test keeps it equal to
#: ``minimax_nb.providers.PROVIDER_NAMES`` + ``"local"``.
PROVIDERS: tuple[str, ...] = ("useapi", "aimlapi", "apiin", "minimax", "fal", "replicate", "local")
#: The host in ``base_url`` before ``start()``: requests go through ``transport()``, never a socket.
IN_PROCESS_ROOT = "http://emulator.invalid"


def _file_error(status: int, message: str, *, retry_after: float | None = None) -> Response:
    """Errors of the file host (a CDN): plain text."""
    return Response(f"{status} {HTTPStatus(status).phrase}: {message}\n", status_code=status,
                    media_type="text/plain", headers=retry_after_header(retry_after))


def _file_routes(ctx: Context) -> list[BaseRoute]:
    async def serve_file(request: Request) -> Response:
        provider = request.path_params["provider"]
        name: str = request.path_params["name"]
        stem, _, ext = name.rpartition(".")
        if provider == "styles" and ext == "png":
            return Response(await asyncio.to_thread(render_cover, stem, stem, len(stem)),
                            media_type=CONTENT_TYPES["png"])
        path = f"/files/{provider}/{name}"
        q = request.query_params
        problem = ctx.signer.check(path, q.get("expires"), q.get("sig"), ctx.engine.now())
        if problem is not None:
            return _file_error(403, "URL " + problem)
        job = ctx.engine.by_file(stem)
        if job is None or job.provider != provider:
            return _file_error(404, "no such file")
        phase = job.phase(ctx.engine.now())
        if phase is not Phase.COMPLETED:
            return _file_error(404, "moderated" if phase is Phase.POST_MODERATED else "not ready")
        if ext == "png":
            return Response(await asyncio.to_thread(job.cover), media_type=CONTENT_TYPES["png"])
        audio = await ctx.audio(job)
        if ext != audio.ext:
            return _file_error(404, "no such file")
        return Response(audio.data, media_type=CONTENT_TYPES[audio.ext])

    return [Route("/files/{provider:str}/{name:str}", Endpoint(ctx, None, "file", serve_file, _file_error),
                  methods=["GET", "HEAD"])]


def _protocol_class(registry: dict[tuple[str, int], asyncio.Transport]) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, remembering each connection's transport so a fault can abort it."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class _TrackingH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)
            if self.client:
                registry[(str(self.client[0]), int(self.client[1]))] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client:
                registry.pop((str(self.client[0]), int(self.client[1])), None)
            super().connection_lost(exc)

    return _TrackingH11Protocol


# ----------------------------------------------------------------------------------------------------
# In-process transports


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read") if isinstance(timeout, Mapping) else None
    return float(value) if value is not None else None


class AsyncEmulatorTransport(httpx.AsyncBaseTransport):
    """Sends requests straight to the emulator's ASGI app in the caller's event loop.

    A dropped connection raises ``httpx.RemoteProtocolError``; the read timeout, when set, bounds the
    whole request (``httpx.ReadTimeout``), since nothing streams in-process.
    """

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app, client=("127.0.0.1", 123))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with asyncio.timeout(_read_timeout(request)):
                response = await self._inner.handle_async_request(request)
                await response.aread()
        except DropConnection:
            raise httpx.RemoteProtocolError("Server disconnected without sending a complete response.",
                                            request=request) from None
        except TimeoutError:
            raise httpx.ReadTimeout("The emulator did not answer in time.", request=request) from None
        return response


class _LoopThread:
    """An event loop in a daemon thread, for the sync in-process transport."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="mnb-emulator-loop", daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Cancel what still runs (callers then get ``httpx.RemoteProtocolError``), stop, close."""
        if self.loop.is_running():

            async def cancel_all() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        if not self.loop.is_running():
            self.loop.close()


class SyncEmulatorTransport(httpx.BaseTransport):
    """The sync twin of ``AsyncEmulatorTransport``: runs the app on the emulator's private loop thread."""

    def __init__(self, app: Any, loop_thread: Callable[[], _LoopThread]) -> None:
        self._inner = AsyncEmulatorTransport(app)
        self._loop_thread = loop_thread

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        areq = httpx.Request(request.method, request.url, headers=request.headers, content=body,
                             extensions=request.extensions)

        async def run() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            resp = await self._inner.handle_async_request(areq)
            return resp.status_code, resp.headers.raw, await resp.aread()

        future = asyncio.run_coroutine_threadsafe(run(), self._loop_thread().loop)
        try:
            status, headers, content = future.result()
        except concurrent.futures.CancelledError:  # pragma: no cover - emulator stopped mid-request
            raise httpx.RemoteProtocolError("The emulator stopped.", request=request) from None
        except httpx.TransportError as exc:
            raise type(exc)(str(exc), request=request) from None
        return httpx.Response(status, headers=headers, content=content, request=request)


# ----------------------------------------------------------------------------------------------------


def _normalize_keys(keys: Mapping[str, Iterable[str] | str] | None) -> dict[str, frozenset[str]]:
    out = {p: frozenset({DEFAULT_KEY}) for p in PROVIDERS}
    for provider, accepted in (keys or {}).items():
        out[provider] = frozenset({accepted}) if isinstance(accepted, str) else frozenset(accepted)
    return out


class Emulator:
    """Offline emulator of the MiniMax music APIs (useapi.net, AIML API, apiin.one, MiniMax platform, fal.ai,
    Replicate).

        with Emulator(speed=50) as emu:                 # uvicorn on an automatic loopback port
            url = emu.base_url("aimlapi")               # "http://127.0.0.1:PORT/aimlapi"
            ...
        emu = Emulator(speed=500)                       # or in-process, no port:
        client = httpx.Client(base_url=emu.base_url("useapi"), transport=emu.transport())

    Args:
        speed: time factor; a job takes 50–60 s divided by ``speed``.
        faults: a ``FaultSet``, a list of rule dicts, or the path of a JSON file of rules.
        seed: makes job timing and fault draws repeatable (and ids, with ``repeatable_ids``).
        host, port: where ``start()`` listens (``port=0``: automatic). Loopback unless told.
        keys: provider -> accepted keys; every provider not named accepts ``DEFAULT_KEY``.
        useapi_accounts: the MiniMax accounts configured at useapi (one generation at a time each).
        moderate_words: words that get a request moderated at submit.
        post_moderate_words: words that get a song moderated once it is made.
        url_ttl_s: lifetime of audio/cover URLs (403 after).
        clock: a ``() -> float`` unix-time clock (default ``time.time``), for tests.
        prerender: start rendering each song in a background thread as soon as it is submitted (else
            on first need: at completion or download).
        balance: songs ``"apiin"`` and ``"minimax"`` will still sell; once spent apiin answers
            ``402 insufficient_credits`` and the platform ``1008``. Absent: unlimited.
        repeatable_ids: draw job ids from ``seed`` alone. Off by default: like the real services, two
            emulators never hand out the same id (a client's download cache is keyed by job id).
        minimax_concurrency: generations the platform runs at once (its documented limits are 3 for
            free accounts, 20 paid); beyond it, ``1041``. ``None``: unlimited.
        tls: serve HTTPS instead of HTTP (``start()`` makes a throwaway CA with ``trustme`` and a certificate
            for 127.0.0.1/localhost/::1). ``ca_file`` is the CA's PEM: hand it to a client as
            ``SSL_CERT_FILE`` (fal's official client speaks only HTTPS).
        useapi_create_array: useapi's relaunch create answers ``[{"musicId"}]`` (the vendor's answer may be
            an object or such an array) instead of ``{"musicId"}``.
    """

    def __init__(
        self,
        speed: float = 1.0,
        faults: FaultSet | Iterable[FaultRule | Mapping[str, Any]] | str | Path | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        keys: Mapping[str, Iterable[str] | str] | None = None,
        useapi_accounts: Iterable[str] = ("1001",),
        moderate_words: Iterable[str] = ("forbiddenword",),
        post_moderate_words: Iterable[str] = ("postmoderated",),
        url_ttl_s: float = 86400.0,
        clock: Callable[[], float] | None = None,
        prerender: bool = True,
        balance: Mapping[str, int] | None = None,
        minimax_concurrency: int | None = None,
        repeatable_ids: bool = False,
        tls: bool = False,
        useapi_create_array: bool = False,
    ) -> None:
        self.speed = float(speed)
        self.tls = bool(tls)
        self._tls_dir: Any = None
        self.seed = seed
        self.host = host
        self.port = port
        if isinstance(faults, FaultSet):
            self.faults = faults
        elif isinstance(faults, str | Path):
            self.faults = FaultSet(seed=seed)
            self.faults.load(faults)
        else:
            self.faults = FaultSet(faults or (), seed=seed)
        self.engine = Engine(speed=speed, seed=seed, clock=clock, moderate_words=moderate_words,
                             post_moderate_words=post_moderate_words, prerender=prerender,
                             balance=balance, repeatable_ids=repeatable_ids,
                             max_active={"minimax": minimax_concurrency} if minimax_concurrency else None)
        unknown = set(balance or {}) - {"apiin", "minimax"}
        if unknown:
            raise ValueError(f"balance is emulated for apiin and minimax only, not {sorted(unknown)}")
        self._ctx = Context(engine=self.engine, faults=self.faults, signer=UrlSigner(secrets.token_bytes(32)),
                            keys=_normalize_keys(keys), useapi_accounts=tuple(useapi_accounts),
                            url_ttl_s=url_ttl_s)
        self._ctx.useapi_create_array = bool(useapi_create_array)
        self.app = Starlette(routes=[
            *routes_useapi.routes(self._ctx, "/useapi"),
            *routes_aimlapi.routes(self._ctx, "/aimlapi", "aimlapi"),
            *routes_aimlapi.routes(self._ctx, "/local", "local"),
            *routes_apiin.routes(self._ctx, "/apiin"),
            *routes_minimax.routes(self._ctx, "/minimax"),
            *routes_fal.routes(self._ctx, "/fal", "/falrun"),
            *routes_replicate.routes(self._ctx, "/replicate"),
            *_file_routes(self._ctx),
        ])
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._loop_thread: _LoopThread | None = None
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while the uvicorn server is up."""
        return self._server is not None

    def start(self) -> Emulator:
        """Serve on ``host:port`` (``port=0``: a free port, then ``self.port`` tells it). Idempotent."""
        import uvicorn

        with self._lock:
            if self._server is not None:
                return self
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP
            # (without it every small answer waits ~40 ms for a delayed ACK)
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            self.port = int(sock.getsockname()[1])
            certfile = self._make_tls_file() if self.tls else None
            config = uvicorn.Config(self.app, http=_protocol_class(self._ctx.connections), ws="none",
                                    lifespan="off", log_level="warning", access_log=False,
                                    timeout_graceful_shutdown=1, loop="asyncio",
                                    ssl_certfile=certfile, ssl_keyfile=certfile)
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                      name=f"mnb-emulator-{self.port}", daemon=True)
            thread.start()
            deadline = time.monotonic() + 15
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    sock.close()
                    raise RuntimeError("the emulator's server did not start")
                time.sleep(0.01)
            self._server, self._thread, self._socket = server, thread, sock
            return self

    def stop(self) -> None:
        """Stop the server (if running) and the in-process loop thread (if any). Idempotent."""
        with self._lock:
            server, thread, sock = self._server, self._thread, self._socket
            self._server = self._thread = self._socket = None
            loop_thread, self._loop_thread = self._loop_thread, None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(5)
            if thread.is_alive():  # pragma: no cover - a request that would not finish
                server.force_exit = True
                thread.join(5)
        if sock is not None:
            sock.close()
        if loop_thread is not None:
            loop_thread.close()

    close = stop

    def _make_tls_file(self) -> str:
        """A fresh CA and a server certificate, written to a private temporary directory."""
        import tempfile

        import trustme

        if self._tls_dir is None:
            self._tls_dir = tempfile.TemporaryDirectory(prefix="mnb-emulator-tls-")
        root = Path(self._tls_dir.name)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        ca.cert_pem.write_to_path(str(root / "ca.pem"))
        cert.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
        return str(root / "server.pem")

    @property
    def ca_file(self) -> str | None:
        """The PEM file of the CA that signed the TLS listener's certificate (``tls=True``, after
        ``start()``); ``None`` otherwise. Set it as ``SSL_CERT_FILE`` for a client that must trust it."""
        if self._tls_dir is None:
            return None
        return str(Path(self._tls_dir.name) / "ca.pem")

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            if self._server is not None:
                self._server.should_exit = True
        except Exception:
            pass

    # -- addresses ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The server's root URL (``http://127.0.0.1:PORT``), or the in-process root before ``start()``."""
        if self._server is None:
            return IN_PROCESS_ROOT
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def base_url(self, provider: str) -> str:
        """Base URL of one provider: ``useapi``, ``aimlapi``, ``apiin``, ``minimax``, ``fal`` (its queue
        host; the synchronous run host is ``{url}/falrun``), ``replicate`` or ``local``."""
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
        return f"{self.url}/{provider}"

    # -- in-process ---------------------------------------------------------------------------------
    def _get_loop_thread(self) -> _LoopThread:
        with self._lock:
            if self._loop_thread is None:
                self._loop_thread = _LoopThread()
            return self._loop_thread

    def transport(self) -> httpx.BaseTransport:
        """A sync httpx transport that calls the app in-process (no socket; works without ``start()``)."""
        return SyncEmulatorTransport(self.app, self._get_loop_thread)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An async httpx transport that calls the app in-process in the caller's event loop."""
        return AsyncEmulatorTransport(self.app)

    # -- what happened ------------------------------------------------------------------------------
    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received, in order (provider, method, path, query, status, time, route, fault).

        Never the key nor any header.
        """
        with self._ctx._log_lock:
            return list(self._ctx.log)

    def clear_requests(self) -> None:
        """Forget the request log and the submission counts."""
        with self._ctx._log_lock:
            self._ctx.log.clear()
            self._ctx.received_submits.clear()
        self.engine.accepted.clear()

    def submissions(self, provider: str | None = None, accepted_only: bool = False) -> int:
        """How many create requests arrived (``accepted_only``: how many created a job).

        Every create counts, also those refused (auth, validation, moderation, 429, faults).
        """
        counts = self.engine.accepted if accepted_only else self._ctx.received_submits
        return sum(counts.values()) if provider is None else counts[provider]

    def restart(self) -> None:
        """Lose all state: every job is forgotten (their ids then answer 404)."""
        self.engine.restart()

    def jobs(self, provider: str | None = None) -> list[EmuJob]:
        """The emulated jobs (``EmuJob``), in creation order."""
        return self.engine.jobs(provider)

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "in-process"
        return (f"<Emulator {where} speed={self.speed:g} jobs={len(self.engine.jobs())}"
                f" faults={len(self.faults)}>")
