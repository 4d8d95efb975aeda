"""The headless demo: one song made offline on provider "local", its DataFrame row and file path.

Run by ``bash scripts/demo.sh --headless`` (or directly with the venv's python). No key, no network:
the emulator and the synthesizer run in this process. Exit code 0 when the song was made.
"""

from __future__ import annotations

import sys
from pathlib import Path

LYRICS = """[Verse]
Lights come on across the harbor
Every window tells a tale
[Chorus]
Sing it loud, the night is ours
Sing it loud and never fail
"""


def main() -> int:
    import pandas as pd

    from minimax_nb import MusicClient, MusicRequest
    from minimax_nb.results import results

    request = MusicRequest(lyrics=LYRICS, style="upbeat synth-pop, bright female vocals",
                           title="Harbor Lights")
    print("Generating one song on provider 'local' (offline emulator + synthesizer)...", flush=True)
    with MusicClient(provider="local") as client:
        job = client.generate(request)
    record = results([job]).iloc[0]  # this job's row only: no need to load (and measure) the whole ledger
    width = max(len(str(k)) for k in record.index)
    for name, value in record.items():  # one "column  value" line each, values left-aligned
        if isinstance(value, float) and not pd.isna(value):
            value = round(value, 3)
        text = "-" if pd.isna(value) else str(value).strip().replace("\n", " / ")
        print(f"{name:<{width}}  {text}")
    print()
    print(f"status:   {job.status.value}")
    print(f"duration: {job.duration_s} s")
    print(f"file:     {Path(job.audio_path).resolve() if job.audio_path else '-'}")
    return 0 if job.status.value == "completed" and job.audio_path else 1


if __name__ == "__main__":
    sys.exit(main())
