"""``python -m minimax_nb``: generate, jobs, resume — run as a user would, in subprocesses, offline."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minimax_nb.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, format_table, main

LYRICS = "[Verse]\nThe kettle sings a morning tune\n[Chorus]\nOh the sun, the sun is up\n"


def run_cli(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None,
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minimax_nb", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, input=stdin, timeout=240)


def field(stdout: str, name: str) -> str:
    match = re.search(rf"^{name}:\s+(.*)$", stdout, re.MULTILINE)
    assert match, f"no {name!r} line in:\n{stdout}"
    return match.group(1).strip()


# ------------------------------------------------------------------ parser (in-process, fast)


def test_help_and_usage_errors_exit_codes() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--help"], stdout=out, stderr=err) == EXIT_OK
    assert main([], stdout=out, stderr=err) == EXIT_USAGE
    assert main(["generate", "--style", "pop"], stdout=out, stderr=err) == EXIT_USAGE  # no lyrics
    assert main(["generate", "--provider", "nope", "--lyrics", "x"], stdout=out, stderr=err) == EXIT_USAGE


def test_missing_lyrics_file_is_a_usage_error(tmp_path: Path) -> None:
    err = io.StringIO()
    code = main(["generate", "--lyrics-file", str(tmp_path / "absent.txt"), "--style", "pop"],
                stdout=io.StringIO(), stderr=err)
    assert code == EXIT_USAGE
    assert "absent.txt" in err.getvalue()


def test_a_real_provider_without_its_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.delenv("APIIN_API_KEY", raising=False)
    monkeypatch.setenv("MINIMAX_NB_LEDGER", str(tmp_path / "ledger.sqlite"))
    err = io.StringIO()
    args = ["generate", "--provider", "apiin", "--lyrics", "la la", "--style", "pop", "-o", str(tmp_path)]
    code = main(args, stdout=io.StringIO(), stderr=err)
    assert code == EXIT_USAGE
    assert "APIIN_API_KEY" in err.getvalue()
    assert not (tmp_path / "ledger.sqlite").exists()  # nothing recorded, nothing sent


def test_format_table_aligns_columns() -> None:
    text = format_table(("a", "long header"), [("xxxxx", "1"), ("y", "22")])
    lines = text.splitlines()
    assert lines[0].index("long header") == lines[2].index("1") == lines[3].index("22")
    assert set(lines[1].replace(" ", "")) == {"-"}


# ------------------------------------------------------------------ end to end on provider local


@pytest.mark.slow
def test_generate_local_then_jobs(tmp_path: Path, offline_env: dict[str, str]) -> None:
    import soundfile as sf

    lyrics = tmp_path / "song.txt"
    lyrics.write_text(LYRICS)
    done = run_cli("generate", "--provider", "local", "--lyrics-file", str(lyrics), "--style", "pop",
                   "--title", "Kettle Song", "-o", "out", env=offline_env, cwd=tmp_path)
    assert done.returncode == EXIT_OK, done.stderr
    assert field(done.stdout, "status") == "completed"
    path = Path(field(done.stdout, "file"))
    assert path.is_file() and path.parent == (tmp_path / "out").resolve()
    reported = float(field(done.stdout, "duration").split()[0])
    assert abs(sf.info(str(path)).duration - reported) < 0.5
    # progress: one line per status change, with the elapsed time, ending completed/downloaded
    progress = [ln for ln in done.stderr.splitlines() if re.match(r"^\[\s*\d+\.\ds\] ", ln)]
    assert len(progress) >= 2, done.stderr
    assert any("completed" in ln for ln in progress)

    jobs = run_cli("jobs", env=offline_env, cwd=tmp_path)
    assert jobs.returncode == EXIT_OK, jobs.stderr
    header, rule, row = jobs.stdout.splitlines()[:3]
    assert header.split()[:3] == ["local_id", "provider", "state"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert row.split()[1:3] == ["local", "completed"]
    assert "Kettle Song" in row and str(path) in row
    assert "1 job(s)" in jobs.stdout


def test_jobs_without_a_ledger(tmp_path: Path, offline_env: dict[str, str]) -> None:
    done = run_cli("jobs", env=offline_env, cwd=tmp_path)
    assert done.returncode == EXIT_OK
    assert "no jobs" in done.stdout
    assert not Path(offline_env["MINIMAX_NB_LEDGER"]).exists()  # listing creates nothing


@pytest.mark.slow
def test_lyrics_from_stdin_and_moderation_exit_1(tmp_path: Path, offline_env: dict[str, str]) -> None:
    done = run_cli("generate", "--provider", "local", "--lyrics-file", "-", "--style", "pop", "-q",
                   env=offline_env, cwd=tmp_path, stdin="[Verse]\nthis line has forbiddenword in it\n")
    assert done.returncode == EXIT_FAILED, done.stdout + done.stderr
    assert field(done.stdout, "status") == "moderated"
    assert field(done.stdout, "file") == "-"
    assert not re.search(r"^\[\s*\d", done.stderr, re.MULTILINE)  # -q: no progress lines


def test_invalid_request_exits_2_and_sends_nothing(tmp_path: Path, offline_env: dict[str, str]) -> None:
    done = run_cli("generate", "--provider", "local", "--lyrics", "la " * 2000, "--style", "pop",
                   env=offline_env, cwd=tmp_path)
    assert done.returncode == EXIT_USAGE, done.stdout + done.stderr
    assert "error" in done.stderr and "nothing was sent" in done.stderr
    listed = run_cli("jobs", env=offline_env, cwd=tmp_path)
    assert "no jobs" in listed.stdout, listed.stdout


def test_resume_with_nothing_to_do(tmp_path: Path, offline_env: dict[str, str]) -> None:
    done = run_cli("resume", env=offline_env, cwd=tmp_path)
    assert done.returncode == EXIT_OK
    assert "nothing to resume" in done.stdout


@pytest.mark.slow
def test_resume_finishes_a_job_left_running(tmp_path: Path, offline_env: dict[str, str]) -> None:
    """A job submitted by one process and abandoned is finished by ``resume`` in another, not resent."""
    from minimax_nb import MusicClient, MusicRequest
    from minimax_nb.emulator import DEFAULT_KEY, Emulator

    with Emulator(speed=100) as emu:
        env = dict(offline_env, AIMLAPI_API_KEY=DEFAULT_KEY,
                   MINIMAX_NB_AIMLAPI_BASE_URL=emu.base_url("aimlapi"))
        with MusicClient("aimlapi", api_key=DEFAULT_KEY, base_url=emu.base_url("aimlapi"),
                         ledger=offline_env["MINIMAX_NB_LEDGER"], download_dir=tmp_path / "first") as client:
            job = client.submit(MusicRequest(lyrics=LYRICS, style="folk, acoustic guitar"))
        assert not job.is_final
        before = emu.submissions("aimlapi")

        done = run_cli("resume", env=env, cwd=tmp_path)
        assert done.returncode == EXIT_OK, done.stdout + done.stderr
        assert emu.submissions("aimlapi") == before  # never resubmitted
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith(job.local_id[:8]))
    parts = line.split()
    assert parts[1:3] == ["aimlapi", "completed"]
    assert Path(parts[3]).is_file()
    again = run_cli("resume", env=env, cwd=tmp_path)
    assert again.returncode == EXIT_OK and "nothing to resume" in again.stdout


def test_jobs_table_filters_and_limits(tmp_path: Path) -> None:
    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job, JobStatus, MusicRequest

    path = tmp_path / "ledger.sqlite"
    made = []
    with Ledger(path) as led:
        plan = [("aimlapi", JobStatus.COMPLETED), ("useapi", JobStatus.RUNNING),
                ("aimlapi", JobStatus.FAILED)]
        for i, (provider, status) in enumerate(plan):
            job = Job(provider=provider, request=MusicRequest(lyrics="la", title=f"Song {i}"), id=f"p{i}")
            led.record_submitting(job)
            led.record(job.evolve(status=status))
            made.append(job)
        submitting = Job(provider="apiin", request=MusicRequest(lyrics="la", title="Limbo"))
        led.record_submitting(submitting)

    out = io.StringIO()
    assert main(["--ledger", str(path), "jobs"], stdout=out, stderr=io.StringIO()) == EXIT_OK
    rows = out.getvalue().splitlines()[2:6]
    assert [r.split()[0] for r in rows] == [j.local_id[:8] for j in (*made, submitting)]
    assert [r.split()[2] for r in rows] == ["completed", "running", "failed", "submitting"]

    out = io.StringIO()
    args = ["jobs", "--provider", "aimlapi", "-n", "1", "--ledger", str(path)]  # --ledger after works too
    assert main(args, stdout=out, stderr=io.StringIO()) == EXIT_OK
    lines = [ln for ln in out.getvalue().splitlines() if ln.startswith(tuple(j.local_id[:8] for j in made))]
    assert [ln.split()[0] for ln in lines] == [made[2].local_id[:8]]  # the newest aimlapi job only


def test_two_runs_in_one_folder_keep_two_songs(tmp_path: Path, offline_env: dict[str, str]) -> None:
    """Each process starts its own local emulator: a second song must never be the first one's file."""
    import soundfile as sf

    seen = []
    songs = ("[Verse]\nShort one", "[Verse]\nA longer second song\nwith more lines\n[Chorus]\nand a chorus")
    for lyrics in songs:
        done = run_cli("generate", "--provider", "local", "--lyrics", lyrics, "--style", "pop", "-o", "out",
                       "-q", env=offline_env, cwd=tmp_path)
        assert done.returncode == EXIT_OK, done.stderr
        path = Path(field(done.stdout, "file"))
        reported = float(field(done.stdout, "duration").split()[0])
        assert abs(sf.info(str(path)).duration - reported) < 0.5
        seen.append(path)
    assert seen[0] != seen[1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in seen)


# ------------------------------------------------------------------ exit codes, keys, budget, styles


@pytest.fixture
def emulator() -> object:
    from minimax_nb.emulator import Emulator

    with Emulator(speed=200) as emu:
        yield emu


def _gen(*extra: str, tmp_path: Path) -> list[str]:
    return ["--ledger", str(tmp_path / "ledger.sqlite"), "generate",
            "--lyrics", LYRICS.replace("\n", "\\n"), "-o", str(tmp_path / "out"), "-q", *extra]


def _ledger_rows(tmp_path: Path) -> list[object]:
    from minimax_nb.ledger import Ledger

    path = tmp_path / "ledger.sqlite"
    if not path.exists():
        return []
    with Ledger(path) as led:
        return list(led.rows())


def test_exit_codes_are_distinct() -> None:
    from minimax_nb import cli

    codes = [cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE, cli.EXIT_AUTH, cli.EXIT_NETWORK,
             cli.EXIT_BUDGET, cli.EXIT_REFUSED]
    assert len(set(codes)) == len(codes)
    for code in codes[1:]:
        assert f"{code} " in cli.build_parser().format_help()


def test_a_rejected_key_exits_3_not_job_failed(emulator: object, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    emu = emulator
    monkeypatch.delenv("AIMLAPI_API_KEY", raising=False)
    err = io.StringIO()
    out = io.StringIO()
    code = main(_gen("--provider", "aimlapi", "--style", "folk, acoustic guitar", "--api-key", "wrong-key",
                     "--base-url", emu.base_url("aimlapi"), tmp_path=tmp_path),  # type: ignore[attr-defined]
                stdout=out, stderr=err)
    assert code == 3, err.getvalue()
    assert "authentication failed" in err.getvalue() and "status: failed" not in out.getvalue()
    assert "wrong-key" not in err.getvalue() + out.getvalue()


def test_an_unreachable_provider_exits_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = io.StringIO()
    code = main(_gen("--provider", "aimlapi", "--style", "folk, acoustic guitar", "--api-key", "k",
                     "--base-url", f"http://127.0.0.1:{port}", tmp_path=tmp_path),
                stdout=io.StringIO(), stderr=err)
    assert code == 4, err.getvalue()
    assert "network error" in err.getvalue()


def test_max_usd_refuses_before_sending(emulator: object, tmp_path: Path) -> None:
    from minimax_nb.emulator import DEFAULT_KEY

    emu = emulator
    base = ["--provider", "apiin", "--style", "pop", "--api-key", DEFAULT_KEY,
            "--base-url", emu.base_url("apiin")]  # type: ignore[attr-defined]
    err = io.StringIO()
    code = main(_gen(*base, "--max-usd", "0.01", tmp_path=tmp_path), stdout=io.StringIO(), stderr=err)
    assert code == 5, err.getvalue()
    assert "$0.06" in err.getvalue() and "$0.01" in err.getvalue() and "nothing was sent" in err.getvalue()
    assert emu.submissions("apiin") == 0  # type: ignore[attr-defined]
    assert _ledger_rows(tmp_path) == []  # no row for a request that never left
    # unknown price (aimlapi lists none): refused too, naming the unknown
    err = io.StringIO()
    code = main(_gen("--provider", "aimlapi", "--style", "folk, acoustic guitar", "--api-key", DEFAULT_KEY,
                     "--base-url", emu.base_url("aimlapi"), "--max-usd", "5",  # type: ignore[attr-defined]
                     tmp_path=tmp_path), stdout=io.StringIO(), stderr=err)
    assert code == 5 and "unknown" in err.getvalue()
    assert emu.submissions("aimlapi") == 0  # type: ignore[attr-defined]


def test_validation_error_leaves_no_ledger_row(tmp_path: Path) -> None:
    err = io.StringIO()
    code = main(_gen("--provider", "local", "--style", "pop", "--model", "no-such-model",
                     tmp_path=tmp_path), stdout=io.StringIO(), stderr=err)
    assert code == EXIT_USAGE and "nothing was sent" in err.getvalue()
    assert _ledger_rows(tmp_path) == []


def test_styles_command_lists_useapi_style_ids(emulator: object, tmp_path: Path) -> None:
    from minimax_nb.emulator import DEFAULT_KEY

    emu = emulator
    out = io.StringIO()
    url = emu.base_url("useapi")  # type: ignore[attr-defined]
    code = main(["--ledger", str(tmp_path / "l.sqlite"), "styles", "--provider", "useapi",
                 "--api-key", DEFAULT_KEY, "--base-url", url], stdout=out, stderr=io.StringIO())
    assert code == EXIT_OK
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["style_id", "name", "group"]
    rows = {ln.split()[0]: ln.split()[1] for ln in lines[2:] if ln.strip() and "style(s)" not in ln}
    assert rows["pop"] == "Pop" and len(rows) >= 3
    assert re.search(r"\d+ style\(s\); use one with: generate --provider useapi --style-id ID",
                     out.getvalue())
    err = io.StringIO()
    assert main(["styles", "--provider", "local"], stdout=io.StringIO(), stderr=err) == EXIT_USAGE
    assert "no style list" in err.getvalue()


def test_jobs_table_has_an_error_column(tmp_path: Path) -> None:
    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job, JobStatus, MusicRequest

    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as led:
        job = Job(provider="aimlapi", request=MusicRequest(lyrics="la", title="Broken"), id="p1")
        led.record(job.evolve(status=JobStatus.FAILED, error="insufficient\nbalance on the account"))
    out = io.StringIO()
    assert main(["--ledger", str(path), "jobs"], stdout=out, stderr=io.StringIO()) == EXIT_OK
    header, _, row = out.getvalue().splitlines()[:3]
    assert header.split()[-1] == "error"
    assert row.endswith("insufficient balance on the account")


def test_empty_lyrics_on_local_is_refused_like_aiml_26(tmp_path: Path) -> None:
    """local mirrors AIML's music-2.6: no lyrics and not instrumental is an error there, with a CLI hint."""
    err = io.StringIO()
    args = ["--ledger", str(tmp_path / "l.sqlite"), "generate", "--provider", "local", "--lyrics", "",
            "--style", "ambient pads", "-o", str(tmp_path / "out"), "-q"]
    assert main(args, stdout=io.StringIO(), stderr=err) == EXIT_USAGE
    assert "--instrumental" in err.getvalue() and "nothing was sent" in err.getvalue()
