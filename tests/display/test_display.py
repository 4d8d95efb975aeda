"""Rich display of jobs (``minimax_nb.display``) and the progress callback (``client.progress``)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from minimax_nb.client.progress import Progress, chain_callbacks
from minimax_nb.display import Jobs, audio_src, job_html, job_mimebundle, jobs_html, jobs_text
from minimax_nb.models import Job, JobStatus, MusicRequest


def _job(tmp_path: Path | None = None, **kw: object) -> Job:
    req = MusicRequest(lyrics="[Verse]\nHello <b>world</b>\nsecond line", style="lo-fi <jazz>",
                       title="City <script>alert(1)</script> Lights")
    fields: dict[str, object] = {"provider": "local", "request": req, "status": JobStatus.COMPLETED,
                                 "id": "abc", "duration_s": 31.5}
    fields.update(kw)
    return Job(**fields)  # type: ignore[arg-type]


def test_job_card_escapes_everything_and_folds_lyrics() -> None:
    job = _job(error="bad & <worse>")
    out = job_html(job)
    assert "<script>alert" not in out
    assert "City &lt;script&gt;alert(1)&lt;/script&gt; Lights" in out
    assert "lo-fi &lt;jazz&gt;" in out and "bad &amp; &lt;worse&gt;" in out
    assert "<details><summary>lyrics (3 lines)</summary>" in out
    assert "Hello &lt;b&gt;world&lt;/b&gt;" in out
    assert 'data-status="completed"' in out and ">completed</span>" in out
    assert "<audio" not in out  # no file, no player


def test_job_card_links_audio_relative_by_default_and_embeds_only_on_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = tmp_path / "out" / "my song.mp3"
    audio.parent.mkdir()
    audio.write_bytes(b"ID3" + b"\0" * 100)
    monkeypatch.chdir(tmp_path)
    job = _job(audio_path=audio)
    linked = job_html(job)
    assert 'src="out/my%20song.mp3"' in linked and "base64" not in linked
    embedded = job_html(job, embed=True)
    assert 'src="data:audio/mpeg;base64,' in embedded
    capped = job_html(job, embed=True, embed_max_bytes=10)
    assert 'src="out/my%20song.mp3"' in capped  # over the cap: linked
    assert audio_src(tmp_path / "gone.mp3") is None
    assert "file missing" in job_html(_job(audio_path=tmp_path / "gone.mp3"))


def test_every_status_has_a_pill() -> None:
    for status in JobStatus:
        out = job_html(_job(status=status))
        assert f">{status.value}</span>" in out and f"mnb-{status.value}" in out


def test_job_reprs_degrade_to_text() -> None:
    job = _job()
    bundle = job._repr_mimebundle_()
    assert bundle["text/plain"] == repr(job) == "<Job local:abc completed>"
    assert bundle["text/html"] == job._repr_html_()
    assert job_mimebundle(job, include=["text/plain"]) == {"text/plain": repr(job)}
    assert "text/html" not in job_mimebundle(job, exclude=["text/html"])


def test_models_does_not_import_display_at_import_time() -> None:
    code = "import sys, minimax_nb.models; print('minimax_nb.display' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_jobs_list_displays_as_table_and_stays_a_list() -> None:
    jobs = Jobs([_job(), _job(status=JobStatus.FAILED, error="no credit", id="x2", duration_s=None)])
    assert isinstance(jobs, list) and len(jobs) == 2
    assert isinstance(jobs[1:], Jobs) and isinstance(jobs[0], Job)
    table = jobs._repr_html_()
    assert table.count("<tr>") == 3  # header + 2
    assert "2 jobs: 1 completed, 1 failed" in table and "no credit" in table
    text = jobs._repr_mimebundle_()["text/plain"]
    assert text == jobs_text(jobs)
    assert "2. City <script>alert(1)</script> Lights [local] failed — no credit" in text
    assert jobs_html([]).count("<tr>") == 1 and jobs_text([]) == "(no jobs)"


def test_jobs_embed_total_cap(tmp_path: Path) -> None:
    files = []
    for i in range(3):
        f = tmp_path / f"s{i}.wav"
        f.write_bytes(b"\0" * 600)
        files.append(_job(audio_path=f, id=f"j{i}"))
    out = jobs_html(files, embed=True, embed_max_bytes=1000, embed_total_bytes=1300, relative_to=tmp_path)
    assert out.count("data:audio/wav;base64,") == 2 and 'src="s2.wav"' in out


def test_progress_text_lines_count_final_jobs() -> None:
    buf = io.StringIO()
    job = _job(status=JobStatus.QUEUED, title="One", id=None)
    with Progress(total=2, desc="songs", notebook=False, file=buf) as bar:
        bar(job)
        bar(job.evolve(status=JobStatus.RUNNING))
        bar(job.evolve(status=JobStatus.RUNNING))  # no change, no line
        bar(job.evolve(status=JobStatus.COMPLETED))
        other = _job(status=JobStatus.FAILED, title="Two", id=None, error="refused")
        bar(other)
        assert bar.done == 2
        assert bar.counts() == {"completed": 1, "failed": 1}
    lines = buf.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("[0/2]") and "One" in lines[0] and lines[0].endswith("queued")
    assert lines[2].startswith("[1/2]") and lines[2].endswith("completed")
    assert lines[3].startswith("[2/2]") and lines[3].endswith("failed: refused")


def test_progress_disabled_is_silent_and_chaining() -> None:
    buf = io.StringIO()
    bar = Progress(total=1, enabled=False, notebook=False, file=buf)
    bar(_job())
    bar.close()
    assert buf.getvalue() == "" and bar.done == 0
    seen: list[str] = []
    cb = chain_callbacks(None, lambda j: seen.append("a"), None, lambda j: seen.append("b"))
    assert cb is not None
    cb(_job())
    assert seen == ["a", "b"] and chain_callbacks(None) is None


def test_progress_notebook_bar_updates_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    made: list[object] = []

    class FakeBar:
        def __init__(self, **kw: object) -> None:
            self.kw, self.n, self.total, self.post, self.closed = kw, 0, kw["total"], "", False
            made.append(self)

        def set_postfix_str(self, s: str, refresh: bool = True) -> None:
            self.post = s

        def refresh(self) -> None:
            pass

        def close(self) -> None:
            self.closed = True

    import tqdm.notebook

    monkeypatch.setattr(tqdm.notebook, "tqdm", FakeBar)
    bar = Progress(total=1, desc="songs", notebook=True)
    job = _job(status=JobStatus.RUNNING)
    bar(job)
    fake = made[0]
    assert fake.n == 0 and fake.post == "1 running"  # type: ignore[attr-defined]
    bar(job.evolve(status=JobStatus.COMPLETED))
    bar.close()
    assert fake.n == 1 and fake.post == "1 completed" and fake.closed  # type: ignore[attr-defined]
