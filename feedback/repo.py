"""The repository: every read and write the app, the engine and align make to the database.

``Store`` wraps an injected Engine (and clock). Each write runs in its own transaction and is
committed before the method returns, so a caller that got a result back may tell the user it
is saved. Returned ORM objects are detached and fully loaded (``expire_on_commit=False``);
they stay usable after the session is gone but are snapshots: re-read to see later changes.

The methods live in ``feedback.store``, one module per concern; ``Store`` assembles them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from feedback.db import make_engine, migrate
from feedback.models import utcnow
from feedback.store.adapters import AdapterRepo
from feedback.store.base import NotFound, StoreBase
from feedback.store.candidates import CandidateRepo
from feedback.store.conversations import TITLE_CHARS, ConversationRepo
from feedback.store.forgetting import ForgettingRepo
from feedback.store.memories import KEEP, MemoryRepo
from feedback.store.messages import MessageRepo
from feedback.store.pairs import PairRepo
from feedback.store.ratings import RatingRepo
from feedback.store.runs import TrainingRunRepo
from feedback.store.safety import SafetyRepo
from feedback.store.search import SearchRepo
from feedback.store.turns import CandidateRecord, TurnRecord, TurnRepo

__all__ = [
    "TITLE_CHARS",
    "KEEP",
    "CandidateRecord",
    "NotFound",
    "Store",
    "TurnRecord",
    "open_store",
]


class Store(
    ConversationRepo,
    MessageRepo,
    CandidateRepo,
    RatingRepo,
    SafetyRepo,
    TurnRepo,
    PairRepo,
    TrainingRunRepo,
    AdapterRepo,
    MemoryRepo,
    ForgettingRepo,
    SearchRepo,
    StoreBase,
):
    """Repository over an injected Engine. Thread-safe: each call uses its own session."""


def open_store(
    database_url: str, *, backup_dir: Path | None = None, now: Callable[[], datetime] = utcnow
) -> Store:
    """Engine + migration (after a backup when one is due) + crash recovery, in one call."""
    engine = make_engine(database_url)
    migrate(engine, backup_dir)
    store = Store(engine, now=now)
    store.recover_interrupted()
    return store
