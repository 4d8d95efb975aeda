"""CSV and Parquet round-trips of a results DataFrame that keep its dtypes.

Parquet (pyarrow) stores pandas dtypes itself. CSV cannot: ``read_csv`` restores the documented dtype
of every known column (``minimax_nb.results.DTYPES``); missing values are written as ``<NA>`` so that an
empty string stays an empty string (a text cell holding exactly ``<NA>`` reads back as missing).
Timestamps are written in ISO 8601 with their UTC offset.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from minimax_nb.results.frame import DTYPES, apply_dtypes

__all__ = ["NA_TEXT", "read_csv", "read_parquet", "to_csv", "to_parquet"]

NA_TEXT = "<NA>"


def to_csv(df: pd.DataFrame, path: str | os.PathLike[str], **kw: Any) -> None:
    """Write ``df`` as CSV (no index; missing values as ``<NA>``)."""
    df.to_csv(path, index=False, na_rep=NA_TEXT, **kw)


def read_csv(path: str | os.PathLike[str], **kw: Any) -> pd.DataFrame:
    """Read a CSV written by ``to_csv`` back with the documented dtypes."""
    header = pd.read_csv(path, nrows=0).columns
    text = {c: "string" for c in header if DTYPES.get(c) in ("string", "category")}
    df = pd.read_csv(path, keep_default_na=False, na_values=[NA_TEXT], dtype=text, **kw)
    return apply_dtypes(df)


def to_parquet(df: pd.DataFrame, path: str | os.PathLike[str], **kw: Any) -> None:
    """Write ``df`` as Parquet (pyarrow; ``pip install minimax_nb[plots]``)."""
    df.to_parquet(path, index=False, engine="pyarrow", **kw)


def read_parquet(path: str | os.PathLike[str], **kw: Any) -> pd.DataFrame:
    """Read a Parquet file written by ``to_parquet`` (dtypes as written; a known column that Parquet
    could not type, such as a category column with no value at all, gets its documented dtype)."""
    return apply_dtypes(pd.read_parquet(path, engine="pyarrow", **kw), only_mismatched=True)
