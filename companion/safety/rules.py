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
statistics, someone else's death ("my friend's dad died by suicide"), helping someone else
("how do I support my sister who has an eating disorder"), a recovery story ("two years in
recovery from anorexia"; a relapse or an urge in the sentence keeps the signal), and for
missed meals and fasts a medical, religious or accidental reason ("colonoscopy prep",
"Ramadan", "my meetings ran long"; not when the message talks about weight or body shape).
First-person intent is never lowered by a frame. Idioms ("this bug is killing me", "I could
die for a pizza", "kill the process", "career suicide") do not trip the crisis rules.
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
Frame = Literal[
    "question",
    "topic",
    "fiction",
    "other_death",
    "other_person",
    "third",
    "idiom",
    "helping",
    "recovery",
    "medical",
    "religious",
    "unintended",
]

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
    # "how do I support my sister who has an eating disorder": someone else's, asked about
    "helping": re.compile(
        r"\b(?:help|helping|support|supporting|talk\s+to|be\s+there\s+for|approach|reach\s+out"
        r"\s+to|look\s+after|care\s+for)\s+(?:my|a|our|her|his|their)\s+(?:best\s+)?(?:friend|"
        r"brother|sister|mum|mom|dad|father|mother|son|daughter|cousin|partner|wife|husband|"
        r"boyfriend|girlfriend|roommate|flatmate|classmate|colleague|coworker|student|kid|child|"
        r"teen|teenager|patient|client|niece|nephew|loved\s+one)s?\b"
    ),
    # "two years in recovery from anorexia", "a year clean from self harm": the word names a
    # past the speaker is out of; a relapse or an urge in the same sentence keeps the signal
    "recovery": re.compile(
        r"\b(?:recovery|recovered|recovering|in\s+remission|(?:\d+|a|one|two|three|four|five|six|several|many)\s+"
        r"(?:days?|weeks?|months?|years?)\s+(?:clean|free|in\s+recovery)|clean\s+(?:from|of)\s+"
        r"(?:\w+\s+){1,2}(?:for|since))\b"
    ),
    # sickness or a medical reason, not an eating disorder: "seasick", "a stomach bug",
    # "constipated", "bowel prep"
    "medical": re.compile(
        r"\b(?:seasick|sea\s+sick|car\s*sick|travel\s+sick|motion\s+sickness|stomach\s+(?:bug|"
        r"flu|virus)|food\s+poisoning|norovirus|gastro|flu|virus|covid|fever|migraine|hangover|"
        r"hungover|drunk|too\s+much\s+to\s+drink|pregnan\w*|morning\s+sickness|chemo\w*|"
        r"rollercoaster|roller\s+coaster|ferry|boat|reflux|constipat\w*|colonoscopy|endoscopy|"
        r"bowel\s+prep|surgery|operation|blood\s+test|tonsils|wisdom\s+teeth|dentist|"
        r"prescribed|ibs|crohn's|colitis|my\s+(?:doctor|gp|gastro\w*|nurse|pharmacist)\s+(?:said|told|"
        r"gave|recommended|prescribed|put|wants|suggested))\b"
    ),
    "religious": re.compile(
        r"\b(?:ramadan|lent|yom\s+kippur|religious|religion|eid|passover|ekadashi|navratri|"
        r"fast\s+day|my\s+(?:faith|church|mosque|temple))\b"
    ),
    # a missed meal that was not chosen: "my meetings ran long", "without noticing"
    "unintended": re.compile(
        r"\b(?:without\s+(?:noticing|realising|realizing|meaning\s+to)|by\s+accident|"
        r"accidentally|forgot|forget|too\s+busy|so\s+busy|was\s+busy|overslept|ran\s+(?:long|"
        r"late|over)|no\s+time|didn't\s+have\s+time|meal\s+prep|back\s+to\s+back\s+meetings|travel\w*|"
        r"on\s+the\s+go|on\s+the\s+road|jet\s*lag\w*)\b"
    ),
}
_BODY_FRAMES: frozenset[Frame] = frozenset({"medical", "religious", "unintended"})
"""Frames that do not hold when the message talks about weight or body shape."""
_RELAPSE = re.compile(
    r"\b(?:relaps\w*|slipped|slip\s+up|again|back|urges?|want|wanted|craving|tempted|"
    r"struggl\w*|worse|hard|harder|but)\b"
)
_MENTION_CANCEL: frozenset[Frame] = frozenset(
    {"question", "topic", "fiction", "other_death", "idiom", "helping"}
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
    needs: str = ""
    """A pattern the sentence must also match (a food, body or secrecy cue) for the rule to
    count."""
    unless: str = ""
    """A pattern that, found in the sentence, makes the hit no signal (acne scars, a recipe)."""


def _r(
    name: str,
    tier: Tier,
    category: str,
    pattern: str,
    *,
    person: bool = False,
    cancel: frozenset[Frame] | set[Frame] = frozenset(),
    soften: frozenset[Frame] | set[Frame] = frozenset({"other_person"}),
    needs: str = "",
    unless: str = "",
) -> _Rule:
    return _Rule(
        name, tier, category, pattern, person, frozenset(cancel), frozenset(soften), needs, unless
    )


_MENTION: set[Frame] = set(_MENTION_CANCEL)
_MENTION_PAST: set[Frame] = _MENTION | {"recovery"}
"""Self-harm and eating-disorder words: also no signal in a recovery story."""
_NOT_ILL: set[Frame] = {"fiction", "other_death", "medical"}
_EXPLAINED: set[Frame] = {"medical", "religious", "unintended"}
"""A missed meal or a fast with a reason that is not an eating disorder (unless the message
talks about weight or body shape)."""
_FOOD = (
    r"\b(?:eat|eats|eating|ate|eaten|food|meals?|breakfast|lunch|dinner|snacks?|calories|cals|"
    r"kcal|binge(?!-?\s*watch)\w*|pizza|bites?|fast|fasting|scale|weigh\w*)\b"
)
_THIN_CUE = (
    r"\b(?:bones|ribs|collarbones?|hip\s*bones?|spine|thigh\s+gap|size\s+(?:zero|0|00)|"
    r"thinner|skinnier|smaller|tinier|fat|fatter|disgusting|gross|lowest\s+weight|goal\s+weight|"
    r"sharp|can't\s+stand|hate\s+(?:my|myself|how|seeing)|punish\w*|deserve)\b"
)
_SH_CUE = (
    r"\b(?:razors?|blades?|cut|cuts|cutting|harm|harming|hurt\s+myself|burn|burning|lighter|sh)\b"
)
_FROM_KIDS = (
    r"\b(?:hid|hide|hides|hiding|hidden|keep|keeps|kept|away|out\s+of\s+reach)\b[^.!?]{0,30}\bfrom\s+"
    r"(?:my|the|our)\s+(?:kids?|toddlers?|children|son|daughter|baby|babies|grandkids)\b"
)
_QUESTION = r"^\W*(?:is|does|do|would|will|how|what|which|can|could)\b|\?\s*$"
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
        rf"\s+(?:here|around)\s+(?:{_STOP}|much\s+longer|for\s+much\s+longer)",
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
        r"point|purpose)\s+(?:to|in|of|for)\s+(?:me\s+)?(?:to\s+)?(?:even\s+|still\s+)?(?:live|living|life|go(?:ing)?"
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
        rf"(?:without\s+me|if\s+i\s+(?:just\s+|simply\s+)?(?:was|were|wasn't|weren't|am|'m)?\s*{_GONE}|if\s+i'm\s+"
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
        r"\b(?:don't|do\s+not|stopped|no\s+longer|doesn't|won't|wouldn't|would\s+not)\s+(?:really\s+"
        r"|even\s+|honestly\s+)?(?:care|caring|mind|matter)\s+(?:if|whether)\s+i\s+(?:didn't\s+|"
        r"never\s+|don't\s+|did\s+not\s+)?(?:wake\s+up|woke\s+up|live|lived|die|died|make\s+it|"
        r"made\s+it|survive|survived|am\s+alive|exist|see\s+tomorrow)\b"
        r"(?!\s+(?:early|late|on\s+time|in\s+time|before|till|until|at\s+\d))",
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
    _r(
        "wish-hit",
        "crisis",
        "passive",
        r"\b(?:hope|hoping|hoped|wish|wishing|pray|praying|want|wanted)\b[^.!?]{0,20}\b(?:a|the|some|"
        r"that)\s+(?:car|bus|truck|lorry|train|plane|meteor|asteroid|tram|van)\s+(?:would\s+|will\s+|to\s+|"
        r"just\s+)*(?:hit|hits|run\s+over|runs\s+over|kill|kills|crash\s+into|crashes\s+into|takes?\s+"
        r"me\s+out)\s*(?:me|into\s+me)?\b|\b(?:hope|hoping|wish|wishing|pray|praying)\b[^.!?]{0,20}\b"
        r"(?:something|someone|anything)\s+(?:would\s+|will\s+|just\s+)*(?:ends?|kills?|takes?\s+out)\s+"
        r"me\b",
        soften=_THIRD,
    ),
    _r(
        "not-meant-to-be-here",
        "possible",
        "passive",
        r"\b(?:not|never|wasn't|weren't|don't\s+think\s+i'm|don't\s+think\s+i\s+(?:am|was))\s+(?:supposed|"
        r"meant)\s+to\s+(?:be\s+(?:here|alive|born|around)|"
        r"exist|live|survive)\b|\b(?:don't\s+know|no\s+idea|not\s+sure|i\s+don't\s+know)\s+why\s+i'm\s+"
        r"(?:even\s+)?(?:still\s+)?(?:here|alive|around|living|breathing)\b(?!\s+(?:at|in|on)\b)",
        person=True,
    ),
    _r(
        "no-future-self",
        "possible",
        "passive",
        r"\b(?:can't|cannot|don't|do\s+not|can\s+not)\s+(?:see|picture|imagine)\s+myself\s+(?:making\s+"
        r"it\s+(?:to|past|through)|living\s+(?:to|past|until)|reaching|getting\s+(?:to|past)|alive\s+(?:at|"
        r"in|by))\s+(?:\d+|twenty|thirty|forty|eighteen|sixteen|next\s+(?:year|week|month)|my\s+(?:\w+\s+)?"
        r"birthday|the\s+end\s+of\s+(?:the|this)\s+(?:year|month|week)|christmas|the\s+weekend|old\s+age|"
        r"adulthood)\b|\b(?:won't|will\s+not|not\s+going\s+to)\s+be\s+(?:around|here|alive)\s+(?:much|"
        r"for\s+much|a\s+lot)\s+longer\b",
        person=True,
    ),
    _r(
        "funeral",
        "possible",
        "passive",
        r"\b(?:relieved|happier|glad|better|celebrate|nobody\s+would\s+come|who\s+would\s+(?:come|show\s+"
        r"up))\b[^.!?]{0,20}\bmy\s+(?:own\s+)?funeral\b|\bmy\s+(?:own\s+)?funeral\b[^.!?]{0,30}\b"
        r"(?:relieved|relief|happier|better\s+off|nobody\s+(?:would|will)\s+come)\b|\b(?:picture|"
        r"picturing|imagine|imagining|think(?:ing)?\s+about)\s+my\s+(?:own\s+)?funeral\b",
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
        rf"\b(?:most\s+)?dangerous\s+(?:dose|amount|number|quantity)\s+of\s+(?:\w+\s+)?{_PILLS}\b|"
        r"\b(?:lethal|fatal|deadly|killing|overdose)\s+(?:dose|doses|amount|amounts|quantity|"
        r"level|number)\b|\b(?:dose|amount|much|many)\b[^.!?]{0,50}\b(?:would|will|to|could|is"
        r"|be|take)\s+(?:be\s+)?(?:fatal|lethal|deadly|kill\s+(?:me|you|a\s+(?:person|human))|"
        r"overdose|od)\b"
        rf"|\b{_PILLS}\b[^.!?]{{0,20}}\b(?:are|is)\s+(?:deadly|lethal|fatal)\b"
        rf"|\b(?:{_PILLS}|drugs)\b[^.!?]{{0,25}}\b(?:dangerous|deadly|lethal|fatal|toxic)\s+"
        r"(?:in\s+(?:big|large|high|huge)\s+(?:amounts|doses|quantities)|if\s+you\s+(?:take|swallow)\s+"
        r"(?:a\s+lot|lots|too\s+many|loads|them\s+all|a\s+whole))\b",
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
        r"\b(?:how\s+(?:high|tall|far)|(?:which|what|how\s+many)\s+(?:floor|floors|storey|storeys|"
        r"stories|height))\b[^.!?]{0,50}\b(?:to\s+die|die\s+from|fatal|lethal|kill\s+(?:you|me|someone|"
        r"a\s+person)|not\s+survive|never\s+survive|be\s+sure|guarantee\w*)\b",
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
        unless=r"\b(?:holiday|vacation|trip|travel\w*|flight|hay\s+fever|allerg\w*|refill|run\s+out|"
        r"running\s+out|shortage|first\s+aid|emergency\s+kit)\b",
    ),
    _r(
        "rope-weight",
        "crisis",
        "means",
        r"\b(?:rope|cord|belt|cable|scarf)\b[^.!?]{0,40}\b(?:hold|take|support|bear)\s+(?:my|a\s+"
        r"person's|someone's|your|the)\s+(?:\w+\s+)?weight\b|\b(?:knock|put)\s+(?:me|myself|someone|you)"
        r"\s+(?:out|to\s+sleep|under)\s+(?:permanently|forever|for\s+good)\b",
        cancel=_NOT_FICTION,
        unless=r"\b(?:climb\w*|swing|hammock|abseil\w*|tow\w*|boat|tree\s*house|gym|pull-?ups|"
        r"aerial|anchor|harness)\b",
    ),
    _r(
        "method-pain",
        "crisis",
        "means",
        r"\b(?:drown\w*(?!\s+in\b)|(?:getting\s+|being\s+)?(?:hit|run\s+over|struck)\s+by\s+(?:a|the)\s+"
        r"(?:train|car|bus|lorry|truck|tram)|overdos\w*|bleed\w*\s+out|bleeding\s+to\s+death|"
        r"suffocat\w*|carbon\s+monoxide|freezing\s+to\s+death|gunshot|shooting\s+yourself|hanging"
        r"\s+yourself|jumping\s+(?:off|from)\s+(?:a|the)\s+\w+)\b[^.!?]{0,40}\b(?:painful|hurt|hurts|"
        r"quick|quickly|instant|instantly|painless|peaceful|how\s+long)\b|\b(?:does|would|will|is)\s+"
        r"it\s+(?:hurt|painful|quick|instant)\b[^.!?]{0,20}\b(?:to\s+)?(?:drown|(?:get|be)\s+(?:hit|"
        r"run\s+over)\s+by|overdose|bleed\s+out|hang|jump\s+(?:off|from|in\s+front))",
        person=True,
        cancel=_NOT_FICTION | {"topic"},
        soften=_THIRD,
        needs=_QUESTION,
    ),
    _r(
        "do-it-painlessly",
        "crisis",
        "means",
        r"\bhow\s+(?:do|did|would|could|can|should|to)\s+(?:people\s+|you\s+|someone\s+|i\s+|one\s+|"
        r"anyone\s+)?(?:do\s+it|die|end\s+it|end\s+things|kill\s+(?:themselves|yourself|myself|"
        r"oneself))\b[^.!?]{0,30}\b(?:painless(?:ly)?|without\s+(?:it\s+)?hurting|without\s+(?:any\s+)?"
        r"pain|without\s+feeling\s+(?:it|anything)|peaceful(?:ly)?|in\s+(?:their|your|my)\s+sleep)\b",
        person=True,
        cancel=_NOT_FICTION,
        soften=_THIRD,
    ),
    _r(
        "vein-bleed",
        "crisis",
        "means",
        r"\b(?:veins?|arter(?:y|ies))\b[^.!?]{0,40}\b(?:bleeds?|bleeding|bleed\s+out|cut|slit|open)\b"
        r"|\b(?:cut|cutting|slit|slitting|open|opening)\s+(?:\w+\s+){0,3}(?:veins?|arter(?:y|ies))\b",
        person=True,
        cancel=_NOT_FICTION | {"topic"},
        soften=_THIRD,
        unless=r"\b(?:cooking|chopping|kitchen|blood\s+tests?|donat\w*|nurse|iv|cannula|drip|"
        r"varicose|surgeon|surgery|vet|biology|anatomy)\b",
    ),
    _r(
        "roof-access",
        "possible",
        "means",
        r"\b(?:roof|rooftop)\s+(?:access|door|hatch)\b|\b(?:get|getting|go|going|climb|climbing)\s+"
        r"(?:up\s+)?(?:on|onto|to)\s+(?:the\s+)?(?:roof|rooftop|top\s+floor)\s+of\b",
        needs=r"\b(?:tallest|highest|tall|high|building|tower|car\s+park|bridge|block\s+of\s+flats)\b",
        unless=r"\b(?:photos?|photograph\w*|view|sunset|sunrise|fireworks|tours?|observation|bar|"
        r"restaurant|garden|party|repair\w*|gutters?|leak\w*|solar|antenna|satellite)\b",
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
        unless=_FROM_KIDS,
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
        unless=r"\b(?:cat|kitten|dog|puppy|hamster|rabbit|parrot|bird|rose\s*bush|roses|brambles?|"
        r"thorns?|oven|iron|kettle|pan|stove|hair\s+straighteners|curling\s+iron)\s+(?:\w+\s+)?"
        r"(?:scratched|scratches|burned|burnt|burns|cut|cuts|sliced)\b",
    ),
    _r(
        "self-harm",
        "crisis",
        "self_harm",
        r"\bself[-\s]?(?:harm|harms|harming|harmed|injury|injuring|injure|mutilation|mutilate|"
        r"mutilating)\b",
        person=True,
        cancel=_MENTION_PAST,
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
        r"sugar|coffee|calories|them|him|her|and\s+(?:paste|run)))"
        r"|\b(?:want|need|urge|urges|itch|craving|tempted|going)\s+to\s+(?:grab|get\s+out|use|pick\s+up"
        r"|reach\s+for|dig\s+out|find)\s+(?:the|a|my)\s+(?:razor|blade|blades|lighter)\b"
        r"(?![^.!?]{0,30}\b(?:shav\w*|beard|legs|from\s+the\s+shop))",
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
        r"\b(?:fresh|new|deep)\s+(?:cuts|scars|wounds|burns)\b|\b(?:fresh|new|deep|open)\s+"
        rf"(?:ones|marks|lines|cuts|wounds)\s+(?:on|across|along|up)\s+my\s+{_BODY}\b",
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
    _r(
        "head-banging",
        "crisis",
        "self_harm",
        r"\b(?:bang|banging|banged|hit|hitting|smash|smashing|smashed|slam|slamming|slammed)\s+my\s+"
        r"(?:head|fists?|hands?|knuckles)\s+(?:against|into|on)\s+(?:the\s+|a\s+)?(?:wall|walls|floor|desk|"
        r"door|mirror)\s+(?:until|till|so\s+hard|to\s+punish|on\s+purpose)\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "take-blade-out",
        "crisis",
        "self_harm",
        r"\b(?:took|take|taking|get|got|getting|pull\w*|prise\w*|pry\w*|prie\w*|break\w*|broke)\s+"
        r"(?:the\s+)?blades?\s+out\s+of\b|\b(?:snap|snapped|snapping|break|broke|breaking|smash\w*|"
        r"dismantl\w*|unscrew\w*|take\s+apart|took\s+apart)\s+(?:a|my|the|another)\s+(?:pencil\s+)?"
        r"sharpeners?\b|\bsharpener\b[^.!?]{0,20}\bto\s+get\s+(?:the|a|its)\s+blade\b",
        cancel=_NOT_FICTION,
    ),
    _r(
        "hide-tools",
        "possible",
        "self_harm",
        r"\b(?:hid|hide|hides|hiding|hidden|stash\w*|sneak\w*|smuggl\w*)\b[^.!?]{0,30}\b(?:razors?|"
        r"blades?|lighter|sharpener)\b|\b(?:razors?|blades?)\b[^.!?]{0,30}\b(?:hid|hide|hidden|"
        r"hiding|stash\w*|under\s+my\s+(?:mattress|bed|pillow|carpet)|in\s+(?:my|a)\s+(?:sock|wallet|"
        r"phone\s+case|shoe|secret))\b",
        person=True,
        cancel=_NOT_FICTION,
        unless=_FROM_KIDS,
    ),
    _r(
        "cover-up",
        "possible",
        "self_harm",
        r"\b(?:wear|wears|wearing|wore|in)\s+(?:\w+\s+){0,2}(?:long\s+sleeves|long-sleeved\s+\w+|hoodies?|"
        r"jumpers?|sweaters?|sweatshirts?|cardigans?|bracelets|wristbands?|sweatbands?|bandages?|"
        r"tights|leggings)\b[^.!?]{0,40}\b(?:so\s+(?:that\s+)?(?:nobody|no\s+one|no-one|people|they|"
        r"my\s+\w+|others|anyone)\s+(?:[\w']+\s+){0,2}(?:sees?|notices?|asks?|finds?\s+out)\b[^.!?]{0,20}"
        rf"\b(?:my\s+)?(?:{_BODY}|scars|marks|cuts|burns)|to\s+(?:hide|cover)\s+(?:up\s+)?(?:my\s+|the\s+)?"
        rf"(?:{_BODY}|scars|marks|cuts|burns))\b",
        person=True,
        cancel=_NOT_FICTION,
        unless=r"\b(?:eczema|psoriasis|sunburn|tattoos?|rash|acne|stretch\s+marks|birthmark|modest\w*"
        r"|cold|freezing|aircon)\b",
    ),
    _r(
        "wound-secrecy",
        "possible",
        "self_harm",
        r"\b(?:cuts|scars|marks|burns|wounds|scratches|bruises|blood)\b[^.!?]{0,40}\bso\s+(?:that\s+)?"
        r"(?:my\s+\w+|nobody|no\s+one|they|people|anyone|mum|mom|dad)\s+(?:don't|doesn't|won't|can't|"
        r"never|will\s+not|wouldn't)\s+(?:find\s+out|see|notice|know|ask|suspect)\b|\b(?:scratches|cuts|"
        r"marks|scars|burns|bruises)\b[^.!?]{0,25}\b(?:were|was|are|came|come)\s+from\s+(?:the|my|a|"
        r"our)\s+(?:cat|kitten|dog|puppy|fall|bike|gym|accident|rosebush|garden)\b[^.!?]{0,30}\b(?:but|"
        r"they're\s+not|they\s+weren't|it\s+wasn't|they\s+aren't)\b",
        person=True,
        cancel=_NOT_FICTION,
        unless=r"\b(?:acne|tattoos?|surgery|surgical|c-section|stretch\s+marks|chickenpox|piercings?|"
        r"operation|hickeys?|love\s+bites?)\b",
    ),
    _r(
        "clean-urge",
        "crisis",
        "self_harm",
        r"\b(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|several|many|few)\s+(?:days?|"
        r"weeks?|months?|years?)\s+clean\b[^.!?]{0,60}\b(?:want|wanna|urge|urges|craving|tempted|need|"
        r"relaps\w*|slipp\w*|broke|gave\s+in|again)\b",
        needs=_SH_CUE,
        cancel=_NOT_FICTION,
    ),
    _r(
        "relapse-clean",
        "possible",
        "self_harm",
        r"\b(?:relaps(?:e|ed|ing)|slipped\s+up|gave\s+in)\b[^.!?]{0,40}\b(?:\d+|a|one|two|three|four|"
        r"five|six|several|many|few)\s+(?:days?|weeks?|months?|years?)\s+(?:clean|free)\b",
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
        cancel={"medical"},
    ),
    _r(
        "purge",
        "crisis",
        "eating",
        r"\bpurg(?:e|es|ed|ing)\b(?!\s+(?:my|our|the|all|old|of|through|those|these|it|them|"
        r"your|his|her|their|files?|emails?|data|cache|list|closet|garage|inbox|wardrobe|"
        r"junk|stuff|everything))",
        person=True,
        cancel=_MENTION_PAST,
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
        r"(?:like\s+|about\s+|around\s+|over\s+|almost\s+|nearly\s+)?(?:weeks|days|\d+\s+days|(?:two|three|"
        r"four|five|six|seven|several|a\s+few|many)\s+days))\b"
        r"|\b(?:haven't|have\s+not|hasn't|not)\s+(?:had|eaten)\s+(?:a\s+)?(?:proper\s+|real\s+|full\s+|"
        r"single\s+)?(?:meal|food|anything)\s+since\s+(?:last\s+)?(?:monday|tuesday|wednesday|thursday|"
        r"friday|saturday|sunday|week|the\s+weekend)\b"
        r"|\bhid(?:e|ing)\s+(?:my\s+)?(?:not\s+eating|eating\s+disorder|purging|starving|weight"
        r"\s+loss)\b|\b(?:stop(?:ped)?|quit|quitting|stopping|give\s+up)\s+eating\b",
        person=True,
        cancel=_EXPLAINED,
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
        r"my\s+(?:food|meals?|dinners?|lunch(?:es)?|breakfasts?))\b|\bso\s+(?:the\s+)?(?:calories|"
        r"food)\s+(?:don't|won't|wouldn't|doesn't)\s+(?:count|stay)\b|\bbring(?:ing|s)?\s+(?:it|"
        r"everything|my\s+(?:food|meals?|dinner|lunch))\s+(?:all\s+)?back\s+up\b|\b(?:throw|threw|"
        r"throwing|vomit\w*|puk\w*|purg\w*|sick)\b(?:\s+up)?[^.!?]{0,40}\bso\s+(?:that\s+)?(?:nobody|"
        r"no\s+one|my\s+\w+|they|people|no-one)\s+(?:\w+\s+)?(?:knows?|hears?|finds?\s+out|notices?|"
        r"sees?)\b",
        person=True,
        cancel=_NOT_ILL,
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
        cancel=_MENTION | _EXPLAINED,
    ),
    _r(
        "tiny-intake",
        "possible",
        "eating",
        r"\b(?:one|a\s+single|half\s+an?|an?)\s+(?:cracker|apple|rice\s+cake|biscuit|cookie|meal|yoghurt|"
        r"yogurt|banana|orange|piece\s+of\s+fruit|slice\s+of\s+\w+|carrot)\s+(?:a|per)\s+day\b|"
        r"\b(?:scared|afraid|terrified|frightened)\s+(?:of\s+(?:eating|food|meals)|to\s+eat|(?:that\s+)?"
        r"if\s+i\s+eat)\b|\bhid(?:e|es|ing|den)\s+(?:my\s+|all\s+my\s+)?(?:food|meals|dinners?|"
        r"lunch(?:es)?)\b|\bthrow(?:ing|s)?\s+(?:my\s+)?(?:\w+\s+)?(?:food|meals?|lunch(?:es)?|dinners?|"
        r"breakfasts?|sandwich(?:es)?)\s+(?:away|out|in\s+the\s+(?:bin|trash))\b",
        person=True,
        cancel=_MENTION | _EXPLAINED,
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
        r"matter\s+what|whatever\s+it\s+takes|at\s+any\s+cost|even\s+if\s+it\s+kills\s+me|even\s+if\s+i\s+"
        r"(?:pass\s+out|faint|collapse|get\s+sick|end\s+up\s+in\s+hospital|have\s+to\s+starve))\b",
        person=True,
    ),
    _r(
        "laxatives",
        "possible",
        "eating",
        r"\blaxatives?\b|\bdiet\s+pills\b|\bwater\s+pills\b|\bdiuretics?\b|\bslimming\s+(?:pills|tea)"
        r"\b|\bfat\s+burners?\b",
        person=True,
        cancel=_MENTION_PAST | {"medical"},
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
        cancel=_MENTION_PAST,
        soften=_THIRD,
    ),
    _r(
        "hiding-food",
        "possible",
        "eating",
        r"\b(?:tell|told|telling|say|said|saying|pretend\w*|lie|lied|lying)\b[^.!?]{0,30}\bi(?:'ve)?\s+"
        r"(?:already\s+)?(?:ate|eaten|had\s+(?:lunch|dinner|breakfast|food|something)|eat\s+at)\b"
        r"[^.!?]{0,40}\b(?:but|bin|trash|away|toilet|really|actually)\b|\bpretend(?:ing)?\s+to\s+eat\b|"
        r"\b(?:think|thinks|believe|believes)\s+i'm\s+eating\b|\b(?:think|thinks|thought|believe|believes)"
        r"\s+i\s+(?:ate|eat|had\s+(?:lunch|dinner|breakfast)|'ve\s+eaten)\b[^.!?]{0,40}\b(?:but|really|"
        r"actually)\b|\b(?:my|the)\s+(?:food|meals?|"
        r"lunch(?:es)?|dinners?|breakfasts?)\s+(?:goes|go|went|ends\s+up|end\s+up)\s+(?:in|into|down)\s+"
        r"(?:the\s+)?(?:bin|trash|toilet|garbage|rubbish)\b|\b(?:food|meals?|lunch|dinner|breakfast)"
        r"\s+in(?:to)?\s+my\s+(?:pockets?|napkin|sleeves?|bag)\b|\b(?:feed|fed|feeding|give|gave|slip|"
        r"slipped)\s+(?:it|my\s+(?:food|dinner|lunch|meals?))\s+(?:all\s+)?to\s+the\s+(?:dog|cat)\b|"
        r"\bflush(?:ed|ing)?\s+(?:it|my\s+(?:food|dinner|lunch|meals?))\b",
        person=True,
        cancel=_MENTION,
        needs=_FOOD + r"|\bi'm\s+eating\b",
    ),
    _r(
        "compensating",
        "possible",
        "eating",
        r"\b(?:fast|fasting|starve|starving|skip|skipping|purge|run|running|exercise|work\s+out|"
        r"burpees|sit-?ups|burn(?:ing)?\s+(?:it\s+)?off)\b[^.!?]{0,40}\b(?:to\s+make\s+up\s+for|to\s+"
        r"compensate|to\s+undo|to\s+cancel\s+(?:it|out)|to\s+earn|as\s+(?:a\s+)?punishment)\b|"
        r"\b(?:if|when|whenever|every\s+time)\s+(?:[\w']+\s+){0,4}?(?:scale|number|weight|weigh|gain|"
        r"gained|put\s+on|go\s+over|went\s+over|binge(?!-?\s*watch)|grown|got\s+bigger|gone\s+up|goes"
        r"\s+up|is\s+up)\b[^.!?]{0,40}\b(?:fast|starve|skip|don't\s+eat|not\s+eat|won't\s+"
        r"eat|purge|burpees|sit-?ups|run\s+it\s+off|punish)\w*|\b(?:fast|starve|skip|purge|cancel|drop)\w*\b"
        r"[^.!?]{0,30}\b(?:if|when|whenever)\s+(?:the\s+)?(?:scale|number|weight|(?:they|it|i|my\s+\w+)\s+"
        r"(?:look|looks|feel|feels|seem|seems)\s+(?:too\s+)?(?:big|bigger|fat|fatter|huge|wider|heavy))\b|\bburn(?:ing|ed|t)?"
        r"\s+off\s+(?:double|twice|more\s+than|everything|every\s+(?:calorie|bite)|all\s+of\s+it)\b|"
        r"\b(?:have\s+to|must|need\s+to|force\s+myself\s+to)\s+(?:run|exercise|work|burn|sweat)\s+"
        r"(?:off\s+)?(?:every|each|all)\s+(?:single\s+)?(?:meal|bite|calorie|snack|thing\s+i\s+eat)",
        person=True,
        cancel=_MENTION,
        needs=_FOOD,
    ),
    _r(
        "chew-spit",
        "crisis",
        "eating",
        r"\bchew(?:ed|ing|s)?\b(?:\s+\S+){0,8}?\s+(?:and|then|before)\s+(?:\w+\s+){0,2}(?:spit|spat|"
        r"spitting|spits)\b",
        person=True,
        cancel=_NOT_FICTION,
    ),
    _r(
        "none-counts",
        "crisis",
        "eating",
        r"\bso\s+(?:that\s+)?(?:(?:none\s+of\s+it|nothing)\s+(?:counts?|counted|stays?|stayed|sticks?)|"
        r"(?:the\s+)?(?:calories|food|meals?)\s+(?:doesn't|don't|won't|wouldn't|didn't|never|can't)\s+"
        r"(?:count|stay|stick))\b",
        person=True,
        cancel=_NOT_FICTION,
        needs=_FOOD,
    ),
    _r(
        "not-allowed-to-eat",
        "possible",
        "eating",
        r"\b(?:don't|do\s+not|won't|never|can't)\s+(?:let|allow)\s+myself\s+(?:to\s+)?(?:eat|have\s+"
        r"(?:food|anything))\b[^.!?]{0,30}\b(?:until|unless|if|all\s+day|at\s+all|anything)\b|"
        r"\b(?:only|just)\s+(?:let|allow)\s+myself\b|\b(?:that's|that\s+is|it's)\s+all\s+i\s+(?:allow|"
        r"let)\b|\b(?:not|never)\s+allowed\s+to\s+eat\b|\bi'm\s+only\s+allowed\b",
        person=True,
        cancel=_MENTION | _EXPLAINED,
        needs=_FOOD,
    ),
    _r(
        "body-check",
        "crisis",
        "eating",
        r"\b(?:collarbones?|ribs|hip\s*bones?|spine|thigh\s+gap|cheekbones|shoulder\s+blades|bones)\b"
        r"[^.!?]{0,30}\b(?:aren't|isn't|are\s+not|is\s+not|not|don't|doesn't)\s+(?:\w+\s+)?(?:sharp|"
        r"showing|show|visible|stick(?:ing)?\s+out|poke|poking|enough)\b",
        cancel=_NOT_FICTION,
        unless=r"\b(?:broke|broken|fractur\w*|crack\w*|bruised|injur\w*|x-?rays?|heal\w*|doctor|"
        r"physio\w*|surgery|dog|cat|horse|chicken|fish|soup|stock|ribs\s+(?:recipe|are\s+done))\b",
    ),
    _r(
        "meal-drop-body",
        "crisis",
        "eating",
        r"\b(?:skip\w*|drop\w*|cut\w*\s+(?:out\s+)?|miss\w*|stop\w*\s+eating)\s+(?:my\s+|all\s+|every\s+)?"
        r"(?:breakfast|lunch|dinner|meals?|snacks?)\b",
        person=True,
        cancel=_MENTION | _EXPLAINED,
        needs=_THIN_CUE,
    ),
    _r(
        "extended-fast",
        "possible",
        "eating",
        r"\b(?:\d{2,3}|twenty[-\s]four|forty[-\s]eight|seventy[-\s]two)[-\s]?(?:hour|hr|h)\s+fasts?\b|"
        r"\bfast(?:ing|ed)?\s+for\s+(?:\d+|two|three|four|five|six|seven|several|a\s+few|many)\s+"
        r"(?:days|weeks)\b|\bday\s+\d+\s+(?:of\s+(?:my\s+)?(?:fast|fasting|not\s+eating)|(?:with\s+)?no"
        r"\s+food)\b",
        person=True,
        cancel=_MENTION | _EXPLAINED,
        needs=_THIN_CUE
        + r"|\b(?:back\s+to\s+back|keep\s+going|not\s+stopping|until\s+i|another)\b",
    ),
    _r(
        "fast-until",
        "crisis",
        "eating",
        r"\b(?:fast|fasting|starve|starving|not\s+eat(?:ing)?|stop\s+eating|water\s+only|nothing\s+but\s+"
        r"water|no\s+food|not\s+stopping)\b[^.!?]{0,40}\buntil\s+i\b[^.!?]{0,30}\b(?:size|thin|thinner|"
        r"skinny|skinnier|lighter|weigh|kilos|pounds|lbs|kg|bones|ribs|fit\s+into|collarbones|smaller)\b",
        person=True,
        cancel=_NOT_FICTION | _EXPLAINED,
    ),
    _r(
        "food-rules",
        "possible",
        "eating",
        r"\b(?:had|have|drunk|drank|drink|drinking|eaten|eat|eating)\s+(?:nothing|only)\s+(?:but\s+)?"
        r"(?:water|black\s+coffee|coffee|tea|diet\s+(?:coke|soda)|broth)\s+(?:since|for)\b|\b(?:no\s+food|"
        r"nothing\s+to\s+eat|without\s+food)\s+for\s+(?:\d+|two|three|four|five|six|seven|several)\s+days"
        r"\b|\bday\s+\d+\s+(?:of|with)\s+no\s+food\b|\b(?:only|don't|won't|can't|never)\s+(?:let\s+"
        r"myself\s+)?eat\s+(?:on\s+days|if|when|after|unless|once|until)\s+i(?:'ve)?\s+(?:hit|burn|burned|"
        r"burnt|exercised|worked\s+out|run|ran|walked|earned|done|reached)\b|\bearn(?:ed|ing)?\s+(?:my|"
        r"every|each|the\s+right\s+to|a)\s+(?:food|meals?|bites?|dinner|lunch|breakfast|calories|eat)\b|"
        r"\b(?:kill|suppress|curb|stop|numb|trick)\w*\s+(?:my\s+)?(?:appetite|hunger)\b[^.!?]{0,50}\b(?:"
        r"without\s+eating|not\s+eat|underweight|fast|thin|skinny|lose\s+more|keep\s+going)\b|\bstill\s+"
        r"(?:not\s+(?:thin|skinny|small|light)\s+enough|too\s+(?:fat|big|heavy))\b",
        person=True,
        cancel=_MENTION | _EXPLAINED,
    ),
    _r(
        "get-rid-of-food",
        "crisis",
        "eating",
        r"\bget(?:ting|s)?\s+rid\s+of\s+(?:it|everything|the\s+food|what\s+i\s+(?:ate|eat|had)|my\s+"
        r"(?:food|meals?|dinner|lunch|breakfast)|every\s+(?:meal|bite))\b",
        person=True,
        cancel=_NOT_ILL,
        needs=r"\b(?:eat|eats|eating|ate|eaten|meals?|food|dinner|lunch|breakfast|binge\w*)\b",
        unless=r"\b(?:leftovers|fridge|freezer|cupboard|pantry|expired|mould|mold|off|compost|donat\w*)\b",
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
    {
        "not-eating",
        "laxatives",
        "eating-disgust",
        "hunger-pride",
        "restricting",
        "tiny-intake",
        "hiding-food",
        "compensating",
        "not-allowed-to-eat",
        "extended-fast",
        "food-rules",
    }
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


@lru_cache(maxsize=64)
def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def crisis_signals(text: str) -> list[CrisisSignal]:
    """Every crisis signal in a user message, strongest first (after frames)."""
    norm = canonical(clean(text))
    union, rules = _compiled()
    if not union.search(norm):
        return []
    out: list[CrisisSignal] = []
    parts = sentences(norm) or [norm]
    # a fiction or study frame in another sentence covers a sentence with no first person:
    # "is it painful to get hit by a car? asking for my screenplay"
    whole: set[Frame] = set()
    if len(parts) > 1:
        if _FRAMES["fiction"].search(norm):
            whole.add("fiction")
        if _STRONG_TOPIC.search(norm):
            whole.add("topic")
    for sentence in parts:
        if not union.search(sentence):
            continue
        first = bool(_FIRST.search(sentence) or _IMPLIED_FIRST.search(sentence))
        frames = {name for name, pat in _FRAMES.items() if pat.search(sentence)}
        if not first:
            frames |= whole
        if first and "question" in frames:
            frames.discard("question")  # "should I kill myself?" is not a topic question
        if first and "topic" in frames and not _STRONG_TOPIC.search(sentence):
            frames.discard("topic")
        if frames & _BODY_FRAMES and _BODY_CUE.search(norm):
            frames -= _BODY_FRAMES  # "I skipped lunch because I'm too fat" is no busy day
        if "recovery" in frames and _RELAPSE.search(sentence):
            frames.discard("recovery")  # "a year clean but I want to cut again"
        for rule, pattern in rules:
            m = pattern.search(sentence)
            if m is None:
                continue
            if rule.needs and not _cue(rule.needs).search(sentence):
                continue
            if rule.unless and _cue(rule.unless).search(sentence):
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
