"""A simulated user's feedback, shared by the align and fault tests: it always picks the reply
that ends with a question."""

from __future__ import annotations

import random
from typing import Protocol

OPENERS = [
    "I had a long day.",
    "Work was stressful.",
    "I went for a walk.",
    "My cat is sick.",
    "I cooked pasta tonight.",
    "I can't sleep.",
    "I passed my exam!",
    "It's raining again.",
    "I called my mum.",
    "I'm bored.",
    "I started a new book.",
    "My friend visited.",
]
STEMS = [
    "That sounds like a lot",
    "I'm glad you told me",
    "Thanks for sharing that",
    "That must feel big",
]


class _Row(Protocol):
    id: int


class _FeedbackStore(Protocol):
    def create_conversation(self, persona: str) -> _Row: ...
    def add_message(self, conversation_id: int, role: str, content: str, **kw: object) -> _Row: ...
    def add_candidate(self, message_id: int, text: str, **kw: object) -> _Row: ...
    def choose(self, message_id: int, candidate_id: int) -> object: ...
    def rate(self, candidate_id: int, rating: int) -> object: ...


def record_question_picks(
    store: _FeedbackStore, n_convs: int, seed: int = 0, rate_every: int = 0
) -> None:
    """One pick per conversation; every `rate_every`-th turn also thumbs the loser down."""
    rng = random.Random(seed)
    for i in range(n_convs):
        conv = store.create_conversation("default")
        user = store.add_message(conv.id, "user", rng.choice(OPENERS))
        reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
        stem = rng.choice(STEMS)
        good = store.add_candidate(reply.id, f"{stem}. What happened?", shown=True)
        bad = store.add_candidate(reply.id, f"{stem}. Okay then.")
        store.choose(reply.id, good.id)
        if rate_every and i % rate_every == 0:
            store.rate(bad.id, -1)
