"""Preference pairs: what align derives from the feedback, stored once per content hash."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import delete, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from feedback.db import is_sqlite
from feedback.models import SPLITS, PreferencePair, column_names, pair_hash, table_of
from feedback.store.base import StoreBase, check_choice

_PAIR_COLUMNS = tuple(c for c in column_names(PreferencePair) if c != "id")


def delete_conversation_pairs(s: Session, conversation_id: int) -> int:
    """Drop the pairs built from one conversation, in the caller's transaction."""
    res = s.exec(
        delete(PreferencePair).where(col(PreferencePair.conversation_id) == conversation_id)
    )
    return int(res.rowcount)


class PairRepo(StoreBase):
    def add_pairs(self, pairs: Iterable[PreferencePair], *, batch_size: int = 500) -> int:
        """Insert pairs, skipping any whose hash is already stored. Returns how many were new.

        Each batch commits on its own, so a long stream makes progress durably.
        """
        insert_fn = sqlite_insert if is_sqlite(self.engine) else pg_insert
        table = table_of(PreferencePair)
        added = 0
        batch: dict[str, dict[str, object]] = {}

        def write(rows: list[dict[str, object]]) -> int:
            def do(s: Session) -> int:
                stmt = (
                    insert_fn(table)
                    .on_conflict_do_nothing(index_elements=["hash"])
                    .returning(table.c.id)
                )
                # RETURNING yields only the inserted rows (rowcount is -1 on psycopg).
                return len(s.exec(stmt, params=rows).all())

            return self._write(do)

        now = self._now()
        for p in pairs:
            check_choice(p.split, SPLITS, "split")
            h = p.hash or pair_hash(p.prompt, p.chosen, p.rejected)
            row = {name: getattr(p, name) for name in _PAIR_COLUMNS}
            batch[h] = row | {"hash": h, "created_at": p.created_at or now}
            if len(batch) >= batch_size:
                added += write(list(batch.values()))
                batch = {}
        if batch:
            added += write(list(batch.values()))
        return added

    def iter_pairs(
        self, split: str | None = None, *, source: str | None = None, batch_size: int = 1000
    ) -> Iterator[PreferencePair]:
        """Stored pairs in insertion order, streamed; detached plain objects."""
        stmt = select(PreferencePair).order_by(col(PreferencePair.id))
        if split is not None:
            stmt = stmt.where(col(PreferencePair.split) == split)
        if source is not None:
            stmt = stmt.where(col(PreferencePair.source) == source)
        with self._session() as s:
            for pair in s.exec(stmt.execution_options(yield_per=batch_size)):
                s.expunge(pair)
                yield pair

    def count_pairs(self, split: str | None = None, *, since: datetime | None = None) -> int:
        """Stored pairs (of one split; created after `since`)."""
        stmt = sa_select(func.count()).select_from(PreferencePair)
        if split is not None:
            stmt = stmt.where(col(PreferencePair.split) == split)
        if since is not None:
            stmt = stmt.where(col(PreferencePair.created_at) > since)
        with self._session() as s:
            return int(s.execute(stmt).scalar_one())

    def pair_hashes(self, conversation_id: int | None = None) -> set[str]:
        """Content hashes of the stored pairs (of one conversation); only the hash column."""
        stmt = sa_select(col(PreferencePair.hash))
        if conversation_id is not None:
            stmt = stmt.where(col(PreferencePair.conversation_id) == conversation_id)
        with self._session() as s:
            return set(s.execute(stmt).scalars())

    def delete_pairs(self, hashes: Iterable[str]) -> int:
        """Drop pairs by content hash (pairs whose feedback has changed since)."""
        wanted = list(hashes)
        if not wanted:
            return 0

        def do(s: Session) -> int:
            stmt = delete(PreferencePair).where(col(PreferencePair.hash).in_(wanted))
            return int(s.exec(stmt).rowcount or 0)

        return self._write(do)

    def count_pairs_by_source(self) -> dict[str, int]:
        stmt = sa_select(col(PreferencePair.source), func.count()).group_by(PreferencePair.source)
        with self._session() as s:
            return {src: int(n) for src, n in s.execute(stmt)}

    def delete_pairs_for_conversation(self, conversation_id: int) -> int:
        return self._write(lambda s: delete_conversation_pairs(s, conversation_id))

    def clear_pairs(self) -> int:
        """Delete every stored pair (align rebuilding from scratch)."""
        return self._write(lambda s: int(s.exec(delete(PreferencePair)).rowcount))
