"""Lyrics rules: parsing, tags, pauses, accompaniment marks and the composer's editing helpers."""

from __future__ import annotations

import pytest

from minimax_nb import lyrics as L
from minimax_nb.errors import ValidationError

SEED_LEGACY = (
    "##Side by side, through thick and thin, \n\nWith a laugh, we always win. \n\n"
    " Storms may come, but we stay true, \n\nFriends forever—me and you!##"
)
SPEC_EXAMPLE = (
    "[Verse]\nStreetlights flicker, the night breeze sighs\nShadows stretch as I walk alone\n"
    "An old coat wraps my silent sorrow\nWandering, longing, where should I go\n[Chorus]\n"
    "Pushing the wooden door, the aroma spreads\nIn a familiar corner, a stranger gazes"
)


def test_structure_tags_are_the_documented_fourteen() -> None:
    assert L.STRUCTURE_TAGS == (
        "Intro",
        "Verse",
        "Pre Chorus",
        "Chorus",
        "Interlude",
        "Bridge",
        "Outro",
        "Post Chorus",
        "Transition",
        "Break",
        "Hook",
        "Build Up",
        "Inst",
        "Solo",
    )


def test_parse_spec_example_into_sections() -> None:
    p = L.parse_lyrics(SPEC_EXAMPLE)
    assert p.tags == ("Verse", "Chorus")
    assert [len(s.lyric_lines) for s in p.sections] == [4, 2]
    assert p.sections[1].lyric_lines[0].text.startswith("Pushing")
    assert not p.accompaniment and p.pauses == 0
    assert L.find_tag_line_text(SPEC_EXAMPLE) == []


def test_parse_legacy_seed_pauses_and_accompaniment() -> None:
    p = L.parse_lyrics(SEED_LEGACY)
    assert p.accompaniment
    assert p.pauses == 3
    assert [ln.kind for ln in p.lines] == ["lyric", "blank", "lyric", "blank", "lyric", "blank", "lyric"]
    assert p.lines[0].text.startswith("Side by side")  # the ## marks are not part of the line
    assert p.lines[-1].text.endswith("you!")
    assert len(p.sections) == 1 and p.sections[0].tag is None


@pytest.mark.parametrize(
    ("written", "name", "number"),
    [
        ("[Verse]", "Verse", None),
        ("[verse 2]", "Verse", 2),
        ("[PRE CHORUS]", "Pre Chorus", None),
        ("[Pre-Chorus]", "Pre Chorus", None),
        ("[post chorus 3]", "Post Chorus", 3),
        ("[Build Up]", "Build Up", None),
        ("[build-up]", "Build Up", None),
        ("[ Inst ]", "Inst", None),
        ("[Solo 12]", "Solo", 12),
        ("[hook]", "Hook", None),
        ("[Transition]", "Transition", None),
        ("[Break]", "Break", None),
    ],
)
def test_tags_any_case_with_optional_number(written: str, name: str, number: int | None) -> None:
    line = L.parse_lyrics(written + "\nla la").lines[0]
    assert (line.kind, line.tag, line.tag_number) == ("tag", name, number)
    assert L.normalize_tag(written) == (name, number)


def test_unknown_bracket_is_a_lyric_line_and_warned() -> None:
    text = "[Rap]\nyo"
    assert L.parse_lyrics(text).lines[0].kind == "lyric"
    assert L.find_unknown_tags(text) == [(1, "Rap")]
    assert any("[Rap]" in w for w in L.lyric_warnings(text, structure_tags=True))


def test_text_on_a_tag_line_is_found_with_its_line_number() -> None:
    text = "[Intro]\n[Verse] Hello there\nok\n[chorus 2]sing it\n"
    assert L.find_tag_line_text(text) == [(2, "Hello there"), (4, "sing it")]
    warnings = L.lyric_warnings(text, structure_tags=True)
    assert sum("dropped" in w for w in warnings) == 2
    assert "line 2" in warnings[0]


def test_tags_warned_on_a_model_without_tags() -> None:
    ws = L.lyric_warnings("[Verse]\nhello", structure_tags=False, accompaniment_marks=True)
    assert len(ws) == 1 and "not understood" in ws[0]
    assert L.lyric_warnings("plain\n\nlyrics", structure_tags=False, accompaniment_marks=True) == []


def test_accompaniment_marks_warned_on_a_model_without_them() -> None:
    ws = L.lyric_warnings(SEED_LEGACY, structure_tags=True, accompaniment_marks=False)
    assert len(ws) == 1 and "##" in ws[0]
    assert L.lyric_warnings(SEED_LEGACY, structure_tags=False, accompaniment_marks=True) == []


def test_misplaced_accompaniment_marks_are_warned() -> None:
    ws = L.lyric_warnings("##only at the start", structure_tags=False, accompaniment_marks=True)
    assert len(ws) == 1 and "beginning and end" in ws[0]


def test_has_and_strip_accompaniment() -> None:
    assert L.has_accompaniment_marks("  ##a##\n")
    assert not L.has_accompaniment_marks("##")
    assert not L.has_accompaniment_marks("##a")
    assert L.strip_accompaniment("##a b##") == "a b"
    assert L.strip_accompaniment("a b") == "a b"


def test_char_count_counts_newlines() -> None:
    assert L.char_count("ab\n\ncd") == 6
    assert L.char_count("") == 0
    assert L.parse_lyrics("ab\ncd").char_count == 5


@pytest.mark.parametrize(
    ("text", "pos", "expected"),
    [
        ("abc\ndef", 3, "abc\n\ndef"),
        ("abc def", 3, "abc\n\n def"),
        ("abc", None, "abc\n\n"),
        ("abc\n\ndef", 4, "abc\n\ndef"),  # idempotent at an existing pause
        ("", 0, "\n\n"),
        ("abc", -1, "abc\n\n"),
        ("abc", 99, "abc\n\n"),
    ],
)
def test_insert_pause(text: str, pos: int | None, expected: str) -> None:
    assert L.insert_pause(text, pos) == expected


def test_insert_pause_makes_one_more_pause() -> None:
    text = "one\ntwo\nthree"
    assert L.parse_lyrics(L.insert_pause(text, text.index("two"))).pauses == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("la la", "##la la##"),
        ("  la\nla \n", "##la\nla##"),
        ("##la##", "##la##"),
        ("##la", "##la##"),
        ("la##", "##la##"),
    ],
)
def test_wrap_accompaniment(text: str, expected: str) -> None:
    out = L.wrap_accompaniment(text)
    assert out == expected
    assert L.wrap_accompaniment(out) == out
    assert L.has_accompaniment_marks(out)


@pytest.mark.parametrize(
    ("text", "tag", "pos", "expected"),
    [
        ("", "verse", 0, "[Verse]"),
        ("hello", "Chorus", 0, "[Chorus]\nhello"),
        ("hello", "[pre-chorus]", None, "hello\n[Pre Chorus]"),
        ("hello world", "bridge 2", 5, "hello\n[Bridge 2]\nworld"),
        ("a\nb", "Outro", 2, "a\n[Outro]\nb"),
    ],
)
def test_insert_tag_puts_the_tag_on_its_own_line(text: str, tag: str, pos: int | None, expected: str) -> None:
    out = L.insert_tag(text, tag, pos)
    assert out == expected
    assert L.find_tag_line_text(out) == []


def test_insert_unknown_tag_raises() -> None:
    with pytest.raises(ValidationError, match="unknown structure tag"):
        L.insert_tag("x", "Rap")
    with pytest.raises(ValidationError):
        L.normalize_tag("[]")


def test_crlf_lyrics() -> None:
    p = L.parse_lyrics("[Verse]\r\nhello\r\n\r\nworld")
    assert p.tags == ("Verse",) and p.pauses == 1


def test_section_labels_and_leading_untagged_lines() -> None:
    p = L.parse_lyrics("intro words\n[Verse 2]\nx\n[Chorus]")
    assert [s.label for s in p.sections] == ["", "Verse 2", "Chorus"]
    assert p.sections[2].lines == ()


def test_uses_structure_tags() -> None:
    assert L.uses_structure_tags("a\n[Hook]\nb")
    assert not L.uses_structure_tags("a [b] c")
