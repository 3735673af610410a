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
