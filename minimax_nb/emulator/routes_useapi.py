"""useapi.net MiniMax music (v1, plus the 2026 relaunch's POST create), under ``/useapi``.

From PROVIDERS.md §1 and docs/WIRE.md:

- ``GET  /v1/minimax/music/create?account=&prompt=&styleId=&title=`` blocks until the song is made:
  ``200 {"musicId", "audioURL", "duration"}``; ``400 {"error", "code": 400}``, ``401``,
  ``422 {"error": "Moderated prompt"}``, ``429 {"error": "The previous request has not been completed
  yet. Please try again later."}`` while the account runs another generation.
- ``POST /v1/minimax/music/create`` (relaunch) JSON ``{title, prompt, lyrics, instrumental, model, stream}``
  → ``201 {"musicId"}`` (or, with ``Emulator(useapi_create_array=True)``, ``201 [{"musicId"}]``: the
  vendor's answer may be either); poll with the retrieve endpoint. A wordless track needs
  ``instrumental: true``: empty lyrics alone make the model write (and sing) its own words, which the
  retrieve then shows as ``lyrics``; without a title the model writes one too. A busy account (songs
  started on the website count too) answers 429.
- The relaunch's retrieve answers snake_case ``audio_url`` and ``cover_url`` (v1 songs keep ``audioURL``
  and ``coverURL``).
- ``GET  /v1/minimax/music/{musicId}`` → the retrieve object; status 0 pending, 1 processing,
  2 completed, 4 moderated (after completion: the audio URL then answers 404); ``404 {"error": "Not
  found.", "code": 404}``.
- ``GET  /v1/minimax/music/?account=&limit=20&lastMusicId=`` → retrieve objects, newest first, without
  moderated songs.
- ``GET  /v1/minimax/music/styles/?account=`` → ``[{"name": <group>, "styles": [{"url", "styleId",
  "name"}]}]``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from minimax_nb.emulator.common import (
    ByMethod,
    Context,
    Endpoint,
    json_response,
    not_found_route,
    parse_json_body,
    retry_after_header,
)
from minimax_nb.emulator.engine import AccountBusy, EmuJob, Phase

__all__ = ["BUSY_MESSAGE", "STYLE_GROUPS", "error", "routes", "written_lyrics", "written_title"]

PROVIDER = "useapi"
BUSY_MESSAGE = "The previous request has not been completed yet. Please try again later."

#: (group, [(styleId, name)]) — style ids double as the synthesizer's style presets.
STYLE_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Genre", (("pop", "Pop"), ("rock", "Rock"), ("electronic", "Electronic"), ("jazz", "Jazz"),
               ("hip-hop", "Hip-Hop"), ("folk", "Folk"))),
    ("Mood", (("lo-fi", "Lo-Fi"), ("ballad", "Ballad"))),
)
_STYLE_NAMES = {sid: name for _, styles in STYLE_GROUPS for sid, name in styles}
_STATUS = {Phase.QUEUED: (0, "pending"), Phase.RUNNING: (1, "processing"), Phase.COMPLETED: (2, "completed"),
           Phase.POST_MODERATED: (4, "moderated"), Phase.MODERATED: (4, "moderated")}
_RELAUNCH_MODELS = ("music-3.0", "music-2.6")


def error(status: int, message: str, *, retry_after: float | None = None) -> Response:
    """useapi's error shape: ``{"error": <message>, "code": <status>}``."""
    return json_response({"error": message, "code": status}, status, retry_after_header(retry_after))


def written_lyrics(prompt: str) -> str:
    """The words the relaunch's model writes when given none (deterministic, from the prompt)."""
    words = [w for w in "".join(c if c.isalnum() or c.isspace() else " " for c in prompt).split() if w]
    theme = " ".join(words[:4]) or "the night"
    return (f"[Verse]\nWe follow {theme} down the road\nEvery light is calling us home\n"
            f"[Chorus]\nOh {theme}, carry me on\nSing it till the morning comes")


def written_title(prompt: str, lyrics: str) -> str:
    """The title the relaunch's model gives a song sent without one (at most 40 characters)."""
    for line in [*lyrics.splitlines(), prompt]:
        text = line.strip()
        if text and not (text.startswith("[") and text.endswith("]")):
            words = "".join(c if c.isalnum() or c.isspace() else " " for c in text).split()[:4]
            if words:
                return " ".join(w.capitalize() for w in words)[:40]
    return "Untitled"


def _unauthorized() -> Response:
    return error(401, "Unauthorized")


class _Routes:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- helpers ------------------------------------------------------------------------------------
    def _account(self, given: str | None) -> tuple[str | None, Response | None]:
        accounts = self.ctx.useapi_accounts
        if given:
            if given not in accounts:
                return None, error(400, f"Account {given} is not configured")
            return given, None
        if len(accounts) == 1:
            return accounts[0], None
        if not accounts:
            return None, error(400, "No MiniMax account configured")
        return None, error(400, "Parameter account is required")

    def _music_id(self, account: str | None) -> str:
        return f"user:1234-minimax:{account}-music:{self.ctx.engine.rand_digits(18)}"

    async def _retrieve_obj(self, request: Request, job: EmuJob) -> dict[str, Any]:
        now = self.ctx.engine.now()
        phase = job.phase(now)
        status, label = _STATUS[phase]
        obj: dict[str, Any] = {
            "title": job.title,
            "lyrics": job.lyrics,
            "style": _STYLE_NAMES.get(job.style, job.style),
            "status": status,
            "statusLabel": label,
            "statusFinal": status in (2, 4),
            "createTime": int(job.created_at * 1000),
            "musicId": job.id,
        }
        if phase in (Phase.COMPLETED, Phase.POST_MODERATED):
            audio = await self.ctx.audio(job)
            snake = job.model in _RELAUNCH_MODELS
            obj["cover_url" if snake else "coverURL"] = self.ctx.file_url(request, job, "png")
            obj["audio_url" if snake else "audioURL"] = self.ctx.file_url(request, job, audio.ext)
            obj["duration"] = round(audio.duration_s, 2)
        return obj

    # -- endpoints ----------------------------------------------------------------------------------
    async def create_v1(self, request: Request) -> Response:
        if self.ctx.auth_problem(PROVIDER, request):
            return _unauthorized()
        q = request.query_params
        prompt, style_id, title = q.get("prompt"), q.get("styleId"), q.get("title") or ""
        if not prompt:
            return error(400, "Parameter prompt is required")
        if len(prompt) > 600:
            return error(400, f"Parameter prompt is {len(prompt)} characters long, maximum is 600")
        if not style_id:
            return error(400, "Parameter styleId is required")
        account, problem = self._account(q.get("account"))
        if problem is not None:
            return problem
        if self.ctx.engine.moderated_at_submit(prompt, title):
            return json_response({"error": "Moderated prompt"}, 422)
        try:
            job = self.ctx.engine.create(
                PROVIDER, lambda: self._music_id(account), exclusive=True, account=account,
                lyrics=prompt, prompt=prompt, style=style_id, title=title, model="v1",
                max_duration_s=60.0,
            )
        except AccountBusy:
            return json_response({"error": BUSY_MESSAGE}, 429)
        await self.ctx.wait_done(job)
        audio = await self.ctx.audio(job)
        return json_response({"musicId": job.id, "audioURL": self.ctx.file_url(request, job, audio.ext),
                              "duration": round(audio.duration_s, 2)})

    async def create_relaunch(self, request: Request) -> Response:
        if self.ctx.auth_problem(PROVIDER, request):
            return _unauthorized()
        body, reason = parse_json_body(await request.body())
        if reason is not None or not isinstance(body, dict):
            return error(400, reason or "request body must be a JSON object")
        problems: list[str] = []
        for name, limit in (("title", 40), ("prompt", 2000), ("lyrics", 3500)):
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                problems.append(f"{name} must be a string")
            elif isinstance(value, str) and len(value) > limit:
                problems.append(f"{name} is {len(value)} characters long, maximum is {limit}")
        for name in ("instrumental", "stream"):
            if name in body and not isinstance(body[name], bool):
                problems.append(f"{name} must be a boolean")
        model = body.get("model", "music-3.0")
        if model not in _RELAUNCH_MODELS:
            problems.append(f"model must be one of {', '.join(_RELAUNCH_MODELS)}")
        prompt = str(body.get("prompt")) if isinstance(body.get("prompt"), str) else ""
        lyrics = str(body.get("lyrics")) if isinstance(body.get("lyrics"), str) else ""
        if not problems and not (prompt or lyrics):
            problems.append("prompt or lyrics is required")
        if problems:
            return error(400, "; ".join(problems))
        account, problem = self._account(body.get("account") or request.query_params.get("account"))
        if problem is not None:
            return problem
        title = body.get("title") or ""
        if self.ctx.engine.moderated_at_submit(prompt, lyrics, title):
            return json_response({"error": "Moderated prompt"}, 422)
        instrumental = bool(body.get("instrumental", False))
        if not lyrics.strip() and not instrumental:
            lyrics = written_lyrics(prompt)  # the model writes, and sings, its own words
        try:
            job = self.ctx.engine.create(
                PROVIDER, lambda: self._music_id(account), exclusive=True, account=account,
                lyrics="" if instrumental else lyrics, prompt=prompt, style=prompt or "pop",
                title=title or written_title(prompt, lyrics), model=str(model), instrumental=instrumental,
                max_duration_s=240.0,
            )
        except AccountBusy:
            return json_response({"error": BUSY_MESSAGE}, 429)
        answer: Any = [{"musicId": job.id}] if self.ctx.useapi_create_array else {"musicId": job.id}
        return json_response(answer, 201)

    async def retrieve(self, request: Request) -> Response:
        if self.ctx.auth_problem(PROVIDER, request):
            return _unauthorized()
        job = self.ctx.engine.get(PROVIDER, request.path_params["music_id"])
        if job is None:
            return error(404, "Not found.")
        return json_response(await self._retrieve_obj(request, job))

    async def list_music(self, request: Request) -> Response:
        if self.ctx.auth_problem(PROVIDER, request):
            return _unauthorized()
        q = request.query_params
        account, problem = self._account(q.get("account"))
        if problem is not None:
            return problem
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            return error(400, "Parameter limit must be an integer")
        if not 1 <= limit <= 100:
            return error(400, "Parameter limit must be between 1 and 100")
        now = self.ctx.engine.now()
        jobs = [j for j in reversed(self.ctx.engine.jobs(PROVIDER))
                if j.account == account and j.phase(now) not in (Phase.POST_MODERATED, Phase.MODERATED)]
        last = q.get("lastMusicId")
        if last:
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(last) + 1:] if last in ids else []
        return json_response([await self._retrieve_obj(request, j) for j in jobs[:limit]])

    async def styles(self, request: Request) -> Response:
        if self.ctx.auth_problem(PROVIDER, request):
            return _unauthorized()
        _, problem = self._account(request.query_params.get("account"))
        if problem is not None:
            return problem
        base = str(request.base_url).rstrip("/")
        return json_response([
            {"name": group, "styles": [{"url": f"{base}/files/styles/{sid}.png", "styleId": sid, "name": name}
                                       for sid, name in styles]}
            for group, styles in STYLE_GROUPS
        ])


def routes(ctx: Context, prefix: str = "/useapi") -> list[BaseRoute]:
    """The useapi routes under ``prefix``."""
    r = _Routes(ctx)
    base = f"{prefix}/v1/minimax/music"

    def ep(route: str, handler: Any) -> Endpoint:
        return Endpoint(ctx, PROVIDER, route, handler, error)

    create = ByMethod({"GET": ep("submit", r.create_v1), "POST": ep("submit", r.create_relaunch)})
    styles = ep("styles", r.styles)
    listing = ep("list", r.list_music)
    return [
        Route(f"{base}/create", create, methods=["GET", "POST"]),
        Route(f"{base}/styles/", styles, methods=["GET"]),
        Route(f"{base}/styles", styles, methods=["GET"]),
        Route(f"{base}/", listing, methods=["GET"]),
        Route(base, listing, methods=["GET"]),
        Route(f"{base}/{{music_id:str}}", ep("poll", r.retrieve), methods=["GET"]),
        *not_found_route(ctx, prefix, PROVIDER, lambda req: error(404, "Not found."), error),
    ]
