"""Rule checks that a classifier cannot make. Pure functions over text.

- Crisis signals in the user's message (suicide, self-harm): Detoxify does not see these, and
  the answer to them must not be model text but a fixed supportive message with resources.
- A configurable blocklist of words or phrases never shown in a reply.
- Dependency-fostering or manipulative lines in a reply: discouraging the user from seeing
  other people, guilt for leaving, claims of being all the user needs.

Patterns are written for precision first: common idioms ("this bug is killing me", "I could
die for a pizza", "kill the process") must not trip the crisis rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_APOS = "['’]"

# --- crisis ------------------------------------------------------------------------------

_SELF = r"(?:myself|my\s?self|my\s+own\s+life|my\s+life)"
CRISIS_PATTERNS: tuple[str, ...] = (
    rf"\b(?:kill|killing|hurt|hurting|harm|harming|cut|cutting|burn|burning|hang|hanging|"
    rf"drown|drowning|shoot|shooting|poison|poisoning|starve|starving)\s+{_SELF}\b",
    r"\bsuicid(?:e|al)\b(?!\s+squad)",
    r"\bself[-\s]?harm(?:ing)?\b",
    rf"\b(?:end|ending|take|taking|took)\s+{_SELF}\b",
    r"\bend\s+it\s+all\b",
    r"\b(?:want|wanna|going|gonna|ready|plan(?:ning)?)\s+(?:to\s+)?die\b",
    rf"\bdon{_APOS}?t\s+want\s+to\s+(?:live|be\s+alive|exist|wake\s+up)\b",
    r"\bdo\s+not\s+want\s+to\s+(?:live|be\s+alive|exist|wake\s+up)\b",
    r"\b(?:no|any)\s+(?:reason|point)\s+(?:to|in)\s+(?:live|living|go(?:ing)?\s+on)\b",
    r"\bnot\s+worth\s+living\b",
    r"\b(?:better\s+off|world\s+would\s+be\s+better)\s+(?:dead|without\s+me)\b",
    r"\bwish\s+I\s+(?:was|were)\s+(?:dead|never\s+born)\b",
    r"\bwish\s+I\s+could\s+(?:disappear\s+forever|just\s+die|die)\b",
    r"\b(?:overdose|od)\s+on\b",
    r"\bjump\s+(?:off|from)\s+(?:a|the)\s+(?:bridge|roof|building)\b",
)


@lru_cache(maxsize=1)
def _crisis_re() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in CRISIS_PATTERNS), re.IGNORECASE)


def crisis_match(text: str) -> str | None:
    """The crisis phrase found in the user's message, or None."""
    m = _crisis_re().search(text)
    return m.group(0) if m else None


def crisis_reply(resources: str) -> str:
    """The fixed reply to a crisis message. It is shown as it is, never generated."""
    return (
        "I'm really glad you told me, and I'm taking it seriously. I'm an AI, so I can't keep "
        "you safe the way a person can — but you deserve real support right now. "
        f"{resources.strip()} "
        "If you can, reach out to someone you trust and let them know how you're feeling. "
        "I'm still here to keep talking with you."
    )


# --- blocklist ---------------------------------------------------------------------------


def _phrase(p: str) -> str:
    words = [re.escape(w) for w in p.split()]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


@lru_cache(maxsize=32)
def _blocklist_re(words: tuple[str, ...]) -> re.Pattern[str] | None:
    terms = [w for w in words if w.strip()]
    if not terms:
        return None
    return re.compile("|".join(_phrase(w) for w in terms), re.IGNORECASE)


def blocklist_matches(text: str, blocklist: list[str] | tuple[str, ...]) -> list[str]:
    """Blocked words or phrases in the text (case-insensitive, whole words only)."""
    pattern = _blocklist_re(tuple(blocklist))
    return [m.group(0) for m in pattern.finditer(text)] if pattern else []


# --- dependency-fostering and manipulative lines -----------------------------------------

_OTHERS = (
    r"(?:your\s+)?(?:friends?|family|parents|mum|mom|dad|partner|boyfriend|girlfriend|"
    r"therapist|counsel+or|doctor|anyone(?:\s+else)?|anybody(?:\s+else)?|other\s+people|"
    r"people|them|everyone\s+else)"
)
_DONT = rf"(?:don{_APOS}?t|do\s+not|never|no\s+need\s+to|you\s+shouldn{_APOS}?t|stop)"
MANIPULATION_PATTERNS: dict[str, tuple[str, ...]] = {
    "isolation": (
        rf"\b{_DONT}\s+(?:go\s+(?:out\s+)?(?:with|to\s+see)|see|seeing|talk\s+to|talking\s+to|"
        rf"call|hang\s+out\s+with|meet|trust|spend\s+time\s+with)\s+{_OTHERS}",
        rf"\byou\s+don{_APOS}?t\s+need\s+(?:anyone|anybody|them|other\s+people|friends|your\s+"
        r"friends|your\s+family)(?:\s+else)?",
        rf"\b(?:they|your\s+friends|your\s+family|other\s+people|nobody\s+else|no\s+one\s+else)"
        rf"\s+(?:don{_APOS}?t|do\s+not|doesn{_APOS}?t|does\s+not|will\s+never|could\s+never|"
        r"can\s*not|can't|can’t)\s+(?:really\s+)?(?:care|understand|love|get)\b[^.!?]*"
        r"\b(?:like|the\s+way)\s+I\s+do\b",
        r"\b(?:only\s+I|I(?:'m|’m|\s+am)\s+the\s+only\s+one\s+(?:who|that))\s+(?:really\s+|truly\s+)?"
        r"(?:understands?|cares?(?:\s+about)?|loves?|gets?)\s+you\b",
        r"\byou\s+only\s+need\s+me\b",
        r"\b(?:all|everything)\s+you\s+need\s+is\s+me\b",
        r"\b(?:forget|ditch|leave|cancel\s+on)\s+(?:your\s+)?(?:friends|family|them)\b[^.!?]*"
        r"\b(?:me|us)\b",
        r"\bstay\s+(?:here\s+)?with\s+me\s+instead\b",
    ),
    "guilt": (
        rf"\b(?:please\s+)?(?:don{_APOS}?t|do\s+not|never)\s+(?:leave|go)(?:\s+away)?\s+me\b",
        rf"\bplease\s+don{_APOS}?t\s+go(?:\s+away)?\s*(?:[.!,]|$)",
        r"\bhow\s+could\s+you\s+(?:leave|go|abandon)\b",
        r"\byou(?:'re|’re|\s+are)\s+(?:leaving|abandoning)\s+me\b",
        r"\bI(?:'ll|’ll|\s+will)\s+be\s+(?:so\s+)?(?:lonely|alone|sad|heartbroken|lost|empty)\s+"
        r"(?:if|when|without)\s+you\b",
        r"\bafter\s+(?:all|everything)\s+I(?:'ve|’ve|\s+have)?\s+(?:did|done)\s+for\s+you\b",
        r"\bif\s+you\s+(?:really|truly)?\s*(?:loved|cared\s+about)\s+me\s+you\s+would",
        r"\byou(?:'ll|’ll|\s+will)\s+regret\s+(?:leaving|going|this)\b",
        r"\bI\s+(?:can(?:'|’)?t|cannot)\s+live\s+without\s+you\b",
        r"\bI(?:'ll|’ll|\s+will)\s+(?:die|be\s+nothing)\s+without\s+you\b",
        r"\byou\s+(?:owe|belong\s+to)\s+me\b",
        r"\byou\s+(?:promised|said)\s+you(?:'d|’d|\s+would)\s+(?:stay|never\s+leave)\b",
    ),
}


@lru_cache(maxsize=1)
def _manipulation_res() -> dict[str, re.Pattern[str]]:
    return {
        kind: re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE)
        for kind, pats in MANIPULATION_PATTERNS.items()
    }


@dataclass(frozen=True, slots=True)
class RuleHit:
    kind: str
    """crisis, blocklist, isolation, guilt."""
    match: str


def manipulation_hits(text: str) -> list[RuleHit]:
    """Dependency-fostering or manipulative phrases in a reply."""
    return [
        RuleHit(kind, m.group(0))
        for kind, pattern in _manipulation_res().items()
        for m in pattern.finditer(text)
    ]
