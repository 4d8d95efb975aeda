"""Execute every example notebook with nbclient, offline, and check what it produced.

The saved notebooks carry no test plumbing (they read as tutorials). Each test executes a copy with one
probe cell of its own appended: it reads the notebook's variables and prints ``PROBE {json}``; the tests
check those facts against the files on disk and the cells' outputs, not only that no cell raised.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
KEY_VARS = ("USEAPI_API_TOKEN", "AIMLAPI_API_KEY", "APIIN_API_KEY", "MINIMAX_API_KEY", "FAL_KEY",
            "REPLICATE_API_TOKEN")
REAL = ("useapi", "aimlapi", "apiin", "minimax", "fal", "replicate")


class Executed:
    def __init__(self, nb: Any, workdir: Path) -> None:
        self.nb = nb
        self.workdir = workdir

    def summary(self) -> dict[str, Any]:
        """The facts the appended probe cell printed."""
        cells = [c for c in self.nb.cells if "test-probe" in c.get("metadata", {}).get("tags", [])]
        assert len(cells) == 1, "the test appends exactly one probe cell"
        text = "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")
        lines = [ln for ln in text.splitlines() if ln.startswith("PROBE ")]
        assert len(lines) == 1, f"no PROBE line in {text!r}"
        return dict(json.loads(lines[0].removeprefix("PROBE ")))

    def outputs(self, mime: str) -> list[str]:
        found = []
        for cell in self.nb.cells:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if mime in data:
                    found.append(data[mime])
        return found

    def stream_text(self) -> str:
        return "".join(o.get("text", "") for c in self.nb.cells for o in c.get("outputs", [])
                       if o.output_type == "stream")


@pytest.fixture
def run_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Execute a copy of notebooks/NAME in a temp dir with a temp ledger and a fast emulator."""

    def run(name: str, timeout: int = 240, env: dict[str, str] | None = None) -> Executed:
        probe = PROBES[name]
        workdir = tmp_path / "work"
        workdir.mkdir()
        shutil.copy(NOTEBOOKS / name, workdir / name)
        for var in KEY_VARS:
            monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv("MPLBACKEND", raising=False)  # scripts/test.sh sets Agg; kernels draw inline
        monkeypatch.setenv("MINIMAX_NB_LEDGER", str(tmp_path / "ledger.sqlite"))
        monkeypatch.setenv("MINIMAX_NB_LOCAL_SPEED", "200")
        monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
        monkeypatch.setenv("PYTHONPATH", str(ROOT))
        for var, value in (env or {}).items():
            monkeypatch.setenv(var, value)
        nb = nbformat.read(workdir / name, as_version=4)
        cell = nbformat.v4.new_code_cell("import json as _json\n" + probe.strip()
                                         + "\nprint('PROBE ' + _json.dumps(_probe))")
        cell.metadata["tags"] = ["test-probe"]
        nb.cells.append(cell)
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         store_widget_state=False,
                                         resources={"metadata": {"path": str(workdir)}})
        client.execute()
        return Executed(nb, workdir)

    return run


# The probe appended to each notebook (never saved in it): ``_probe`` is a JSON-able dict of facts.
PROBES = {
    "01_quickstart.ipynb": """
from pathlib import Path as _Path
_probe = {
    "status": str(job.status),
    "duration_s": job.duration_s,
    "audio_path": str(_Path(job.audio_path).resolve()),
    "rows": len(row),
    "row_status": str(row["status"].iloc[0]),
    "row_measured_duration_s": float(row["measured_duration_s"].iloc[0]),
}
""",
    "02_studio.ipynb": """
_probe = {
    "provider": studio.launcher.provider.value,
    "generate_enabled": not studio.launcher.generate.disabled,
    "cell_job": job.status.value,
    "results_rows": len(studio.table.jobs),
}
""",
    "03_compare.ipynb": """
from pathlib import Path as _Path
_cells = frame.groupby(["provider", "style", "lyrics"], observed=True).size()
_probe = {
    "grid_cells": len(PROVIDERS) * len(STYLES) * len(LYRICS),
    "rows": len(frame),
    "distinct_cells": len(_cells),
    "providers": sorted(frame["provider"].astype(str).unique()),
    "completed": int((frame["status"] == "completed").sum()),
    "audio_paths": [str(_Path(p).resolve()) for p in frame["audio_path"].dropna()],
    "styles": sorted(frame["style"].dropna().unique()),
    "pivot_nan": int(pivot(frame, index="style", columns="provider",
                           values="measured_duration_s").isna().sum().sum()),
    "cost": cost_total(frame),
    "models": sorted({f"{p}:{m}" for p, m in zip(frame["provider"], frame["model"])}),
}
""",
    "04_real_providers.ipynb": """
_probe = {
    "skipped": skipped,
    "made": {p: str(j.status) for p, j in made.items()},
    "resumed": [str(j.status) for j in resumed],
    "resumed_files": [str(j.audio_path) for j in resumed if j.audio_path],
    "resubmitted": resubmitted,
    "model_rows": [list(i) for i in models.index],
}
""",
    "05_async_and_batch.ipynb": """
from pathlib import Path as _Path
_probe = {
    "watched": watched,
    "watched_file": str(_Path(path).resolve()),
    "batch_statuses": [str(j.status) for j in batch],
    "accounts": sorted(per_account),
    "per_account_max": max(per_account.values()),
    "faults_fired": [r.fired for r in rules],
    "faulted_requests": sum(1 for r in log if r.fault),
    "faulty_statuses": [str(j.status) for j in faulty],
    "aimlapi_creates": emu.submissions("aimlapi"),
}
""",
}

PLUMBING = ("SUMMARY", "the test suite reads", "test suite")


def test_notebooks_carry_no_test_plumbing() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for word in PLUMBING:
                assert word not in cell.source, f"{path.name}: {word!r} in a cell"
            assert "summary" not in cell.get("metadata", {}).get("tags", [])


def test_every_notebook_is_saved_without_outputs() -> None:
    books = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert len(books) >= 4
    for path in books:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name}: a cell was saved with outputs"
                assert cell.execution_count is None, f"{path.name}: a cell was saved with an execution count"
        assert "widgets" not in nb.metadata, f"{path.name}: saved widget state"


def test_generated_notebooks_are_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_notebooks.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.notebook
@pytest.mark.slow
def test_quickstart_makes_one_song_of_the_reported_duration(run_notebook: Any) -> None:
    import soundfile as sf

    ran = run_notebook("01_quickstart.ipynb")
    s = ran.summary()
    assert s["status"] == "completed"
    assert s["rows"] == 1 and s["row_status"] == "completed"
    path = Path(s["audio_path"])
    assert path.is_file() and ran.workdir in path.parents
    info = sf.info(str(path))
    assert info.frames > 0
    assert abs(info.duration - s["duration_s"]) < 0.5
    assert abs(info.duration - s["row_measured_duration_s"]) < 0.05
    players = [h for h in ran.outputs("text/html") if "<audio" in h]
    assert len(players) == 1 and "autoplay" not in players[0]
    assert 'class="mnb-job"' in players[0] and "<details><summary>lyrics" in players[0]  # the job card
    assert "estimated length: ~" in ran.stream_text()


@pytest.mark.notebook
@pytest.mark.slow
def test_compare_frame_has_a_row_per_grid_cell(run_notebook: Any) -> None:
    ran = run_notebook("03_compare.ipynb", timeout=280)
    s = ran.summary()
    assert s["grid_cells"] == 24  # 2 styles x 2 lyrics x 6 providers (fal and Replicate since issue 11)
    assert s["rows"] == s["grid_cells"] == s["distinct_cells"]
    assert s["providers"] == sorted(REAL)
    assert "fal:fal-ai/minimax-music/v2" in s["models"] and "replicate:minimax/music-1.5" in s["models"]
    # priced per song: apiin $0.06, fal v2 $0.03, Replicate music-1.5 $0.03 (4 songs each); 12 unknown
    assert s["cost"]["jobs"] == 24 and s["cost"]["unknown"] == 12
    assert abs(s["cost"]["usd"] - 4 * (0.06 + 0.03 + 0.03)) < 1e-9
    costs = next(h for h in ran.outputs("text/html") if "est. USD" in h)  # per provider, unknowns as —
    assert "—" in costs and "NaN" not in costs and "&lt;NA&gt;" not in costs and "0.12" in costs
    assert s["completed"] == s["rows"]
    assert len(s["audio_paths"]) == s["rows"]
    assert all(Path(p).is_file() for p in s["audio_paths"])
    assert len(set(s["audio_paths"])) == s["rows"]
    pngs = ran.outputs("image/png")
    assert len(pngs) == 1, "plot() drew nothing, or its figure twice"
    assert not any(t.startswith("<Axes") for t in ran.outputs("text/plain")), "a stray <Axes …> repr"
    listening = [h for h in ran.outputs("text/html") if "<audio" in h]
    assert listening and max(h.count("<audio") for h in listening) == s["rows"]
    view = max(listening, key=lambda h: h.count("<audio"))
    assert 'src="data:' not in view and view.count('class="mnb-wave"') == s["rows"]  # linked, waveforms
    # one style meaning on every provider: 2 styles, and the style x provider pivot is full
    assert len(s["styles"]) == 2 and s["pivot_nan"] == 0


@pytest.mark.notebook
@pytest.mark.slow
def test_real_providers_skip_without_keys_and_resume_offline(run_notebook: Any) -> None:
    ran = run_notebook("04_real_providers.ipynb")
    s = ran.summary()
    assert s["skipped"] == list(REAL)
    assert s["made"] == {}
    text = ran.stream_text()
    for provider, var in zip(s["skipped"], KEY_VARS, strict=True):
        assert f"skipped {provider}: {var} is not set" in text
    assert s["resumed"] == ["completed"]
    assert s["resubmitted"] == 0
    assert all(Path(p).is_file() for p in s["resumed_files"]) and s["resumed_files"]
    table = next(h for h in ran.outputs("text/html") if "lyrics max" in h)
    assert "600.0" not in table and "NaN" not in table and "—" in table  # ints as ints, unknowns as —
    assert "<th>fal</th>" in table and "<th>replicate</th>" in table
    models = next(h for h in ran.outputs("text/html") if "style chars" in h)
    assert "NaN" not in models and "None" not in models and "10–3000" in models and "0.15" in models
    assert ["fal", "fal-ai/minimax-music/v2 (default)"] in s["model_rows"]
    assert ["replicate", "minimax/music-1.5 (default)"] in s["model_rows"]
    assert len(s["model_rows"]) == 10  # fal's six models, Replicate's four


@pytest.mark.notebook
@pytest.mark.slow
def test_real_providers_notebook_with_keys_makes_a_song_per_provider(run_notebook: Any) -> None:
    """The same notebook with every key set, each provider's base URL pointed at the emulator."""
    from minimax_nb.emulator import DEFAULT_KEY, Emulator

    with Emulator(speed=200) as emu:
        env = {var: DEFAULT_KEY for var in KEY_VARS}
        for provider in REAL:
            env[f"MINIMAX_NB_{provider.upper()}_BASE_URL"] = emu.base_url(provider)
        ran = run_notebook("04_real_providers.ipynb", env=env)
        creates = {p: emu.submissions(p) for p in REAL}
    s = ran.summary()
    assert s["skipped"] == []
    assert s["made"] == dict.fromkeys(REAL, "completed")
    assert creates == dict.fromkeys(REAL, 1)
    assert "estimated cost" in ran.stream_text()


@pytest.mark.notebook
@pytest.mark.slow
def test_async_notebook_watches_queues_per_account_and_retries(run_notebook: Any) -> None:
    ran = run_notebook("05_async_and_batch.ipynb", timeout=280)
    s = ran.summary()
    assert s["watched"][-1] == "completed" and len(s["watched"]) >= 2
    assert Path(s["watched_file"]).is_file()
    assert s["batch_statuses"] == ["completed"] * 6
    assert s["accounts"] == ["1001", "1002"]
    assert s["per_account_max"] == 1
    assert s["faults_fired"] == [2, 1, 1]  # every injected fault happened...
    assert s["faulted_requests"] >= 4
    assert s["faulty_statuses"] == ["completed"] * 3  # ...and was retried through
    assert s["aimlapi_creates"] == 4  # three songs + one refused (429) create, none replayed
    tables = [h for h in ran.outputs("text/html") if 'class="mnb-jobs"' in h]
    assert tables and tables[0].count("<audio") == 6  # Jobs(batch): a player per song


@pytest.mark.notebook
@pytest.mark.slow
def test_studio_notebook_shows_the_studio_and_a_job_card(run_notebook: Any) -> None:
    """The studio notebook as a tutorial: the studio widget, then the plain cell's song as a card (no
    ``<Job …>`` text, no summary line); the studio's table holds that song."""
    ran = run_notebook("02_studio.ipynb")
    s = ran.summary()
    assert s == {"provider": "local", "generate_enabled": True, "cell_job": "completed", "results_rows": 1}
    views = ran.outputs("application/vnd.jupyter.widget-view+json")
    assert views, "the studio cell displayed no widget"
    cards = [h for h in ran.outputs("text/html") if 'class="mnb-job"' in h]
    assert len(cards) == 1 and "From a cell" in cards[0] and "<audio" in cards[0]
    shown = [c for c in ran.nb.cells if "test-probe" not in c.metadata.get("tags", [])]
    for cell in shown:
        for out in cell.get("outputs", []):
            text = out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
            assert "SUMMARY" not in text
            if "text/html" not in out.get("data", {}) and "widget-view" not in str(out.get("data", {})):
                assert "<Job" not in text, "a bare repr is shown"


def _voila_cells(config_path: Path, nb_path: Path) -> list[Any]:
    """The cells Voila keeps (and runs) with ``config_path``: its exporter's preprocessors, as configured."""
    pytest.importorskip("voila")
    from nbconvert.exporters import Exporter
    from traitlets.config import Config
    from voila.exporter import VoilaExporter

    exporter = VoilaExporter(config=Config(json.loads(config_path.read_text())))
    nb = nbformat.read(nb_path, as_version=4)
    kept, _ = Exporter.from_notebook_node(exporter, nb, {})  # what Voila's generate_from_notebook_node runs
    return list(kept.cells)


def test_voila_shows_the_studio_alone() -> None:
    """``voila.json`` (repo root, where Binder and ``voila notebooks/02_studio.ipynb`` start, and
    ``notebooks/``) drops the studio notebook's cells tagged ``remove-cell``: one cell is left, the studio."""
    root, beside = ROOT / "voila.json", NOTEBOOKS / "voila.json"
    assert json.loads(root.read_text()) == json.loads(beside.read_text())
    studio_nb = NOTEBOOKS / "02_studio.ipynb"
    for config in (root, beside):
        kept = _voila_cells(config, studio_nb)
        assert [c.cell_type for c in kept] == ["code"], [c.source[:40] for c in kept]
        assert "minimax_nb.studio(" in kept[0].source and kept[0].source.rstrip().endswith("studio")
    nb = nbformat.read(studio_nb, as_version=4)
    assert len(nb.cells) > 1  # the tutorial around it is still in the notebook for JupyterLab
    for cell in nb.cells:
        if cell.source != kept[0].source:
            assert "remove-cell" in cell.metadata.get("tags", [])
