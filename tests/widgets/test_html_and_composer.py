"""Escaping helpers and the LyricsComposer (count, helpers, issues, styles)."""

from __future__ import annotations

import pytest

from minimax_nb.providers.base import Issue
from minimax_nb.widgets import LyricsComposer, _html
from minimax_nb.widgets.composer import count_level

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def test_esc_escapes_markup_and_quotes() -> None:
    out = _html.esc(XSS)
    assert "<" not in out and ">" not in out and '"' not in out
    assert "&lt;script&gt;" in out
    assert _html.esc(None) == ""


@pytest.mark.parametrize("builder", [
    lambda: _html.issues_list([("error", XSS, XSS)]),
    lambda: _html.table(["title", XSS], [[XSS, 1.5]]),
    lambda: _html.bars([(XSS, 2.0), ("b", None)], title=XSS),
    lambda: _html.error_box(ValueError(XSS), XSS),
    lambda: _html.status_badge(XSS),
    lambda: _html.count_badge(3, 10, XSS),
])
def test_every_builder_escapes_user_text(builder) -> None:  # type: ignore[no-untyped-def]
    out = builder()
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;" in out or "&lt;img" in out or "&lt;" in out


def test_bars_scale_and_missing_values() -> None:
    out = _html.bars([("a", 10.0), ("b", 5.0), ("c", None)], unit=" s")
    assert "width:100.0%" in out and "width:50.0%" in out and "n/a" in out


@pytest.mark.parametrize(("count", "limit", "level"), [
    (0, 100, "ok"), (89, 100, "ok"), (90, 100, "near"), (100, 100, "near"), (101, 100, "over"),
    (5000, None, "none")])
def test_count_level(count: int, limit: int | None, level: str) -> None:
    assert count_level(count, limit) == level


def test_count_follows_lyrics_and_model_limit(comms, catalog, front_end) -> None:  # type: ignore[no-untyped-def]
    c = LyricsComposer(catalog=catalog, provider="local", lyrics="x" * 50)
    assert "50 / 100 characters" in c.count.value and "mnb-count-ok" in c.count.value
    front_end(c.lyrics, value="y" * 95)  # as typed in the browser
    assert "95 / 100" in c.count.value and "mnb-count-near" in c.count.value
    c.lyrics.value = "z" * 150
    assert "mnb-count-over" in c.count.value
    c.set_target("useapi", None)  # 600-character model
    assert "150 / 600" in c.count.value and "mnb-count-ok" in c.count.value
    # the count went to the front end as a widget update
    assert any("95 / 100" in d["state"]["value"] for d in comms.updates(c.count, "value"))


def test_helpers_edit_the_lyrics(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    c = LyricsComposer(catalog=catalog, provider="local", lyrics="line one")
    c.pause_button.click()
    assert c.lyrics.value == "line one\n\n"
    c.tag.value = "Chorus"
    c.tag_button.click()
    assert c.lyrics.value.endswith("[Chorus]\n")
    assert c.lyrics.value.startswith("line one\n")
    c.set_target("apiin", None)  # minimax-music: ## accompaniment, no structure tags
    assert c._tag_box.layout.display == "none" and c.accompaniment_button.layout.display == ""
    c.lyrics.value = "la la"
    c.accompaniment_button.click()
    assert c.lyrics.value == "##la la##"
    c.accompaniment_button.click()  # idempotent
    assert c.lyrics.value == "##la la##"


def test_issues_are_escaped_and_change_listeners_fire(comms, catalog, front_end) -> None:  # type: ignore[no-untyped-def]
    c = LyricsComposer(catalog=catalog, provider="local")
    seen = []
    c.on_change(lambda: seen.append(c.lyrics.value))
    front_end(c.lyrics, value=XSS)
    assert seen == [XSS]
    c.show_issues([Issue("warning", "lyrics", f"text on a tag line: {XSS}")])
    assert "<script" not in c.issues.value and "&lt;script&gt;" in c.issues.value
    assert "mnb-issue-warning" in c.issues.value


def test_request_reflects_fields_and_style_id_only_where_needed(comms, catalog) -> None:  # type: ignore[no-untyped-def]
    c = LyricsComposer(catalog=catalog, provider="local", lyrics="hi", title=" T ", style="")
    r = c.request()
    assert (r.lyrics, r.title, r.style, r.style_id) == ("hi", "T", None, None)
    c.set_target("useapi", None)
    assert c.style_id.layout.display == ""
    c.set_styles([{"name": "Pop", "styles": [{"styleId": "s1", "name": "Bright"}, {"styleId": "s2"}]}])
    assert c.styles_loaded and [v for _, v in c.style_id.options] == ["s1", "s2"]
    c.style_id.value = "s2"
    assert c.request().style_id == "s2"
    c.set_styles([{"styleId": "f1", "name": "flat"}])  # flat lists work too
    assert c.request().style_id == "f1"


def test_a_failing_helper_shows_in_the_panel(comms, catalog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from minimax_nb.widgets import composer as mod

    def boom(text: str, pos: int | None = None) -> str:
        raise RuntimeError("pause <broke>")

    monkeypatch.setattr(mod._lyrics, "insert_pause", boom)
    c = LyricsComposer(catalog=catalog, provider="local", lyrics="a")
    c.pause_button.click()  # must not raise out of the callback
    assert "RuntimeError" in c.errors.value and "pause &lt;broke&gt;" in c.errors.value
