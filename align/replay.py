"""What one round trains on: the pairs the live adapter has not learned, plus a replay sample
of the older ones, within a budget of rows. The round's cost then follows the new feedback, not
the whole history, and the replay keeps what earlier rounds learned from being forgotten.

"New" means made after the training run of the live adapter began (pairs of a rejected round
were never learned, so they stay new). Without such a run every pair is new. Over budget, the
newest are kept; the replay sample is drawn at random, the same for the same pairs.

>>> from types import SimpleNamespace as P
>>> pairs = [P(hash=f"h{i}", created_at=i) for i in range(10)]
>>> rows, note = replay_round(pairs, since=7, max_rows=6, replay_ratio=1.0)
>>> sorted(p.created_at for p in rows if p.created_at > 7), len(rows)
([8, 9], 4)
>>> note
'2 new pairs + a sample of 2 of the 8 older (budget 6 rows)'
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar


class Dated(Protocol):
    @property
    def hash(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


D = TypeVar("D", bound=Dated)


def max_rows_for(step_budget: int, batch_size: int, epochs: float) -> int:
    """The rows a round of `step_budget` optimizer steps covers (0: no budget).

    >>> max_rows_for(32, 4, 2.0), max_rows_for(0, 4, 2.0)
    (64, 0)
    """
    if step_budget <= 0:
        return 0
    return max(1, int(step_budget * batch_size / max(epochs, 1e-9)))


def replay_round(
    pairs: Sequence[D], *, since: datetime | None, max_rows: int, replay_ratio: float
) -> tuple[list[D], str | None]:
    """(rows to train on, a note for the report, or None when everything fits as it is)."""
    if since is None:
        new, old = list(pairs), []
    else:
        new = [p for p in pairs if p.created_at > since]
        old = [p for p in pairs if p.created_at <= since]
    if max_rows <= 0:
        return list(pairs), None
    if not new:  # nothing new (a retrain on request): a sample of everything
        new, old = [], list(pairs)
        want = min(len(old), max_rows)
    else:
        new = sorted(new, key=lambda p: p.created_at)[-max_rows:]
        want = min(len(old), int(round(len(new) * replay_ratio)), max_rows - len(new))
    seed = hashlib.sha256("".join(sorted(p.hash for p in pairs)).encode()).hexdigest()
    replay = random.Random(seed).sample(old, want) if want > 0 else []
    rows = new + replay
    if len(rows) == len(pairs):
        return rows, None
    if not old:
        return rows, f"the newest {len(new)} of {len(pairs)} pairs (budget {max_rows} rows)"
    return rows, (
        f"{len(new)} new pairs + a sample of {len(replay)} of the {len(old)} older "
        f"(budget {max_rows} rows)"
    )


KTO_MIN_STEPS = 2
"""Steps a combined round holds back for its KTO stage, so DPO cannot use the whole budget."""


def stage_steps(rows: int, epochs: float, batch_size: int) -> int:
    """Optimizer steps `rows` take for `epochs` as the Trainer counts them (whole batches per
    epoch, then the epochs rounded up).

    >>> stage_steps(10, 2.0, 4), stage_steps(10, 1.0, 4), stage_steps(0, 2.0, 4)
    (6, 3, 0)
    """
    return math.ceil(epochs * math.ceil(rows / max(batch_size, 1)))


def kto_reserve(budget: int, kto_wanted: int, min_steps: int = KTO_MIN_STEPS) -> int:
    """Steps of a combined round's `budget` (0: none) held back from the DPO stage for the
    KTO stage: what KTO wants, at most `min_steps`, and always leaving DPO one step.

    >>> kto_reserve(32, 10), kto_reserve(32, 1), kto_reserve(2, 10), kto_reserve(1, 10)
    (2, 1, 1, 0)
    >>> kto_reserve(0, 10)
    0
    """
    if budget <= 0:
        return 0
    return max(0, min(kto_wanted, min_steps, budget - 1))


def kto_stage_steps(budget: int, dpo_steps: int, kto_wanted: int, reserve: int) -> int:
    """The KTO stage's steps in a combined round: what its rows want, within what the DPO
    stage left of `budget` (0: no budget), and never fewer than the `reserve` held back
    for it. The DPO stage's rows (or its max_steps) were cut to ``budget - reserve``, so the
    two stages stay within the budget; only DPO's own rounding of whole batches can pass it.

    >>> kto_stage_steps(32, 10, 50, 2), kto_stage_steps(32, 10, 5, 2), kto_stage_steps(0, 10, 5, 0)
    (22, 5, 5)
    >>> kto_stage_steps(8, 8, 5, 2), kto_stage_steps(8, 6, 1, 1)
    (2, 1)
    """
    if budget <= 0:
        return kto_wanted
    return min(kto_wanted, max(reserve, budget - dpo_steps))
