"""Command line: render a song offline.

python -m minimax_nb.synth --style pop --lyrics-file song.txt -o song.mp3 [--seed N]
    [--sample-rate 44100] [--bitrate 128000] [--max-duration 60] [--instrumental] [--cover cover.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from minimax_nb.synth.cover import cover_png
from minimax_nb.synth.encode import encode, mp3_bitrate
from minimax_nb.synth.mix import render
from minimax_nb.synth.styles import PRESETS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m minimax_nb.synth``."""
    p = argparse.ArgumentParser(
        prog="python -m minimax_nb.synth",
        description="Render a song with the minimax_nb offline synth (a stand-in, not MiniMax's model).",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--lyrics-file", type=Path, help="a text file with the lyrics ('-' reads stdin)")
    src.add_argument("--lyrics", help="the lyrics as text (use \\n for new lines)")
    p.add_argument("--style", default="pop", help="a preset name or free text (default: pop)")
    p.add_argument("-o", "--output", type=Path, help="output file: .mp3 or .wav")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sample-rate", type=int, default=44100)
    p.add_argument("--bitrate", type=int, default=None, help="MP3 bits per second (default 128000)")
    p.add_argument("--max-duration", type=float, default=60.0, help="cap in seconds (0: no cap)")
    p.add_argument("--instrumental", action="store_true")
    p.add_argument("--cover", type=Path, help="also write a PNG cover here")
    p.add_argument("--title", default=None, help="the title on the cover (default: the output's name)")
    p.add_argument("--list-styles", action="store_true", help="print the style presets and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_styles:
        for preset in PRESETS.values():
            print(
                f"{preset.name:<11} {preset.tempo_bpm:>4g} bpm  {preset.key:<9} "
                f"{preset.chords}, {preset.bass} bass"
            )
        return 0
    if args.output is None:
        parser.error("the following arguments are required: -o/--output")
    if args.lyrics_file is not None:
        lyrics = sys.stdin.read() if str(args.lyrics_file) == "-" else args.lyrics_file.read_text("utf-8")
    else:
        lyrics = (args.lyrics or "").replace("\\n", "\n")
    suffix = args.output.suffix.lower().lstrip(".")
    if suffix not in ("mp3", "wav"):
        print(f"error: the output must end in .mp3 or .wav, not {args.output.name!r}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        song = render(
            lyrics,
            args.style,
            seed=args.seed,
            sample_rate=args.sample_rate,
            max_duration_s=args.max_duration or None,
            instrumental=args.instrumental,
        )
        data = encode(song, "mp3" if suffix == "mp3" else "wav", bitrate=args.bitrate)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.output.write_bytes(data)
    extra = f", {mp3_bitrate(song.sample_rate, args.bitrate) // 1000} kbps" if suffix == "mp3" else ""
    print(
        f"{args.output}: {song.duration_s:.1f} s, {song.style}, {song.key}, {song.tempo_bpm:g} bpm, "
        f"{song.sample_rate} Hz stereo{extra} ({time.perf_counter() - t0:.2f} s)"
    )
    if args.cover is not None:
        args.cover.write_bytes(cover_png(args.title or args.output.stem, args.style, seed=args.seed))
        print(f"{args.cover}: cover")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
