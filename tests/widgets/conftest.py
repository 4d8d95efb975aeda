"""Fixtures for the Python-side widget tests: a recording comm, a fake catalog and a fake client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import comm
import pytest
from widget_fakes import FakeCatalog, FakeClient


class RecordingComm:
    """Stands in for a kernel comm: records every message a widget sends (shared log)."""

    kernel = "Truthy"
    _next = 0

    def __init__(self, log: list[tuple[str, dict[str, Any]]], **kwargs: Any) -> None:
        RecordingComm._next += 1
        self.comm_id = kwargs.get("comm_id") or f"comm-{RecordingComm._next}"
        self.log = log
        self.handlers: list[Callable[[Any], None]] = []

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, callback: Callable[[Any], None]) -> None:
        self.handlers.append(callback)

    def send(self, data: Any = None, buffers: Any = None, **kwargs: Any) -> None:
        self.log.append((self.comm_id, data or {}))

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


class CommLog(list[tuple[str, dict[str, Any]]]):
    def for_widget(self, widget: Any) -> list[dict[str, Any]]:
        return [d for cid, d in self if cid == widget.comm.comm_id]

    def updates(self, widget: Any, name: str | None = None) -> list[dict[str, Any]]:
        out = [d for d in self.for_widget(widget) if d.get("method") in ("update", "echo_update")]
        if name is not None:
            out = [d for d in out if name in d.get("state", {})]
        return out


@pytest.fixture
def comms(monkeypatch: pytest.MonkeyPatch) -> Iterator[CommLog]:
    """Every widget made in the test gets a ``RecordingComm``; the fixture is the shared message log."""
    log = CommLog()
    monkeypatch.setattr(comm, "create_comm", lambda *a, **kw: RecordingComm(log, **kw))
    monkeypatch.setattr(comm, "get_comm_manager", lambda: None)
    yield log


def front_end_sets(widget: Any, **state: Any) -> None:
    """Deliver a state change the way a browser does: a comm message to the widget's handler."""
    msg = {"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []}
    widget._handle_msg(msg)


@pytest.fixture
def front_end() -> Callable[..., None]:
    """``front_end(widget, value=...)``: a state change as the browser sends it."""
    return front_end_sets


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def make_factory(tmp_path: Path) -> Callable[..., Callable[..., FakeClient]]:
    """``make_factory(**opts)`` -> a client factory producing ``FakeClient(tmp_path, **opts)``."""

    def make(**opts: Any) -> Callable[..., FakeClient]:
        made: list[FakeClient] = []

        def factory(provider: str, **kwargs: Any) -> FakeClient:
            c = FakeClient(tmp_path, provider=provider, **opts, **kwargs)
            made.append(c)
            return c

        factory.made = made  # type: ignore[attr-defined]
        return factory

    return make
