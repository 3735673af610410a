"""How the chat gets its engine: set up the model, start (or reuse) the server and build the
Engine on it, reporting progress to the status bar. The app runs it in a thread worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from companion.config import Config
from companion.server import StartProgress
from tui.ports import StartServer

if TYPE_CHECKING:
    from companion.engine import Engine
    from companion.memory.service import MemoryService
    from feedback.repo import Store


def default_start(config: Config, store: Store, memory: MemoryService | None = None) -> StartServer:
    def start(progress: StartProgress) -> Engine:
        from companion.cli.wiring import connect_engine

        return connect_engine(
            config,
            store,
            progress=progress,
            model_progress=lambda msg, i, n: progress(f"model setup {i}/{n}: {msg}", 0.0),
            memory=memory,
        )

    return start
