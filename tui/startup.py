"""The default way the chat gets its engine when the caller passes none: set up the model,
start (or reuse) the server and build the Engine on it, reporting progress to the status bar.
Runs in a thread worker; mirrors `companion.ask.build_engine` without printing to the
terminal (Textual owns it)."""

from __future__ import annotations

from typing import Any

from companion.config import Config
from tui.screens.chat import StartProgress, StartServer


def default_start(config: Config, store: Any) -> StartServer:
    def start(progress: StartProgress) -> Any:
        from companion import wiring
        from companion.client import ChatClient
        from companion.engine import Engine
        from companion.model_setup import base_model
        from companion.prompt import approx_counter, load_counter
        from companion.safety.pipeline import build_pipeline
        from companion.server import ServerManager

        manager = ServerManager(config)
        checkpoint: str | None = config.model.base or None
        base_name: str | None = None
        if manager.external:
            endpoint = manager.endpoint()
        else:
            base = base_model(config, progress=lambda msg, i, n: progress(f"model: {msg}", 0.0))
            endpoint = manager.ensure_running(base, wiring.active_adapter(store), progress=progress)
            state = manager.state()
            if state is not None:
                checkpoint, base_name = state.checkpoint, state.base_model
        try:
            count = load_counter(checkpoint) if checkpoint else approx_counter
        except (OSError, ValueError):
            count = approx_counter  # an external model we have no tokenizer for
        progress("loading the safety checks", 0.0)
        safety = build_pipeline(config.safety, config.paths)
        client = ChatClient(
            endpoint.base_url, endpoint.api_key, timeout=config.chat.request_timeout_s
        )
        return Engine(
            config, client, store, safety, count, model=endpoint.model, base_model=base_name
        )

    return start
