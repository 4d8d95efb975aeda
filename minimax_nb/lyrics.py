"""Lyrics: the conventions the MiniMax music models read, as pure functions.

- a newline separates lines; a blank line (two newlines) makes a pause;
- ``##`` at the very beginning and end of the lyrics asks for accompaniment (the 600-character
  ``minimax-music`` family);
- structure tags on their own line (``[Intro]``, ``[Verse 2]``, ``[Pre Chorus]``…) arrange the song on
  music-1.5 and later. Text written on the same line as a tag is dropped by the model, so
  ``find_tag_line_text`` finds it and ``lyric_warnings`` warns about it.

The composer widget calls the editing helpers (``insert_pause``, ``wrap_accompaniment``, ``insert_tag``)
with the text and a cursor position and gets the new text back.

    >>> parse_lyrics("[Verse]\\nHello\\n\\nWorld").sections[0].tag
    'Verse'
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from minimax_nb.errors import ValidationError

__all__ = [
    "ACCOMPANIMENT_MARK",
    "STRUCTURE_TAGS",
    "LengthEstimate",
    "LyricLine",
    "ParsedLyrics",
    "Section",
    "SectionInfo",
    "char_count",
    "count_syllables",
    "estimate_length",
    "find_tag_line_text",
    "find_unknown_tags",
    "has_accompaniment_marks",
    "insert_pause",
    "insert_tag",
    "line_syllables",
    "lyric_warnings",
    "normalize_tag",
    "parse_lyrics",
    "rule_of_thumb_seconds",
    "section_map",
    "strip_accompaniment",
    "uses_structure_tags",
    "wrap_accompaniment",
]

#: The structure tags the music-1.5+ models understand, in their canonical spelling.
STRUCTURE_TAGS: tuple[str, ...] = (
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

#: The mark put at the beginning and end of the lyrics to ask for accompaniment.
ACCOMPANIMENT_MARK = "##"


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


_CANONICAL: dict[str, str] = {_key(t): t for t in STRUCTURE_TAGS}
# "[Verse]", "[verse 2]", "[Pre-Chorus]", "[Build_Up 3]": a known tag, any case, optional number.
_TAG_RE = re.compile(r"\[\s*([A-Za-z][A-Za-z _\-]*?)\s*(\d+)?\s*\]")
# any bracketed word at the start of a line (to tell unknown tags apart from lyrics)
_BRACKET_LINE_RE = re.compile(r"^\s*\[([^\[\]\n]{1,40})\]")


@dataclasses.dataclass(frozen=True, slots=True)
class LyricLine:
    """One line of lyrics.

    Attributes:
        number: 1-based line number in the text.
        text: the line as written.
        kind: ``"lyric"``, ``"blank"`` (a pause) or ``"tag"`` (a line starting with a structure tag).
        tag: the canonical tag name for a tag line (``"Pre Chorus"``), else ``None``.
        tag_number: the number after the tag (``[Verse 2]`` -> 2), else ``None``.
        extra_text: for a tag line, the text around the tag on the same line (the model drops it).
    """

    number: int
    text: str
    kind: Literal["lyric", "blank", "tag"]
    tag: str | None = None
    tag_number: int | None = None
    extra_text: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Section:
    """A run of lines under one structure tag (``tag`` is ``None`` for lines before the first tag)."""

    tag: str | None
    number: int | None
    lines: tuple[LyricLine, ...]

    @property
    def lyric_lines(self) -> tuple[LyricLine, ...]:
        """Only the sung lines of this section."""
        return tuple(line for line in self.lines if line.kind == "lyric")

    @property
    def label(self) -> str:
        """``"Verse 2"``, ``"Chorus"``, or ``""`` for the untagged start."""
        if self.tag is None:
            return ""
        return f"{self.tag} {self.number}" if self.number is not None else self.tag


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedLyrics:
    """The structure of a lyrics text: its lines, its sections, pauses and accompaniment marks."""

    text: str
    lines: tuple[LyricLine, ...]
    sections: tuple[Section, ...]
    accompaniment: bool

    @property
    def pauses(self) -> int:
        """How many pauses (runs of blank lines between sung lines) the text asks for."""
        count = 0
        seen_text = False
        in_blank = False
        for line in self.lines:
            if line.kind == "blank":
                in_blank = True
            else:
                if in_blank and seen_text:
                    count += 1
                in_blank = False
                seen_text = True
        return count

    @property
    def tags(self) -> tuple[str, ...]:
        """The labels of the tagged sections, in order (``("Verse", "Chorus", "Verse 2")``)."""
        return tuple(s.label for s in self.sections if s.tag is not None)

    @property
    def char_count(self) -> int:
        return char_count(self.text)


def char_count(text: str) -> int:
    """The length the providers count against their limits: every character, newlines included."""
    return len(text)


def normalize_tag(tag: str) -> tuple[str, int | None]:
    """``(canonical name, number)`` for a tag written any way (``"pre-chorus"``, ``"[Verse 2]"``).

    Raises ``ValidationError`` for a name that is not one of ``STRUCTURE_TAGS``.
    """
    raw = tag.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1].strip()
    m = re.fullmatch(r"([A-Za-z][A-Za-z _\-]*?)\s*(\d+)?", raw)
    name = _CANONICAL.get(_key(m.group(1))) if m else None
    if m is None or name is None:
        msg = f"unknown structure tag {tag!r}; known tags: {', '.join(STRUCTURE_TAGS)}"
        raise ValidationError(msg, problems=[msg])
    number = int(m.group(2)) if m.group(2) else None
    return name, number


def _match_tag(line: str) -> tuple[str, int | None, str] | None:
    """(tag, number, text outside the tag) when ``line`` holds a known structure tag."""
    for m in _TAG_RE.finditer(line):
        name = _CANONICAL.get(_key(m.group(1)))
        if name is None:
            continue
        number = int(m.group(2)) if m.group(2) else None
        rest = (line[: m.start()] + " " + line[m.end() :]).strip()
        return name, number, rest
    return None


def parse_lyrics(text: str) -> ParsedLyrics:
    """Split ``text`` into lines and sections. Accompaniment marks are recognised and left out of lines."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    accompaniment = has_accompaniment_marks(body)
    if accompaniment:
        body = strip_accompaniment(body)
    raw_lines = body.split("\n")
    if len(raw_lines) > 1 and raw_lines[-1] == "":  # the empty "line" after a final newline
        raw_lines.pop()
    lines: list[LyricLine] = []
    for i, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            lines.append(LyricLine(i, raw, "blank"))
            continue
        found = _match_tag(raw)
        if found is not None:
            name, number, rest = found
            lines.append(LyricLine(i, raw, "tag", name, number, rest))
        else:
            lines.append(LyricLine(i, raw, "lyric"))
    sections: list[Section] = []
    cur_tag: str | None = None
    cur_num: int | None = None
    cur: list[LyricLine] = []
    for line in lines:
        if line.kind == "tag":
            if cur_tag is not None or any(x.kind == "lyric" for x in cur):
                sections.append(Section(cur_tag, cur_num, tuple(cur)))
            cur_tag, cur_num, cur = line.tag, line.tag_number, []
        else:
            cur.append(line)
    if cur_tag is not None or any(line.kind == "lyric" for line in cur):
        sections.append(Section(cur_tag, cur_num, tuple(cur)))
    return ParsedLyrics(text, tuple(lines), tuple(sections), accompaniment)


def has_accompaniment_marks(text: str) -> bool:
    """True when the lyrics begin and end with ``##`` (accompaniment requested)."""
    t = text.strip()
    return len(t) >= 4 and t.startswith(ACCOMPANIMENT_MARK) and t.endswith(ACCOMPANIMENT_MARK)


def strip_accompaniment(text: str) -> str:
    """``text`` without the ``##`` marks at its beginning and end (unchanged when it has none)."""
    if not has_accompaniment_marks(text):
        return text
    t = text.strip()
    return t[len(ACCOMPANIMENT_MARK) : -len(ACCOMPANIMENT_MARK)]


def uses_structure_tags(text: str) -> bool:
    """True when any line holds a known structure tag."""
    return any(_match_tag(line) is not None for line in text.splitlines())


def find_tag_line_text(text: str) -> list[tuple[int, str]]:
    """``(line number, text)`` for every tag line that also carries lyric text (the model drops it).

    >>> find_tag_line_text("[Verse] Hello there\\nok")
    [(1, 'Hello there')]
    """
    out: list[tuple[int, str]] = []
    for i, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        found = _match_tag(line)
        if found is None:
            continue
        rest = found[2].strip().strip(ACCOMPANIMENT_MARK).strip()
        if rest:
            out.append((i, rest))
    return out


def find_unknown_tags(text: str) -> list[tuple[int, str]]:
    """``(line number, tag)`` for bracketed words at a line start that are not known structure tags."""
    out: list[tuple[int, str]] = []
    for i, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        m = _BRACKET_LINE_RE.match(line.lstrip("#"))
        if m and _match_tag(line) is None:
            out.append((i, m.group(1).strip()))
    return out


def lyric_warnings(text: str, *, structure_tags: bool = True, accompaniment_marks: bool = False) -> list[str]:
    """Human-readable warnings about ``text`` for a model with these conventions.

    ``structure_tags``: the model reads ``[Verse]``-style tags; ``accompaniment_marks``: it reads ``##``.
    """
    warnings: list[str] = []
    tagged = uses_structure_tags(text)
    if tagged and not structure_tags:
        warnings.append(
            "structure tags like [Verse] are not understood by this model; they will be sung or ignored"
        )
    if tagged or structure_tags:
        for line_no, extra in find_tag_line_text(text):
            warnings.append(
                f"line {line_no}: text on the same line as a tag is dropped by the model: {extra!r}"
                " (put it on its own line)"
            )
    if structure_tags:
        for line_no, tag in find_unknown_tags(text):
            warnings.append(
                f"line {line_no}: [{tag}] is not a known structure tag ({', '.join(STRUCTURE_TAGS)})"
            )
    if ACCOMPANIMENT_MARK in text:
        if not accompaniment_marks:
            warnings.append("## accompaniment marks are not used by this model; they may be sung as text")
        elif not has_accompaniment_marks(text):
            warnings.append(
                "## marks go at the very beginning and end of the lyrics (use wrap_accompaniment)"
            )
    return warnings


def _clamp(text: str, pos: int | None) -> int:
    if pos is None:
        return len(text)
    if pos < 0:
        pos = len(text) + pos + 1
    return max(0, min(len(text), pos))


def insert_pause(text: str, pos: int | None = None) -> str:
    """``text`` with a pause (a blank line) at character ``pos`` (default: the end).

    A ``pos`` inside a line splits the line there. Existing newlines around ``pos`` are reused, so
    inserting twice at the same place does not pile up blank lines.
    """
    p = _clamp(text, pos)
    before, after = text[:p].rstrip("\n"), text[p:].lstrip("\n")
    if not before:
        return "\n\n" + after if after else "\n\n"
    return before + "\n\n" + after


def wrap_accompaniment(text: str) -> str:
    """``text`` wrapped in ``##…##`` (accompaniment requested). Already-wrapped text is returned as is."""
    if has_accompaniment_marks(text):
        return text
    inner = text.strip()
    # a half-marked text (## only at one end) is completed, not doubled
    if inner.startswith(ACCOMPANIMENT_MARK):
        inner = inner[len(ACCOMPANIMENT_MARK) :]
    if inner.endswith(ACCOMPANIMENT_MARK):
        inner = inner[: -len(ACCOMPANIMENT_MARK)]
    return f"{ACCOMPANIMENT_MARK}{inner}{ACCOMPANIMENT_MARK}"


def insert_tag(text: str, tag: str, pos: int | None = None) -> str:
    """``text`` with the structure tag ``tag`` on its own line at character ``pos`` (default: the end).

    ``tag`` may be written any way (``"verse 2"``, ``"[Pre-Chorus]"``); it is written canonically
    (``[Verse 2]``). A ``pos`` inside a line splits the line so the tag never shares a line with lyrics.
    Unknown tags raise ``ValidationError``.
    """
    name, number = normalize_tag(tag)
    label = f"[{name} {number}]" if number is not None else f"[{name}]"
    p = _clamp(text, pos)
    before, after = text[:p], text[p:]
    if before and not before.endswith("\n"):
        before += "\n"
    if after and not after.startswith("\n"):
        after = "\n" + after.lstrip(" \t")
    return before + label + after


# ------------------------------------------------------------------------------------------ insight
# What a song will be like before paying for it: syllables per line (a gutter beside the text), the
# section map, and an estimated length with its uncertainty.

_VOWELS = "aeiouyàáâäæãåāèéêëēėęìíîïīįòóôöõøōœùúûüū"
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)


def count_syllables(text: str) -> int:
    """Sung syllables in ``text``: a vowel-group count per word (silent final ``e``, ``-le``/``-les``
    endings handled), and one per CJK character (a Chinese hanzi, a kana, a Hangul block).

    A heuristic, right for most English words and within one for the rest; ``(ooh)`` and ad-libs count.
    """
    total = len(_CJK_RE.findall(text))
    for word in _WORD_RE.findall(_CJK_RE.sub(" ", text).lower()):
        w = word.replace("'", "")
        groups = len(re.findall(rf"[{_VOWELS}]+", w))
        if groups == 0:
            total += 1 if len(w) > 0 and w.isalpha() and not w.isascii() else (1 if w else 0)
            continue
        if len(w) > 2 and w.endswith("e") and not w.endswith(("le", "ee", "ye")) and groups > 1:
            groups -= 1  # "time", "made": silent e
        elif len(w) > 3 and w.endswith("es") and w[-3] not in _VOWELS + "scxzh" and groups > 1:
            groups -= 1  # "times", "lines"
        elif w.endswith("ed") and len(w) > 3 and w[-3] not in "td" and groups > 1:
            groups -= 1  # "walked"
        total += max(1, groups)
    return total


def line_syllables(text: str) -> list[int]:
    """One number per line of ``text`` (as ``parse_lyrics`` numbers them): the sung syllables of a
    lyric line, ``0`` for a blank line or a structure tag line — the composer's gutter."""
    return [count_syllables(line.text) if line.kind == "lyric" else 0 for line in parse_lyrics(text).lines]


@dataclasses.dataclass(frozen=True, slots=True)
class SectionInfo:
    """One entry of ``section_map``: a section's label, where it is and how much is sung in it."""

    label: str
    first_line: int
    last_line: int
    lines: int
    syllables: int


def section_map(text: str) -> list[SectionInfo]:
    """The sections of ``text`` in order: label (``"Verse 2"``, ``""`` before the first tag), the line
    numbers they span (the tag line included), sung lines and syllables."""
    out: list[SectionInfo] = []
    parsed = parse_lyrics(text)
    tag_lines = {line.number: line for line in parsed.lines if line.kind == "tag"}
    for sec in parsed.sections:
        numbers = [line.number for line in sec.lines]
        first = numbers[0] if numbers else 0
        if sec.tag is not None:  # start at the tag line
            before = [n for n, t in tag_lines.items() if n <= (first or 10**9) and t.tag == sec.tag]
            first = max(before) if before else first
        last = numbers[-1] if numbers else first
        sung = sec.lyric_lines
        out.append(SectionInfo(sec.label, first, last, len(sung), sum(count_syllables(x.text) for x in sung)))
    return out


#: The rule of thumb (the prior of ``estimate_length``): each sung line is a phrase of at least
#: ``LINE_MIN_S`` seconds, or its syllables at ``SYLLABLES_PER_S``; each section adds ``SECTION_S``
#: (a turnaround, a fill), each pause ``PAUSE_S``, and the song has ``FRAME_S`` of intro and outro.
#: Tuned on songs at ~100-120 BPM: 16 lines of 8 syllables in 4 sections come out near 1 min 45 s.
SYLLABLES_PER_S = 2.2
LINE_MIN_S = 3.0
SECTION_S = 6.0
PAUSE_S = 2.0
FRAME_S = 12.0
#: The prior's spread, as a factor: with no history the 80 % interval is ``estimate ÷/× PRIOR_SPREAD``.
PRIOR_SPREAD = 1.45
_Z80 = 1.2816


@dataclasses.dataclass(frozen=True, slots=True)
class LengthEstimate:
    """An estimated song length: ``seconds`` (the middle), an 80 % interval ``low``–``high``, what it
    rests on (``basis``: ``"rule of thumb"`` or ``"fit on N songs"``) and ``n`` songs used."""

    seconds: float
    low: float
    high: float
    basis: str
    n: int = 0

    def __str__(self) -> str:
        return f"~{_mmss(self.seconds)} ({_mmss(self.low)}–{_mmss(self.high)}, {self.basis})"


def _mmss(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def rule_of_thumb_seconds(text: str) -> float:
    """The prior length of a song on ``text`` (see ``SYLLABLES_PER_S`` and friends); ``FRAME_S`` for
    an instrumental (no sung lines)."""
    parsed = parse_lyrics(text)
    sung = [line for line in parsed.lines if line.kind == "lyric"]
    lines_s = sum(max(LINE_MIN_S, count_syllables(x.text) / SYLLABLES_PER_S) for x in sung)
    sections = max(1, len(parsed.sections)) if sung else 0
    return FRAME_S + lines_s + SECTION_S * sections + PAUSE_S * parsed.pauses


def estimate_length(text: str, history: Sequence[Any] | None = None, *, provider: str | None = None,
                    model: str | None = None, min_history: int = 3) -> LengthEstimate:
    """The expected length of a song on ``text``, with an 80 % interval.

    Without ``history``: the rule of thumb (``rule_of_thumb_seconds``) with a ×/÷ ``PRIOR_SPREAD``
    interval. With ``history`` (``Ledger.jobs()``: jobs with ``status`` completed, ``duration_s`` and
    lyrics), the rule is scaled by the typical ratio measured/rule of those songs — of ``provider`` and
    ``model`` when at least ``min_history`` of them exist, else of every provider — a log-ratio mean
    shrunk towards the rule (as if 3 songs had matched it exactly), its interval from the spread of
    the ratios and how many there are.
    """
    prior = rule_of_thumb_seconds(text)
    sigma0 = math.log(PRIOR_SPREAD) / _Z80
    ratios = _history_ratios(history or (), provider, model, min_history)
    if not ratios:
        return LengthEstimate(prior, prior / PRIOR_SPREAD, prior * PRIOR_SPREAD, "rule of thumb", 0)
    logs = [math.log(r) for r in ratios]
    n = len(logs)
    k = 3.0  # pseudo-songs at the rule
    mean = sum(logs) / (n + k)
    var = (sum((x - sum(logs) / n) ** 2 for x in logs) + k * sigma0**2) / (n - 1 + k)
    sigma = math.sqrt(var + var / (n + k))
    mid = prior * math.exp(mean)
    return LengthEstimate(mid, mid * math.exp(-_Z80 * sigma), mid * math.exp(_Z80 * sigma),
                          f"fit on {n} songs", n)


def _history_ratios(history: Sequence[Any], provider: str | None, model: str | None,
                    min_history: int) -> list[float]:
    usable: list[tuple[str | None, str | None, float]] = []
    for job in history:
        status = getattr(getattr(job, "status", None), "value", getattr(job, "status", None))
        duration = getattr(job, "duration_s", None)
        request = getattr(job, "request", None)
        lyrics = getattr(job, "lyrics", None) or getattr(request, "lyrics", None) or ""
        if status != "completed" or not duration or duration <= 0 or not lyrics.strip():
            continue
        if getattr(request, "instrumental", False):
            continue
        job_model = getattr(job, "model", None) or getattr(request, "model", None)
        usable.append((getattr(job, "provider", None), job_model,
                       float(duration) / rule_of_thumb_seconds(lyrics)))
    narrow = [r for p, m, r in usable
              if (provider is None or p == provider) and (model is None or m == model)]
    if len(narrow) >= min_history:
        return narrow
    return [r for _, _, r in usable] if len(usable) >= min_history else []
