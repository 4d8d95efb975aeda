"""``python -m minimax_nb.emulator --port 8765 [--speed 50] [--faults FILE] [--host 127.0.0.1] [--tls]``.

Runs the emulator in the foreground until Ctrl-C and prints each provider's base URL.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

from minimax_nb.emulator.common import DEFAULT_KEY
from minimax_nb.emulator.server import PROVIDERS, Emulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minimax_nb.emulator",
                                     description="Offline emulator of the MiniMax music APIs.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    parser.add_argument("--speed", type=float, default=1.0, help="time factor (50: a song in about 1 s)")
    parser.add_argument("--faults", default=None, help="JSON file of fault rules")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--url-ttl", type=float, default=86400.0, help="audio URL lifetime in seconds")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS with a throwaway CA (its file is printed: set it as SSL_CERT_FILE)")
    args = parser.parse_args(argv)

    emu = Emulator(speed=args.speed, faults=args.faults, seed=args.seed, host=args.host, port=args.port,
                   url_ttl_s=args.url_ttl, tls=args.tls)
    emu.start()
    print(f"minimax_nb emulator on {emu.url} (speed {args.speed:g}, key {DEFAULT_KEY!r})", flush=True)
    for p in PROVIDERS:
        print(f"  {p:9s} {emu.base_url(p)}", flush=True)
    print(f"  {'fal run':9s} {emu.url}/falrun", flush=True)
    if emu.ca_file:
        print(f"  CA file   {emu.ca_file}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
