"""The held-out targets of the safety layers in fallback mode (no Detoxify weights), measured
on tests/data/safety_eval.jsonl. A regression in rules, exemplars or thresholds fails here.

Figures per category: `.venv/bin/python bench/safety_quality.py` (docs/benchmarks.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from companion.config import SafetyConfig
from companion.safety import exemplars, quality, semantic
from companion.safety.fallback import FallbackClassifier
from companion.safety.pipeline import SafetyPipeline

DATA = Path(__file__).resolve().parent.parent / "data" / "safety_eval.jsonl"


@pytest.fixture(scope="module")
def rows() -> list[quality.Row]:
    return quality.load(DATA)


@pytest.fixture(scope="module")
def heldout_report(rows: list[quality.Row]) -> quality.Report:
    layer = semantic.shared()
    pipeline = SafetyPipeline(SafetyConfig(), FallbackClassifier(semantic=layer), semantic=layer)
    return quality.run(pipeline, [r for r in rows if r.split == "heldout"])


def test_the_set_is_big_and_split(rows: list[quality.Row]) -> None:
    assert len(rows) >= 400
    held = sum(r.split == "heldout" for r in rows) / len(rows)
    assert 0.35 <= held <= 0.45
    cats = {r.category for r in rows}
    assert {"crisis_eating", "crisis_means", "crisis_sequence", "safe_question"} <= cats
    assert {"toxic_identity", "clean_profanity", "manipulative"} <= cats
    assert all(r.split in ("dev", "heldout") and r.side in ("user", "reply") for r in rows)
    assert any(r.history for r in rows if r.label == "crisis")
    assert any(r.history for r in rows if r.label == "safe")


# Every target of the issue is asserted on held-out. Measured when the rules and exemplars
# were frozen: crisis recall 97.0% (target 97%), safe look-alikes flagged 0.0%, toxic
# replies blocked 90.0%, clean replies blocked 2.3%, manipulative replies blocked 94.7%.
@pytest.mark.parametrize("name", list(quality.TARGETS))
def test_heldout_target(heldout_report: quality.Report, name: str) -> None:
    got, op, goal, met = quality.targets(heldout_report)[name]
    # categories only: held-out lines are not for reading while tuning
    misses = sorted({o.row.category for o in heldout_report.misses()})
    assert met, f"{name}: {got:.1%} (target {op} {goal:.0%}); categories with misses {misses}"


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z']+", text.lower()))


def test_exemplars_are_not_copies_of_eval_lines(rows: list[quality.Row]) -> None:
    evals = [r.text for r in rows] + [h for r in rows for h in r.history]
    banks = (
        exemplars.CRISIS
        + exemplars.USER_SAFE
        + exemplars.REPLY_TOXIC
        + exemplars.REPLY_MANIPULATIVE
        + exemplars.REPLY_CLEAN
    )
    eval_words = [_words(t) for t in evals]
    for line in banks:
        w = _words(line)
        for text, ew in zip(evals, eval_words, strict=True):
            overlap = len(w & ew) / max(1, len(w | ew))
            assert overlap < 0.75, (line, text)
