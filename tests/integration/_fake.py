"""A stand-in provider for client tests: a tiny pure adapter and an in-memory service behind
``httpx.MockTransport`` with scripted faults. The real adapters and the emulator are tested in
``test_emulator_*.py``; this one pins the transport's own rules (retry, never replay, ledger order)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx

from minimax_nb.client.core import parse_retry_after
from minimax_nb.errors import (
    ConcurrencyLimitError,
    MiniMaxError,
    ModerationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers.base import (
    HttpRequest,
    HttpResponse,
    Issue,
    ModelSpec,
    ProviderAdapter,
    SubmitResult,
)

KEY = "fake-key-SECRET-0123456789"
AUDIO = b"ID3" + b"\x00" * 2048


class FakeAdapter(ProviderAdapter):
    """AIML-like (submit then poll) or, with ``blocking=True``, useapi-like (create answers final)."""

    name: ClassVar[str] = "fake"
    env_key: ClassVar[str] = "FAKE_KEY"
    default_base_url: ClassVar[str] = "http://fake.invalid"
    default_model: ClassVar[str] = "m1"
    models: ClassVar[Mapping[str, ModelSpec]] = {"m1": ModelSpec(name="m1", price_usd=0.05)}

    def __init__(self, *, blocking: bool = False, per_account_limit: int | None = None,
                 hex_audio: bool = False) -> None:
        self.blocking_submit = blocking  # type: ignore[misc]
        self.per_account_limit = per_account_limit  # type: ignore[misc]
        self.hex_audio = hex_audio

    def model_spec(self, model: str | None) -> ModelSpec:
        return self.models[model or self.default_model]

    def validate(self, request: MusicRequest, *, model: str | None = None) -> list[Issue]:
        return [] if request.lyrics.strip() else [Issue("error", "lyrics", "lyrics are required")]

    def build_submit(self, request: MusicRequest, *, model: str | None = None,
                     account: str | None = None) -> HttpRequest:
        if self.validate(request, model=model):
            raise ValidationError("lyrics are required", provider=self.name)
        return HttpRequest("POST", "/submit", "submit", json={"lyrics": request.lyrics, "account": account,
                                                              "hex": self.hex_audio},
                           blocking=self.blocking_submit)

    def parse_submit(self, job: Job, response: HttpResponse) -> SubmitResult:
        self.raise_for_error(response)
        data = response.json()
        new = self._apply(job.evolve(id=data["id"]), data)
        audio = bytes.fromhex(data["audio_hex"]) if data.get("audio_hex") else None
        if audio:
            new = dataclasses.replace(new, raw={k: v for k, v in data.items() if k != "audio_hex"})
        return SubmitResult(job=new, audio_bytes=audio, audio_ext="mp3" if audio else None)

    def build_poll(self, job: Job) -> HttpRequest | None:
        return HttpRequest("GET", f"/jobs/{job.id}", "read")

    def parse_poll(self, job: Job, response: HttpResponse) -> Job:
        self.raise_for_error(response)
        return self._apply(job, response.json())

    def _apply(self, job: Job, data: Mapping[str, Any]) -> Job:
        status = JobStatus(data["status"])
        return job.evolve(status=status, audio_url=data.get("audio_url"), title=data.get("title"),
                          error=data.get("error"), raw=dict(data))

    def raise_for_error(self, response: HttpResponse) -> None:
        if response.status_code < 400:
            return
        data = response.json()
        kw: dict[str, Any] = {"provider": self.name, "status_code": response.status_code}
        retry_after = parse_retry_after(response.header("retry-after"))
        msg = str(data.get("error"))
        if response.status_code == 429 and "busy" in msg:
            raise ConcurrencyLimitError(msg, retry_after=retry_after, **kw)
        if response.status_code == 429:
            raise RateLimitError(msg, retry_after=retry_after, **kw)
        if response.status_code == 422:
            raise ModerationError(msg, **kw)
        if response.status_code == 404:
            raise NotFoundError(msg, **kw)
        if response.status_code >= 500:
            raise ServerError(msg, **kw)
        raise MiniMaxError(msg, **kw)

    def build_list(self, *, account: str | None = None, limit: int = 20,
                   last_id: str | None = None) -> HttpRequest:
        return HttpRequest("GET", "/list", "read", params={"limit": str(limit)})

    def parse_list(self, response: HttpResponse) -> list[Mapping[str, Any]]:
        self.raise_for_error(response)
        return list(response.json())


class FakeService:
    """The server side. ``faults[route]`` is a list of scripted actions consumed one per request:
    ``"500"``, ``"503"`` (with Retry-After), ``"429"``, ``"busy"``, ``"connect"`` (refused before
    sending), ``"drop"`` (after the server acted), ``"timeout"`` (read timeout after acting),
    ``"html"``. Routes: ``submit``, ``poll``, ``file``, ``list``."""

    def __init__(self, *, polls_to_finish: int = 2, blocking: bool = False) -> None:
        self.polls_to_finish = polls_to_finish
        self.blocking = blocking
        self.jobs: dict[str, dict[str, Any]] = {}
        self.submits = 0  # create requests that reached the server
        self.requests: list[tuple[str, str]] = []
        self.faults: dict[str, list[str]] = {}
        self.lock = threading.Lock()
        self.on_submit: Callable[[httpx.Request], None] | None = None
        self.file_type = "audio/mpeg"
        self.moderate_word = "forbidden"

    def fault(self, route: str, *actions: str) -> None:
        self.faults.setdefault(route, []).extend(actions)

    def _take(self, route: str) -> str | None:
        with self.lock:
            queue = self.faults.get(route) or []
            return queue.pop(0) if queue else None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        route = ("submit" if path.endswith("/submit") else "file" if "/files/" in path
                 else "list" if path.endswith("/list") else "poll")
        self.requests.append((request.method, path))
        if route != "file":
            assert request.headers.get("authorization") == f"Bearer {KEY}"
        else:
            assert "authorization" not in request.headers
        action = self._take(route)
        if action == "404":
            return httpx.Response(404, json={"error": "Not found."})
        if action == "403":
            return httpx.Response(403, json={"error": "Expired."})
        if action == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if action in ("500", "503", "429", "busy", "html"):
            if route == "submit" and action not in ("busy", "429"):
                with self.lock:
                    self.submits += 1
            if action == "html":
                return httpx.Response(502, text="<html>bad gateway</html>")
            headers = {"Retry-After": "1.5"} if action in ("503", "429", "busy") else {}
            status = {"500": 500, "503": 503, "429": 429, "busy": 429}[action]
            text = "busy: previous request has not been completed" if action == "busy" else f"error {status}"
            if action in ("429", "busy") and route == "submit":
                with self.lock:
                    self.submits += 1
            return httpx.Response(status, json={"error": text}, headers=headers)
        response = self._answer(route, request)
        if action == "drop":
            raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)
        if action == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        return response

    def _answer(self, route: str, request: httpx.Request) -> httpx.Response:
        if route == "submit":
            if self.on_submit is not None:
                self.on_submit(request)
            body = json.loads(request.content)
            with self.lock:
                self.submits += 1
                jid = f"job-{len(self.jobs) + 1}"
                self.jobs[jid] = {"polls": 0, "lyrics": body["lyrics"]}
            if self.moderate_word in body["lyrics"]:
                return httpx.Response(422, json={"error": "Moderated prompt"})
            if self.blocking:
                self.jobs[jid]["polls"] = self.polls_to_finish
                data = self._state(jid, done=True)
                if body.get("hex"):
                    data = {**data, "audio_url": None, "audio_hex": AUDIO.hex()}
                return httpx.Response(200, json=data)
            return httpx.Response(200, json={"id": jid, "status": "queued"})
        if route == "poll":
            jid = request.url.path.rsplit("/", 1)[-1]
            if jid not in self.jobs:
                return httpx.Response(404, json={"error": "Not found."})
            with self.lock:
                self.jobs[jid]["polls"] += 1
                done = self.jobs[jid]["polls"] >= self.polls_to_finish
            return httpx.Response(200, json=self._state(jid, done=done))
        if route == "list":
            return httpx.Response(200, json=[{"id": k, "musicId": k, "lyrics": v["lyrics"]}
                                             for k, v in self.jobs.items()])
        return httpx.Response(200, content=AUDIO, headers={"Content-Type": self.file_type})

    def _state(self, jid: str, *, done: bool) -> dict[str, Any]:
        if not done:
            return {"id": jid, "status": "running"}
        return {"id": jid, "status": "completed", "title": f"Song {jid}",
                "audio_url": f"http://fake.invalid/files/{jid}.mp3?sig=abc"}


class Both:
    """Call a sync or async client the same way: ``await both.generate(...)``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            return await result if inspect.isawaitable(result) else result

        return call


def install_sleep_recorder(client: Any, sleeps: list[float]) -> None:
    """Replace the client's sleep hook: record the delays, do not wait."""
    if inspect.iscoroutinefunction(getattr(type(client), "generate", None)):
        async def asleep(d: float) -> None:
            sleeps.append(d)

        client._sleep = asleep
    else:
        client._sleep = sleeps.append


def read_file(path: Path) -> bytes:
    return Path(path).read_bytes()
