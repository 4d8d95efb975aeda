"""The job ledger: every job in a local SQLite file, so a crash or a kernel restart never loses a song.

    from minimax_nb.ledger import Ledger
    with Ledger() as led:                      # ./.minimax_nb/ledger.sqlite, or $MINIMAX_NB_LEDGER
        led.record_submitting(job)             # BEFORE the submit is sent
        led.record(job.evolve(id="abc"))       # the provider answered; and at every status change
        led.record_audio(job, path, sha256, size)
        led.unfinished()                       # what ``client.resume()`` re-attaches to

States are ``JobStatus`` values, the one vocabulary: ``submitting`` (written before the submit is sent),
``ambiguous`` (the create may have been taken but its id is unknown, see ``mark_ambiguous``; never
resubmitted, never written off, reconciled by ``resume()``), ``queued``, ``running``, and the final
``completed``, ``moderated``, ``failed``, ``cancelled``, ``lost``. Every change of state adds a history
row with its time. (Ledgers written before schema 3 called ``ambiguous`` ``"unknown"``; they are migrated
when opened.)

Safety: the file is in WAL mode with a ``busy_timeout``; every write is one short ``BEGIN IMMEDIATE``
transaction, so several clients, threads and processes can share one file, and a process killed at any
point (kill -9) leaves a consistent database that holds every transaction it committed. One ``Ledger``
object may be shared by threads (its connection is guarded by a lock).

Secrets: jobs never carry keys, but the ledger stores nothing that looks like one anyway: mapping keys
named like headers, authorization, api keys, tokens, secrets, passwords or cookies are dropped from the
stored JSON, and every ``Bearer <token>`` (and every secret given to ``Ledger(secrets=...)``) is replaced
by ``***`` in every stored text.

Transitions are compare-and-set, so two processes (two kernels, a kernel and the CLI) can share a file:

- ``transition(job, expect=...)`` writes only if the row is still in a state the writer saw;
- ``mark_ambiguous`` (``mark_unknown``) only moves a row out of ``submitting``, so a stale submitting
  snapshot never overwrites the provider id another process has recorded;
- ``record`` never moves a final row back (a late poll answer is ignored) and never replaces a known
  provider id with a snapshot that has none (or another one).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from minimax_nb.errors import redact
from minimax_nb.models import Job, JobStatus, utcnow

__all__ = [
    "AMBIGUOUS",
    "ENV_VAR",
    "FINAL_STATES",
    "SUBMITTING",
    "UNFINISHED_STATES",
    "UNKNOWN",
    "Expect",
    "Ledger",
    "default_ledger_path",
]

ENV_VAR: Final = "MINIMAX_NB_LEDGER"
SUBMITTING: Final = "submitting"
#: The state of a job whose create may have been taken but whose id is unknown (``JobStatus.AMBIGUOUS``;
#: the name is kept from when the state was called ``"unknown"``).
UNKNOWN: Final = JobStatus.AMBIGUOUS.value
AMBIGUOUS: Final = JobStatus.AMBIGUOUS.value
UNFINISHED_STATES: Final = tuple(s.value for s in JobStatus if s.is_open)
FINAL_STATES: Final = tuple(s.value for s in JobStatus if s.is_final)
SCHEMA_VERSION: Final = 3
#: What ``ambiguous`` was called before schema 3.
_LEGACY_UNKNOWN: Final = "unknown"

#: ``Ledger.transition``'s ``expect``: a state, several states (``None`` among them = "no row yet"), or
#: ``None`` alone = "no row yet, or any open (non-final) state".
Expect = JobStatus | str | Sequence[JobStatus | str | None] | None

_SECRET_KEY = re.compile(
    r"(?i)^(headers?|authorization|proxy-authorization|x-api-key|api[_-]?key|apikey|access[_-]?token|"
    r"token|secret|client[_-]?secret|password|cookie|set-cookie)$"
)

# Flat columns of ``jobs`` (beyond the key), in the order ``rows()`` returns them after ``local_id``.
_JOB_COLUMNS: Final = (
    "provider", "account", "model", "provider_id", "state", "title", "style", "lyrics", "lyrics_chars",
    "bitrate", "sample_rate", "audio_format", "instrumental", "error", "duration_s",
    "created_us", "submitted_us", "started_us", "finished_us", "updated_us",
)

#: The columns of ``Ledger.rows()``, in order.
ROW_COLUMNS: Final = ("local_id", *_JOB_COLUMNS, "audio_path", "audio_sha256", "audio_bytes")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    local_id      TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    account       TEXT,
    model         TEXT,
    provider_id   TEXT,
    state         TEXT NOT NULL,
    title         TEXT,
    style         TEXT,
    lyrics        TEXT,
    lyrics_chars  INTEGER,
    bitrate       INTEGER,
    sample_rate   INTEGER,
    audio_format  TEXT,
    instrumental  INTEGER,
    error         TEXT,
    duration_s    REAL,
    created_us    INTEGER,
    submitted_us  INTEGER,
    started_us    INTEGER,
    finished_us   INTEGER,
    updated_us    INTEGER NOT NULL,
    note          TEXT
);
CREATE TABLE IF NOT EXISTS job_data (
    local_id      TEXT PRIMARY KEY,
    request_json  TEXT NOT NULL,
    job_json      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, provider);
CREATE INDEX IF NOT EXISTS jobs_provider ON jobs (provider, created_us);
CREATE INDEX IF NOT EXISTS jobs_provider_id ON jobs (provider, provider_id);
CREATE TABLE IF NOT EXISTS history (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    local_id  TEXT NOT NULL,
    at_us     INTEGER NOT NULL,
    state     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_job ON history (local_id, seq);
CREATE TABLE IF NOT EXISTS audio (
    local_id  TEXT PRIMARY KEY,
    path      TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    saved_us  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS audio_sha ON audio (sha256);
CREATE TABLE IF NOT EXISTS audio_facts (
    sha256    TEXT NOT NULL,
    version   INTEGER NOT NULL,
    facts     TEXT NOT NULL,
    PRIMARY KEY (sha256, version)
);
"""


def default_ledger_path() -> Path:
    """Where the ledger lives by default: ``$MINIMAX_NB_LEDGER``, else ``./.minimax_nb/ledger.sqlite``.

    ``MINIMAX_NB_LEDGER=off`` (which tells the clients not to record) is not a path: it gives the latter.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env and env.lower() != "off":
        return Path(env).expanduser()
    return Path.cwd() / ".minimax_nb" / "ledger.sqlite"


def _us(dt: datetime | None) -> int | None:
    """Microseconds since the epoch (naive datetimes are taken as UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1_000_000)


def _from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


_CONTAINERS: Final = (Mapping, list, tuple)


class _Scrubber:
    """Removes header-like mapping keys and redacts bearer tokens and known secrets in strings."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: list[str] = [s for s in secrets if s and len(s) >= 4]

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)

    def text(self, value: str | None) -> str | None:
        return None if value is None else redact(value, self._secrets)

    def tree(self, value: Any) -> Any:
        """``value`` without header-like keys (strings are redacted later, in the JSON text)."""
        if isinstance(value, Mapping):
            return {str(k): (self.tree(v) if isinstance(v, _CONTAINERS) else v) for k, v in value.items()
                    if not _SECRET_KEY.match(str(k))}
        if isinstance(value, list | tuple):
            return [self.tree(v) if isinstance(v, _CONTAINERS) else v for v in value]
        return value

    def dumps(self, value: Any) -> str:
        text = json.dumps(self.tree(value), ensure_ascii=False, separators=(",", ":"), default=str)
        return redact(text, self._secrets)

    def __repr__(self) -> str:
        return f"<_Scrubber {len(self._secrets)} secrets>"


class Ledger:
    """A SQLite store of jobs, their state history and saved audio files (the journal; the results'
    audio measurements live in their own cache, ``minimax_nb.results.audio_facts.FactsCache``).

    Args:
        path: the database file. ``None`` uses ``default_ledger_path()`` (its directories are created);
            ``":memory:"`` keeps everything in memory (one ``Ledger`` object only).
        secrets: extra strings (API keys) to scrub from everything stored, on top of bearer tokens.
        timeout: seconds to wait for another writer's lock before failing (``busy_timeout``).

    Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        secrets: Iterable[str | None] = (),
        timeout: float = 30.0,
    ) -> None:
        if path is None:
            path = default_ledger_path()
        self._memory = str(path) == ":memory:"
        self.path: Path | None = None if self._memory else Path(path).expanduser().absolute()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._scrub = _Scrubber(secrets)
        self._lock = threading.RLock()
        self._closed = False
        self._timeout = timeout
        self._pid = os.getpid()
        self._conn = self._connect()
        with self._write() as cur:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    cur.execute(statement)
            row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None and row[0] == "1":  # v1 kept the JSON in ``jobs``: move it aside
                cur.execute("INSERT OR IGNORE INTO job_data (local_id, request_json, job_json) "
                            "SELECT local_id, request_json, job_json FROM jobs")
                cur.execute("ALTER TABLE jobs DROP COLUMN request_json")
                cur.execute("ALTER TABLE jobs DROP COLUMN job_json")
            if row is not None and row[0] in ("1", "2"):  # before 3, ``ambiguous`` was ``"unknown"``
                cur.execute("UPDATE jobs SET state = ? WHERE state = ?", (AMBIGUOUS, _LEGACY_UNKNOWN))
                cur.execute("UPDATE history SET state = ? WHERE state = ?", (AMBIGUOUS, _LEGACY_UNKNOWN))
                # the stored job said what it was when marked (``submitting``): make it say ``ambiguous``
                cur.execute("UPDATE job_data SET job_json = json_set(job_json, '$.status', ?) "
                            "WHERE json_valid(job_json) AND local_id IN "
                            "(SELECT local_id FROM jobs WHERE state = ?)", (AMBIGUOUS, AMBIGUOUS))
            if row is None or row[0] in ("1", "2"):
                cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                            (str(SCHEMA_VERSION),))

    # ---------------------------------------------------------------- plumbing

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            ":memory:" if self.path is None else str(self.path),
            timeout=self._timeout,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        if not self._memory:
            self._retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across process crashes
        return conn

    def _retry_busy(self, fn: Any, attempts: int = 50) -> Any:
        for i in range(attempts):
            try:
                return fn()
            except sqlite3.OperationalError as exc:  # journal_mode change can race with a peer
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(0.02 * (i + 1))
        return fn()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        """One short write transaction (``BEGIN IMMEDIATE``: the write lock is taken up front)."""
        with self._lock:
            self._check_open()
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            self._check_open()
            return self._conn.execute(sql, params).fetchall()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Ledger is closed")
        if self._pid != os.getpid() and not self._memory:
            # forked: a SQLite connection must not cross a fork; leave the parent's alone, open ours
            self._pid = os.getpid()
            self._conn = self._connect()

    def add_secret(self, secret: str | None) -> None:
        """Also scrub ``secret`` (an API key) from everything stored from now on."""
        self._scrub.add(secret)

    # ---------------------------------------------------------------- writes

    def _columns(self, job: Job, state: str) -> dict[str, Any]:
        req = job.request
        lyrics = job.lyrics if job.lyrics is not None else req.lyrics
        now = _us(utcnow())
        return {
            "provider": job.provider,
            "account": self._scrub.text(job.account),
            "model": job.model or req.model,
            "provider_id": job.id,
            "state": state,
            "title": self._scrub.text(job.title if job.title is not None else req.title),
            "style": self._scrub.text(job.style if job.style is not None else req.style),
            "lyrics": self._scrub.text(lyrics),
            "lyrics_chars": len(lyrics) if lyrics is not None else None,
            "bitrate": req.bitrate,
            "sample_rate": req.sample_rate,
            "audio_format": req.audio_format,
            "instrumental": int(bool(req.instrumental)),
            "error": self._scrub.text(job.error),
            "duration_s": job.duration_s,
            "created_us": _us(job.created_at),
            "submitted_us": _us(job.submitted_at),
            "started_us": _us(job.started_at),
            "finished_us": _us(job.finished_at),
            "updated_us": now,
        }

    def _json(self, job: Job) -> tuple[str, str]:
        """``(request_json, job_json)``; the job's JSON leaves out the request (stored once, beside it)."""
        data = job.to_dict()
        request = data.pop("request")
        return self._scrub.dumps(request), self._scrub.dumps(data)

    def _upsert(self, cur: sqlite3.Cursor, job: Job, state: str, note: str | None = None,
                *, force: bool = True) -> bool:
        """Write ``job`` in ``state``; a history row if the state changed. Returns whether it wrote.

        Unless ``force``: a final row is not moved back to an open state, and a row that has a provider
        id is not overwritten by a snapshot without it (or with another id).
        """
        row = cur.execute("SELECT state, provider_id FROM jobs WHERE local_id = ?",
                          (job.local_id,)).fetchone()
        old = row[0] if row else None
        if not force and row is not None:
            if old in FINAL_STATES and state not in FINAL_STATES:
                return False
            if row[1] is not None and job.id != row[1]:
                return False
        cols = self._columns(job, state)
        cols["note"] = self._scrub.text(note)
        if old is None:
            names = ", ".join(["local_id", *cols])
            marks = ", ".join("?" * (len(cols) + 1))
            cur.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", (job.local_id, *cols.values()))
        else:
            if note is None:
                del cols["note"]  # keep an earlier note (why a job is unknown)
            sets = ", ".join(f"{k} = ?" for k in cols)
            cur.execute(f"UPDATE jobs SET {sets} WHERE local_id = ?", (*cols.values(), job.local_id))
        request_json, job_json = self._json(job)
        cur.execute("INSERT OR REPLACE INTO job_data (local_id, request_json, job_json) VALUES (?, ?, ?)",
                    (job.local_id, request_json, job_json))
        if old != state:
            cur.execute("INSERT INTO history (local_id, at_us, state) VALUES (?, ?, ?)",
                        (job.local_id, cols["updated_us"], state))
        return True

    def record_submitting(self, job: Job) -> bool:
        """Write ``job`` in state ``"submitting"`` with its request. Call it BEFORE the submit is sent.

        Compare-and-set: only a new row, or one still in ``submitting`` without a provider id, is
        written; a row that moved on (another process recorded its id, or marked it ambiguous) is never
        moved back. Returns whether it wrote.
        """
        with self._write() as cur:
            row = cur.execute("SELECT state, provider_id FROM jobs WHERE local_id = ?",
                              (job.local_id,)).fetchone()
            if row is not None and (row[0] != SUBMITTING or row[1] is not None):
                return False
            return self._upsert(cur, job, SUBMITTING)

    def record(self, job: Job) -> None:
        """Insert or update ``job`` (by ``local_id``) in its status; a history row when the state changed.

        A non-final status never replaces a final one (a late, stale snapshot is ignored).
        """
        with self._write() as cur:
            self._upsert(cur, job, job.status.value, force=False)

    def record_many(self, jobs: Iterable[Job]) -> int:
        """``record`` every job in one transaction (an import, a bulk update); returns how many it wrote."""
        written = 0
        with self._write() as cur:
            for job in jobs:
                written += self._upsert(cur, job, job.status.value, force=False)
        return written

    def record_audio(self, job: Job, path: str | os.PathLike[str], sha256: str, size: int) -> None:
        """Remember that ``job``'s audio was saved at ``path`` (stored absolute) with this hash and size.

        The stored job gets ``audio_path`` set; the job row is written too if it is not there yet.
        """
        abspath = Path(path).expanduser().absolute()
        job = job if job.audio_path == abspath else job.evolve(audio_path=abspath)
        with self._write() as cur:
            if not self._upsert(cur, job, job.status.value, force=False):
                # a stale snapshot of a final job: keep the final state, but remember the path
                stored = json.loads(cur.execute("SELECT job_json FROM job_data WHERE local_id = ?",
                                                (job.local_id,)).fetchone()[0])
                stored["audio_path"] = str(abspath)
                cur.execute("UPDATE job_data SET job_json = ? WHERE local_id = ?",
                            (self._scrub.dumps(stored), job.local_id))
            cur.execute(
                "INSERT INTO audio (local_id, path, sha256, size, saved_us) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (local_id) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256, "
                "size = excluded.size, saved_us = excluded.saved_us",
                (job.local_id, str(abspath), sha256.lower(), int(size), _us(utcnow())),
            )

    def transition(self, job: Job, *, expect: Expect, note: str | None = None) -> bool:
        """Compare-and-set: write ``job`` (in ``job.status``) only if its row is in a state of ``expect``.

        ``expect`` is one state, or a sequence of states in which ``None`` stands for "no row yet";
        ``expect=None`` alone means "no row yet, or any open (non-final) state". Besides the state, a
        row that already has a provider id only accepts a job with that same id (a known id is never
        lost). The check and the write are one transaction, so of two writers that saw the same state
        only the first moves the row. A history row is added when the state changes; ``note`` (why) is
        kept with the job. Returns whether the row was written.
        """
        allowed = self._expected(expect)
        with self._write() as cur:
            row = cur.execute("SELECT state, provider_id FROM jobs WHERE local_id = ?",
                              (job.local_id,)).fetchone()
            if (row[0] if row else None) not in allowed:
                return False
            if row is not None and row[1] is not None and job.id != row[1]:
                return False
            return self._upsert(cur, job, job.status.value, note=note)

    @staticmethod
    def _expected(expect: Expect) -> frozenset[str | None]:
        if expect is None:
            return frozenset({None, *UNFINISHED_STATES})
        items: Iterable[JobStatus | str | None]
        items = [expect] if isinstance(expect, JobStatus | str) else expect
        out: set[str | None] = set()
        for item in items:
            if item is None:
                out.add(None)
                continue
            value = item.value if isinstance(item, JobStatus) else str(item)
            if value == _LEGACY_UNKNOWN:
                value = AMBIGUOUS
            if value not in {s.value for s in JobStatus}:
                raise ValueError(f"unknown job state {item!r}; expected one of "
                                 f"{', '.join(s.value for s in JobStatus)}")
            out.add(value)
        return frozenset(out)

    def mark_ambiguous(self, job: Job, reason: str) -> bool:
        """Move a job out of ``submitting`` into ``ambiguous``: its create may have been taken, its id is
        unknown. Such a job is never resubmitted and never written off; ``resume()`` reconciles it.

        Compare-and-set: only a row still in ``submitting`` (or not there yet) moves. A job that
        meanwhile moved on (another process recorded its provider id, or finished it) is left as it is,
        so a stale submitting snapshot never overwrites a recorded id. ``reason`` is kept (``note``) and
        shown as the job's error. Returns whether the row moved.
        """
        reason = self._scrub.text(reason) or ""
        job = job.evolve(status=JobStatus.AMBIGUOUS, error=job.error if job.error is not None else reason)
        return self.transition(job, expect=(None, SUBMITTING), note=reason)

    def mark_unknown(self, job: Job, reason: str) -> bool:
        """The former name of :meth:`mark_ambiguous` (the state was called ``"unknown"``)."""
        return self.mark_ambiguous(job, reason)

    def integrity_ok(self) -> bool:
        """Whether ``PRAGMA integrity_check`` finds the database file sound."""
        rows = self._read("PRAGMA integrity_check")
        return [tuple(r) for r in rows] == [("ok",)]

    # ---------------------------------------------------------------- reads

    _SELECT_JOB: Final = ("SELECT d.request_json, d.job_json, a.path FROM jobs j "
                          "JOIN job_data d ON d.local_id = j.local_id "
                          "LEFT JOIN audio a ON a.local_id = j.local_id ")

    def _job(self, request_json: str, job_json: str, audio_path: str | None) -> Job:
        data = json.loads(job_json)
        data["request"] = json.loads(request_json)
        if audio_path:
            data["audio_path"] = audio_path
        return Job.from_dict(data)

    def get(self, local_id: str) -> Job | None:
        """The last stored ``Job`` with this ``local_id``, or ``None``."""
        rows = self._read(self._SELECT_JOB + "WHERE j.local_id = ?", (local_id,))
        return self._job(*rows[0]) if rows else None

    def find(self, provider: str, provider_id: str) -> Job | None:
        """The stored job with this provider's id, or ``None``."""
        rows = self._read(self._SELECT_JOB + "WHERE j.provider = ? AND j.provider_id = ? "
                          "ORDER BY j.rowid DESC LIMIT 1", (provider, provider_id))
        return self._job(*rows[0]) if rows else None

    def _jobs_where(self, where: str, params: Sequence[Any], provider: str | None) -> list[Job]:
        sql = self._SELECT_JOB + f"WHERE {where}"
        if provider is not None:
            sql += " AND j.provider = ?"
            params = (*params, provider)
        sql += " ORDER BY j.rowid"
        return [self._job(*r) for r in self._read(sql, params)]

    def jobs(self, provider: str | None = None) -> list[Job]:
        """Every stored job (of ``provider`` if given), in the order they were first recorded."""
        return self._jobs_where("1", (), provider)

    def unfinished(self, provider: str | None = None) -> list[Job]:
        """Jobs in an open state — ``submitting``, ``ambiguous``, ``queued``, ``running`` — (what
        ``resume()`` reconciles), oldest first."""
        marks = ", ".join("?" * len(UNFINISHED_STATES))
        return self._jobs_where(f"j.state IN ({marks})", UNFINISHED_STATES, provider)

    def ambiguous(self, provider: str | None = None) -> list[Job]:
        """Jobs whose create may have been taken but whose id is unknown (``ambiguous``), oldest first."""
        return self._jobs_where("j.state = ?", (AMBIGUOUS,), provider)

    def state(self, local_id: str) -> str:
        """The job's state, a ``JobStatus`` value (``"submitting"``, ``"ambiguous"``…). ``KeyError`` for an
        unknown id."""
        rows = self._read("SELECT state FROM jobs WHERE local_id = ?", (local_id,))
        if not rows:
            raise KeyError(local_id)
        return str(rows[0][0])

    def states(self, provider: str | None = None) -> dict[str, str]:
        """``{local_id: state}`` for every job (of ``provider``)."""
        if provider is None:
            rows = self._read("SELECT local_id, state FROM jobs")
        else:
            rows = self._read("SELECT local_id, state FROM jobs WHERE provider = ?", (provider,))
        return {r[0]: r[1] for r in rows}

    def missing_audio(self, provider: str | None = None) -> list[Job]:
        """Completed jobs without a saved audio file (never saved, or the saved file is gone)."""
        sql = self._SELECT_JOB + "WHERE j.state = ?"
        params: tuple[Any, ...] = (JobStatus.COMPLETED.value,)
        if provider is not None:
            sql += " AND j.provider = ?"
            params = (*params, provider)
        sql += " ORDER BY j.rowid"
        out = []
        for request_json, job_json, path in self._read(sql, params):
            if path is None or not Path(path).is_file():
                job = self._job(request_json, job_json, None)
                out.append(job.evolve(audio_path=None) if path else job)
        return out

    def history(self, local_id: str) -> list[tuple[datetime, str]]:
        """Every state this job went through, with the time (UTC) it was recorded, oldest first."""
        rows = self._read("SELECT at_us, state FROM history WHERE local_id = ? ORDER BY seq", (local_id,))
        return [(_from_us(at), state) for at, state in rows]

    def note(self, local_id: str) -> str | None:
        """The reason given with the job's last noted transition (``mark_ambiguous``, ``transition``)."""
        rows = self._read("SELECT note FROM jobs WHERE local_id = ?", (local_id,))
        return rows[0][0] if rows else None

    def audio(self, local_id: str) -> tuple[Path, str, int] | None:
        """``(path, sha256, size)`` of the saved audio of this job, or ``None``."""
        rows = self._read("SELECT path, sha256, size FROM audio WHERE local_id = ?", (local_id,))
        return (Path(rows[0][0]), rows[0][1], rows[0][2]) if rows else None

    def __len__(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM jobs")[0][0])

    def __contains__(self, local_id: object) -> bool:
        return bool(isinstance(local_id, str) and self._read(
            "SELECT 1 FROM jobs WHERE local_id = ?", (local_id,)))

    # ---------------------------------------------------------------- tables

    def rows(self, provider: str | None = None) -> list[tuple[Any, ...]]:
        """Flat rows for building tables, in ``ROW_COLUMNS`` order (times in µs since the epoch, UTC),
        in the order the jobs were first recorded."""
        cols = ", ".join(("local_id", *_JOB_COLUMNS))
        sql = f"SELECT {cols} FROM jobs"
        params: tuple[Any, ...] = ()
        if provider is not None:
            sql += " WHERE provider = ?"
            params = (provider,)
        sql += " ORDER BY rowid"
        with self._lock:  # one read transaction: jobs and their audio seen at the same moment
            self._check_open()
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN")
                rows = cur.execute(sql, params).fetchall()
                audio = {r[0]: r[1:] for r in cur.execute("SELECT local_id, path, sha256, size FROM audio")}
            finally:
                cur.execute("COMMIT")
                cur.close()
        none = (None, None, None)
        return [(*r, *audio.get(r[0], none)) for r in rows]

    # ---------------------------------------------------------------- lifetime

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    def __repr__(self) -> str:
        where = ":memory:" if self.path is None else str(self.path)
        return f"<Ledger {where}{' closed' if self._closed else ''}>"
