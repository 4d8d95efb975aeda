"""Child process for the resume test: ``client.resume()`` in a fresh process; prints a JSON summary.

    python tests/ledger/_resume.py PROVIDER BASE_URL LEDGER DOWNLOAD_DIR SPEED
"""

from __future__ import annotations

import json
import sys

import minimax_nb
from minimax_nb.emulator import DEFAULT_KEY


def main() -> None:
    provider, base_url, ledger, download_dir, speed = sys.argv[1:6]
    with minimax_nb.MusicClient(provider=provider, base_url=base_url, api_key=DEFAULT_KEY, ledger=ledger,
                                download_dir=download_dir, emulator_speed=float(speed)) as client:
        jobs = client.resume()
    print(json.dumps([{"local_id": j.local_id, "status": j.status.value, "id": j.id,
                       "audio_path": str(j.audio_path) if j.audio_path else None} for j in jobs]))


if __name__ == "__main__":
    main()
