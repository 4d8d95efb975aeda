"""The job lifecycle flow, effect by effect, without a socket (h11-style: feed an outcome, check the
next effect). Every fault path of a create, a status read and a download ends in a state that is true.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from integration._fake import FakeAdapter  # tests/ is on sys.path (rootdir-relative packages)

from minimax_nb.client import core, flow
from minimax_nb.client.polling import PollPolicy
from minimax_nb.errors import (
    APIConnectionError,
    ConcurrencyLimitError,
    MiniMaxError,
    ModerationError,
    NotFoundError,
    ServerError,
    ValidationError,
)
from minimax_nb.models import Job, JobStatus, MusicRequest, utcnow
from minimax_nb.providers.base import HttpResponse

SONG = MusicRequest(lyrics="[Verse]\nflow test")
Flow = Generator[Any, Any, Any]


def make_core(adapter: FakeAdapter | None = None, **kw: Any) -> core.ClientCore:
    return core.ClientCore(
        provider="fake", adapter=adapter or FakeAdapter(), api_key="sk-flow-test-key",
        base_url="http://fake.invalid", account=kw.pop("account", None), model=None,
        timeouts=core.Timeouts(), retry=core.RetryPolicy(max_attempts=3, base=0.01, cap=0.01, jitter=0),
        poll=kw.pop("poll", PollPolicy(first_delay=20, schedule=((45, 10), (75, 5)), timeout=900)),
        ledger=None, download_dir=Path("."),
    )


def ok(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, json.dumps(data).encode(), {"content-type": "application/json"})


def reset() -> APIConnectionError:
    err = APIConnectionError("connection reset after the request was sent", provider="fake")
    err.may_have_reached_server = True
    return err


def refused() -> APIConnectionError:
    err = APIConnectionError("connection refused", provider="fake")
    err.may_have_reached_server = False
    return err


class Run:
    """Steps a flow: ``send`` an outcome or ``throw`` an error, get the next effect (or the result)."""

    def __init__(self, steps: Flow) -> None:
        self.steps = steps
        self.result: Any = None
        self.done = False

    def _advance(self, fn: Any, arg: Any) -> Any:
        try:
            return fn(arg)
        except StopIteration as stop:
            self.done, self.result = True, stop.value
            return None

    def start(self) -> Any:
        return self._advance(self.steps.send, None)

    def send(self, outcome: Any = None) -> Any:
        return self._advance(self.steps.send, outcome)

    def throw(self, err: BaseException) -> Any:
        return self._advance(self.steps.throw, err)

    def skip_journal(self, effect: Any) -> Any:
        while isinstance(effect, flow.Journal | flow.Notify):
            effect = self.send(None)
        return effect


# ---- the create -----------------------------------------------------------------------------------


def test_a_create_is_journaled_before_it_is_sent_and_accepted_after() -> None:
    run = Run(flow.submit(make_core(), SONG, None))
    first = run.start()
    assert isinstance(first, flow.Journal) and first.op == "submitting"
    assert first.job.status is JobStatus.SUBMITTING and first.job.submitted_at is not None
    send = run.send()
    assert isinstance(send, flow.Send) and send.request.kind == "submit"
    rec = run.send(ok({"id": "j1", "status": "queued"}))
    assert isinstance(rec, flow.Journal) and rec.op == "record" and rec.job.id == "j1"
    assert rec.old is not None and rec.old.status is JobStatus.SUBMITTING
    assert run.send() is None and run.done and run.result.status is JobStatus.QUEUED


def test_invalid_input_raises_before_anything_is_journaled_or_sent() -> None:
    run = Run(flow.submit(make_core(), MusicRequest(lyrics=" "), None))
    with pytest.raises(ValidationError):
        run.start()


@pytest.mark.parametrize("error", [reset, lambda: ServerError("bad gateway", status_code=502),
                                   lambda: APIConnectionError("malformed answer", provider="fake")])
def test_a_create_whose_answer_was_lost_is_ambiguous_never_resent(error: Any) -> None:
    run = Run(flow.submit(make_core(), SONG, None))
    run.start()
    run.send()  # the Send
    mark = run.throw(error())
    assert isinstance(mark, flow.Journal) and mark.op == "ambiguous"
    assert mark.job.status is JobStatus.AMBIGUOUS and mark.note
    with pytest.raises(MiniMaxError) as info:
        run.send()
    assert info.value.job is not None and info.value.job.status is JobStatus.AMBIGUOUS


def test_a_create_that_never_left_is_retried_then_failed() -> None:
    run = Run(flow.submit(make_core(), SONG, None))
    run.start()
    assert isinstance(run.send(), flow.Send)
    assert isinstance(run.throw(refused()), flow.Sleep)
    assert isinstance(run.send(), flow.Send)  # sent again: it surely never left
    assert isinstance(run.throw(refused()), flow.Sleep)
    assert isinstance(run.send(), flow.Send)
    failed = run.throw(refused())
    assert isinstance(failed, flow.Journal) and failed.job.status is JobStatus.FAILED
    with pytest.raises(APIConnectionError):
        run.send()


def test_a_rejected_create_is_failed_or_moderated() -> None:
    for err, status in ((ModerationError("no", status_code=422), JobStatus.MODERATED),
                        (MiniMaxError("bad request", status_code=400), JobStatus.FAILED)):
        run = Run(flow.submit(make_core(), SONG, None))
        run.start()
        run.send()
        rec = run.throw(err)
        assert isinstance(rec, flow.Journal) and rec.op == "record" and rec.job.status is status
        with pytest.raises(MiniMaxError):
            run.send()


def test_a_refused_create_waits_and_is_sent_again_patiently() -> None:
    c = make_core()
    run = Run(flow.submit_patiently(c, SONG, None))
    run.start()
    run.send()
    busy = ConcurrencyLimitError("busy: previous request", retry_after=7.0, status_code=429)
    sleep = run.throw(busy)
    assert isinstance(sleep, flow.Sleep) and sleep.seconds == 7.0
    again = run.send()
    assert isinstance(again, flow.Journal) and again.op == "submitting"  # the same job, sent again
    assert isinstance(run.send(), flow.Send)


def test_the_single_submit_records_a_refusal_as_failed() -> None:
    run = Run(flow.submit_once(make_core(), SONG, None))
    run.start()
    run.send()
    rec = run.throw(ConcurrencyLimitError("busy", status_code=429))
    assert isinstance(rec, flow.Journal) and rec.job.status is JobStatus.FAILED
    with pytest.raises(ConcurrencyLimitError):
        run.send()


def test_an_ambiguous_create_is_reconciled_through_the_list_of_every_account() -> None:
    c = make_core(account=("a1", "a2"))
    run = Run(flow.obtain(c, SONG, "a2"))
    run.start()
    run.send()
    run.throw(reset())          # -> journal ambiguous
    first_list = run.send()     # the list of account a1
    assert isinstance(first_list, flow.Send) and first_list.request.path == "/list"
    second_list = run.send(ok([{"musicId": "other", "lyrics": "[Verse]\nflow test"}]))
    assert isinstance(second_list, flow.Send)
    adopt = run.send(ok([{"musicId": "mine", "lyrics": "[Verse]\nflow test"}]))
    assert isinstance(adopt, flow.Journal) and adopt.op == "adopt" and adopt.job.id == "mine"
    assert adopt.job.status is JobStatus.RUNNING
    run.send()
    assert run.done and run.result.id == "mine"


def test_match_listed_finds_exactly_one_new_song() -> None:
    job = Job(provider="useapi", request=MusicRequest(lyrics="hello there", title="T"))
    now_ms = job.created_at.timestamp() * 1000
    listed = [
        {"musicId": "old", "lyrics": "hello there", "title": "T", "createTime": now_ms - 3_600_000},
        {"musicId": "other", "lyrics": "something else", "createTime": now_ms + 1000},
        {"musicId": "mine", "lyrics": "hello there", "title": "T", "createTime": now_ms + 1000},
    ]
    assert flow.match_listed(job, listed, set()) == "mine"
    assert flow.match_listed(job, [*listed, dict(listed[2], musicId="twin")], set()) is None
    assert flow.match_listed(job, listed, {"mine"}) is None


# ---- waiting ---------------------------------------------------------------------------------------


def test_wait_reads_an_old_job_at_once_and_a_new_one_after_the_first_delay() -> None:
    c = make_core()
    fresh = Job(provider="fake", request=SONG, id="j1", status=JobStatus.QUEUED, submitted_at=utcnow())
    first = Run(flow.wait(c, fresh)).start()
    assert isinstance(first, flow.Sleep) and 19 < first.seconds <= 20
    old = fresh.evolve(submitted_at=utcnow() - timedelta(hours=2))
    assert isinstance(Run(flow.wait(c, old)).start(), flow.Send)  # a resume: one read, now


def test_the_schedule_is_anchored_at_the_start_of_generation() -> None:
    """Queueing time does not count: once a read sees queued -> running, the schedule restarts from
    the midpoint of those two reads."""
    c = make_core()
    queued = Job(provider="fake", request=SONG, id="j1", status=JobStatus.QUEUED,
                 submitted_at=utcnow() - timedelta(seconds=300))
    run = Run(flow.wait(c, queued))
    assert isinstance(run.start(), flow.Send)  # old: read at once
    sleep = run.send(ok({"id": "j1", "status": "queued"}))
    assert isinstance(sleep, flow.Sleep)
    assert isinstance(run.send(), flow.Send)
    rec = run.send(ok({"id": "j1", "status": "running"}))
    assert isinstance(rec, flow.Journal) and rec.job.status is JobStatus.RUNNING
    assert rec.job.started_at is not None and rec.job.started_at <= utcnow()
    nxt = run.skip_journal(run.send())
    assert isinstance(nxt, flow.Sleep) and 19 < nxt.seconds <= 20  # the first delay, from the start


def test_a_job_the_provider_forgot_is_lost_with_the_reason() -> None:
    c = make_core()
    job = Job(provider="fake", request=SONG, id="j1", status=JobStatus.RUNNING,
              submitted_at=utcnow() - timedelta(hours=1))
    run = Run(flow.wait(c, job))
    run.start()
    rec = run.throw(NotFoundError("Not found.", status_code=404))
    assert isinstance(rec, flow.Journal) and rec.job.status is JobStatus.LOST
    assert "no longer knows" in (rec.job.error or "")


def test_transient_read_errors_are_retried_as_reads() -> None:
    c = make_core()
    job = Job(provider="fake", request=SONG, id="j1", status=JobStatus.RUNNING,
              submitted_at=utcnow() - timedelta(hours=1))
    run = Run(flow.wait(c, job))
    run.start()
    assert isinstance(run.throw(reset()), flow.Sleep)  # a truncated/garbled status answer: read again
    assert isinstance(run.send(), flow.Send)
    effect = run.send(ok({"id": "j1", "status": "completed", "audio_url": "http://x/a.mp3"}))
    assert isinstance(effect, flow.Journal) and effect.job.status is JobStatus.COMPLETED


# ---- downloads -------------------------------------------------------------------------------------


def _done() -> Job:
    return Job(provider="fake", request=SONG, id="j1", status=JobStatus.COMPLETED,
               audio_url="http://fake.invalid/files/j1.mp3")


def test_an_expired_url_gets_one_fresh_read_then_the_download() -> None:
    run = Run(flow.fetch_audio(make_core(), _done()))
    assert isinstance(run.start(), flow.CheckCache)
    assert isinstance(run.send(None), flow.Fetch)
    read = run.throw(NotFoundError("expired", status_code=403))
    assert isinstance(read, flow.Send) and read.request.path == "/jobs/j1"
    nxt = run.skip_journal(run.send(ok({"id": "j1", "status": "completed",
                                        "audio_url": "http://fake.invalid/files/j1.mp3?fresh"})))
    assert isinstance(nxt, flow.Fetch) and nxt.job.audio_url.endswith("fresh")  # type: ignore[union-attr]
    measure = run.send((Path("a.mp3"), "ab" * 32, 1234))
    assert isinstance(measure, flow.Measure)
    saved = run.send(61.5)
    assert isinstance(saved, flow.Journal) and saved.op == "audio" and saved.job.duration_s == 61.5


def test_audio_gone_is_moderated_only_when_the_status_says_so() -> None:
    run = Run(flow.fetch_audio(make_core(), _done()))
    run.start()
    run.send(None)
    run.throw(NotFoundError("gone", status_code=404))
    rec = run.send(ok({"id": "j1", "status": "moderated"}))
    assert isinstance(rec, flow.Journal) and rec.job.status is JobStatus.MODERATED
    run.send()
    assert run.done and run.result.status is JobStatus.MODERATED


def test_audio_gone_while_the_status_says_completed_is_lost_unless_documented() -> None:
    class Documented(FakeAdapter):
        audio_404_moderated = True

    for adapter, status in ((FakeAdapter(), JobStatus.LOST), (Documented(), JobStatus.MODERATED)):
        run = Run(flow.fetch_audio(make_core(adapter), _done()))
        run.start()
        run.send(None)
        run.throw(NotFoundError("gone", status_code=404))
        again = run.skip_journal(run.send(ok({"id": "j1", "status": "completed",
                                              "audio_url": "http://fake.invalid/files/j1.mp3"})))
        assert isinstance(again, flow.Fetch)
        rec = run.throw(NotFoundError("gone", status_code=404))
        assert isinstance(rec, flow.Journal) and rec.job.status is status


def test_a_cache_hit_sends_nothing_and_fills_the_duration() -> None:
    c = make_core()
    run = Run(flow.fetch_audio(c, _done()))
    run.start()
    measure = run.send(Path(__file__))  # any existing file stands for the cached audio
    assert isinstance(measure, flow.Measure)
    rec = run.send(12.0)
    assert isinstance(rec, flow.Journal) and rec.op == "audio" and rec.job.duration_s == 12.0


def test_a_batch_item_keeps_the_state_the_flow_settled() -> None:
    c = make_core()
    ambiguous = Job(provider="fake", request=SONG, status=JobStatus.AMBIGUOUS, error="answer lost")
    err = APIConnectionError("reset", job=ambiguous)
    kept = core.batch_failure(c, SONG, None, err)
    assert kept.status is JobStatus.AMBIGUOUS and kept.error == "answer lost"  # never shown as failed
    bug = core.batch_failure(c, SONG, None, RuntimeError("bug"))
    assert bug.status is JobStatus.FAILED
