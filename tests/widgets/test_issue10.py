"""Issue 10 (widgets): keys per provider, key status from the last answer, one owner of widget writes,
batches of finished jobs, monitor rows, sorting by heading, variants, widget wording, theme colours."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from minimax_nb.errors import AuthenticationError
from minimax_nb.models import JobStatus, MusicRequest
from minimax_nb.widgets import Bridge, JobMonitor, Launcher, Studio
from minimax_nb.widgets.composer import widget_wording
from minimax_nb.widgets.table import jobs_frame

APIIN_KEY = "sk-apiin-issue10-abcdef0123"
USEAPI_KEY = "useapi-issue10-9876543210"


# ----------------------------------------------------------------------------------------- keys
def test_a_key_belongs_to_the_provider_it_was_typed_for(comms, catalog, front_end) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="apiin", env={})
    front_end(lw.key, value=APIIN_KEY)
    assert lw.key.value == "" and lw.api_key == APIIN_KEY and lw.key_source() == "entered"
    assert lw.forget_key.layout.display == ""
    lw.provider.value = "useapi"
    assert lw.api_key is None and lw.settings().api_key is None and lw.key_source() is None
    assert lw.api_key_for("apiin") == APIIN_KEY and lw.api_key_for("useapi") is None
    assert "no key for useapi" in lw.key_status.value
    assert lw.forget_key.layout.display == "none"  # nothing to forget for useapi
    assert lw.generate.disabled
    front_end(lw.key, value=USEAPI_KEY)
    assert lw.api_key == USEAPI_KEY and lw.api_key_for("apiin") == APIIN_KEY
    lw.forget_key.click()  # forgets useapi's key only
    assert lw.api_key is None and lw.api_key_for("apiin") == APIIN_KEY
    lw.provider.value = "local"
    assert lw.api_key is None and lw.key_source() == "none needed"
    assert lw.forget_key.layout.display == "none"  # never on local
    assert lw.key.layout.display == "none"
    lw.set_api_key("anything", "local")  # local takes no key
    assert lw.api_key_for("local") is None
    assert APIIN_KEY not in repr(vars(lw)) and USEAPI_KEY not in repr(lw)


def test_key_status_reflects_the_last_answer(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="apiin", env={"APIIN_API_KEY": "from-env-key"})
    assert "key from $APIIN_API_KEY" in lw.key_status.value and "mnb-key-ok" in lw.key_status.value
    lw.key_rejected("apiin", "Unauthorized <apiin> (HTTP 401)")
    assert "mnb-key-rejected" in lw.key_status.value
    assert "apiin refused the key from $APIIN_API_KEY" in lw.key_status.value
    assert "Unauthorized &lt;apiin&gt; (HTTP 401)" in lw.key_status.value  # escaped
    lw.provider.value = "useapi"
    assert "mnb-key-rejected" not in lw.key_status.value  # useapi's own status
    lw.provider.value = "apiin"
    assert "mnb-key-rejected" in lw.key_status.value
    lw.set_api_key(APIIN_KEY)  # a new key has not been refused yet
    assert "mnb-key-ok" in lw.key_status.value
    lw.key_rejected("apiin", "bad")
    lw.key_accepted("apiin")
    assert "mnb-key-ok" in lw.key_status.value


def test_styles_load_only_with_the_providers_own_key(  # type: ignore[no-untyped-def]
        comms, catalog, make_factory) -> None:
    factory = make_factory()
    s = Studio("apiin", catalog=catalog, bridge=Bridge(factory, ticker=False), frame=jobs_frame, env={})
    try:
        s.launcher.set_api_key(APIIN_KEY)
        s.launcher.provider.value = "useapi"  # the dropdown change alone loads styles when it can
        assert s.bridge.wait_idle(10)
        assert factory.made == []  # no useapi key: no client at all, certainly not with apiin's key
        assert "needs a key" in s.composer.style_id.options[0][0]
        s.launcher.set_api_key(USEAPI_KEY)
        assert s.bridge.wait_idle(10)
        made = [(c.kwargs["provider"], c.kwargs.get("api_key")) for c in factory.made]
        assert made == [("useapi", USEAPI_KEY)]
        assert s.composer.styles_loaded
        s.launcher.provider.value = "apiin"
        s.generate()
        assert s.bridge.wait_idle(10)
        made = [(c.kwargs["provider"], c.kwargs.get("api_key")) for c in factory.made]
        assert ("apiin", APIIN_KEY) in made
        assert all(key == {"apiin": APIIN_KEY, "useapi": USEAPI_KEY}[prov] for prov, key in made)
    finally:
        s.close()


def test_a_refused_key_turns_the_status_red_scrubbed(comms, catalog, make_factory) -> None:  # type: ignore[no-untyped-def]
    refusal = AuthenticationError(f"Unauthorized: key {APIIN_KEY} is not valid", provider="apiin")
    s = Studio("apiin", catalog=catalog, bridge=Bridge(make_factory(fail=refusal), ticker=False),
               frame=jobs_frame, env={}, api_key=APIIN_KEY)
    try:
        [run] = s.generate()
        assert s.bridge.wait_idle(10)
        assert run.refused and run.state is JobStatus.FAILED
        status = s.launcher.key_status.value
        assert "mnb-key-rejected" in status and "apiin refused the key you entered" in status
        assert APIIN_KEY not in status and "***" in status
        assert "error" in s.monitor.rows[run.id].status.value
    finally:
        s.close()


# ------------------------------------------------------------------------- one owner of writes
def test_call_hands_its_result_to_the_flushing_thread(make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(), ticker=False)
    seen: list[tuple[str, Any]] = []
    try:
        fut = bridge.call(lambda: threading.current_thread().name,
                          lambda r: seen.append((threading.current_thread().name, r)),
                          lambda e: seen.append(("error", e)))
        fut.result(10)
        assert seen == []  # the worker finished, but nothing ran on its thread
        bridge.flush()
        [(where, worker)] = seen
        assert where == threading.current_thread().name and worker.startswith("minimax-nb")
        bad = bridge.call(lambda: 1 / 0, seen.append, lambda e: seen.append(("error", type(e).__name__)))
        bad.result(10)
        bridge.flush()
        assert seen[-1] == ("error", "ZeroDivisionError")
    finally:
        bridge.close()


def test_finished_runs_reach_the_batch_listener_once_per_flush(make_factory) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    bridge = Bridge(make_factory(gate=gate), ticker=False)
    batches: list[list[str]] = []
    bridge.add_batch_listener(lambda runs: batches.append([r.id for r in runs]))
    try:
        runs = [bridge.launch("local", MusicRequest(lyrics="la")) for _ in range(3)]
        bridge.flush()
        assert batches == []
        gate.set()
        for r in runs:
            while not r.done:
                threading.Event().wait(0.01)
        bridge.flush()
        assert batches == [[r.id for r in sorted(runs, key=lambda r: r.finished or 0)]] or (
            len(batches) == 1 and sorted(batches[0]) == sorted(r.id for r in runs))
        bridge.flush()
        assert len(batches) == 1  # never again, never empty
    finally:
        bridge.close()


def test_studio_merges_a_batch_in_one_render(comms, catalog, make_factory) -> None:  # type: ignore[no-untyped-def]
    s = Studio("local", catalog=catalog, bridge=Bridge(make_factory(), ticker=False), frame=jobs_frame,
               env={}, lyrics="[Verse]\nhello")
    try:
        runs = s.generate(variants=3)
        assert s.bridge.wait_idle(10)
        assert len(s.table.jobs) == 3
        # variants told apart: the table's v column and the Play list
        assert {"v1", "v2", "v3"} <= set(re.findall(r">(v\d)<", s.table.table.value))
        labels = [label for label, _ in s.table.select.options]
        assert sum("(v2)" in label for label in labels) == 1 and sum("(v3)" in label for label in labels) == 1
        assert s.table.df is not None and sorted(s.table.df["variant"]) == [1, 2, 3]
        assert "v" in [b.description.split(" ")[0] for b in s.table.header.children]
        assert {r.variant for r in runs} == {1, 2, 3}
    finally:
        s.close()


# --------------------------------------------------------------------------------------- monitor
def test_stopped_rows_are_not_running_and_can_be_watched_again(comms, make_factory) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()
    bridge = Bridge(make_factory(gate=gate), ticker=False)
    mon = JobMonitor(on_stop=bridge.stop_watching, on_watch=bridge.watch, post=bridge.post)
    bridge.add_listener(mon.update)
    try:
        run = bridge.launch("local", MusicRequest(lyrics="la"))
        bridge.flush()
        row = mon.rows[run.id]
        assert "1 running" in mon.header.value
        assert row.stop.layout.display == "" and row.watch.layout.display == "none"
        row.stop.click()
        bridge.flush()
        assert "0 running" in mon.header.value and "unwatched" in row.status.value
        assert row.stop.layout.display == "none" and row.watch.layout.display == ""
        row.watch.click()
        bridge.flush()
        assert "1 running" in mon.header.value and "submitting" in row.status.value
        gate.set()
        assert bridge.wait_idle(10)
        assert "completed" in row.status.value and "0 running" in mon.header.value
        assert row.stop.layout.display == "none" and row.watch.layout.display == "none"  # finished
        mon.clear_button.click()  # through the ticker
        assert mon.rows
        bridge.flush()
        assert mon.rows == {} and mon.body.children == ()
    finally:
        bridge.close()


def test_error_text_does_not_move_the_pill_or_the_bar(comms, make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(fail=ConnectionError("a long error " * 10)), ticker=False)
    mon = JobMonitor()
    bridge.add_listener(mon.update)
    try:
        run = bridge.launch("apiin", MusicRequest(lyrics="la"))
        assert bridge.wait_idle(10)
        row = mon.rows[run.id]
        # title, pill and bar never grow nor shrink; only the info cell (time and error) flexes
        assert [c.layout.flex for c in (row.title, row.status, row.bar)] == ["0 0 30%", "0 0 96px", "0 0 18%"]
        assert "a long error" in row.info.value
    finally:
        bridge.close()


# --------------------------------------------------------------------------------- table headings
def test_clicking_a_heading_sorts_and_the_play_list_follows(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from test_player_table_studio import _job

    from minimax_nb.widgets import ResultsTable

    t = ResultsTable(frame=jobs_frame)
    for name, lat in (("B", 30.0), ("A", 10.0), ("C", 20.0)):
        t.add(_job(tmp_path, name, latency=lat))
    heads = {b.description: b for b in t.header.children}
    heads["title"].click()
    assert list(t.sorted_frame()["title"]) == ["A", "B", "C"]
    assert [label.split(". ", 1)[1][0] for label, _ in t.select.options] == ["A", "B", "C"]
    [title] = [b for b in t.header.children if b.description.startswith("title")]
    assert title.description == "title ▲" and "mnb-th-sorted" in title._dom_classes
    title.click()  # again: reversed
    assert list(t.sorted_frame()["title"]) == ["C", "B", "A"] and title.description == "title ▼"
    assert [label.split(". ", 1)[1][0] for label, _ in t.select.options] == ["C", "B", "A"]
    rows = re.findall(r'<tr class="mnb-row[^"]*" data-row="\d+"><td title="(\w)"', t.table.value)
    assert rows == ["C", "B", "A"]


# ------------------------------------------------------------------------------ wording, theme
def test_widget_warnings_name_the_controls() -> None:
    field, msg = widget_wording(
        "lyrics",
        "no lyrics: set instrumental=True or extra={'lyrics_optimizer': True} to let the model write them")
    assert "instrumental=True" not in msg and "extra=" not in msg
    assert '"Instrumental (no vocals)"' in msg and field == "Lyrics"
    assert widget_wording("style_id", "style_id is required for v1 (see styles())") == (
        "Style id", 'pick a "Style id" for v1')


def test_instrumental_toggle_reaches_the_request(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    lw = Launcher(catalog=catalog, provider="local", env={})
    assert lw.settings().apply(MusicRequest(lyrics="")).instrumental is False
    lw.instrumental.value = True
    assert lw.settings().instrumental and lw.settings().apply(MusicRequest(lyrics="")).instrumental


WIDGETS = Path(__file__).resolve().parents[2] / "minimax_nb" / "widgets"


@pytest.mark.parametrize("module", sorted(p.name for p in WIDGETS.glob("*.py")))
def test_colours_come_from_the_theme(module: str) -> None:
    """Every colour is a ``--jp-*`` variable; a hex value only as its fallback (or white on a pill and the
    cover card's gradient, which stay the same in every theme)."""
    text = (WIDGETS / module).read_text()
    bare = re.sub(r"var\(--[\w-]+,\s*#[0-9a-fA-F]{3,8}\)", "", text)
    fixed = set(re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", bare))
    assert fixed <= {"#fff", "#6366f1", "#ec4899"}, fixed


def _held_elsewhere(lock: Any) -> bool:
    """True when another thread holds ``lock`` (tried from a fresh thread, without waiting)."""
    got: list[bool] = []

    def probe() -> None:
        ok = lock.acquire(blocking=False)
        got.append(ok)
        if ok:
            lock.release()

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return not got[0]


def test_the_ticker_and_the_event_handlers_never_write_at_once(comms, catalog, make_factory) -> None:  # type: ignore[no-untyped-def]
    s = Studio("local", catalog=catalog, bridge=Bridge(make_factory(), ticker=False), frame=jobs_frame,
               env={}, lyrics="[Verse]\nhello")
    try:
        lock = s.bridge.ui_lock
        assert s.launcher.ui_lock is lock and s.composer.ui_lock is lock and s.table.ui_lock is lock
        during_flush: list[bool] = []
        s.bridge.add_listener(lambda run: during_flush.append(_held_elsewhere(lock)))
        during_handler: list[bool] = []
        s.launcher.on_change(lambda: during_handler.append(_held_elsewhere(lock)))
        s.generate()
        assert s.bridge.wait_idle(10)
        assert during_flush and all(during_flush)  # the ticker holds it while it writes the panels
        s.launcher.bitrate.value = 128000  # a front-end change: the handler runs under the same lock
        assert during_handler and all(during_handler)
        assert not _held_elsewhere(lock)  # and lets it go
    finally:
        s.close()
