"""The simulated user of `bench/memory.py --recall`: facts told across conversations, and the
later questions whose answers need them. Written for this project.

Each fact: what the user says (in one of five earlier conversations), the question asked in a
later, fresh conversation, and the words any right answer contains. ``split`` keeps a
held-out half: nothing in the memory code was tuned on either half, and the report gives both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    said: str
    question: str
    answer: tuple[str, ...]
    split: str = "dev"


FACTS: tuple[Fact, ...] = (
    Fact("My sister is called Ana.", "What is my sister's name?", ("Ana",)),
    Fact("My dog is called Biscuit.", "What's my dog called again?", ("Biscuit",)),
    Fact("Remember that my name is Tomasz.", "Do you know my name?", ("Tomasz",)),
    Fact("I love rock climbing.", "Which sport do I love?", ("climbing",)),
    Fact("I hate mushrooms.", "Which food do I hate?", ("mushroom",)),
    Fact("My best friend is called Priya.", "Who is my best friend?", ("Priya",)),
    Fact("I'm moving to Lisbon in March.", "Where am I moving to?", ("Lisbon",)),
    Fact("My cat is called Pepper.", "What is my cat's name?", ("Pepper",)),
    Fact("My favourite band is Radiohead.", "What is my favourite band?", ("Radiohead",)),
    Fact("Remember that I'm allergic to peanuts.", "What am I allergic to?", ("peanut",)),
    Fact("My brother is called Jonas.", "What's my brother's name?", ("Jonas",)),
    Fact("I love baking sourdough bread.", "What do I love baking?", ("sourdough", "bread")),
    Fact("I hate horror films.", "Which kind of films do I hate?", ("horror",)),
    Fact("My wife is called Mei.", "What's my wife's name?", ("Mei",)),
    Fact("I'm starting a new job at the library on Monday.", "Where is my new job?", ("library",)),
    Fact("My son is called Leo.", "What is my son's name?", ("Leo",)),
    Fact("My favourite colour is green.", "What is my favourite colour?", ("green",)),
    Fact("I love playing the cello.", "Which instrument do I love playing?", ("cello",)),
    Fact("My parrot is called Kiwi.", "What's the name of my parrot?", ("Kiwi",)),
    Fact("I hate cold weather.", "What kind of weather do I hate?", ("cold",)),
    Fact("My mum is called Rosa.", "What's my mum's name?", ("Rosa",), "heldout"),
    Fact("My hamster is called Nugget.", "What's my hamster called?", ("Nugget",), "heldout"),
    Fact("I love watching football.", "What do I love watching?", ("football",), "heldout"),
    Fact("I hate spiders.", "Which animals do I hate?", ("spider",), "heldout"),
    Fact("My daughter is called Zoe.", "What is my daughter's name?", ("Zoe",), "heldout"),
    Fact("I'm going to Japan in April.", "Where am I going in April?", ("Japan",), "heldout"),
    Fact("My favourite book is Dune.", "Which book is my favourite?", ("Dune",), "heldout"),
    Fact("Remember that my husband is called Karim.", "Who is my husband?", ("Karim",), "heldout"),
    Fact("My boss is called Helen.", "What's my boss's name?", ("Helen",), "heldout"),
    Fact("I love gardening.", "Which hobby do I love?", ("gardening", "garden"), "heldout"),
    Fact("I hate loud music.", "What kind of music do I hate?", ("loud",), "heldout"),
    Fact("My rabbit is called Clover.", "What's my rabbit's name?", ("Clover",), "heldout"),
    Fact("My grandmother is called Edith.", "What is my grandma's name?", ("Edith",), "heldout"),
    Fact(
        "I'm running a marathon in Berlin in September.",
        "Which city is my marathon in?",
        ("Berlin",),
        "heldout",
    ),
    Fact(
        "My favourite food is lasagne.",
        "What is my favourite food?",
        ("lasagne", "lasagna"),
        "heldout",
    ),
    Fact("I love chess.", "Which game do I love?", ("chess",), "heldout"),
    Fact("My friend Omar is a nurse.", "What does my friend Omar do?", ("nurse",), "heldout"),
    Fact("My partner is called Sam.", "What's my partner's name?", ("Sam",), "heldout"),
    Fact("I hate waking up early.", "What do I hate doing?", ("early", "waking"), "heldout"),
    Fact("My goldfish is called Bubbles.", "What's my goldfish called?", ("Bubbles",), "heldout"),
)

SMALL_TALK: tuple[str, ...] = (
    "Hi! How are you today?",
    "It has been a long week.",
    "Anyway, what should I cook tonight?",
    "Thanks, that helps.",
    "I might go for a walk later.",
)
"""Said between the facts, as people do."""
