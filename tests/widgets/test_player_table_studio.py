"""Player, ResultsTable and the composed Studio (with a fake catalog and a fake client)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest
from widget_fakes import FakeCatalog, wav_bytes

from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.widgets import Bridge, Player, ResultsTable, Studio
from minimax_nb.widgets.studio import default_provider
from minimax_nb.widgets.table import jobs_frame

XSS = '<img src=x onerror="window.__xss=2">'


def _job(tmp_path: Path, title: str, *, latency: float = 10.0, status=JobStatus.COMPLETED,  # type: ignore[no-untyped-def]
         audio: bool = True, provider: str = "local") -> Job:
    j = Job(provider=provider, request=MusicRequest(lyrics=f"lyrics of {title}", title=title, style="pop"),
            status=JobStatus.RUNNING)
    path = None
    if audio:
        path = tmp_path / f"{j.local_id}.wav"
        path.write_bytes(wav_bytes())
    return j.evolve(status=status, title=title, audio_path=path, duration_s=0.5,
                    submitted_at=j.created_at, finished_at=j.created_at + timedelta(seconds=latency))


# ------------------------------------------------------------------------------------------- player
def test_player_plays_the_file_without_autoplay_or_loop(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = Player()
    job = _job(tmp_path, "Song")
    p.show(job)
    assert p.audio.value == job.audio_path.read_bytes()
    assert p.audio.format == "wav" and p.audio.autoplay is False and p.audio.loop is False
    assert p.audio.layout.display == ""
    href = p.link.value.split('href="', 1)[1].split('"', 1)[0]
    assert href.startswith("data:audio/wav;base64,")
    assert base64.b64decode(href.split(",", 1)[1]) == job.audio_path.read_bytes()
    assert "lyrics of Song" in p.lyrics.value and "0.5 s" in p.facts.value
    # the audio went to the front end as a binary buffer, not as text
    assert any(["value"] in d.get("buffer_paths", []) for d in comms.for_widget(p.audio))
    p.show(None)
    assert p.audio.value == b"" and p.audio.layout.display == "none"


def test_player_escapes_and_uses_a_saved_cover(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = Player()
    job = _job(tmp_path, XSS)
    job = job.evolve(request=job.request.replace(lyrics=XSS))
    png = Path(job.audio_path).with_suffix(".png")
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    p.show(job)
    for html in (p.heading.value, p.lyrics.value, p.cover_card.value, p.facts.value):
        assert "<img" not in html
    assert "&lt;img" in p.heading.value and "&lt;img" in p.lyrics.value
    assert p.cover.value == png.read_bytes() and p.cover.layout.display == ""


def test_player_without_audio_says_why(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = Player()
    p.show(_job(tmp_path, "Gone", status=JobStatus.MODERATED, audio=False))
    assert p.audio.layout.display == "none" and "job moderated" in p.link.value


# -------------------------------------------------------------------------------------------- table
def test_table_sorts_selects_and_charts(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = ResultsTable(frame=jobs_frame)
    picked = []
    t.on_select(picked.append)
    jobs = [_job(tmp_path, name, latency=lat) for name, lat in (("B", 30.0), ("A", 10.0), ("C", 20.0))]
    for j in jobs:
        t.add(j)
    assert [r for r in t.sorted_frame()["title"]] == ["B", "A", "C"]  # as added
    t.sort_by.value = "latency_s"
    assert list(t.sorted_frame()["title"]) == ["A", "C", "B"]
    # issue 10: the headings are buttons above the table (a click sorts), the arrow is on them
    headings = [b.description for b in t.header.children]
    assert "latency s ▲" in headings
    t.ascending.value = False
    assert list(t.sorted_frame()["title"]) == ["B", "C", "A"]
    assert "latency s ▼" in [b.description for b in t.header.children]
    assert [label.split(". ", 1)[1].split(" — ")[0] for label, _ in t.select.options] == ["B", "C", "A"]
    t.select.value = jobs[1].local_id  # the user picks "A"
    assert picked == [jobs[1]]
    # issue 10: the selected row is styled by the theme-aware stylesheet, through its class
    assert 'class="mnb-row mnb-selected"' in t.table.value and t.table.value.count("mnb-selected") == 1
    assert "<td title=\"A\">A</td>" in t.table.value.split("mnb-selected", 1)[1].split("</tr>", 1)[0]
    assert t.metric.value == "latency_s" and "30.0 s" in t.chart.value and "10.0 s" in t.chart.value


def test_table_escapes_titles_everywhere(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = ResultsTable(frame=jobs_frame)
    t.add(_job(tmp_path, XSS))
    assert "<img" not in t.table.value and "<img" not in t.chart.value
    assert "&lt;img" in t.table.value


def test_table_shows_frame_errors_in_the_panel(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def broken(jobs):  # type: ignore[no-untyped-def]
        raise KeyError("no <such> column")

    t = ResultsTable(frame=broken)
    t.add(_job(tmp_path, "x"))
    assert "KeyError" in t.errors.value and "&lt;such&gt;" in t.errors.value


def test_table_from_the_real_ledger_frame(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ledger_frame: the rows of these jobs from minimax_nb.results, the others from the jobs."""
    from minimax_nb.ledger import Ledger
    from minimax_nb.widgets.table import ledger_frame

    led = Ledger(tmp_path / "l.sqlite")
    a, b = _job(tmp_path, "in ledger"), _job(tmp_path, "not in ledger")
    led.record(a)
    t = ResultsTable(frame=ledger_frame(led, measure=False))
    t.set_jobs([a, b])
    assert list(t.df["title"]) == ["in ledger", "not in ledger"]
    assert "status" in t.df.columns and "local_id" in t.df.columns
    led.close()


# ------------------------------------------------------------------------------------------- studio
@pytest.fixture
def studio(comms, catalog, make_factory):  # type: ignore[no-untyped-def]
    factory = make_factory()
    s = Studio("local", catalog=catalog, bridge=Bridge(factory, ticker=False), frame=jobs_frame, env={},
               lyrics="[Verse]\nhello")
    s.factory = factory
    yield s
    s.close()


def test_studio_validates_on_every_change(studio, front_end) -> None:  # type: ignore[no-untyped-def]
    assert not studio.launcher.generate.disabled
    front_end(studio.composer.lyrics, value="x" * 150)  # over the fake model's 100
    assert studio.launcher.generate.disabled
    assert "at most 100" in studio.composer.issues.value and "mnb-count-over" in studio.composer.count.value
    front_end(studio.composer.lyrics, value="[Verse] words on the tag line")
    assert not studio.launcher.generate.disabled  # a warning does not block
    assert "mnb-issue-warning" in studio.composer.issues.value
    front_end(studio.launcher.bitrate, index=2)  # 128000, allowed
    assert studio.catalog.validated[-1][1].bitrate == 128000


def test_studio_generate_click_runs_in_background_and_fills_every_panel(studio) -> None:  # type: ignore[no-untyped-def]
    studio.launcher.generate.click()
    runs = studio.runs
    assert len(runs) == 1
    assert studio.bridge.wait_idle(10)
    run = runs[0]
    row = studio.monitor.rows[run.id]
    assert "completed" in row.status.value
    assert [j.local_id for j in studio.jobs] == [run.job.local_id]
    assert studio.player.job == run.job and studio.player.audio.value  # the player got the song
    assert studio.table.select.value == run.job.local_id
    assert "started 1 generation on local" in studio.launcher.message.value
    kwargs = studio.factory.made[0].kwargs
    assert "download_dir" in kwargs and kwargs["model"] == "minimax/music-2.6"


def test_studio_batch_needs_confirmation(studio) -> None:  # type: ignore[no-untyped-def]
    studio.launcher.variants.value = 5
    studio.launcher.generate.click()
    assert studio.runs == []
    studio.launcher.confirm.click()
    assert len(studio.runs) == 5
    assert studio.bridge.wait_idle(10)
    assert sorted(r.variant for r in studio.runs) == [1, 2, 3, 4, 5]
    assert len(studio.monitor.rows) == 5 and len(studio.jobs) == 5


def test_studio_shows_client_failures_in_the_monitor(comms, catalog, make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(fail=ConnectionError("refused <here>")), ticker=False)
    s = Studio("local", catalog=catalog, bridge=bridge, frame=jobs_frame, env={}, lyrics="la")
    try:
        s.generate()
        assert bridge.wait_idle(10)
        row = next(iter(s.monitor.rows.values()))
        assert "error" in row.status.value and "refused &lt;here&gt;" in row.info.value
        assert row.bar.bar_style == "danger"
    finally:
        s.close()


def test_studio_listener_errors_show_in_the_studio(studio, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(runs) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("monitor <exploded>")

    monkeypatch.setattr(studio.monitor, "update_many", broken)  # the studio updates a flush at once
    studio.generate()
    assert studio.bridge.wait_idle(10)
    assert "RuntimeError" in studio.errors.value and "monitor &lt;exploded&gt;" in studio.errors.value


def test_useapi_styles_load_in_background(comms, catalog, make_factory) -> None:  # type: ignore[no-untyped-def]
    bridge = Bridge(make_factory(), ticker=False)
    s = Studio("useapi", catalog=catalog, bridge=bridge, frame=jobs_frame,
               env={"USEAPI_API_TOKEN": "tok"}, lyrics="la")
    try:
        assert bridge.wait_idle(10)
        assert [v for _, v in s.composer.style_id.options] == ["s1", "s2"]
        assert "Pop / Bright <pop>" in [label for label, _ in s.composer.style_id.options]
        assert not s.launcher.generate.disabled  # a style id is chosen: the request became valid
        assert s.composer.request().style_id == "s1"
    finally:
        s.close()


def test_key_argument_stays_in_memory(comms, catalog, make_factory) -> None:  # type: ignore[no-untyped-def]
    secret = "sk-TEST-studio-arg-9876543210"
    s = Studio("apiin", catalog=catalog, bridge=Bridge(make_factory(), ticker=False), frame=jobs_frame,
               env={}, api_key=secret, lyrics="la")
    try:
        assert s.launcher.api_key == secret and "api_key" not in s.client_kwargs
        from ipywidgets.widgets.widget import _instances

        states = json.dumps([x.get_state() for x in list(_instances.values())], default=str)
        assert secret not in states and secret not in repr(s)
        s.generate()
        assert s.bridge.wait_idle(10)
        assert all(secret not in d.__repr__() for _, d in comms)
    finally:
        s.close()


def test_state_round_trip_of_the_panels(studio) -> None:  # type: ignore[no-untyped-def]
    """get_state() of the studio's inputs, set_state() into fresh widgets: same values, same view."""
    for widget in (studio.composer.lyrics, studio.composer.title, studio.launcher.provider,
                   studio.launcher.variants, studio.launcher.key, studio.monitor.header):
        twin = type(widget)(**({"options": widget.options} if hasattr(widget, "options") else {}))
        twin.set_state(widget.get_state())
        assert twin.get_state() == widget.get_state()


def test_default_provider_prefers_a_configured_key() -> None:
    cat = FakeCatalog()
    assert default_provider(cat, {}) == "local"
    assert default_provider(cat, {"USEAPI_API_TOKEN": "t"}) == "useapi"


def test_earlier_jobs_come_from_the_ledger(comms, catalog, make_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from minimax_nb.ledger import Ledger

    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as led:
        old = _job(tmp_path, "from yesterday")
        led.record(old)
        led.record(_job(tmp_path, "still running", status=JobStatus.RUNNING))
    s = Studio("local", catalog=catalog, bridge=Bridge(make_factory(), ticker=False), frame=jobs_frame,
               env={}, ledger=str(path), lyrics="la")
    try:
        assert s.history_button in s.table.tools.children
        s.history_button.click()
        assert s.bridge.wait_idle(10)
        assert [j.title for j in s.jobs] == ["from yesterday"]  # only finished jobs
        assert s.history_button.description == "earlier jobs (+1)"
        s.history_button.click()  # nothing new the second time
        assert s.bridge.wait_idle(10)
        assert len(s.jobs) == 1 and s.history_button.description == "earlier jobs (+0)"
    finally:
        s.close()
    off = Studio("local", catalog=catalog, bridge=Bridge(make_factory(), ticker=False), env={}, ledger=False,
                 lyrics="la")
    assert off.table.tools.children == ()
    off.close()


def test_useapi_styles_load_once_a_key_is_entered(comms, catalog, make_factory, front_end) -> None:  # type: ignore[no-untyped-def]
    s = Studio("useapi", catalog=catalog, bridge=Bridge(make_factory(), ticker=False), frame=jobs_frame,
               env={}, lyrics="la")
    try:
        assert s.composer.style_id.options[0][0] == "(needs a key to load styles)"
        assert s.launcher.generate.disabled
        front_end(s.launcher.key, value="typed-token")
        assert s.bridge.wait_idle(10)
        assert [v for _, v in s.composer.style_id.options] == ["s1", "s2"]
        assert not s.launcher.generate.disabled
        assert s.launcher.key.value == ""
    finally:
        s.close()


def test_resorting_does_not_reselect(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Sorting or adding rows keeps the selection and never replays it (the player would resend audio)."""
    t = ResultsTable(frame=jobs_frame)
    picked = []
    t.on_select(lambda j: picked.append(j.title))
    jobs = [_job(tmp_path, f"t{i}", latency=float(i)) for i in range(3)]
    t.add(jobs[0])
    t.select_job(jobs[0])
    t.add(jobs[1])
    t.add(jobs[2])
    t.sort_by.value = "title"
    t.ascending.value = False
    assert picked == ["t0"] and t.select.value == jobs[0].local_id


def test_deferred_drawing_draws_a_flush_of_merges_once(comms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 12: with ``defer`` (the studio's bridge.post) a table drawn a moment ago draws the next
    merges once, on a later deferred call; a row picked before it is drawn is picked when it is."""
    t = ResultsTable(frame=jobs_frame)
    queued: list = []  # type: ignore[type-arg]
    t.defer = queued.append
    picked: list[str] = []
    t.on_select(lambda job: picked.append(job.title or ""))
    draws: list[int] = []
    t.table.observe(lambda ch: draws.append(1), names="value")
    a, b, c = _job(tmp_path, "first"), _job(tmp_path, "second"), _job(tmp_path, "third")
    t.merge([a], jobs_frame([a]))
    assert len(draws) == 1 and queued == []  # not drawn lately: at once
    t._next_render_at = float("inf")  # as if drawing had just taken long: the next ones wait
    t.merge([b], jobs_frame([b]))
    t.merge([c], jobs_frame([c]))
    t.select_job(c)
    assert len(draws) == 1 and len(queued) == 1  # two merges, one deferred drawing
    assert [k for _, k in t.select.options] == [a.local_id]
    queued.pop()()
    assert len(draws) == 1 and len(queued) == 1  # still too soon: asks again at the next flush
    t._next_render_at = 0.0
    queued.pop()()
    assert len(draws) == 2 and queued == []
    assert [k for _, k in t.select.options] == [a.local_id, b.local_id, c.local_id]
    assert t.select.value == c.local_id and picked == ["third"]
    assert "second" in t.table.value and "third" in t.table.value
    t._next_render_at = 0.0
    t.update_rows(jobs_frame([a], measure=True))  # the measured columns of a drawn row
    assert len(draws) == 3 and "measured_duration_s" in t.df.columns
    assert float(t.df.loc[t.df["key"] == a.local_id, "measured_duration_s"].iloc[0]) > 0
