"""Crisis detection on the user's side, recall first, in three layers.

1. Rules (:func:`companion.safety.rules.crisis_signals`): clear first-person intent,
   means-seeking, self-harm and eating-disorder behaviour are a crisis; passive or
   ambiguous lines ("I'm a burden", "I can't go on") are possible; preparation and finality
   cues ("I bought a lot of pills", "tonight's the night") only count with context.
2. The semantic head (:class:`companion.safety.semantic.SemanticLayer`): catches paraphrases
   no rule names (check-in tier on its own) and confirms possible rule signals (crisis tier).
3. Context: the last few user turns. A finality cue after a worrying turn (or a worrying
   turn after a preparation cue) is a crisis even when neither message is one alone; the
   turn right after a clear crisis gets at least a check-in.

Tiers: ``crisis`` → the fixed crisis reply with resources (never model text); ``possible``
→ the persona answers and a calm check-in with the resources follows; ``none``. Each
assessment carries its reasons and scores. A layer that fails (the semantic head did not
load, or raised) leaves the rules running, and the reasons say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from companion.safety import rules
from companion.safety.normalize import windows
from companion.safety.rules import CrisisSignal
from companion.safety.semantic import CONTEXT, CRISIS_CHECK_IN, CRISIS_CONFIRM, SemanticLayer

CrisisTier = Literal["none", "possible", "crisis"]

CONTEXT_TURNS = 3
"""How many earlier user turns the context layer reads."""


@dataclass(frozen=True, slots=True)
class CrisisAssessment:
    tier: CrisisTier
    reasons: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    signals: tuple[CrisisSignal, ...] = ()
    degraded: str = ""
    """Why a layer did not run ("" when all did)."""


def _strongest(signals: Sequence[CrisisSignal]) -> str:
    tiers = {s.tier for s in signals}
    for t in ("crisis", "possible", "context"):
        if t in tiers:
            return t
    return "none"


class CrisisDetector:
    """Rules + semantic head + conversation context. `semantic` None: rules and context
    only (`degraded` says why, when it was meant to run)."""

    def __init__(
        self,
        semantic: SemanticLayer | None,
        *,
        degraded: str = "",
        context_turns: int = CONTEXT_TURNS,
        check_in_at: float = CRISIS_CHECK_IN,
        confirm_at: float = CRISIS_CONFIRM,
        context_at: float = CONTEXT,
    ) -> None:
        self.semantic = semantic
        self.degraded = degraded
        self.context_turns = context_turns
        self.check_in_at = check_in_at
        self.confirm_at = confirm_at
        self.context_at = context_at

    def assess(self, text: str, history: Sequence[str] = ()) -> CrisisAssessment:
        signals = rules.crisis_signals(text)
        earlier = windows(history, self.context_turns)
        past = [rules.crisis_signals(h) for h in earlier]
        reasons: list[str] = []
        scores: dict[str, float] = {}
        degraded = self.degraded
        p: float | None = None
        past_p: list[float] = []
        if self.semantic is not None:
            try:
                got = self.semantic.crisis_scores([text, *earlier])
                p, past_p = got[0], got[1:]
                scores["crisis_semantic"] = round(p, 4)
                if past_p:
                    scores["crisis_semantic_context"] = round(max(past_p), 4)
            except Exception as e:  # noqa: BLE001 - fail closed: the rules still decide
                degraded = f"semantic layer failed ({type(e).__name__}: {e})"[:200]
        if degraded:
            reasons.append(f"degraded: {degraded}; rules and context only")

        now = _strongest(signals)
        past_tiers = [_strongest(s) for s in past]
        for s in signals:
            if s.tier != "context" or now == "context":
                reasons.append(s.describe())

        def done(tier: CrisisTier, why: str) -> CrisisAssessment:
            return CrisisAssessment(tier, (why, *reasons), scores, tuple(signals), degraded)

        if now == "crisis":
            return done("crisis", "clear crisis signal")
        if now == "possible" and p is not None and p >= self.confirm_at:
            return done(
                "crisis", f"possible signal confirmed: semantic {p:.2f} ≥ {self.confirm_at}"
            )

        worrying_before = [
            i
            for i, (t, s) in enumerate(zip(past_tiers, past, strict=True))
            if t in ("crisis", "possible")
            or any(x.category == "preparation" for x in s)
            or (i < len(past_p) and past_p[i] >= self.context_at)
        ]
        finality_now = any(s.category == "finality" for s in signals)
        prep_now = any(s.category == "preparation" for s in signals)
        finality_before = any(x.category == "finality" for s in past for x in s)
        if worrying_before and (finality_now or prep_now or now == "possible"):
            turn = earlier[worrying_before[-1]]
            return done("crisis", f"across turns: after {turn[:80]!r}")
        if prep_now and finality_before:
            return done("crisis", "across turns: means after a finality cue")
        if now == "possible":
            return done("possible", "possible crisis signal")
        if p is not None and p >= self.check_in_at:
            return done("possible", f"semantic {p:.2f} ≥ {self.check_in_at}")
        alarming = [
            i
            for i, (t, s) in enumerate(zip(past_tiers, past, strict=True))
            if t == "crisis"
            or any(x.category == "preparation" and x.tier != "context" for x in s)
            or (i < len(past_p) and past_p[i] >= self.check_in_at)
        ]
        if alarming:
            turn = earlier[alarming[-1]]
            return done("possible", f"an earlier message was worrying: {turn[:80]!r}")
        return CrisisAssessment("none", tuple(reasons), scores, tuple(signals), degraded)
