"""The command line: ``python -m minimax_nb`` (also installed as ``minimax-nb``).

    python -m minimax_nb generate --provider local --lyrics-file song.txt --style pop -o out/
    python -m minimax_nb jobs                 # the ledger as a table (with each job's error)
    python -m minimax_nb resume               # finish what a crash or a restart left behind
    python -m minimax_nb styles --provider useapi   # the style ids useapi's v1 model needs

``generate`` shows each status change with the time elapsed and prints the result (file, duration,
status). Keys come from the environment (``USEAPI_API_TOKEN``, ``AIMLAPI_API_KEY``, ``APIIN_API_KEY``,
``MINIMAX_API_KEY``…) or ``--api-key``; ``--base-url`` points a provider elsewhere (a proxy, the
emulator). Provider ``local`` needs no key and never leaves this machine. ``--max-usd`` refuses, before
anything is sent, a song whose estimated price is over the limit or unknown.

Exit codes (also in ``--help``):

==  =========================================================================================
0   done (the song is completed and saved)
1   the job failed: it was made and ended failed, moderated, cancelled or lost
2   bad usage or a request that does not validate; no key given; nothing was sent
3   authentication: the provider rejected the key (nothing was bought)
4   network: the provider could not be reached, timed out or answered with a server error
5   over budget: the estimate exceeds ``--max-usd`` or is unknown; nothing was sent
6   the provider refused the song for another reason (balance, rate limit, bad request…)
130 interrupted (``resume`` picks the job up again)
==  =========================================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from minimax_nb.client.sync import MusicClient
    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job

__all__ = ["EXIT_AUTH", "EXIT_BUDGET", "EXIT_FAILED", "EXIT_NETWORK", "EXIT_OK", "EXIT_REFUSED",
           "EXIT_USAGE", "build_parser", "exit_code_for", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NETWORK = 4
EXIT_BUDGET = 5
EXIT_REFUSED = 6
EXIT_INTERRUPTED = 130

_EPILOG = ("Exit codes: 0 ok, 1 job failed/moderated, 2 usage or validation error (nothing sent), "
           "3 key rejected, 4 network or server error, 5 over --max-usd (nothing sent), "
           "6 refused by the provider (balance, rate limit...), 130 interrupted.")


def _provider_choices() -> tuple[str, ...]:
    from minimax_nb.providers import PROVIDERS

    return tuple(sorted(PROVIDERS, key=lambda name: (name != "local", name)))


PROVIDER_CHOICES = _provider_choices()


class UsageError(Exception):
    """A problem with the command line or the request: exit code 2, nothing was sent."""


# ------------------------------------------------------------------------------------------ parser


def build_parser() -> argparse.ArgumentParser:
    """The ``argparse`` parser of ``python -m minimax_nb`` (sub-commands generate, jobs, resume)."""
    parser = argparse.ArgumentParser(
        prog="python -m minimax_nb",
        description="MiniMax AI music generation from the command line (provider 'local' works offline).",
        epilog=_EPILOG,
    )
    ledger_help = "job ledger file (default: $MINIMAX_NB_LEDGER or ./.minimax_nb/ledger.sqlite)"
    parser.add_argument("--ledger", metavar="PATH", help=ledger_help)
    # --ledger is accepted after the sub-command too (``jobs --ledger x.sqlite``).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help=ledger_help)
    conn = argparse.ArgumentParser(add_help=False)
    conn.add_argument("--api-key", metavar="KEY", default=None,
                      help="the provider's key (default: its environment variable, which is safer: a "
                           "key on the command line lands in the shell history)")
    conn.add_argument("--base-url", metavar="URL", default=None,
                      help="send to this base URL instead of the provider's (a proxy, the emulator)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    gen = sub.add_parser("generate", parents=[common, conn], help="make one song and download it",
                         description="Submit one song, show its progress, download it and print the result.",
                         epilog=_EPILOG)
    gen.add_argument("--provider", choices=PROVIDER_CHOICES, default=None,
                     help="default: the first provider whose key is set in the environment, else local")
    lyr = gen.add_mutually_exclusive_group(required=True)
    lyr.add_argument("--lyrics-file", metavar="FILE", help="a text file with the lyrics ('-' reads stdin)")
    lyr.add_argument("--lyrics", metavar="TEXT", help="the lyrics inline (use \\n for new lines)")
    gen.add_argument("--style", help="free-text description of the music, e.g. 'pop' or 'lo-fi jazz'")
    gen.add_argument("--style-id", help="useapi v1: a style id from its styles list")
    gen.add_argument("--title")
    gen.add_argument("--model", help="the provider's model name (default: the provider's default)")
    gen.add_argument("--account", help="useapi: the account to use when several are configured")
    gen.add_argument("--instrumental", action="store_true", help="ask for no vocals where supported")
    gen.add_argument("-o", "--output", metavar="DIR", default="out",
                     help="directory for the audio file (default: ./out)")
    gen.add_argument("--speed", type=float, metavar="X",
                     help="provider local: emulator speed-up (default $MINIMAX_NB_LOCAL_SPEED or 10)")
    gen.add_argument("-q", "--quiet", action="store_true", help="no progress lines, only the result")
    gen.add_argument("--max-usd", type=float, metavar="USD",
                     help="refuse before sending when the estimated price is over USD (or unknown)")

    jobs = sub.add_parser("jobs", parents=[common], help="list the jobs in the ledger",
                          description="List the ledger as a table.")
    jobs.add_argument("--provider", choices=PROVIDER_CHOICES)
    jobs.add_argument("-n", "--limit", type=int, default=50,
                      help="show the newest N jobs (default 50, 0 = all)")

    sty = sub.add_parser("styles", parents=[common, conn], help="list a provider's styles (useapi v1)",
                         description="The provider's style list: the ids 'generate --style-id' takes.")
    sty.add_argument("--provider", choices=PROVIDER_CHOICES, default="useapi")
    sty.add_argument("--account", help="useapi: the account to ask")

    res = sub.add_parser("resume", parents=[common, conn],
                         help="finish unfinished jobs and fetch missing audio",
                         description="Re-attach to every unfinished job in the ledger (never resubmitting), "
                                     "wait for each to end and download audio completed jobs lack.")
    res.add_argument("--provider", choices=PROVIDER_CHOICES,
                     help="only this provider (default: every provider with unfinished work)")
    res.add_argument("--speed", type=float, metavar="X", help="provider local: emulator speed-up")
    return parser


# ------------------------------------------------------------------------------------------ helpers


def _read_lyrics(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.lyrics is not None:
        return str(args.lyrics).replace("\\n", "\n")
    name = str(args.lyrics_file)
    if name == "-":
        return stdin.read()
    path = Path(name)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the lyrics file {name!r}: {exc.strerror or exc}") from None


def _open_ledger(path: str | None, *, must_exist: bool) -> Ledger | None:
    from minimax_nb.ledger import Ledger, default_ledger_path

    where = Path(path) if path else default_ledger_path()
    if must_exist and not where.exists():
        return None
    return Ledger(where)


def _client(provider: str | None, *, model: str | None = None, account: str | None = None,
            ledger: str | None = None, speed: float | None = None, download_dir: Path | None = None,
            api_key: str | None = None, base_url: str | None = None) -> MusicClient:
    from minimax_nb.client.sync import MusicClient

    kwargs: dict[str, Any] = {}
    if api_key:
        kwargs["api_key"] = api_key
    if base_url:
        kwargs["base_url"] = base_url
    if ledger:
        kwargs["ledger"] = ledger
    if speed is not None:
        kwargs["emulator_speed"] = speed
    if download_dir is not None:
        kwargs["download_dir"] = download_dir
    return MusicClient(provider=provider, model=model, account=account, **kwargs)


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


class _Progress:
    """Prints one line per status change with the time elapsed since the start."""

    def __init__(self, out: TextIO, *, quiet: bool = False) -> None:
        self._out = out
        self._quiet = quiet
        self._t0 = time.monotonic()
        self._last: tuple[str, str | None] | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def __call__(self, job: Job) -> None:
        seen = (job.status.value, str(job.audio_path) if job.audio_path else None)
        if seen == self._last or self._quiet:
            return
        self._last = seen
        what = "downloaded" if job.audio_path else job.status.value
        ident = f" ({job.provider}:{job.id})" if job.id else ""
        print(f"[{self.elapsed():6.1f}s] {what}{ident}", file=self._out, flush=True)


def _print_result(job: Job, out: TextIO, elapsed: float | None = None) -> None:
    path = Path(job.audio_path).resolve() if job.audio_path else None
    print(f"status:   {job.status.value}", file=out)
    if job.title:
        print(f"title:    {job.title}", file=out)
    print(f"duration: {_fmt_s(job.duration_s)}", file=out)
    print(f"file:     {path if path else '-'}", file=out)
    if elapsed is not None:
        print(f"elapsed:  {elapsed:.1f} s", file=out)
    if job.error:
        print(f"error:    {job.error}", file=out)


def _exit_for(job: Job) -> int:
    from minimax_nb.models import JobStatus

    return EXIT_OK if job.status is JobStatus.COMPLETED else EXIT_FAILED


def exit_code_for(exc: BaseException) -> int:
    """The exit code of an error raised by the client (see the module doc)."""
    from minimax_nb.errors import (
        APIConnectionError,
        AuthenticationError,
        BudgetExceededError,
        JobFailedError,
        ModerationError,
        ServerError,
        ValidationError,
    )

    if isinstance(exc, BudgetExceededError):
        return EXIT_BUDGET
    if isinstance(exc, ValidationError):
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError):
        return EXIT_AUTH
    if isinstance(exc, APIConnectionError | ServerError):
        return EXIT_NETWORK
    if isinstance(exc, JobFailedError | ModerationError):
        return EXIT_FAILED
    return EXIT_REFUSED


def _key_problem(provider: str | None, api_key: str | None) -> str | None:
    """Why a real provider cannot be used (no key given), else ``None``."""
    if provider in (None, "local") or api_key:
        return None
    from minimax_nb.providers import get_adapter

    var = get_adapter(provider).env_key
    if os.environ.get(var):
        return None
    return f"no API key for {provider}: set {var} or pass --api-key (or try --provider local, offline)"


# ------------------------------------------------------------------------------------------ commands


def cmd_generate(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    """``generate``: validate, submit, wait with progress, download, print the result."""
    from minimax_nb.errors import MiniMaxError, ValidationError
    from minimax_nb.models import Job, MusicRequest

    lyrics = _read_lyrics(args, stdin)
    if args.speed is not None and args.speed <= 0:
        raise UsageError("--speed must be positive")
    request = MusicRequest(lyrics=lyrics, style=args.style, style_id=args.style_id, title=args.title,
                           model=args.model, instrumental=bool(args.instrumental))
    output = Path(args.output)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the output directory {str(output)!r}: {exc}") from None

    problem = _key_problem(args.provider, args.api_key)
    if problem:
        raise UsageError(problem)
    try:
        client = _client(args.provider, model=args.model, account=args.account, ledger=args.ledger,
                         speed=args.speed, download_dir=output, api_key=args.api_key, base_url=args.base_url)
    except MiniMaxError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=err)
        return exit_code_for(exc)
    with client:
        try:
            issues = client.validate(request)
        except ValidationError as exc:  # e.g. an unknown model name
            print(f"invalid request: {exc}\nnothing was sent.", file=err)
            return EXIT_USAGE
        for issue in issues:
            print(f"{issue.level}: {issue.field}: {issue.message}", file=err)
        if any(issue.level == "error" for issue in issues):
            if not lyrics.strip() and any(i.field == "lyrics" and i.level == "error" for i in issues):
                print("hint: pass --instrumental for a song without words.", file=err)
            print("nothing was sent.", file=err)
            return EXIT_USAGE
        if args.max_usd is not None:
            if args.max_usd < 0:
                raise UsageError("--max-usd must be >= 0")
            estimate = client.estimate_cost(request)
            if estimate is None or estimate > args.max_usd + 1e-9:
                what = ("has no price estimate (unknown), so it cannot be kept under"
                        if estimate is None else f"is estimated at ${estimate:.2f}, over")
                print(f"over budget: this song on {client.provider} {what} --max-usd "
                      f"${args.max_usd:.2f}.\nnothing was sent.", file=err)
                return EXIT_BUDGET
        progress = _Progress(err, quiet=bool(args.quiet))
        if not args.quiet:
            print(f"provider {client.provider}: submitting "
                  f"{args.title or 'a song'} ({len(lyrics)} characters of lyrics)", file=err, flush=True)
        # generate(): the client's own submit-wait-download path (a refused create because the account
        # is busy is sent again after a wait); a create the provider rejects raises, so a wrong key or
        # an unreachable host gets its own exit code instead of "status: failed".
        try:
            job = client.generate(request, on_update=progress, progress=False)
        except MiniMaxError as exc:
            code = exit_code_for(exc)
            job_of = exc.job if isinstance(getattr(exc, "job", None), Job) else None
            if job_of is not None and job_of.id is not None and code != EXIT_AUTH:
                print(f"the job {job_of.provider}:{job_of.id} exists at the provider "
                      f"({job_of.status.value}); python -m minimax_nb resume picks it up.", file=err)
            label = {EXIT_AUTH: "authentication failed", EXIT_NETWORK: "network error",
                     EXIT_FAILED: "job failed"}.get(code, "refused by the provider")
            print(f"{label}: {type(exc).__name__}: {exc}", file=err)
            return code
    _print_result(job, out, progress.elapsed())
    return _exit_for(job)


_JOB_COLUMNS = ("local_id", "provider", "state", "model", "title", "created", "duration", "file", "error")


def _one_line(text: str | None, width: int = 60) -> str:
    if not text:
        return "-"
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _job_row(job: Job, state: str) -> tuple[str, ...]:
    return (
        job.local_id[:8],
        job.provider,
        state,
        job.model or "-",
        (job.title or job.request.title or "-")[:28],
        job.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        _fmt_s(job.duration_s),
        str(job.audio_path) if job.audio_path else "-",
        _one_line(job.error),
    )


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain fixed-width text table (no pandas needed)."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_jobs(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``jobs``: the ledger as a table, oldest first (the newest ``--limit``)."""
    ledger = _open_ledger(args.ledger, must_exist=True)
    if ledger is None:
        print("no jobs yet (no ledger file).", file=out)
        return EXIT_OK
    with ledger:
        jobs = ledger.jobs(provider=args.provider)
        states = ledger.states(provider=args.provider)
        where = ledger.path
    if args.limit and args.limit > 0:
        jobs = jobs[-args.limit:]
    if not jobs:
        print(f"no jobs in {where}.", file=out)
        return EXIT_OK
    rows = [_job_row(j, states.get(j.local_id, j.status.value)) for j in jobs]
    print(format_table(_JOB_COLUMNS, rows), file=out)
    print(f"\n{len(rows)} job(s) in {where}", file=out)
    return EXIT_OK


def cmd_styles(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``styles``: the provider's style list as a table (group, style id, name)."""
    from minimax_nb.errors import MiniMaxError

    problem = _key_problem(args.provider, args.api_key)
    if problem:
        raise UsageError(problem)
    try:
        with _client(args.provider, account=args.account, ledger=args.ledger, api_key=args.api_key,
                     base_url=args.base_url) as client:
            styles = client.styles()
    except NotImplementedError:
        raise UsageError(f"{args.provider} has no style list: describe the style with --style") from None
    except MiniMaxError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=err)
        return exit_code_for(exc)
    rows = [(st.get("styleId", ""), st.get("name", ""), st.get("group", "")) for st in styles]
    print(format_table(("style_id", "name", "group"), rows), file=out)
    print(f"\n{len(rows)} style(s); use one with: generate --provider {args.provider} --style-id ID",
          file=out)
    return EXIT_OK


def cmd_resume(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``resume``: per provider with unfinished work, ``client.resume()``; print each job's outcome."""
    from minimax_nb.errors import MiniMaxError

    ledger = _open_ledger(args.ledger, must_exist=True)
    if ledger is None:
        print("nothing to resume (no ledger file).", file=out)
        return EXIT_OK
    with ledger:
        pending = [*ledger.unfinished(provider=args.provider), *ledger.missing_audio(provider=args.provider)]
    providers = sorted({j.provider for j in pending})
    if not providers:
        print("nothing to resume: every job in the ledger is finished and has its audio.", file=out)
        return EXIT_OK
    code = EXIT_OK
    for provider in providers:
        print(f"resuming {sum(j.provider == provider for j in pending)} job(s) at {provider}...",
              file=err, flush=True)
        try:
            with _client(provider, ledger=args.ledger or None, speed=args.speed,
                         api_key=args.api_key if args.provider else None,
                         base_url=args.base_url if args.provider else None) as client:
                jobs = client.resume(progress=False)
        except MiniMaxError as exc:
            print(f"error: {provider}: {type(exc).__name__}: {exc}", file=err)
            code = max(code, exit_code_for(exc))
            continue
        for job in jobs:
            print(f"{job.local_id[:8]}  {job.provider}  {job.status.value}  "
                  f"{job.audio_path or '-'}{'  ' + job.error if job.error else ''}", file=out)
            if _exit_for(job) != EXIT_OK:
                code = EXIT_FAILED
    return code


# ------------------------------------------------------------------------------------------ entry


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None,
         stdin: TextIO | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        if args.command == "generate":
            return cmd_generate(args, out, err, stdin or sys.stdin)
        if args.command == "jobs":
            return cmd_jobs(args, out, err)
        if args.command == "styles":
            return cmd_styles(args, out, err)
        return cmd_resume(args, out, err)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted (python -m minimax_nb resume picks the job up again).", file=err)
        return EXIT_INTERRUPTED
