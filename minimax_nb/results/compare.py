"""Summaries of a results DataFrame: ``compare`` per group, a ``pivot`` table and ``plot``."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["PLOT_KINDS", "compare", "cost_total", "pivot", "plot"]

#: ``plot(kind=...)`` -> the column it shows.
PLOT_KINDS: dict[str, str] = {
    "duration": "duration_s",
    "latency": "latency_s",
    "loudness": "loudness_lufs",
    "tempo": "tempo_bpm",
    "queue": "queue_s",
    "generation": "generation_s",
}


def _duration(df: pd.DataFrame) -> pd.Series:
    """The measured duration, else the reported one."""
    measured = df.get("measured_duration_s")
    reported = df.get("reported_duration_s")
    if measured is None and reported is None:
        return pd.Series(pd.NA, index=df.index, dtype="Float64")
    if measured is None:
        return reported.astype("Float64")  # type: ignore[union-attr]
    if reported is None:
        return measured.astype("Float64")
    return measured.astype("Float64").fillna(reported.astype("Float64"))


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name == "duration_s":
        return _duration(df)
    if name not in df:
        raise KeyError(f"no column {name!r} in this DataFrame")
    return df[name]


def compare(df: pd.DataFrame, by: str | list[str] = "provider") -> pd.DataFrame:
    """One row per group of ``by``: how many jobs, how many completed, and typical timings and levels.

    Columns: ``jobs``, ``completed``, ``completed_share`` (0–1), ``failed`` (failed, moderated,
    cancelled or lost), ``median_queue_s``, ``median_generation_s``, ``median_latency_s``,
    ``p90_latency_s``, ``median_duration_s`` (measured, else reported), ``median_loudness_lufs``,
    ``median_tempo_bpm``. Groups with no rows (unused categories) are left out.
    """
    keys = [by] if isinstance(by, str) else list(by)
    work = pd.DataFrame({k: df[k] for k in keys})
    status = df["status"].astype("string")
    work["jobs"] = 1
    work["completed"] = (status == "completed").fillna(False).astype("int64")
    failed = status.isin(["failed", "moderated", "cancelled", "lost"])
    work["failed"] = failed.fillna(False).astype("int64")
    numeric = {
        "queue_s": "median_queue_s",
        "generation_s": "median_generation_s",
        "latency_s": "median_latency_s",
        "duration_s": "median_duration_s",
        "loudness_lufs": "median_loudness_lufs",
        "tempo_bpm": "median_tempo_bpm",
    }
    for src in numeric:
        try:
            work[src] = _column(df, src).astype("float64")
        except KeyError:
            work[src] = np.nan
    grouped = work.groupby(keys, observed=True, sort=True, dropna=False)
    out = grouped[["jobs", "completed", "failed"]].sum()
    out["completed_share"] = (out["completed"] / out["jobs"]).astype("Float64")
    med = grouped[list(numeric)].median()
    for src, dst in numeric.items():
        out[dst] = med[src].astype("Float64")
    out["p90_latency_s"] = grouped["latency_s"].quantile(0.9).astype("Float64")
    order = ["jobs", "completed", "completed_share", "failed", "median_queue_s", "median_generation_s",
             "median_latency_s", "p90_latency_s", "median_duration_s", "median_loudness_lufs",
             "median_tempo_bpm"]
    return out[order]


def pivot(df: pd.DataFrame, index: str = "style", columns: str = "provider",
          values: str = "latency_s", aggfunc: str = "median") -> pd.DataFrame:
    """A ``index`` × ``columns`` table of ``aggfunc(values)`` (``values="duration_s"``: measured, else
    reported). Empty cells are ``NaN``; ``aggfunc="count"`` counts rows."""
    work = pd.DataFrame({index: df[index], columns: df[columns]})
    if aggfunc == "count":
        work["_v"] = 1
        aggfunc = "sum"
    else:
        work["_v"] = _column(df, values).astype("float64")
    table = work.pivot_table(index=index, columns=columns, values="_v", aggfunc=aggfunc,  # type: ignore[arg-type]
                             observed=True, dropna=True)
    table.columns.name = columns
    return table


def cost_total(df: pd.DataFrame) -> dict[str, Any]:
    """The estimated spend of the jobs in ``df`` (the budget guard's view of what was bought).

    ``{"usd": float, "jobs": int, "unknown": int}``: the sum of ``est_cost_usd`` over the jobs that may
    have been bought — every row except a song cancelled before it was sent (no provider id) — how many
    such jobs, and how many of them have no price estimate (not in the sum). An estimate, not an invoice:
    providers may or may not charge for failed or moderated songs.
    """
    if "est_cost_usd" not in df.columns:
        raise KeyError("no column 'est_cost_usd': build the frame with minimax_nb.results()")
    status = df["status"].astype("string")
    never_sent = (status == "cancelled").fillna(False) & df["job_id"].isna()
    sent = df.loc[~never_sent.to_numpy(dtype=bool), "est_cost_usd"].astype("Float64")
    return {"usd": float(sent.sum(skipna=True)), "jobs": len(sent), "unknown": int(sent.isna().sum())}


def plot(df: pd.DataFrame, kind: Literal["duration", "latency", "loudness", "tempo", "queue", "generation"]
         = "duration", by: str = "provider", ax: Any = None) -> Any:
    """A box plot (with the points) of ``kind`` per group of ``by``; returns the matplotlib ``Figure``.

    The figure is shown once, as the cell's result (no stray ``<Axes …>`` line; pyplot does not show it
    a second time). ``ax``: draw into this ``Axes`` instead (its figure is returned).
    matplotlib is imported only here (``pip install minimax_nb[plots]``).
    """
    if kind not in PLOT_KINDS:
        raise ValueError(f"kind must be one of {sorted(PLOT_KINDS)}, not {kind!r}")
    import matplotlib.pyplot as plt

    column = PLOT_KINDS[kind]
    values = _column(df, column).astype("float64")
    groups = df[by].astype("string").fillna("<NA>")
    names = sorted(set(groups))
    data = [values[groups == g].dropna().to_numpy() for g in names]
    own = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(names) + 2), 3.5))
    if names:
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(names) + 1), names)
        for i, d in enumerate(data, start=1):
            jitter = np.linspace(-0.12, 0.12, len(d)) if len(d) > 1 else np.zeros(len(d))
            ax.plot(i + jitter, d, "o", alpha=0.5, markersize=4)
    unit = {"duration_s": "s", "latency_s": "s", "queue_s": "s", "generation_s": "s",
            "loudness_lufs": "LUFS", "tempo_bpm": "BPM"}[column]
    ax.set_ylabel(f"{kind} ({unit})")
    ax.set_xlabel(by)
    ax.set_title(f"{kind} by {by}")
    fig = ax.figure
    if own:
        fig.tight_layout()
        plt.close(fig)  # returned, so shown once as the result; pyplot must not show it again
    return fig
