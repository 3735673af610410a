"""A stored memory as a line about the user for the system prompt (pure).

Memories are stored as the user reads them: addressed to the user ("Your sister is called
Ana.", what a suggestion says) or in the user's own words ("my sister is Ana", what they type
in `companion memory add`). Under the prompt's heading "Things you remember about the user"
both would mislead a small model, whose "you" is itself; so each line says "the user".

>>> about_user("Your sister is called Ana.")
"The user's sister is called Ana."
>>> about_user("You don't like olives.")
"The user doesn't like olives."
>>> about_user("I'm allergic to peanuts")
'The user is allergic to peanuts.'
>>> about_user("Ana is my sister")
"Ana is the user's sister."
"""

from __future__ import annotations

import re

from companion.memory.extract import third_person_verb

_CONTRACTIONS = {
    "are": "is", "were": "was", "have": "has", "don't": "doesn't", "do": "does", "am": "is",
    "'re": " is", "'ve": " has", "'ll": " will", "'d": " would", "'m": " is", "haven't": "hasn't",
}  # fmt: skip
_SUBJECT = re.compile(r"^(you|i)('(?:re|ve|ll|d|m)|\s+[a-z']+)", re.I)
_FIRST = re.compile(r"^(?:i\b|i'|my\b|mine\b)|\b(?:i|my|me|mine|myself)\b", re.I)
_OWN = {"first": {"my": "the user's", "mine": "the user's", "me": "the user", "myself":
        "themselves", "i": "the user"},
        "second": {"your": "the user's", "yours": "the user's", "you": "the user", "yourself":
        "themselves", "me": "you", "my": "your", "myself": "yourself"}}  # fmt: skip
_WORD = re.compile(r"\b[a-z]+\b", re.I)


def about_user(note: str) -> str:
    """``note`` with the user in the third person, as one sentence. In the user's own words
    "you" is the companion; in a note addressed to the user "me" is.

    >>> about_user("you love hiking in the Alps")
    'The user loves hiking in the Alps.'
    >>> about_user("Call me Sam, never Samuel!")
    'Call the user Sam, never Samuel!'
    >>> about_user("You asked me not to call you sweetheart.")
    'The user asked you not to call the user sweetheart.'
    >>> about_user("I want you to stop asking about work")
    'The user wants you to stop asking about work.'
    """
    text = " ".join(note.replace("’", "'").split())
    if not text:
        return ""
    own = _OWN["first" if _FIRST.search(text) and not text.lower().startswith("you") else "second"]
    rest = text
    lead = ""
    m = _SUBJECT.match(text)
    if m and (m.group(1).lower() == "i") == ("i" in own):
        verb = m.group(2).strip().lower()
        lead = "the user " + _CONTRACTIONS.get(verb, third_person_verb(verb)).strip()
        rest = text[m.end() :]
    rest = _WORD.sub(lambda w: own.get(w.group().lower(), w.group()), rest)
    text = (lead + rest).strip()
    text = text[:1].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."
