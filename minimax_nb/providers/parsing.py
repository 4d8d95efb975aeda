"""Reading values out of answers: the small pure helpers every adapter's parsers share.

They never raise on a wrongly typed value: ``as_str``/``as_float``/``as_int`` give ``None`` for
anything that is not what they read, so a parser fed a surprising answer maps it onto a status or a
typed error instead of leaking a ``TypeError``/``ValueError``/``OverflowError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from minimax_nb.models import Job, JobStatus

__all__ = ["as_float", "as_int", "as_str", "finish", "mentions_moderation"]

_MODERATION_WORDS = (
    "moderat",
    "sensitive",
    "content policy",
    "content_policy",
    "contentpolicy",
    "inappropriate",
    "violat",
    "prohibited",
)


def mentions_moderation(*texts: object) -> bool:
    """True when any text mentions moderation / sensitive content / content policy."""
    for t in texts:
        if isinstance(t, str):
            low = t.lower()
            if any(w in low for w in _MODERATION_WORDS):
                return True
    return False


def as_float(value: Any) -> float | None:
    """``value`` as a float when it is a number (or a numeric string), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            f = float(value)
        except (ValueError, OverflowError):  # not a number; an int too large for a float
            return None
        return f if math.isfinite(f) else None
    return None


def as_int(value: Any) -> int | None:
    """``value`` as an int when it is an int or a plain decimal string (``"12"``, ``"-3"``), else ``None``.

    ``bool``, floats, ``"1.5"``, ``"--5"``, ``"²"`` and strings longer than 30 characters give ``None``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in ("-", "+") else text
        if 0 < len(digits) <= 30 and digits.isascii() and digits.isdigit():
            return int(text)
    return None


def as_str(value: Any) -> str | None:
    """``value`` when it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


def finish(job: Job, status: JobStatus, payload: Mapping[str, Any], **changes: Any) -> Job:
    """``job`` moved to ``status`` with ``changes``; ``raw`` becomes ``payload`` (``evolve`` stamps times)."""
    if status is JobStatus.COMPLETED:
        changes.setdefault("error", None)
    return job.evolve(status=status, raw=dict(payload), **changes)
