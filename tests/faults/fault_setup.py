"""The config the fault tests share (a module of its own: `conftest` is ambiguous when
several test folders have one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from companion.config import Config


def fault_config(data_dir: Path, url: str, **chat: Any) -> Config:
    return Config.model_validate(
        {
            "data_dir": str(data_dir),
            "server": {"url": url, "api_key": "x"},
            "chat": {"break_reminder_minutes": 0, **chat},
        }
    )
