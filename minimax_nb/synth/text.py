"""Lyrics → a plan the synthesizer can sing: sections, sung lines, rests, and syllables with vowels.

The conventions are the MiniMax ones: a newline separates lines, a blank line (two newlines) is a pause,
``##`` at the beginning and end of the lyrics asks for accompaniment, and structure tags such as
``[Verse]`` or ``[Chorus]`` on their own line start sections (words after a tag on the same line are
dropped, as the real model drops them).

The syllable splitter is a small heuristic for English (vowel groups, silent final *e*, consonant
clusters split between syllables); any other script is sung one character per syllable.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import unicodedata
from typing import Literal

__all__ = ["Line", "Rest", "Section", "Syllable", "parse_lyrics", "split_syllables"]

ConsonantKind = Literal["", "plosive", "fricative", "sibilant", "nasal", "liquid", "breath"]

KNOWN_TAGS: dict[str, str] = {
    "intro": "intro",
    "verse": "verse",
    "pre chorus": "pre-chorus",
    "prechorus": "pre-chorus",
    "pre-chorus": "pre-chorus",
    "chorus": "chorus",
    "post chorus": "post-chorus",
    "post-chorus": "post-chorus",
    "interlude": "interlude",
    "bridge": "bridge",
    "outro": "outro",
    "transition": "transition",
    "break": "break",
    "hook": "hook",
    "build up": "build-up",
    "build-up": "build-up",
    "buildup": "build-up",
    "inst": "inst",
    "instrumental": "inst",
    "solo": "solo",
    "refrain": "chorus",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Syllable:
    """One sung syllable: its letters, the vowel class it is sung on, and its consonants.

    ``vowel`` is one of ``a e i o u`` (ah, eh, ee, oh, oo), ``I`` (the short "ih" of *sing*) or ``y``
    (the neutral "uh"/"er"); ``offglide`` is where a diphthong ends (*night*: ``a`` then ``i``).
    """

    text: str
    vowel: str
    onset: ConsonantKind
    coda: ConsonantKind
    word_end: bool
    offglide: str = ""  # a diphthong's second vowel ("" for a pure vowel)


@dataclasses.dataclass(frozen=True, slots=True)
class Line:
    """A lyric line to be sung as one phrase."""

    text: str
    syllables: tuple[Syllable, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Rest:
    """A pause in the singing (a blank line); ``bars`` is how long it lasts."""

    bars: int = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Section:
    """A run of lines under one structure tag (``"song"`` when the lyrics have no tags)."""

    tag: str
    items: tuple[Line | Rest, ...]
    accompanied: bool


_VOWELS = "aeiouy"
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d", re.UNICODE)

_ONSET_KIND: dict[str, ConsonantKind] = {
    "p": "plosive",
    "b": "plosive",
    "t": "plosive",
    "d": "plosive",
    "k": "plosive",
    "g": "plosive",
    "c": "plosive",
    "q": "plosive",
    "x": "sibilant",
    "s": "sibilant",
    "z": "sibilant",
    "j": "sibilant",
    "f": "fricative",
    "v": "fricative",
    "h": "breath",
    "m": "nasal",
    "n": "nasal",
    "l": "liquid",
    "r": "liquid",
    "w": "liquid",
    "y": "liquid",
}


def _consonant_kind(cluster: str) -> ConsonantKind:
    if not cluster:
        return ""
    if cluster.startswith(("sh", "ch", "th")):
        return "sibilant" if cluster[:2] != "th" else "fricative"
    return _ONSET_KIND.get(cluster[0], "plosive")


_WORD_VOWELS: dict[str, tuple[str, str]] = {
    "i": ("a", "i"),
    "you": ("u", ""),
    "through": ("u", ""),
    "group": ("u", ""),
    "soup": ("u", ""),
    "youth": ("u", ""),
    "your": ("o", ""),
    "four": ("o", ""),
    "pour": ("o", ""),
    "soul": ("o", ""),
    "course": ("o", ""),
    "would": ("u", ""),
    "could": ("u", ""),
    "should": ("u", ""),
    "touch": ("y", ""),
    "young": ("y", ""),
    "enough": ("y", ""),
    "tough": ("y", ""),
    "rough": ("y", ""),
    "they": ("e", "i"),
    "hey": ("e", "i"),
    "grey": ("e", "i"),
    "obey": ("e", "i"),
    "heart": ("a", ""),
    "great": ("e", "i"),
    "break": ("e", "i"),
    "one": ("y", ""),
    "done": ("y", ""),
    "love": ("y", ""),
    "come": ("y", ""),
    "some": ("y", ""),
    "give": ("I", ""),
    "live": ("I", ""),
    "have": ("a", ""),
    "are": ("a", ""),
    "were": ("y", ""),
    "there": ("e", ""),
    "where": ("e", ""),
    "here": ("i", ""),
    "move": ("u", ""),
}
_OW_AS_OUT = frozenset(
    {
        "how",
        "now",
        "cow",
        "wow",
        "down",
        "town",
        "brown",
        "crown",
        "clown",
        "allow",
        "vow",
        "power",
        "flower",
        "tower",
        "shower",
        "crowd",
        "frown",
        "drown",
        "gown",
        "owl",
        "howl",
    }
)


def _vowel_class(group: str, after: str, *, long: bool, word: str, single: bool) -> tuple[str, str]:
    """The sung vowel of a vowel group and its off-glide (diphthongs: *night* = a→i, *go* = o→u).

    ``long``: the syllable ends in consonant + silent *e* (*time*, *make*); ``single``: the word has one
    syllable.
    """
    g = group.lower()
    if single and word in _WORD_VOWELS:
        return _WORD_VOWELS[word]
    if long and len(g) == 1:
        return {
            "a": ("e", "i"),
            "i": ("a", "i"),
            "y": ("a", "i"),
            "o": ("o", "u"),
            "u": ("u", ""),
            "e": ("i", ""),
        }.get(g, ("y", ""))
    if g == "i" and (after.startswith("gh") or after in ("nd", "ld")):
        return ("a", "i")  # night, find, wild
    if g == "y":
        return ("a", "i") if single else ("i", "")  # my, sky / happy
    if g == "ie":
        return ("a", "i") if single and not after else ("i", "")  # die, lie / field
    if g in ("ai", "ay", "ei"):
        return ("e", "i")
    if g == "ey":
        return ("i", "")
    if g in ("oy", "oi"):
        return ("o", "i")
    if g == "ow":
        return ("a", "u") if word in _OW_AS_OUT else ("o", "u")
    if g == "ou":
        return ("a", "u")
    if g in ("oa", "oe"):
        return ("o", "u")
    if g in ("ee", "ea"):
        return ("i", "")
    if g in ("oo", "ew", "ue", "ui"):
        return ("u", "")
    if g in ("au", "aw"):
        return ("o", "")
    if g == "u":
        return ("y", "") if after else ("u", "")
    if g == "i":
        return ("I", "") if after else ("i", "")
    if g == "o":
        return ("o", "u") if not after else ("o", "")
    return ({"a": "a", "e": "e", "i": "i", "o": "o", "u": "u"}.get(g[0], "y"), "")


def _is_vowel(word: str, i: int) -> bool:
    ch = word[i]
    if ch == "y":
        return i > 0 and word[i - 1] not in _VOWELS  # "y" after a consonant sings (my, happy)
    return ch in _VOWELS


def split_syllables(word: str) -> list[Syllable]:
    """Split one word into sung syllables (heuristic English rules; other scripts: one per letter).

    >>> [s.text for s in split_syllables("melody")]
    ['me', 'lo', 'dy']
    """
    raw = word.lower().replace("'", "")
    if not raw:
        return []
    if raw.isdigit():
        return [Syllable(raw, "i", "", "", True)]
    if not raw.isascii():
        # Non-Latin scripts (and accented words): one syllable per letter, vowel by code point.
        letters = [ch for ch in unicodedata.normalize("NFC", raw) if ch.isalpha()]
        if all(unicodedata.normalize("NFD", ch)[0].isascii() for ch in letters):
            # Accented Latin: sing the plain letters; a final accented vowel is never silent (café).
            plain = unicodedata.normalize("NFD", raw).encode("ascii", "ignore").decode()
            accented = split_syllables(plain)
            sounded = len(split_syllables(plain[:-1] + "a"))  # syllables if the final vowel sounds
            if raw[-1] in "éèêë" and len(plain) > 1 and len(accented) < sounded:
                head = split_syllables(plain[:-1])
                tail = ""
                if head:
                    text = head[-1].text
                    while text and text[-1] not in _VOWELS:
                        tail, text = text[-1] + tail, text[:-1]
                    head[-1] = dataclasses.replace(
                        head[-1], text=text or head[-1].text, coda="", word_end=False
                    )
                accented = [*head, Syllable(tail + "e", "e", _consonant_kind(tail), "", True)]
            return accented
        per_letter = [Syllable(ch, "aeiou"[ord(ch) % 5], "", "", False) for ch in letters]
        if per_letter:
            per_letter[-1] = dataclasses.replace(per_letter[-1], word_end=True)
        return per_letter
    # Vowel groups.
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(raw):
        if _is_vowel(raw, i):
            j = i + 1
            while j < len(raw) and raw[j] in _VOWELS and not (raw[j] == "y" and j + 1 < len(raw)):
                j += 1
            groups.append((i, j))
            i = j
        else:
            i += 1
    # Silent final "e" (but not "-le" as in "little", and not a lone "e" as in "the").
    silent_e = False
    if (
        len(groups) > 1
        and groups[-1] == (len(raw) - 1, len(raw))
        and raw.endswith("e")
        and not raw.endswith(("le", "ee"))
    ):
        groups.pop()
        silent_e = True
    # "-ed" after anything but t/d is silent ("played"), "-es" after a non-sibilant too ("makes").
    if len(groups) > 1 and raw.endswith(("ed", "es")) and groups[-1] == (len(raw) - 2, len(raw) - 1):
        before = raw[-3] if len(raw) >= 3 else ""
        if (raw.endswith("ed") and before not in "td") or (raw.endswith("es") and before not in "szxhcg"):
            groups.pop()
    if not groups:
        return [Syllable(raw, "y", _consonant_kind(raw), "", True)]
    # Cut points between vowel groups: one consonant goes right, a cluster is split after its first.
    cuts = [0]
    for (_, end), (nxt, _) in itertools.pairwise(groups):
        gap = nxt - end
        if gap <= 1:
            cuts.append(end)
        elif raw[end : end + 2] in ("th", "sh", "ch", "ph", "wh", "ck", "ng") and gap == 2:
            cuts.append(end + (2 if raw[end : end + 2] == "ck" else 0))
        else:
            cuts.append(end + 1)
    cuts.append(len(raw))
    out: list[Syllable] = []
    for k, (start, end) in enumerate(itertools.pairwise(cuts)):
        text = raw[start:end]
        gs, ge = groups[k]
        onset = raw[start:gs]
        coda = raw[ge:end]
        last = k == len(groups) - 1
        consonants = coda[:-1] if (last and silent_e and coda.endswith("e")) else coda
        group = raw[gs:ge]
        if consonants.startswith("w") and group in ("o", "a", "e"):
            group, consonants = group + "w", consonants[1:]  # know, saw, new: "w" belongs to the vowel
        vowel, offglide = _vowel_class(
            group,
            consonants,
            long=last and silent_e and len(consonants) == 1,
            word=raw,
            single=len(groups) == 1,
        )
        out.append(
            Syllable(
                text=text,
                vowel=vowel,
                onset=_consonant_kind(onset),
                coda="nasal" if consonants.endswith("ng") else _consonant_kind(consonants[-1:]),
                word_end=last,
                offglide=offglide,
            )
        )
    return out


def line_syllables(text: str) -> tuple[Syllable, ...]:
    """All syllables of a lyric line, in order."""
    out: list[Syllable] = []
    for word in _WORD_RE.findall(text):
        out.extend(split_syllables(word))
    return tuple(out)


def _tag_of(line: str) -> str | None:
    m = re.fullmatch(r"\s*\[([^\]]{1,40})\].*", line)
    if not m:
        return None
    name = re.sub(r"[\s_]+", " ", m.group(1).strip().lower())
    name = re.sub(r"\s*\d+$", "", name)  # [Verse 2]
    return KNOWN_TAGS.get(name, name.replace(" ", "-") or "verse")


def parse_lyrics(lyrics: str) -> tuple[list[Section], bool]:
    """Parse lyrics into sections. Returns ``(sections, tagged)``.

    ``tagged`` is true when the lyrics use structure tags. Blank lines become :class:`Rest` items (one
    bar each; blank lines straight after a tag or at a section's end before the next tag are layout,
    not pauses). A section is ``accompanied`` when it lies inside ``##…##`` or the lyrics are tagged.
    """
    text = lyrics.replace("\r\n", "\n").replace("\r", "\n")
    sections: list[Section] = []
    tag = "song"
    items: list[Line | Rest] = []
    tagged = False
    inside_hash = False
    section_hash = False

    def close() -> None:
        nonlocal items
        while items and isinstance(items[-1], Rest):
            items.pop()
        if items or tag != "song":
            sections.append(Section(tag, tuple(items), section_hash))
        items = []

    for raw_line in text.split("\n"):
        line = raw_line.strip()
        opens = line.startswith("##")
        if opens:
            inside_hash = True
            section_hash = True
            line = line[2:].strip()
        closes = line.endswith("##")
        if closes:
            line = line[:-2].strip()
        new_tag = _tag_of(line)
        if new_tag is not None:
            close()
            tagged = True
            tag = new_tag
            section_hash = inside_hash or opens
        elif not line:
            if items and not (opens or closes):
                items.append(Rest(1))
        else:
            syl = line_syllables(line)
            if syl:
                items.append(Line(line, syl))
        if closes:
            inside_hash = False
    close()
    if tagged:
        sections = [dataclasses.replace(s, accompanied=True) for s in sections]
    return sections, tagged
