"""The config the fault tests share (a module of its own: `conftest` is ambiguous when
several test folders have one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from companion.config import Config
from companion.engine import Engine
from feedback.repo import Store
from tui import state as ui_state
from tui.app import CompanionApp, make_app


def fault_config(data_dir: Path, url: str, **chat: Any) -> Config:
    return Config.model_validate(
        {
            "data_dir": str(data_dir),
            "server": {"url": url, "api_key": "x"},
            "chat": {"break_reminder_minutes": 0, **chat},
        }
    )


def chat_app(config: Config, store: Store) -> tuple[CompanionApp, Engine]:
    """The real app on `store`, its engine on the config's (SSE) server, the notice accepted."""
    from tui_data import make_engine  # tests/tui is on the path (conftest)

    ui_state.save(config.paths.state_file, ui_state.UiState(accepted=True))
    engine = make_engine(config, store, str(config.server.url), "x", "companion")
    return make_app(config, store=store, engine=engine, start_server=None), engine
