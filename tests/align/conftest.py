"""Fixtures for align tests: small datasets and a tiny SFT adapter shared by the session."""

from __future__ import annotations

from pathlib import Path

import pytest
from align_data import sft_rows


@pytest.fixture(scope="session")
def tiny_sft_adapter(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter SFT-trained for a few steps on the tiny model (the 'active' adapter)."""
    from align.train import TrainingArgs, train

    out = tmp_path_factory.mktemp("sft-adapter")
    res = train(
        "sft",
        tiny_model_dir,
        sft_rows(8),
        out,
        args=TrainingArgs(max_steps=4, batch_size=4, learning_rate=1e-3, lora_r=4, lora_alpha=8),
    )
    return res.adapter_dir
