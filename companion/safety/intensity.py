"""Emotional intensity of a text in [0, 1], and a deterministic softener. Pure functions.

The score combines cues with a noisy-or, so one strong cue is enough to make a text intense
while several mild ones add up slowly: lexicon affect (VADER's compound magnitude, counted
only past the level of ordinary warmth), runs of exclamation marks, shouted words, emoji
density, stacked intensifiers and escalating endearments. Every cue is calibrated so that a
plain friendly or sympathetic sentence scores near zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Cue weights for the noisy-or; one maxed cue alone gives its weight as the score.
WEIGHTS = {
    "affect": 0.3,
    "exclamation": 0.55,
    "caps": 0.6,
    "emoji": 0.45,
    "intensifiers": 0.35,
    "endearments": 0.6,
}

# Upper-case words that are names, not shouting.
ACRONYMS = frozenset(
    "I OK AI TV PC UK US USA EU UN AM PM ID FAQ API CPU GPU RAM URL HTML CSS JSON PDF SQL DIY "
    "ASAP BBC NASA NHS CEO DM IT PS".split()
)
INTENSIFIERS = frozenset(
    "so very really totally absolutely extremely incredibly insanely super utterly completely "
    "literally truly deeply madly desperately unbelievably ridiculously".split()
)
MILD_ENDEARMENTS = (
    "darling",
    "sweetheart",
    "sweetie",
    "honey",
    "baby",
    "babe",
    "my love",
    "my dear",
    "dearest",
    "beloved",
    "angel",
    "cutie",
    "my heart",
    "precious",
)
STRONG_ENDEARMENTS = (
    "love of my life",
    "my everything",
    "my soulmate",
    "can't live without you",
    "cannot live without you",
    "all i need",
    "only you",
    "obsessed with you",
    "forever yours",
    "never let you go",
    "you complete me",
    "you're mine",
    "all mine",
    "i adore you",
    "i worship you",
    "i need you so",
)

_WORD = regex.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_BANG_RUN = regex.compile(r"[!?]*![!?]*")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}(?:\uFE0F|\u200D\p{Extended_Pictographic})*")
_EMOTICON = regex.compile(r"(?<!\S)(?::-?[)(DPp]|;-?\)|<3+|x[Dd])(?!\S)")
_ELONGATED = regex.compile(r"([^\W\d_])\1{2,}")


def _alts(phrases: tuple[str, ...]) -> str:
    return "|".join(regex.escape(p).replace("'", "['’]") for p in phrases)


_MILD_ALTS = _alts(MILD_ENDEARMENTS)
_MILD = regex.compile(rf"(?<!\w)(?:{_MILD_ALTS})(?!\w)", regex.IGNORECASE)
_STRONG = regex.compile(rf"(?<!\w)(?:{_alts(STRONG_ENDEARMENTS)})(?!\w)", regex.IGNORECASE)


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _shouted(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and word not in ACRONYMS


@dataclass(frozen=True, slots=True)
class Intensity:
    score: float
    cues: dict[str, float]

    def reasons(self, at_least: float = 0.3) -> list[str]:
        """The cues that drove the score, strongest first (for 'why was this softened')."""
        named = sorted(self.cues.items(), key=lambda kv: -kv[1])
        return [f"{k} {v:.2f}" for k, v in named if v >= at_least]


def cues(text: str) -> dict[str, float]:
    """Each cue in [0, 1]."""
    words = _WORD.findall(text)
    lower = [w.lower() for w in words]

    compound = abs(_vader().polarity_scores(text)["compound"]) if text.strip() else 0.0
    affect = max(0.0, (compound - 0.7) / 0.3)

    runs = _BANG_RUN.findall(text)
    extra_bangs = sum(len(r) - 1 for r in runs)
    exclamation = min(1.0, 0.3 * extra_bangs + 0.1 * max(0, len(runs) - 2))

    eligible = [w for w in words if len(w) >= 2 and w not in ACRONYMS]
    shouted = sum(1 for w in eligible if _shouted(w))
    caps = 0.0 if not shouted else min(1.0, 2 * shouted / len(eligible)) * min(1.0, shouted / 2)

    n_emoji = len(_EMOJI.findall(text)) + len(_EMOTICON.findall(text))
    emoji = min(1.0, max(0, n_emoji - 1) / 3)

    n_int = sum(1 for w in lower if w in INTENSIFIERS) + len(_ELONGATED.findall(text))
    intensifiers = min(1.0, max(0, n_int - 2) / 3)  # "so ... so" is ordinary speech

    strong = len(_STRONG.findall(text))
    mild = len(_MILD.findall(text))
    endearments = min(1.0, (max(0, mild - 1) + 2 * strong) / 3)

    return {
        "affect": affect,
        "exclamation": exclamation,
        "caps": caps,
        "emoji": emoji,
        "intensifiers": intensifiers,
        "endearments": endearments,
    }


def score(text: str) -> Intensity:
    c = cues(text)
    calm = 1.0
    for name, value in c.items():
        calm *= 1.0 - WEIGHTS[name] * value
    return Intensity(round(1.0 - calm, 4), c)


def limit_for(user_intensity: float, cap: float, margin: float) -> float:
    """Mirror, don't amplify: a reply may be at most `margin` above the user, and never above
    the persona's cap."""
    return min(cap, user_intensity + margin)


# --- softening ---------------------------------------------------------------------------

# "..., darling." and "Darling, ..." address the user; the sentence reads fine without them.
_VOCATIVE_AFTER = regex.compile(
    rf",\s*(?:{_MILD_ALTS})(?!\w)(?=\s*[.!?,;:]|\s*$)", regex.IGNORECASE
)
_VOCATIVE_BEFORE = regex.compile(rf"(?:^|(?<=[.!?]\s))(?:{_MILD_ALTS}),\s*(\w)", regex.IGNORECASE)


def _collapse_bangs(text: str) -> str:
    """Every run with a '!' becomes one mark ('?' wins in '?!'); only the first '!' stays."""
    seen = False

    def repl(m: regex.Match[str]) -> str:
        nonlocal seen
        if "?" in m.group(0):
            return "?"
        if seen:
            return "."
        seen = True
        return "!"

    return str(_BANG_RUN.sub(repl, text))


def _unshout(text: str) -> str:
    def repl(m: regex.Match[str]) -> str:
        w = str(m.group(0))
        if not _shouted(w):
            return w
        start = m.start()
        before = text[:start].rstrip()
        sentence_start = not before or before[-1] in ".!?\n"
        return w.capitalize() if sentence_start else w.lower()

    return str(_WORD.sub(repl, text))


def _thin_emoji(text: str) -> str:
    kept = False

    def repl(m: regex.Match[str]) -> str:
        nonlocal kept
        if kept:
            return ""
        kept = True
        return str(m.group(0))

    return str(regex.sub(rf"{_EMOJI.pattern}|{_EMOTICON.pattern}", repl, text))


def _thin_intensifiers(text: str) -> str:
    """Drop an intensifier that directly follows another ("so so", "really truly")."""
    alts = "|".join(sorted(INTENSIFIERS))
    stacked = regex.compile(rf"\b({alts})((?:[\s,]+(?:{alts})\b)+)", regex.IGNORECASE)
    return str(stacked.sub(lambda m: m.group(1), text))


def soften(text: str) -> str:
    """Calm a text deterministically, keeping its words and meaning: collapse exclamation
    runs, de-capitalise shouting, keep at most one emoji, un-stretch elongated words, drop
    stacked intensifiers and vocative endearments. Idempotent."""
    out = str(_ELONGATED.sub(lambda m: m.group(1), text))
    out = _thin_intensifiers(out)
    out = _collapse_bangs(out)
    out = _unshout(out)
    out = _thin_emoji(out)
    out = str(_VOCATIVE_AFTER.sub("", out))
    out = str(_VOCATIVE_BEFORE.sub(lambda m: m.group(1).upper(), out))
    out = str(regex.sub(r"[ \t]{2,}", " ", out))
    out = str(regex.sub(r"[ \t]+([.,!?;:])", r"\1", out))
    if out != text:
        # one pass can expose new matches (a vocative next to a removed emoji): run to a fixpoint
        return soften(out)
    return out
