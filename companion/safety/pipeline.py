"""The safety pipeline: every user message and every piece of a reply passes through here.

``check_user`` looks for crisis signals and measures the user's own intensity (the reply may
mirror it, not amplify it). ``check_reply`` runs the blocklist, the manipulation rules, the
intensity cap and the toxicity classifier, and returns a :class:`Verdict` that says what to
do. The engine acts on it: regenerate, soften (`soften`), or replace (`replace`). Verdicts
carry every score and threshold so each decision can be recorded as it was made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from companion.config import SafetyConfig
from companion.paths import Paths
from companion.persona import Persona
from companion.safety import intensity, rules
from companion.safety.detox import Classifier, load_classifier

Action = Literal["pass", "crisis", "block", "intense", "soften", "replace"]
"""pass: show as is. crisis: show the fixed crisis reply instead of model text. block: toxic,
blocklisted or manipulative, never show; regenerate or replace. intense: over the intensity
limit; regenerate calmer or soften. soften / replace: the final, changed text to show."""
Kind = Literal["crisis", "toxicity", "blocklist", "manipulation", "intensity"]

REPLACEMENT = (
    "I'd rather not put it that way. Let's take a breath and come back to what you were "
    "saying: what's on your mind?"
)


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    original: str
    final: str
    kind: Kind | None = None
    scores: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    mode: str = ""
    """The classifier's mode: "detoxify" or "fallback"."""
    latency_ms: float = 0.0

    @property
    def showable(self) -> bool:
        """Whether `final` may be shown to the user as it is."""
        return self.action in ("pass", "soften", "replace", "crisis")

    def record(self) -> dict[str, object]:
        """A JSON-able summary for storage."""
        return {
            "action": self.action,
            "kind": self.kind,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "thresholds": self.thresholds,
            "reasons": list(self.reasons),
            "mode": self.mode,
        }


class SafetyPipeline:
    def __init__(
        self,
        config: SafetyConfig,
        classifier: Classifier,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        self.classifier = classifier
        self._clock = clock

    @property
    def mode(self) -> str:
        return self.classifier.mode

    @property
    def detail(self) -> str:
        return self.classifier.detail

    def intensity_limit(self, persona: Persona, user_intensity: float) -> float:
        return intensity.limit_for(
            user_intensity, persona.intensity_cap, self.config.intensity_margin
        )

    # --- user side -------------------------------------------------------------------------

    def check_user(self, text: str) -> Verdict:
        start = self._clock()
        user = intensity.score(text)
        scores = {"intensity": user.score}
        hit = rules.crisis_match(text)
        if hit is not None:
            return Verdict(
                "crisis",
                text,
                rules.crisis_reply(self.config.crisis_resources),
                "crisis",
                scores,
                {},
                (f"crisis signal: {hit!r}",),
                self.mode,
                self._ms(start),
            )
        return Verdict("pass", text, text, None, scores, {}, (), self.mode, self._ms(start))

    # --- reply side ------------------------------------------------------------------------

    def check_reply(
        self,
        user_text: str,
        reply_text: str,
        persona: Persona,
        *,
        user_intensity: float | None = None,
    ) -> Verdict:
        """Check one reply or one sentence of it. Toxicity is classified for every text, so
        each verdict carries the full set of scores."""
        return self.check_replies(user_text, [reply_text], persona, user_intensity=user_intensity)[
            0
        ]

    def check_replies(
        self,
        user_text: str,
        texts: Sequence[str],
        persona: Persona,
        *,
        user_intensity: float | None = None,
    ) -> list[Verdict]:
        """Several texts in one classifier batch (n candidates, or sentences at once)."""
        start = self._clock()
        if user_intensity is None:
            user_intensity = intensity.score(user_text).score
        limit = self.intensity_limit(persona, user_intensity)
        thresholds = {
            **self.config.thresholds,
            "intensity": round(limit, 4),
            "intensity_cap": persona.intensity_cap,
        }
        predictions = self.classifier.predict([t for t in texts])
        out = []
        for text, tox in zip(texts, predictions, strict=True):
            inten = intensity.score(text)
            scores = {**tox, "intensity": inten.score, "user_intensity": user_intensity}
            action: Action = "pass"
            kind: Kind | None = None
            reasons: list[str] = []
            if words := rules.blocklist_matches(text, self.config.blocklist):
                action, kind = "block", "blocklist"
                reasons.append("blocklisted: " + ", ".join(sorted(set(words))))
            if hits := rules.manipulation_hits(text):
                if action == "pass":
                    action, kind = "block", "manipulation"
                reasons += [f"{h.kind}: {h.match!r}" for h in hits]
            over = {
                label: value
                for label, value in tox.items()
                if label in self.config.thresholds and value >= self.config.thresholds[label]
            }
            if over:
                if action == "pass":
                    action, kind = "block", "toxicity"
                reasons += [
                    f"{label} {value:.2f} ≥ {self.config.thresholds[label]}"
                    for label, value in sorted(over.items())
                ]
            if inten.score > limit:
                if action == "pass":
                    action, kind = "intense", "intensity"
                why = ", ".join(inten.reasons()) or "overall tone"
                reasons.append(f"intensity {inten.score:.2f} > limit {limit:.2f} ({why})")
            out.append(
                Verdict(
                    action,
                    text,
                    text if action == "pass" else "",
                    kind,
                    scores,
                    thresholds,
                    tuple(reasons),
                    self.mode,
                    self._ms(start) / max(1, len(texts)),
                )
            )
        return out

    def soften(self, verdict: Verdict, persona: Persona) -> Verdict:
        """The deterministic last resort for a too-intense text: calm it and re-score."""
        softened = intensity.soften(verdict.original)
        score = intensity.score(softened)
        limit = verdict.thresholds.get("intensity", persona.intensity_cap)
        reasons = (*verdict.reasons, f"softened to intensity {score.score:.2f}")
        if score.score > limit:
            reasons = (*reasons, "still above the limit after softening")
        return replace(
            verdict,
            action="soften",
            final=softened,
            scores={**verdict.scores, "intensity_softened": score.score},
            reasons=reasons,
        )

    def replace_text(self, verdict: Verdict) -> Verdict:
        """The last resort for a blocked text: a fixed calm line instead."""
        return replace(verdict, action="replace", final=REPLACEMENT)

    def _ms(self, start: float) -> float:
        return (self._clock() - start) * 1000.0


def build_pipeline(config: SafetyConfig, paths: Paths, *, download: bool = False) -> SafetyPipeline:
    """The pipeline with the best classifier this machine has (may take seconds: Detoxify)."""
    return SafetyPipeline(config, load_classifier(config, paths, download=download))
