"""Shared fixtures: isolated state, the real embedded model, a tiny model, a real vLLM server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from companion import config as config_mod
from companion import model_setup
from companion.server import ServerManager, ServerState


@pytest.fixture(autouse=True)
def companion_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own COMPANION_HOME, so none touches real user state."""
    home = tmp_path / "companion-home"
    monkeypatch.setenv("COMPANION_HOME", str(home))
    for name in list(os.environ):
        if name.startswith("COMPANION_") and not name.startswith(
            ("COMPANION_TEST_", "COMPANION_HOME")
        ):
            monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def config(companion_home: Path) -> config_mod.Config:
    return config_mod.load().config


def _cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model artifacts shared by the whole session (and across runs if COMPANION_TEST_CACHE)."""
    explicit = os.environ.get("COMPANION_TEST_CACHE")
    if explicit:
        root = Path(explicit)
        root.mkdir(parents=True, exist_ok=True)
        return root
    return tmp_path_factory.getbasetemp() / "model-cache"


@pytest.fixture(scope="session")
def embedded_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2-135M-Instruct, converted from the embedded GGUF once per session."""
    dest = _cache_root(tmp_path_factory) / "smollm2-135m-instruct"
    if not model_setup.is_ready(dest):
        model_setup.convert_gguf(model_setup.find_gguf(), dest)
    return dest


@pytest.fixture(scope="session")
def tiny_model_dir(embedded_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with SmolLM2's tokenizer and chat template (fast to train)."""
    dest = _cache_root(tmp_path_factory) / "tiny-llama"
    if (dest / "config.json").is_file():
        return dest
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    cfg = LlamaConfig(
        # vLLM's CPU attention kernels need a head_dim of 32 or more.
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        vocab_size=len(tok),
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(cfg)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(dest)
    return dest


@dataclass
class RunningServer:
    manager: ServerManager
    state: ServerState
    config: config_mod.Config

    @property
    def base_url(self) -> str:
        return self.state.base_url

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def model(self) -> str:
        return self.state.model

    def stop(self) -> None:
        self.manager.stop()


def server_config(home: Path, **server: object) -> config_mod.Config:
    """A config rooted in `home`, with small CPU settings suitable for tests."""
    base = {"kv_cache_gib": 1, "max_model_len": 2048, "startup_timeout_s": 300}
    base.update(server)
    return config_mod.Config.model_validate({"data_dir": str(home / "data"), "server": base})


@pytest.fixture(scope="session")
def vllm_server(
    embedded_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real vLLM server on the embedded model, LoRA enabled, started once per session."""
    cfg = server_config(tmp_path_factory.mktemp("vllm-home"))
    manager = ServerManager(cfg)
    state = manager.start(str(embedded_model_dir))
    try:
        yield RunningServer(manager, state, cfg)
    finally:
        manager.stop()
