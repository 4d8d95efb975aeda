"""Shared fixtures only (keep this small): the repository root, an offline environment for
subprocesses, and a wheel of this package built once per session."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
KEY_VARS = ("USEAPI_API_TOKEN", "AIMLAPI_API_KEY", "APIIN_API_KEY", "MINIMAX_API_KEY")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder."""
    return REPO_ROOT


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a subprocess: no provider keys, a ledger in tmp, a fast local emulator."""
    env = {k: v for k, v in os.environ.items()
           if k not in KEY_VARS and not (k.startswith("MINIMAX_NB_") and k.endswith("_BASE_URL"))}
    env["MINIMAX_NB_LEDGER"] = str(tmp_path / "ledger.sqlite")
    env["MINIMAX_NB_LOCAL_SPEED"] = "200"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this package, built with ``pip wheel --no-deps`` (without build isolation when the
    build backend is already installed, so no package index is needed)."""
    out = tmp_path_factory.mktemp("wheel")
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out), str(REPO_ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    wheels = sorted(out.glob("minimax_nb-*.whl"))
    assert len(wheels) == 1, f"expected one minimax_nb wheel, got {list(out.iterdir())}"
    return wheels[0]
