"""Status-bar data from the server manager and the engine (called in a thread worker)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tui.view import StatusView


def server_view(server: Any) -> StatusView:
    """StatusView fields for `companion.server.ServerManager.status()`."""
    if server is None:
        return StatusView(server="external")
    s = server.status()
    if s.external_url:
        return StatusView(
            server="ready" if s.healthy else "down",
            server_detail="" if s.healthy else f"{s.external_url}: {s.reason}",
            model=getattr(getattr(server, "config", None), "model", None).served_name
            if getattr(server, "config", None)
            else "",
        )
    state = s.state
    model = Path(state.base_model).name if state is not None and state.base_model else ""
    adapter = (state.adapter or "") if state is not None else ""
    if s.healthy:
        return StatusView(server="ready", model=model, adapter=adapter)
    if s.running:
        return StatusView(server="starting", model=model, adapter=adapter)
    return StatusView(server="down", server_detail=s.reason, model=model, adapter=adapter)
