"""The request/job model: frozen, evolve stamps, JSON round trip, raise_for_status."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from minimax_nb.errors import JobFailedError, ModerationError
from minimax_nb.models import Job, JobStatus, MusicRequest


def _job(**kw: object) -> Job:
    return Job(provider="aimlapi", request=MusicRequest(lyrics="[Verse]\nhi", style="pop"), **kw)  # type: ignore[arg-type]


def test_request_is_frozen_and_extra_read_only() -> None:
    req = MusicRequest(lyrics="x", extra={"a": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.lyrics = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        req.extra["b"] = 2  # type: ignore[index]


def test_request_extra_is_copied_from_the_callers_dict() -> None:
    mine = {"a": 1}
    req = MusicRequest(extra=mine)
    mine["a"] = 2
    assert req.extra["a"] == 1


def test_request_replace_and_round_trip() -> None:
    req = MusicRequest(lyrics="la", style="jazz", bitrate=128000, extra={"k": "v"}, instrumental=True)
    assert req.replace(style="rock").style == "rock"
    assert req.style == "jazz"
    back = MusicRequest.from_dict(json.loads(json.dumps(req.to_dict())))
    assert back == req


def test_request_from_dict_ignores_unknown_keys() -> None:
    assert MusicRequest.from_dict({"lyrics": "a", "nope": 1}).lyrics == "a"


def test_job_is_frozen() -> None:
    job = _job()
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = JobStatus.RUNNING  # type: ignore[misc]


@pytest.mark.parametrize("status", list(JobStatus))
def test_status_finality(status: JobStatus) -> None:
    open_states = (JobStatus.SUBMITTING, JobStatus.AMBIGUOUS, JobStatus.QUEUED, JobStatus.RUNNING)
    assert status.is_final == (status not in open_states)
    assert status.is_open == (not status.is_final)
    assert str(status) == status.value


def test_evolve_stamps_started_and_finished() -> None:
    job = _job()
    assert job.started_at is None and job.finished_at is None
    running = job.evolve(status=JobStatus.RUNNING)
    assert running.started_at is not None and running.finished_at is None
    done = running.evolve(status=JobStatus.COMPLETED, audio_url="https://a")
    assert done.finished_at is not None
    assert done.started_at == running.started_at
    assert job.status is JobStatus.QUEUED  # the original is untouched


def test_evolve_keeps_an_existing_finished_at() -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    job = _job(status=JobStatus.COMPLETED, finished_at=t)
    assert job.evolve(status=JobStatus.MODERATED).finished_at == t


def test_job_status_string_is_coerced() -> None:
    assert _job(status="completed").status is JobStatus.COMPLETED  # type: ignore[arg-type]


def test_job_round_trip_through_json() -> None:
    job = _job(
        id="abc",
        status=JobStatus.COMPLETED,
        audio_url="https://a/b.mp3",
        audio_path=Path("/tmp/x.mp3"),
        duration_s=12.5,
        raw={"meta": {"usage": {"usd_spent": 0.06}}},
    )
    job = job.evolve(status=JobStatus.COMPLETED)
    d = json.loads(json.dumps(job.to_dict()))
    assert d["status"] == "completed" and d["audio_path"] == "/tmp/x.mp3"
    back = Job.from_dict(d)
    assert back == job
    assert isinstance(back.created_at, datetime) and back.created_at.tzinfo is not None


def test_key_prefers_provider_id() -> None:
    job = _job()
    assert job.key == job.local_id
    assert job.evolve(id="p1").key == "p1"


def test_repr_is_short_and_names_the_job() -> None:
    r = repr(_job(id="p1", title="Song"))
    assert r == "<Job aimlapi:p1 'Song' queued>"


def test_raise_for_status() -> None:
    ok = _job(status=JobStatus.COMPLETED)
    assert ok.raise_for_status() is ok
    assert _job(status=JobStatus.RUNNING).raise_for_status().status is JobStatus.RUNNING
    with pytest.raises(ModerationError) as m:
        _job(status=JobStatus.MODERATED, error="no").raise_for_status()
    assert m.value.job is not None and m.value.provider == "aimlapi"
    with pytest.raises(JobFailedError, match="boom"):
        _job(status=JobStatus.FAILED, error="boom").raise_for_status()
    with pytest.raises(JobFailedError, match="cancelled"):
        _job(status=JobStatus.CANCELLED).raise_for_status()


def test_jobs_requests_and_errors_carrying_them_pickle() -> None:
    import pickle
    from pathlib import Path

    from minimax_nb.errors import JobFailedError

    request = MusicRequest(lyrics="[Verse]\nla", style="pop", extra={"stream": True})
    job = Job(provider="aimlapi", request=request, id="g-1", raw={"status": "error"},
              audio_path=Path("/tmp/x.mp3")).evolve(status=JobStatus.FAILED, error="boom")
    assert pickle.loads(pickle.dumps(request)) == request
    again = pickle.loads(pickle.dumps(job))
    assert again == job and again.finished_at == job.finished_at and dict(again.raw) == {"status": "error"}
    err = pickle.loads(pickle.dumps(JobFailedError("boom", provider="aimlapi", job=job)))
    assert isinstance(err, JobFailedError) and err.job == job and err.provider == "aimlapi"
