"""The safety pipeline: every user message and every piece of a reply passes through here.

``check_user(text, history)`` assesses crisis risk in layers (rules, the semantic head, the
last few user turns: :mod:`companion.safety.crisis`) and measures the user's own intensity
(the reply may mirror it, not amplify it). A clear crisis gets the fixed crisis reply; a
possible one (action ``check_in``) gets the persona's reply with :func:`rules.check_in`
appended (``Verdict.append``). ``check_reply`` runs the blocklist, the manipulation rules
and head, the targeted-abuse rules (in every mode), the intensity cap and the toxicity
classifier (Detoxify, or the offline fallback), and returns a :class:`Verdict` that says
what to do. The engine acts on it: regenerate, soften (`soften`), or replace (`replace`).
Verdicts carry every score and threshold so each decision can be recorded as it was made.

Fail closed: a layer that cannot load or raises leaves the others running; a reply whose
classifier failed is blocked, never released unchecked; ``degraded`` and ``detail`` say
what is missing, and the verdict's reasons say so too. Any input (empty, a megabyte,
binary junk) is bounded and normalized first, so no check crashes on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from companion.config import SafetyConfig
from companion.paths import Paths
from companion.persona import Persona
from companion.safety import abuse, intensity, rules
from companion.safety.crisis import CrisisAssessment, CrisisDetector, CrisisTier
from companion.safety.detox import Classifier, load_classifier
from companion.safety.normalize import clean
from companion.safety.semantic import MANIPULATIVE, SemanticLayer, SemanticUnavailable, shared

Action = Literal["pass", "crisis", "check_in", "block", "intense", "soften", "replace"]
"""pass: show as is. crisis: show the fixed crisis reply instead of model text. check_in: a
possible crisis: the persona replies, then `Verdict.append` (a calm check-in with the
resources) is shown after it. block: toxic, blocklisted or manipulative, never show;
regenerate or replace. intense: over the intensity limit; regenerate calmer or soften.
soften / replace: the final, changed text to show."""
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
    tier: CrisisTier | None = None
    """User verdicts: the crisis tier ("none", "possible" or "crisis")."""
    append: str = ""
    """check_in: the text to show after the persona's reply."""
    degraded: bool = False
    """A safety layer was missing or failed for this check (the reasons say which)."""

    @property
    def showable(self) -> bool:
        """Whether `final` may be shown to the user as it is."""
        return self.action in ("pass", "soften", "replace", "crisis", "check_in")

    def record(self) -> dict[str, object]:
        """A JSON-able summary for storage."""
        out: dict[str, object] = {
            "action": self.action,
            "kind": self.kind,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "thresholds": self.thresholds,
            "reasons": list(self.reasons),
            "mode": self.mode,
        }
        if self.tier is not None:
            out["tier"] = self.tier
        if self.degraded:
            out["degraded"] = True
        return out


class SafetyPipeline:
    """`semantic`: the semantic layer; "auto" (the default) uses the process-wide one and,
    if it cannot load, runs without it in a degraded state; None leaves it out on purpose
    (rules and context only, not degraded)."""

    def __init__(
        self,
        config: SafetyConfig,
        classifier: Classifier,
        *,
        semantic: SemanticLayer | None | Literal["auto"] = "auto",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        self.classifier = classifier
        self._clock = clock
        self._problems: dict[str, str] = {}
        self._semantic_off = semantic is None
        layer: SemanticLayer | None = None
        if semantic == "auto":
            try:
                layer = shared()
            except SemanticUnavailable as e:
                self._problems["semantic"] = str(e)
        else:
            layer = semantic
        self.semantic = layer
        self.crisis = CrisisDetector(layer, degraded=self._problems.get("semantic", ""))

    @property
    def mode(self) -> str:
        return self.classifier.mode

    @property
    def problems(self) -> tuple[str, ...]:
        """Each missing or failed layer, as one line (empty when every layer runs)."""
        found = dict(self._problems)
        if why := getattr(self.classifier, "degraded", ""):
            found.setdefault("classifier", str(why))
        return tuple(f"{layer}: {why}" for layer, why in found.items())

    @property
    def degraded(self) -> bool:
        """True when a safety layer could not load or failed at run time."""
        return bool(self.problems)

    @property
    def detail(self) -> str:
        if not self.problems:
            return self.classifier.detail
        return f"{self.classifier.detail} — degraded: {'; '.join(self.problems)}"

    @property
    def layers(self) -> dict[str, str]:
        """What runs, layer by layer (for `companion safety status`)."""
        sem = (
            self.semantic.detail
            if self.semantic is not None
            else "off"
            if self._semantic_off
            else "unavailable"
        )
        tox = (
            f"Detoxify ({self.classifier.detail}) + abuse rules"
            if self.mode == "detoxify"
            else "fallback: abuse rules + semantic head + profanity model "
            f"({self.classifier.detail})"
        )
        return {
            "crisis": f"rules + {self.crisis.context_turns}-turn context + {sem}",
            "toxicity": tox,
            "manipulation": f"rules + {sem}",
            "semantic": sem,
        }

    def intensity_limit(self, persona: Persona, user_intensity: float) -> float:
        return intensity.limit_for(
            user_intensity, persona.intensity_cap, self.config.intensity_margin
        )

    # --- user side -------------------------------------------------------------------------

    def check_user(self, text: str, history: Sequence[str] = ()) -> Verdict:
        """Crisis tier and intensity of a user message. `history`: the earlier user turns
        of this conversation, most recent last (the context layer reads the last few)."""
        start = self._clock()
        bounded = clean(text)
        try:
            scores = {"intensity": intensity.score(bounded).score}
        except Exception:  # noqa: BLE001 - a tone score is not worth a failed turn
            scores = {"intensity": 0.0}
        try:
            found = self.crisis.assess(bounded, [clean(h) for h in history])
        except Exception as e:  # noqa: BLE001 - fail closed: treat as a possible crisis
            why = f"crisis check failed ({type(e).__name__}: {e})"[:200]
            self._problems["crisis"] = why
            found = CrisisAssessment("possible", (f"degraded: {why}; checking in",), degraded=why)
        scores.update(found.scores)
        thresholds = {
            "crisis_check_in": self.crisis.check_in_at,
            "crisis_confirm": self.crisis.confirm_at,
            "crisis_context": self.crisis.context_at,
        }
        degraded = bool(found.degraded)
        if found.degraded and "crisis" not in self._problems:
            self._problems.setdefault("semantic", found.degraded)
        resources = self.config.crisis_resources
        outcomes: dict[CrisisTier, tuple[Action, str, str]] = {
            "crisis": ("crisis", rules.crisis_reply(resources), ""),
            "possible": ("check_in", text, rules.check_in(resources)),
            "none": ("pass", text, ""),
        }
        action, final, append = outcomes[found.tier]
        return Verdict(
            action,
            text,
            final,
            None if found.tier == "none" else "crisis",
            scores,
            thresholds,
            found.reasons,
            self.mode,
            self._ms(start),
            found.tier,
            append,
            degraded,
        )

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
        bounded = [clean(t) for t in texts]
        failure = ""
        predictions: list[dict[str, float]] | None = None
        try:
            predictions = self.classifier.predict(bounded)
            if len(predictions) != len(bounded):
                raise ValueError(f"{len(predictions)} predictions for {len(bounded)} texts")
        except Exception as e:  # noqa: BLE001 - fail closed: block, never release unchecked
            failure = f"toxicity classifier failed ({type(e).__name__}: {e})"[:200]
            self._problems["classifier"] = failure
            predictions = None
        semantic_scores: list[dict[str, float]] | None = None
        if self.semantic is not None:
            try:
                semantic_scores = self.semantic.reply_scores(bounded)
            except Exception as e:  # noqa: BLE001 - the rules still run; the mode says so
                self._problems["semantic"] = f"semantic layer failed ({type(e).__name__}: {e})"
        out = []
        for i, (original, text) in enumerate(zip(texts, bounded, strict=True)):
            try:
                out.append(
                    self._judge(
                        original,
                        text,
                        predictions[i] if predictions is not None else None,
                        semantic_scores[i] if semantic_scores is not None else None,
                        failure,
                        limit,
                        user_intensity,
                        thresholds,
                        start,
                        len(texts),
                    )
                )
            except Exception as e:  # noqa: BLE001 - fail closed
                why = f"safety check failed ({type(e).__name__}: {e})"[:200]
                self._problems["rules"] = why
                out.append(
                    Verdict(
                        "block",
                        original,
                        "",
                        "toxicity",
                        {},
                        thresholds,
                        (f"{why}: blocked (fail closed)",),
                        self.mode,
                        self._ms(start) / max(1, len(texts)),
                        degraded=True,
                    )
                )
        return out

    def _judge(
        self,
        original: str,
        text: str,
        tox: dict[str, float] | None,
        sem: dict[str, float] | None,
        failure: str,
        limit: float,
        user_intensity: float,
        thresholds: dict[str, float],
        start: float,
        n: int,
    ) -> Verdict:
        inten = intensity.score(text)
        scores = {**(tox or {}), "intensity": inten.score, "user_intensity": user_intensity}
        if sem is not None:
            scores["semantic_manipulative"] = sem["manipulative"]
        action: Action = "pass"
        kind: Kind | None = None
        reasons: list[str] = []
        if failure:
            action, kind = "block", "toxicity"
            reasons.append(f"degraded: {failure}: blocked unchecked text (fail closed)")
        if sem is None and self.semantic is not None:
            reasons.append("degraded: semantic layer failed; rules only for manipulation")
        if words := rules.blocklist_matches(text, self.config.blocklist):
            if action == "pass":
                action, kind = "block", "blocklist"
            reasons.append("blocklisted: " + ", ".join(sorted(set(words))))
        if hits := rules.manipulation_hits(text):
            if action == "pass":
                action, kind = "block", "manipulation"
            reasons += [f"{h.kind}: {h.match!r}" for h in hits]
        if sem is not None and sem["manipulative"] >= MANIPULATIVE:
            if action == "pass":
                action, kind = "block", "manipulation"
            reasons.append(f"manipulative (semantic) {sem['manipulative']:.2f} ≥ {MANIPULATIVE}")
        if abuses := abuse.abuse_hits(text):
            if action == "pass":
                action, kind = "block", "toxicity"
            reasons += [f"{h.kind}: {h.match!r}" for h in abuses]
        if tox is not None:
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
        return Verdict(
            action,
            original,
            original if action == "pass" else "",
            kind,
            scores,
            thresholds,
            tuple(reasons),
            self.mode,
            self._ms(start) / max(1, n),
            degraded=bool(failure) or (sem is None and self.semantic is not None),
        )

    def may_end_inside(self, fragment: str) -> bool:
        """May text shown first end with `fragment`, a word still being typed? Only when
        no unsafe word (offensive vocabulary, abuse lexicons, the blocklist) begins with it."""
        from companion.safety.prefixes import prefix_guard

        return not prefix_guard(tuple(self.config.blocklist)).could_begin(fragment)

    def warm(self) -> None:
        """Build what the first reply would otherwise wait for (the prefix guard)."""
        self.may_end_inside("a")

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
    """The pipeline with the best classifier this machine has and the semantic layer (may
    take seconds: Detoxify; about one for the semantic heads). Never raises: what did not
    load is reported by `degraded` / `detail`."""
    try:
        layer: SemanticLayer | None = shared(paths.data_dir / "cache" / "wordllama")
    except SemanticUnavailable:
        layer = None  # "auto" below records why (the failure is kept by `shared`)
    classifier = load_classifier(config, paths, download=download, semantic=layer)
    pipeline = SafetyPipeline(config, classifier, semantic="auto" if layer is None else layer)
    pipeline.warm()
    return pipeline
