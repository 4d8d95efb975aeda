"""Speed of the offline synth: a 60 s stereo 44.1 kHz song, against real time and a plain numpy sine.

    .venv/bin/python bench/bench_synth.py [--repeat 5] [--sample-rate 44100] [--style pop]

Prints the best and median render times (wall clock, and the best CPU time), the ratio to real time
(render seconds per second of audio) and the ratio to a baseline made in the same process: a plain
stereo numpy sine of the same length.
Also times WAV and MP3 encoding. No assertions: numbers for people and CI logs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _common import Row

from minimax_nb.synth import STYLE_NAMES, encode, render

LYRICS = """[Intro]

[Verse]
Walking down the empty street tonight
Every window holds a different light
I can hear the city breathing slow
Telling me the things I'll never know

[Pre Chorus]
And the night is calling out my name

[Chorus]
Sing it loud and sing it clear
Hold the moment, I am here
Sing it loud and sing it clear
Hold the moment, I am here

[Verse]
Morning comes and paints the sky in gold
Every story waiting to be told

[Chorus]
Sing it loud and sing it clear
Hold the moment, I am here
"""


def _time(fn: object, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each of ``repeat`` calls (both clocks read around the same call)."""
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return wall, cpu


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--sample-rate", type=int, default=44100)
    p.add_argument("--style", default="all", help="a preset, or 'all'")
    args = p.parse_args()
    sr = args.sample_rate
    render("warm up", "pop", sample_rate=sr, max_duration_s=2)

    n = 60 * sr

    def baseline() -> None:
        t = np.arange(n, dtype=np.float64) / sr
        mono = np.sin(2 * np.pi * 440.0 * t).astype(np.float32)
        np.stack([mono, mono], axis=1)

    base_wall, base_cpus = _time(baseline, args.repeat)
    base, base_cpu = min(base_wall), min(base_cpus)
    print(f"baseline: plain stereo numpy sine, 60 s at {sr} Hz: {base * 1000:.1f} ms")
    styles = STYLE_NAMES if args.style == "all" else (args.style,)
    print(f"  (CPU time {base_cpu * 1000:.1f} ms; CPU time is the fairer figure on a busy machine)")
    print(
        f"{'style':<11} {'audio s':>7} {'best ms':>8} {'median ms':>9} {'cpu ms':>7} {'x real time':>11} "
        f"{'x sine':>7}"
    )
    for style in styles:
        song = render(LYRICS, style, sample_rate=sr)
        times, cpus = _time(lambda style=style: render(LYRICS, style, sample_rate=sr), args.repeat)
        best, med, cpu = min(times), statistics.median(times), min(cpus)
        print(
            f"{style:<11} {song.duration_s:7.1f} {best * 1000:8.0f} {med * 1000:9.0f} {cpu * 1000:7.0f} "
            f"{best / song.duration_s:11.4f} {best / base:7.1f}"
        )
    song = render(LYRICS, "pop", sample_rate=sr)
    x = song.samples
    rms = 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    peak = 20 * np.log10(np.max(np.abs(x)))
    print(f"pop loudness: RMS {rms:.1f} dBFS, peak {peak:.1f} dBFS")
    wav = min(_time(lambda: encode(song, "wav"), args.repeat)[0])
    mp3 = min(_time(lambda: encode(song, "mp3", bitrate=128000), max(1, args.repeat // 2))[0])
    print(f"encode {song.duration_s:.0f} s: WAV {wav * 1000:.0f} ms, MP3 128 kbps {mp3 * 1000:.0f} ms")


def run(quick: bool = False) -> list[Row]:
    """The real-time factor of a song in the default style (CPU seconds per second of audio) vs the
    plain numpy sine of the same length."""
    sr, repeat = 44100, (2 if quick else 3)
    render("warm up", "pop", sample_rate=sr, max_duration_s=2)
    song = render(LYRICS, "pop", sample_rate=sr)
    n = int(song.duration_s * sr)

    def baseline() -> None:
        t = np.arange(n, dtype=np.float64) / sr
        mono = np.sin(2 * np.pi * 440.0 * t).astype(np.float32)
        np.stack([mono, mono], axis=1)

    base = min(_time(baseline, repeat)[1])
    cpu = min(_time(lambda: render(LYRICS, "pop", sample_rate=sr), repeat)[1])
    rtf = cpu / song.duration_s
    return [Row(f"synth real-time factor ({song.duration_s:.0f} s pop song, CPU s per audio s)", rtf, "",
                base / song.duration_s, "numpy stereo sine", "≤ 0.05 (20x real time)", rtf <= 0.05)]


if __name__ == "__main__":
    main()
