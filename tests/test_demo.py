"""The README's headless demo (`bash scripts/demo.sh --headless` runs this script) makes a real song."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

pytestmark = pytest.mark.slow


def test_headless_demo_makes_one_song_and_prints_its_row(repo_root: Path, tmp_path: Path,
                                                        offline_env: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, str(repo_root / "scripts" / "demo_headless.py")], cwd=tmp_path,
                          env=offline_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(line.split(None, 1) for line in proc.stdout.splitlines() if line.strip() and "  " in line)
    assert lines["status"].strip() == "completed" and lines["provider"].strip() == "local"
    path = Path(proc.stdout.split("file:", 1)[1].strip())
    assert path.is_file() and path.is_relative_to(tmp_path)
    reported = float(lines["reported_duration_s"])
    assert abs(sf.info(str(path)).duration - reported) <= 0.05 * reported
