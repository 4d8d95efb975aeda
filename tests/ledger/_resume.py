"""Child process for the resume test: ``client.resume()`` in a fresh process; prints a JSON summary.

    python tests/ledger/_resume.py PROVIDER BASE_URL LEDGER DOWNLOAD_DIR SPEED [sync|async]
"""

from __future__ import annotations

import asyncio
import json
import sys

import minimax_nb
from minimax_nb.emulator import DEFAULT_KEY
from minimax_nb.models import Job


async def _resume_async(kw: dict[str, object]) -> list[Job]:
    async with minimax_nb.AsyncMusicClient(**kw) as client:  # type: ignore[arg-type]
        return await client.resume()


def main() -> None:
    provider, base_url, ledger, download_dir, speed = sys.argv[1:6]
    mode = sys.argv[6] if len(sys.argv) > 6 else "sync"
    kw: dict[str, object] = {"provider": provider, "base_url": base_url, "api_key": DEFAULT_KEY,
                             "ledger": ledger, "download_dir": download_dir, "emulator_speed": float(speed)}
    if mode == "async":
        jobs = asyncio.run(_resume_async(kw))
    else:
        with minimax_nb.MusicClient(**kw) as client:  # type: ignore[arg-type]
            jobs = client.resume()
    print(json.dumps([{"local_id": j.local_id, "status": j.status.value, "id": j.id,
                       "audio_path": str(j.audio_path) if j.audio_path else None} for j in jobs]))


if __name__ == "__main__":
    main()
