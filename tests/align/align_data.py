"""Small literal datasets shared by the align tests."""

from __future__ import annotations

import random

from picks_data import OPENERS, STEMS

SYSTEM = "You are Sam, a warm companion."


def sft_rows(n: int = 16) -> list[dict]:
    rng = random.Random(0)
    rows = []
    for i in range(n):
        user = OPENERS[i % len(OPENERS)]
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": f"{rng.choice(STEMS)}. How do you feel?"},
                ]
            }
        )
    return rows


def trait_pairs(n: int, seed: int) -> list[dict]:
    """Pairs whose chosen reply ends with a question and whose rejected one does not."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        user = rng.choice(OPENERS)
        stem = rng.choice(STEMS)
        rows.append(
            {
                "prompt": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": user},
                ],
                "chosen": [{"role": "assistant", "content": f"{stem}. What happened?"}],
                "rejected": [{"role": "assistant", "content": f"{stem}. Okay then."}],
            }
        )
    return rows
