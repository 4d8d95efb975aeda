"""Building the results DataFrame from a ``Ledger`` (see ``minimax_nb.results`` for the columns)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import itertools
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from minimax_nb.ledger import ROW_COLUMNS, Ledger
from minimax_nb.models import Job, JobStatus, MusicRequest
from minimax_nb.results.audio_facts import FACTS_VERSION, AudioFacts, FactsCache, measure_file

__all__ = [
    "COLUMNS",
    "DTYPES",
    "STATUS_CATEGORIES",
    "MeasurePool",
    "apply_dtypes",
    "build_frame",
    "jobs_frame",
    "measure_files",
    "open_ledger",
    "results",
]

#: Every state a job can be in, in lifecycle order (every ``JobStatus``, incl. ``ambiguous`` and
#: ``lost``): the categories of the ``status`` column.
STATUS_CATEGORIES: Final = tuple(s.value for s in JobStatus)

_TS: Final = "datetime64[ns, UTC]"
T = TypeVar("T")

#: The columns of the results DataFrame, in order, with their dtypes (``"category"``: categories are the
#: sorted values present, except ``status`` whose categories are ``STATUS_CATEGORIES``).
DTYPES: Final[dict[str, str]] = {
    "provider": "category",
    "model": "category",
    "account": "string",
    "job_id": "string",
    "local_id": "string",
    "title": "string",
    "variant": "Int64",
    "style": "string",
    "style_name": "string",
    "style_id": "string",
    "lyrics": "string",
    "lyrics_chars": "Int64",
    "bitrate": "Int64",
    "sample_rate": "Int64",
    "audio_format": "category",
    "instrumental": "boolean",
    "est_cost_usd": "Float64",
    "status": "category",
    "error": "string",
    "created_at": _TS,
    "submitted_at": _TS,
    "started_at": _TS,
    "finished_at": _TS,
    "queue_s": "Float64",
    "generation_s": "Float64",
    "latency_s": "Float64",
    "reported_duration_s": "Float64",
    "audio_path": "string",
    "audio_sha256": "string",
    "audio_bytes": "Int64",
    "measured_duration_s": "Float64",
    "measured_sample_rate": "Int64",
    "channels": "Int64",
    "bitrate_kbps": "Float64",
    "peak_dbfs": "Float64",
    "rms_dbfs": "Float64",
    "loudness_lufs": "Float64",
    "tempo_bpm": "Float64",
}
COLUMNS: Final = tuple(DTYPES)
MEASURED_COLUMNS: Final = tuple(f.name for f in AudioFacts.__dataclass_fields__.values())

def _category(values: Any, categories: Sequence[str] | None = None) -> pd.Categorical:
    cat = pd.Categorical(values)
    if categories is None:
        return cat.set_categories(sorted(cat.categories))
    extra = sorted(set(cat.categories) - set(categories))
    return cat.set_categories([*categories, *extra])


def _float_array(values: Sequence[Any]) -> npt.NDArray[np.float64]:
    """``values`` (numbers or ``None``) as float64 with NaN for ``None`` (numpy converts in C)."""
    return np.array(values, dtype=np.float64) if len(values) else np.empty(0, dtype=np.float64)


def _timestamps(us: Sequence[Any]) -> pd.DatetimeIndex:
    arr = _float_array(us)  # µs since the epoch fit a float64 exactly (< 2**53)
    mask = np.isnan(arr)
    ints = np.where(mask, 0, arr).astype(np.int64) * 1000
    out = ints.view("datetime64[ns]").copy()
    out[mask] = np.datetime64("NaT")
    return pd.DatetimeIndex(out).tz_localize("UTC")


def _float(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    arr = _float_array(values)
    return pd.arrays.FloatingArray(arr, np.isnan(arr))


def _int(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    arr = _float_array(values)
    mask = np.isnan(arr)
    return pd.arrays.IntegerArray(np.where(mask, 0, arr).astype(np.int64), mask)


def _na(n: int, dtype: str) -> pd.api.extensions.ExtensionArray:
    mask = np.ones(n, dtype=bool)
    if dtype == "Int64":
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), mask)
    return pd.arrays.FloatingArray(np.zeros(n, dtype=np.float64), mask)


def _strings(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    """A ``string`` array; built by pyarrow in C when the ``string`` dtype is pyarrow-backed."""
    if pd.StringDtype().storage == "pyarrow":
        try:
            import pyarrow as pa

            arrow = pa.array(values, type=pa.large_string())
        except (ImportError, TypeError, ValueError):  # pragma: no cover - non-str values
            pass
        else:
            out: pd.api.extensions.ExtensionArray = pd.array(arrow, dtype="string")
            return out
    return pd.array(list(values), dtype="string")


def _seconds(later: pd.DatetimeIndex, earlier: pd.DatetimeIndex) -> pd.api.extensions.ExtensionArray:
    delta = (later - earlier).to_numpy(dtype="timedelta64[ns]").astype(np.int64)
    mask: npt.NDArray[np.bool_] = np.asarray(later.isna()) | np.asarray(earlier.isna())
    return pd.arrays.FloatingArray(np.where(mask, 0, delta) / 1e9, mask)


def build_frame_from_rows(rows: Sequence[Sequence[Any]],
                          facts: dict[str, dict[str, Any]] | None = None,
                          requests: dict[str, MusicRequest] | None = None) -> pd.DataFrame:
    """The results DataFrame from ``Ledger.rows()`` rows and measured facts keyed by sha256.

    ``requests``: the stored request of each useapi job by local id (see ``_style_columns``)."""
    n = len(rows)
    cols: dict[str, Sequence[Any]] = (
        dict(zip(ROW_COLUMNS, zip(*rows, strict=True), strict=True)) if n
        else {c: () for c in ROW_COLUMNS})
    data: dict[str, Any] = {}
    data["provider"] = _category(cols["provider"])
    data["model"] = _category(cols["model"])
    for src, dst in (("account", "account"), ("provider_id", "job_id"), ("local_id", "local_id"),
                     ("title", "title"), ("lyrics", "lyrics")):
        data[dst] = _strings(cols[src])
    style, style_name, style_id = _style_columns(cols, requests or {})
    data["style"], data["style_name"], data["style_id"] = (_strings(style), _strings(style_name),
                                                           _strings(style_id))
    data["variant"] = _int(_variants(cols))
    data["est_cost_usd"] = _float(_costs(cols))
    for name in ("lyrics_chars", "bitrate", "sample_rate"):
        data[name] = _int(cols[name])
    data["audio_format"] = _category(cols["audio_format"])
    data["instrumental"] = pd.array([None if v is None else bool(v) for v in cols["instrumental"]],
                                    dtype="boolean")
    data["status"] = _category(cols["state"], STATUS_CATEGORIES)
    data["error"] = _strings(cols["error"])
    times = {name: _timestamps(cols[src]) for src, name in (
        ("created_us", "created_at"), ("submitted_us", "submitted_at"), ("started_us", "started_at"),
        ("finished_us", "finished_at"))}
    data.update(times)
    data["queue_s"] = _seconds(times["started_at"], times["submitted_at"])
    data["generation_s"] = _seconds(times["finished_at"], times["started_at"])
    data["latency_s"] = _seconds(times["finished_at"], times["submitted_at"])
    data["reported_duration_s"] = _float(cols["duration_s"])
    data["audio_path"] = _strings(cols["audio_path"])
    data["audio_sha256"] = _strings(cols["audio_sha256"])
    data["audio_bytes"] = _int(cols["audio_bytes"])
    measured = [facts.get(sha) if sha else None for sha in cols["audio_sha256"]] if facts else []
    for name in MEASURED_COLUMNS:
        if any(measured):
            values = [m.get(name) if m else None for m in measured]
            data[name] = _int(values) if DTYPES[name] == "Int64" else _float(values)
        else:
            data[name] = _na(n, DTYPES[name])
    return pd.DataFrame({c: data[c] for c in COLUMNS}, index=pd.RangeIndex(n))


def _style_columns(cols: dict[str, Sequence[Any]], requests: dict[str, MusicRequest],
                   ) -> tuple[list[str | None], list[str | None], list[str | None]]:
    """``style`` (the style text asked for, the same meaning on every provider), ``style_name`` (the
    style name the provider reports, useapi) and ``style_id`` (useapi v1's style id).

    The ledger's ``style`` column holds the provider's style where it reports one (useapi: the name of
    the style id, "Pop") and else the request's text; for useapi rows the stored request tells them
    apart."""
    style: list[str | None] = []
    name: list[str | None] = []
    sid: list[str | None] = []
    for provider, local_id, stored in zip(cols["provider"], cols["local_id"], cols["style"], strict=True):
        req = requests.get(local_id) if provider == "useapi" else None
        if req is None:
            style.append(stored)
            name.append(None)
            sid.append(None)
            continue
        asked = req.style if req.style and req.style.strip() else None
        style.append(asked)
        name.append(stored if stored is not None and stored != asked else None)
        sid.append(req.style_id)
    return style, name, sid


def _variants(cols: dict[str, Sequence[Any]]) -> list[int]:
    """1, 2, 3… for repeated requests: rows with the same provider, model, title, style and lyrics,
    in the order they were recorded (the studio's "Variants" and ``generate_many`` of one request)."""
    seen: dict[tuple[Any, ...], int] = {}
    out: list[int] = []
    for key in zip(cols["provider"], cols["model"], cols["title"], cols["style"], cols["lyrics"],
                   strict=True):
        seen[key] = seen.get(key, 0) + 1
        out.append(seen[key])
    return out


def _costs(cols: dict[str, Sequence[Any]]) -> list[float | None]:
    """The provider's price estimate (USD) of each row's model; ``None`` when unknown."""
    # Imported by name at run time: a static import here makes mypy see minimax_nb/__init__'s lazy
    # ``compare`` export twice (an import-cycle artefact), and results need providers only here.
    get_adapter: Callable[[str], Any] = importlib.import_module("minimax_nb.providers").get_adapter

    memo: dict[tuple[str, str | None], float | None] = {}
    out: list[float | None] = []
    for provider, model in zip(cols["provider"], cols["model"], strict=True):
        key = (provider, model)
        if key not in memo:
            try:
                memo[key] = get_adapter(provider).estimate_cost_usd(MusicRequest(model=model), model=model)
            except Exception:  # an unknown provider or a model no longer listed: no estimate
                memo[key] = None
        out.append(memo[key])
    return out


def _useapi_requests(ledger: Ledger, rows: Sequence[Sequence[Any]]) -> dict[str, MusicRequest]:
    i_provider = ROW_COLUMNS.index("provider")
    if not any(r[i_provider] == "useapi" for r in rows):
        return {}
    return {j.local_id: j.request for j in ledger.jobs("useapi")}


#: ``results()`` measures new files on a process pool from this many on (fewer: one after another)
PARALLEL_MIN: Final = 16


def _measure_one(candidates: Sequence[tuple[str, int | None]],
                 measure: Callable[[Path], AudioFacts]) -> dict[str, Any] | None:
    for path, size in candidates:
        p = Path(path)
        try:
            if not p.is_file() or (size is not None and p.stat().st_size != size):
                continue  # gone or changed since it was saved: not the file the ledger knows
            return measure(p).to_dict()
        except Exception:  # an undecodable file leaves its measured columns empty
            continue
    return None


def _picklable(obj: object) -> bool:
    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


def _pool_size(n: int) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cpus, n, 8)


def _process_pool(n: int) -> ProcessPoolExecutor | None:
    size = _pool_size(n)
    if size < 2:
        return None
    # spawn: a kernel's threads (the monitor, the event loop) must not be forked mid-lock
    return ProcessPoolExecutor(max_workers=size, mp_context=multiprocessing.get_context("spawn"))


def lower_priority() -> None:
    """A pool worker's initializer: yield the CPU to the kernel (and everything else) first."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)


class MeasurePool(Executor):
    """A process pool for decoding audio that starts its workers on first use, at a lower priority
    (``lower_priority``), and keeps them for later batches: the studio's table hands it every finished
    song, so the kernel's own process never decodes (decoding in a thread would hold its GIL, and
    starting a pool per batch costs a second or more of imports each time).

    ``workers``: default one per CPU, at most 2 (leaving room for the emulator's child process).
    ``shutdown`` ends the workers; submitting afterwards raises ``RuntimeError``.
    """

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or _pool_size(2)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def started(self) -> bool:
        """Whether worker processes were started (only once something was submitted)."""
        return self._pool is not None

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the measure pool was shut down")
            if self._pool is None:
                # spawn: a kernel's threads (the ticker, the event loop) must not be forked mid-lock
                self._pool = ProcessPoolExecutor(max_workers=self._workers,
                                                 mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=lower_priority)
            return self._pool

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return self._get().submit(fn, *args, **kwargs)

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1) -> Iterator[T]:
        return self._get().map(fn, *iterables, timeout=timeout, chunksize=chunksize)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def __repr__(self) -> str:
        return f"<MeasurePool workers={self._workers} started={self.started}>"


def measure_files(groups: Sequence[Sequence[tuple[str, int | None]]],
                  measure: Callable[[Path], AudioFacts] = measure_file, *,
                  workers: int | None = None, executor: Executor | None = None,
                  ) -> list[dict[str, Any] | None]:
    """Measure one file of each group (the first readable one whose size matches), in order.

    ``executor``: any ``concurrent.futures.Executor`` (a process pool, Dask's ``client.get_executor()``
    …), used as given and not shut down; ``measure`` must then be picklable for it. Without one:
    ``workers=None`` measures on a process pool of up to 8 (one per CPU) when there are at least
    ``PARALLEL_MIN`` files and ``measure`` can be sent to another process, else one after another;
    ``workers=1`` always one after another; ``workers=N`` on N threads.
    """
    if not groups:
        return []
    if executor is not None:
        return list(executor.map(_measure_one, groups, itertools.repeat(measure)))
    if workers is None:
        pool = _process_pool(len(groups)) if len(groups) >= PARALLEL_MIN and _picklable(measure) else None
        if pool is not None:
            with pool:
                chunk = max(1, len(groups) // (_pool_size(len(groups)) * 4))
                return list(pool.map(_measure_one, groups, itertools.repeat(measure), chunksize=chunk))
        workers = 1
    if workers <= 1 or len(groups) == 1:
        return [_measure_one(g, measure) for g in groups]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minimax_nb-measure") as threads:
        return list(threads.map(_measure_one, groups, itertools.repeat(measure)))


def _measure_missing(cache: FactsCache, rows: Sequence[Sequence[Any]],
                     measure: Callable[[Path], AudioFacts], workers: int | None = None,
                     executor: Executor | None = None) -> dict[str, dict[str, Any]]:
    i_path, i_sha, i_size = (ROW_COLUMNS.index(c) for c in ("audio_path", "audio_sha256", "audio_bytes"))
    wanted: dict[str, list[tuple[str, int | None]]] = {}
    for r in rows:
        if r[i_sha]:
            wanted.setdefault(r[i_sha], []).append((r[i_path], r[i_size]))
    facts = cache.get(wanted, FACTS_VERSION)
    todo = [sha for sha in wanted if sha not in facts]
    if not todo:
        return facts
    measured = measure_files([wanted[sha] for sha in todo], measure, workers=workers, executor=executor)
    fresh = {sha: m for sha, m in zip(todo, measured, strict=True) if m is not None}
    if fresh:
        cache.put(fresh, FACTS_VERSION)
    return {**facts, **fresh}


def build_frame(ledger: Ledger, measure: bool = True, *, provider: str | None = None,
                measurer: Callable[[Path], AudioFacts] = measure_file,
                workers: int | None = None, executor: Executor | None = None,
                cache: FactsCache | None = None) -> pd.DataFrame:
    """One row per job of ``ledger``; audio measured when ``measure`` (new files only: measurements are
    cached by sha256 in ``cache``, default ``FactsCache.for_ledger(ledger)``).

    ``workers``/``executor``: where new files are measured, see ``measure_files`` (default: a process
    pool when there are many). ``bench/bench_ledger.py`` prints serial vs pool.
    """
    rows = ledger.rows(provider)
    requests = _useapi_requests(ledger, rows)
    if not measure:
        return build_frame_from_rows(rows, None, requests)
    own = cache is None
    facts_cache = FactsCache.for_ledger(ledger) if cache is None else cache
    try:
        facts = _measure_missing(facts_cache, rows, measurer, workers, executor)
    finally:
        if own:
            facts_cache.close()
    return build_frame_from_rows(rows, facts, requests)


def open_ledger(ledger: Ledger | str | os.PathLike[str] | None) -> tuple[Ledger, bool]:
    """``(ledger, owned)``: a ``Ledger`` for a path or ``None`` (the default file), or the one given."""
    if isinstance(ledger, Ledger):
        return ledger, False
    return Ledger(ledger), True


# In-process memo for frames built from a list of jobs (no ledger file): (path, size, mtime_ns) -> sha256.
# Their measurements are cached by sha256 in this process's memory (``FactsCache(None)``).
_SHA_MEMO: dict[tuple[str, int, int], str] = {}
_MEMO_MAX = 4096


def _file_sha256(path: Path) -> tuple[str, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_size, st.st_mtime_ns)
    sha = _SHA_MEMO.get(key)
    if sha is None:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        sha = h.hexdigest()
        if len(_SHA_MEMO) >= _MEMO_MAX:
            _SHA_MEMO.clear()
        _SHA_MEMO[key] = sha
    return sha, st.st_size


def jobs_frame(jobs: Iterable[Job], measure: bool = True, *,
               executor: Executor | None = None, cache: FactsCache | None = None) -> pd.DataFrame:
    """The results DataFrame of these jobs (no ledger needed): the same columns as ``results()``.

    Audio files named by ``job.audio_path`` are hashed and measured; both are memoized in this process.
    ``executor``: see ``results()``. ``cache``: where measurements are looked up and kept (default: this
    process's memory; ``FactsCache.for_ledger(ledger)`` shares them with that ledger's ``results()``).
    """
    with Ledger(":memory:") as led:
        for job in jobs:
            led.record(job)
            if job.audio_path is not None:
                found = _file_sha256(Path(job.audio_path))
                if found is not None:
                    led.record_audio(job, job.audio_path, found[0], found[1])
        return build_frame(led, measure=measure, executor=executor, cache=cache)


def results(ledger: Ledger | str | os.PathLike[str] | Iterable[Job] | None = None,
            measure: bool = True, *, executor: Executor | None = None) -> pd.DataFrame:
    """The results DataFrame: one row per job, columns as documented in ``minimax_nb.results``.

    Args:
        ledger: a ``Ledger``, a ledger file path, ``None`` for the default ledger
            (``$MINIMAX_NB_LEDGER`` or ``./.minimax_nb/ledger.sqlite``), or a list of ``Job`` objects.
        measure: decode the saved audio files and fill the measured columns (cached by SHA-256 next
            to the ledger, so only new files are decoded).
        executor: where new files are measured: any ``concurrent.futures.Executor`` (used, not shut
            down). Default: a process pool when there are many new files (``PARALLEL_MIN``), else
            one after another. A cluster measures a large library, e.g. with Dask
            ``results(ledger, executor=distributed.Client(...).get_executor())``; with Ray, any
            ``Executor`` whose ``submit`` runs the call as a Ray task. The files must be readable at
            the same paths where the work runs.
    """
    if ledger is not None and not isinstance(ledger, Ledger | str | os.PathLike):
        return jobs_frame(ledger, measure=measure, executor=executor)
    led, owned = open_ledger(ledger)
    try:
        return build_frame(led, measure=measure, executor=executor)
    finally:
        if owned:
            led.close()


def _has_dtype(col: pd.Series, dtype: str) -> bool:
    if dtype == "category":
        if not isinstance(col.dtype, pd.CategoricalDtype):
            return False
        if col.name == "status":
            return list(col.cat.categories[: len(STATUS_CATEGORIES)]) == list(STATUS_CATEGORIES)
        return True
    return str(col.dtype) == dtype


def apply_dtypes(df: pd.DataFrame, *, only_mismatched: bool = False) -> pd.DataFrame:
    """``df`` with the documented dtype on every known column (after reading a CSV, for instance).

    ``only_mismatched`` leaves columns that already have their documented dtype as they are.
    """
    out = df.copy()
    for name, dtype in DTYPES.items():
        if name not in out.columns:
            continue
        col = out[name]
        if only_mismatched and _has_dtype(col, dtype):
            continue
        if dtype == "category":
            values = col.astype("object").where(col.notna(), None)
            out[name] = pd.Series(_category(values.tolist(), STATUS_CATEGORIES if name == "status"
                                            else None), index=out.index)
        elif dtype == _TS:
            out[name] = pd.to_datetime(col, utc=True, format="ISO8601").astype(_TS)
        elif dtype == "boolean" and col.dtype == object:
            out[name] = col.map(lambda v: None if v is None or v is pd.NA or v != v
                                else str(v).lower() in ("true", "1")).astype("boolean")
        else:
            out[name] = col.astype(dtype)  # type: ignore[call-overload]
    return out
