"""The default way the chat gets its engine when the caller passes none: set up the model,
start (or reuse) the server and build the Engine on it, reporting progress to the status bar.
Runs in a thread worker; the building itself is `companion.wiring.connect_engine`."""

from __future__ import annotations

from typing import Any

from companion.config import Config
from tui.screens.chat import StartProgress, StartServer


def default_start(config: Config, store: Any) -> StartServer:
    def start(progress: StartProgress) -> Any:
        from companion.wiring import connect_engine

        return connect_engine(
            config,
            store,
            progress=progress,
            model_progress=lambda msg, i, n: progress(f"model setup {i}/{n}: {msg}", 0.0),
        )

    return start
