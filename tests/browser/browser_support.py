"""Helpers of the browser tests: isolated environments, servers on 127.0.0.1, artifacts.

Everything runs on 127.0.0.1 with HOME/XDG/JUPYTER/IPYTHON dirs in a temp dir, so the tests never read a
developer's Jupyter config nor write into ``~``. Chromium is Debian's ``/usr/bin/chromium`` (override with
``CHROMIUM_PATH``); the tests skip with a clear reason when it is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STUDIO_NB = REPO / "notebooks" / "02_studio.ipynb"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
HAVE_CHROMIUM = os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)
SKIP_REASON = (f"Chromium not found at {CHROMIUM}: run `apt-get install -y chromium chromium-driver` "
               "(or set CHROMIUM_PATH) to run the browser tests")
CHROME_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--autoplay-policy=user-gesture-required",
]
T_SERVER = 90  # s, server start
T_UI = 90_000  # ms, page / kernel / widget waits
ISOLATE = [("HOME", "home"), ("XDG_CONFIG_HOME", "xdg-config"), ("XDG_CACHE_HOME", "xdg-cache"),
           ("XDG_DATA_HOME", "xdg-data"), ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
           ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
           ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("IPYTHONDIR", "ipython")]
ARTIFACTS = Path(os.environ.get("MINIMAX_NB_ARTIFACTS") or REPO / "artifacts")  # scripts/test.sh sets it


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment for servers, kernels and the browser that never touches the real ``~``."""
    env = dict(os.environ)
    for k, sub in ISOLATE:
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[k] = str(home / sub)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    # the kernel must import this checkout's minimax_nb whatever its cwd
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["MINIMAX_NB_LOCAL_SPEED"] = "50"
    env["MINIMAX_NB_LEDGER"] = str(home / "ledger.sqlite")
    env.pop("JUPYTER_TOKEN", None)
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # reap the kernels left in the group
    proc.wait(5)


def start_server(cmd_for_port: Callable[[int], list[str]], ready_path: str, env: dict[str, str],
                 log_path: Path, attempts: int = 3) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server on a free port and wait until ``ready_path`` answers HTTP (retries port races)."""
    last = ""
    for _ in range(attempts):
        port = _free_port()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd_for_port(port), stdout=log, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + T_SERVER
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(base + ready_path, timeout=2):
                    return proc, base
            except urllib.error.HTTPError as e:
                if e.code < 500:
                    return proc, base
                time.sleep(0.2)
            except OSError:
                time.sleep(0.2)
        last = log_path.read_text()[-3000:]
        _stop(proc)
    raise RuntimeError(f"server did not come up; log tail:\n{last}")


def _put_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
