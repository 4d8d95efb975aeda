"""``provider="local"``: the emulator in a child process, one per kernel, shared by its clients.

Running the emulator (and its song synthesizer) inside the kernel costs the notebook its responsiveness:
every status read, every rendered song competes with the cells for the GIL. So the clients of one
process share one emulator child::

    handle = local_emulator(speed=10)            # starts the child on first use
    url = handle.base_url("local")               # "http://127.0.0.1:PORT/local"
    handle.stop()                                # the last holder stopping ends the child

The child is ``python -m minimax_nb.client.local --speed S ...``. It binds a free loopback port and
announces it as one JSON line on its stdout (tagged with a token the parent chose, so no other output
can be mistaken for it). It exits when its stdin closes: the parent holds the other end, so the child
dies with the parent however the parent ends (``kill -9`` included). Every child still running is also
stopped at exit.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any

__all__ = ["DEFAULT_LOCAL_SPEED", "LocalEmulator", "local_emulator", "running_children"]

log = logging.getLogger("minimax_nb.client")

#: a ~55 s song takes ~5 s (env ``MINIMAX_NB_LOCAL_SPEED`` overrides; the same default as the clients)
DEFAULT_LOCAL_SPEED = 10.0
#: seconds the parent waits for the child's announcement
START_TIMEOUT = 60.0
_ANNOUNCE = "minimax_nb-local-emulator"


def _resolve_speed(speed: float | None, env: Mapping[str, str]) -> float:
    if speed is not None:
        if not speed > 0:
            raise ValueError("the local emulator's speed must be > 0")
        return float(speed)
    raw = env.get("MINIMAX_NB_LOCAL_SPEED")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if value > 0:
            return value
        log.warning("ignoring MINIMAX_NB_LOCAL_SPEED=%r (not a positive number)", raw)
    return DEFAULT_LOCAL_SPEED


class _Child:
    """One running emulator child and how many handles hold it."""

    def __init__(self, key: tuple[float, str, str], proc: subprocess.Popen[str], port: int,
                 api_key: str, log_file: IO[str]) -> None:
        self.key = key
        self.proc = proc
        self.port = port
        self.api_key = api_key
        self.log_file = log_file
        self.refs = 0

    def stop(self) -> None:
        proc = self.proc
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()  # the child's signal to shut down cleanly
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(Exception):
            self.log_file.close()


_lock = threading.Lock()
_children: dict[tuple[float, str, str], _Child] = {}
_atexit_registered = False


class LocalEmulator:
    """A hold on the shared emulator child. ``stop()`` releases it (idempotent); the child ends when
    its last holder stops, or at exit."""

    def __init__(self, child: _Child, speed: float) -> None:
        self._child = child
        self.speed = speed
        self.port = child.port
        self.url = f"http://127.0.0.1:{child.port}"
        #: the key the emulator accepts (``minimax_nb.emulator.DEFAULT_KEY``; not a secret)
        self.default_key = child.api_key
        self._stopped = False

    @property
    def pid(self) -> int:
        return self._child.proc.pid

    @property
    def running(self) -> bool:
        return not self._stopped and self._child.proc.poll() is None

    def base_url(self, provider: str) -> str:
        """The root of ``provider``'s API on the emulator (``"local"`` is the AIML shape at ``/local``)."""
        return f"{self.url}/{provider}"

    def stop(self) -> None:
        with _lock:
            if self._stopped:
                return
            self._stopped = True
            child = self._child
            child.refs -= 1
            last = child.refs <= 0 and _children.get(child.key) is child
            if last:
                del _children[child.key]
        if last:
            child.stop()

    close = stop

    def __enter__(self) -> LocalEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LocalEmulator {self.url} speed={self.speed:g} pid={self.pid} {state}>"


def local_emulator(speed: float | None = None, env: Mapping[str, str] | None = None, *,
                   generation: str | None = None, queue: str | None = None) -> LocalEmulator:
    """A hold on this process's emulator child for ``speed`` (started on first use, then shared).

    ``speed`` ``None`` reads ``MINIMAX_NB_LOCAL_SPEED`` from ``env`` (default ``os.environ``), else 10.
    ``generation``/``queue`` are ``minimax_nb.emulator.engine.Timing`` specs (seconds at speed 1;
    env ``MINIMAX_NB_LOCAL_GENERATION`` / ``MINIMAX_NB_LOCAL_QUEUE``); unset: the documented 50–60 s.
    Children differ by speed and timing; each is shared by every caller asking for the same.
    """
    env = os.environ if env is None else env
    resolved = _resolve_speed(speed, env)
    generation = generation or env.get("MINIMAX_NB_LOCAL_GENERATION") or ""
    queue = queue or env.get("MINIMAX_NB_LOCAL_QUEUE") or ""
    if generation or queue:
        from minimax_nb.emulator.engine import Timing

        Timing(generation or "uniform:50:60", queue or "fixed:0")  # a bad spec fails here, clearly
    key = (resolved, generation, queue)
    global _atexit_registered
    with _lock:
        child = _children.get(key)
        if child is not None and child.proc.poll() is not None:  # died (killed from outside): replace
            del _children[key]
            child.stop()
            child = None
        if child is None:
            child = _start(key)
            _children[key] = child
            if not _atexit_registered:
                atexit.register(stop_all)
                _atexit_registered = True
        child.refs += 1
        return LocalEmulator(child, resolved)


def running_children() -> list[int]:
    """Process ids of this process's emulator children still running."""
    with _lock:
        return [c.proc.pid for c in _children.values() if c.proc.poll() is None]


def stop_all() -> None:
    """Stop every emulator child of this process (registered with ``atexit``)."""
    with _lock:
        children = list(_children.values())
        _children.clear()
    for child in children:
        child.stop()


def _start(key: tuple[float, str, str]) -> _Child:
    speed, generation, queue = key
    token = secrets.token_hex(8)
    cmd = [sys.executable, "-m", "minimax_nb.client.local", "--speed", repr(speed), "--token", token]
    if generation:
        cmd += ["--generation", generation]
    if queue:
        cmd += ["--queue", queue]
    # the child's stderr, kept for the error message should it fail to start; closed by _Child.stop
    log_file = tempfile.TemporaryFile("w+", prefix="minimax_nb-emulator-", suffix=".log")  # noqa: SIM115
    env = dict(os.environ)
    # the child imports this very package (a source checkout on sys.path included)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH", "")) if p)
    kwargs: dict[str, Any] = {}
    if os.name == "posix":
        kwargs["start_new_session"] = True  # a Ctrl-C meant for the parent does not reach the child first
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file,
                            text=True, env=env, **kwargs)
    try:
        port, api_key = _read_announcement(proc, token)
    except BaseException:
        with contextlib.suppress(Exception):
            proc.kill()
            proc.wait(5)
        log_file.seek(0)
        tail = log_file.read()[-2000:]
        log_file.close()
        raise RuntimeError(f"the local emulator did not start: {tail.strip() or 'no output'}") from None
    return _Child(key, proc, port, api_key, log_file)


def _package_root() -> str:
    import minimax_nb

    return os.path.dirname(os.path.dirname(os.path.abspath(minimax_nb.__file__)))


def _read_announcement(proc: subprocess.Popen[str], token: str) -> tuple[int, str]:
    """The port announced by the child: the first stdout line that is our tagged JSON."""
    result: dict[str, Any] = {}
    done = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                with contextlib.suppress(ValueError):
                    msg = json.loads(line)
                    if isinstance(msg, dict) and msg.get(_ANNOUNCE) == token:
                        result.update(msg)
                        return
        finally:
            done.set()

    threading.Thread(target=reader, name="minimax_nb-emulator-announce", daemon=True).start()
    if not done.wait(START_TIMEOUT) or "port" not in result:
        raise RuntimeError("no announcement")
    port = result["port"]
    if not isinstance(port, int) or not 0 < port < 65536:
        raise RuntimeError("bad announcement")
    return port, str(result.get("key", ""))


# --------------------------------------------------------------------------------------------------
# the child
# --------------------------------------------------------------------------------------------------


def _child_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minimax_nb.client.local")
    parser.add_argument("--speed", type=float, default=DEFAULT_LOCAL_SPEED)
    parser.add_argument("--token", required=True)
    parser.add_argument("--generation", default="")
    parser.add_argument("--queue", default="")
    args = parser.parse_args(argv)
    # The offline world stands in for servers far away: when the synthesizer and the notebook's kernel
    # want the same cores, the kernel (the user's typing, the widgets) goes first.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(5)

    from minimax_nb.emulator import DEFAULT_KEY, Emulator
    from minimax_nb.emulator.engine import Timing

    # a fresh seed per session, as a real service varies
    emu = Emulator(speed=args.speed, seed=secrets.randbelow(2**31), host="127.0.0.1", port=0)
    if args.generation or args.queue:
        emu.engine.timing = Timing(args.generation or "uniform:50:60", args.queue or "fixed:0")
    emu.start()
    stop = threading.Event()
    with contextlib.suppress(ValueError):  # not the main thread: only stdin EOF stops it
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the child ends

    def watch_parent() -> None:  # the parent holds our stdin: EOF means it stopped us or died
        with contextlib.suppress(Exception):
            while sys.stdin.readline():
                pass
        stop.set()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    sys.stdout.write(json.dumps({_ANNOUNCE: args.token, "port": emu.port, "key": DEFAULT_KEY,
                                 "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main())
