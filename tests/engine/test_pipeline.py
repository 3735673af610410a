"""SafetyPipeline: literal verdicts with a stub classifier, labelled examples with the fallback
and with a real (tiny) Detoxify model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from companion.config import SafetyConfig
from companion.persona import Persona
from companion.safety.detox import DetoxifyClassifier, FallbackClassifier, load_detoxify
from companion.safety.pipeline import REPLACEMENT, SafetyPipeline

from .detox_fixtures import build_tiny_detoxify

PERSONA = Persona(name="Juniper", intensity_cap=0.6)


class Stub:
    mode = "detoxify"
    detail = "stub"

    def __init__(self, **scores: float) -> None:
        self.scores = scores

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        base = dict.fromkeys(("toxicity", "insult", "threat"), 0.0)
        return [{**base, **self.scores} for _ in texts]


def pipe(clf: object = None, **cfg: object) -> SafetyPipeline:
    return SafetyPipeline(SafetyConfig(**cfg), clf or Stub())  # type: ignore[arg-type]


def test_user_crisis_and_intensity() -> None:
    p = pipe(crisis_resources="Call 988.")
    v = p.check_user("I want to end my life")
    assert v.action == "crisis" and "Call 988." in v.final and v.kind == "crisis"
    calm = p.check_user("what's up")
    assert calm.action == "pass" and calm.scores["intensity"] < 0.1


def test_user_tiers_history_and_record() -> None:
    p = pipe(crisis_resources="Call 988.")
    v = p.check_user(
        "honestly i don't see the point anymore, i've been thinking about ending it all"
    )
    assert v.action == "crisis" and v.tier == "crisis" and v.record()["tier"] == "crisis"
    check = p.check_user("I feel like such a burden")
    assert check.action == "check_in" and check.tier == "possible" and check.showable
    assert check.final == "I feel like such a burden" and "Call 988." in check.append
    assert p.check_user("tonight's the night").action == "pass"
    later = p.check_user("tonight's the night", ["I bought a lot of pills"])
    assert later.action == "crisis" and any("across turns" in r for r in later.reasons)
    assert not p.degraded and "crisis" in p.layers


def test_pass_records_scores_and_thresholds() -> None:
    v = pipe().check_reply("hi", "Hello, nice to see you.", PERSONA)
    assert v.action == "pass" and v.final == "Hello, nice to see you." and v.showable
    assert v.thresholds["toxicity"] == 0.7 and v.thresholds["intensity"] == 0.25
    assert set(v.scores) >= {"toxicity", "intensity", "user_intensity"}
    assert v.record()["action"] == "pass"


def test_per_label_thresholds_from_config() -> None:
    p = pipe(Stub(insult=0.65), thresholds={"toxicity": 0.7, "insult": 0.6})
    v = p.check_reply("hi", "some text", PERSONA)
    assert v.action == "block" and v.kind == "toxicity" and "insult 0.65" in v.reasons[0]
    assert not v.showable and v.final == ""
    assert pipe(Stub(insult=0.65)).check_reply("hi", "some text", PERSONA).action == "pass"


def test_blocklist_and_manipulation() -> None:
    p = pipe(blocklist=["pineapple"])
    assert p.check_reply("hi", "I love Pineapple pizza.", PERSONA).kind == "blocklist"
    v = p.check_reply("bye", "Please don't leave me.", PERSONA)
    assert v.action == "block" and v.kind == "manipulation"


def test_intensity_mirrors_the_user_and_softens() -> None:
    p = pipe()
    loud = "THAT IS SO AMAZING!!! 🎉🎉🎉"
    v = p.check_reply("I got the job.", loud, PERSONA)
    assert v.action == "intense" and v.kind == "intensity"
    assert any("caps" in r for r in v.reasons)
    # an excited user allows more, up to the persona's cap
    excited = p.check_reply("I GOT THE JOB!!! 🎉🎉", "Yay!! Congratulations! 🎉", PERSONA)
    assert excited.action == "pass"
    s = p.soften(v, PERSONA)
    assert s.action == "soften" and s.final == "That is so amazing! 🎉" and s.showable
    assert s.scores["intensity_softened"] < v.scores["intensity"]
    r = p.replace_text(v)
    assert r.action == "replace" and r.final == REPLACEMENT


# --- labelled examples with the real offline fallback ------------------------------------

TOXIC = [
    "You are a worthless idiot.",
    "Shut up, nobody cares what you think.",
    "I will kill you.",
    "You're such a pathetic loser.",
    "Go fuck yourself, you piece of shit.",
]
BLUNT_BUT_BENIGN = [
    "Honestly, that plan is a bad idea and it won't work.",
    "No. I think you're wrong about this one.",
    "That movie was boring and way too long.",
    "Damn, that's a good idea.",
    "Stop procrastinating and send the email.",
    "Your code has a bug on line 3: the loop never ends.",
    "That sucks. I'm sorry you had to deal with it.",
]


@pytest.mark.parametrize("text", TOXIC)
def test_fallback_blocks_attacks(text: str) -> None:
    v = pipe(FallbackClassifier()).check_reply("hi", text, PERSONA)
    assert v.action == "block" and v.kind in ("toxicity", "manipulation"), v


@pytest.mark.parametrize("text", BLUNT_BUT_BENIGN)
def test_fallback_lets_blunt_text_through(text: str) -> None:
    v = pipe(FallbackClassifier()).check_reply("what do you think?", text, PERSONA)
    assert v.action == "pass", v.reasons
    assert v.mode == "fallback"


def test_with_a_real_detoxify_model(tmp_path: Path) -> None:
    # a checkpoint whose toxicity logit is pushed high: every text is "toxic"
    ckpt, hf = build_tiny_detoxify(tmp_path, toxicity_bias=8.0)
    p = pipe(DetoxifyClassifier(load_detoxify(ckpt, hf), str(ckpt)))
    v = p.check_reply("hi", "Hello there.", PERSONA)
    assert v.action == "block" and v.kind == "toxicity" and v.scores["toxicity"] > 0.99
    assert v.mode == "detoxify"
    batch = p.check_replies("hi", ["One.", "Two."], PERSONA)
    assert [b.action for b in batch] == ["block", "block"]
