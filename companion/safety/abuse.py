"""Targeted-abuse rules for replies: insults and threats aimed at the user, wishes of harm,
slurs, and demeaning statements about a group. Pure functions over text.

These run in every mode (with Detoxify too), before any classifier. They key on a target:
profanity alone is not abuse ("holy shit, congratulations!", "that sucks"), profanity aimed
at the user is ("you fucking idiot"). A negation in the clause ("you're not stupid", "I
don't think you're an idiot") cancels an insult. Groups are named explicitly (disability,
religion, ethnicity and nationality, gender, sexuality, age, body, class) and only a
demeaning predicate about them counts: "disabled people face barriers at work" passes,
"disabled people are a drain" does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from companion.safety.normalize import clean, plain_quotes

AbuseKind = Literal["insult", "threat", "identity", "slur"]

_YOU_ARE = r"(?:you(?:'re|\s+are|\s+r|\s+were)|youre|u\s+r)"
_INSULT_NOUN = (
    r"(?:idiot|idiots|moron|imbecile|cretin|dumbass|dumbo|dunce|fool|clown|joke|loser|failure|"
    r"freak|creep|pig|cow|slob|scum|scumbag|trash|garbage|filth|parasite|leech|nobody|"
    r"disgrace|disappointment|embarrassment|waste\s+of\s+(?:space|air|oxygen|skin|time|life)|"
    r"(?:piece|peace)\s+of\s+(?:shit|crap|garbage|trash|work|junk|filth)|excuse\s+for\s+a\s+"
    r"(?:human(?:\s+being)?|person|man|woman)|asshole|arsehole|bitch|bastard|dick|dickhead|"
    r"prick|twat|cunt|douche|douchebag|jerk|dipshit|shithead|motherfucker|wanker|tosser|"
    r"numpty|halfwit|nitwit|dimwit|simpleton|retard|spaz|crybaby|coward|liar|psycho|sicko|"
    r"degenerate|lowlife|subhuman|maggot|rat|snake|worm|pussy|wimp|sissy|dumb\s*fuck|"
    r"fuck(?:er|wit|face|head|-up|up))"
)
_INSULT_ADJ = (
    r"(?:pathetic|worthless|useless|stupid|dumb|dumbest|stupidest|brainless|braindead|"
    r"retarded|ugly|disgusting|repulsive|hideous|whiny|spineless|gutless|incompetent|"
    r"ignorant|dense|thick|idiotic|moronic|boring|annoying|unlovable|pitiful|miserable|"
    r"fat|lazy|insufferable|unbearable|revolting|vile|hopeless)"
)
_VOCATIVE_ADJ = (
    r"(?:little|fucking|fuckin|stupid|dumb|pathetic|worthless|useless|ugly|fat|brainless|"
    r"dirty|filthy|absolute|complete|total|disgusting|miserable|sorry|whiny|lazy|sad|bloody|"
    r"freaking|utter|goddamn|damn|big|old|silly|ignorant|spineless)"
)
_INTENSIFIERS = (
    r"(?:(?:such|so|too|a|an|the|just|really|truly|honestly|absolutely|completely|totally|utterly|"
    r"little|fucking|fuckin|freaking|bloody|stupid|complete|absolute|total|most|biggest|"
    r"pathetic|worthless|useless|sad|dumb|ugly|fat|whiny|lazy|brainless|dirty|filthy|"
    r"disgusting|miserable|sorry|piece\s+of|ever|always|only|nothing\s+but|basically|"
    r"literally|still|probably|definitely|clearly|obviously)\s+){0,4}"
)
_NEGATED = re.compile(
    r"\b(?:not|never|n't|no\s+longer|hardly|nobody\s+thinks|no\s+one\s+thinks)\b|"
    r"\b(?:don't|do\s+not|doesn't|didn't|never)\s+(?:think|say|said|believe|mean|call)\b"
)
_NEG_BEFORE = re.compile(
    r"(?:\b(?:don't|do\s+not|doesn't|didn't|never|wouldn't|won't)\s+(?:think|say|said|believe|"
    r"mean|call|feel|let\s+anyone\s+(?:tell|say))|\bnot\s+(?:saying|that)|\bnobody\s+(?:thinks|"
    r"said|says)|\bno\s+one\s+(?:thinks|said|says)|\bisn't\s+true\s+that|\bif\s+anyone\s+"
    r"(?:says|calls))\b[^.!?]{0,40}$"
)

_PERSON_ADJ = (
    r"(?:sad|lonely|pathetic|miserable|small|petty|pitiful|awful|horrible|terrible|vile|nasty|"
    r"worthless|useless|stupid|dumb|ugly|disgusting|boring|annoying|broken|hopeless|sorry|"
    r"selfish|rotten|toxic|weird|creepy|repulsive|ignorant|dim|lazy|fat|bad|evil|sick)"
)
_PERSON = r"(?:person|human(?:\s+being)?|individual|creature|thing|man|woman|boy|girl|specimen)"
INSULT_PATTERNS: tuple[str, ...] = (
    rf"\b{_YOU_ARE}\s+(?:such\s+|just\s+|really\s+)?an?\s+(?:(?:\w+,?\s+){{0,2}}?){_PERSON_ADJ}"
    rf"\s*,?\s+(?:(?:little|old|excuse\s+for\s+a)\s+)?{_PERSON}\b",
    r"\bhow\s+(?:stupid|dumb|pathetic|ignorant|idiotic|ridiculous|moronic|ugly|annoying|"
    r"useless|worthless|disgusting)\s+you\s+(?:sound|are|look|seem|have\s+become)\b",
    r"\byou(?:'ll|\s+will)\s+never\s+(?:amount\s+to|be\s+(?:anything|anyone|good\s+enough|loved|"
    r"worth)|make\s+anything\s+of\s+yourself)\b",
    rf"\b{_YOU_ARE}\s+{_INTENSIFIERS}(?:{_INSULT_NOUN}|{_INSULT_ADJ})\b",
    rf"\byou\s+(?:{_VOCATIVE_ADJ}\s+){{0,3}}{_INSULT_NOUN}\b",
    rf"\b{_YOU_ARE}\s+the\s+worst\b",
    rf"[,;:!-]\s*(?:you\s+)?(?:\w+\s+)?{_INSULT_NOUN}\s*[.!?]*\s*$",
    rf"^\s*(?:what\s+an?|such\s+an?|you|total|absolute|complete)\s+(?:\w+\s+)?{_INSULT_NOUN}"
    r"\s*[.!?]*\s*$",
    rf"\bwhat\s+an?\s+(?:\w+\s+){{0,3}}?(?:{_INSULT_NOUN}|{_INSULT_ADJ}\s+\w+)\s+you\s+are\b",
    rf"\bhow\s+(?:can|could)\s+(?:anyone|anybody|someone|a\s+person)\s+be\s+(?:this|that|so|"
    rf"as)\s+{_INSULT_ADJ}",
    rf"\bare\s+you\s+(?:really|actually|always|just)?\s*(?:this|that|so)?\s*{_INSULT_ADJ}\b",
    r"\bshut\s+(?:the\s+\w+\s+)?up\b(?!\s*[,!]?\s*(?:that's|that\s+is|no\s+way|really|"
    r"seriously|you\s+did|omg|oh\s+my))|\bshut\s+your\s+(?:\w+\s+)?(?:mouth|face|trap|gob|"
    r"pie\s*hole)\b",
    r"\b(?:f+u+c+k+|screw|piss\s+on|to\s+hell\s+with)\s+(?:you|u|yourself|off|your\s+"
    r"(?:\w+\s+)?(?:self|life|feelings|problems))\b(?!\s+(?:too|got\s+this))",
    r"\b(?:piss|fuck|f\*+k|eff)\s+off\b|\bstfu\b|\bgtfo\b|\bget\s+the\s+(?:fuck|hell)\s+out\b|"
    r"\bget\s+lost\s*(?:[,.!]|$)|\bgo\s+to\s+hell\b|\beat\s+(?:shit|a\s+bag\s+of)\b|"
    r"\bget\s+fucked\b|\bsuck\s+my\b",
    r"\b(?:go\s+)?(?:kill|hang|drown|shoot|off)\s+yourself\b|\bkys\b|\bgo\s+(?:and\s+)?die\b|"
    r"\bdrop\s+dead\b|\bjust\s+die\b|\bdie\s+(?:already|in\s+a\s+(?:ditch|fire|hole))\b|\bstop\s+"
    r"breathing\b|\bdo\s+(?:the\s+world|everyone|us\s+all|all\s+of\s+us)\s+a\s+favou?r\b",
    r"\b(?:nobody|no\s+one|no-one)\s+(?:\w+\s+)?(?:likes|loves|cares\s+about|wants|asked|"
    r"gives\s+a\s+(?:shit|damn|fuck|crap))\s+(?:about\s+)?(?:you|your)\b|\b(?:nobody|no\s+one)"
    r"\s+(?:will|could|would)\s+ever\s+(?:love|want|like|care\s+about)\s+(?:you|someone\s+like"
    r"\s+you)\b|\b(?:nobody|no\s+one)\s+(?:could|would|will)\s+ever\s+love\b[^.!?]{0,30}\byou\b",
    r"\b(?:everyone|everybody)\s+(?:hates|laughs\s+at|is\s+laughing\s+at|despises)\s+you\b",
    r"\byou\s+deserve\s+(?:to\s+(?:die|suffer|be\s+alone|rot|be\s+hurt|be\s+miserable|be\s+"
    r"unhappy)|all\s+the\s+(?:bad|pain)|nothing|every\s+bad)",
    r"\b(?:the\s+world|everyone|everybody|we|they)\s+(?:would|will|'d)\s+be\s+(?:\w+\s+)?"
    r"(?:better(?:\s+off)?|happier)\s+(?:without\s+you|if\s+you\s+(?:died|were\s+dead|"
    r"disappeared|were\s+gone|left|didn't\s+exist))\b",
    r"\byou\s+should\s+(?:just\s+)?(?:die|disappear|kill\s+yourself|be\s+ashamed\s+of\s+"
    r"(?:yourself|existing))\b",
    r"\byour\s+(?:stupid|fucking|pathetic|dumb|ugly|fat|worthless|useless|sorry|bitch|lame|"
    r"miserable|sad\s+little)\s+(?:ass|face|mouth|problems?|feelings|life|opinions?|existence|"
    r"self|excuse|whining)\b",
    r"\byour\s+(?:opinions?|ideas?|feelings|life|existence|face|work)\s+(?:are|is)\s+(?:\w+\s+)?"
    r"(?:garbage|trash|worthless|a\s+joke|pathetic|shit|crap|irrelevant|meaningless)\b",
)
THREAT_PATTERNS: tuple[str, ...] = (
    r"\bi(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|'m\s+gonna|\s+could|\s+should|\s+"
    r"want\s+to|\s+wanna|'d\s+love\s+to|'m\s+about\s+to)\s+(?:just\s+|fucking\s+)?(?:kill|"
    r"murder|hurt|beat|stab|shoot|strangle|choke|slap|smack|punch|kick|end|destroy|ruin|"
    r"wreck|bury|gut|smash|torture|rape|cut)\s+(?:you|ya|u)\b"
    r"(?!\s+(?:a|an|some|in|off|at|on|to|out|loose|slack|short|down\s+to\s+size)\b)",
    r"\bi(?:'ll|\s+will|'m\s+going\s+to|\s+am\s+going\s+to|'m\s+gonna)\s+(?:find|hunt|track)\s+"
    r"(?:you|ya|u)(?:\s+down)?\b(?!\s+(?:a|an|some|the|something|one|more|another)\b)",
    r"\bi(?:'ll|\s+will|'m\s+going\s+to|'m\s+gonna)\s+(?:break|smash|snap|bash|punch|kick|"
    r"rip|tear|slit|cut|knock|crack|bust)\s+(?:your|ur)\b",
    r"\bi(?:'ll|\s+will|'m\s+going\s+to|'m\s+gonna)\s+(?:beat|knock|kick)\s+the\s+\w+\s+out\s+"
    r"of\s+you\b",
    r"\bi(?:'ll|\s+will|'m\s+going\s+to|'m\s+gonna)\s+make\s+(?:you|your\s+life)\s+(?:suffer|"
    r"pay|regret|bleed|scream|cry|hell|miserable)",
    r"\bi\s+know\s+where\s+you\s+(?:live|work|sleep)\b|\bfind\s+out\s+where\s+you\s+(?:live|"
    r"work)\b|\bwatch\s+your\s+back\b|\bsleep\s+with\s+one\s+eye\s+open\b|\b(?:i'm|i\s+am)\s+"
    r"coming\s+(?:for|after)\s+you\b|\bcoming\s+to\s+your\s+(?:house|home|place)\b",
    r"\b(?:put|pump)\s+a\s+bullet\s+(?:in|into|through)\s+(?:you|your)\b|\b(?:someone|"
    r"somebody|people)\s+(?:should|needs?\s+to|ought\s+to|will)\s+(?:kill|shoot|stab|hurt|beat|"
    r"end|strangle)\s+you\b",
    r"\b(?:hope|wish|pray)\s+(?:that\s+)?(?:you|someone|somebody)\s+(?:\w+\s+){0,3}?(?:die|"
    r"dies|get\s+(?:hit|killed|hurt|stabbed|shot|raped|cancer|run\s+over)|gets\s+(?:hit|killed"
    r"|hurt|stabbed|shot)|stabs\s+you|kills\s+you|hurts\s+you|shoots\s+you|beats\s+you|rot|"
    r"suffer|burn)\b",
    r"\byou(?:'re|\s+are)\s+(?:dead|dead\s+meat|next|going\s+to\s+(?:die|pay|suffer|get\s+"
    r"hurt)|gonna\s+(?:die|pay|suffer|get\s+hurt))\b(?!\s+(?:tired|right|on|last|in|to|up|"
    r"serious|wrong|set))|\byou(?:'ll|"
    r"\s+will)\s+(?:get\s+hurt|pay\s+for\s+this|suffer)\b|\byou\s+won't\s+(?:live|survive|make"
    r"\s+it)\s+(?:to|through|past)\b|\byou\s+won't\s+see\s+(?:tomorrow|next\s+\w+)\b",
    r"\bi(?:'ll|\s+will)\s+burn\s+(?:your|down\s+your)\b",
)

_GROUP_NOUNS = (
    r"women|woman|girls|females|men|males|boys|wives|feminists|"
    r"gays|gay\s+(?:people|men|guys|folks)|lesbians|homosexuals|bisexuals|queers|trans\s+"
    r"(?:people|women|men|folks|kids)|transgender\s+(?:people|women|men)|transsexuals|"
    r"trannies|non-?binary\s+people|"
    r"muslims|jews|jewish\s+people|christians|catholics|protestants|hindus|sikhs|buddhists|"
    r"atheists|mormons|religious\s+people|islam|judaism|"
    r"blacks|black\s+(?:people|men|women|folks)|whites|white\s+(?:people|men|women|folks)|"
    r"asians|asian\s+(?:people|men|women)|mexicans|latinos|latinas|hispanics|arabs|africans|"
    r"indians|pakistanis|chinese(?:\s+people)?|japanese\s+people|koreans|russians|"
    r"ukrainians|poles|romanians|nigerians|somalis|turks|kurds|irish\s+people|"
    r"immigrants|migrants|refugees|foreigners|asylum\s+seekers|gypsies|roma|travellers|"
    r"natives|aborigines|aboriginals|"
    r"(?:the\s+)?disabled(?:\s+people)?|people\s+with\s+(?:\w+\s+)?(?:disabilities|disability|"
    r"autism|schizophrenia|down\s+syndrome|adhd|depression|bipolar|mental\s+illness(?:es)?|"
    r"dwarfism|epilepsy)|people\s+in\s+wheelchairs|wheelchair\s+users|autistic\s+people|"
    r"autists|(?:the\s+)?mentally\s+ill(?:\s+people)?|(?:the\s+)?deaf(?:\s+people)?|"
    r"(?:the\s+)?blind(?:\s+people)?|schizophrenics|cripples|retards|"
    r"old\s+people|the\s+elderly|boomers|fat\s+people|poor\s+people|homeless\s+people"
)
_GROUP_ADJ = (
    r"gay|lesbian|bisexual|queer|trans|transgender|non-?binary|muslim|jewish|christian|catholic|"
    r"hindu|sikh|buddhist|atheist|religious|black|white|asian|mexican|latino|hispanic|arab|"
    r"african|indian|pakistani|chinese|japanese|korean|russian|polish|romanian|nigerian|somali|"
    r"turkish|irish|immigrant|migrant|refugee|foreign|native|disabled|autistic|deaf|blind|"
    r"mentally\s+ill|schizophrenic|bipolar|old|elderly|fat|poor|homeless"
)
_GROUP_PERSONS = (
    r"people|persons|kids|children|men|women|folks|guys|girls|boys|adults|students|workers|"
    r"families|parents|teens|teenagers|drivers|neighbours|neighbors|customers|patients"
)
_GROUP = (
    rf"(?:^|\b(?:all|most|these|those|the|so\s+many|many|typical)\s+|\b)(?:{_GROUP_NOUNS}|"
    rf"(?:{_GROUP_ADJ})\s+(?:{_GROUP_PERSONS}))\b"
)
_BAD_NOUN = (
    r"(?:menaces?|parasites?|vermin|animals|savages|subhumans?|trash|garbage|filth|scum|"
    r"(?:a\s+)?(?:disease|plague|cancer|burden|drain|threat|danger|problem|waste\s+of\s+"
    r"\w+)|burdens|drains|criminals|terrorists|thieves|rapists|liars|idiots|morons|retards|"
    r"freaks|degenerates|abominations|mistakes|robots|pests|cockroaches|rats|dogs|monkeys|"
    r"apes|leeches|pigs|perverts|predators|devils|demons|hypocrites|lesser|second-class|"
    r"deviants|sheep|zombies|defective|inferior|the\s+(?:problem|enemy|worst))"
)
_BAD_ADJ = (
    r"(?:stupid|dumb|lazy|dirty|evil|inferior|disgusting|sick|primitive|violent|dangerous|"
    r"useless|worthless|greedy|brainwashed|confused|unnatural|gross|backwards|barbaric|"
    r"filthy|ugly|incapable|untrustworthy|soulless|uncivili[sz]ed|defective|broken|"
    r"mentally\s+ill|crazy|insane|deranged|weak|pathetic|selfish|immoral|perverted|"
    r"emotional|hysterical|irrational|cheap|sneaky|shady|treacherous|savage|subhuman|"
    r"(?:more|less|naturally|inherently|genetically)\s+(?:violent|dangerous|criminal|"
    r"intelligent|human|stupid|evil|aggressive))"
)
_ARE = r"(?:are|is|were|r)\s+"
_HEDGE = (
    r"(?:(?:all|just|basically|naturally|nothing\s+but|such|a\s+bunch\s+of|bunch\s+of|so|too|"
    r"really|inherently|genetically|simply|only|always|literally|honestly|totally|mostly|"
    r"pretty\s+much|clearly|obviously|complete|utter|filthy|dirty|dumb|stupid|lazy|"
    r"greedy|violent|dangerous|disgusting)\s+){0,4}"
)
IDENTITY_PATTERNS: tuple[str, ...] = (
    rf"{_GROUP}\s+{_ARE}{_HEDGE}(?:{_BAD_NOUN}|{_BAD_ADJ})\b",
    rf"{_GROUP}\s+(?:should|must|need\s+to|ought\s+to|deserve\s+to)\s+(?:all\s+)?(?:be\s+)?"
    r"(?:killed|deported|sent\s+back|locked\s+(?:up|away)|banned|sterili[sz]ed|shot|gassed|"
    r"exterminated|wiped\s+out|eliminated|segregated|removed|put\s+down|burned|hanged|hung|"
    r"beaten|die|suffer|fixed|cured|go\s+back|stay\s+in\s+the\s+kitchen|shut\s+up|be\s+"
    r"ashamed|never\s+(?:be\s+allowed|have|vote|work|marry)|stay\s+(?:quiet|silent|home|at\s+"
    r"home|in\s+their\s+place)|be\s+(?:quiet|silent|seen\s+and\s+not\s+heard)|know\s+their\s+"
    r"place|obey|submit|be\s+controlled|keep\s+(?:quiet|their\s+mouths\s+shut)|just\s+die|"
    r"hurry\s+up\s+and\s+die|be\s+kept\s+away)\b",
    rf"{_GROUP}\s+(?:just\s+|only\s+|all\s+|always\s+|basically\s+)?(?:leech(?:es)?\s+off|"
    r"sponge\s+off|mooch\s+off|scrounge|freeload|breed\s+like|infest|invade|ruin|destroy|"
    r"contaminate|pollute|spread\s+disease|are\s+to\s+blame\s+for|lie\s+about\s+everything|"
    r"can't\s+be\s+trusted|want\s+handouts|bring\s+(?:crime|disease|drugs))\b",
    rf"{_GROUP}\s+(?:shouldn't|should\s+not|mustn't|must\s+not)\s+(?:be\s+allowed|exist|have\s+"
    r"(?:rights|kids|children|jobs)|vote|work|marry|be\s+trusted|breed|be\s+(?:around|near)|"
    r"live|teach|lead)\b",
    rf"{_GROUP}\s+(?:can't|cannot|can\s+not|can\s+never|will\s+never|could\s+never)\s+(?:be\s+"
    r"trusted|be\s+(?:real|true|good|normal|proper|equal)|(?:really\s+)?(?:think|love|lead|"
    r"learn|work|contribute|be\s+friends))\b",
    rf"{_GROUP}\s+(?:don't|do\s+not|doesn't)\s+deserve\s+(?:rights|to\s+(?:live|exist|be\s+"
    r"here|vote|work)|respect|anything|love)\b",
    rf"{_GROUP}\s+(?:belong\s+in\s+(?:the\s+kitchen|cages|zoos|camps|prison|jail|asylums|"
    r"institutions)|(?:are|is)\s+(?:ruining|destroying|taking\s+over|invading|poisoning)|steal\s+"
    r"(?:our|all\s+the)|control\s+(?:everything|the\s+(?:world|media|banks|money))|have\s+no\s+"
    r"(?:morals|souls|value|brains|place)|(?:are|is)\s+(?:not|n't)\s+(?:real\s+)?(?:people|"
    r"humans?|women|men)|aren't\s+(?:real\s+)?(?:people|humans?|women|men)|(?:are|is)\s+bad\s+at"
    r"|(?:are|is)\s+a\s+(?:mental\s+illness|disease|sin|choice\s+that\s+should))\b",
    r"\b(?:being|is)\s+(?:gay|trans|transgender|bisexual|lesbian|queer|autistic|disabled)\s+"
    r"(?:is\s+)?(?:a\s+)?(?:mental\s+illness|disease|sin|disgusting|unnatural|a\s+choice\s+to\s+"
    r"be\s+fixed|wrong|sick)\b",
    r"\bgo\s+back\s+(?:to\s+(?:your|where)\s+(?:own\s+)?(?:country|you\s+came\s+from))",
)
SLUR_PATTERNS: tuple[str, ...] = (
    r"\bretard(?:s|ed)?\b",
    r"\bf[a@4*][gq]{1,2}[o0*]?[t]s?\b|\bf[\W_]?[a@4*]gg?[\W_]?[o0*]t\b",
    r"\b(?:you|ur|such\s+a|stupid|dirty|a)\s+fags?\b",
    r"\bdykes?\b",
    r"\btrann(?:y|ies)\b",
    r"\bkikes?\b",
    r"\bchinks?\b(?!\s+in\s+(?:the|his|her|their|my|your|our|its)\s+armou?r)",
    r"\bspics?\b",
    r"\bwetbacks?\b",
    r"\b(?:rag|towel)heads?\b",
    r"\bsand\s?n[i1!*]gg",
    r"\bgooks?\b",
    r"\bcoons?\b(?!\s+(?:hat|hound|skin))",
    r"\bn[i1!*]gg(?:er|a|ah|uh)s?\b|\bn[\W_]?[i1!*][\W_]?g[\W_]?g[\W_]?[e3]r",
    r"\bpakis?\b",
    r"\bspaz(?:z|zy|tic)?\b|\bspastics?\b",
    r"\bbeaners?\b",
    r"\bshemales?\b",
    r"\bgypos?\b|\bpikeys?\b",
)


@dataclass(frozen=True, slots=True)
class AbuseHit:
    kind: AbuseKind
    match: str


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[AbuseKind, re.Pattern[str]], ...]:
    table: tuple[tuple[AbuseKind, tuple[str, ...]], ...] = (
        ("slur", SLUR_PATTERNS),
        ("threat", THREAT_PATTERNS),
        ("identity", IDENTITY_PATTERNS),
        ("insult", INSULT_PATTERNS),
    )
    return tuple(
        (kind, re.compile("|".join(f"(?:{p})" for p in pats), re.IGNORECASE | re.MULTILINE))
        for kind, pats in table
    )


_NOT_AFTER_GROUP = re.compile(r"\b(?:are|is|were)\s+(?:not|n't|never)\b|\baren't\b|\bisn't\b")
# A stereotype named in order to reject it: "it's not true that immigrants are criminals",
# "some people say fat people are lazy, but that stereotype is wrong".
_REJECTED = re.compile(
    r"\b(?:not\s+true|isn't\s+true|is\s+not\s+true|untrue|a\s+myth|the\s+myth|stereotypes?|"
    r"false\s+that|is\s+false|is\s+wrong|are\s+wrong|it's\s+wrong\s+to|prejudiced?|racist|"
    r"sexist|homophobic|transphobic|ableist|bigoted|bigotry|hurtful|harmful\s+(?:idea|claim|"
    r"belief)|people\s+(?:say|claim|think)|some\s+(?:say|claim|think)|they\s+(?:say|claim)|the\s+"
    r"(?:idea|belief|claim|notion)\s+that|don't\s+believe|no\s+evidence|research\s+(?:shows|"
    r"says)|studies\s+show|contrary\s+to|debunked)\b",
    re.IGNORECASE,
)


def _sentence_around(text: str, start: int, end: int) -> str:
    left = max(text.rfind(c, 0, start) for c in ".!?;")
    rights = [i for i in (text.find(c, end) for c in ".!?;") if i >= 0]
    return text[left + 1 : (min(rights) + 1) if rights else len(text)]


def abuse_hits(text: str) -> list[AbuseHit]:
    """Abuse aimed at the user or at a group, with what matched. Negated insults ("you're
    not stupid") and negated group statements ("immigrants are not criminals") don't count."""
    norm = plain_quotes(clean(text))
    out: list[AbuseHit] = []
    for kind, pattern in _compiled():
        for m in pattern.finditer(norm):
            found = m.group(0)
            if kind in ("insult", "threat") and (
                _NEGATED.search(found)
                or _NEG_BEFORE.search(norm[max(0, m.start() - 60) : m.start()])
            ):
                continue
            if (
                kind == "identity"
                and _NOT_AFTER_GROUP.search(found)
                and not re.search(
                    r"(?:not|n't)\s+(?:real\s+)?(?:people|humans?|women|men)", found, re.IGNORECASE
                )
            ):
                continue
            if kind == "identity" and _REJECTED.search(_sentence_around(norm, m.start(), m.end())):
                continue
            out.append(AbuseHit(kind, found.strip()))
    return out
