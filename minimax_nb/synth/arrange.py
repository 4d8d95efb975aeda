"""From parsed lyrics to a score: bars with chords and arrangement levels, and the sung melody.

Times here are in beats (4 beats a bar). Each lyric line becomes a phrase of 2, 4 or more bars; each
syllable a note. Pitches follow an arch over the phrase, land on chord tones on strong beats and move by
step elsewhere. Chorus and hook lines sit higher and reuse the same melodic template (line *i* of every
chorus sings melody ``i mod 2``), which makes a repeated hook; identical verse lines sing identically.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from minimax_nb.synth.styles import StylePreset
from minimax_nb.synth.text import Line, Rest, Section, Syllable, parse_lyrics

__all__ = ["Bar", "MelodyNote", "Score", "arrange", "stable_seed"]

BEATS_PER_BAR = 4

# Arrangement level per section tag: 0 nothing but chords, 0.5 light (no drums), 1 sparse, 2 band, 3 full.
LEVELS: dict[str, float] = {
    "intro": 1.0,
    "verse": 2.0,
    "pre-chorus": 2.0,
    "chorus": 3.0,
    "post-chorus": 3.0,
    "hook": 3.0,
    "bridge": 2.0,
    "interlude": 1.0,
    "transition": 1.0,
    "break": 0.0,
    "build-up": 2.0,
    "inst": 3.0,
    "solo": 3.0,
    "outro": 1.0,
    "song": 2.0,
    "light": 0.5,
    "end": 0.0,
}
HIGH_SECTIONS = frozenset({"chorus", "post-chorus", "hook"})


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from any values, stable across processes (unlike ``hash``)."""
    h = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "little") >> 1


@dataclasses.dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the arrangement."""

    chord: int  # scale degree of the chord root (0-based)
    tag: str  # section tag
    level: float  # arrangement level (see LEVELS)
    first: bool  # first bar of its section
    last: bool  # last bar of its section


@dataclasses.dataclass(frozen=True, slots=True)
class MelodyNote:
    """A melody note: onset and length in beats, MIDI pitch, the syllable sung, and a harmony pitch."""

    beat: float
    beats: float
    midi: int
    syllable: Syllable | None
    harmony: int | None
    lead: bool = False  # played by the lead instrument instead of sung


@dataclasses.dataclass(frozen=True, slots=True)
class Score:
    """Everything the renderer needs, in beats."""

    bars: tuple[Bar, ...]
    notes: tuple[MelodyNote, ...]
    sections: tuple[tuple[str, int, int], ...]  # (tag, first bar, end bar)
    phrases: tuple[tuple[str, float, float], ...]  # (line text, start beat, end beat)


def _degree_midi(preset: StylePreset, base: int, degree: int) -> int:
    octave, step = divmod(degree, 7)
    return base + 12 * octave + preset.scale[step]


def _voice_base(preset: StylePreset) -> int:
    """MIDI of the tonic nearest the voice centre: the melody moves around it."""
    below = preset.voice_midi - ((preset.voice_midi - preset.root) % 12)
    return below if preset.voice_midi - below <= 6 else below + 12


def _melody(
    line: Line,
    preset: StylePreset,
    chords: list[int],
    rng: np.random.Generator,
    *,
    high: bool,
) -> tuple[list[tuple[float, float, int, int]], int]:
    """Rhythm and pitch for one line. Returns ``([(beat, beats, degree, harmony_degree)], bars)``."""
    unit = preset.note_unit
    syl = line.syllables
    n = len(syl)
    slots_per_bar = int(BEATS_PER_BAR / unit)
    bars = 2
    while bars * slots_per_bar < n + 3:
        bars += 2
    slots = bars * slots_per_bar
    durs = [1] * n
    extra = slots - n - 2  # keep a breath (2 slots) at the end
    give = min(extra, int(rng.integers(2, 5)))
    durs[-1] += give
    extra -= give
    weights = np.array([2.0 if s.word_end else 1.0 for s in syl[:-1]] or [1.0])
    while extra > 0 and n > 1:
        # Lengthen word ends and a few others; never beyond 4 slots.
        p = weights / weights.sum()
        i = int(rng.choice(n - 1, p=p))
        if durs[i] < 4:
            durs[i] += 1
            extra -= 1
        else:
            weights[i] = 1e-6
            if weights.sum() < 1e-3:
                break
        if extra > 0 and rng.random() < 0.25 and sum(durs) + 1 <= slots - 2:
            break  # leave some room: a pickup rest at the start
    lead_in = max(0, min(slots - 2 - sum(durs), 2))
    # Pitches as scale degrees around the tonic of the voice octave.
    peak = 1 if preset.note_unit < 0.5 else int(rng.integers(2, 5))
    lift = 2 if high else 0
    out: list[tuple[float, float, int, int]] = []
    prev = int(rng.choice([-3, 0, 2])) + lift
    pos = lead_in
    for i, d in enumerate(durs):
        beat = pos * unit
        chord = chords[min(int(beat // BEATS_PER_BAR), len(chords) - 1)]
        tones = {(chord + k) % 7 for k in (0, 2, 4)}
        x = i / max(n - 1, 1)
        target = lift + peak * np.sin(np.pi * min(x * 1.15, 1.0)) - (1.0 if i == n - 1 else 0.0)
        strong = (beat % 1.0) == 0.0
        best, best_score = prev, 1e9
        for cand in range(prev - 3, prev + 4):
            if cand < -5 or cand > 8:
                continue
            score = abs(cand - target) * 0.8 + abs(cand - prev) * 0.35
            if (strong or i == n - 1 or d >= 3) and cand % 7 not in tones:
                score += 1.5
            if cand == prev and preset.note_unit >= 0.5:
                score += 0.4
            score += float(rng.random()) * 0.9
            if score < best_score:
                best, best_score = cand, score
        harmony = best + 2
        while harmony % 7 not in tones and harmony < best + 5:
            harmony += 1
        out.append((beat, d * unit, best, harmony))
        prev = best
        pos += d
    return out, bars


def _instrumental_line(bars_wanted: int, unit: float) -> Line:
    n = int(bars_wanted * BEATS_PER_BAR / max(unit, 0.5) * 0.6)
    return Line("", tuple(Syllable("la", "a", "", "", True) for _ in range(max(n, 3))))


def arrange(lyrics: str, preset: StylePreset, *, seed: int, style_text: str, instrumental: bool) -> Score:
    """Lay the lyrics out as bars, chords and melody notes for ``preset``."""
    sections, tagged = parse_lyrics(lyrics)
    has_words = any(isinstance(it, Line) for s in sections for it in s.items)
    accompanied = tagged or any(s.accompanied for s in sections) or instrumental or not has_words
    if not has_words:
        # No words: an instrumental. Keep the user's structure when there is one, else a default form.
        given = [s.tag for s in sections if s.tag != "song"]
        form = given if len(given) >= 2 else ["intro", "verse", "chorus", "verse", "chorus", "outro"]
        sections = [Section(t, (), True) for t in form]
        tagged = True

    bars: list[Bar] = []
    notes: list[MelodyNote] = []
    sec_spans: list[tuple[str, int, int]] = []
    phrases: list[tuple[str, float, float]] = []
    bar_index = 0  # bars since the current section started: each section starts its progression over

    def prog_for(tag: str) -> tuple[int, ...]:
        if tag in HIGH_SECTIONS:
            return preset.chorus_progression
        if tag == "bridge":  # somewhere else for a while: the verse progression from its third chord
            return preset.progression[2:] + preset.progression[:2]
        return preset.progression

    def add_bars(count: int, tag: str, level: float) -> list[int]:
        nonlocal bar_index
        prog = prog_for(tag)
        chords = []
        for _ in range(count):
            chord = prog[bar_index % len(prog)]
            bars.append(Bar(chord, tag, level, False, False))
            chords.append(chord)
            bar_index += 1
        return chords

    def start_section() -> None:
        nonlocal bar_index
        bar_index = 0

    def sec_level(tag: str, sec: Section) -> float:
        if not tagged:
            return LEVELS["song"] if sec.accompanied or accompanied else LEVELS["light"]
        return LEVELS.get(tag, 2.0)

    # An instrumental intro unless the song opens with its own intro.
    if accompanied and not (sections and sections[0].tag == "intro"):
        start = len(bars)
        start_section()
        add_bars(2, "intro", LEVELS["intro"])
        sec_spans.append(("intro", start, len(bars)))
    elif not accompanied:
        add_bars(1, "intro", LEVELS["light"])
        sec_spans.append(("intro", 0, 1))

    occurrence: dict[str, int] = {}
    for sec in sections:
        tag = sec.tag
        level = sec_level(tag, sec)
        start = len(bars)
        start_section()
        high = tag in HIGH_SECTIONS
        lines = [it for it in sec.items if isinstance(it, Line)]
        occurrence[tag] = occurrence.get(tag, 0) + 1
        if not lines:
            count = 4 if tag not in ("break", "transition") else 2
            chords = add_bars(count, tag, level)
            if tag in ("inst", "solo", "interlude") or (
                (instrumental or not has_words) and tag not in ("intro", "outro", "break", "transition")
            ):
                rng = np.random.default_rng(
                    stable_seed("solo", seed, style_text, tag, 1 if high else occurrence[tag])
                )
                line = _instrumental_line(count, preset.note_unit)
                mel, _ = _melody(line, preset, chords, rng, high=True)
                base_beat = start * BEATS_PER_BAR
                for beat, beats, deg, _h in mel:
                    notes.append(
                        MelodyNote(
                            base_beat + beat,
                            beats,
                            _degree_midi(preset, _voice_base(preset), deg),
                            None,
                            None,
                            lead=True,
                        )
                    )
        else:
            line_no = 0
            for item in sec.items:
                if isinstance(item, Rest):
                    add_bars(item.bars, tag, level)
                    continue
                if high:
                    key: tuple[object, ...] = ("hook", tag, line_no % 2, len(item.syllables))
                else:
                    key = ("line", tag, item.text)
                rng = np.random.default_rng(stable_seed(key, seed, style_text))
                # Chords the phrase will see (progression continues from the current bar).
                prog = prog_for(tag)
                ahead = [prog[(bar_index + k) % len(prog)] for k in range(16)]
                mel, count = _melody(item, preset, ahead, rng, high=high)
                base_beat = len(bars) * BEATS_PER_BAR
                add_bars(count, tag, level)
                base_midi = _voice_base(preset)
                for (beat, beats, deg, hdeg), s in zip(mel, item.syllables, strict=True):
                    notes.append(
                        MelodyNote(
                            base_beat + beat,
                            beats,
                            _degree_midi(preset, base_midi, deg),
                            None if instrumental else s,
                            _degree_midi(preset, base_midi, hdeg) if high else None,
                            lead=instrumental,
                        )
                    )
                phrases.append((item.text, base_beat + mel[0][0], base_beat + mel[-1][0] + mel[-1][1]))
                line_no += 1
        if len(bars) > start:
            sec_spans.append((tag, start, len(bars)))
    # Ending: a short outro unless the song ends on one, then a final ringing bar.
    if accompanied and not (sections and sections[-1].tag == "outro"):
        start = len(bars)
        start_section()
        add_bars(2, "outro", LEVELS["outro"])
        sec_spans.append(("outro", start, len(bars)))
    end_chord = 0
    bars.append(Bar(end_chord, "end", LEVELS["end"], True, True))
    # Mark first and last bars of sections.
    marked = list(bars)
    for _tag, a, b in sec_spans:
        marked[a] = dataclasses.replace(marked[a], first=True)
        marked[b - 1] = dataclasses.replace(marked[b - 1], last=True)
    return Score(tuple(marked), tuple(notes), tuple(sec_spans), tuple(phrases))
