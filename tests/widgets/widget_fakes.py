"""Fakes for the widget tests: a catalog with three small providers and a scripted client."""

from __future__ import annotations

import io
import threading
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minimax_nb.lyrics import lyric_warnings
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.providers.base import Issue, ModelSpec

SPECS = {
    "local": {"minimax/music-2.6": ModelSpec("minimax/music-2.6", lyrics_max=100, bitrates=(64000, 128000),
                                             sample_rates=(24000, 44100), formats=("mp3", "wav"),
                                             structure_tags=True, price_usd=None)},
    "apiin": {"minimax-music": ModelSpec("minimax-music", lyrics_max=200, bitrates=(32000, 256000),
                                         sample_rates=(16000, 44100), structure_tags=False,
                                         accompaniment_marks=True, price_usd=0.06)},
    "useapi": {"v1": ModelSpec("v1", lyrics_max=600, needs_style_id=True, price_usd=None)},
}
ENV_KEYS = {"local": None, "apiin": "APIIN_API_KEY", "useapi": "USEAPI_API_TOKEN"}


class FakeCatalog:
    """Three providers with small limits; validation: required lyrics, length, settings, lyric warnings."""

    def __init__(self) -> None:
        self.validated: list[tuple[str, MusicRequest, str | None]] = []

    def providers(self) -> list[str]:
        return list(SPECS)

    def models(self, provider: str) -> dict[str, ModelSpec]:
        return dict(SPECS[provider])

    def default_model(self, provider: str) -> str:
        return next(iter(SPECS[provider]))

    def env_key(self, provider: str) -> str | None:
        return ENV_KEYS[provider]

    def expected_duration_s(self, provider: str, emulator_speed: float | None = None) -> float:
        return 10.0 / (emulator_speed or 1.0)

    def per_account_limit(self, provider: str) -> int | None:
        return 1 if provider == "useapi" else None

    def has_styles(self, provider: str) -> bool:
        return provider == "useapi"

    def validate(self, provider: str, request: MusicRequest, model: str | None) -> list[Issue]:
        self.validated.append((provider, request, model))
        spec = SPECS[provider][model or self.default_model(provider)]
        issues = []
        if not request.lyrics.strip():
            issues.append(Issue("error", "lyrics", "lyrics are required"))
        if spec.lyrics_max and len(request.lyrics) > spec.lyrics_max:
            issues.append(Issue("error", "lyrics", f"lyrics are {len(request.lyrics)} characters; "
                                                   f"at most {spec.lyrics_max}"))
        if request.bitrate is not None and request.bitrate not in spec.bitrates:
            issues.append(Issue("error", "bitrate", "bitrate not allowed"))
        if spec.needs_style_id and not request.style_id:
            issues.append(Issue("error", "style_id", "style_id is required"))
        issues += [Issue("warning", "lyrics", m) for m in lyric_warnings(
            request.lyrics, structure_tags=spec.structure_tags, accompaniment_marks=spec.accompaniment_marks)]
        return issues

    def estimate_cost(self, provider: str, request: MusicRequest, model: str | None) -> float | None:
        return SPECS[provider][model or self.default_model(provider)].price_usd


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wv:
        wv.setnchannels(1)
        wv.setsampwidth(2)
        wv.setframerate(rate)
        wv.writeframes(b"\x00\x10" * int(seconds * rate))
    return buf.getvalue()


class FakeClient:
    """A scripted ``MusicClient``: ``updates`` running states through ``on_update``, then the final job.

    ``gate`` (an Event) holds ``submit`` until set: proves the kernel side never waits for it.
    """

    def __init__(self, directory: Path, *, updates: int = 3, final: JobStatus = JobStatus.COMPLETED,
                 fail: BaseException | None = None, gate: threading.Event | None = None,
                 tracker: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.directory = directory
        self.updates = updates
        self.final = final
        self.fail = fail
        self.gate = gate
        self.kwargs = kwargs
        self.tracker = tracker if tracker is not None else {}
        self.closed = False

    def submit(self, request: MusicRequest) -> Job:
        t = self.tracker
        lock = t.setdefault("lock", threading.Lock())
        with lock:
            t["active"] = t.get("active", 0) + 1
            t["max_active"] = max(t.get("max_active", 0), t["active"])
            t["submits"] = t.get("submits", 0) + 1
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail is not None:
            with lock:
                t["active"] -= 1
            raise self.fail
        return Job(provider=self.kwargs.get("provider", "local"), request=request, id=f"job-{id(request)}",
                   title=request.title, model=self.kwargs.get("model"), lyrics=request.lyrics)

    def wait(self, job: Job, timeout: float | None = None,
             on_update: Callable[[Job], None] | None = None) -> Job:
        for i in range(self.updates):  # flip-flopping states: every one is a visible change
            job = job.evolve(status=JobStatus.RUNNING if i % 2 == 0 else JobStatus.QUEUED, raw={"n": i})
            if on_update is not None:
                on_update(job)
        t = self.tracker
        with t["lock"]:
            t["active"] -= 1
        err = None if self.final is JobStatus.COMPLETED else "the provider moderated this song"
        return job.evolve(status=self.final, duration_s=0.5, error=err, audio_url="http://127.0.0.1/x.wav")

    def download(self, job: Job, dest: Any = None) -> Path:
        path = self.directory / f"{job.local_id}.wav"
        path.write_bytes(wav_bytes())
        return path

    def generate(self, request: MusicRequest, download: bool = True,
                 on_update: Callable[[Job], None] | None = None, progress: bool = True) -> Job:
        """Like ``MusicClient.generate``: every state through ``on_update``, the downloaded one last."""
        job = self.submit(request)
        if on_update is not None:
            on_update(job)
        job = self.wait(job, on_update=on_update)
        if on_update is not None:
            on_update(job)
        if download and job.status is JobStatus.COMPLETED:
            job = job.evolve(audio_path=self.download(job))
            if on_update is not None:
                on_update(job)
        return job

    def styles(self) -> list[dict[str, Any]]:
        return [{"name": "Pop", "styles": [{"styleId": "s1", "name": "Bright <pop>"},
                                           {"styleId": "s2", "name": "Dark pop"}]}]

    def close(self) -> None:
        self.closed = True


