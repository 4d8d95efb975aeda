"""Bridge (background work, coalescing, errors) and JobMonitor rows."""

from __future__ import annotations

import threading

import pytest

from minimax_nb.models import JobStatus, MusicRequest
from minimax_nb.widgets import Bridge, JobMonitor


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_launch_returns_at_once_and_work_runs_in_background(make_factory) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    bridge = Bridge(make_factory(gate=gate), ticker=False)
    try:
        run = bridge.launch("local", MusicRequest(lyrics="la", title="T"))
        # the caller (the kernel) got the run back while the client is still stuck in submit
        assert run.state == "submitting" and not run.done
        assert threading.current_thread() is threading.main_thread()
        gate.set()
        assert bridge.wait_idle(10)
        assert run.state == "completed" and run.done and run.job is not None
        assert run.job.audio_path is not None and run.job.audio_path.exists()
    finally:
        bridge.close()


def test_updates_are_coalesced_per_flush(make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(updates=500), ticker=False)
    heard: list[tuple[str, str]] = []
    bridge.add_listener(lambda r: heard.append((r.id, r.state)))
    try:
        runs = [bridge.launch("local", MusicRequest(lyrics=f"song {i}")) for i in range(5)]
        assert bridge.wait_idle(10)  # 5 × 500 client updates happened; wait_idle flushes once
        assert sorted(i for i, _ in heard) == sorted(r.id for r in runs)  # one notification per run
        assert {s for _, s in heard} == {"completed"}
        assert bridge.flush() == 0  # nothing changed since: nothing is sent again
    finally:
        bridge.close()


def test_client_errors_are_kept_on_the_run(make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(fail=RuntimeError("no <route> to host")), ticker=False)
    try:
        run = bridge.launch("apiin", MusicRequest(lyrics="la"))
        assert bridge.wait_idle(10)
        # issue 10: the state is a JobStatus; "refused" says no job ever existed ("error" is the pill label)
        assert run.state is JobStatus.FAILED and run.refused and run.label == "error" and run.done
        assert run.error == "RuntimeError: no <route> to host"
        assert isinstance(run.exception, RuntimeError)
    finally:
        bridge.close()


def test_listener_errors_are_reported_not_swallowed(make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(), ticker=False)
    reported = []
    bridge.on_error = lambda e, ctx: reported.append((type(e).__name__, ctx))

    def bad_listener(run) -> None:  # type: ignore[no-untyped-def]
        raise ValueError("panel broke")

    bridge.add_listener(bad_listener)
    try:
        bridge.launch("local", MusicRequest(lyrics="la", title="X"))
        assert bridge.wait_idle(10)
        assert reported and reported[0][0] == "ValueError" and "'X'" in reported[0][1]
        assert bridge.errors
    finally:
        bridge.close()


def test_per_account_limit_serialises_submits(make_factory) -> None:  # type: ignore[no-untyped-def]
    tracker: dict = {}
    bridge = Bridge(make_factory(tracker=tracker), ticker=False)
    try:
        for i in range(4):
            bridge.launch("useapi", MusicRequest(lyrics=f"s{i}"), account="acc1", per_account_limit=1)
        assert bridge.wait_idle(10)
        assert tracker["submits"] == 4 and tracker["max_active"] == 1
    finally:
        bridge.close()


def test_client_is_built_once_per_settings_and_key_never_in_repr(make_factory) -> None:  # type: ignore[no-untyped-def]
    factory = make_factory()
    bridge = Bridge(factory, ticker=False)
    try:
        for _ in range(3):
            bridge.launch("apiin", MusicRequest(lyrics="x"), api_key="sk-TEST-secret-key")
        assert bridge.wait_idle(10)
        assert len(factory.made) == 1 and factory.made[0].kwargs["api_key"] == "sk-TEST-secret-key"
        assert "sk-TEST" not in repr(bridge) and all("sk-TEST" not in repr(r) for r in bridge.runs)
    finally:
        bridge.close()
    assert factory.made[0].closed


def test_ticker_thread_delivers_without_manual_flush(make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(), interval=0.01)
    done = threading.Event()
    bridge.add_listener(lambda r: done.set() if r.state == "completed" else None)
    try:
        bridge.launch("local", MusicRequest(lyrics="la"))
        assert done.wait(10)
    finally:
        bridge.close()


# ----------------------------------------------------------------------------------------- monitor
def test_monitor_row_shows_progress_status_and_escapes(comms, make_factory) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    gate = threading.Event()
    bridge = Bridge(make_factory(gate=gate), ticker=False, clock=clock)
    mon = JobMonitor(on_stop=bridge.stop_watching, clock=clock)
    bridge.add_listener(mon.update)
    try:
        run = bridge.launch("local", MusicRequest(lyrics="la", title="<img src=x onerror=alert(1)>"),
                            expected_s=10)
        clock.t += 5
        bridge.flush()
        row = mon.rows[run.id]
        assert "<img" not in row.title.value and "&lt;img" in row.title.value
        assert "submitting" in row.status.value
        assert row.bar.value == 0.5 and ">0:05<" in row.info.value
        clock.t += 100  # far over the expected time: the bar waits at 99 %
        bridge.flush()
        assert row.bar.value == 0.99 and ">1:45<" in row.info.value
        gate.set()
        assert bridge.wait_idle(10)
        assert "completed" in row.status.value and row.bar.value == 1.0 and row.bar.bar_style == "success"
        assert row.stop.disabled
        assert "0 running" in mon.header.value
    finally:
        bridge.close()


def test_monitor_messages_per_row_are_bounded(comms, make_factory) -> None:  # type: ignore[no-untyped-def]
    """500 client updates for one job become a handful of widget messages (coalescing, change-only)."""
    clock = Clock()
    gate = threading.Event()
    bridge = Bridge(make_factory(updates=500, gate=gate), ticker=False, clock=clock)
    mon = JobMonitor(clock=clock)
    bridge.add_listener(mon.update)
    try:
        run = bridge.launch("local", MusicRequest(lyrics="la"), expected_s=10)
        bridge.flush()  # the row exists, showing "submitting"
        row = mon.rows[run.id]
        start = len(comms)
        gate.set()  # now the client reports 500 changes
        assert bridge.wait_idle(10)
        row_ids = {w.comm.comm_id for w in (row.title, row.status, row.bar, row.info, row.stop)}
        sent = [d for cid, d in comms[start:] if cid in row_ids]
        # status, bar (value and colour in one message), stop button: one message each, whatever the 500
        assert 1 <= len(sent) <= 4, sent
        # and a flush with nothing new sends nothing
        before = len(comms)
        bridge.flush()
        assert len(comms) == before
    finally:
        bridge.close()


def test_stop_watching_freezes_the_row(comms, make_factory) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    gate = threading.Event()
    bridge = Bridge(make_factory(gate=gate), ticker=False, clock=clock)
    mon = JobMonitor(on_stop=bridge.stop_watching, clock=clock)
    bridge.add_listener(mon.update)
    try:
        run = bridge.launch("local", MusicRequest(lyrics="la"))
        bridge.flush()
        row = mon.rows[run.id]
        row.stop.click()
        bridge.flush()
        assert "unwatched" in row.status.value and row.stop.disabled
        frozen = row.info.value
        clock.t += 30
        assert bridge.flush() == 0
        assert row.info.value == frozen
        gate.set()
        assert bridge.wait_idle(10)
        assert run.state == "completed"  # the job itself went on
    finally:
        bridge.close()


@pytest.mark.parametrize(("final", "style"), [(JobStatus.MODERATED, "warning")])
def test_moderated_job_row(comms, make_factory, final, style) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(final=final), ticker=False)
    mon = JobMonitor()
    bridge.add_listener(mon.update)
    try:
        run = bridge.launch("local", MusicRequest(lyrics="la"))
        assert bridge.wait_idle(10)
        row = mon.rows[run.id]
        assert "moderated" in row.status.value and row.bar.bar_style == style
        assert "moderated this song" in row.info.value
    finally:
        bridge.close()


def test_clear_finished_removes_rows(comms, make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(), ticker=False)
    mon = JobMonitor()
    bridge.add_listener(mon.update)
    try:
        bridge.launch("local", MusicRequest(lyrics="la"))
        assert bridge.wait_idle(10)
        assert len(mon.body.children) == 1
        mon.clear_button.click()
        assert mon.body.children == () and mon.rows == {}
    finally:
        bridge.close()


def test_flush_interval_stretches_with_many_active_runs(make_factory) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    bridge = Bridge(make_factory(gate=gate), ticker=False, interval=0.25, max_workers=2)
    try:
        assert bridge.tick_interval() == 0.25
        for i in range(100):
            bridge.launch("local", MusicRequest(lyrics=str(i)))
        assert bridge.tick_interval() == pytest.approx(1.0)  # 100 active rows / 25 per tick
        gate.set()
        assert bridge.wait_idle(20)
        assert bridge.tick_interval() == 0.25
    finally:
        bridge.close()


class _GatedClient:
    """A client whose songs finish one by one, when the test opens their gate."""

    def __init__(self, gates: dict[str, threading.Event]) -> None:
        self.gates = gates

    def generate(self, request: MusicRequest, download: bool = True, on_update=None,  # type: ignore[no-untyped-def]
                 progress: bool = False):
        from minimax_nb.models import Job

        job = Job(provider="local", request=request, id=request.lyrics, status=JobStatus.RUNNING)
        if on_update is not None:
            on_update(job)
        assert self.gates[request.lyrics].wait(10)
        return job.evolve(status=JobStatus.COMPLETED)

    def close(self) -> None:
        pass


def test_a_quick_flush_hands_out_only_the_finished_runs() -> None:
    """Issue 12: between two full flushes (which stretch to seconds with many running rows) the ticker
    flushes ``rows=False`` as soon as a run finishes: the finished run reaches the row listener and the
    batch listener; the running rows' changes wait, still pending, for the next full flush."""
    gates = {f"s{i}": threading.Event() for i in range(4)}
    bridge = Bridge(lambda provider, **kw: _GatedClient(gates), ticker=False, max_workers=4)
    heard: list[str] = []
    batches: list[list[str]] = []
    bridge.add_listener(lambda r: heard.append(r.request.lyrics))
    bridge.add_batch_listener(lambda runs: batches.append([r.request.lyrics for r in runs]))
    try:
        runs = [bridge.launch("local", MusicRequest(lyrics=name)) for name in gates]
        deadline = threading.Event()
        while not all(r.state is JobStatus.RUNNING for r in runs) and not deadline.wait(0.01):
            pass
        assert bridge.flush(rows=False) == 0 and heard == [] and batches == []  # nothing finished yet
        gates["s2"].set()
        while not runs[2].done and not deadline.wait(0.01):
            pass
        assert bridge.flush(rows=False) == 1
        assert heard == ["s2"] and batches == [["s2"]]
        assert bridge.flush(rows=False) == 0  # handed out once
        heard.clear()
        assert bridge.flush() == 3 and sorted(heard) == ["s0", "s1", "s3"]  # the full flush: the others
        for g in gates.values():
            g.set()
        assert bridge.wait_idle(10)
        assert sorted(x for b in batches for x in b) == ["s0", "s1", "s2", "s3"]  # each finished once
    finally:
        bridge.close()


def test_a_flush_of_new_rows_sends_the_row_list_once(comms, make_factory) -> None:  # type: ignore[no-untyped-def]
    """Issue 12: 200 rows at once must not send 200 ever-longer ``children`` lists; and a row's classes
    and first values travel in its opening messages, not in updates after it."""
    bridge = Bridge(make_factory(updates=1), ticker=False, max_workers=4)
    mon = JobMonitor(post=bridge.post)
    bridge.add_rows_listener(mon.update_many)
    changes: list[int] = []
    mon.body.observe(lambda ch: changes.append(len(ch["new"])), names="children")
    try:
        for i in range(30):
            bridge.launch("local", MusicRequest(lyrics=f"song {i}", title=f"T{i}"))
        bridge.flush()
        assert changes == [30] and len(mon.rows) == 30
        row = next(iter(mon.rows.values()))
        assert "mnb-monitor-row" in row._dom_classes and "mnb-stop" in row.stop._dom_classes
        assert "T" in row.title.value and "mnb-row-elapsed" in row.info.value
        assert bridge.wait_idle(10)
        assert changes == [30] and "completed" in row.status.value  # updates in place, no new list
    finally:
        bridge.close()
