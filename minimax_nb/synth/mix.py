"""Render a :class:`~minimax_nb.synth.arrange.Score` to stereo audio: voice, lead, bass, chords, drums, mix.

The mix puts the voice in the centre, spreads the chords with a short inter-channel delay, pans the
hats and the chorus voices, sends voice, chords and lead to a convolution reverb (decaying noise),
normalises the loudness to -16 dBFS RMS and soft-limits the peaks below -1 dBFS.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from minimax_nb.synth.arrange import BEATS_PER_BAR, HIGH_SECTIONS, Bar, Score, arrange, stable_seed
from minimax_nb.synth.dsp import Array, add_at, box_lowpass, convolution_reverb
from minimax_nb.synth.instruments import Drums, Instrument
from minimax_nb.synth.styles import StylePreset, resolve_style
from minimax_nb.synth.voice import NoiseBank, VoiceNote, sing

__all__ = ["Song", "render"]

TARGET_RMS_DBFS = -16.0
CEILING = 10 ** (-1.0 / 20)  # -1 dBFS


@dataclasses.dataclass(frozen=True, eq=False)
class Song:
    """A rendered song.

    Attributes:
        samples: float32 array of shape ``(n, 2)`` in ``[-1, 1]`` (stored channel by channel; use
            ``np.ascontiguousarray(song.samples)`` if you need interleaved memory).
        sample_rate: samples per second.
        duration_s: ``n / sample_rate``.
        style: the preset name the style resolved to.
        tempo_bpm: the tempo.
        key: the key, e.g. ``"A minor"``.
        sections: ``(tag, start_s, end_s)`` for every section heard (``intro``, ``verse``, ``chorus``…;
            ``song`` when the lyrics have no tags).
        phrases: ``(line, start_s, end_s)`` for every sung (or, instrumental, played) lyric line.
        seed: the seed it was rendered with.
    """

    samples: Array
    sample_rate: int
    duration_s: float
    style: str
    tempo_bpm: float
    key: str
    sections: list[tuple[str, float, float]]
    phrases: list[tuple[str, float, float]] = dataclasses.field(default_factory=list)
    seed: int = 0

    @property
    def channels(self) -> int:
        """Number of channels (always 2)."""
        return int(self.samples.shape[1])

    def __repr__(self) -> str:
        return (
            f"Song(style={self.style!r}, key={self.key!r}, tempo_bpm={self.tempo_bpm:g}, "
            f"duration_s={self.duration_s:.2f}, sample_rate={self.sample_rate}, "
            f"sections={len(self.sections)})"
        )


class _Send:
    """Adds a signal into one or more buses with fixed gains (panning without a full-length pass)."""

    def __init__(self, *targets: tuple[Array, float]) -> None:
        self.targets = targets

    def add(self, start: int, sig: Array, gain: float = 1.0) -> None:
        for bus, g in self.targets:
            add_at(bus, start, sig, gain * g)


class _Clock:
    """Beats → sample positions, with swing on off-beat 8ths and 16ths."""

    def __init__(self, tempo_bpm: float, sample_rate: int, swing: float) -> None:
        self.spb = 60.0 / tempo_bpm * sample_rate
        self.swing = swing

    def at(self, beat: float) -> int:
        frac = beat % 1.0
        if abs(frac - 0.5) < 1e-6:
            beat += self.swing * 0.5
        elif abs(frac - 0.25) < 1e-6 or abs(frac - 0.75) < 1e-6:
            beat += self.swing * 0.25
        return round(beat * self.spb)

    def length(self, beats: float) -> int:
        return round(beats * self.spb)


def _chord_midis(preset: StylePreset, degree: int, *, sevenths: bool, low: int = 55) -> tuple[float, ...]:
    steps = (0, 2, 4, 6) if sevenths else (0, 2, 4)
    out = []
    for s in steps:
        d = degree + s
        pc = (preset.root + preset.scale[d % 7]) % 12
        m = low + ((pc - low) % 12)
        out.append(float(m))
    return tuple(sorted(out))


def _bass_midi(preset: StylePreset, degree: int, low: int) -> int:
    pc = (preset.root + preset.scale[degree % 7]) % 12
    return low + ((pc - low) % 12)


# Chord rhythms: (start beat, length in beats, velocity) per bar, by instrument and level.
def _chord_hits(kind: str, level: float) -> list[tuple[float, float, float]]:
    if level < 1.5 or kind == "pad":
        return [(0.0, 4.0, 0.8 if level < 1.5 else 1.0)]
    if kind == "piano":
        if level >= 3:
            return [(b * 0.5, 0.5, 1.0 if b % 2 == 0 else 0.7) for b in range(8)]
        return [(0.0, 1.5, 1.0), (1.5, 1.0, 0.8), (2.5, 1.5, 0.85)]
    if kind == "epiano":
        if level >= 3:
            return [(0.0, 1.5, 1.0), (1.5, 1.0, 0.8), (2.5, 1.0, 0.85), (3.5, 0.5, 0.7)]
        return [(0.0, 1.5, 1.0), (1.5, 2.5, 0.8)]
    if kind == "guitar":
        pattern = [
            (0.0, 1.0, 1.0),
            (1.0, 0.5, 0.8),
            (1.5, 0.5, 0.6),
            (2.5, 0.5, 0.7),
            (3.0, 0.5, 0.85),
            (3.5, 0.5, 0.6),
        ]
        return pattern
    if kind == "power":
        if level >= 3:
            return [(0.0, 2.0, 1.0), (2.0, 1.5, 0.9), (3.5, 0.5, 0.8)]
        return [(b * 0.5, 0.4, 0.9 if b % 2 == 0 else 0.7) for b in range(8)]
    if kind == "supersaw":
        if level >= 3:
            return [(b + 0.5, 0.4, 1.0) for b in range(4)]
        return [(0.0, 4.0, 0.8)]
    return [(0.0, 4.0, 1.0)]


def _render_score(
    score: Score,
    preset: StylePreset,
    sample_rate: int,
    n_total: int,
    seed: int,
    style_text: str,
    instrumental: bool,
) -> Array:
    sr = sample_rate
    clock = _Clock(preset.tempo_bpm, sr, preset.swing)
    rng = np.random.default_rng(stable_seed("sounds", seed, style_text, preset.name))
    voice = np.zeros(n_total, dtype=np.float32)
    lead: Array | None = None  # only instrumental parts need it
    chords = np.zeros(n_total, dtype=np.float32)
    center = np.zeros(n_total, dtype=np.float32)  # bass, kick, snare, pad: straight to the middle
    stereo = np.zeros((2, n_total), dtype=np.float32)  # returned transposed: no copy at the end
    left, right = stereo[0], stereo[1]
    pad_send = _Send((center, 0.12))
    bass_send = _Send((center, 0.32))
    drums_c = _Send((center, 0.5))
    drums_l = _Send((left, 1.8), (right, 0.7))
    drums_r = _Send((left, 0.7), (right, 1.8))

    drums = Drums(sr, rng, lofi=preset.lofi)
    chord_inst = Instrument(preset.chords, sr, preset.brightness)
    pad_inst = Instrument("pad", sr, preset.brightness)
    bass_inst = Instrument(preset.bass, sr, preset.brightness)
    lead_inst = Instrument("lead", sr, preset.brightness)
    bass_low = 28 if preset.bass in ("sub", "808") else 33
    tail = int(0.18 * sr)

    # --- accompaniment, bar by bar ---------------------------------------------------------------
    bars = score.bars
    for i, bar in enumerate(bars):
        b0 = i * BEATS_PER_BAR
        if clock.at(b0) >= n_total:
            break
        nxt: Bar | None = bars[i + 1] if i + 1 < len(bars) else None
        _chords_bar(chords, pad_send, chord_inst, pad_inst, preset, bar, b0, clock, tail)
        _bass_bar(bass_send, bass_inst, preset, bar, nxt, b0, clock, bass_low)
        _drums_bar(drums_c, drums_l, drums_r, drums, preset, bar, nxt, b0, clock)

    # --- melody: voice or lead -------------------------------------------------------------------
    noise = NoiseBank(sr, rng)
    sung: list[VoiceNote] = []
    dbl: list[VoiceNote] = []
    harm: list[VoiceNote] = []
    notes = score.notes
    overlap = int(0.035 * sr)
    for k, note in enumerate(notes):
        start = clock.at(note.beat)
        if start >= n_total:
            continue
        nominal = clock.length(note.beats)
        nxt_note = notes[k + 1] if k + 1 < len(notes) else None
        legato_next = nxt_note is not None and nxt_note.beat - (note.beat + note.beats) < 0.01
        length = nominal + overlap if legato_next else max(nominal - int(0.03 * sr), int(0.05 * sr))
        if note.lead or note.syllable is None or instrumental:
            if lead is None:
                lead = np.zeros(n_total, dtype=np.float32)
            add_at(lead, start, lead_inst.note(note.midi, length + tail), 0.3)
            continue
        s = note.syllable
        prev_note = notes[k - 1] if k > 0 else None
        legato = (
            prev_note is not None
            and prev_note.syllable is not None
            and note.beat - (prev_note.beat + prev_note.beats) < 0.01
        )
        prev_vowel = ""
        glide_r = 0.0
        if legato and prev_note is not None and prev_note.syllable is not None:
            glide_r = 1.0 - 2.0 ** ((prev_note.midi - note.midi) / 12.0)
            prev_vowel = prev_note.syllable.offglide or prev_note.syllable.vowel
        off = s.offglide
        sung.append(
            VoiceNote(start, length, note.midi, s.vowel, s.onset, s.coda, 1.0, glide_r, prev_vowel, off)
        )
        if note.harmony is not None:
            harm.append(
                VoiceNote(start, length, note.harmony, s.vowel, s.onset, "", 0.55, glide_r, prev_vowel, off)
            )
            dbl.append(
                VoiceNote(
                    start + int(0.012 * sr),
                    length,
                    note.midi + 0.07,
                    s.vowel,
                    "",
                    "",
                    0.7,
                    glide_r,
                    prev_vowel,
                    off,
                )
            )
    fs = preset.voice_formant_scale
    sing(voice, sung, sr, noise, formant_scale=fs, bright=0.6 + 0.6 * preset.brightness)

    # --- mix (left and right as contiguous mono arrays; a stereo pair only at the end) -------------
    haas = int(0.011 * sr)
    chord_gain = 0.30 if preset.chords not in ("power", "supersaw") else 0.22
    scratch = np.empty(n_total, dtype=np.float32)

    def acc(dst: Array, src: Array, gain: float) -> None:
        """``dst += gain * src`` without allocating a temporary."""
        tmp = scratch[: src.shape[0]]
        np.multiply(src, np.float32(gain), out=tmp)
        dst += tmp

    if not preset.lofi:
        # Presence: a gentle high shelf (about +4 dB above ~2 kHz) on the voice and the chords.
        for bus, amount in ((voice, 0.6), (chords, 0.35)):
            low = box_lowpass(bus, max(2, sr // 2500), 2)
            bus *= np.float32(1.0 + amount)
            acc(bus, low, -amount)
            del low
    acc(center, voice, 1.4)
    voice *= np.float32(0.5)
    send = voice  # the voice bus becomes the reverb send
    if harm:
        # Chorus voices: render only the span they cover, pan them, send them to the reverb.
        a = max(min(v.start for v in harm) - int(0.1 * sr), 0)
        b = min(max(v.start + v.length for v in dbl) + int(0.1 * sr), n_total)
        harmony = np.zeros(b - a, dtype=np.float32)
        double = np.zeros(b - a, dtype=np.float32)
        shift = [dataclasses.replace(v, start=v.start - a) for v in harm]
        sing(harmony, shift, sr, noise, formant_scale=fs * 1.03, consonants=False, vibrato=0.004, breath=0.02)
        shift = [dataclasses.replace(v, start=v.start - a) for v in dbl]
        sing(double, shift, sr, noise, formant_scale=fs * 0.98, consonants=False, vibrato=0.007, breath=0.02)
        acc(left[a:b], harmony, 0.35)
        acc(left[a:b], double, 0.1)
        acc(right[a:b], harmony, 0.15)
        acc(right[a:b], double, 0.35)
        harmony += double
        acc(send[a:b], harmony, 0.3)
        del harmony, double
    if lead is not None:
        acc(center, lead, 0.16)
        acc(send, lead, 0.2)
        del lead
    left += center
    right += center
    del center
    acc(left, chords, chord_gain)
    acc(right[haas:], chords[:-haas], chord_gain)
    acc(send, chords, 0.3)
    del chords
    wet_l, wet_r = convolution_reverb(
        send, sr, rng, decay_s=0.42 if preset.name in ("ballad", "jazz") else 0.3
    )
    del send, voice
    wet = 0.5 if preset.name in ("ballad", "lo-fi", "jazz") else 0.42
    acc(left, wet_l, wet)
    acc(right, wet_r, wet)
    del wet_l, wet_r
    if preset.lofi:
        left[:] = box_lowpass(left, max(2, sr // 14000), 2)
        right[:] = box_lowpass(right, max(2, sr // 14000), 2)
        crackle = np.zeros(n_total, dtype=np.float32)
        pos = rng.integers(0, n_total, size=max(1, n_total // (sr // 9)))
        crackle[pos] = rng.uniform(-0.5, 0.5, size=pos.size).astype(np.float32)
        hiss = rng.standard_normal(n_total, dtype=np.float32)
        acc(left, crackle, 0.05)
        acc(right, crackle, 0.05)
        acc(left, hiss, 0.004)
        acc(right, hiss, -0.004)
    return stereo.T  # (n, 2), column-major: each channel contiguous


def _chords_bar(
    bus: Array,
    pad_bus: _Send,
    inst: Instrument,
    pad_inst: Instrument,
    preset: StylePreset,
    bar: Bar,
    b0: float,
    clock: _Clock,
    tail: int,
) -> None:
    voicing = _chord_midis(preset, bar.chord, sevenths=preset.sevenths)
    if preset.chords == "power":
        root = _bass_midi(preset, bar.chord, 40) + 12.0
        voicing = (root, root + 7.0, root + 12.0)
    if bar.tag == "end":
        add_at(bus, clock.at(b0), inst.chord(voicing, clock.length(4.0) + tail), 0.9)
        pad_bus.add(clock.at(b0), pad_inst.chord(voicing, clock.length(4.0) + tail), 0.8)
        return
    strum = 0.012 if preset.chords == "guitar" else 0.0
    for beat, length, vel in _chord_hits(preset.chords, bar.level):
        sig = inst.chord(voicing, clock.length(length) + tail, strum_s=strum)
        add_at(bus, clock.at(b0 + beat), sig, vel * (0.8 if bar.level < 1 else 1.0))
    if bar.level >= 3 or (bar.level >= 1 and preset.chords in ("epiano", "pad")):
        upper = tuple(m + 12 for m in voicing) if bar.level >= 3 else voicing
        pad_bus.add(clock.at(b0), pad_inst.chord(upper, clock.length(4.0) + tail), 1.0)


def _bass_bar(
    bus: _Send,
    inst: Instrument,
    preset: StylePreset,
    bar: Bar,
    nxt: Bar | None,
    b0: float,
    clock: _Clock,
    low: int,
) -> None:
    root = _bass_midi(preset, bar.chord, low)
    if bar.tag == "end":
        bus.add(clock.at(b0), inst.note(root, clock.length(3.0)), 0.9)
        return
    if bar.level < 1:
        if bar.level > 0:
            bus.add(clock.at(b0), inst.note(root, clock.length(4.0)), 0.8)
        return
    pattern = preset.bass_pattern if bar.level >= 2 else "R---R---"
    fifth = _bass_midi(preset, bar.chord + 4, root)
    nxt_root = _bass_midi(preset, nxt.chord, low) if nxt is not None else root
    steps = list(pattern)
    i = 0
    while i < 8:
        ch = steps[i]
        if ch in ".-":
            i += 1
            continue
        j = i + 1
        while j < 8 and steps[j] == "-":
            j += 1
        if ch == "R":
            m = root
        elif ch == "F":
            m = fifth
        elif ch == "O":
            m = root + 12
        else:  # walking: approach the next chord's root
            m = (
                nxt_root + (1 if nxt_root < root else -1)
                if i >= 6
                else _bass_midi(preset, bar.chord + 2, root)
            )
        if bar.level >= 3 and ch == "R" and i % 4 == 2:
            m = root + 12
        length = clock.length((j - i) * 0.5) - int(0.01 * clock.spb)
        bus.add(clock.at(b0 + i * 0.5), inst.note(m, length), 1.0 if i % 4 == 0 else 0.85)
        i = j


def _drums_bar(
    center: _Send,
    left: _Send,
    right: _Send,
    kit: Drums,
    preset: StylePreset,
    bar: Bar,
    nxt: Bar | None,
    b0: float,
    clock: _Clock,
) -> None:
    if bar.tag == "end":
        center.add(clock.at(b0), kit.sound("crash"), 0.3)
        center.add(clock.at(b0), kit.sound("kick"), 0.8)
        return
    level = bar.level
    if level < 1:
        return
    hat = kit.sound(preset.hat_sound)
    hat_gain = {"hat": 0.35, "ride": 0.32, "shaker": 0.35}[preset.hat_sound]
    snare_gain = {"snare": 0.55, "clap": 0.5, "rim": 0.4, "brush": 0.35}[preset.snare_sound]
    snare = kit.sound(preset.snare_sound)
    if level < 2:
        for s in range(0, 16, 4):
            right.add(clock.at(b0 + s * 0.25), hat, hat_gain * 0.7)
        center.add(clock.at(b0), kit.sound("kick"), 0.6)
        return
    fill = bar.last and nxt is not None and nxt.tag in HIGH_SECTIONS and nxt.tag != bar.tag
    for s in range(16):
        pos = clock.at(b0 + s * 0.25)
        k = preset.kick[s]
        if k != "." and not (fill and s >= 12):
            center.add(pos, kit.sound("kick"), 0.9 if k == "x" else 0.6)
        elif level >= 3 and s == 14 and preset.kick[s] == ".":
            center.add(pos, kit.sound("kick"), 0.5)
        sn = preset.snare[s]
        if fill and s >= 12:
            center.add(pos, kit.sound("snare"), 0.3 + 0.08 * (s - 12))
        elif sn != ".":
            center.add(pos, snare, snare_gain * (1.0 if sn == "x" else 0.6))
        h = preset.hat[s]
        if h == "." and bar.tag in ("pre-chorus", "build-up") and preset.hat_sound == "hat":
            h = "o"  # building up: sixteenth hats
        if h != ".":
            right.add(pos, hat, hat_gain * (1.0 if h == "x" else 0.6))
        if preset.open_hat[s] != "." and (level >= 3 or preset.name == "electronic"):
            left.add(pos, kit.sound("open_hat"), 0.2)
    if level >= 3 and bar.first:
        left.add(clock.at(b0), kit.sound("crash"), 0.13)


def _master(mix: Array, sample_rate: int, fade_out_s: float) -> Array:
    """Loudness to ``TARGET_RMS_DBFS``, a soft-knee limiter under ``CEILING``, fades; in place."""
    flat = mix.reshape(-1, order="A")
    total = 0.0
    step = 1 << 18
    for i in range(0, flat.shape[0], step):  # float64 sums, in chunks (no BLAS threads, little memory)
        total += float(np.square(flat[i : i + step], dtype=np.float64).sum())
    rms = float(np.sqrt(total / max(flat.shape[0], 1))) or 1.0
    x = mix
    x *= np.float32(10 ** (TARGET_RMS_DBFS / 20) / rms)
    # Soft knee limiter: linear below the knee, tanh-shaped up to the ceiling.
    knee = 0.6
    idx = np.flatnonzero((flat > knee) | (flat < -knee))
    if idx.size:
        span = CEILING - knee
        v = flat[idx]
        a = np.abs(v)
        flat[idx] = np.sign(v) * (knee + span * np.tanh((a - knee) / span))
    n = x.shape[0]
    fi = min(int(0.005 * sample_rate), n)
    x[:fi] *= np.linspace(0.0, 1.0, fi, dtype=np.float32)[:, None]
    fo = min(int(fade_out_s * sample_rate), n)
    if fo > 1:
        x[n - fo :] *= (np.linspace(1.0, 0.0, fo, dtype=np.float32) ** 2)[:, None]
    np.clip(x, -1.0, 1.0, out=x)
    return x


def render(
    lyrics: str,
    style: str = "pop",
    *,
    seed: int = 0,
    sample_rate: int = 44100,
    max_duration_s: float | None = 60.0,
    instrumental: bool = False,
) -> Song:
    """Render a song for ``lyrics`` in ``style``. Deterministic for ``(lyrics, style, seed)``.

    This is the offline stand-in for the real model (the "minimax_nb offline synth"), not MiniMax's
    music. Each lyric line is sung as a phrase of 2, 4 or more bars over the style's chords, bass and
    drums; the length follows the lyrics, then ``max_duration_s`` caps it.

    How the lyrics shape the arrangement:

    - ``[Verse]``, ``[Chorus]``, ``[Bridge]``… tags: sections. Choruses and hooks are fuller (harmony
      and doubled voices, a wide pad, crash and open hats, busier chords) and sing a repeated hook;
      ``[Intro]``/``[Inst]``/``[Solo]``/``[Break]`` without lines are instrumental bars.
    - A blank line: a one-bar rest in the singing (the band plays on).
    - ``##…##`` around plain (untagged) lyrics: accompaniment — the full band, an intro and an outro.
      Plain lyrics without ``##`` get a light backing (chords and bass, no drums). Tagged lyrics are
      always accompanied.

    Args:
        lyrics: the lyrics (see above). Empty lyrics give an instrumental song of the default form.
        style: a preset name (see ``STYLE_NAMES``) or free text, mapped by :func:`resolve_style`; the
            exact text also seeds the melody, so two unknown styles both sound like pop but differ.
        seed: varies the melody and the sounds.
        sample_rate: output rate in Hz (any rate from 8000 to 48000; MP3 needs one of
            ``MP3_SAMPLE_RATES``).
        max_duration_s: the cap on the length (the minimax-music family caps at 60 s); the song fades
            out at the cap. ``None`` for no cap.
        instrumental: no singing; a lead synth plays the melody.

    Returns:
        a :class:`Song` (float32 stereo samples in [-1, 1] and facts about the arrangement).
    """
    if not 8000 <= int(sample_rate) <= 48000:
        raise ValueError(f"sample_rate must be between 8000 and 48000 Hz, got {sample_rate}")
    if max_duration_s is not None and max_duration_s <= 0:
        raise ValueError(f"max_duration_s must be positive, got {max_duration_s}")
    sr = int(sample_rate)
    preset = resolve_style(style)
    style_text = style or ""
    score = arrange(lyrics or "", preset, seed=seed, style_text=style_text, instrumental=instrumental)
    spb = 60.0 / preset.tempo_bpm
    full_s = len(score.bars) * BEATS_PER_BAR * spb + 0.6
    capped = max_duration_s is not None and full_s > max_duration_s
    duration = float(max_duration_s) if capped and max_duration_s is not None else full_s
    n_total = max(round(duration * sr), 1)
    mix = _render_score(score, preset, sr, n_total, seed, style_text, instrumental)
    samples = _master(mix, sr, 2.5 if capped else 0.6)
    duration_s = n_total / sr
    bar_s = BEATS_PER_BAR * spb
    sections = [
        (tag, round(a * bar_s, 4), round(min(b * bar_s, duration_s), 4))
        for tag, a, b in score.sections
        if a * bar_s < duration_s
    ]
    phrases = [
        (text, round(a * spb, 4), round(min(b * spb, duration_s), 4))
        for text, a, b in score.phrases
        if a * spb < duration_s
    ]
    return Song(
        samples=samples,
        sample_rate=sr,
        duration_s=duration_s,
        style=preset.name,
        tempo_bpm=float(preset.tempo_bpm),
        key=preset.key,
        sections=sections,
        phrases=phrases,
        seed=seed,
    )
