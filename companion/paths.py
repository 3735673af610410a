"""Where companion keeps things: the one source of truth for every path.

``COMPANION_HOME`` moves all state at once (config under ``$COMPANION_HOME/config``, data
under ``$COMPANION_HOME/data``); otherwise the XDG base directories are used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def config_dir() -> Path:
    home = os.environ.get("COMPANION_HOME")
    if home:
        return Path(home) / "config"
    return _xdg("XDG_CONFIG_HOME", ".config") / "companion"


def default_data_dir() -> Path:
    home = os.environ.get("COMPANION_HOME")
    if home:
        return Path(home) / "data"
    return _xdg("XDG_DATA_HOME", ".local/share") / "companion"


def config_file() -> Path:
    return config_dir() / "config.toml"


@dataclass(frozen=True)
class Paths:
    """Every file and folder under the data directory."""

    data_dir: Path

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def embedded_model_dir(self) -> Path:
        """The safetensors checkpoint converted from the embedded SmolLM2 GGUF."""
        return self.models_dir / "smollm2-135m-instruct"

    @property
    def merged_dir(self) -> Path:
        """Base + active adapter merged into full checkpoints, for fast CPU serving."""
        return self.models_dir / "merged"

    @property
    def adapters_dir(self) -> Path:
        return self.data_dir / "adapters"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "companion.db"

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs_dir / "vllm.log"

    @property
    def server_state(self) -> Path:
        return self.data_dir / "server.json"

    @property
    def vllm_cache_dir(self) -> Path:
        return self.data_dir / "cache" / "vllm"

    @property
    def safety_dir(self) -> Path:
        """Detoxify checkpoints and their tokenizer/config, for offline use."""
        return self.data_dir / "safety"

    @property
    def memory_index(self) -> Path:
        """The semantic index of past messages (derived from the database; rebuilt if lost)."""
        return self.data_dir / "index" / "messages.usearch"

    @property
    def personas_dir(self) -> Path:
        return config_dir() / "personas"

    @property
    def state_file(self) -> Path:
        """Small UI state: first-run acceptance, last conversation."""
        return self.data_dir / "state.json"

    def ensure(self) -> None:
        for d in (self.data_dir, self.models_dir, self.adapters_dir, self.logs_dir, self.runs_dir):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
