"""The learning commands (companion.cli.learning), mounted on a throwaway Typer app."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from companion.cli import learning as cli


def app() -> typer.Typer:
    a = typer.Typer()
    a.add_typer(cli.data_app, name="data")
    a.add_typer(cli.pairs_app, name="pairs")
    a.add_typer(cli.train_app, name="train")
    a.add_typer(cli.adapters_app, name="adapters")
    a.command("retrain")(cli.retrain)
    a.command("export-model")(cli.export_model)
    return a


def invoke(*args: str):
    return CliRunner().invoke(app(), list(args))


def test_qlora_refused_on_cpu_with_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        return
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    res = invoke("train", "sft", "--qlora", "--data", str(data))
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "companion: error: --qlora needs a CUDA GPU (bitsandbytes 4-bit NF4 runs only there); "
        "this machine has none, so train without --qlora."
    ]


def test_empty_state_commands(companion_home):
    res = invoke("pairs", "stats", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["total"] == 0
    res = invoke("adapters", "list")
    assert res.exit_code == 0 and "no adapters yet" in res.output
    res = invoke("adapters", "rollback")
    assert res.exit_code == 1 and "nothing to roll back" in res.output
    res = invoke("export-model", "--merged", "x")
    assert res.exit_code == 1 and "no adapter is active" in res.output
    res = invoke("export-model")
    assert res.exit_code == 1 and "exactly one of" in res.output
    res = invoke("pairs", "build")
    assert res.exit_code == 0 and "0 new pairs" in res.output


def test_pairs_export_formats(companion_home, tmp_path):
    from align.pairs import Cand, Turn, build_dpo_pairs
    from align.retrain import to_store_pair
    from companion.cli.common import open_store
    from companion.config import load

    store = open_store(load().config)
    turn = Turn(
        "c",
        "m",
        [{"role": "user", "content": "Hi"}],
        [Cand("x", "A?", chosen=True), Cand("y", "B.")],
    )
    store.add_pairs(to_store_pair(p) for p in build_dpo_pairs([turn]))
    out = tmp_path / "p.jsonl"
    assert invoke("pairs", "export", str(out)).exit_code == 0
    row = json.loads(out.read_text())
    assert set(row) == {"prompt", "chosen", "rejected"}
    assert invoke("pairs", "export", str(out), "--format", "jsonl").exit_code == 0
    assert json.loads(out.read_text())["source"] == "picked"
    assert invoke("pairs", "export", str(out), "--format", "csv").exit_code == 1


@pytest.mark.slow
def test_train_sft_registers_and_exports(companion_home, tiny_model_dir, tmp_path, monkeypatch):
    from align_data import sft_rows

    monkeypatch.setenv("COMPANION_MODEL__BASE", str(tiny_model_dir))
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sft_rows(4)) + "{bad\n")
    res = invoke("train", "sft", "--data", str(data), "--max-steps", "2", "--activate")
    assert res.exit_code == 0, res.output
    assert "line 5: invalid JSON" in res.output
    assert "registered adapter v001" in res.output and "v001 is active" in res.output
    res = invoke("adapters", "list")
    assert res.output.startswith("* v001")
    out = tmp_path / "exported"
    res = invoke("export-model", "--adapter", str(out))
    assert res.exit_code == 0, res.output
    assert (out / "adapter_model.safetensors").is_file()
    res = invoke("adapters", "show")
    assert "sft" in res.output and "train_loss" in res.output
