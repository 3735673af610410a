"""Adapter registry (install, promote, rollback) on a real store; merge and export."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from align.adapters import (
    AdapterError,
    AdapterRegistry,
    export_adapter,
    merge_adapter,
    verify_checkpoint,
    versions_table,
)


@pytest.fixture
def store(tmp_path):
    from feedback.db import make_engine, migrate
    from feedback.repo import Store

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    return Store(engine)


def fake_adapter(d: Path, tag: str = "x") -> Path:
    d.mkdir(parents=True)
    (d / "adapter_config.json").write_text('{"r": 4}')
    (d / "adapter_model.safetensors").write_text(tag)
    return d


def test_install_promote_rollback(tmp_path, store):
    reg = AdapterRegistry(tmp_path / "adapters", store)
    v1 = reg.install(fake_adapter(tmp_path / "run1"), kind="sft", metrics={"note": "starter"})
    assert v1.version == "v001" and v1.path == tmp_path / "adapters" / "v001" and not v1.active
    assert (v1.path / "adapter_model.safetensors").read_text() == "x"
    assert reg.active() is None
    reg.promote("v001")
    v2 = reg.install(fake_adapter(tmp_path / "run2", "y"), kind="dpo", parent_version="v001")
    assert v2.version == "v002"
    assert reg.promote("v002").active and reg.active().version == "v002"
    assert [v.version for v in reg.list() if v.active] == ["v002"]
    assert versions_table(reg.list())[1][:2] == ("*", "v002")
    assert reg.rollback().version == "v001"  # to the parent
    assert reg.rollback() is None  # v001 has no parent and nothing older: the base model
    assert reg.active() is None
    assert reg.rollback("v002").version == "v002"
    with pytest.raises(AdapterError, match="no adapter version v009"):
        reg.promote("v009")
    assert not list((tmp_path / "adapters").glob(".*"))  # no temp dirs left


def test_install_refuses_a_non_adapter_and_missing_files(tmp_path, store):
    reg = AdapterRegistry(tmp_path / "adapters", store)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AdapterError, match="not a LoRA adapter"):
        reg.install(tmp_path / "empty", kind="dpo")
    v = reg.install(fake_adapter(tmp_path / "run"), kind="dpo")
    shutil.rmtree(v.path)
    with pytest.raises(AdapterError, match="files missing"):
        reg.promote(v.version)


def test_version_numbers_skip_leftover_dirs(tmp_path, store):
    (tmp_path / "adapters" / "v007").mkdir(parents=True)
    reg = AdapterRegistry(tmp_path / "adapters", store)
    assert reg.next_version() == "v008"


@pytest.mark.slow
def test_merged_export_matches_base_plus_adapter(tiny_model_dir, tiny_sft_adapter, tmp_path):
    from align.adapters import _greedy, _load_peft

    out = merge_adapter(tiny_model_dir, tiny_sft_adapter, tmp_path / "merged")
    assert (out / "model.safetensors").is_file() and (out / "tokenizer_config.json").is_file()
    model, tok = _load_peft(tiny_model_dir, tiny_sft_adapter)
    assert verify_checkpoint(out) == _greedy(model, tok)
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(out).chat_template  # template travels with it
    exported = export_adapter(tiny_model_dir, tiny_sft_adapter, tmp_path / "exported")
    assert (exported / "adapter_model.safetensors").read_bytes() == (
        tiny_sft_adapter / "adapter_model.safetensors"
    ).read_bytes()
