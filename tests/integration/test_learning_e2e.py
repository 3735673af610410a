"""The whole learning loop on the real model, through the CLI, into a running server:
stored feedback → pairs → DPO → gate → promote → the running vLLM server serves the new
adapter, without a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from companion.config import load
from companion.server import ServerManager, read_state
from feedback.repo import open_store

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "align"))
from test_retrain import record_feedback  # noqa: E402


def test_retrain_promotes_and_the_running_server_serves_the_new_adapter(
    embedded_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "MODEL__BASE": str(embedded_model_dir),
        "SERVER__KV_CACHE_GIB": "1",
        "SERVER__MAX_LORA_RANK": "8",
        "RETRAIN__LORA_R": "8",
        "RETRAIN__LORA_ALPHA": "16",
        "RETRAIN__MIN_PAIRS": "4",
        "RETRAIN__BATCH_SIZE": "4",
        "RETRAIN__HOLDOUT_FRACTION": "0.3",
        "RETRAIN__LEARNING_RATE": "0.0002",
        "RETRAIN__GATE_MARGIN": "0.05",
    }
    for k, v in settings.items():
        monkeypatch.setenv(f"COMPANION_{k}", v)
    cfg = load().config
    store = open_store(cfg.database_url)
    record_feedback(store, 24)
    manager = ServerManager(cfg)
    manager.start(str(embedded_model_dir))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "companion.cli", "retrain", "--max-steps", "8", "--no-merge"]
            + ["--json"],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads(done.stdout)
        assert report["status"] == "promoted", report["reasons"]
        assert "companion-v001 is live (runtime LoRA)" in done.stderr

        state = read_state(cfg.paths.server_state)
        assert state is not None and state.model == "companion-v001"
        headers = {"Authorization": f"Bearer {state.api_key}"}
        models = httpx.get(f"{state.base_url}/models", headers=headers, timeout=30).json()
        assert "companion-v001" in {m["id"] for m in models["data"]}
        r = httpx.post(
            f"{state.base_url}/chat/completions",
            json={
                "model": "companion-v001",
                "messages": [{"role": "user", "content": "I had a long day."}],
                "max_tokens": 16,
                "temperature": 0,
            },
            headers=headers,
            timeout=120,
        )
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"].strip()
        assert store.active_adapter().version == "v001"
    finally:
        manager.stop()
