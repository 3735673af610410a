"""Suggested memories: candidate facts about the user, from the user's own words (pure).

:func:`extract` reads one user message and returns the facts it states about the user: their
name, the people and pets in their life (by name), their plans, likes and dislikes, and the
boundaries they set for the companion. It suggests; it never invents:

- patterns find a fact, then the sentence is checked: a question, a hypothetical ("if",
  "would", "imagine", "maybe"), reported speech ("my friend thinks I hate cats"), a negation
  before the pattern ("I'm not going to Lisbon") or the past ("I used to ...") gives nothing;
- a value is cleaned (fillers such as "so much" and "these days" cut off), and kept only if
  every content word of it is one the user wrote (:func:`supported`);
- "remember that ..." (also "don't forget", "keep in mind") marks what follows as
  ``explicit``; an explicit statement no pattern reads becomes a ``note`` in the user's words.

Each :class:`Fact` says where its evidence is (``span`` in ``source_text``) and has a short
note for the user to confirm (``Fact.note``: "Your sister is called Ana.") and one for the
prompt (``Fact.prompt_note``: "The user's sister is called Ana.").

English only. Values keep the user's words: a plan keeps its auxiliary ("am moving to Berlin
in May", "will start my new job on Monday") so that a note can be written from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, get_args

Kind = Literal["name", "person", "pet", "plan", "like", "dislike", "boundary", "note"]
KINDS: tuple[Kind, ...] = get_args(Kind)
USER = "user"


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing the user said about themselves."""

    kind: Kind
    subject: str
    """Whom or what it is about: ``user``, a relation ("sister"), a species ("dog"), a
    favourite ("favourite food"), or for a boundary what not to do ("call me")."""
    value: str
    """In the user's words: a name, a thing liked, a plan."""
    source_text: str
    """The whole message."""
    span: tuple[int, int]
    """Where in ``source_text`` the evidence is."""
    explicit: bool = False
    """The user asked for it to be remembered."""

    @property
    def evidence(self) -> str:
        return self.source_text[self.span[0] : self.span[1]]

    @property
    def note(self) -> str:
        """A short note addressed to the user ("Your sister is called Ana.")."""
        return _note(self, second=True)

    @property
    def prompt_note(self) -> str:
        """The same about the user, for the system prompt ("The user's sister is called Ana.")."""
        return _note(self, second=False)


# --- vocabulary ----------------------------------------------------------------------------


def _spaced(words: str) -> list[str]:
    """Words of a list; "best_friend" stands for "best friend"."""
    return [w.replace("_", " ") for w in words.split()]


def _alt(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_RELATIONS = _spaced("""
mother-in-law father-in-law sister-in-law brother-in-law son-in-law daughter-in-law
best_friend mum mom mother mommy mama dad father daddy papa sister brother sibling son daughter
kid child baby wife husband partner spouse girlfriend boyfriend fiancé fiance fiancée fiancee
friend bestie boss manager colleague coworker co-worker roommate flatmate housemate neighbour
neighbor grandma grandmother granny nan nana grandpa grandfather grandad granddad aunt auntie
uncle cousin niece nephew stepdad stepmom stepmum stepfather stepmother stepson stepdaughter
stepbrother stepsister ex ex-wife ex-husband ex-girlfriend ex-boyfriend ex-partner therapist
counsellor counselor doctor teacher tutor mentor coach landlord landlady twin godmother
godfather godson goddaughter classmate teammate
""")
_REL_MODS = "little big older younger elder eldest oldest youngest baby twin new step half".split()
_SPECIES = _spaced("""
dog puppy pup cat kitten kitty hamster rabbit bunny parrot budgie cockatiel bird fish goldfish
turtle tortoise snake lizard gecko iguana horse pony guinea_pig ferret rat mouse chinchilla
hedgehog chicken hen goat pig
""")
_PET_MODS = "little old new baby rescue".split()
_PLURAL = {"children": "child", "puppies": "puppy", "mice": "mouse", "ponies": "pony"}

_REL = rf"(?:(?:{_alt(_REL_MODS)})\s+)?(?:children|(?:{_alt(_RELATIONS)})(?:s\b)?)"
_PET = rf"(?:(?:{_alt(_PET_MODS)})\s+)?(?:puppies|mice|ponies|(?:{_alt(_SPECIES)})(?:s\b)?)"
_COUNT = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+)"

_NOT_NAMES = set(
    """
I Me My You Your He She It We They Him Her Them Us This That These Those The A An And But Or
So Just Really Not No Yes Yeah Ok Okay Hi Hey Hello Thanks Thank Please Sorry Lol Haha Here
There Now Then Today Tomorrow Tonight Yesterday Is Are Was Were Be Been Am Do Does Did Have
Has Had Will Would Can Could Should Might Must Also Still Even Very Too Well Good Great Fine
Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
June July August September October November December Christmas Easter God
English American British French German Spanish Italian Irish Scottish Welsh Canadian
Australian Indian Chinese Japanese Korean Mexican Brazilian Dutch Polish Russian Swedish
Norwegian Danish Finnish Greek Turkish Portuguese Catholic Christian Muslim Jewish Hindu
Buddhist Atheist Back Home Done Tired Happy Sad Bored Sure Glad Busy Sick Free Ready Alone
Going Gonna Trying Thinking Feeling Getting Being Doing Looking Working Single Married Called
""".split()
)
_NOT_LOWER_NAMES = set(
    """
a an the not no just really so very kind sort weird hard long short odd unusual common boring
funny strange difficult cool nice pretty ugly silly stupid important unique rare special
complicated embarrassing private secret unknown irrelevant ok okay fine same different
""".split()
)

_NAME_TOKEN = r"[A-Z][a-z]+(?:-[A-Z]?[a-z]+|'[A-Z][a-z]+)*"  # Jean-Luc, O'Brien; not Ana's
_NAME = rf"(?-i:(?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?{_NAME_TOKEN}(?:\s+{_NAME_TOKEN})?)"
_NAMES = rf"{_NAME}(?:\s*,\s*{_NAME})*(?:\s*,?\s+and\s+{_NAME})?"
_LOWER_NAME = r"[a-z][a-z'-]{1,20}"

_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_SEASONS = "spring summer autumn fall winter".split()
_DAY = rf"(?:{_alt(_DAYS)})"
_TIME = re.compile(
    rf"""\b(?:
        tomorrow(?:\s+(?:morning|afternoon|evening|night))?|tonight|today|
        (?:this|next|coming)\s+(?:morning|afternoon|evening|weekend|week|month|year|
            {_alt(_SEASONS)}|{_DAY}|{_alt(_MONTHS)})|
        on\s+{_DAY}s?|on\s+the\s+\d{{1,2}}(?:st|nd|rd|th)?|
        in\s+(?:{_alt(_MONTHS)}|{_alt(_SEASONS)}|the\s+(?:morning|afternoon|evening|summer)|
            (?:a|an|one|two|three|four|five|six|a\s+few|a\s+couple\s+of|\d+)\s+
            (?:days?|weeks?|months?|years?))|
        (?:at|over)\s+the\s+weekend|later\s+(?:today|tonight|this\s+week)|soon|
        {_DAY}(?:\s+(?:morning|afternoon|evening|night))?|
        at\s+\d{{1,2}}(?::\d{{2}})?\s*(?:am|pm)?
    )\b""",
    re.I | re.X,
)

_STOP = set(
    """
a an the am is are was were be been being will shall would have has had do does did to of in
on at for with from by and or but so my our your i me we us you it its this that these those
just really very too also up about out off than then there here
""".split()
)
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text.replace("’", "'"))]


def content_words(text: str) -> list[str]:
    """The words that carry meaning (not articles, pronouns, auxiliaries, prepositions)."""
    return [w for w in _words(text) if w not in _STOP]


def supported(value: str, source: str) -> bool:
    """Every content word of ``value`` is a word of ``source`` (and there is one)."""
    return _supported(value, _vocabulary(source))


def _vocabulary(source: str) -> set[str]:
    have = set(_words(source))
    have |= {part for w in have for part in re.split(r"['-]", w)}  # "Ana's" holds "Ana"
    if "gonna" in have:
        have.add("going")
    return have


def _supported(value: str, have: set[str]) -> bool:
    mine = content_words(value)
    return bool(mine) and all(w in have for w in mine)


# --- sentence context ------------------------------------------------------------------------

_ABBREV = {"dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "vs", "etc"}
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n+")
_QUESTION_START = re.compile(
    r"^\W*(?:what|who|whom|whose|why|how|when|where|which|do(?!\s+not\b)|does|did|is|are|was|were|am|"
    r"can|could|would|should|will|shall|have|has|may|might|must)\b",
    re.I,
)
_HYPOTHETICAL = re.compile(
    r"\b(?:if|would|could|imagine|imagining|suppose|supposing|pretend|pretending|wish|"
    r"hypothetically|what\s+if|maybe|might|perhaps|probably|someday|one\s+day|i'd|"
    r"in\s+(?:my|the|a)\s+(?:story|novel|book|game|dream|fic)|my\s+character|roleplay|"
    r"role-play)\b",
    re.I,
)
_REPORTED = re.compile(
    r"\b(?:think|thinks|thought|say|says|said|tell|tells|told|believe|believes|believed|"
    r"claim|claims|claimed|assume|assumes|assumed|reckon|reckons|remember|remembered|"
    r"dreamt|dreamed)\b",
    re.I,
)
_NEGATION = re.compile(
    r"\b(?:not|never|no|nobody|neither|nor|hardly|dont|cant|wont|isnt|used\s+to)\b|n't\b", re.I
)
_CLAUSE_BREAK = re.compile(r"[,;:()]|\s[-–—]\s|\b(?:but|and|because|so|then|though)\b", re.I)
_EXPLICIT = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|hey|and|also|oh|so|btw|pls|plz|please)[\s,]+)*"
    r"(?:(?:can|could|will|would)\s+you\s+(?:please\s+)?)?(?:please\s+)?"
    r"(?:remember|don't\s+forget|do\s+not\s+forget|never\s+forget|keep\s+in\s+mind|"
    r"make\s+a\s+note|take\s+note|note\s+down)"
    r"(?!\s+(?:when|how|what|where|who|why|the\s+time|me|us|to|this\b|it\b))"
    r"(?:\s+that)?\s*[:,]?\s+",
    re.I,
)


def _sentences(text: str) -> Iterator[tuple[int, str]]:
    """(offset, sentence) pieces; "Dr." and the like do not end a sentence."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.group() == ".":
            before = re.search(r"(\w+)$", text[start : m.start()])
            if before and before.group(1).lower() in _ABBREV:
                continue
        yield from _piece(text, start, m.end())
        start = m.end()
    yield from _piece(text, start, len(text))


def _piece(text: str, start: int, end: int) -> Iterator[tuple[int, str]]:
    seg = text[start:end]
    lead = len(seg) - len(seg.lstrip())
    if seg.strip():
        yield start + lead, seg.strip()


@dataclass(frozen=True, slots=True)
class _Found:
    kind: Kind
    subject: str
    value: str
    start: int
    """Where the pattern starts in the sentence (the context before it is checked)."""
    end: int


def _clause_before(sentence: str, at: int) -> str:
    before = sentence[:at]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    return before[breaks[-1].end() :] if breaks else before


def _context_ok(sentence: str, found: _Found) -> bool:
    """No reported speech before the pattern, no negation or past in its clause, and no
    hypothetical anywhere in the sentence outside the pattern's own words."""
    if _REPORTED.search(sentence[: found.start]):
        return False
    if _NEGATION.search(_clause_before(sentence, found.start)):
        return False
    outside = sentence[: found.start] + " " + sentence[found.end :]
    return not _HYPOTHETICAL.search(outside)


# --- patterns ------------------------------------------------------------------------------

Handler = Callable[[re.Match[str]], Iterator[_Found]]
_PATTERNS: list[tuple[re.Pattern[str], Handler]] = []


def _pattern(regex: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _PATTERNS.append((re.compile(regex, re.I | re.X), handler))
        return handler

    return register


def _name_ok(name: str) -> bool:
    tokens = name.replace(".", " ").split()
    return bool(tokens) and not any(t in _NOT_NAMES for t in tokens)


def _names(text: str) -> list[str]:
    parts = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", text.strip())
    return [p for p in parts if p and _name_ok(p)]


def _singular(word: str) -> str:
    word = " ".join(word.lower().split())
    last = word.split(" ")[-1]
    if last in _PLURAL:
        return word[: -len(last)] + _PLURAL[last]
    base = last[:-1]
    if last.endswith("s") and (base in _RELATIONS or base in _SPECIES or base == "friend"):
        return word[:-1]
    return word


def _found(kind: Kind, subject: str, value: str, m: re.Match[str]) -> _Found:
    return _Found(kind, subject, value.strip(), m.start(), m.end())


def _people(kind: Kind, relation: str, names: str, m: re.Match[str]) -> Iterator[_Found]:
    for name in _names(names):
        yield _found(kind, _singular(relation), name, m)


def _kind_of(noun: str) -> Kind:
    last = _singular(noun).split(" ")[-1]
    return "pet" if last in _SPECIES or noun.lower().rstrip("s") in _SPECIES else "person"


# names
@_pattern(rf"\bmy\s+name(?:\s+is|'s)\s+(?P<n>{_NAME})")
@_pattern(rf"\b(?:i'm|i\s+am)\s+(?:called|named)\s+(?P<n>{_NAME})")
@_pattern(rf"\b(?:call\s+me|i\s+go\s+by)\s+(?P<n>{_NAME})")
@_pattern(
    rf"\b(?:i'm|i\s+am)\s+(?P<n>{_NAME})"
    r"(?=\s*(?:$|[,.!;:)]|\s+(?:and|by\s+the\s+way|btw|here|from)\b))"
)
def _name(m: re.Match[str]) -> Iterator[_Found]:
    if _name_ok(m["n"]):
        yield _found("name", USER, m["n"], m)


@_pattern(rf"\bmy\s+name(?:\s+is|'s)\s+(?P<n>{_LOWER_NAME})\s*[.!]*$")
def _lower_name(m: re.Match[str]) -> Iterator[_Found]:
    if m["n"] not in _NOT_LOWER_NAMES:
        yield _found("name", USER, m["n"], m)


# people and pets: "my sister Ana", "my sister is called Ana", "my dog's name is Rex", ...
@_pattern(rf"\b(?:my|our)\s+(?P<r>{_REL}|{_PET})'s\s+name\s+is\s+(?P<n>{_NAME})")
@_pattern(
    rf"\b(?:my|our)\s+(?P<r>{_REL}|{_PET})\s+(?:is|are|'s)\s+(?:called\s+|named\s+)?(?P<n>{_NAMES})"
)
@_pattern(rf"\b(?:my|our)\s+(?P<r>{_REL}|{_PET})(?:\s*,\s*|\s+)(?P<n>{_NAMES})")
@_pattern(rf"(?P<n>{_NAME})\s+(?:is|'s)\s+(?:my|our)\s+(?P<r>{_REL}|{_PET})\b(?!')")
def _relation(m: re.Match[str]) -> Iterator[_Found]:
    yield from _people(_kind_of(m["r"]), m["r"], m["n"], m)


@_pattern(r"\b(?:I|we)\s*(?:have|'ve\s+got|have\s+got|'ve)\s+(?P<rest>.+)")
def _have(m: re.Match[str]) -> Iterator[_Found]:
    """ "I have a brother named Omar and a sister named Lina", "I've got two cats"."""
    named = re.finditer(
        rf"\b(?:a|an|one)\s+(?P<r>{_REL}|{_PET})\s+(?:called|named)\s+(?P<n>{_NAME})",
        m["rest"],
        re.I,
    )
    found = [f for n in named for f in _people(_kind_of(n["r"]), n["r"], n["n"], m)]
    yield from found
    if found:
        return
    counted = re.finditer(
        rf"(?:^|\band\s+|,\s*)(?P<v>{_COUNT}\s+(?P<r>{_PET}))"
        r"(?=\s*(?:$|[,.!;:?]|\s+(?:and|who|that|at|now)\b))",
        m["rest"],
        re.I,
    )
    for c in counted:
        yield _Found("pet", _singular(c["r"]).split(" ")[-1], c["v"], m.start(), m.end())


# likes and dislikes
_ADV = (
    r"(?:(?:really|absolutely|totally|just|also|genuinely|honestly|especially|truly|do|"
    r"still|actually|so|quite|kinda|kind\s+of|sort\s+of|seriously|deeply|pretty\s+much)\s+)*"
)


@_pattern(rf"\bI\s+{_ADV}(?:love|like|enjoy|adore)\s+(?P<v>[^.;:!?]+)")
@_pattern(
    rf"\bI(?:'m|\s+am)\s+{_ADV}(?:a\s+)?(?:big\s+|huge\s+|massive\s+|great\s+)?fan\s+of\s+(?P<v>[^.;:!?]+)"
)
@_pattern(
    rf"\bI(?:'m|\s+am)\s+{_ADV}(?:into|obsessed\s+with|passionate\s+about)\s+(?P<v>[^.;:!?]+)"
)
def _like(m: re.Match[str]) -> Iterator[_Found]:
    for item in _items(m["v"]):
        yield _found("like", USER, item, m)


@_pattern(rf"\bI\s+{_ADV}(?:hate|dislike|detest|loathe|despise|abhor)\s+(?P<v>[^.;:!?]+)")
@_pattern(rf"\bI\s+{_ADV}(?:can't|cannot|can\s+not)\s+(?:stand|bear|stomach)\s+(?P<v>[^.;:!?]+)")
@_pattern(rf"\bI\s+{_ADV}(?:don't|do\s+not)\s+(?:really\s+)?(?:like|enjoy)\s+(?P<v>[^.;:!?]+)")
@_pattern(
    r"\bI(?:'m|\s+am)\s+not\s+(?:really\s+|much\s+of\s+|a\s+|the\s+)*(?:big\s+|huge\s+)?"
    r"fan\s+of\s+(?P<v>[^.;:!?]+)"
)
def _dislike(m: re.Match[str]) -> Iterator[_Found]:
    for item in _items(m["v"]):
        if not item.lower().startswith("to "):  # "I hate to say it"
            yield _found("dislike", USER, item, m)


@_pattern(
    r"\bmy\s+(?:all-time\s+|absolute\s+)?(?:favou?rite|fave|fav)\s+(?P<s>[a-z]+(?:\s+[a-z]+){0,2}?)"
    r"\s+(?:is|are)\s+(?P<v>[^.;:!?]+)"
)
@_pattern(
    r"(?:^|[,;]\s*|\b(?:and|but)\s+)(?P<v>[\w'-]+(?:\s+[\w'-]+)?)\s+(?:is|are)\s+my\s+"
    r"(?:all-time\s+)?"
    r"(?:favou?rite|fave)\s+(?P<s>[a-z]+(?:\s+[a-z]+)?)"
)
def _favourite(m: re.Match[str]) -> Iterator[_Found]:
    value = re.sub(rf"^(?:(?:{_alt(_FILLERS)})\s+)+", "", m["v"], flags=re.I)
    for item in _items(value):
        yield _found("like", f"favourite {m['s'].lower()}", item, m)


# plans
_PROGRESSIVE = """
moving relocating emigrating flying travelling traveling heading driving going leaving visiting
starting getting having meeting seeing taking running doing attending hosting celebrating
throwing buying adopting quitting joining beginning finishing graduating retiring learning
cooking working playing watching spending
""".split()
_UNTIMED = {"moving", "relocating", "emigrating"}
_EVENTS = """
interview appointment exam test meeting date wedding flight trip party concert gig match game
presentation deadline surgery operation checkup check-up class lesson audition shift holiday
vacation recital tournament race marathon conference
""".split()
_AUX = {"'m": "am", "'re": "are", "'ll": "will", "'ve": "have"}


@_pattern(
    r"\b(?:I|we)(?P<aux>'m|'re|\s+am|\s+are)\s+(?:just\s+|finally\s+|actually\s+|also\s+)?"
    r"(?P<v>(?:going\s+to|gonna|planning\s+(?:to|on)|about\s+to)\s+[^,;:!?.]+)"
)
def _going(m: re.Match[str]) -> Iterator[_Found]:
    needs_time = not m["v"].lower().startswith(("planning", "about"))
    yield from _plan(m, needs_time)


@_pattern(
    rf"\b(?:I|we)(?P<aux>'m|'re|\s+am|\s+are)\s+(?:just\s+|finally\s+|actually\s+|also\s+)?"
    rf"(?P<v>(?:{_alt(_PROGRESSIVE)})\b[^,;:!?.]*)"
)
def _progressive(m: re.Match[str]) -> Iterator[_Found]:
    verb = m["v"].split()[0].lower()
    if re.match(r"going\s+to\b", m["v"], re.I):
        return  # _going's
    if verb == "having" and not re.search(rf"\b(?:{_alt(_EVENTS)}|baby)\b", m["v"], re.I):
        return  # "having a great time"
    yield from _plan(m, verb not in _UNTIMED)


@_pattern(r"\b(?:I|we)(?P<aux>'ll|\s+will|\s+shall)\s+(?P<v>[^,;:!?.]+)")
def _will(m: re.Match[str]) -> Iterator[_Found]:
    if not re.match(r"be\b(?!\s+\w+ing\b)", m["v"], re.I):  # not "I'll be fine"
        yield from _plan(m, True)


@_pattern(
    r"\b(?:I|we)(?P<aux>'ve|\s+have)?\s+(?P<v>(?:plan|intend|decided|have\s+to|need\s+to)\s+"
    r"(?:to\s+)?[^,;:!?.]+)"
)
def _intend(m: re.Match[str]) -> Iterator[_Found]:
    verb = m["v"].lower()
    if m["aux"] and not verb.startswith("decided"):
        return
    yield from _plan(m, verb.startswith(("have", "need")))


@_pattern(
    rf"\b(?:I|we)(?P<aux>)\s*(?P<v>(?:have|'ve\s+got|have\s+got)\s+(?:a|an|my|our)\s+"
    rf"(?:[\w'-]+\s+){{0,2}}(?:{_alt(_EVENTS)})s?\b[^,;:!?.]*)"
)
def _event(m: re.Match[str]) -> Iterator[_Found]:
    yield from _plan(m, True)


_PLAN_CUT = re.compile(
    r"\s+(?:but|because|cause|cos|so|which|lol|haha|and\s+(?:i|we|it|then|i'm|we're|i'll))\b.*$",
    re.I,
)


def _time_words(text: str) -> str:
    """ "Next year" → "next year"; days and months keep their capital."""
    names = set(_DAYS) | set(_MONTHS)
    return " ".join(w.capitalize() if w.lower() in names else w.lower() for w in text.split())


def _plan(m: re.Match[str], needs_time: bool) -> Iterator[_Found]:
    value = _PLAN_CUT.sub("", m["v"]).strip()
    value = re.sub(r"^gonna\b", "going to", value, flags=re.I)
    value = re.sub(r"^'ve\s+got", "have got", value, flags=re.I)
    sentence = m.string
    time = _TIME.search(sentence)
    if needs_time and not time:
        return
    if time and not _TIME.search(value):
        value = f"{value} {_time_words(time.group())}"
    if re.search(r"\b(?:you|it)\b", value, re.I):
        return
    aux = (m["aux"] or "").strip().lower()
    aux = _AUX.get(aux, aux)
    yield _found("plan", USER, f"{aux} {value}" if aux else value, m)


# boundaries
_BOUNDARY_VERBS = {
    "call me": r"call(?:ing)?\s+me",
    "mention": r"mention(?:ing)?",
    "bring up": r"bring(?:ing)?\s+up",
    "talk about": r"(?:talk(?:ing)?|speak(?:ing)?|chat(?:ting)?)\s+about|discuss(?:ing)?",
    "ask about": r"ask(?:ing)?\s+(?:me\s+)?about",
    "joke about": r"jok(?:e|ing)\s+about",
    "use": r"us(?:e|ing)",
    "send": r"send(?:ing)?(?:\s+me)?",
    "comment on": r"comment(?:ing)?\s+on",
}
_VERBS = "|".join(f"(?P<b{i}>{rx})" for i, rx in enumerate(_BOUNDARY_VERBS.values()))
_LEAD = r"(?:^|[,;]\s*|\b(?:please|and|but|also|oh|ok|okay|just|so|seriously|and\s+please)\s+)"


@_pattern(
    rf"{_LEAD}(?:please\s+)?(?:don't|do\s+not|dont|never|stop|quit)\s+(?:ever\s+)?"
    rf"(?:{_VERBS})\s+(?P<v>[^,.;:!?]+)"
)
@_pattern(
    rf"\bI\s+(?:really\s+)?(?:don't|do\s+not)\s+want\s+(?:you\s+)?to\s+(?:{_VERBS})\s+"
    rf"(?P<v>[^,.;:!?]+)"
)
@_pattern(
    rf"\bI(?:'d|\s+would)\s+(?:rather|prefer)\s+(?:you\s+)?(?:not|didn't|did\s+not)\s+(?:to\s+)?"
    rf"(?:{_VERBS})\s+(?P<v>[^,.;:!?]+)"
)
@_pattern(rf"\blet's\s+not\s+(?:{_VERBS})\s+(?P<v>[^,.;:!?]+)")
def _boundary(m: re.Match[str]) -> Iterator[_Found]:
    subject = next(
        s for i, s in enumerate(_BOUNDARY_VERBS) if m.groupdict().get(f"b{i}") is not None
    )
    value = _BOUNDARY_CUT.sub("", m["v"]).strip()
    if value and value.split()[0].lower() not in _NOT_VALUES:
        yield _found("boundary", subject, value, m)


@_pattern(r"(?P<v>\b(?:my|our)\s+[\w'-]+(?:\s+[\w'-]+)?)\s+(?:is|are)\s+off[-\s]limits")
def _off_limits(m: re.Match[str]) -> Iterator[_Found]:
    yield _found("boundary", "talk about", m["v"], m)


_BOUNDARY_CUT = re.compile(
    r"\s+(?:again|anymore|any\s+more|ever\s+again|please|ok|okay|with\s+me|around\s+me|"
    r"to\s+me|thanks|thank\s+you|lol|in\s+our\s+chats?|when\s+we\s+talk)\b.*$",
    re.I,
)


# --- values ---------------------------------------------------------------------------------

_NOT_VALUES = set(
    """
it that this these those you your yours u ur him her them us me myself yourself how what when
where why who whatever everything anything nothing something someone anyone everyone
""".split()
)
_VALUE_CUT = re.compile(
    r"\s+(?:but|because|cause|cos|since|so|though|although|while|than|more\s+than|"
    r"better\s+than|over|instead\s+of|lol|haha|tbh|honestly|these\s+days|lately|nowadays|"
    r"right\s+now|at\s+the\s+moment|anymore|any\s+more|too|as\s+well|so\s+much|a\s+lot|"
    r"very\s+much|with\s+a\s+passion|more\s+and\s+more|please|ok|okay|now)\b.*$",
    re.I,
)
_QUALIFIED = re.compile(
    r"\s(?:who|whom|which|that|when|whenever|where|if|unless|as\s+long\s+as|especially|"
    r"except|only)\b",
    re.I,
)
"""What a like needs to be true ("people who chew loudly"): the fact is left out."""
_FILLERS = "honestly really well oh so and but like yeah ok okay actually personally also".split()
_BINOMIALS = re.compile(
    r"\b(?:black\s+and\s+white|rock\s+and\s+roll|rock\s+n\s+roll|r\s+and\s+b|fish\s+and\s+chips|"
    r"mac\s+and\s+cheese|salt\s+and\s+pepper|drum\s+and\s+bass|peanut\s+butter\s+and\s+jelly|"
    r"bread\s+and\s+butter|dungeons\s+and\s+dragons|pros\s+and\s+cons|law\s+and\s+order)\b",
    re.I,
)
_MAX_VALUE_WORDS = 6


def _items(raw: str) -> list[str]:
    """A liked or disliked thing (or a list of them), cleaned; nothing if it is vague."""
    pieces = raw.split(",")
    if not re.search(r"\s(?:and|or)\s", pieces[-1]):  # a list ends "..., X and Y"
        raw = pieces[0]
    value = _VALUE_CUT.sub("", raw).strip()
    if _QUALIFIED.search(value):
        return []
    protected = _BINOMIALS.sub(lambda b: b.group().replace(" ", "\x00"), value)
    parts = re.split(r"\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s*&\s*", protected)
    out = []
    for part in parts:
        item = part.replace("\x00", " ").strip()
        words = item.lower().split()
        if not words or len(words) > _MAX_VALUE_WORDS:
            continue
        if words[0] in _NOT_VALUES or words[:2] in (["the", "way"], ["the", "idea"]):
            continue
        if any(w in ("you", "your", "yours", "u", "ur") for w in words):
            continue
        if words[0] == "to" and len(words) > 1 and words[1] in _VAGUE_VERBS:
            continue
        out.append(item)
    return out


_VAGUE_VERBS = set("think say hear see know admit ask bother imagine believe".split())


# --- extraction ------------------------------------------------------------------------------


_MAX_WORDS: dict[Kind, int] = {
    "name": 4, "person": 4, "pet": 4, "like": _MAX_VALUE_WORDS, "dislike": _MAX_VALUE_WORDS,
    "plan": 16, "boundary": 8, "note": 60,
}  # fmt: skip
"""Longer values are not one fact but a run-on sentence (or pasted text)."""


def _is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(_QUESTION_START.match(sentence))


def _scan(sentence: str) -> list[_Found]:
    out: list[_Found] = []
    for regex, handler in _PATTERNS:
        for m in regex.finditer(sentence):
            out.extend(f for f in handler(m) if _context_ok(sentence, f))
    return out


def extract(text: str) -> list[Fact]:
    """Candidate facts about the user in one message of theirs, in order, without repeats.

    >>> [f.note for f in extract("My sister is called Ana. Remember that I hate olives!")]
    ['Your sister is called Ana.', "You don't like olives."]
    """
    norm = text.replace("’", "'").replace("‘", "'")  # the same length: offsets still hold
    facts: dict[tuple[str, str, str], Fact] = {}
    vocabulary = _vocabulary(norm)
    for offset, sentence in _sentences(norm):
        explicit = _EXPLICIT.match(sentence)
        body, base = sentence, offset
        if explicit:
            body, base = sentence[explicit.end() :], offset + explicit.end()
        elif _is_question(sentence):
            continue
        found = _scan(body)
        if explicit and not found:
            statement = re.sub(r"[\s.!?]*(?:please|thanks|thank\s+you|ok)?[\s.!?]*$", "", body)
            statement = statement.strip()
            if statement:
                found = [_Found("note", USER, statement, 0, len(statement))]
        for f in found:
            if len(f.value.split()) > _MAX_WORDS[f.kind] or f.value.lower() in _NOT_VALUES:
                continue
            if not _supported(f.value, vocabulary):
                continue
            key = (f.kind, f.subject.lower(), f.value.lower())
            if key in facts:
                continue
            span = (base + f.start, base + f.end)
            facts[key] = Fact(f.kind, f.subject, f.value, text, span, explicit=bool(explicit))
    return _drop_shadowed(list(facts.values()))


def _drop_shadowed(facts: list[Fact]) -> list[Fact]:
    """A name already read as a person's or a pet's is not also the user's name, and a plan
    inside a longer plan from the same words is not said twice."""
    related = {f.value for f in facts if f.kind in ("person", "pet")}
    plans = [f for f in facts if f.kind == "plan"]
    out = []
    for f in facts:
        if f.kind == "name" and f.value in related:
            continue
        if f.kind == "plan" and any(
            g is not f and f.value != g.value and f.value.split(" ", 1)[-1] in g.value
            for g in plans
        ):
            continue
        out.append(f)
    return out


# --- notes ----------------------------------------------------------------------------------

_SECOND = {
    "i am": "you are", "i was": "you were", "i": "you", "me": "you", "my": "your",
    "mine": "yours", "myself": "yourself", "i'm": "you're", "i've": "you've", "i'll": "you'll",
    "i'd": "you'd", "we": "you", "us": "you", "our": "your", "ours": "yours",
    "ourselves": "yourselves", "we're": "you're", "we've": "you've", "we'll": "you'll",
}  # fmt: skip
_THIRD = {
    "i am": "they are", "i was": "they were", "i": "they", "me": "them", "my": "their",
    "mine": "theirs", "myself": "themselves", "i'm": "they're", "i've": "they've",
    "i'll": "they'll", "i'd": "they'd", "we": "they", "us": "them", "our": "their",
    "ours": "theirs", "ourselves": "themselves", "we're": "they're", "we've": "they've",
    "we'll": "they'll",
}  # fmt: skip
_THIRD_VERB = {"am": "is", "are": "is", "have": "has", "was": "was", "were": "was", "do": "does"}
_PRONOUN = re.compile(r"\bI\s+(?:am|was)\b|\b(?:I|we)'(?:m|re|ve|ll|d)\b|\b[a-z]+\b", re.I)


def _person(text: str, second: bool) -> str:
    """First person → second ("my mum" → "your mum") or third ("their mum")."""
    table = _SECOND if second else _THIRD

    def swap(m: re.Match[str]) -> str:
        return table.get(" ".join(m.group().lower().split()), m.group())

    return _PRONOUN.sub(swap, text)


def third_person_verb(word: str) -> str:
    low = word.lower()
    if low in _THIRD_VERB:
        return _THIRD_VERB[low]
    if low in ("will", "can", "could", "would", "should", "must", "might", "shall"):
        return low
    if low.endswith("ed"):
        return low
    if low.endswith(("s", "sh", "ch", "x", "o")):
        return low + "es"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return low[:-1] + "ies"
    return low + "s"


def _statement(text: str, second: bool) -> str:
    """An explicit statement ("I work night shifts") as a note about the user."""
    m = re.match(
        r"(I'm|I\s+am|I've|I\s+have|I'll|I\s+will|I|my|we're|we|our)\b\s*(.*)$", text, re.I
    )
    if not m:
        return f"You said: {text}" if second else f"The user said: {text}"
    lead, rest = m.group(1).lower().replace("  ", " "), _person(m.group(2), second)
    if second:
        return f"{_person(lead, True)} {rest}"
    if lead in ("my", "our"):
        return f"the user's {rest}"
    if lead in ("i'm", "i am", "we're"):
        return f"the user is {rest}"
    if lead in ("i've", "i have"):
        return f"the user has {rest}"
    if lead in ("i'll", "i will"):
        return f"the user will {rest}"
    verb, _, tail = rest.partition(" ")
    return f"the user {third_person_verb(verb)} {tail}".strip()


def _note(f: Fact, second: bool) -> str:
    you, your = ("you", "your") if second else ("the user", "the user's")
    v = _person(f.value, second) if f.kind not in ("name", "person") else f.value
    if f.kind == "name":
        text = f"{your} name is {v.title() if v.islower() else v}"
    elif f.kind in ("person", "pet") and not re.match(rf"{_COUNT}\s", f.value, re.I):
        text = f"{your} {f.subject} is called {v}"
    elif f.kind == "pet":
        text = f"{you} {'have' if second else 'has'} {v}"
    elif f.kind == "like" and f.subject != USER:
        text = f"{your} {f.subject} is {v}"
    elif f.kind == "like":
        text = f"{you} {'like' if second else 'likes'} {v}"
    elif f.kind == "dislike":
        text = f"{you} {'don' if second else 'doesn'}'t like {v}"
    elif f.kind == "plan":
        first, _, rest = v.partition(" ")
        verb = (
            {"am": "are", "was": "were"}.get(first, first) if second else third_person_verb(first)
        )
        text = f"{you} {verb} {rest}".strip()
    elif f.kind == "boundary" and f.subject == "call me":
        text = f"{you} {'don' if second else 'doesn'}'t want to be called {f.value}"
    elif f.kind == "boundary" and f.subject == "talk about":
        text = f"{you} {'don' if second else 'doesn'}'t want to talk about {v}"
    elif f.kind == "boundary":
        me = "me" if second else "you"
        verb = f.subject.replace(" me", " you" if second else " them")
        text = f"{you} asked {me} not to {verb} {v}"
    else:
        text = _statement(f.value, second)
    text = text.strip().rstrip(".!")
    return text[:1].upper() + text[1:] + "."
