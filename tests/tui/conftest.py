from __future__ import annotations

from pathlib import Path

import pytest
from tui_data import Seeded, make_engine

from companion.config import Config
from feedback.repo import Store, open_store


@pytest.fixture
def tui_config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data")


@pytest.fixture
def store(tui_config: Config) -> Store:
    return open_store(tui_config.database_url)


@pytest.fixture
def accepted(tui_config: Config) -> None:
    """Skip the first-run welcome."""
    from tui import state

    state.save(tui_config.paths.state_file, state.UiState(accepted=True))


@pytest.fixture
def seeded(store: Store) -> Seeded:
    return Seeded(store)


@pytest.fixture
def live_config(tmp_path: Path) -> Config:
    """Short replies: these tests run on two shared CPU cores."""
    return Config.model_validate(
        {"data_dir": str(tmp_path / "data"), "chat": {"max_tokens": 40, "n_alternatives": 3}}
    )


@pytest.fixture
async def live_engine(vllm_server, live_config: Config, embedded_model_dir: Path):
    store = open_store(live_config.database_url)
    engine = make_engine(
        live_config,
        store,
        vllm_server.base_url,
        vllm_server.api_key,
        vllm_server.model,
        embedded_model_dir,
    )
    try:
        yield engine
    finally:
        await engine.client.aclose()
