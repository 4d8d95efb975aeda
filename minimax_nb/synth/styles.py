"""Style presets of the offline synthesizer and the mapping from free-text styles onto them.

A :class:`StylePreset` fixes everything that makes a genre recognisable in this stand-in: tempo, key and
mode, chord progression, the instruments that play the chords and the bass, the drum pattern, the swing
and the register of the singing voice. :func:`resolve_style` maps any free-text style ("energetic
electronic dance track", "Lo-Fi", "sad piano ballad") onto one preset by keywords.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["PRESETS", "STYLE_NAMES", "StylePreset", "resolve_style"]

NOTE_NAMES: tuple[str, ...] = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}


@dataclasses.dataclass(frozen=True, slots=True)
class StylePreset:
    """One genre preset.

    Attributes:
        name: the preset name (one of :data:`STYLE_NAMES`).
        tempo_bpm: beats per minute.
        root: pitch class of the key (0 = C … 11 = B).
        mode: ``"major"``, ``"minor"``, ``"dorian"`` or ``"mixolydian"``.
        progression: one chord per bar, as 0-based scale degrees (0 = I/i, 4 = V/v, 5 = VI/vi …).
        chorus_progression: the progression used in choruses and hooks.
        sevenths: play the chords as seventh chords.
        chords: the chord instrument: ``piano``, ``epiano``, ``pad``, ``guitar``, ``power``, ``supersaw``.
        bass: the bass instrument: ``round``, ``saw``, ``sub``, ``upright``, ``808``.
        bass_pattern: 8 steps per bar (8th notes): ``R`` root, ``F`` fifth, ``O`` octave, ``W`` walking
            note, ``.`` rest, ``-`` hold.
        kick, snare, hat: 16 steps per bar; ``x`` loud hit, ``o`` soft hit, ``.`` rest.
        open_hat: 16 steps of open hi-hat (``x``/``.``).
        snare_sound: ``snare``, ``clap``, ``rim`` or ``brush``.
        hat_sound: ``hat``, ``ride`` or ``shaker``.
        swing: 0 (straight) … 0.33 (full triplet swing) applied to off-beat 8ths/16ths.
        voice_midi: the MIDI note the melody centres on.
        voice_formant_scale: 1.0 for a lower (male-like) voice, ~1.15 for a higher (female-like) voice.
        note_unit: the shortest melody step in beats (0.5 = 8th notes, 0.25 = 16ths for rap-like flow).
        brightness: 0…1, how bright the chord instrument and the master are.
        lofi: add tape wobble, vinyl crackle and a dull top end.
        keywords: words in a free-text style that select this preset.
    """

    name: str
    tempo_bpm: float
    root: int
    mode: str
    progression: tuple[int, ...]
    chorus_progression: tuple[int, ...]
    sevenths: bool
    chords: str
    bass: str
    bass_pattern: str
    kick: str
    snare: str
    hat: str
    open_hat: str
    snare_sound: str
    hat_sound: str
    swing: float
    voice_midi: int
    voice_formant_scale: float
    note_unit: float
    brightness: float
    lofi: bool
    keywords: tuple[str, ...]

    @property
    def key(self) -> str:
        """The key as text, e.g. ``"A minor"`` (dorian is reported as minor, mixolydian as major)."""
        quality = "minor" if self.mode in ("minor", "dorian") else "major"
        return f"{NOTE_NAMES[self.root]} {quality}"

    @property
    def scale(self) -> tuple[int, ...]:
        """Semitone offsets of the mode's seven degrees."""
        return MODES[self.mode]


PRESETS: dict[str, StylePreset] = {
    p.name: p
    for p in (
        StylePreset(
            name="pop",
            tempo_bpm=112,
            root=7,
            mode="major",
            progression=(0, 4, 5, 3),
            chorus_progression=(3, 0, 4, 5),
            sevenths=False,
            chords="piano",
            bass="round",
            bass_pattern="R..RR.R.",
            kick="x.....x.x.......",
            snare="....x.......x...",
            hat="x.o.x.o.x.o.x.o.",
            open_hat="..............x.",
            snare_sound="clap",
            hat_sound="hat",
            swing=0.0,
            voice_midi=67,
            voice_formant_scale=1.15,
            note_unit=0.5,
            brightness=0.7,
            lofi=False,
            keywords=(
                "pop",
                "catchy",
                "radio",
                "upbeat",
                "happy",
                "bubblegum",
                "k-pop",
                "kpop",
                "j-pop",
                "summer",
                "anthem",
                "mainstream",
                "teen",
            ),
        ),
        StylePreset(
            name="rock",
            tempo_bpm=132,
            root=4,
            mode="minor",
            progression=(0, 5, 2, 6),
            chorus_progression=(5, 2, 6, 0),
            sevenths=False,
            chords="power",
            bass="saw",
            bass_pattern="RRRRRRRR",
            kick="x.x.....x.x.....",
            snare="....x.......x...",
            hat="x.x.x.x.x.x.x.x.",
            open_hat="................",
            snare_sound="snare",
            hat_sound="hat",
            swing=0.0,
            voice_midi=64,
            voice_formant_scale=1.0,
            note_unit=0.5,
            brightness=0.9,
            lofi=False,
            keywords=(
                "rock",
                "guitar",
                "punk",
                "metal",
                "grunge",
                "indie",
                "alternative",
                "garage",
                "distorted",
                "band",
                "heavy",
                "riff",
                "stadium",
            ),
        ),
        StylePreset(
            name="electronic",
            tempo_bpm=126,
            root=5,
            mode="minor",
            progression=(0, 5, 2, 6),
            chorus_progression=(0, 3, 5, 4),
            sevenths=False,
            chords="supersaw",
            bass="sub",
            bass_pattern=".R.R.R.R",
            kick="x...x...x...x...",
            snare="....x.......x...",
            hat="xoxoxoxoxoxoxoxo",
            open_hat="..x...x...x...x.",
            snare_sound="clap",
            hat_sound="hat",
            swing=0.0,
            voice_midi=65,
            voice_formant_scale=1.15,
            note_unit=0.5,
            brightness=1.0,
            lofi=False,
            keywords=(
                "electronic",
                "edm",
                "dance",
                "techno",
                "house",
                "trance",
                "synth",
                "club",
                "disco",
                "dubstep",
                "electro",
                "rave",
                "electropop",
                "synthwave",
                "dnb",
                "drum and bass",
                "future",
                "progressive",
            ),
        ),
        StylePreset(
            name="jazz",
            tempo_bpm=100,
            root=10,
            mode="major",
            progression=(1, 4, 0, 5),
            chorus_progression=(3, 2, 1, 4),
            sevenths=True,
            chords="epiano",
            bass="upright",
            bass_pattern="R-W-F-W-",
            kick="x.........x.....",
            snare="......o.......o.",
            hat="x...x.x.x...x.x.",
            open_hat="................",
            snare_sound="brush",
            hat_sound="ride",
            swing=0.3,
            voice_midi=70,
            voice_formant_scale=1.15,
            note_unit=0.5,
            brightness=0.5,
            lofi=False,
            keywords=(
                "jazz",
                "swing",
                "bebop",
                "blues",
                "saxophone",
                "sax",
                "bossa",
                "smooth",
                "lounge",
                "big band",
                "soul",
                "cocktail",
                "noir",
                "trumpet",
            ),
        ),
        StylePreset(
            name="lo-fi",
            tempo_bpm=80,
            root=2,
            mode="dorian",
            progression=(0, 3, 6, 2),
            chorus_progression=(5, 4, 0, 3),
            sevenths=True,
            chords="epiano",
            bass="round",
            bass_pattern="R--.R-F.",
            kick="x.........x.....",
            snare="....x.......x...",
            hat="x.x.x.x.x.x.x.xo",
            open_hat="................",
            snare_sound="snare",
            hat_sound="hat",
            swing=0.22,
            voice_midi=62,
            voice_formant_scale=1.15,
            note_unit=0.5,
            brightness=0.25,
            lofi=True,
            keywords=(
                "lo-fi",
                "lofi",
                "lo fi",
                "chill",
                "chillhop",
                "study",
                "relax",
                "mellow",
                "dusty",
                "vinyl",
                "sleepy",
                "rainy",
                "cozy",
                "beats to",
                "downtempo",
                "ambient",
                "calm",
            ),
        ),
        StylePreset(
            name="ballad",
            tempo_bpm=70,
            root=2,
            mode="major",
            progression=(0, 5, 3, 4),
            chorus_progression=(3, 4, 2, 5),
            sevenths=False,
            chords="piano",
            bass="round",
            bass_pattern="R---F---",
            kick="x.........x.....",
            snare="........o.......",
            hat="x...x...x...x...",
            open_hat="................",
            snare_sound="rim",
            hat_sound="shaker",
            swing=0.0,
            voice_midi=62,
            voice_formant_scale=1.15,
            note_unit=0.5,
            brightness=0.45,
            lofi=False,
            keywords=(
                "ballad",
                "slow",
                "love",
                "piano",
                "emotional",
                "sad",
                "romantic",
                "soft",
                "orchestral",
                "cinematic",
                "tender",
                "heartfelt",
                "lullaby",
                "strings",
                "melancholic",
                "epic",
            ),
        ),
        StylePreset(
            name="folk",
            tempo_bpm=104,
            root=0,
            mode="major",
            progression=(0, 3, 0, 4),
            chorus_progression=(3, 0, 5, 4),
            sevenths=False,
            chords="guitar",
            bass="round",
            bass_pattern="R...F...",
            kick="x.......x.......",
            snare="....o.......o...",
            hat="x.x.x.x.x.x.x.x.",
            open_hat="................",
            snare_sound="rim",
            hat_sound="shaker",
            swing=0.08,
            voice_midi=60,
            voice_formant_scale=1.0,
            note_unit=0.5,
            brightness=0.6,
            lofi=False,
            keywords=(
                "folk",
                "acoustic",
                "country",
                "bluegrass",
                "campfire",
                "singer-songwriter",
                "americana",
                "celtic",
                "banjo",
                "fiddle",
                "western",
                "rustic",
                "unplugged",
            ),
        ),
        StylePreset(
            name="hip-hop",
            tempo_bpm=90,
            root=0,
            mode="minor",
            progression=(0, 0, 5, 6),
            chorus_progression=(0, 5, 3, 4),
            sevenths=False,
            chords="pad",
            bass="808",
            bass_pattern="R--.-R..",
            kick="x......x..x.....",
            snare="....x.......x...",
            hat="x.x.x.x.x.x.x.xx",
            open_hat="................",
            snare_sound="snare",
            hat_sound="hat",
            swing=0.12,
            voice_midi=50,
            voice_formant_scale=1.0,
            note_unit=0.25,
            brightness=0.55,
            lofi=False,
            keywords=(
                "hip-hop",
                "hip hop",
                "hiphop",
                "rap",
                "trap",
                "boom bap",
                "boom-bap",
                "drill",
                "r&b",
                "rnb",
                "grime",
                "gangsta",
                "urban",
                "beat",
                "808",
            ),
        ),
    )
}

STYLE_NAMES: tuple[str, ...] = tuple(PRESETS)
"""The preset names, in a fixed order."""


def _normalise(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.lower()).strip()


def resolve_style(text: str | None) -> StylePreset:
    """Map a style name or free-text description onto a preset.

    An exact preset name (case, ``_`` and spaces ignored; ``"lofi"`` and ``"hiphop"`` too) wins. Otherwise
    every preset scores one point per keyword found in the text (whole words, or a phrase); the highest
    score wins and ties go to the keyword that appears first. Text with no keyword at all, and ``None``
    or ``""``, maps to ``pop`` (the render still varies with the text: it seeds the melody).

    >>> resolve_style("energetic electronic dance track").name
    'electronic'
    """
    norm = _normalise(text or "")
    if not norm:
        return PRESETS["pop"]
    compact = norm.replace(" ", "").replace("-", "")
    for name, preset in PRESETS.items():
        if compact == name.replace("-", ""):
            return preset
    best: tuple[int, int, int] | None = None  # (-score, first position, preset order)
    best_name = "pop"
    for order, (name, preset) in enumerate(PRESETS.items()):
        score = 0
        first = len(norm) + 1
        for word in preset.keywords:
            for m in re.finditer(r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z0-9])", norm):
                score += 1
                first = min(first, m.start())
        if score:
            rank = (-score, first, order)
            if best is None or rank < best:
                best, best_name = rank, name
    return PRESETS[best_name]
