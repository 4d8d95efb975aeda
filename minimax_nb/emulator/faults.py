"""Fault injection for the emulator: per route, by rate (seeded) or by script (``times=N``).

    emu.faults.add(route="poll", kind="503", times=2)           # the next two polls answer 503
    emu.faults.add(route="submit", provider="aimlapi", kind="reset", rate=0.3)
    emu.faults.add(route="file", kind="truncated", times=1)

Routes: ``"submit"`` (every create), ``"poll"`` (status reads: useapi retrieve, AIML poll, apiin task),
``"cancel"`` (fal, Replicate), ``"list"`` (also Replicate's version read), ``"styles"``, ``"file"`` (audio
and covers) and ``"*"`` (any of them). fal's ``"submit"`` covers its queue submit and its synchronous run;
its ``"poll"`` covers both the status and the result reads.

Kinds:

========================  ==========================================================================
``"500"`` ``"502"``       an error answer with that HTTP status, in the provider's error shape
``"503"``                 (503 carries ``Retry-After``)
``"429"``                 rate limited, in the provider's shape, with ``Retry-After: retry_after``
``"reset"``               the connection is dropped without an answer. On a ``submit`` route this
                          happens *after* the job was created (the dangerous case: the client cannot
                          know the song was bought) unless ``phase="before"``.
``"slow"``                the answer is delayed by ``delay_s`` seconds
``"malformed_json"``      HTTP 200 with ``Content-Type: application/json`` and a broken body (after
                          the handler ran, so a submit did create its job)
``"html_error"``          an HTML 502 page, as a proxy in front of the service would send
``"restart"``             the emulator loses every job (as if restarted), then answers normally
``"truncated"``           ``Content-Length`` declares the full body, half of it is sent, then the
                          connection closes (a download cut short)
========================  ==========================================================================

A rule with neither ``rate`` nor ``times`` fires on every matching request; with ``times=N`` it fires
on the next N matching requests (each with probability ``rate`` when both are given). Rules are tried
in the order added; the first that fires wins. The random draws come from ``random.Random(seed)``,
so a run is repeatable.

``--faults FILE`` on the command line takes a JSON list of rules with the same keys as ``add``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

__all__ = ["FAULT_KINDS", "ROUTES", "FaultRule", "FaultSet"]

FAULT_KINDS: frozenset[str] = frozenset(
    {"500", "502", "503", "429", "reset", "slow", "malformed_json", "html_error", "restart", "truncated"}
)
ROUTES: frozenset[str] = frozenset({"submit", "poll", "cancel", "file", "styles", "list", "*"})
PROVIDER_NAMES: frozenset[str] = frozenset(
    {"useapi", "aimlapi", "apiin", "minimax", "fal", "replicate", "local"}
)

Phase = Literal["before", "after"]


@dataclasses.dataclass(slots=True)
class FaultRule:
    """One fault rule. ``fired`` counts how many times it has fired so far."""

    kind: str
    route: str = "*"
    provider: str | None = None
    rate: float | None = None
    times: int | None = None
    retry_after: float = 1
    delay_s: float = 1.0
    phase: Phase | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        self.kind = str(self.kind)
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}; expected one of {sorted(ROUTES)}")
        if self.provider is not None and self.provider not in PROVIDER_NAMES:
            raise ValueError(f"unknown provider {self.provider!r}; expected one of {sorted(PROVIDER_NAMES)}")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0")
        if self.phase not in (None, "before", "after"):
            raise ValueError("phase must be 'before', 'after' or None")
        if self.kind == "truncated" and self.phase == "before":
            raise ValueError("a 'truncated' fault cuts the handler's answer: it cannot strike before it")

    @property
    def exhausted(self) -> bool:
        """True when a ``times=N`` rule has fired N times."""
        return self.times is not None and self.fired >= self.times

    def matches(self, provider: str, route: str) -> bool:
        return (self.route in ("*", route)) and (self.provider is None or self.provider == provider)

    def effective_phase(self, route: str) -> Phase:
        """When the fault strikes: before the handler runs, or after (on its answer)."""
        if self.phase is not None:
            return self.phase
        if self.kind in ("malformed_json", "truncated"):
            return "after"
        if self.kind == "reset" and route == "submit":
            return "after"
        return "before"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FaultSet:
    """The ordered fault rules of one emulator. Thread-safe; draws from a seeded RNG."""

    def __init__(self, rules: Iterable[FaultRule | Mapping[str, Any]] = (), *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{seed}")
        self._rules: list[FaultRule] = []
        for r in rules:
            self._rules.append(r if isinstance(r, FaultRule) else FaultRule(**dict(r)))

    def add(
        self,
        route: str = "*",
        provider: str | None = None,
        kind: str | int = "500",
        rate: float | None = None,
        times: int | None = None,
        retry_after: float = 1,
        *,
        delay_s: float = 1.0,
        phase: Phase | None = None,
    ) -> FaultRule:
        """Add a rule and return it (its ``fired`` attribute counts the hits)."""
        rule = FaultRule(kind=str(kind), route=route, provider=provider, rate=rate, times=times,
                         retry_after=retry_after, delay_s=delay_s, phase=phase)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        """A copy of the current rules, in order."""
        with self._lock:
            return list(self._rules)

    def pick(self, provider: str, route: str) -> FaultRule | None:
        """The rule that fires for this request (and count it), or ``None``."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(provider, route) or rule.exhausted:
                    continue
                if rule.rate is not None and self._rng.random() >= rule.rate:
                    continue
                rule.fired += 1
                return rule
        return None

    def load(self, source: str | Path | Iterable[Mapping[str, Any]]) -> None:
        """Add rules from a JSON file path, a JSON text, or a list of dicts."""
        data: Any
        is_text = isinstance(source, str) and source.lstrip().startswith(("[", "{"))
        if isinstance(source, Path) or (isinstance(source, str) and not is_text):
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        elif isinstance(source, str):
            data = json.loads(source)
        else:
            data = list(source)
        if isinstance(data, Mapping):
            data = data.get("faults", data.get("rules", []))
        if not isinstance(data, list):
            raise ValueError("faults JSON must be a list of rules (or {'faults': [...]})")
        new = [FaultRule(**dict(r)) for r in data]
        with self._lock:
            self._rules.extend(new)

    def __len__(self) -> int:
        return len(self.rules)

    def __repr__(self) -> str:
        return f"<FaultSet {len(self)} rules>"
