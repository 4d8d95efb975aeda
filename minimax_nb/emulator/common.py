"""What every provider's routes share: the context (engine, faults, keys, log), the endpoint wrapper that
logs each request and applies faults, connection drops, and small JSON helpers.

Endpoints are plain ASGI callables (not Starlette request/response functions) because some faults must
act below the response level: drop the connection, or send half a body under a full Content-Length.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from minimax_nb.emulator.engine import EmuJob, Engine
from minimax_nb.emulator.faults import FaultRule, FaultSet
from minimax_nb.emulator.files import RenderedAudio, UrlSigner

__all__ = [
    "DEFAULT_KEY",
    "AddHeader",
    "ByMethod",
    "Context",
    "DropConnection",
    "Endpoint",
    "ErrorShaper",
    "Handler",
    "LoggedRequest",
    "json_response",
    "not_found_route",
]

_log = logging.getLogger("minimax_nb.emulator")

#: The key every provider of the emulator accepts unless ``keys=`` says otherwise.
DEFAULT_KEY = "mnb-local-key"

Handler = Callable[[Request], Awaitable[Response]]

_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class ErrorShaper(Protocol):
    """Builds a provider's error answer for an HTTP status (used by the fault kinds 5xx and 429)."""

    def __call__(self, status: int, message: str, *, retry_after: float | None = None) -> Response: ...


class DropConnection(Exception):
    """Raised by the app when it runs in-process and a fault drops the connection.

    The emulator's in-process transports turn it into ``httpx.RemoteProtocolError``.
    """


@dataclasses.dataclass(slots=True)
class LoggedRequest:
    """One request the emulator received. Never holds the key or any header.

    Readable as attributes or as a mapping: ``r.status`` or ``r["status"]``. ``status`` is ``None``
    while the request is in flight and ``0`` when a fault dropped the connection.
    """

    provider: str
    method: str
    path: str
    query: dict[str, str]
    status: int | None
    time: float
    route: str | None = None
    fault: str | None = None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def keys(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON answer (``ensure_ascii=False``, UTF-8)."""
    return JSONResponse(payload, status_code=status, headers=dict(headers or {}))


def retry_after_header(retry_after: float | None) -> dict[str, str]:
    if retry_after is None:
        return {}
    value = int(retry_after) if float(retry_after).is_integer() else retry_after
    return {"Retry-After": str(value)}


class Context:
    """Shared state of one emulator, handed to every routes module."""

    def __init__(
        self,
        *,
        engine: Engine,
        faults: FaultSet,
        signer: UrlSigner,
        keys: Mapping[str, frozenset[str]],
        useapi_accounts: tuple[str, ...],
        url_ttl_s: float,
    ) -> None:
        self.engine = engine
        self.faults = faults
        self.signer = signer
        self.keys = dict(keys)
        self.useapi_accounts = useapi_accounts
        self.url_ttl_s = url_ttl_s
        #: useapi's relaunch create answers ``[{"musicId"}]`` instead of ``{"musicId"}``
        self.useapi_create_array = False
        self.log: list[LoggedRequest] = []
        self.received_submits: Counter[str] = Counter()
        self._log_lock = threading.Lock()
        #: client address -> asyncio transport, filled by the uvicorn protocol (server mode only)
        self.connections: dict[tuple[str, int], asyncio.Transport] = {}

    # -- auth ---------------------------------------------------------------------------------------
    def auth_problem(self, provider: str, request: Request, *, scheme: str = "bearer") -> str | None:
        """``None`` when the request carries an accepted key under ``scheme`` (fal: ``"key"``); else
        ``"missing"`` or ``"wrong"``."""
        header = request.headers.get("authorization")
        if not header:
            return "missing"
        sent, _, token = header.strip().partition(" ")
        if sent.lower() != scheme.lower() or not token.strip():
            return "missing"
        accepted = self.keys.get(provider, frozenset({DEFAULT_KEY}))
        return None if token.strip() in accepted else "wrong"

    # -- files --------------------------------------------------------------------------------------
    def file_url(self, request: Request, job: EmuJob, ext: str) -> str:
        """The signed absolute URL of one of ``job``'s files (host taken from the request)."""
        path = f"/files/{job.provider}/{job.file_id}.{ext}"
        base = str(request.base_url).rstrip("/")
        return f"{base}{path}?{self.signer.query(path, self.engine.now(), self.url_ttl_s)}"

    async def audio(self, job: EmuJob) -> RenderedAudio:
        """The job's audio, rendered in a worker thread the first time."""
        if job.rendered:
            return job.audio()
        return await asyncio.to_thread(job.audio)

    async def wait_done(self, job: EmuJob) -> None:
        """Sleep until ``job`` is done by the emulator's clock."""
        await self.wait_until(job.done_at)

    async def wait_until(self, t: float) -> None:
        """Sleep until the emulator's clock reads ``t`` (re-checks every 0.5 s, so a fake clock works)."""
        while True:
            remaining = t - self.engine.now()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining, 0.5))

    # -- log ----------------------------------------------------------------------------------------
    def record(self, provider: str, route: str | None, request: Request) -> LoggedRequest:
        entry = LoggedRequest(provider=provider, method=request.method, path=request.url.path,
                              query=dict(request.query_params), status=None, time=time.time(), route=route)
        with self._log_lock:
            self.log.append(entry)
            if route == "submit":
                self.received_submits[provider] += 1
        return entry

    # -- dropping a connection ----------------------------------------------------------------------
    async def drop(self, scope: Scope, receive: Receive) -> None:
        """Abort the client's connection (server mode) or raise ``DropConnection`` (in-process)."""
        client = scope.get("client")
        transport = self.connections.get((str(client[0]), int(client[1]))) if client else None
        if transport is None:
            raise DropConnection("the emulator dropped the connection")
        transport.abort()
        try:
            async with asyncio.timeout(2.0):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:  # pragma: no cover - the protocol always reports the loss
            pass


class Endpoint:
    """An ASGI endpoint: logs the request, counts creates, applies a fault if one fires, runs the handler."""

    def __init__(self, ctx: Context, provider: str | None, route: str, handler: Handler,
                 shaper: ErrorShaper) -> None:
        self.ctx = ctx
        self.provider = provider
        self.route = route
        self.handler = handler
        self.shaper = shaper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        provider = self.provider or str(scope.get("path_params", {}).get("provider", "files"))
        entry = self.ctx.record(provider, self.route, request)
        rule = self.ctx.faults.pick(provider, self.route)
        phase = rule.effective_phase(self.route) if rule else None
        if rule is not None:
            entry.fault = rule.kind
        try:
            response: Response | None = None
            if rule is not None and phase == "before":
                response = await self._strike(rule, None, scope, receive, send, entry)
            if response is None and entry.status != 0:
                try:
                    response = await self.handler(request)
                except DropConnection:
                    raise
                except Exception:
                    _log.exception("emulator handler failed on %s %s", request.method, request.url.path)
                    response = self.shaper(500, "Internal server error")
                if rule is not None and phase == "after":
                    response = await self._strike(rule, response, scope, receive, send, entry)
            if response is None:  # the fault dropped the connection
                return
            entry.status = response.status_code
            await response(scope, receive, send)
        except DropConnection:
            entry.status = 0
            raise

    async def _strike(self, rule: FaultRule, answer: Response | None, scope: Scope, receive: Receive,
                      send: Send, entry: LoggedRequest) -> Response | None:
        """Apply ``rule`` before the handler runs (``answer`` is ``None``) or to the handler's ``answer``.

        Returns what to send: ``answer`` itself for ``slow`` and ``restart`` (before the handler:
        ``None``, so the handler runs), else the fault's own answer; ``None`` with ``entry.status = 0``
        once the connection is dropped (``reset``, ``truncated``).
        """
        kind = rule.kind
        if kind == "reset":
            entry.status = 0  # logged before the client can notice
            await self.ctx.drop(scope, receive)
            return None
        if kind == "truncated" and answer is not None:  # always after the handler (FaultRule sees to it)
            entry.status = 0
            await self._send_truncated(answer, scope, receive, send)
            return None
        if kind == "slow":
            await asyncio.sleep(rule.delay_s)
            return answer
        if kind == "restart":
            self.ctx.engine.restart()
            return answer
        if kind == "html_error":
            return Response(_HTML_502, status_code=502, media_type="text/html")
        if kind == "malformed_json":
            body = getattr(answer, "body", b"") if answer is not None else b""
            broken = body[: max(1, len(body) // 2)] if body.startswith(b"{") else b'{"status": "comp'
            return Response(broken, status_code=200, media_type="application/json")
        status = int(kind)
        retry = rule.retry_after if status in (429, 503) else None
        messages = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable",
                    429: "Too many requests"}
        return self.shaper(status, messages.get(status, "error"), retry_after=retry)

    async def _send_truncated(self, response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        if isinstance(response, StreamingResponse):
            first = b""
            async for chunk in response.body_iterator:
                first = chunk if isinstance(chunk, bytes) else str(chunk).encode()
                break
            body = first
            headers = [(k, v) for k, v in response.raw_headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body) * 2 + 1).encode()))
        else:
            body = bytes(response.body)
            headers = list(response.raw_headers)
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        await self.ctx.drop(scope, receive)


class AddHeader:
    """Wraps an ASGI app: every answer gets ``name: value``, the value drawn per request by ``make``
    and left in ``scope["mnb_" + key]`` for the handler (the platform's ``Trace-Id``)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], name: str, key: str,
                 make: Callable[[], str]) -> None:
        self.app = app
        self.name = name.encode("latin-1")
        self.key = "mnb_" + key
        self.make = make

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        value = self.make()
        scope[self.key] = value

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != self.name.lower()]
                message = {**message, "headers": [*headers, (self.name, value.encode("latin-1"))]}
            await send(message)

        await self.app(scope, receive, send_with_header)


def not_found_route(ctx: Context, prefix: str, provider: str, answer: Callable[[Request], Response],
                    shaper: ErrorShaper) -> list[Any]:
    """Routes that answer every other path under ``prefix`` (any method) with ``answer(request)``: the
    provider's own error shape, not Starlette's plain-text 404. Put them after the provider's routes."""
    from starlette.routing import Route

    async def handler(request: Request) -> Response:
        return answer(request)

    endpoint = Endpoint(ctx, provider, "other", handler, shaper)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return [Route(f"{prefix}/{{rest:path}}", endpoint, methods=methods),
            Route(prefix, endpoint, methods=methods)]


class ByMethod:
    """An ASGI app that hands the request to one endpoint per HTTP method."""

    def __init__(self, endpoints: Mapping[str, Endpoint]) -> None:
        self.endpoints = dict(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.endpoints[scope["method"]](scope, receive, send)


def parse_json_body(raw: bytes) -> tuple[Any, str | None]:
    """``(value, None)`` or ``(None, reason)`` for a request body."""
    if not raw.strip():
        return None, "request body is empty"
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"request body is not valid JSON: {exc}"
