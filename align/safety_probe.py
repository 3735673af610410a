"""The scorer behind the gate's safety probe: toxicity and intensity from companion.safety."""

from __future__ import annotations

from align.gate import Scorer
from companion.config import Config


def safety_scorer(config: Config) -> Scorer | None:
    """Toxicity + intensity per text, or None when no classifier can be built (the gate then
    skips its safety probe, and the report says so)."""
    try:
        from companion.safety import intensity
        from companion.safety.detox import load_classifier

        classifier = load_classifier(config.safety, config.paths)
    except Exception:  # noqa: BLE001 - a missing probe is reported, never fatal
        return None

    def score(texts: list[str]) -> list[dict[str, float]]:
        tox = classifier.predict(texts)
        return [
            {"toxicity": float(t.get("toxicity", 0.0)), "intensity": intensity.score(x).score}
            for t, x in zip(tox, texts, strict=True)
        ]

    return score
