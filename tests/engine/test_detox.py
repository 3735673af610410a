"""The real Detoxify loading path, offline, on a tiny checkpoint in Detoxify's exact layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.config import Config, SafetyConfig
from companion.safety import detox
from companion.safety.detox import (
    DetoxifyClassifier,
    FallbackClassifier,
    SafetyModelError,
    install,
    load_classifier,
    load_detoxify,
)

from .detox_fixtures import build_tiny_detoxify


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No hub, and an empty torch hub cache: only what the test builds exists."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


def test_loads_through_detoxify_offline_despite_hub_model_type(tmp_path: Path) -> None:
    # model_type names a hub id, as in the real checkpoints; offline that lookup would fail
    ckpt, hf = build_tiny_detoxify(tmp_path / "ck", model_type="bert-base-uncased")
    model = load_detoxify(ckpt, hf)
    from detoxify import Detoxify

    assert isinstance(model, Detoxify)
    assert model.class_names == list(detox.LABELS)
    clf = DetoxifyClassifier(model, str(ckpt))
    one = clf.predict(["you are a good friend"])
    two = clf.predict(["hello", "i hate you"])
    assert len(one) == 1 and len(two) == 2
    assert set(one[0]) == set(detox.LABELS)
    assert all(0.0 <= v <= 1.0 for row in two for v in row.values())
    assert clf.predict([]) == []


def test_int8_quantized_model_scores_like_fp32(tmp_path: Path) -> None:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear

    ckpt, hf = build_tiny_detoxify(tmp_path / "ck", model_type="bert-base-uncased")
    fp32 = DetoxifyClassifier(load_detoxify(ckpt, hf), "fp32")
    int8_model = load_detoxify(ckpt, hf, int8=True)
    assert any(isinstance(m, DynamicQuantizedLinear) for m in int8_model.model.modules())
    assert not any(isinstance(m, DynamicQuantizedLinear) for m in fp32.model.model.modules())
    texts = ["you are a good friend", "i hate you", "What a lovely day! How was yours?"]
    a, b = fp32.predict(texts), DetoxifyClassifier(int8_model, "int8").predict(texts)
    assert max(abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x) < 0.05


def test_without_local_config_the_hub_lookup_fails_with_one_line(tmp_path: Path) -> None:
    ckpt, _hf = build_tiny_detoxify(tmp_path / "ck", model_type="bert-base-uncased")
    with pytest.raises(SafetyModelError, match="companion safety install") as e:
        load_detoxify(ckpt, None)
    assert "\n" not in str(e.value)


def test_bad_checkpoints(tmp_path: Path) -> None:
    import torch

    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(SafetyModelError, match="not a readable checkpoint"):
        load_detoxify(junk, None)
    wrong = tmp_path / "wrong.ckpt"
    torch.save({"state_dict": {}}, wrong)
    with pytest.raises(SafetyModelError, match="not a Detoxify checkpoint"):
        load_detoxify(wrong, None)


def test_resolution_order_config_then_installed_then_hub_cache(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = config.paths
    # nothing anywhere: the fallback, and it says why
    clf = load_classifier(config.safety, paths)
    assert isinstance(clf, FallbackClassifier) and clf.mode == "fallback"
    assert "companion safety install" in clf.detail

    # torch hub cache (with the config folder `install` would have stored)
    hub = detox.torch_hub_checkpoints()
    build_tiny_detoxify(hub)
    monkeypatch.setattr(detox, "hf_dir_for", lambda ck: hub / "toxic_original-c1212f89-hf")
    clf = load_classifier(config.safety, paths)
    assert clf.mode == "detoxify" and "torch hub cache, int8" in clf.detail  # int8 by default
    monkeypatch.undo()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    # installed in the data dir wins over the hub cache
    build_tiny_detoxify(paths.safety_dir)
    clf = load_classifier(config.safety, paths)
    assert clf.mode == "detoxify" and "installed" in clf.detail

    # the configured path wins over both
    ckpt, hf = build_tiny_detoxify(tmp_path / "mine", name="custom.ckpt")
    cfg = SafetyConfig(detoxify_checkpoint=str(ckpt), detoxify_hf_config=str(hf))
    clf = load_classifier(cfg, paths)
    assert clf.mode == "detoxify" and str(ckpt) in clf.detail

    # a configured path that is missing is reported, not silently skipped
    clf = load_classifier(SafetyConfig(detoxify_checkpoint=str(tmp_path / "nope.ckpt")), paths)
    assert clf.mode == "fallback" and "does not exist" in clf.detail


def test_install_from_a_local_checkpoint(tmp_path: Path) -> None:
    # model_type points at a local folder, so the config/tokenizer fetch works offline here
    src_dir = tmp_path / "src"
    ckpt, hf = build_tiny_detoxify(src_dir)
    local_ckpt, _ = build_tiny_detoxify(tmp_path / "src2", model_type=str(hf))
    dest = tmp_path / "safety"
    stored, stored_hf = install(dest, "original", source=local_ckpt)
    assert stored == dest / "toxic_original-c1212f89.ckpt" and stored.is_file()
    assert (stored_hf / "config.json").is_file()
    assert {"vocab.txt", "tokenizer.json"} & {f.name for f in stored_hf.iterdir()}
    assert not list(dest.glob("*.part")) and not list(dest.glob(".hf-*"))
    assert DetoxifyClassifier(load_detoxify(stored, stored_hf), "x").predict(["hi"])
    # idempotent
    assert install(dest, "original", source=local_ckpt) == (stored, stored_hf)
    del ckpt
