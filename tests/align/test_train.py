"""SFT / DPO / KTO on a tiny random Llama: loss logged, LoRA moves, base does not, it learns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from align_data import sft_rows, trait_pairs
from safetensors.torch import load_file

from align.gate import evaluate_adapter
from align.train import (
    QLORA_NEEDS_CUDA,
    TrainingArgs,
    TrainingError,
    check_qlora,
    summarize_curve,
    train,
)

pytestmark = pytest.mark.slow

TINY = {"lora_r": 4, "lora_alpha": 8, "batch_size": 4}


def test_training_args_validate():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TrainingArgs(batch_size=0)
    with pytest.raises(ValueError, match="max_steps"):
        TrainingArgs(max_steps=0)
    assert (
        TrainingArgs().lr_for("sft") == 2e-4
        and TrainingArgs(learning_rate=1e-3).lr_for("dpo") == 1e-3
    )
    assert "help" not in TrainingArgs.help()["beta"] and TrainingArgs.help()["beta"]


def test_qlora_refused_on_cpu(tiny_model_dir, tmp_path):
    with pytest.raises(TrainingError) as e:
        check_qlora(TrainingArgs(qlora=True), cuda=False)
    assert str(e.value) == QLORA_NEEDS_CUDA and "\n" not in str(e.value)
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="needs a CUDA GPU"):
            train("sft", tiny_model_dir, sft_rows(4), tmp_path, args=TrainingArgs(qlora=True))
        assert not (tmp_path / "adapter").exists()


def test_bad_rows_are_refused_before_loading(tmp_path):
    with pytest.raises(TrainingError, match="lacks chosen, prompt, rejected"):
        train("dpo", tmp_path / "nowhere", [{"messages": []}], tmp_path)
    with pytest.raises(TrainingError, match="both thumbs-up and thumbs-down"):
        train("kto", tmp_path, [{"prompt": [], "completion": [], "label": True}], tmp_path)


def test_sft_loss_falls_and_adapter_saved(tiny_model_dir, tmp_path):
    seen = []
    res = train(
        "sft",
        tiny_model_dir,
        sft_rows(8),
        tmp_path / "run",
        args=TrainingArgs(max_steps=8, learning_rate=2e-2, **TINY),
        progress_callback=seen.append,
    )
    losses = [h["loss"] for h in res.log_history if "loss" in h]
    assert len(losses) == 8
    # a random tiny model starts at ln(vocab) ≈ 10.8; attention-only LoRA moves it slowly
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.15
    assert (res.adapter_dir / "adapter_model.safetensors").is_file()
    assert json.loads((res.adapter_dir / "adapter_config.json").read_text())["r"] == 4
    assert res.plot_png and res.plot_png.stat().st_size > 1000
    assert seen and seen[-1].step == 8 and seen[-1].total == 8 and seen[-1].loss is not None
    assert "→" in summarize_curve(res.log_history)
    assert not (tmp_path / "run" / ".adapter.tmp").exists()


def test_sft_assistant_only_mask(tiny_model_dir):
    """The shipped template marks exactly the assistant replies (+ end-of-turn) for loss."""
    from align.train import CHAT_TEMPLATE, load_tokenizer

    tok = load_tokenizer(tiny_model_dir)
    msgs = sft_rows(1)[0]["messages"]
    stock = tok.apply_chat_template(msgs, tokenize=False)
    tok.chat_template = CHAT_TEMPLATE.read_text()
    assert tok.apply_chat_template(msgs, tokenize=False) == stock  # renders identically
    enc = tok.apply_chat_template(msgs, return_assistant_tokens_mask=True, return_dict=True)
    ids = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"], strict=True) if m]
    assert tok.decode(ids) == msgs[-1]["content"] + "<|im_end|>"


def _lora_tensors(d: Path) -> dict[str, torch.Tensor]:
    return load_file(str(d / "adapter_model.safetensors"))


def test_dpo_from_active_adapter(tiny_model_dir, tiny_sft_adapter, tmp_path):
    base_before = {
        k: v.clone() for k, v in load_file(str(tiny_model_dir / "model.safetensors")).items()
    }
    init = _lora_tensors(tiny_sft_adapter)
    captured = {}

    def inspect(model):
        captured["base"] = {
            k.replace("base_model.model.", "").replace(".base_layer", ""): v.detach().clone()
            for k, v in model.named_parameters()
            if "lora_" not in k
        }
        captured["ref"] = {
            k: v.detach().clone() for k, v in model.named_parameters() if ".ref." in k
        }

    res = train(
        "dpo",
        tiny_model_dir,
        trait_pairs(8, seed=1),
        tmp_path / "run",
        init_adapter=tiny_sft_adapter,
        args=TrainingArgs(max_steps=4, learning_rate=5e-3, **TINY),
        on_trained=inspect,
    )
    assert any("loss" in h for h in res.log_history)
    assert any("rewards/accuracies" in h for h in res.log_history)
    after = _lora_tensors(res.adapter_dir)
    assert after.keys() == init.keys()  # only the trained adapter was saved, not "ref"
    assert any(not torch.equal(after[k], init[k]) for k in init)  # LoRA moved
    # The reference adapter is a frozen copy of the active one.
    ref = {k.replace(".ref.", "."): v for k, v in captured["ref"].items()}
    assert ref.keys() == init.keys()
    assert all(torch.equal(ref[k], init[k]) for k in init)
    for k, v in base_before.items():  # base weights untouched
        assert torch.equal(captured["base"][k], v), k


def test_kto(tiny_model_dir, tmp_path):
    rows = []
    for p in trait_pairs(4, seed=3):
        rows.append({"prompt": p["prompt"], "completion": p["chosen"], "label": True})
        rows.append({"prompt": p["prompt"], "completion": p["rejected"], "label": False})
    res = train(
        "kto", tiny_model_dir, rows, tmp_path / "run", args=TrainingArgs(max_steps=2, **TINY)
    )
    assert any("loss" in h for h in res.log_history)
    assert (res.adapter_dir / "adapter_model.safetensors").is_file()


def test_resume_continues_from_checkpoint(tiny_model_dir, tmp_path):
    args = dict(learning_rate=1e-3, save_steps=2, **TINY)
    run = tmp_path / "run"
    train("sft", tiny_model_dir, sft_rows(8), run, args=TrainingArgs(max_steps=2, **args))
    assert (run / "checkpoints" / "checkpoint-2").is_dir()
    res = train(
        "sft", tiny_model_dir, sft_rows(8), run, args=TrainingArgs(max_steps=4, resume=True, **args)
    )
    assert res.metrics["resumed_from"].endswith("checkpoint-2")
    assert [h["step"] for h in res.log_history if "loss" in h] == [1, 2, 3, 4]


def test_dpo_learns_the_trait(tiny_model_dir, tiny_sft_adapter, tmp_path):
    """After DPO on pairs preferring a question at the end, holdout accuracy rises."""
    holdout = trait_pairs(12, seed=99)
    before = evaluate_adapter(tiny_model_dir, tiny_sft_adapter, holdout)
    res = train(
        "dpo",
        tiny_model_dir,
        trait_pairs(16, seed=7),
        tmp_path / "run",
        init_adapter=tiny_sft_adapter,
        args=TrainingArgs(max_steps=8, learning_rate=1e-2, beta=0.5, **TINY),
    )
    after = evaluate_adapter(tiny_model_dir, res.adapter_dir, holdout)
    assert after.accuracy > before.accuracy or (
        before.accuracy == 1.0 and after.mean_margin > before.mean_margin
    )
    assert after.mean_margin > before.mean_margin


def test_kto_continues_from_a_stage_with_the_parent_as_reference(
    tiny_model_dir, tiny_sft_adapter, tmp_path
):
    """A combined round's KTO stage: trained weights start at the DPO stage's, the frozen
    reference is the parent (the adapter the round started from), not the DPO stage."""
    dpo = train(
        "dpo",
        tiny_model_dir,
        trait_pairs(8, seed=1),
        tmp_path / "dpo",
        init_adapter=tiny_sft_adapter,
        args=TrainingArgs(max_steps=2, learning_rate=5e-3, **TINY),
    )
    rows = []
    for p in trait_pairs(4, seed=3):
        rows.append({"prompt": p["prompt"], "completion": p["chosen"], "label": True})
        rows.append({"prompt": p["prompt"], "completion": p["rejected"], "label": False})
    captured = {}

    def inspect(model):
        captured["ref"] = {
            k.replace(".ref.", "."): v.detach().clone()
            for k, v in model.named_parameters()
            if ".ref." in k
        }

    kto = train(
        "kto",
        tiny_model_dir,
        rows,
        tmp_path / "kto",
        init_adapter=tiny_sft_adapter,
        start_from=dpo.adapter_dir,
        args=TrainingArgs(max_steps=1, learning_rate=1e-7, **TINY),
        on_trained=inspect,
    )
    parent, stage, after = (
        _lora_tensors(d) for d in (tiny_sft_adapter, dpo.adapter_dir, kto.adapter_dir)
    )
    assert captured["ref"].keys() == parent.keys()
    assert all(torch.equal(captured["ref"][k], parent[k]) for k in parent)
    # one tiny step from the DPO stage's weights: far nearer them than the parent's
    moved = [k for k in parent if not torch.equal(stage[k], parent[k])]
    assert moved
    for k in moved:
        assert (after[k] - stage[k]).abs().max() < (stage[k] - parent[k]).abs().max() / 10, k


def test_continuing_from_an_adapter_of_another_shape_is_refused(
    tiny_model_dir, tiny_sft_adapter, tmp_path
):
    rows = [
        {"prompt": p["prompt"], "completion": p[side], "label": side == "chosen"}
        for p in trait_pairs(2, seed=3)
        for side in ("chosen", "rejected")
    ]
    with pytest.raises(TrainingError, match="does not fit the adapter being trained"):
        train(
            "kto",
            tiny_model_dir,
            rows,
            tmp_path / "kto",
            start_from=tiny_sft_adapter,  # r=4 on q/k/v/o; this fresh LoRA targets q only
            args=TrainingArgs(max_steps=1, lora_targets=["q_proj"], **TINY),
        )
