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
                 log_path: Path, attempts: int = 3,
                 cwd: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server on a free port and wait until ``ready_path`` answers HTTP (retries port races)."""
    last = ""
    for _ in range(attempts):
        port = _free_port()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd_for_port(port), stdout=log, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True, cwd=cwd)
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


#: base URL of a shared server -> the ledger file its kernels write (``MINIMAX_NB_LEDGER``).
LEDGERS: dict[str, Path] = {}


def shutdown_kernels(base: str) -> None:
    """Shut down every session and kernel of the Jupyter server at ``base`` (best effort), then remove
    the ledger its kernels wrote, so the next test on that server starts from no earlier jobs."""
    def call(method: str, path: str) -> Any:
        req = urllib.request.Request(base + path, method=method)
        with urllib.request.urlopen(req, timeout=20) as r:
            body = r.read()
        return json.loads(body) if body else None

    with contextlib.suppress(OSError, ValueError):
        for s in call("GET", "/api/sessions") or []:
            with contextlib.suppress(OSError):
                call("DELETE", f"/api/sessions/{s['id']}")
        for k in call("GET", "/api/kernels") or []:
            with contextlib.suppress(OSError):
                call("DELETE", f"/api/kernels/{k['id']}")
    ledger = LEDGERS.get(base)
    if ledger is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(ledger) + suffix).unlink(missing_ok=True)


def _put_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


# ---- page probes shared by the browser tests (JavaScript run with page.evaluate)

KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""

#: The WCAG 2 contrast ratio of an element's text against the first opaque background up its tree.
#: Colours are read back through a 1×1 canvas, so any CSS colour syntax (rgb, color(srgb…)) works.
CONTRAST_JS = """(sel) => {
  const td = document.querySelector(sel);
  if (!td) return null;
  const cv = document.createElement('canvas'); cv.width = cv.height = 1;
  const x = cv.getContext('2d', {willReadFrequently: true});
  const rgba = (c) => { x.clearRect(0, 0, 1, 1); x.fillStyle = '#000'; x.fillStyle = c;
                        x.fillRect(0, 0, 1, 1); return Array.from(x.getImageData(0, 0, 1, 1).data); };
  let el = td, bg = null;
  while (el && el.nodeType === 1) {
    const c = getComputedStyle(el).backgroundColor;
    if (c && c !== 'transparent' && c !== 'rgba(0, 0, 0, 0)') { bg = rgba(c); if (bg[3] > 0) break; }
    el = el.parentElement;
  }
  bg = bg || [255, 255, 255, 255];
  const fg = rgba(getComputedStyle(td).color);
  const a = fg[3] / 255;
  const mixed = [0, 1, 2].map(i => fg[i] * a + bg[i] * (1 - a));
  const lum = (rgb) => { const v = rgb.map(u => { u /= 255;
                            return u <= 0.03928 ? u / 12.92 : Math.pow((u + 0.055) / 1.055, 2.4); });
                          return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const l1 = lum(mixed), l2 = lum(bg.slice(0, 3));
  return {ratio: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05),
          color: getComputedStyle(td).color, background: getComputedStyle(td).backgroundColor};
}"""

SELECTED_TD = ".mnb-studio .mnb-results-table tr.mnb-selected td"
#: The studio notebook's plain-cell song as a completed job card: its last cell ran.
CELL_CARD = ".jp-OutputArea-output .mnb-job[data-status='completed']"

#: Buttons of the studio whose text does not fit their box (a cut "Pa…"), as "description: widths".
CUT_BUTTONS_JS = """() => [...document.querySelectorAll('.mnb-studio button')]
  .filter(b => b.offsetParent !== null && b.textContent.trim() && b.scrollWidth > b.clientWidth + 1
               && !b.classList.contains('mnb-th'))
  .map(b => `${b.textContent.trim()}: ${b.scrollWidth} > ${b.clientWidth}`)"""

#: How far the studio reaches past the right edge of its output area (px; 0 = it fits).
OVERFLOW_JS = """() => {
  const s = document.querySelector('.mnb-studio');
  const out = s.closest('.jp-OutputArea-output') || s.parentElement;
  return Math.max(0, s.getBoundingClientRect().right - out.getBoundingClientRect().right,
                  s.scrollWidth - s.clientWidth);
}"""
