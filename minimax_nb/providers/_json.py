"""The one JSON rule of the adapters: how deep an answer (or an ``extra=``) may nest.

Real answers nest a handful of levels. Anything deeper than ``MAX_JSON_DEPTH`` is refused where it is
read (``HttpResponse.json``) and where it would be sent (``validate()``), so that no ``RecursionError``
reaches a parser, a ``repr``, a pickle or the key scrubber.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_JSON_DEPTH", "nests_deeper_than"]

#: The deepest nesting of lists/objects accepted in an answer or an ``extra=`` value.
MAX_JSON_DEPTH = 100


def nests_deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``value`` nests dicts/lists/tuples more than ``limit`` levels deep (iterative: never
    recurses, and stops on a circular structure once it passes ``limit``)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list | tuple):
            children = v
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False
