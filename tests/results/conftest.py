"""The ``ledger`` fixture: a fresh file ledger per test (helpers live in ``_support``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from minimax_nb.ledger import Ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(tmp_path / "ledger.sqlite")
    yield led
    led.close()
