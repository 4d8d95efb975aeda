"""Adversarial audit of HTML escaping: titles, lyrics, styles, errors, models and statuses carrying
``<script>``, ``"onerror=``, ``</td>`` and ``&`` go through every function and widget that produces HTML
(results ``listen``, the widgets' HTML values, the monitor's error text, the player's facts). The HTML
is parsed: no ``<script>``/``<img>`` element and no ``on*`` attribute may appear, and the payload must
come back as the same visible text (so ``&`` is escaped too, not dropped or doubled)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from minimax_nb.models import Job, JobStatus, MusicRequest

EVIL = "<script>alert(1)</script>\"onerror=alert(2) x='</td><img src=x onerror=alert(3)> &lt;b&gt; AT&T"
EVIL_SHORT = '"onerror=alert(4)</td><b>&'  # also for short cells that are not shortened


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "img", "iframe", "svg", "object"):
            self.bad.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.bad.append(f"{tag}[{name}]")
            if value is not None:
                self.texts.append(value)

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def scan(markup: str) -> _Scan:
    s = _Scan()
    s.feed(markup)
    s.close()
    return s


def assert_safe(markup: str, *payloads: str, where: str = "") -> None:
    """No active element or handler attribute; each payload visible verbatim (text or attribute)."""
    s = scan(markup)
    assert not s.bad, f"unescaped HTML in {where}: {s.bad}\n{markup[:2000]}"
    joined = "\n".join(s.texts)
    for p in payloads:
        assert p in joined, f"payload not shown verbatim in {where} (dropped or double-escaped)"


def test_positive_control_the_scanner_catches_raw_html() -> None:
    with pytest.raises(AssertionError):
        assert_safe(f"<td>{EVIL}</td>", where="raw")
    with pytest.raises(AssertionError):  # an attribute broken out of with a quote
        assert_safe(f'<span title="{EVIL_SHORT}">x</span>', where="raw attribute")
    with pytest.raises(AssertionError):  # double escaping is caught too
        import html

        assert_safe(html.escape(html.escape(EVIL)), EVIL, where="double")


def evil_job(tmp_path: Path | None = None, status: JobStatus = JobStatus.FAILED) -> Job:
    audio = None
    if tmp_path is not None:
        audio = tmp_path / "evil.wav"
        import wave

        with wave.open(str(audio), "wb") as wf:
            wf.setnchannels(1)
            wf.setsampwidth(2)
            wf.setframerate(8000)
            wf.writeframes(b"\x00\x00" * 8000)
    return Job(provider="local", request=MusicRequest(lyrics=EVIL, style=EVIL, title=EVIL, model=EVIL),
               status=status, model=EVIL, title=EVIL, lyrics=EVIL, style=EVIL, error=EVIL, audio_path=audio,
               duration_s=1.0)


def test_listen_html(tmp_path: Path) -> None:
    from minimax_nb.results import results
    from minimax_nb.results.html import listen_html

    df = results([evil_job(tmp_path, JobStatus.COMPLETED), evil_job()], measure=False)
    assert (df["title"] == EVIL).all() and (df["error"] == EVIL).all()
    for embed in (0, 10_000_000):
        assert_safe(listen_html(df, embed_max_bytes=embed), EVIL, where=f"listen_html embed={embed}")
    assert_safe(listen_html(df, columns=["title", "style", "lyrics", "error", "model"]), EVIL,
                where="listen_html all text columns")
    df = df.rename(columns={"title": EVIL_SHORT})  # a column name is text too
    assert_safe(listen_html(df, columns=[EVIL_SHORT]), EVIL_SHORT, where="listen_html heading")


def test_listen_html_path_with_quotes(tmp_path: Path) -> None:
    from minimax_nb.results import results
    from minimax_nb.results.html import listen_html

    folder = tmp_path / 'a"onerror=alert(5) <b>&'
    folder.mkdir()
    job = evil_job(folder, JobStatus.COMPLETED)
    df = results([job], measure=False)
    assert_safe(listen_html(df, embed_max_bytes=0, relative_to=tmp_path), where="linked path")


def test_small_html_builders() -> None:
    from minimax_nb.widgets import _html

    assert_safe(_html.table([EVIL_SHORT, "t"], [[EVIL, EVIL_SHORT], [1.5, None]], sort_by=EVIL_SHORT),
                EVIL, EVIL_SHORT, where="table")
    assert_safe(_html.table(["t"], [[EVIL]], labels={"t": EVIL}), EVIL, where="table labels")
    assert_safe(_html.bars([(EVIL, 1.0), (EVIL_SHORT, None)], unit=EVIL_SHORT, title=EVIL), EVIL,
                EVIL_SHORT, where="bars")
    assert_safe(_html.issues_list([(EVIL_SHORT, EVIL, EVIL)]), EVIL, where="issues_list")
    assert_safe(_html.status_badge(EVIL), EVIL, where="status_badge")
    assert_safe(_html.count_badge(3, 10, EVIL_SHORT), where="count_badge")
    try:
        raise ValueError(EVIL)
    except ValueError as e:
        assert_safe(_html.error_box(e, EVIL_SHORT), EVIL, where="error_box")


def _html_values(widget: Any) -> list[str]:
    seen: set[int] = set()
    todo, out = [widget], []
    while todo:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        state = x.get_state()
        is_html = type(x).__name__ in ("HTML", "HTMLMath")
        if is_html and isinstance(state.get("value"), str):
            out.append(state["value"])
        if state.get("description_allow_html") and isinstance(state.get("description"), str):
            out.append(state["description"])
        todo += list(getattr(x, "children", ()))
    return out


def assert_widget_safe(widget: Any, *payloads: str, where: str) -> None:
    values = _html_values(widget)
    assert values, f"no HTML widget found in {where}"
    for v in values:
        assert_safe(v, where=where)
    joined = "\n".join("\n".join(scan(v).texts) for v in values)
    for p in payloads:
        assert p in joined, f"payload not shown verbatim in {where}"
    assert "<script>" not in json.dumps([v for v in values])  # raw text never reaches a value


def test_positive_control_a_raw_html_widget_is_caught() -> None:
    import ipywidgets as w

    with pytest.raises(AssertionError):
        assert_widget_safe(w.VBox([w.HTML("ok"), w.HBox([w.HTML(f"<b>{EVIL}</b>")])]), where="raw widget")


def test_player_facts(tmp_path: Path) -> None:
    from minimax_nb.widgets.player import Player

    p = Player()
    for job in (evil_job(tmp_path, JobStatus.COMPLETED), evil_job()):
        p.show(job)
        assert_widget_safe(p, EVIL, where="player")
    folder = tmp_path / 'x"onerror=alert(6) <b>&'
    folder.mkdir()
    p.show(evil_job(folder, JobStatus.COMPLETED))
    assert_widget_safe(p, EVIL, where="player with a quoted path")


def test_monitor_rows_and_errors() -> None:
    from minimax_nb.widgets.bridge import Run
    from minimax_nb.widgets.monitor import JobMonitor

    m = JobMonitor()
    run = Run(id="r1", provider=EVIL_SHORT, request=MusicRequest(title=EVIL, lyrics=EVIL), model=EVIL,
              expected_s=10, started=0.0, state=JobStatus.FAILED, refused=True, error=EVIL, finished=1.0)
    m.update(run)
    assert_widget_safe(m, EVIL, where="monitor row")
    run2 = Run(id="r2", provider="local", request=MusicRequest(title="t"), model=None, expected_s=10,
               started=0.0, job=evil_job(), state=JobStatus.RUNNING, variant=2)
    m.update(run2)
    assert_widget_safe(m, EVIL, where="monitor row with a job")
    try:
        raise RuntimeError(EVIL)
    except RuntimeError as e:
        m.show_error(e, EVIL_SHORT)
    assert_widget_safe(m, EVIL, where="monitor error")


def test_results_table_widget(tmp_path: Path) -> None:
    from minimax_nb.widgets.table import ResultsTable, jobs_frame

    t = ResultsTable(frame=jobs_frame)
    t.add_many([evil_job(tmp_path, JobStatus.COMPLETED), evil_job()])
    t.refresh()
    assert_widget_safe(t, where="results table")
    assert any("&lt;script&gt;" in v for v in _html_values(t))  # the titles are really in it


def test_composer_and_launcher_messages() -> None:
    from minimax_nb.widgets.composer import LyricsComposer
    from minimax_nb.widgets.launcher import Launcher

    c = LyricsComposer(provider="aimlapi", lyrics=EVIL * 40, title=EVIL, style=EVIL)
    assert_widget_safe(c, where="composer")
    try:
        raise ValueError(EVIL)
    except ValueError as e:
        c.show_error(e, EVIL_SHORT)
    assert_widget_safe(c, where="composer error")
    lw = Launcher(provider="aimlapi", env={}, account=EVIL)
    assert_widget_safe(lw, where="launcher")
