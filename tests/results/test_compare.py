"""compare(), pivot() and plot() on frames with known numbers."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

from minimax_nb.ledger import Ledger
from minimax_nb.models import JobStatus
from minimax_nb.results import compare, pivot, plot, results

from ._support import finished_job

matplotlib.use("Agg")


@pytest.fixture
def frame(ledger: Ledger) -> pd.DataFrame:
    jobs = [
        finished_job("useapi", "pop", queue=1, generation=10, offset=0, duration=60),
        finished_job("useapi", "rock", queue=3, generation=20, offset=1, duration=90),
        finished_job("useapi", "pop", queue=5, generation=30, offset=2, status=JobStatus.MODERATED,
                     duration=None),
        finished_job("aimlapi", "pop", queue=0, generation=50, offset=3, duration=120),
        finished_job("aimlapi", "rock", queue=2, generation=70, offset=4, duration=100),
    ]
    for j in jobs:
        ledger.record(j)
    return results(ledger)


def test_compare_by_provider(frame: pd.DataFrame) -> None:
    out = compare(frame, by="provider")
    assert list(out.index) == ["aimlapi", "useapi"]
    u, a = out.loc["useapi"], out.loc["aimlapi"]
    assert u["jobs"] == 3 and u["completed"] == 2 and u["failed"] == 1
    assert u["completed_share"] == pytest.approx(2 / 3)
    assert a["completed_share"] == pytest.approx(1.0)
    assert u["median_latency_s"] == pytest.approx(23.0)  # latencies 11, 23, 35
    assert a["median_latency_s"] == pytest.approx(61.0)  # 50, 72
    assert u["median_queue_s"] == pytest.approx(3.0)
    assert u["median_duration_s"] == pytest.approx(75.0)  # reported 60, 90 (no file measured)
    assert pd.isna(u["median_loudness_lufs"])
    assert u["p90_latency_s"] == pytest.approx(32.6)


def test_compare_by_two_columns(frame: pd.DataFrame) -> None:
    out = compare(frame, by=["provider", "style"])
    assert out.loc[("useapi", "pop"), "jobs"] == 2
    assert out.loc[("aimlapi", "rock"), "median_latency_s"] == pytest.approx(72.0)


def test_pivot_style_by_provider(frame: pd.DataFrame) -> None:
    table = pivot(frame, index="style", columns="provider", values="latency_s")
    assert table.loc["pop", "useapi"] == pytest.approx(23.0)  # 11 and 35
    assert table.loc["rock", "aimlapi"] == pytest.approx(72.0)
    counts = pivot(frame, values="latency_s", aggfunc="count")
    assert counts.loc["pop", "useapi"] == 2
    durations = pivot(frame, values="duration_s", aggfunc="max")
    assert durations.loc["pop", "aimlapi"] == 120


@pytest.mark.parametrize("kind", ["duration", "latency", "loudness"])
def test_plot_kinds(frame: pd.DataFrame, kind: str) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = plot(frame, kind=kind)  # type: ignore[arg-type]
    assert isinstance(fig, Figure)  # a figure (no stray <Axes …> repr), issue 10
    assert not plt.get_fignums()  # closed in pyplot: shown once, as the cell's result
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["aimlapi", "useapi"]
    assert kind in ax.get_ylabel()


def test_plot_rejects_an_unknown_kind(frame: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="kind"):
        plot(frame, kind="colour")  # type: ignore[arg-type]


def test_plot_into_given_axes_returns_its_figure(frame: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        assert plot(frame, kind="latency", ax=ax) is fig and ax.get_ylabel() == "latency (s)"
    finally:
        plt.close(fig)
