"""Fixtures of the fault tests: a config on a tmp data dir whose server is a real SSE server
(tests/faults/sse_server.py), the real Store on a SQLite file, the real Engine."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.config import Config
from feedback.repo import Store, open_store

# The TUI tests' engine builder (tests/tui is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tui"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_setup import fault_config  # noqa: E402
from kill_setup import held_sse, home, term  # noqa: E402, F401
from sse_server import SSEServer  # noqa: E402


@pytest.fixture
def sse() -> Iterator[SSEServer]:
    with SSEServer(sentences=3) as server:
        yield server


@pytest.fixture
def fconfig(tmp_path: Path, sse: SSEServer) -> Config:
    return fault_config(tmp_path / "data", sse.url)


@pytest.fixture
def store(fconfig: Config) -> Iterator[Store]:
    s = open_store(fconfig.database_url)
    yield s
    s.close()
