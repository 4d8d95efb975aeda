"""The plain API's rich output in JupyterLab, in a real browser (issue 10: "a rich Job output", "the
listening view with its players inside the viewport").

One notebook (written by the test next to the studio's) makes one ``local`` song and displays ``job``,
then three more and shows ``listen(results([...]))``; it runs once, in a 1400 px window with the file
browser open (JupyterLab's default layout: an output about 850 px wide), and two tests read the page:

- the job card (``Job._repr_html_``): its title (escaped: a title with markup shows as text), the status
  pill, the facts, an ``<audio>`` whose file the server really serves (a HEAD request, then the element
  loads its metadata: a duration that matches the card's), and the lyrics folded in a ``<details>``;
- ``listen()``: one waveform and one ``<audio>`` per song, every player inside the viewport and inside
  the output area horizontally (visible without scrolling sideways), each title on one line, and every
  player's file loads.

Screenshots: ``rich_job_card.png``, ``rich_listen_view.png``, ``rich_lab_page.png`` under ``artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import KERNEL_IDLE_JS, T_UI, artifact

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: This module's page outlives one test: ``conftest._free_kernels`` leaves its kernel to ``rich_lab``.
SHARED_PAGE = True

TITLE = "Card <b>Title</b> & Co"
LYRICS = "[Verse]\nA card in a real browser\nPlays what the kernel made\n\n[Chorus]\nListen, listen\n"
STYLES = ["dream pop, airy synths", "punk rock, fast drums", "bossa nova, soft guitar"]

CARD_CELL = f'''
from minimax_nb import MusicClient, MusicRequest
from minimax_nb.results import listen, results

client = MusicClient(provider="local")
LYRICS = {LYRICS!r}
job = client.generate(MusicRequest(lyrics=LYRICS, style="bright synth-pop", title={TITLE!r}))
job
'''

LISTEN_CELL = f'''
more = client.generate_many([
    MusicRequest(lyrics=LYRICS, style=style, title=f"Side by side {{i}}: a title long enough to be cut")
    for i, style in enumerate({STYLES!r}, start=1)
])
listen(results([job, *more]))
'''

#: Make every <audio> under ``root`` load its metadata; resolves to [readyState, duration, src] each.
LOAD_AUDIO_JS = """async (root) => {
  const els = [...document.querySelectorAll(root + ' audio')];
  return await Promise.all(els.map(a => new Promise(done => {
    const report = () => done([a.readyState, a.duration, a.currentSrc || a.src]);
    if (a.readyState >= 1 && a.duration > 0) return report();
    a.addEventListener('loadedmetadata', report, {once: true});
    a.addEventListener('error', report, {once: true});
    a.preload = 'metadata';
    a.load();
    setTimeout(report, 20000);
  })));
}"""

#: A HEAD request for a URL in the page: [status, content-type, content-length].
HEAD_JS = """async (url) => { const r = await fetch(url, {method: 'HEAD'});
  return [r.status, r.headers.get('content-type'), Number(r.headers.get('content-length'))]; }"""

#: Each player's box against the viewport and the output area that holds it.
BOXES_JS = """() => [...document.querySelectorAll('.mnb-listen audio')].map(a => {
  const r = a.getBoundingClientRect();
  const out = a.closest('.jp-OutputArea-output').getBoundingClientRect();
  return {left: r.left, right: r.right, width: r.width, viewport: window.innerWidth,
          out_left: out.left, out_right: out.right};
})"""


@pytest.fixture(scope="module")
def rich_lab(lab_server: str, nb_dir: Path, browser: Any, pw: Any) -> Iterator[Any]:
    """The rich-output notebook, run once in a 1400 px JupyterLab with the file browser open."""
    from browser_support import shutdown_kernels

    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(CARD_CELL.strip()), nbformat.v4.new_code_cell(LISTEN_CELL.strip())],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(nb_dir / "rich_output.ipynb"))
    ctx = browser.new_context(viewport={"width": 1400, "height": 1600})
    ctx.set_default_timeout(T_UI)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    try:
        page.goto(f"{lab_server}/lab/tree/rich_output.ipynb?reset", wait_until="domcontentloaded")
        page.wait_for_function(KERNEL_IDLE_JS)
        page.evaluate("window.jupyterapp.commands.execute('filebrowser:activate')")
        pw.expect(page.locator(".jp-FileBrowser")).to_be_visible()
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        pw.expect(page.locator(".mnb-listen audio")).to_have_count(1 + len(STYLES))
        page.wait_for_function(KERNEL_IDLE_JS)
        page.wait_for_timeout(500)  # layout settles
        page.screenshot(path=str(artifact("rich_lab_page.png")))
        yield page
    finally:
        ctx.close()
        shutdown_kernels(lab_server)


def test_lab_job_card(rich_lab: Any, pw: Any) -> None:
    expect = pw.expect
    page = rich_lab
    card = page.locator(".jp-OutputArea-output .mnb-job")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-status", "completed")
    title = card.locator(".mnb-title")
    expect(title).to_have_text(TITLE)  # markup in a title is text
    assert card.locator(".mnb-title b").count() == 0
    pill = card.locator(".mnb-pill")
    expect(pill).to_have_text("completed")
    expect(pill).to_have_class("mnb-pill mnb-completed")
    facts = card.locator(".mnb-facts").first
    expect(facts).to_contain_text("provider local")
    expect(facts).to_contain_text("style bright synth-pop")
    # the player: its file is served by Jupyter (relative URL resolved under /files/) and loads
    audio = card.locator("audio")
    expect(audio).to_have_count(1)
    assert audio.get_attribute("autoplay") is None and audio.get_attribute("controls") is not None
    [(state, duration, src)] = page.evaluate(LOAD_AUDIO_JS, ".jp-OutputArea-output .mnb-job")
    print("card audio:", state, duration, src)
    assert src.startswith("http://127.0.0.1:") and "/files/" in src, src
    status, ctype, length = page.evaluate(HEAD_JS, src)
    assert status == 200 and length > 10_000, (status, ctype, length)
    assert state >= 1 and duration > 1.0, (state, duration)
    shown = float(facts.inner_text().split("duration ", 1)[1].split(" s", 1)[0])
    assert abs(duration - shown) < 0.6, (duration, shown)
    # the lyrics, folded
    details = card.locator("details")
    expect(details).to_have_count(1)
    assert details.get_attribute("open") is None
    lyrics = details.locator("pre")
    expect(lyrics).to_be_hidden()
    expect(details.locator("summary")).to_have_text("lyrics (5 lines)")
    details.locator("summary").click()
    expect(lyrics).to_be_visible()
    expect(lyrics).to_contain_text("A card in a real browser")
    width = card.evaluate("e => e.getBoundingClientRect().width")
    print("card width:", width)
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(artifact("rich_job_card.png")))
    assert not page.errors, page.errors


def test_lab_listen_players_inside_the_viewport(rich_lab: Any, pw: Any) -> None:
    expect = pw.expect
    page = rich_lab
    view = page.locator(".jp-OutputArea-output .mnb-listen")
    expect(view).to_have_count(1)
    n = 1 + len(STYLES)
    expect(view.locator("audio")).to_have_count(n)
    expect(view.locator(".mnb-wave")).to_have_count(n)
    expect(view.locator(".mnb-pill.mnb-completed")).to_have_count(n)
    boxes = page.evaluate(BOXES_JS)
    print("output area:", boxes[0]["out_left"], "→", boxes[0]["out_right"],
          f"({boxes[0]['out_right'] - boxes[0]['out_left']:.0f} px);",
          "players:", [(round(b["left"]), round(b["right"])) for b in boxes])
    assert 700 <= boxes[0]["out_right"] - boxes[0]["out_left"] <= 1000  # JupyterLab's usual output width
    for b in boxes:
        assert b["width"] > 100, b
        assert b["left"] >= 0 and b["right"] <= b["viewport"], b  # inside the viewport...
        assert b["out_left"] <= b["left"] and b["right"] <= b["out_right"] + 1, b  # ...and its output
    # text reads from the left, numbers line up on the right (JupyterLab right-aligns output cells)
    aligns = view.evaluate("t => [...t.querySelectorAll('tbody tr:first-child td')]"
                           ".map(td => getComputedStyle(td).textAlign)")
    assert aligns[:3] == ["left", "left", "left"] and aligns[3] == "right", aligns
    # titles stay on one line (cut with "…", the whole in the tooltip)
    heights = view.locator(".ttl").evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    line = view.locator(".ttl").first.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 16")
    assert all(h <= line * 1.5 for h in heights), (heights, line)
    cut_title = view.locator(".ttl").nth(1).get_attribute("title")
    assert cut_title == "Side by side 1: a title long enough to be cut"
    expect(view.locator(".ttl").first).to_have_text(TITLE)
    loaded = page.evaluate(LOAD_AUDIO_JS, ".jp-OutputArea-output .mnb-listen")
    print("listen audio:", loaded)
    assert len(loaded) == n and all(s >= 1 and d > 1.0 for s, d, _ in loaded), loaded
    view.scroll_into_view_if_needed()
    output = page.locator(".jp-OutputArea-output", has=page.locator(".mnb-listen"))
    output.screenshot(path=str(artifact("rich_listen_view.png")))
    assert not page.errors, page.errors
