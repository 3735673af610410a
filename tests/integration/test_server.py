"""The real vLLM server: completions, streaming, runtime LoRA, and the CLI lifecycle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from companion.server import BASE_NAME, ServerError, pid_alive, read_state

pytestmark = pytest.mark.vllm

PROMPT = [{"role": "user", "content": "Name three colours."}]


def _chat(server, model: str, **extra: object) -> httpx.Response:  # type: ignore[no-untyped-def]
    body = {"model": model, "messages": PROMPT, "max_tokens": 16, "temperature": 0, **extra}
    return httpx.post(
        f"{server.base_url}/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=120,
    )


def test_chat_completion(vllm_server) -> None:  # type: ignore[no-untyped-def]
    r = _chat(vllm_server, vllm_server.model)
    assert r.status_code == 200, r.text
    text = r.json()["choices"][0]["message"]["content"]
    assert text.strip()
    assert vllm_server.model == BASE_NAME


def test_api_key_is_required(vllm_server) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{vllm_server.base_url}/chat/completions", json={}, timeout=30)
    assert r.status_code == 401


def test_streamed_completion(vllm_server) -> None:  # type: ignore[no-untyped-def]
    body = {"model": vllm_server.model, "messages": PROMPT, "max_tokens": 16, "stream": True}
    pieces: list[str] = []
    headers = {"Authorization": f"Bearer {vllm_server.api_key}"}
    url = f"{vllm_server.base_url}/chat/completions"
    with httpx.stream("POST", url, json=body, headers=headers, timeout=120) as r:
        assert r.status_code == 200
        lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    for ln in lines[:-1]:
        delta = json.loads(ln[6:])["choices"][0]["delta"]
        pieces.append(delta.get("content") or "")
    assert len(lines) > 3 and "".join(pieces).strip()


@pytest.fixture(scope="module")
def random_adapter(embedded_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with random (non-zero) weights, so it visibly changes the output."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(embedded_model_dir, dtype=torch.float32)
    lora = LoraConfig(
        r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    model = get_peft_model(base, lora)
    out = tmp_path_factory.mktemp("adapter") / "random-adapter"
    model.save_pretrained(out)
    return out


def test_runtime_lora_load_and_unload(vllm_server, random_adapter: Path) -> None:  # type: ignore[no-untyped-def]
    manager = vllm_server.manager
    base_text = _chat(vllm_server, BASE_NAME).json()["choices"][0]["message"]["content"]
    manager.load_adapter("test-adapter", random_adapter)
    try:
        r = _chat(vllm_server, "test-adapter")
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] != base_text
        models = httpx.get(
            f"{vllm_server.base_url}/models",
            headers={"Authorization": f"Bearer {vllm_server.api_key}"},
        ).json()
        assert "test-adapter" in {m["id"] for m in models["data"]}
    finally:
        manager.unload_adapter("test-adapter")
    assert _chat(vllm_server, "test-adapter").status_code == 404
    with pytest.raises(ServerError, match="load_lora_adapter failed"):
        manager.load_adapter("broken", random_adapter.parent / "missing")


def _companion(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COMPANION_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "companion.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=400,
    )


def test_cli_serve_status_stop_cleans_up(tiny_model_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"COMPANION_MODEL__BASE": str(tiny_model_dir), "COMPANION_SERVER__KV_CACHE_GIB": "1"}
    assert _companion(home, "serve", "status", env=env).returncode == 3
    started = _companion(home, "serve", env=env)
    assert started.returncode == 0, started.stderr[-2000:]
    state_file = home / "data" / "server.json"
    state = read_state(state_file)
    assert state is not None and pid_alive(state.pid)
    assert (state_file.stat().st_mode & 0o777) == 0o600
    # A second `serve` reuses the running server instead of starting another.
    again = _companion(home, "serve", env=env)
    assert again.returncode == 0 and f"pid {state.pid}" in again.stdout
    status = _companion(home, "serve", "status", "--json", env=env)
    assert status.returncode == 0
    info = json.loads(status.stdout)
    assert info["healthy"] and info["state"]["pid"] == state.pid
    assert "api_key" not in info["state"]
    stopped = _companion(home, "serve", "stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not state_file.exists()
    assert not pid_alive(state.pid)
    assert _companion(home, "serve", "status", env=env).returncode == 3


def test_failed_start_shows_log_lines_and_cleans_up(tiny_model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    cfg = json.loads((tiny_model_dir / "config.json").read_text())
    cfg["architectures"] = ["NoSuchArchitectureForCausalLM"]
    (broken / "config.json").write_text(json.dumps(cfg))
    home = tmp_path / "home"
    result = _companion(home, "serve", env={"COMPANION_MODEL__BASE": str(broken)})
    assert result.returncode == 1
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("companion: error: the vLLM server exited while starting")
    assert "last lines of the server log:" in result.stderr
    assert "NoSuchArchitecture" in result.stderr
    assert not (home / "data" / "server.json").exists()
