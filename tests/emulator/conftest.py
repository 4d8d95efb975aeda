"""Fixtures for the emulator's conformance tests: a real loopback server (fast), one driven by a fake
clock (to see every phase), plain httpx clients (never our own client), and audio decoding."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import soundfile as sf

from minimax_nb.emulator import DEFAULT_KEY, Emulator

AUTH = {"Authorization": f"Bearer {DEFAULT_KEY}"}
WRONG = {"Authorization": "Bearer not-the-key"}


class FakeClock:
    """A unix-time clock that only moves when told."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="module")
def server() -> Iterator[Emulator]:
    with Emulator(speed=500, seed=11) as emu:
        yield emu


@pytest.fixture
def emu(server: Emulator) -> Iterator[Emulator]:
    """The module's fast server (speed 500), with no fault rules before and after the test."""
    server.faults.clear()
    yield server
    server.faults.clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def slow_emu(clock: FakeClock) -> Iterator[Emulator]:
    """A real-speed server whose time is the fake ``clock``: tests step through the phases."""
    with Emulator(speed=1, seed=5, clock=clock, url_ttl_s=3600) as e:
        yield e


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(headers=AUTH, timeout=30) as c:
        yield c


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Decode MP3/WAV bytes: (samples (n, channels), sample rate)."""
    samples, rate = sf.read(io.BytesIO(data), always_2d=True)
    return samples, int(rate)


def duration_of(data: bytes) -> float:
    samples, rate = decode(data)
    return len(samples) / rate
