"""minimax_nb offline synth: a stand-in song renderer for the offline emulator.

This is **not** MiniMax's model. It renders a real, listenable (if modest) song from lyrics and a style
so that the emulator, the tests and keyless demos have genuine audio: a formant-synthesised voice sings
each lyric line over chords, bass and drums picked by a style preset, with numpy only (and lameenc for
MP3, Pillow for the cover).

    from minimax_nb.synth import render, encode, cover_png
    song = render("[Verse]\\nHello world\\n[Chorus]\\nSing it loud", "pop", seed=1)
    open("song.mp3", "wb").write(encode(song, "mp3", bitrate=128000))

Command line: ``python -m minimax_nb.synth --style pop --lyrics-file song.txt -o song.mp3``.
"""

from __future__ import annotations

from minimax_nb.synth.cover import cover_png
from minimax_nb.synth.encode import MP3_SAMPLE_RATES, encode, mp3_bitrate
from minimax_nb.synth.mix import Song, render
from minimax_nb.synth.styles import PRESETS, STYLE_NAMES, StylePreset, resolve_style
from minimax_nb.synth.text import parse_lyrics, split_syllables

__all__ = [
    "MP3_SAMPLE_RATES",
    "PRESETS",
    "STYLE_NAMES",
    "Song",
    "StylePreset",
    "cover_png",
    "encode",
    "mp3_bitrate",
    "parse_lyrics",
    "render",
    "resolve_style",
    "split_syllables",
]
