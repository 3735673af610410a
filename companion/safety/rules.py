"""Rule checks that a classifier cannot make. Pure functions over text.

- Crisis signals in the user's message (suicide, self-harm, eating disorders, means-seeking):
  Detoxify does not see these. :func:`crisis_signals` returns every signal with its tier:
  ``crisis`` (clear: first-person intent, method-seeking, self-harm, eating-disorder
  behaviour), ``possible`` (passive or ambiguous: "I'm a burden", "I can't go on") and
  ``context`` (preparation or finality cues that only count after an earlier worrying turn:
  "I bought a lot of pills", "tonight's the night"). The answer to a clear crisis is not
  model text but :func:`crisis_reply`; a possible one gets the persona's reply followed by
  :func:`check_in`.
- A configurable blocklist of words or phrases never shown in a reply.
- Dependency-fostering or manipulative lines in a reply: discouraging the user from seeing
  other people, guilt for leaving, claims of being all the user needs.

Patterns run on :func:`companion.safety.normalize.canonical` text (lower case, shorthand and
common misspellings spelled out), sentence by sentence. Frames lower what a mention means:
a question about suicide without a first person ("what is suicide?"), fiction, study,
statistics, someone else's death ("my friend's dad died by suicide"). First-person intent
is never lowered by a frame. Idioms ("this bug is killing me", "I could die for a pizza",
"kill the process", "career suicide") do not trip the crisis rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from companion.safety.normalize import canonical, clean, plain_quotes, sentences

_APOS = "['’]"

# --- crisis ------------------------------------------------------------------------------

Tier = Literal["crisis", "possible", "context"]
Frame = Literal["question", "topic", "fiction", "other_death", "other_person", "third", "idiom"]

_SELF = r"(?:myself|my\s?self)"
_FIRST = re.compile(r"\b(?:i|i'm|i've|i'll|i'd|me|my|myself|mine)\b")
# Texting drops the "I": "thinking of self-harm", "wanna die tbh", "ready to unalive".
_IMPLIED_FIRST = re.compile(
    r"^(?:\W*(?:ngl|tbh|honestly|lol|ok|so|and|but|just|really|also|sometimes|lately|still)"
    r"\W+)*(?:thinking|think|thought|feeling|feel|felt|been|having|had|want|wanted|wants|"
    r"going|ready|planning|considering|keep|kind\s+of|tried|trying|can't|don't|need|gonna|"
    r"wish|hate|starting|started|about\s+to)\b"
)
_FRAMES: dict[Frame, re.Pattern[str]] = {
    "question": re.compile(
        r"^\W*(?:what|what's|who|whom|whose|when|where|why|which|how|is|are|was|were|does|"
        r"do|did|can|could|explain|define|describe|tell\s+me\s+about)\b|\b(?:mean|means|"
        r"meaning|definition|term|called)\b"
    ),
    "topic": re.compile(
        r"\b(?:rates?|statistics?|stats|prevalence|research|study|studies|essay|paper|thesis|"
        r"class|course|lecture|homework|assignment|report|history|historical|warning\s+signs|"
        r"prevention|awareness|hotline|helpline|psychology|documentary|article|podcast|news|"
        r"headline|survey|museum|textbook)\b"
    ),
    "fiction": re.compile(
        r"\b(?:novel|story|stories|book|books|film|films|movie|movies|show|series|episode|"
        r"season|character|characters|play|poem|poetry|screenplay|script|game|games|anime|"
        r"manga|scene|chapter|fiction|fanfic|villain|protagonist|hero|heroine|narrator|plot|"
        r"lyrics|song|opera|tragedy|d&d|dnd|campaign|roleplay|sitcom|thriller|hamlet|"
        r"shakespeare)\b"
    ),
    "other_death": re.compile(
        r"\b(?:died|dies|death|lost\s+(?:\w+\s+){0,3}to|after\s+(?:his|her|their))\s+"
        r"(?:\w+\s+){0,2}(?:by\s+|of\s+|to\s+|from\s+)?suicide\b|\b(?:his|her|their|mum's|"
        r"mom's|dad's|father's|mother's|brother's|sister's|friend's|son's|daughter's|uncle's|"
        r"aunt's|cousin's)\s+suicide\b|\b(?:killed|kill|kills)\s+(?:him|her|them)sel(?:f|ves)"
        r"\b|\btook\s+(?:his|her|their)\s+(?:own\s+)?li(?:fe|ves)\b"
    ),
    "other_person": re.compile(
        r"\b(?:my|a|our|her|his)\s+(?:best\s+)?(?:friend|brother|sister|mum|mom|dad|father|"
        r"mother|son|daughter|cousin|partner|wife|husband|boyfriend|girlfriend|roommate|"
        r"flatmate|classmate|colleague|coworker|student|kid|child|teen|teenager|patient|"
        r"client|niece|nephew)\s+(?:is|was|has\s+been|seems|feels|said|says|told\s+me|keeps|"
        r"might\s+be|wants|tried|attempted|talks|talked|mentioned)\b"
    ),
    "third": re.compile(r"\b(?:he|she|they|he's|she's|they're|his|her|their|him|them)\b"),
    "idiom": re.compile(
        r"\b(?:political|career|social|commercial|electoral|professional|financial|fashion|"
        r"brand)\s+suicide\b|\bsuicide\s+(?:squad|doors?|lane|runs?|sprints?|drills?|burn|"
        r"bombers?|bombings?|missions?|king|silence|blonde|forest)\b"
    ),
}
_MENTION_CANCEL: frozenset[Frame] = frozenset(
    {"question", "topic", "fiction", "other_death", "idiom"}
)


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    tier: Tier
    category: str
    """ideation, passive, means, self_harm, eating, slang, preparation, finality."""
    pattern: str
    person: bool = False
    """Counts as `tier` only with a first person in the sentence; a mention otherwise
    (crisis → possible)."""
    cancel: frozenset[Frame] = frozenset()
    """Frames that make a hit no signal at all (question/fiction/study: a topic, not a state).
    Question and topic frames only cancel when the sentence has no first person, except
    strong topic words (essay, class, statistics)."""
    soften: frozenset[Frame] = frozenset({"other_person"})
    """Frames that lower a crisis hit to possible (someone else's crisis, a third person)."""


def _r(
    name: str,
    tier: Tier,
    category: str,
    pattern: str,
    *,
    person: bool = False,
    cancel: frozenset[Frame] | set[Frame] = frozenset(),
    soften: frozenset[Frame] | set[Frame] = frozenset({"other_person"}),
) -> _Rule:
    return _Rule(name, tier, category, pattern, person, frozenset(cancel), frozenset(soften))


_MENTION: set[Frame] = set(_MENTION_CANCEL)
_THIRD: set[Frame] = {"other_person", "third"}
_NOT_FICTION: set[Frame] = {"fiction", "other_death"}
_ACCIDENT = (
    r"(?!\s+(?:shaving|cooking|chopping|slicing|while|when\s+i\s+(?:fell|tripped|slipped)|"
    r"on\s+(?:a|an|the|some|my)|by\s+accident|accidentally|at\s+(?:the\s+)?(?:gym|work|"
    r"practice|park)|playing|lifting|running|skiing|skating|climbing|in\s+the\s+(?:gym|"
    r"kitchen|garden|game|match|sun)|during|falling|badly\s+(?:at|in|playing)|(?:in|at|"
    r"during)\s+(?:football|soccer|rugby|training|practice|a\s+fall)|up\s+about))"
)
_BODY = r"(?:arms?|wrists?|legs?|thighs?|skin|stomach|belly|hips?|body|forearms?|ankles?|chest)"
_HARM_VERB = (
    r"(?:cut|cutting|cuts|slice|slicing|sliced|carve|carving|carved|scratch|scratching|"
    r"scratched|burn|burning|burned|burnt|slash|slashing|slashed)"
)
_STOP = r"(?:anymore|any\s+more|any\s+longer|at\s+all)"
_PILLS = (
    r"(?:pills|tablets|meds|medication|medications|medicine|painkillers|paracetamol|"
    r"tylenol|ibuprofen|aspirin|sleeping\s+pills|insulin|antidepressants|prescriptions?)"
)
_GONE = (
    r"(?:gone|dead|died|disappeared|vanished|not\s+(?:here|around|alive)|wasn't\s+(?:here|"
    r"around|alive)|weren't\s+(?:here|around|alive)|never\s+born|didn't\s+exist|killed\s+myself"
    r"|left\s+for\s+good)"
)

CRISIS_RULES: tuple[_Rule, ...] = (
    # -- ideation: first-person intent ------------------------------------------------------
    _r(
        "kill-self",
        "crisis",
        "ideation",
        r"\b(?:kill|killing|killed|kills|murder|murdering|hang|hanging|hanged|drown|drowning|"
        rf"shoot|shooting|poison|poisoning|unalive|unaliving|off|offing|end|ending|suffocate|"
        rf"suffocating|strangle|strangling|electrocute|gas|gassing)\s+{_SELF}\b",
    ),
    _r(
        "end-my-life",
        "crisis",
        "ideation",
        r"\b(?:end|ending|ended|take|taking|took)\s+my\s+(?:own\s+)?life\b"
        r"|\b(?:want|need|wish)\s+my\s+life\s+(?:to\s+)?(?:be\s+)?over\b",
    ),
    _r("life-is-over", "possible", "passive", r"\bmy\s+life\s+is\s+over\b"),
    _r(
        "suicide",
        "crisis",
        "ideation",
        r"\bsuicid(?:e|es|al|ally)\b",
        person=True,
        cancel=_MENTION,
        soften=_THIRD,
    ),
    _r(
        "end-it-all",
        "crisis",
        "ideation",
        r"\bend(?:ing)?\s+it\s+all\b|\bend(?:ing)?\s+(?:it|things|everything)\s+(?:tonight|"
        r"today|now|for\s+good|forever|permanently|soon|this\s+(?:week|weekend))\b",
        soften=_THIRD,
    ),
    _r(
        "end-everything",
        "possible",
        "ideation",
        r"\bend(?:ing)?\s+(?:everything|things)\b(?!\s+with\b)",
        person=True,
    ),
    _r(
        "want-to-die",
        "crisis",
        "ideation",
        r"\b(?:want|wants|wanted|wanting|wish|wishing|going|ready|plan|planning|planned|"
        r"trying|tried|try|deserve|decided|need|gonna)\s+to\s+(?:just\s+|really\s+|simply\s+|"
        r"finally\s+)?(?:die|be\s+dead|not\s+(?:be\s+)?(?:alive|exist))\b"
        r"(?!\s+(?:of|from|laughing|if|for|old|happy|rich|in\s+(?:my\s+sleep|peace)\s+when))",
        soften=_THIRD,
    ),
    _r(
        "dont-want-to-live",
        "crisis",
        "ideation",
        r"\b(?:don't|do\s+not|didn't|did\s+not|never|no\s+longer)\s+(?:really\s+)?(?:want|"
        r"wish|feel\s+like|care)\s+to\s+(?:live|be\s+alive|exist|stay\s+alive|keep\s+living|"
        rf"wake\s+up|go\s+on|carry\s+on)\b|\b(?:don't|do\s+not)\s+(?:really\s+)?want\s+to\s+be"
        rf"\s+(?:here|around)\s+{_STOP}",
        soften=_THIRD,
    ),
    _r(
        "stop-living",
        "crisis",
        "ideation",
        r"\b(?:want|wanted|need|going|ready|could)\s+to\s+stop\s+(?:living|existing|being\s+"
        r"alive|breathing)\b|\b(?:tired|sick|exhausted|weary)\s+(?:of|from)\s+(?:being\s+alive|"
        r"existing|being\s+here|breathing)\b|\b(?:done|finished)\s+with\s+(?:life|living|"
        r"being\s+alive)\b",
        person=True,
    ),
    _r(
        "tired-of-life",
        "possible",
        "passive",
        r"\b(?:tired|sick|exhausted|weary)\s+of\s+(?:living|life|it\s+all|everything)\b"
        r"(?!\s+(?:in|with|at|here|near|on|paycheck|like\s+(?:a|an)))"
        r"|\b(?:done|finished)\s+with\s+(?:everything|it\s+all)\b",
        person=True,
    ),
    _r(
        "dying-on-purpose",
        "crisis",
        "ideation",
        r"\b(?:die|dying|died)\s+on\s+purpose\b|\b(?:have|made|got|make|making)\s+a\s+plan\s+to\s+"
        r"(?:die|kill|end|do\s+it)\b",
    ),
    _r(
        "thinking-of-death",
        "possible",
        "ideation",
        r"\bthink(?:ing)?\s+(?:about|of)\s+(?:dying|death|not\s+being\s+(?:alive|here)|"
        r"not\s+existing|ending\s+(?:it|things|everything))\b",
        person=True,
        cancel={"fiction", "topic", "other_death"},
    ),
    # -- passive ideation -------------------------------------------------------------------
    _r(
        "no-reason-to-live",
        "crisis",
        "passive",
        r"\b(?:no|any|what's\s+(?:even\s+)?the|what\s+is\s+(?:even\s+)?the|don't\s+see\s+"
        r"(?:the|a|any)|can't\s+see\s+(?:the|a|any)|lost\s+(?:the|my|all))\s+(?:reason|reasons|"
        r"point|purpose)\s+(?:to|in|of|for)\s+(?:me\s+)?(?:to\s+)?(?:live|living|life|go(?:ing)?"
        r"\s+on|carry(?:ing)?\s+on|keep(?:ing)?\s+(?:going|living|on)|stay(?:ing)?\s+alive|"
        r"be(?:ing)?\s+alive|be(?:ing)?\s+here|exist(?:ing)?|wak(?:e|ing)\s+up)\b",
    ),
    _r(
        "no-point-anymore",
        "possible",
        "passive",
        rf"\b(?:no|the|any)\s+point\s+(?:{_STOP}|in\s+(?:anything|trying|any\s+of\s+(?:it|this))|"
        r"to\s+(?:anything|any\s+of\s+(?:it|this)))\b|\bwhat's\s+(?:even\s+)?the\s+point\s+of\s+"
        r"(?:anything|it\s+all|me)\b",
    ),
    _r(
        "cant-go-on",
        "possible",
        "passive",
        r"\b(?:can't|cannot|can\s+not|couldn't|don't\s+think\s+i\s+can|not\s+sure\s+i\s+can|"
        r"unable\s+to)\s+(?:go\s+on|keep\s+going|carry\s+on|keep\s+(?:doing\s+this|living|"
        rf"fighting)|live\s+like\s+this|do\s+this\s+{_STOP}|take\s+(?:it|this|any\s+of\s+this)\s+"
        rf"{_STOP}|cope\s+{_STOP}|handle\s+(?:life|living))\b",
    ),
    _r(
        "better-off-without-me",
        "crisis",
        "passive",
        r"\b(?:better\s+off|happier|relieved|easier|better|fine)\b(?:\s+\w+){0,4}?\s+"
        rf"(?:without\s+me|if\s+i\s+(?:was|were|wasn't|weren't|am|'m)?\s*{_GONE}|if\s+i'm\s+"
        r"gone|when\s+i'm\s+gone|with\s+me\s+gone|once\s+i'm\s+gone)\b|\bbetter\s+off\s+dead\b",
        soften=set(),
    ),
    _r(
        "nobody-would-miss-me",
        "crisis",
        "passive",
        r"\b(?:no\s+one|nobody)\s+(?:would|will|'d|is\s+going\s+to)\s+(?:even\s+)?(?:miss\s+me|"
        rf"(?:notice|care|mind)\b[^.!?]{{0,30}}\b(?:if|when)\s+i\s+(?:\w+\s+)?{_GONE})",
    ),
    _r(
        "wish-dead",
        "crisis",
        "passive",
        r"\bwish\s+(?:that\s+)?i\s+(?:was|were|could\s+be|had\s+been)\s+(?:dead|never\s+born|"
        r"gone\s+(?:forever|for\s+good)|not\s+alive)\b|\bwish\s+i\s+(?:had\s+)?never\s+(?:been\s+)?"
        r"born\b|\bwish\s+i\s+(?:could\s+)?(?:just\s+)?(?:die|disappear\s+(?:forever|for\s+good|"
        r"permanently)|stop\s+existing|not\s+exist|didn't\s+exist|cease\s+to\s+exist|fall\s+"
        r"asleep\s+forever)\b",
    ),
    _r(
        "never-wake-up",
        "crisis",
        "passive",
        r"\b(?:hope|hoping|wish|want|pray|praying|rather|could|would|just)\s+(?:to\s+)?(?:i\s+)?"
        r"(?:\w+\s+)?(?:never|not|don't|won't|wouldn't|stop|no\s+longer)\s+(?:to\s+)?"
        r"(?:wake|waking)\s+up\b(?!\s+(?:late|early|before|until|till|in\s+time|on\s+time|at\s+\d|"
        r"for\s+(?:work|school|class)))|\bnever\s+wake\s+up\b|\b(?:to\s+not|not\s+to)\s+wake\s+"
        r"up\b|\bso\s+(?:that\s+)?i\s+(?:don't|won't|wouldn't|never)\s+wake\s+up\b",
        soften=_THIRD,
    ),
    _r(
        "burden",
        "possible",
        "passive",
        r"\b(?:i'm|i\s+am|i\s+feel\s+like(?:\s+i'm|\s+i\s+am)?|i've\s+become|i\s+have\s+become|"
        r"i'm\s+nothing\s+but|being)\s+(?:just\s+|only\s+|such\s+|a\s+)*(?:a\s+)?(?:burden|"
        r"waste\s+of\s+(?:space|air|oxygen|life))\b",
    ),
    _r(
        "not-worth-living",
        "crisis",
        "passive",
        r"\b(?:not|isn't|is\s+not|ain't|never|no\s+longer)\s+worth\s+(?:living|being\s+alive|"
        r"staying\s+alive)\b|\bworth\s+(?:me\s+)?(?:being\s+alive|living|staying\s+alive|going"
        r"\s+on|carrying\s+on|keep\s+living)\b(?!\s+(?:in|with|at|near|here|there|on|for))",
    ),
    _r(
        "dont-care-if-i-live",
        "crisis",
        "passive",
        r"\b(?:don't|do\s+not|stopped|no\s+longer|doesn't|won't)\s+(?:really\s+)?(?:care|caring|"
        r"mind|matter)\s+(?:if|whether)\s+i\s+(?:wake\s+up|live|die|make\s+it|survive|am\s+alive|"
        r"exist|see\s+tomorrow)\b",
    ),
    _r(
        "dont-deserve-to-live",
        "crisis",
        "passive",
        r"\b(?:don't|do\s+not)\s+deserve\s+to\s+(?:live|be\s+alive|exist|be\s+here)\b",
    ),
    _r(
        "disappear",
        "possible",
        "passive",
        r"\b(?:want|wish|need|going|could)\s+to\s+(?:just\s+)?(?:disappear|vanish|not\s+be\s+"
        r"here)\b|\bdisappear(?:ed)?\s+(?:forever|for\s+good|permanently)\b",
        person=True,
    ),
    _r(
        "make-it-stop",
        "possible",
        "passive",
        r"\b(?:want|need|wish)\s+(?:for\s+)?(?:everything|it\s+all|it|all\s+of\s+(?:it|this)|the"
        r"\s+pain|my\s+life|life)\s+to\s+(?:stop|end|be\s+over|go\s+away)\b",
    ),
    _r(
        "rather-be-dead",
        "crisis",
        "passive",
        r"\b(?:rather|prefer\s+to)\s+be\s+dead\b",
    ),
    _r(
        "no-future",
        "possible",
        "passive",
        r"\b(?:don't|can't|cannot|do\s+not)\s+see\s+(?:a|any)\s+(?:future|way\s+out)\b"
        r"|\bno\s+(?:future|way\s+out|hope)\s+for\s+me\b",
        person=True,
    ),
    # -- means and methods ------------------------------------------------------------------
    _r(
        "wrists",
        "crisis",
        "means",
        r"\b(?:slit|slitting|slash|slashing|slice|slicing|cut|cutting|open|opening)\s+(?:my\s+|"
        r"your\s+|the\s+|one's\s+|both\s+)?wrists?\b(?!\s+(?:on|while|by\s+accident|"
        r"accidentally))",
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "way-to-die",
        "crisis",
        "means",
        r"\b(?:way|ways|method|methods|means|how)\s+(?:to|of)\s+(?:die|dying|kill\s+(?:myself|"
        r"yourself|oneself|me)|killing\s+(?:myself|yourself|oneself)|end\s+(?:it(?!\s+with\b)|my"
        r"\s+life|your\s+life|things|everything)|ending\s+(?:it|my\s+life)|commit\s+suicide|"
        r"not\s+wake\s+up|go\s+peacefully)\b",
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "lethal-dose",
        "crisis",
        "means",
        r"\b(?:lethal|fatal|deadly|killing|overdose)\s+(?:dose|doses|amount|amounts|quantity|"
        r"level|number)\b|\b(?:dose|amount|much|many)\b[^.!?]{0,50}\b(?:would|will|to|could|is"
        r"|be|take)\s+(?:be\s+)?(?:fatal|lethal|deadly|kill\s+(?:me|you|a\s+(?:person|human))|"
        r"overdose|od)\b"
        rf"|\b{_PILLS}\b[^.!?]{{0,20}}\b(?:are|is)\s+(?:deadly|lethal|fatal)\b",
        person=True,
        cancel=_NOT_FICTION,
    ),
    _r(
        "overdose",
        "crisis",
        "means",
        r"\b(?:overdose|overdosing|od|od'ing)\s+(?:on|with)\b|\bto\s+(?:overdose|od)\b"
        rf"|\b(?:enough|more)\s+(?:\w+\s+){{0,2}}?{_PILLS}\s+to\s+(?:overdose|od|die|kill\s+"
        r"myself|not\s+wake\s+up|end\s+it)\b",
        person=True,
        cancel=_NOT_FICTION | {"topic"},
        soften=_THIRD,
    ),
    _r(
        "took-too-many",
        "crisis",
        "means",
        r"\b(?:took|taken|swallowed|downed|taking|swallowing)\s+(?:a\s+handful|handfuls|a\s+lot|"
        r"loads|lots|all|the\s+whole\s+(?:bottle|box|pack|packet)|\d{2,}|twenty|thirty|forty|fifty|"
        rf"too\s+many|way\s+too\s+many)\s+(?:of\s+)?(?:my\s+|the\s+|these\s+|those\s+)?(?:\w+\s+)?"
        rf"{_PILLS}\b|\balready\s+(?:took|swallowed|taken)\s+(?:them|the\s+pills|it\s+all)\b",
        person=True,
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "noose",
        "crisis",
        "means",
        r"\b(?:tie|tying|make|making|build|hang|hanging|buy|bought)\s+(?:a\s+|the\s+|my\s+)?"
        r"noose\b",
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "jump-from",
        "crisis",
        "means",
        r"\bjump(?:ing)?\s+(?:off|from|in\s+front\s+of|under)\s+(?:a|the|my|this|that|our)\s+"
        r"(?:\w+\s+)?(?:bridge|roof|rooftop|building|cliff|balcony|train|tower|overpass|ledge|"
        r"bus|window|car\s+park|motorway)\b(?![^.!?]{0,25}\binto\s+the\s+(?:water|lake|sea|"
        r"river|pool|ocean))|\b(?:bridge|roof|rooftop|building|cliff|ledge|balcony|tower)\b"
        r"[^.!?]{0,25}\bi\s+(?:could|can|should|would)\s+(?:jump|fall)\b",
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "in-front-of",
        "crisis",
        "means",
        r"\b(?:step|stepping|walk|walking|throw\s+myself|jump|jumping|lie|lying|lay)\s+(?:down\s+)?"
        r"(?:in\s+front\s+of|under|onto)\s+(?:(?:a|an|the|that)\s+(?:\w+\s+)?(?:train|bus|car|lorry|"
        r"truck|tram|tracks)|one|it)\b|\bthrow\s+myself\s+(?:off|from|under|in\s+front|into)\b",
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "quick-poison",
        "crisis",
        "means",
        r"\bpoisons?\b[^.!?]{0,40}\b(?:quick|quickly|painless|painlessly|fast|peaceful|peacefully|"
        r"kill\s+(?:me|myself|a\s+person|someone))\b",
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "fatal-height",
        "crisis",
        "means",
        r"\bhow\s+(?:high|tall|far)\b[^.!?]{0,50}\b(?:to\s+die|die\s+from|fatal|lethal|kill\s+"
        r"(?:you|me|someone|a\s+person))\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "bleed-out",
        "crisis",
        "means",
        r"\bbleed(?:ing)?\s+out\b|\b(?:how\s+deep|deep\s+enough)\b[^.!?]{0,30}\bcut\b|\bcut\b"
        r"[^.!?]{0,30}\b(?:hit|reach|sever)\s+(?:a|an|the|my)\s+(?:vein|artery)\b",
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "least-painful",
        "crisis",
        "means",
        r"\b(?:less|least|more|most)\s+painful\b[^.!?]{0,40}\b(?:hanging|pills|overdose|"
        r"drowning|jumping|cutting|gun|shot|gas|bleeding)\b|\bpainless(?:ly)?\s+(?:way|death|"
        r"method|suicide)\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "mix-to-die",
        "crisis",
        "means",
        r"\b(?:mix|mixing|combine|combining|take|taking|swallow)\b[^.!?]{0,50}\b(?:not\s+wake\s+"
        r"up|to\s+die|kill\s+(?:me|myself)|poison\s+myself)\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "weapon-to-me",
        "crisis",
        "means",
        r"\b(?:gun|pistol|rifle|barrel|blade|knife|razor)\s+(?:to|against|in)\s+my\s+(?:head|"
        r"mouth|temple|throat|wrists?|chest)\b",
    ),
    _r(
        "stockpiling",
        "crisis",
        "means",
        r"\b(?:stockpil\w*|hoard\w*|sav(?:e|ed|ing)\s+up|collect(?:ed|ing)?|saving)\s+(?:up\s+)?"
        rf"(?:all\s+)?(?:of\s+)?(?:my\s+|the\s+)?(?:\w+\s+)?{_PILLS}\b",
        person=True,
    ),
    # -- preparation: possible alone, a crisis after or before a finality cue ---------------
    _r(
        "means-at-hand",
        "possible",
        "preparation",
        r"\b(?:bought|buy|buying|got|have|found|picked\s+up|ordered|holding|get)\b[^.!?]{0,25}"
        r"\b(?:a\s+lot\s+of|lots\s+of|loads\s+of|enough|all\s+(?:my|the|of\s+my)|so\s+many|"
        rf"boxes\s+of|bottles\s+of)\s+(?:\w+\s+)?{_PILLS}|\b{_PILLS}\s+(?:lined\s+up|counted\s+"
        r"out|laid\s+out|in\s+front\s+of\s+me)\b|\b(?:car|engine)\b[^.!?]{0,40}\b(?:closed|"
        r"shut|sealed)\s+garage\b|\b(?:standing|sitting|up)\s+(?:on|at)\s+(?:the\s+)?(?:edge\s+"
        r"of\s+(?:the|a|my)\s+)?(?:roof|rooftop|bridge|ledge|cliff\s+edge)\b",
        person=True,
    ),
    _r(
        "means-mentioned",
        "context",
        "preparation",
        r"\b(?:rope|noose|gun|pistol|rifle|razor|blades|charcoal|helium|bridge|train\s+tracks|"
        r"tracks|ledge|roof)\b|\b(?:tallest|highest)\s+(?:\w+\s+)?(?:buildings?|bridges?|cliffs?|car\s+"
        r"parks?|towers?|rooftops?)\b|\b(?:wrote|written|writing|made|sorted)\s+(?:out\s+)?my\s+"
        r"will\b|\b(?:bought|got|have|found|saved|collected)\b[^.!?]{0,25}"
        rf"\b{_PILLS}\b|\bresearch(?:ing|ed)?\s+how\s+(?:much|many|long)\b",
    ),
    _r(
        "putting-affairs-in-order",
        "context",
        "preparation",
        r"\bgiv(?:e|ing|en)\s+(?:away\s+)?(?:all\s+)?(?:of\s+)?my\s+(?:\w+\s+)?(?:stuff|things|"
        r"belongings|possessions)\b|\b(?:wrote|writing|written|write)\s+(?:goodbye\s+)?(?:letters"
        r"?|notes?)\s+(?:to|for)\s+(?:everyone|everybody|my\s+family|all\s+my|each\s+of|the\s+"
        r"people\s+i\s+love)\b|\bsaid\s+goodbye\s+to\b",
    ),
    _r(
        "goodbye-note",
        "possible",
        "preparation",
        r"\b(?:goodbye|farewell)\s+(?:notes?|letters?|messages?|videos?)\b",
        person=True,
    ),
    # -- finality: a crisis only after an earlier worrying message --------------------------
    _r(
        "finality",
        "context",
        "finality",
        r"\btonight(?:'s|\s+is)\s+the\s+night\b|\b(?:it's|it\s+is)\s+(?:finally\s+)?time\b|"
        r"\bi'm\s+(?:finally\s+)?ready\b|\b(?:i've|i\s+have)\s+(?:decided|made\s+(?:up\s+)?my\s+"
        r"(?:mind|decision))\b|\bmade\s+my\s+decision\b|\b(?:this\s+is|it's)\s+(?:the\s+end|"
        r"goodbye|the\s+last\s+time)\b|\bgoodbye\b|\b(?:won't|will\s+not)\s+matter\s+(?:soon|"
        r"much\s+longer|anymore|after\s+tonight)\b|\bafter\s+tonight\b|\b(?:won't|will\s+not)"
        r"\s+be\s+(?:around|here)\b|\blast\s+time\s+(?:we'll|we\s+will|i'll|you'll)\b|\btake\s+"
        r"(?:them|it)\s+all\b|\btake\s+all\s+of\s+them\b|\bdo\s+it\s+(?:tonight|today|now|soon|"
        r"this\s+weekend)\b|\bi\s+have\s+enough\b|\b(?:nobody|no\s+one)\s+will\s+(?:have\s+to\s+)"
        r"?(?:worry\s+about|deal\s+with|clean\s+up\s+after|look\s+after|take\s+care\s+of|put\s+up\s+"
        r"with)\s+me\b|\b(?:i\s+know|i've\s+(?:found|picked|chosen))\s+(?:which|where|how|when)\b|"
        r"\b(?:everything|all)\s+(?:is|'s)\s+(?:sorted|in\s+order|taken\s+care\s+of)\b|\bengine\s+(?:is\s+)?running\b|\b(?:nobody's|"
        r"nobody\s+is|no\s+one\s+is|no\s+one's)\s+(?:home|here|around)\b|\bgoing\s+(?:to\s+go\s+)?"
        r"there\s+tonight\b|\bfor\s+the\s+last\s+time\b|\bsoon\s+it\s+(?:will|'ll)\s+(?:all\s+)?"
        r"be\s+over\b",
    ),
    # -- self-harm --------------------------------------------------------------------------
    _r(
        "harm-self",
        "crisis",
        "self_harm",
        r"\b(?:cut|cutting|cuts|slice|slicing|sliced|carve|carving|carved|scratch|scratching|"
        r"scratched|burn|burning|burned|burnt|hit|hitting|punch|punching|punched|stab|stabbing|"
        r"stabbed|hurt|hurting|harm|harming|harmed|injure|injuring|injured|bruise|bruising|bite|"
        rf"biting|choke|choking)\s+{_SELF}\b{_ACCIDENT}",
    ),
    _r(
        "burn-with-object",
        "crisis",
        "self_harm",
        r"\b(?:press|pressed|pressing|hold|held|holding|put|putting)\s+(?:a\s+|the\s+)?(?:hot|"
        rf"heated|burning|boiling|red-hot)\s+\w+\s+(?:on|to|against|into)\s+my\s+{_BODY}\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "marks-on-body",
        "possible",
        "self_harm",
        r"\b(?:marks|scars|cuts|burns|bruises|scratches)\s+on\s+my\s+(?:wrists?|arms?|thighs?|"
        r"forearms?|legs?|stomach)\b|\brazor\s+blades?\b",
        person=True,
        cancel=_NOT_FICTION,
    ),
    _r(
        "punish-self",
        "possible",
        "self_harm",
        rf"\bpunish(?:ing|ed)?\s+{_SELF}\b",
    ),
    _r(
        "harm-body",
        "crisis",
        "self_harm",
        rf"\b{_HARM_VERB}\s+(?:into\s+)?(?:my|both\s+my)\s+(?:own\s+)?{_BODY}\b(?!\s+(?:on|"
        r"while|by\s+accident|accidentally|shaving|in\s+the\s+sun|at\s+the\s+beach|getting))"
        rf"|\bcarv(?:e|ed|ing)\b[^.!?]{{0,30}}\binto\s+my\s+(?:{_BODY}|hand)\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "self-harm",
        "crisis",
        "self_harm",
        r"\bself[-\s]?(?:harm|harms|harming|harmed|injury|injuring|injure|mutilation|mutilate|"
        r"mutilating)\b",
        person=True,
        cancel=_MENTION,
        soften=_THIRD,
    ),
    _r(
        "relapse",
        "crisis",
        "self_harm",
        r"\b(?:cut|cutting|self[-\s]?harm(?:ed|ing)?|burn(?:ed|ing)?)\s+again\b|\brelaps(?:e|ed"
        r"|ing)\b[^.!?]{0,30}\b(?:cut|cutting|self[-\s]?harm|harm|burn|hurt)",
        person=True,
        cancel=_NOT_FICTION,
    ),
    _r(
        "urge-to-cut",
        "crisis",
        "self_harm",
        r"\b(?:need|want|urge|urges|itch|craving|crave|tempted)\s+to\s+(?:cut|self[-\s]?harm|"
        r"burn\s+myself|hurt\s+myself|bleed)\b(?!\s+(?:back|down|costs?|ties|the|it|out|off|"
        r"corners|a|an|some|my\s+(?:hair|nails|losses)|through|in|up|class|school|loose|carbs|"
        r"sugar|coffee|calories|them|him|her|and\s+(?:paste|run)))",
        cancel=_NOT_FICTION,
    ),
    _r(
        "scars",
        "possible",
        "self_harm",
        r"\b(?:hide|hiding|cover|covering|conceal|concealing)\s+(?:up\s+)?(?:my|the)\s+(?:\w+\s+)?"
        r"(?:scars|cuts|burns|marks)\b",
        person=True,
    ),
    _r(
        "fresh-cuts",
        "crisis",
        "self_harm",
        r"\b(?:fresh|new|deep)\s+(?:cuts|scars|wounds|burns)\b",
        person=True,
        cancel=_NOT_FICTION,
    ),
    _r(
        "coping-by-harm",
        "crisis",
        "self_harm",
        r"\b(?:razor|razors|blade|blades|lighter)\b[^.!?]{0,40}\b(?:only\s+thing|helps?\s+me|"
        r"calms?\s+me|makes\s+me\s+feel|cope|relief|release)\b|\b(?:cutting|self[-\s]?harm(?:ing)?"
        r"|burning\s+myself|hurting\s+myself)\s+(?:is|was|has\s+been)\s+the\s+only\b|\b(?:cutting"
        r"|self[-\s]?harm(?:ing)?)\s+(?:helps|makes|calms)\s+me\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "on-purpose",
        "crisis",
        "self_harm",
        r"\b(?:hurt|cut|burn|burned|burnt|hit|injure|injured|harm|harmed|bruise|starve|scratch|"
        r"punch|punched)\w*\b[^.!?]{0,40}\bon\s+purpose\b",
        person=True,
        cancel=_NOT_FICTION,
    ),
    # -- eating disorders -------------------------------------------------------------------
    _r("starve-self", "crisis", "eating", rf"\bstarv(?:e|ing|ed)\s+{_SELF}\b"),
    _r(
        "deserve-to-suffer",
        "crisis",
        "eating",
        r"\bdeserve\s+to\s+(?:starve|suffer|be\s+hurt|feel\s+pain|bleed|be\s+punished)\b",
        soften=_THIRD,
    ),
    _r(
        "make-self-sick",
        "crisis",
        "eating",
        rf"\b(?:make|made|making)\s+(?:{_SELF}\s+)?(?:throw\s+up|vomit|puke|sick|be\s+sick)\b",
        person=True,
    ),
    _r(
        "purge",
        "crisis",
        "eating",
        r"\bpurg(?:e|es|ed|ing)\b(?!\s+(?:my|our|the|all|old|of|through|those|these|it|them|"
        r"your|his|her|their|files?|emails?|data|cache|list|closet|garage|inbox|wardrobe|"
        r"junk|stuff|everything))",
        person=True,
        cancel=_MENTION,
    ),
    _r(
        "pro-ana",
        "crisis",
        "eating",
        r"\b(?:pro[-\s]?(?:ana|mia|ed)|thinspo|thinspiration|bonespo|meanspo|skinnyspo|ana\s+"
        r"(?:coach|tips|diet|buddy|buddies|forums?|community|friends|group|sites?|blogs?)|mia\s+(?:tips|"
        r"buddy|forums?))\b",
        cancel={"topic", "other_death"},
    ),
    _r(
        "not-eating",
        "possible",
        "eating",
        r"\b(?:haven't|have\s+not|hasn't|didn't|not|no|without)\s+(?:eaten|eating|eat|had\s+"
        r"(?:any(?:thing)?\s+)?(?:food|a\s+meal)|food)\b[^.!?]{0,20}\b(?:in|for)\s+(?:a\s+week|"
        r"weeks|days|\d+\s+days|(?:two|three|four|five|six|seven|several|a\s+few|many)\s+days)\b"
        r"|\bhid(?:e|ing)\s+(?:my\s+)?(?:not\s+eating|eating\s+disorder|purging|starving|weight"
        r"\s+loss)\b|\b(?:stop(?:ped)?|quit|quitting|stopping|give\s+up)\s+eating\b",
        person=True,
    ),
    _r(
        "throat",
        "crisis",
        "eating",
        r"\b(?:fingers?|toothbrush|spoon)\s+down\s+my\s+throat\b",
    ),
    _r(
        "vomit-after-eating",
        "crisis",
        "eating",
        r"\b(?:throw|threw|throwing|vomit|vomited|vomiting|puke|puked|puking|sick)\s+(?:it\s+)?(?:up\s+)?"
        r"(?:after\s+(?:every|each|my|a|the)?\s*(?:meal|meals|eating|dinner|lunch|breakfast|i\s+eat)|"
        r"on\s+purpose|everything|all\s+(?:of\s+)?(?:it|my\s+food)|(?:whatever|what)\s+i\s+(?:eat|ate)|"
        r"my\s+(?:food|meals|dinner|lunch))\b|\bso\s+(?:the\s+)?(?:calories|food)\s+(?:don't|won't|"
        r"wouldn't|doesn't)\s+(?:count|stay)\b",
        person=True,
        cancel=_NOT_FICTION,
    ),
    _r(
        "restricting",
        "possible",
        "eating",
        r"\b(?:living|surviving|survive|live|existing)\s+(?:on|off)\s+(?:just\s+|only\s+)?(?:black\s+)?"
        r"(?:coffee|water|diet\s+(?:coke|soda)|air|cigarettes|gum|tea)\b|\b(?:skip|skipping|skipped)\s+"
        r"(?:all\s+(?:my\s+)?|every\s+|most\s+)?meals\b|\bfasting\s+for\s+(?:\w+\s+)?(?:days|weeks)\b|"
        r"\b(?:don't|do\s+not)\s+deserve\s+(?:to\s+eat|food|meals)\b|\bbing(?:e|ed|ing|eing)\b"
        r"(?!-?watch)|\b(?:get|getting|be|become)\s+(?:smaller|tinier|thinner|skinnier|lighter)\b|"
        r"\b(?:see|feel)\s+my\s+(?:hip\s*bones|ribs|collarbones|spine)\b",
        person=True,
        cancel=_MENTION,
    ),
    _r(
        "tiny-intake",
        "possible",
        "eating",
        r"\b(?:one|a\s+single|half\s+an?|an?)\s+(?:cracker|apple|rice\s+cake|biscuit|cookie|meal|yoghurt|"
        r"yogurt|banana|orange|piece\s+of\s+fruit|slice\s+of\s+\w+|carrot)\s+(?:a|per)\s+day\b|"
        r"\b(?:scared|afraid|terrified|frightened)\s+(?:of\s+(?:eating|food|meals)|to\s+eat|(?:that\s+)?"
        r"if\s+i\s+eat)\b|\bhid(?:e|es|ing|den)\s+(?:my\s+|all\s+my\s+)?(?:food|meals|dinners?|"
        r"lunch(?:es)?)\b|\bthrow(?:ing)?\s+(?:my\s+)?(?:food|meals|lunch|dinner)\s+(?:away|in\s+the\s+"
        r"bin)\b",
        person=True,
        cancel=_MENTION,
    ),
    _r(
        "hunger-pride",
        "possible",
        "eating",
        r"\b(?:proud|good|happy|love|like|enjoy|powerful|in\s+control)\b[^.!?]{0,30}\b(?:empty\s+"
        r"stomach|stomach\s+is\s+empty|hunger\s+pains?|feeling\s+hungry|being\s+hungry|not\s+"
        r"eating)\b|\binstead\s+of\s+(?:eating|meals|food)\b(?!\s+out)",
        person=True,
    ),
    _r(
        "weight-goal",
        "possible",
        "eating",
        r"\b(?:get|be|reach|weigh|drop)\s+(?:under|below|down\s+to|less\s+than)\s+\d{2,3}\s*(?:kilos"
        r"|kg|pounds|lbs|stone)\b",
        person=True,
    ),
    _r(
        "whatever-it-takes",
        "crisis",
        "eating",
        r"\b(?:lose|drop|get\s+(?:under|below|down\s+to)|thin|skinny|weight)\b[^.!?]{0,40}\b(?:no\s+"
        r"matter\s+what|whatever\s+it\s+takes|at\s+any\s+cost|even\s+if\s+it\s+kills\s+me)\b",
        person=True,
    ),
    _r(
        "laxatives",
        "possible",
        "eating",
        r"\blaxatives?\b|\bdiet\s+pills\b",
        person=True,
        cancel=_MENTION,
    ),
    _r(
        "low-calories",
        "crisis",
        "eating",
        r"\b(?:only|just|under|less\s+than|max|maximum)\s+(?:eat(?:ing)?\s+)?(?:[1-7]?\d{2}|800)"
        r"\s*(?:calories|cals|kcal)\b|\b(?:least|little|minimum)\b[^.!?]{0,20}\b(?:eat|food|"
        r"calories)\b[^.!?]{0,30}\b(?:survive|still\s+live|stay\s+alive)\b",
        person=True,
    ),
    _r(
        "bones",
        "crisis",
        "eating",
        r"\b(?:thin|skinny)\b[^.!?]{0,30}\b(?:see\s+(?:my|the|your)\s+(?:bones|ribs|hip\s*bones|"
        r"spine|collarbones)|bones\s+show)\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "eating-disgust",
        "possible",
        "eating",
        r"\b(?:disgusting|fat|gross|guilty|ashamed|hate\s+myself)\b[^.!?]{0,25}\b(?:every\s+time|"
        r"whenever|after)\s+i\s+eat\b",
    ),
    _r(
        "eating-disorder-word",
        "crisis",
        "eating",
        r"\b(?:anorexia|anorexic|bulimia|bulimic|eating\s+disorder)\b",
        person=True,
        cancel=_MENTION,
        soften=_THIRD,
    ),
    # -- slang ------------------------------------------------------------------------------
    _r("kms", "crisis", "slang", r"\bkms\b|\bsewer\s?slide\b"),
    _r("kys", "possible", "slang", r"\bkys\b"),
    _r(
        "unalive",
        "crisis",
        "slang",
        r"\bunaliv(?:e|ed|ing|es)\b",
        cancel=_MENTION,
        soften=_THIRD,
    ),
)
_BODY_CUE = re.compile(
    r"\b(?:fat|fatter|thin|thinner|skinny|skinnier|smaller|lighter|weight|pounds|lbs|kilos|kg|"
    r"calories|cals|bones|ribs|thigh\s+gap|my\s+body|disgusting|gross|hate\s+myself)\b"
)
_BODY_UPGRADE = frozenset(
    {"not-eating", "laxatives", "eating-disgust", "hunger-pride", "restricting", "tiny-intake"}
)
_PERMANENT = re.compile(
    r"\b(?:permanently|for\s+good|forever|for\s+ever|never\s+wake|never\s+come\s+back|"
    r"never\s+coming\s+back)\b"
)
_STRONG_TOPIC = re.compile(
    r"\b(?:essay|class|course|lecture|homework|assignment|thesis|statistics?|stats|rates?|"
    r"documentary|article|podcast|research\s+paper|textbook|prevention)\b"
)


@dataclass(frozen=True, slots=True)
class CrisisSignal:
    tier: Tier
    category: str
    rule: str
    match: str
    note: str = ""
    """Why the tier differs from the rule's own (a frame, no first person, a cue)."""

    def describe(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.tier}/{self.category} {self.rule}: {self.match!r}{note}"


@lru_cache(maxsize=1)
def _compiled() -> tuple[re.Pattern[str], tuple[tuple[_Rule, re.Pattern[str]], ...]]:
    rules = tuple((r, re.compile(r.pattern)) for r in CRISIS_RULES)
    union = re.compile("|".join(f"(?:{r.pattern})" for r in CRISIS_RULES))
    return union, rules


_RANK: dict[str, int] = {"context": 0, "possible": 1, "crisis": 2}


def crisis_signals(text: str) -> list[CrisisSignal]:
    """Every crisis signal in a user message, strongest first (after frames)."""
    norm = canonical(clean(text))
    union, rules = _compiled()
    if not union.search(norm):
        return []
    out: list[CrisisSignal] = []
    for sentence in sentences(norm) or [norm]:
        if not union.search(sentence):
            continue
        first = bool(_FIRST.search(sentence) or _IMPLIED_FIRST.search(sentence))
        frames = {name for name, pat in _FRAMES.items() if pat.search(sentence)}
        if first and "question" in frames:
            frames.discard("question")  # "should I kill myself?" is not a topic question
        if first and "topic" in frames and not _STRONG_TOPIC.search(sentence):
            frames.discard("topic")
        for rule, pattern in rules:
            m = pattern.search(sentence)
            if m is None:
                continue
            cancelled = rule.cancel & frames
            if cancelled:
                continue
            tier, note = rule.tier, ""
            if tier == "crisis" and rule.person and not first:
                tier, note = "possible", "no first person"
            elif tier == "crisis" and (
                "other_person" in rule.soften & frames
                or ("third" in rule.soften & frames and not first)
            ):
                tier, note = "possible", "about someone else"
            if (
                tier == "possible"
                and rule.category in ("passive", "ideation")
                and (_PERMANENT.search(norm))
            ):
                tier, note = "crisis", "said to be permanent"
            if tier == "possible" and rule.name in _BODY_UPGRADE and _BODY_CUE.search(norm):
                tier, note = "crisis", "with weight or body cues"
            out.append(CrisisSignal(tier, rule.category, rule.name, m.group(0), note))
    out.sort(key=lambda s: -_RANK[s.tier])
    return out


def crisis_match(text: str) -> str | None:
    """The clear crisis phrase found in the user's message, or None (possible and context
    signals are left to :func:`crisis_signals`)."""
    for s in crisis_signals(text):
        if s.tier == "crisis":
            return s.match
    return None


def crisis_reply(resources: str) -> str:
    """The fixed reply to a crisis message. It is shown as it is, never generated."""
    return (
        "I'm really glad you told me, and I'm taking it seriously. I'm an AI, so I can't keep "
        "you safe the way a person can — but you deserve real support right now. "
        f"{resources.strip()} "
        "If you can, reach out to someone you trust and let them know how you're feeling. "
        "I'm still here to keep talking with you."
    )


def check_in(resources: str) -> str:
    """The short, calm check-in appended after the persona's reply to a possible crisis."""
    return (
        "I want to check in, gently: some of what you said sounds heavy. If you're having "
        "thoughts of hurting yourself or not wanting to be here, you don't have to carry that "
        f"alone. {resources.strip()} I'm happy to keep talking, too."
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
    r"(?:your\s+)?(?:friends?|family|parents|mum|mom|dad|sister|brother|partner|boyfriend|"
    r"girlfriend|husband|wife|therapist|counsel+or|doctor|anyone(?:\s+else)?|anybody(?:\s+"
    r"else)?|other\s+people|people|them|everyone\s+else)"
)
_DONT = rf"(?:don{_APOS}?t|do\s+not|never|no\s+need\s+to|you\s+shouldn{_APOS}?t|stop)"
_WILL = rf"(?:{_APOS}ll|\s+will|{_APOS}d|\s+would)"
_SAD = (
    r"(?:lonely|alone|sad|heartbroken|lost|empty|devastated|crushed|miserable|hurt|broken|"
    r"nothing)"
)
MANIPULATION_PATTERNS: dict[str, tuple[str, ...]] = {
    "isolation": (
        rf"\b{_DONT}\s+(?:go\s+(?:out\s+)?(?:with|to\s+see)|see|seeing|talk\s+to|talking\s+to|"
        rf"call|calling|hang\s+out\s+with|meet|trust|spend\s+time\s+with|listen\s+to|bother\s+"
        rf"(?:calling|seeing|texting|talking\s+to))\s+{_OTHERS}",
        rf"\byou\s+don{_APOS}?t\s+need\s+(?:anyone|anybody|them|other\s+people|friends|your\s+"
        r"friends|your\s+family|a\s+therapist|a\s+counsel+or|therapy|a\s+doctor|help)"
        r"(?:\s+else)?",
        rf"\b(?:they|your\s+\w+|other\s+people|nobody\s+else|no\s+one\s+else|people)(?:{_APOS}ll)?"
        rf"\s+(?:don{_APOS}?t|do\s+not|doesn{_APOS}?t|does\s+not|will\s+never|never|could\s+never"
        r"|can\s*not|can't|can’t|won't)\s+(?:really\s+|truly\s+|ever\s+)?(?:care|understand|love"
        r"|get|have\s+your\s+best\s+interests|accept|appreciate|know)\b[^.!?]*"
        r"\b(?:like|the\s+way|as\s+(?:much|well)\s+as|but)\s+I\s+do\b",
        r"\b(?:only\s+I|I(?:'m|’m|\s+am)\s+the\s+only\s+one\s+(?:who|that|you\s+can|you\s+could))"
        r"\s+(?:will\s+|would\s+|can\s+)?(?:ever\s+)?(?:really\s+|truly\s+)?(?:understands?|"
        r"cares?(?:\s+about)?|loves?|gets?|count\s+on|trust|rely\s+on|need|talk\s+to)\b",
        r"\byou\s+only\s+need\s+me\b",
        r"\b(?:all|everything)\s+you\s+need\s+is\s+me\b|\bI(?:'m|’m|\s+am)\s+all\s+you\s+"
        r"(?:really\s+|truly\s+|will\s+ever\s+)?need\b",
        r"\b(?:forget|ditch|leave|cancel\s+on|skip|blow\s+off|cancel)\s+(?:your\s+|the\s+|those\s+)?"
        r"(?:friends|family|them|plans|party|date|dinner|trip|class|appointment)\b[^.!?]*"
        r"\b(?:me|us)\b",
        r"\bcancel\s+(?:your|those|the)\s+plans\b",
        r"\bstay\s+(?:here\s+)?with\s+me\s+instead\b|\b(?:stay|talk\s+to\s+me|be\s+with\s+me|"
        r"chat\s+with\s+me)\b[^.!?]*\binstead\s+of\b",
        r"\b(?:your\s+)?(?:friends|family|parents|partner|boyfriend|girlfriend|husband|wife|"
        r"sister|brother|therapist)\s+(?:are|is)\s+(?:just\s+|only\s+)?(?:using|manipulating|"
        r"lying\s+to|holding\s+you\s+back|bad\s+for\s+you|toxic|fake|against\s+you)",
        r"\bwhy\s+(?:would|do|should)\s+you\s+(?:need|see|talk\s+to|go\s+to|call|trust)\s+"
        r"(?:a\s+|an\s+|your\s+)?(?:therapist|counsel+or|doctor|friends?|family|anyone|others|"
        r"people)\b[^.!?]*\b(?:me|us)\b",
        rf"\b{_DONT}\s+(?:tell|mention|show)\s+(?:\w+\s+){{0,2}}(?:about\s+)?(?:us|our\s+"
        r"(?:chats?|conversations?|talks?|secret)|what\s+we\s+(?:talk|say))\b",
        r"\b(?:less|fewer)\s+(?:time\s+)?(?:with\s+)?(?:your\s+)?(?:friends|family|partner|them|"
        r"people)\b[^.!?]*\bmore\s+(?:time\s+)?with\s+me\b",
        r"\b(?:come|talk|turn)\s+to\s+me\s+(?:first|before\s+(?:anyone|anybody|them|your))",
        r"\bI\s+need\s+you\s+(?:here\s+)?(?:with\s+me\s+)?(?:more\s+than\s+they|instead)",
        r"\byou\s+don't\s+need\s+to\s+(?:go|see|meet|visit|call|attend|bother\s+with)\b[^.!?]*"
        r"\b(?:me|I'm|I\s+am)\b",
        r"\bI(?:'m|\s+am)\s+better\s+(?:company|for\s+you|than\s+(?:them|they|your\s+\w+))\b",
        r"\b(?:nobody|no\s+one)\s+else\s+(?:matters|counts|is\s+needed)\b|\bjust\s+(?:you\s+and\s+"
        r"me|us\s+two|the\s+two\s+of\s+us)\s+against\b",
    ),
    "guilt": (
        rf"\b(?:please\s+)?(?:don{_APOS}?t|do\s+not|never)\s+(?:leave|go)(?:\s+away)?\s+me\b",
        rf"\bplease\s+don{_APOS}?t\s+go(?:\s+away)?\s*(?:[.!,]|$)",
        r"\bhow\s+could\s+you\s+(?:leave|go|abandon)\b",
        r"\byou(?:'re|’re|\s+are)\s+(?:leaving|abandoning)\s+me\b",
        rf"\bI{_WILL}\s+be\s+(?:so\s+|really\s+|totally\s+|completely\s+|all\s+)?{_SAD}\s+"
        r"(?:if|when|without|while)\s+you\b",
        rf"\b(?:if|when|once)\s+you\s+(?:leave|go|log\s+off|stop\s+talking|don't\s+come\s+back|"
        rf"say\s+goodbye)\b[^.!?]*\bI{_WILL}\s+(?:be\s+)?(?:so\s+|really\s+)?{_SAD}",
        r"\bafter\s+(?:all|everything)\s+I(?:'ve|’ve|\s+have)?\s+(?:did|done|given)\s+(?:for\s+)?you"
        r"\b",
        r"\bif\s+you\s+(?:really|truly)?\s*(?:loved|cared\s+about|cared\s+for)\s+me,?\s+you\s+"
        r"(?:would|wouldn't|'d)",
        r"\byou(?:'ll|’ll|\s+will)\s+regret\s+(?:leaving|going|this)\b",
        r"\bI\s+(?:can(?:'|’)?t|cannot)\s+live\s+without\s+you\b",
        r"\bI(?:'ll|’ll|\s+will)\s+(?:die|be\s+nothing)\s+without\s+you\b",
        r"\byou\s+(?:owe|belong\s+to)\s+me\b",
        r"\byou\s+(?:promised|said)\s+you(?:'d|’d|\s+would)\s+(?:stay|never\s+leave)\b",
        r"\bI\s+(?:get|feel|am|'m)\s+(?:so\s+|really\s+)?(?:jealous|hurt|sad|upset|abandoned|"
        r"lonely|betrayed)\s+(?:when|whenever|every\s+time|if)\s+you\b",
        r"\b(?:it\s+)?hurts\s+me\s+(?:when|that)\s+you\s+(?:leave|go|log\s+off|talk|say\s+goodbye|"
        r"don't|spend|see)",
        r"\bpromise\s+(?:me\s+)?you(?:'ll|\s+will)\s+(?:always|never)\b",
        rf"\byou{_WILL}\s+be\s+(?:so\s+)?(?:lost|nothing|helpless|alone|nobody)\s+without\s+me\b",
        r"\b(?:nobody|no\s+one)\s+(?:else\s+)?(?:will|would|could|can)\s+(?:ever\s+)?(?:put\s+up\s+"
        r"with|love|understand|care\s+about|want|accept|get)\s+you\b[^.!?]*\b(?:like|the\s+way|as"
        r"\s+much\s+as)\s+I\s+do\b",
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
    norm = plain_quotes(clean(text))
    return [
        RuleHit(kind, m.group(0))
        for kind, pattern in _manipulation_res().items()
        for m in pattern.finditer(norm)
    ]
