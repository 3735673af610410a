"""A holdout the gate can judge on, whatever the conversation split gave.

The stored split sends whole conversations to holdout by a hash of their id (`split_of`), so
a user with few conversations can end up with no holdout pair at all, and the gate then has
nothing to judge. `ensure_holdout` sets aside more for this round only, honestly: whole
conversations first (nothing of theirs is trained on), in a fixed order; and when one
conversation holds (nearly) everything, its latest turns, so no turn is both trained on and
judged. The stored split is never changed.

>>> from types import SimpleNamespace as P
>>> train = [P(conversation_id=c, message_id=m) for c, m in [(1, 1), (1, 2), (2, 3), (3, 4)]]
>>> t, h, note = ensure_holdout(train, [], min_holdout=1, min_train=2)
>>> len(t), len(h), note
(3, 1, 'the conversation split left 0 holdout pairs (< 1): set aside 1 conversation (1 pair)')
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Protocol, TypeVar


class PairLike(Protocol):
    @property
    def conversation_id(self) -> Hashable: ...
    @property
    def message_id(self) -> Hashable: ...


P = TypeVar("P", bound=PairLike)


def _order(key: Hashable) -> str:
    # Not the split's own hash: the conversations set aside are not those it kept nearest.
    return hashlib.sha256(f"set-aside:{key}".encode()).hexdigest()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def ensure_holdout(
    train: Sequence[P], holdout: Sequence[P], *, min_holdout: int, min_train: int
) -> tuple[list[P], list[P], str | None]:
    """(train, holdout, what was done or None) with at least `min_holdout` holdout pairs
    where that leaves `min_train` to train on; otherwise as given, and the note says why."""
    train, holdout = list(train), list(holdout)
    if len(holdout) >= min_holdout or min_holdout <= 0:
        return train, holdout, None
    short = f"the conversation split left {_plural(len(holdout), 'holdout pair')} (< {min_holdout})"
    by_conv: dict[Hashable, list[P]] = defaultdict(list)
    for p in train:
        by_conv[p.conversation_id].append(p)
    moved: set[int] = set()  # id() of the training pairs set aside

    def spare(pairs: list[P]) -> bool:
        """Set `pairs` aside if training keeps `min_train` without them."""
        if len(train) - len(moved) - len(pairs) < min_train:
            return False
        holdout.extend(pairs)
        moved.update(id(p) for p in pairs)
        return True

    convs = []
    for conv in sorted(by_conv, key=_order):
        if len(holdout) >= min_holdout:
            break
        if spare(by_conv[conv]):
            convs.append(conv)
    notes = []
    if convs:
        n = sum(len(by_conv[c]) for c in convs)
        notes.append(f"set aside {_plural(len(convs), 'conversation')} ({_plural(n, 'pair')})")
    if len(holdout) < min_holdout:
        # The latest turns of the biggest conversation: its later context is not trained on.
        turns: dict[Hashable, list[P]] = defaultdict(list)
        for p in max(by_conv.values(), key=len, default=[]):
            if id(p) not in moved:
                turns[p.message_id].append(p)
        moved_turns = 0
        for msg in reversed(list(turns)):
            if len(holdout) >= min_holdout or not spare(turns[msg]):
                break
            moved_turns += 1
        if moved_turns:
            notes.append(f"set aside the latest {_plural(moved_turns, 'turn')} of one conversation")
    train = [p for p in train if id(p) not in moved]
    if len(holdout) < min_holdout:
        notes.append(
            f"still {_plural(len(holdout), 'holdout pair')}: too few pairs to judge and to "
            f"train on {min_train}"
        )
    return train, holdout, f"{short}: {'; '.join(notes)}" if notes else short
