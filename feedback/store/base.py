"""The plumbing every part of the Store shares: engine, clock, sessions, write transactions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col
from sqlmodel.sql.expression import SelectOfScalar

from feedback.db import WRITE_OPTION, retrying
from feedback.models import Conversation, utcnow

T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)


class NotFound(LookupError):
    """The id (or version) names nothing in the database."""


def check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    """Raise ValueError unless `value` is one of `allowed` (`what` names it in the message)."""
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")


class StoreBase:
    """The engine, the clock and the transaction helpers every part of the Store uses."""

    def __init__(self, engine: Engine, *, now: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self._now = now
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})

    def close(self) -> None:
        """Close the engine's pooled connections (the Store is unusable afterwards)."""
        self.engine.dispose()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in one write transaction and commit; retried on transient lock errors."""

        def attempt() -> T:
            with Session(self._write_engine, expire_on_commit=False) as s:
                result = fn(s)
                s.commit()
                return result

        return retrying(attempt)

    def _add(self, row: M) -> M:
        """Insert `row` in its own transaction; it comes back with its id."""

        def do(s: Session) -> M:
            s.add(row)
            s.flush()
            return row

        return self._write(do)

    def _find(self, model: type[M], ident: int) -> M | None:
        with self._session() as s:
            return s.get(model, ident)

    def _all(self, stmt: SelectOfScalar[M]) -> list[M]:
        with self._session() as s:
            return list(s.exec(stmt))

    def _first(self, stmt: SelectOfScalar[M]) -> M | None:
        with self._session() as s:
            return s.exec(stmt).first()

    @staticmethod
    def _get(s: Session, model: type[T], ident: int) -> T:
        obj = s.get(model, ident)
        if obj is None:
            raise NotFound(f"{model.__name__.lower()} {ident} not found")
        return obj

    def _touch(self, s: Session, conversation_id: int) -> None:
        s.exec(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id)
            .values(updated_at=self._now())
        )
