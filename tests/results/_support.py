"""Helpers for the results tests: audio with known properties, jobs with known timings."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

from minimax_nb.models import Job, JobStatus, MusicRequest


def sine(db_peak: float, seconds: float, rate: int = 48000, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return 10.0 ** (db_peak / 20.0) * np.sin(2.0 * np.pi * freq * t)


def write_wav(path: Path, samples: np.ndarray, rate: int, subtype: str = "PCM_24") -> tuple[str, int]:
    sf.write(str(path), samples, rate, subtype=subtype)
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def finished_job(provider: str, style: str, *, queue: float, generation: float, title: str = "Song",
                 status: JobStatus = JobStatus.COMPLETED, duration: float | None = 30.0,
                 offset: float = 0.0, error: str | None = None) -> Job:
    submitted = T0 + timedelta(seconds=offset)
    started = submitted + timedelta(seconds=queue)
    finished = started + timedelta(seconds=generation)
    req = MusicRequest(lyrics="[Verse]\nla la la", style=style, title=title, bitrate=256000,
                       sample_rate=44100, audio_format="mp3")
    return Job(provider=provider, request=req, status=status, id=f"id-{provider}-{offset}",
               model="music-2.6", created_at=submitted, submitted_at=submitted, started_at=started,
               finished_at=finished, duration_s=duration, error=error)
