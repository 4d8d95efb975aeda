"""Results as pandas DataFrames: one row per job of the ledger, with facts measured from the audio.

    from minimax_nb.results import results, compare, pivot, plot, listen
    df = results()                          # the default ledger; results(ledger_or_path, measure=False)
    compare(df, by="provider")              # count, completed share, median latency/duration/loudness
    pivot(df, index="style", columns="provider", values="latency_s")
    plot(df, kind="loudness")               # a matplotlib Figure (matplotlib imported only here)
    listen(df)                              # players first, a waveform each, one row per song
    cost_total(df)                          # {"usd": ..., "jobs": ..., "unknown": ...}
    to_parquet(df, "runs.parquet"); read_parquet("runs.parquet")   # dtypes kept (CSV too)

Columns (stable names, in this order; ``<NA>`` where unknown):

==========================  ====================  ======================================================
column                      dtype                 meaning
==========================  ====================  ======================================================
provider                    category              ``useapi``, ``aimlapi``, ``apiin``, ``minimax``, ``local``
model                       category              the model used (the job's, else the request's)
account                     string                the provider account (useapi), if any
job_id                      string                the provider's id (``<NA>`` until it answered)
local_id                    string                our id, the ledger's key
title                       string                the song's title (the job's, else the request's)
variant                     Int64                 1, 2, 3… for the same request made again (same
                                                  provider, model, title, style and lyrics)
style                       string                the style text asked for (the same on every provider)
style_name                  string                the style name the provider reports, when it differs
                                                  (useapi: the name of the style id, "Pop")
style_id                    string                useapi v1: the style id sent
lyrics                      string                the lyrics
lyrics_chars                Int64                 ``len(lyrics)``
bitrate                     Int64                 requested bitrate (bit/s)
sample_rate                 Int64                 requested sample rate (Hz)
audio_format                category              requested format (``mp3``, ``wav``…)
instrumental                boolean               asked for no vocals
est_cost_usd                Float64               the provider's price estimate for the model (USD);
                                                  ``cost_total(df)`` sums it
status                      category              every ``JobStatus`` value: ``submitting``,
                                                  ``ambiguous``, ``queued``, ``running``, ``completed``,
                                                  ``moderated``, ``failed``, ``cancelled``, ``lost``
error                       string                the error text (keys scrubbed)
created_at                  datetime64[ns, UTC]   when the job was made locally
submitted_at                datetime64[ns, UTC]   when the provider accepted the submit
started_at                  datetime64[ns, UTC]   when it was first seen running
finished_at                 datetime64[ns, UTC]   when it reached a final state
queue_s                     Float64               ``started_at - submitted_at`` in seconds
generation_s                Float64               ``finished_at - started_at``
latency_s                   Float64               ``finished_at - submitted_at``
reported_duration_s         Float64               the duration the provider reported
audio_path                  string                the saved audio file (absolute path)
audio_sha256                string                its SHA-256 (hex)
audio_bytes                 Int64                 its size in bytes
measured_duration_s         Float64               decoded frames / sample rate
measured_sample_rate        Int64                 the file's sample rate (Hz)
channels                    Int64                 the file's channel count
bitrate_kbps                Float64               file size × 8 / duration / 1000
peak_dbfs                   Float64               sample peak, dBFS
rms_dbfs                    Float64               RMS over all samples, dBFS (full-scale sine: -3.01)
loudness_lufs               Float64               integrated loudness, ITU-R BS.1770-4 (gated)
tempo_bpm                   Float64               a cheap onset-autocorrelation tempo estimate
==========================  ====================  ======================================================

The measured columns are filled only with ``measure=True`` for jobs with a saved, readable file; the
measurements are cached by SHA-256 next to the ledger (``FactsCache``), so a second ``results()`` decodes
nothing again. Many new files are measured on a process pool; ``results(executor=...)`` takes any
``concurrent.futures.Executor`` (a Dask cluster's ``client.get_executor()``, for instance).
See ``minimax_nb.results.audio_facts`` for how each is measured.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable
from concurrent.futures import Executor
from typing import TYPE_CHECKING

from minimax_nb.results.compare import compare, cost_total, pivot, plot
from minimax_nb.results.export import read_csv, read_parquet, to_csv, to_parquet
from minimax_nb.results.frame import COLUMNS, DTYPES, STATUS_CATEGORIES, apply_dtypes, jobs_frame
from minimax_nb.results.frame import results as _results
from minimax_nb.results.html import listen, listen_html

__all__ = [
    "COLUMNS",
    "DTYPES",
    "STATUS_CATEGORIES",
    "apply_dtypes",
    "compare",
    "cost_total",
    "jobs_frame",
    "listen",
    "listen_html",
    "pivot",
    "plot",
    "read_csv",
    "read_parquet",
    "results",
    "to_csv",
    "to_parquet",
]

if TYPE_CHECKING:
    import pandas as pd

    from minimax_nb.ledger import Ledger
    from minimax_nb.models import Job


class _CallableModule(types.ModuleType):
    """This package, callable: ``minimax_nb.results(...)`` builds the results DataFrame.

    ``minimax_nb.results`` is both this package and the public function ``results``; whichever Python
    binds to the name (``import minimax_nb.results`` binds the package, ``from minimax_nb import
    results`` asks for the function), it is this one callable object, so both spellings work in any
    order and ``from minimax_nb.results import compare`` still finds everything.
    """

    def __call__(self, ledger: Ledger | str | os.PathLike[str] | Iterable[Job] | None = None,
                 measure: bool = True, *, executor: Executor | None = None) -> pd.DataFrame:
        """The results DataFrame: one row per job, columns as documented in ``minimax_nb.results``.

        ``ledger``: a ``Ledger``, a ledger file path, ``None`` for the default ledger
        (``$MINIMAX_NB_LEDGER`` or ``./.minimax_nb/ledger.sqlite``), or a list of ``Job`` objects.
        ``measure``: decode saved audio files and fill the measured columns (cached by SHA-256 next
        to the ledger, so only new files are decoded).
        ``executor``: where new files are measured (any ``concurrent.futures.Executor``; default: a
        process pool when there are many), see ``minimax_nb.results.frame.results``.
        """
        return _results(ledger, measure, executor=executor)


sys.modules[__name__].__class__ = _CallableModule

if TYPE_CHECKING:
    results = _results
else:  # the name ``results`` is this callable package itself (see ``_CallableModule``)
    results = sys.modules[__name__]
