"""Promotion goes live without a restart: runtime LoRA at once, then a merged checkpoint
served by a second server that takes over with no gap in service."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from companion.cli import wiring
from companion.config import Config
from companion.server import BASE_NAME, ServerManager, pid_alive, read_state
from feedback.repo import open_store

pytestmark = pytest.mark.vllm


def _greedy(state_path: Path, model: str | None = None) -> tuple[int, str]:
    state = read_state(state_path)
    assert state is not None
    r = httpx.post(
        f"{state.base_url}/chat/completions",
        json={
            "model": model or state.model,
            "messages": [{"role": "user", "content": "hello there"}],
            "max_tokens": 8,
            "temperature": 0,
        },
        headers={"Authorization": f"Bearer {state.api_key}"},
        timeout=60,
    )
    return r.status_code, r.json()["choices"][0]["message"]["content"] if r.is_success else r.text


def test_promoted_adapter_goes_live_then_switches_to_merged(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    lora = LoraConfig(
        r=8, lora_alpha=256, target_modules=["q_proj", "v_proj", "o_proj"], init_lora_weights=False
    )
    peft_model = get_peft_model(base, lora)
    adapter_dir = tmp_path / "v1"
    peft_model.save_pretrained(adapter_dir)
    merged_dir = tmp_path / "merged-v1"
    peft_model.merge_and_unload().save_pretrained(merged_dir)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(merged_dir)

    cfg = Config.model_validate(
        {
            "data_dir": str(tmp_path / "data"),
            "model": {"base": str(tiny_model_dir)},
            # fp32 so that LoRA and merged weights give the same greedy tokens.
            "server": {"kv_cache_gib": 1, "max_lora_rank": 8, "dtype": "float32"},
        }
    )
    store = open_store(cfg.database_url)
    manager = ServerManager(cfg)
    first = manager.start(str(tiny_model_dir))
    try:
        status, base_text = _greedy(cfg.paths.server_state)
        assert status == 200 and first.model == BASE_NAME
        manager.load_adapter("probe-v1", adapter_dir)
        status, lora_text = _greedy(cfg.paths.server_state, "probe-v1")
        assert status == 200 and lora_text != base_text
        manager.unload_adapter("probe-v1")

        store.add_adapter_version("v1", adapter_dir, kind="sft", merged_path=merged_dir)
        store.set_active_adapter("v1")

        failures: list[str] = []
        done = threading.Event()

        def keep_chatting() -> None:
            # A user chatting through the switch: every request must be answered.
            while not done.is_set():
                try:
                    code, text = _greedy(cfg.paths.server_state)
                    if code != 200:
                        failures.append(text)
                except httpx.HTTPError as e:
                    failures.append(repr(e))

        note = None
        chatter = threading.Thread(target=keep_chatting)
        chatter.start()
        try:
            note = wiring.hot_swap(cfg, store)
        finally:
            done.set()
            chatter.join()
        assert note is not None and "companion-v1 is live (runtime LoRA)" in note
        assert "merged checkpoint" in note
        assert failures == []

        after = read_state(cfg.paths.server_state)
        assert after is not None
        assert after.pid != first.pid and not pid_alive(first.pid)
        assert after.checkpoint == str(merged_dir) and after.model == "companion-v1"
        status, merged_text = _greedy(cfg.paths.server_state)
        # The merged checkpoint is the same model as base + adapter, served without LoRA.
        assert status == 200 and merged_text == lora_text
        assert not (cfg.paths.data_dir / "server.next.json").exists()
    finally:
        manager.stop()
    assert not cfg.paths.server_state.exists()
