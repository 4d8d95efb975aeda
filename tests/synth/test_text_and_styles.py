"""Lyrics parsing, the syllable splitter and style resolution."""

from __future__ import annotations

import pytest

from minimax_nb.synth import PRESETS, STYLE_NAMES, resolve_style, split_syllables
from minimax_nb.synth.text import Line, Rest, line_syllables, parse_lyrics


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("melody", ["me", "lo", "dy"]),
        ("hello", ["hel", "lo"]),
        ("walking", ["wal", "king"]),
        ("love", ["love"]),
        ("little", ["lit", "tle"]),
        ("played", ["played"]),
        ("window", ["win", "dow"]),
        ("the", ["the"]),
        ("I", ["i"]),
        ("sky", ["sky"]),
    ],
)
def test_syllable_splitter(word: str, parts: list[str]) -> None:
    assert [s.text for s in split_syllables(word)] == parts


def test_syllables_carry_vowels_and_consonants() -> None:
    syl = line_syllables("Sing it loud")
    assert [s.text for s in syl] == ["sing", "it", "loud"]
    assert syl[0].onset == "sibilant" and syl[0].vowel == "I" and syl[0].coda == "nasal"
    assert syl[2].onset == "liquid" and (syl[2].vowel, syl[2].offglide) == ("a", "u")
    assert syl[2].coda == "plosive"
    assert all(s.word_end for s in syl)


@pytest.mark.parametrize(
    ("word", "sung"),
    [
        ("night", "a>i"),
        ("time", "a>i"),
        ("my", "a>i"),
        ("I", "a>i"),
        ("make", "e>i"),
        ("rain", "e>i"),
        ("home", "o>u"),
        ("know", "o>u"),
        ("down", "a>u"),
        ("boy", "o>i"),
        ("street", "i"),
        ("you", "u"),
        ("love", "y"),
        ("sing", "I"),
    ],
)
def test_vowels_and_diphthongs(word: str, sung: str) -> None:
    (syl,) = split_syllables(word)
    assert syl.vowel + (">" + syl.offglide if syl.offglide else "") == sung


def test_other_scripts_sing_one_syllable_per_character() -> None:
    syl = line_syllables("你好世界")
    assert len(syl) == 4
    assert all(s.vowel in "aeiou" for s in syl)
    assert [s.text for s in line_syllables("café")] == ["ca", "fe"]


def test_parse_tags_rests_and_hashes() -> None:
    sections, tagged = parse_lyrics("[Verse]\nOne line\n\n\nTwo line\n\n[Chorus]\nHook here\n[Outro]")
    assert tagged
    assert [s.tag for s in sections] == ["verse", "chorus", "outro"]
    verse = sections[0].items
    assert [type(i) for i in verse] == [Line, Rest, Rest, Line]
    assert sections[2].items == ()
    assert all(s.accompanied for s in sections)

    plain, tagged = parse_lyrics("one line\ntwo line")
    assert not tagged and [s.tag for s in plain] == ["song"] and not plain[0].accompanied
    hashed, _ = parse_lyrics("##one line\ntwo line##")
    assert hashed[0].accompanied
    assert [i.text for i in hashed[0].items if isinstance(i, Line)] == ["one line", "two line"]


def test_words_after_a_tag_are_dropped_and_numbered_tags_work() -> None:
    sections, _ = parse_lyrics("[Verse 2] dropped words\nkept words\n[Pre Chorus]\nx y")
    assert [s.tag for s in sections] == ["verse", "pre-chorus"]
    assert [i.text for i in sections[0].items if isinstance(i, Line)] == ["kept words"]


def test_style_names_and_presets() -> None:
    assert STYLE_NAMES == ("pop", "rock", "electronic", "jazz", "lo-fi", "ballad", "folk", "hip-hop")
    for name in STYLE_NAMES:
        preset = PRESETS[name]
        assert resolve_style(name) is preset
        root, mode = preset.key.split()
        assert mode in ("major", "minor") and root
        assert len(preset.kick) == len(preset.snare) == len(preset.hat) == 16
        assert len(preset.bass_pattern) == 8
    assert len({p.tempo_bpm for p in PRESETS.values()}) == len(PRESETS)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("energetic electronic dance track", "electronic"),
        ("Lo-Fi", "lo-fi"),
        ("lofi", "lo-fi"),
        ("chill study beats", "lo-fi"),
        ("HIP HOP", "hip-hop"),
        ("boom bap rap with heavy 808", "hip-hop"),
        ("sad piano ballad", "ballad"),
        ("acoustic folk, campfire", "folk"),
        ("smooth jazz with saxophone", "jazz"),
        ("90s grunge rock, distorted guitar", "rock"),
        ("upbeat catchy pop", "pop"),
        ("", "pop"),
        (None, "pop"),
        ("something nobody has a word for", "pop"),
    ],
)
def test_resolve_style(text: str | None, name: str) -> None:
    assert resolve_style(text).name == name
