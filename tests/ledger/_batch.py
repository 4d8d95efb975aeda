"""Child process for the resume test: a batch of songs against the emulator, recorded in a ledger.

    python tests/ledger/_batch.py PROVIDER BASE_URL LEDGER DOWNLOAD_DIR COUNT SPEED

It is killed with SIGKILL part-way through; it prints each finished job as it goes.
"""

from __future__ import annotations

import sys

import minimax_nb
from minimax_nb.emulator import DEFAULT_KEY


def main() -> None:
    provider, base_url, ledger, download_dir, count, speed = sys.argv[1:7]
    style_id = "pop" if provider == "useapi" else None  # useapi v1 takes a style id
    model = {"fal": "fal-ai/minimax-music/v2", "replicate": "minimax/music-1.5"}.get(provider)
    requests = [minimax_nb.MusicRequest(lyrics=f"[Verse]\nsong number {i}\nla la la",
                                        style="bright synth-pop, female vocals", style_id=style_id,
                                        model=model, title=f"Batch {i}") for i in range(int(count))]
    with minimax_nb.MusicClient(provider=provider, base_url=base_url, api_key=DEFAULT_KEY, ledger=ledger,
                                download_dir=download_dir, emulator_speed=float(speed)) as client:
        client.generate_many(requests, concurrency=2,
                             on_update=lambda j: print(j.local_id, j.status.value, flush=True))


if __name__ == "__main__":
    main()
