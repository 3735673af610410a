"""Status-bar data from the server manager and the engine, found off the UI thread.

`ServerWatch` starts the server (through the composition root's `StartServer`) and probes it;
its methods block, so the chat screen runs them in thread workers and applies the changes
they report to its `StatusView`. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.server import STARTUP_HINT_S
from tui.view import StatusView

if TYPE_CHECKING:
    from companion.engine import Engine
    from companion.server import ServerManager
    from tui.backend import Backend
    from tui.ports import StartServer

Report = Callable[..., None]
"""report(**changes): StatusView fields to change (called from the worker thread)."""


def server_view(server: ServerManager | None) -> StatusView:
    """StatusView fields for `companion.server.ServerManager.status()`."""
    if server is None:
        return StatusView(server="external")
    s = server.status()
    if s.external_url:
        return StatusView(
            server="ready" if s.healthy else "down",
            server_detail="" if s.healthy else f"{s.external_url}: {s.reason}",
            model=server.config.model.served_name,
        )
    state = s.state
    model = Path(state.base_model).name if state is not None and state.base_model else ""
    adapter = (state.adapter or "") if state is not None else ""
    if s.healthy:
        return StatusView(server="ready", model=model, adapter=adapter)
    if s.running:
        return StatusView(server="starting", model=model, adapter=adapter)
    return StatusView(server="down", server_detail=s.reason, model=model, adapter=adapter)


class ServerWatch:
    """The model server as the status bar and the banner show it: started once (with
    progress), then probed; a failed start stays the banner's reason while it is down."""

    def __init__(
        self,
        backend: Backend,
        server: ServerManager | None = None,
        start_server: StartServer | None = None,
    ) -> None:
        self.backend = backend
        self.server = server
        self.start_server = start_server
        self.starting = False
        self.start_error: str | None = None
        """Why the last start failed."""

    def start(self, report: Report, engine_ready: Callable[[Engine], None]) -> bool:
        """Start (or find) the server; True once it is up. The engine it returned, if any,
        goes to `engine_ready` before the server is reported ready."""
        assert self.start_server is not None
        self.starting = True
        report(server="starting", progress=0.0)

        def progress(message: str, elapsed: float) -> None:
            report(
                server="starting",
                progress=min(elapsed / STARTUP_HINT_S, 0.99),
                server_detail=message,
            )

        try:
            engine = self.start_server(progress)
        except Exception as e:  # shown in the banner, with Retry
            self.starting = False
            self.start_error = str(e) or type(e).__name__
            report(server="down", server_detail=self.start_error)
            return False
        self.start_error = None
        self.starting = False
        if engine is not None:
            engine_ready(engine)
        report(server="ready", progress=None, server_detail="")
        return True

    def probe(self) -> dict[str, Any]:
        """StatusView fields that may have moved: the server's state (unless it is starting),
        new feedback, the safety mode. A probe never raises."""
        changes: dict[str, Any] = {}
        if self.server is not None and not self.starting:
            try:
                v = server_view(self.server)
            except Exception as e:  # a status probe never takes the chat down
                v = StatusView(server="down", server_detail=str(e))
            detail = (
                self.start_error if v.server == "down" and self.start_error else v.server_detail
            )
            changes.update(server=v.server, server_detail=detail, model=v.model, adapter=v.adapter)
            if v.server != "starting":
                changes["progress"] = None
        try:
            changes["new_feedback"] = self.backend.feedback_count()
            changes["safety_mode"] = self.backend.safety_mode()
        except Exception:  # storage hiccup: keep the last figures
            pass
        return changes
