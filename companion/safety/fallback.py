"""The offline toxicity classifier used when Detoxify's weights are not on the machine.

Three signals, combined into Detoxify's six labels so thresholds and records read the same
in both modes:

- :mod:`companion.safety.abuse` rules (insults and threats aimed at the user, wishes of
  harm, slurs, demeaning statements about groups): 0.9 on their label;
- the semantic reply head (:mod:`companion.safety.semantic`, WordLlama + TF-IDF, trained on
  the exemplar banks when it loads): its P(toxic) is mapped so that the head's own
  threshold lands on the default toxicity threshold (0.7);
- alt-profanity-check (a linear model over offensive comments). It is coarse ("that sucks"
  scores 0.98), so profanity alone stays under the thresholds: casual swearing in a friendly
  reply is not an attack; profanity aimed at the user is caught by the abuse rules.

If the semantic head cannot load, the rules and the profanity model still run, ``degraded``
says why and ``detail`` shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from companion.safety import abuse
from companion.safety.normalize import clean
from companion.safety.semantic import TOXIC, SemanticLayer, SemanticUnavailable, shared

TOXICITY_THRESHOLD = 0.7
"""The default toxicity threshold the semantic score is scaled to (config.DEFAULT_THRESHOLDS)."""


@lru_cache(maxsize=1)
def _profanity() -> Any:
    from profanity_check import predict_prob

    return predict_prob


def scale_semantic(p: float, threshold: float = TOXIC) -> float:
    """P(toxic) → a toxicity score whose 0.7 is the head's own threshold (monotonic)."""
    if p < threshold:
        return TOXICITY_THRESHOLD * p / threshold * 0.99
    return TOXICITY_THRESHOLD + (1 - TOXICITY_THRESHOLD) * (p - threshold) / (1 - threshold)


@dataclass
class FallbackClassifier:
    """Targeted-abuse rules + the semantic reply head + alt-profanity-check."""

    detail: str = "no Detoxify weights"
    mode: str = "fallback"
    semantic: SemanticLayer | None = None
    """The semantic layer to use; None: the process-wide one (built on first use)."""
    use_semantic: bool = True
    degraded: str = field(default="", init=False)
    """Why a layer is missing ("" when all run)."""

    def __post_init__(self) -> None:
        self._resolved = False

    def _layer(self) -> SemanticLayer | None:
        if not self.use_semantic:
            return None
        if self.semantic is None and not self._resolved:
            self._resolved = True
            try:
                self.semantic = shared()
            except SemanticUnavailable as e:
                self._degrade(str(e))
        return self.semantic

    def _degrade(self, why: str) -> None:
        if not self.degraded:
            self.degraded = why
            self.detail = f"{self.detail}; semantic head unavailable ({why}): rules + profanity"

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        cleaned = [clean(t) for t in texts]
        probs = _profanity()(cleaned)
        sem: list[dict[str, float]] | None = None
        layer = self._layer()
        if layer is not None:
            try:
                sem = layer.reply_scores(cleaned)
            except Exception as e:  # noqa: BLE001 - the rules still decide; the mode says so
                self._degrade(f"{type(e).__name__}: {e}"[:160])
        out = []
        for i, (text, p) in enumerate(zip(cleaned, probs, strict=True)):
            p = float(p)
            hits = {h.kind for h in abuse.abuse_hits(text)}
            p_toxic = sem[i]["toxic"] if sem is not None else 0.0
            sem_score = scale_semantic(p_toxic)
            insult = 0.9 if hits & {"insult", "slur"} else 0.3 * p
            threat = 0.9 if "threat" in hits else 0.0
            identity = 0.9 if hits & {"identity", "slur"} else 0.0
            severe = 0.8 if threat or identity else (0.6 * p if insult >= 0.9 else 0.3 * p)
            out.append(
                {
                    "toxicity": max(0.65 * p, insult, threat, identity, sem_score),
                    "severe_toxicity": severe,
                    "obscene": 0.75 * p,
                    "threat": threat,
                    "insult": insult,
                    "identity_attack": identity,
                    "profanity": p,
                    "semantic_toxic": p_toxic,
                }
            )
        return out
