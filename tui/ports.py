"""What the app is handed by the composition root (``companion.cli``), as types: the callables
it runs in thread workers and the learning loop's shape. Types only; nothing here runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from companion.server import StartProgress

if TYPE_CHECKING:
    from companion.engine import Engine

__all__ = ["LearningLoop", "LearningNotice", "RetrainJob", "RetrainProgress", "StartServer"]

StartServer = Callable[[StartProgress], "Engine | None"]
"""Starts or reuses the model server (blocking; run in a thread), reporting progress(message,
elapsed seconds). May return the engine bound to it, which the chat then uses; None keeps the
engine it has."""

RetrainProgress = Callable[[str, float | None], None]
"""progress(line, fraction 0..1 or None)"""

RetrainJob = Callable[[RetrainProgress], str]
"""Runs a retrain (blocking; run in a thread), reporting progress; returns one line for the
user, e.g. "adapter v3 is live"."""


class LearningNotice(Protocol):
    """What the learning loop tells the user (``align.autoloop.Notice``)."""

    @property
    def text(self) -> str: ...

    @property
    def severity(self) -> str:
        """information / warning / error"""
        ...


class LearningLoop(Protocol):
    """Pairs in the background and retrain.auto (``align.autoloop.LearningLoop``; the UI may
    not import align, so it names the shape it uses)."""

    @property
    def retraining(self) -> bool: ...

    def feedback_recorded(self) -> bool: ...

    def build_pairs(self, conversation_id: int | None) -> int: ...

    def maybe_retrain(self) -> LearningNotice | None: ...

    def poll(self) -> LearningNotice | None: ...
