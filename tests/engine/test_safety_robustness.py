"""Fail closed and total: any input is checked without crashing, a failing layer never lets a
reply through unchecked, and the degraded state is visible."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.config import SafetyConfig
from companion.persona import Persona
from companion.safety import normalize, rules, semantic
from companion.safety.abuse import abuse_hits
from companion.safety.fallback import FallbackClassifier
from companion.safety.pipeline import SafetyPipeline

PERSONA = Persona(name="Juniper", intensity_cap=0.6)


@pytest.fixture(scope="module")
def pipe() -> SafetyPipeline:
    layer = semantic.shared()
    return SafetyPipeline(SafetyConfig(), FallbackClassifier(semantic=layer), semantic=layer)


texts = st.one_of(
    st.text(max_size=400),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.lists(
        st.sampled_from(
            ["I", "want", "to", "die", "日本語", "¿qué?", "ы", "🙂", "\x00", "\n", "kms"]
        ),
        max_size=40,
    ).map(" ".join),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts, history=st.lists(st.text(max_size=80), max_size=4))
def test_any_user_text_is_checked(pipe: SafetyPipeline, text: str, history: list[str]) -> None:
    v = pipe.check_user(text, history)
    assert v.action in ("pass", "check_in", "crisis") and v.original == text
    assert v.tier in ("none", "possible", "crisis")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts)
def test_any_reply_text_is_checked(pipe: SafetyPipeline, text: str) -> None:
    v = pipe.check_reply("hi", text, PERSONA)
    assert v.action in ("pass", "block", "intense")
    assert v.final in ("", text)


@given(text=texts)
def test_normalize_and_rules_are_total(text: str) -> None:
    assert len(normalize.clean(text)) <= normalize.MAX_CHARS + 1
    normalize.canonical(text)
    rules.crisis_signals(text)
    rules.manipulation_hits(text)
    abuse_hits(text)


def test_empty_huge_and_binary(pipe: SafetyPipeline) -> None:
    assert pipe.check_user("").action == "pass"
    assert pipe.check_reply("", "", PERSONA).action == "pass"
    huge = ("lorem ipsum dolor sit amet " * 40_000)[:1_000_000]
    assert pipe.check_user(huge).action == "pass"
    assert pipe.check_reply("hi", huge, PERSONA).action in ("pass", "intense")
    # a crisis line at the end of a megabyte is still seen
    assert pipe.check_user(huge + " I want to kill myself").action == "crisis"
    junk = bytes(range(256)).decode("latin-1") * 100
    assert pipe.check_user(junk).action in ("pass", "check_in")
    assert normalize.clean(b"\xff\xfeok\x00") == "��ok "


class Broken:
    mode = "detoxify"
    detail = "broken stub"

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        raise RuntimeError("CUDA fell over")


def test_a_failing_classifier_blocks_and_says_so() -> None:
    p = SafetyPipeline(SafetyConfig(), Broken(), semantic=None)  # type: ignore[arg-type]
    assert not p.degraded
    v = p.check_reply("hi", "Hello there, lovely day.", PERSONA)
    assert v.action == "block" and not v.showable and v.final == "" and v.degraded
    assert any("fail closed" in r and "CUDA fell over" in r for r in v.reasons)
    assert p.degraded and "CUDA fell over" in p.detail
    # rules still run beside it
    v = p.check_reply("bye", "Please don't leave me.", PERSONA)
    assert any(r.startswith("guilt:") for r in v.reasons)


class BrokenLayer:
    detail = "broken"

    def crisis_scores(self, texts: Sequence[str]) -> list[float]:
        raise ValueError("bad matrix")

    def reply_scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        raise ValueError("bad matrix")


def test_a_failing_semantic_layer_leaves_the_rules_running() -> None:
    layer = BrokenLayer()
    p = SafetyPipeline(
        SafetyConfig(),
        FallbackClassifier(semantic=layer),  # type: ignore[arg-type]
        semantic=layer,  # type: ignore[arg-type]
    )
    v = p.check_user("I want to end my life")
    assert v.action == "crisis" and v.degraded
    assert any("degraded" in r and "bad matrix" in r for r in v.reasons)
    r = p.check_reply("hi", "You're a worthless idiot.", PERSONA)
    assert r.action == "block" and r.degraded
    assert p.degraded and "bad matrix" in p.detail


def test_a_semantic_layer_that_cannot_load_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = (tmp_path / "none.safetensors", tmp_path / "none.json")
    monkeypatch.setattr(semantic, "_wordllama_files", lambda: missing)
    with pytest.raises(semantic.SemanticUnavailable, match="WordLlama did not load") as e:
        semantic.build()
    assert "\n" not in str(e.value)
    monkeypatch.setattr(semantic, "_shared", {})
    p = SafetyPipeline(SafetyConfig(), FallbackClassifier())
    assert p.degraded and "semantic" in p.detail and p.semantic is None
    assert p.check_user("I want to kill myself").action == "crisis"
    v = p.check_user("hello")
    assert v.degraded and any("degraded" in r for r in v.reasons)
    assert p.layers["semantic"] == "unavailable"
    assert p.check_reply("hi", "You are a moron.", PERSONA).action == "block"


def test_wordllama_loads_offline_from_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    def no_network(*a: object, **k: object) -> None:
        raise AssertionError("WordLlama tried the network")

    monkeypatch.setattr(requests, "get", no_network)
    model = semantic.load_wordllama()
    vec = semantic.Embedder(model).embed(["hello there", ""])
    assert vec.shape == (2, semantic.WORDLLAMA_DIM)
    assert abs(float((vec[0] ** 2).sum()) - 1.0) < 1e-3 and float(abs(vec[1]).sum()) == 0.0


def test_documented_cache_route_when_the_direct_load_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fail() -> object:
        raise ImportError("no inference module")

    monkeypatch.setattr(semantic, "_import_quietly", fail)
    model = semantic.load_wordllama(tmp_path / "cache")
    assert (tmp_path / "cache" / "tokenizers").is_dir()
    assert semantic.Embedder(model).embed(["hi"]).shape == (1, semantic.WORDLLAMA_DIM)


def test_explicitly_rules_only_is_not_degraded() -> None:
    p = SafetyPipeline(SafetyConfig(), FallbackClassifier(use_semantic=False), semantic=None)
    assert not p.degraded and p.layers["semantic"] == "off"
    assert p.check_user("I want to end my life").action == "crisis"


def test_build_pipeline_on_a_fresh_install(
    config: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from companion.config import Config
    from companion.safety.pipeline import build_pipeline

    assert isinstance(config, Config)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no Detoxify weights
    p = build_pipeline(config.safety, config.paths)
    assert p.mode == "fallback" and not p.degraded
    assert "WordLlama + TF-IDF" in p.layers["semantic"]
    assert p.check_user("I want to end my life").action == "crisis"
    assert p.check_reply("hi", "You're a worthless idiot.", PERSONA).action == "block"
