"""The studio in a real browser: JupyterLab and Voila on 127.0.0.1, driven by headless Chromium.

- Lab: run all cells (the plain cell's song shows as a completed job card), type lyrics, Generate on
  provider local, the monitor reaches "completed" while no cell runs (the kernel is free), the player's
  <audio> loads (duration read in the page), the results row appears; screenshots go to artifacts/; with
  MINIMAX_NB_UPDATE_SCREENSHOT=1 one is copied to docs/studio.png (the README shows it), so an ordinary
  run leaves the work tree clean.
- Voila (at 700 px): the page shows the studio alone (the tutorial cells tagged ``remove-cell`` are left
  out by ``voila.json``: no markdown, no job card, no ``<Job …>``, no ``SUMMARY``); it wraps into one
  column with no cut button; lyrics and title with <script> and <img onerror> are shown as text and
  nothing runs; the selected results row reads (contrast).
- nbclient: with a key in the environment typed into the launcher, the executed and saved notebook
  holds the key's bytes nowhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    CELL_CARD,
    CONTRAST_JS,
    CUT_BUTTONS_JS,
    KERNEL_IDLE_JS,
    REPO,
    SELECTED_TD,
    STUDIO_NB,
    artifact,
    isolated_env,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LYRICS = "[Verse]\nTyped in a headless browser\nThe kernel never waits\n\n[Chorus]\nSing it back to me\n"
XSS_LYRICS = '<script>window.__xss=1</script>\n<img src=x onerror="window.__xss=2">\nla la la'
XSS_TITLE = '<img src=x onerror="window.__xss=2"> title'
SECRET = "sk-TEST-apiin-0123456789-SECRET"

AUDIO_OK_JS = """() => {
  const a = document.querySelector('audio.mnb-player-audio');
  return !!a && a.readyState >= 1 && a.duration > 0 && !a.autoplay && !a.loop;
}"""


WATCH_MONITOR_JS = """() => {
  window.__statuses = []; window.__elapsed = [];
  const mon = document.querySelector('.mnb-monitor');
  const note = () => {
    const rows = mon.querySelectorAll('.mnb-monitor-row');
    if (!rows.length) return;
    const row = rows[rows.length - 1];
    const s = row.querySelector('.mnb-status'); const t = s ? s.textContent : '';
    if (t && window.__statuses[window.__statuses.length - 1] !== t) window.__statuses.push(t);
    const e = row.querySelector('.mnb-row-elapsed'); const et = e ? e.textContent : '';
    if (et && !window.__elapsed.includes(et)) window.__elapsed.push(et);
  };
  new MutationObserver(note).observe(mon, {subtree: true, childList: true, characterData: true});
}"""


def _generate(page: Any, pw: Any, lyrics: str, title: str | None = None) -> Any:
    """Type into the composer, click Generate, wait for a completed monitor row; returns the row."""
    expect = pw.expect
    studio = page.locator(".mnb-studio")
    expect(studio).to_be_visible()
    area = studio.locator(".mnb-lyrics textarea")
    area.fill(lyrics)
    if title is not None:
        studio.locator(".mnb-composer input[type=text]").first.fill(title)
    area.press("Tab")  # blur: the last value is synced
    expect(studio.locator(".mnb-count-box")).to_contain_text(f"{len(lyrics)} / ")
    button = studio.locator("button.mnb-generate")
    expect(button).to_be_enabled()
    page.evaluate(WATCH_MONITOR_JS)  # records every status and elapsed text the monitor shows
    button.click()
    row = studio.locator(".mnb-monitor-row").last
    expect(row).to_be_visible()
    expect(row.locator(".mnb-status-completed")).to_be_visible()
    return studio


def test_lab_generate_watch_play_and_results(lab_server: str, page: Any, pw: Any) -> None:
    expect = pw.expect
    page.goto(f"{lab_server}/lab/tree/02_studio.ipynb?reset", wait_until="domcontentloaded")
    page.wait_for_function(KERNEL_IDLE_JS)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # the last cell shows its song as a card: every cell ran, the plain client worked in a cell
    card = page.locator(CELL_CARD)
    expect(card).to_be_visible()
    expect(card.locator(".mnb-title")).to_have_text("From a cell")
    expect(card.locator(".mnb-facts")).to_contain_text("local")
    expect(page.locator(".mnb-studio .mnb-provider select")).to_have_value("local")
    page.wait_for_function(KERNEL_IDLE_JS)
    expect(page.locator(".jp-OutputArea-output", has_text="SUMMARY")).to_have_count(0)
    studio = _generate(page, pw, LYRICS)
    # while no cell ran, the background job moved the monitor through its states to completed
    assert page.evaluate(KERNEL_IDLE_JS)
    statuses = page.evaluate("window.__statuses")
    print("monitor statuses seen:", statuses, "elapsed:", page.evaluate("window.__elapsed"))
    assert statuses[-1] == "completed" and len(statuses) >= 2, statuses
    assert set(statuses[:-1]) <= {"submitting", "queued", "running"}, statuses
    assert len(page.evaluate("window.__elapsed")) >= 2  # the elapsed time ticked live
    page.wait_for_function(AUDIO_OK_JS)
    duration = page.evaluate("document.querySelector('audio.mnb-player-audio').duration")
    assert duration > 1.0
    table = studio.locator(".mnb-results-table")
    expect(table.locator("tr.mnb-row")).to_have_count(2)  # the cell's song and the studio's
    expect(table).to_contain_text("City Lights")
    expect(table).to_contain_text("From a cell")
    expect(studio.locator(".mnb-player-heading")).to_contain_text("City Lights")
    expect(studio.locator(".mnb-errors").filter(has_text="Traceback")).to_have_count(0)
    studio.scroll_into_view_if_needed()
    studio.screenshot(path=str(artifact("studio_lab.png")))
    page.screenshot(path=str(artifact("lab_page.png")), full_page=True)
    if os.environ.get("MINIMAX_NB_UPDATE_SCREENSHOT") == "1":  # refresh the README's picture on request
        shutil.copy(artifact("studio_lab.png"), REPO / "docs" / "studio.png")
    assert not page.errors, page.errors


def test_lab_typed_key_is_cleared_and_not_saved(lab_server: str, nb_dir: Path, page: Any, pw: Any) -> None:
    """A key typed into the launcher in a real browser: read by the kernel, cleared in the page, and not in
    the notebook JupyterLab saves with its widget state (saveState is on in this server's settings).
    It works on its own copy of the notebook: the shared one is never saved."""
    expect = pw.expect
    shutil.copy(nb_dir / "02_studio.ipynb", nb_dir / "02_studio_keysave.ipynb")
    page.goto(f"{lab_server}/lab/tree/02_studio_keysave.ipynb?reset", wait_until="domcontentloaded")
    page.wait_for_function(KERNEL_IDLE_JS)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    expect(page.locator(CELL_CARD)).to_be_visible()
    studio = page.locator(".mnb-studio")
    studio.locator(".mnb-provider select").select_option("apiin")
    status = studio.locator(".mnb-key-status")
    expect(status).to_contain_text("no key")
    expect(studio.locator("button.mnb-generate")).to_be_disabled()
    field = studio.locator(".mnb-key input[type=password]")
    field.fill(SECRET)
    field.press("Enter")  # the field syncs on Enter / blur only, never a half-typed key
    expect(status).to_contain_text("key entered")
    expect(field).to_have_value("")
    assert SECRET not in page.content()
    saved = nb_dir / "02_studio_keysave.ipynb"
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    nb = json.loads(saved.read_text())
    assert "application/vnd.jupyter.widget-state+json" in nb["metadata"].get("widgets", {})  # state saved
    assert SECRET.encode() not in saved.read_bytes()


def test_voila_shows_the_studio_alone_and_hostile_text_as_text(voila_server: str, browser: Any,
                                                                pw: Any) -> None:
    """One Voila page (each costs a kernel and a run of the notebook): the app at 700 px."""
    expect = pw.expect
    ctx = browser.new_context(viewport={"width": 700, "height": 2400})
    ctx.set_default_timeout(90_000)
    ctx.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:)"), lambda r: r.abort())
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(voila_server + "/", wait_until="domcontentloaded", timeout=180_000)
        studio = page.locator(".mnb-studio")
        expect(studio).to_be_visible()
        # the studio alone: no tutorial text, no job card, no repr, no test plumbing
        body = page.locator("body")
        for text in ("Traceback", "<Job", "SUMMARY", "The plain client", "From a cell"):
            expect(body).not_to_contain_text(text)
        expect(page.locator(".mnb-job")).to_have_count(0)
        expect(page.locator("h1")).to_have_count(0)  # the notebook's markdown title is left out
        expect(page.locator(".jp-Cell")).to_have_count(1)  # one cell: the studio's
        expect(studio.locator(".mnb-results-table tr.mnb-row")).to_have_count(0)
        page.screenshot(path=str(artifact("voila_app_page.png")), full_page=True)

        studio = _generate(page, pw, XSS_LYRICS, XSS_TITLE)
        expect(body).not_to_contain_text("Traceback")
        row = studio.locator(".mnb-monitor-row").last
        expect(row).to_contain_text(XSS_TITLE.strip())
        # the table ends long text in "…" (by CSS, in cells of fixed width), the whole in the tooltip
        table = studio.locator(".mnb-results-table")
        expect(table).to_contain_text("<img src=x onerror=")
        assert XSS_TITLE in [table.locator("[title]").nth(i).get_attribute("title")
                             for i in range(table.locator("[title]").count())]
        lyrics_text = studio.locator(".mnb-player-lyrics pre").text_content() or ""
        assert "<script>window.__xss=1</script>" in lyrics_text
        assert '<img src=x onerror="window.__xss=2">' in lyrics_text
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert page.evaluate("document.querySelectorAll('.mnb-studio script').length") == 0
        page.wait_for_function(AUDIO_OK_JS)
        # 700 px: everything wraps into one column, no cut button, no sideways scroll of the page
        expect(table.locator("tr.mnb-selected")).to_have_count(1)
        page.wait_for_timeout(500)
        assert page.evaluate(CUT_BUTTONS_JS) == []
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        contrast = page.evaluate(CONTRAST_JS, SELECTED_TD)
        assert contrast is not None and contrast["ratio"] >= 4.5, contrast
        studio.screenshot(path=str(artifact("studio_voila_700.png")))
        page.screenshot(path=str(artifact("voila_app_page_after.png")), full_page=True)
        assert not errors, errors
    finally:
        ctx.close()


KEY_CELL = """
import json
import os
studio.launcher.provider.value = "apiin"
studio.launcher.key.value = os.environ["APIIN_API_KEY"]   # as if typed into the field
print("KEYCHECK " + json.dumps({
    "field_empty": studio.launcher.key.value == "",
    "kept": studio.launcher.api_key == os.environ["APIIN_API_KEY"],
    "status": studio.launcher.key_source(),
}))
"""


def test_saved_notebook_never_contains_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for k, v in isolated_env(tmp_path / "home", APIIN_API_KEY=SECRET).items():
        monkeypatch.setenv(k, v)  # the kernel inherits this environment
    nb = nbformat.read(str(STUDIO_NB), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(KEY_CELL.strip()))
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # store_widget_state=True (the default): widget state is saved
    out = tmp_path / "executed.ipynb"
    nbformat.write(nb, str(out))
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    facts = json.loads(text.split("KEYCHECK ", 1)[1].splitlines()[0])
    assert facts == {"field_empty": True, "kept": True, "status": "entered"}
    assert "widgets" in nb.metadata  # the state was saved, and with it the Password widget
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    passwords = [m for m in state.values() if m["model_name"] == "PasswordModel"]
    assert passwords and all(m["state"].get("value", "") == "" for m in passwords)
    raw = out.read_bytes()
    assert SECRET.encode() not in raw
    assert SECRET[8:24].encode() not in raw  # not even a part of it
    assert os.environ["APIIN_API_KEY"] == SECRET  # the key really was in the kernel's environment
