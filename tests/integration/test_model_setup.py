"""`companion model setup` on the real embedded GGUF: atomic, idempotent, verified."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from align.bootstrap import STARTER_KIND
from companion import model_setup
from feedback.repo import open_store


def _setup(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "companion.cli", "model", "setup", *args],
        env={**os.environ, "COMPANION_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_killed_setup_leaves_nothing_usable_then_completes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    models = home / "data" / "models"
    dest = models / "smollm2-135m-instruct"
    proc = _setup(home, "--no-persona-adapter")
    # Kill it once it is writing into its temp dir, before the rename.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(models.glob(".smollm2-*")):
        time.sleep(0.2)
    assert list(models.glob(".smollm2-*")), "setup never started writing"
    time.sleep(3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not model_setup.is_ready(dest)
    assert not dest.exists()

    done = _setup(home, "--no-persona-adapter")
    out, _ = done.communicate(timeout=400)
    assert done.returncode == 0, out
    assert "embedded model ready" in out
    assert model_setup.is_ready(dest)
    assert not list(models.glob(".smollm2-*")), "the killed run's temp dir was not cleaned"
    assert (dest / "model.safetensors").stat().st_size > 500_000_000

    assert "persona adapter" not in out

    # The persona adapter: trained once (2 steps here; the real run is 38), merged for CPU
    # serving, registered and made active.
    trained = _setup(home, "--max-steps", "2")
    out, _ = trained.communicate(timeout=600)
    assert trained.returncode == 0, out
    assert "training the default persona's adapter" in out
    assert "persona adapter ready: v001 active" in out
    store = open_store(f"sqlite:///{home / 'data' / 'companion.db'}")
    active = store.active_adapter()
    assert active is not None and active.kind == STARTER_KIND and active.version == "v001"
    assert active.merged_path and (Path(active.merged_path) / "config.json").is_file()
    assert active.metrics["steps"] == 2

    again = _setup(home)
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out
    assert out.splitlines() == [
        f"embedded model ready: {dest}",
        "persona adapter ready: v001 (trained before)",
    ]


def test_converted_checkpoint_generates_like_a_chat_model(embedded_model_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model_dir)
    model = AutoModelForCausalLM.from_pretrained(embedded_model_dir, dtype=torch.float32)
    assert 130e6 < model.num_parameters() < 140e6
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    reply = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in reply
