"""Fixtures of the browser tests: Chromium (Playwright), JupyterLab and Voila serving the studio notebook.

Everything runs on 127.0.0.1 with HOME/XDG/JUPYTER/IPYTHON dirs in a temp dir (see ``browser_support``).
The tests skip with a clear reason when Chromium is missing.

One JupyterLab (and one Notebook 7, one Voila) server serves the whole session: starting one costs
seconds of the serial browser run. So that tests stay independent, every test's kernels are shut down
after it (``_free_kernels``), and no test saves into the shared notebook (one that saves works on its own
copy).
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    CHROME_ARGS,
    CHROMIUM,
    HAVE_CHROMIUM,
    LEDGERS,
    SKIP_REASON,
    STUDIO_NB,
    T_UI,
    _put_json,
    _stop,
    isolated_env,
    shutdown_kernels,
    start_server,
)


@pytest.fixture(scope="session")
def pw() -> Any:
    if not HAVE_CHROMIUM:
        pytest.skip(SKIP_REASON)
    mod = pytest.importorskip("playwright.sync_api")
    mod.expect.set_options(timeout=T_UI)
    return mod


@pytest.fixture(scope="session")
def browser(pw: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    env = isolated_env(tmp_path_factory.mktemp("chromehome"))
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS, env=env,
                              timeout=60_000)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 2000})
    ctx.set_default_timeout(T_UI)
    # hermetic: only the local server (Voila's template asks a CDN for icon fonts)
    ctx.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:)"), lambda r: r.abort())
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    ctx.close()


@pytest.fixture(autouse=True)
def _free_kernels(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, shut down the kernels it started on a shared server (their tickers and background
    jobs would otherwise take CPU from the next tests)."""
    yield
    if getattr(request.module, "SHARED_PAGE", False):
        return  # the module's own page fixture frees its kernels when it is done
    for name in ("lab_server", "notebook7_server"):
        if name in request.fixturenames:
            shutdown_kernels(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def nb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp dir standing for ``notebooks/``: a copy of the studio notebook and of its ``voila.json``
    (the repo's copies are never executed or saved in place)."""
    d = tmp_path_factory.mktemp("nb")
    shutil.copy(STUDIO_NB, d / "02_studio.ipynb")
    shutil.copy(STUDIO_NB.parent / "voila.json", d / "voila.json")
    return d


@pytest.fixture(scope="session")
def lab_server(nb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not HAVE_CHROMIUM:
        pytest.skip(SKIP_REASON)
    home = tmp_path_factory.mktemp("jlhome")
    settings = home / "settings"
    _put_json(settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
              {"fetchNews": "false", "checkForUpdates": False})
    _put_json(settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
              {"windowingMode": "none"})
    # save widget state with the notebook: the strictest case for a typed key (it must not be saved)
    _put_json(settings / "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings",
              {"saveState": True})

    def cmd(port: int) -> list[str]:
        return [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                "--ip=127.0.0.1", f"--port={port}", "--port-retries=0", f"--ServerApp.root_dir={nb_dir}",
                "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]

    env = isolated_env(home)
    proc, base = start_server(cmd, "/api/status", env, home / "server.log")
    LEDGERS[base] = Path(env["MINIMAX_NB_LEDGER"])
    yield base
    _stop(proc)


@pytest.fixture(scope="session")
def notebook7_server(nb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Notebook 7 (``jupyter notebook``) serving the same folder."""
    if not HAVE_CHROMIUM:
        pytest.skip(SKIP_REASON)
    pytest.importorskip("notebook")
    home = tmp_path_factory.mktemp("nb7home")

    def cmd(port: int) -> list[str]:
        return [sys.executable, "-m", "notebook", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                f"--port={port}", "--port-retries=0", f"--ServerApp.root_dir={nb_dir}",
                "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
                "--JupyterNotebookApp.expose_app_in_browser=True"]

    env = isolated_env(home)
    proc, base = start_server(cmd, "/api/status", env, home / "server.log")
    LEDGERS[base] = Path(env["MINIMAX_NB_LEDGER"])
    yield base
    _stop(proc)


@pytest.fixture(scope="session")
def voila_server(nb_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Voila started as a user would in ``notebooks/`` (``voila 02_studio.ipynb``), so it reads the
    ``voila.json`` beside the notebook: the cells tagged ``remove-cell`` are left out."""
    if not HAVE_CHROMIUM:
        pytest.skip(SKIP_REASON)
    pytest.importorskip("voila")
    home = tmp_path_factory.mktemp("vhome")

    def cmd(port: int) -> list[str]:
        return [sys.executable, "-m", "voila", "02_studio.ipynb", "--no-browser",
                "--Voila.ip=127.0.0.1", f"--port={port}", "--Voila.port_retries=0", "--show_tracebacks=True"]

    proc, base = start_server(cmd, "/voila/static/voila.js", isolated_env(home), home / "server.log",
                              cwd=nb_dir)
    yield base
    _stop(proc)
