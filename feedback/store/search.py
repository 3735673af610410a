"""Searching what was said: lexical hits (FTS5 / PostgreSQL full text), and the messages a
semantic index embeds (``messages_after``), both limited to what may be recalled.

What may be recalled: user and assistant messages that are finished (``complete``, or
``stopped`` by the user: the text they saw), not empty, and not in a conversation that had a
crisis event. The index objects are made by migrations 0003 and 0004.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.sql.selectable import TextualSelect

from feedback.models import UTCDateTime
from feedback.store.base import StoreBase

RECALLED_ROLES: tuple[str, ...] = ("user", "assistant")
FINISHED: tuple[str, ...] = ("complete", "stopped")
SEARCH_OBJECTS: frozenset[str] = frozenset(
    {
        "message_fts",
        "message_fts_data",
        "message_fts_idx",
        "message_fts_docsize",
        "message_fts_config",
        "message_fts_content",
        "ix_message_text_fts",
        "text_search",
        "ix_message_text_search",
        "ix_safety_event_crisis",
    }
)
"""Migrations 0003 and 0004's objects, which the models do not describe (autogenerate skips
them)."""

MAX_TERMS = 12
WINDOW = 500
"""A lexical search ranks only the newest WINDOW matches (SQLite; PostgreSQL: PG_WINDOW), so
a common word costs the same at 1M messages as at 10k; the semantic index covers all of
history."""
PG_WINDOW = 100
PG_SPAN = 80 * PG_WINDOW
PG_WIDEN = 4
"""PostgreSQL's GIN index returns matches unordered, so the newest ones of a common word
would cost reading every match: a search reads the newest PG_SPAN ids, then older slices
PG_WIDEN times larger, until its window is full; in each the planner either walks the
slice's primary key range (a common word, which fills the window in the first slice) or
takes the GIN index (a rare one: few matches), so the cost does not grow with the history.
Its window is smaller than SQLite's (FTS5 reads matches newest first): a common word costs
PostgreSQL PG_SPAN rows."""
STALE_GENERATING = timedelta(hours=1)
"""A reply still ``generating`` after this long is stuck (recovery marks it at the next
start): catch-up stops waiting for it."""

# Words that match most messages and say nothing about which one is meant.
STOPWORDS: frozenset[str] = frozenset(
    """a about after again all am an and any are as at be been before being but by can could
    did do does doing don done for from get got had has have having he her here hers him his
    how i if im in into is it its just let like me more most my myself no nor not now of off
    on once only or other our ours out over own please really same she should so some such
    than that thats the their theirs them then there these they this those through to too
    under until up us very was we were what whats when where which while who whom why will
    with would you your yours yourself ll re ve s t d m""".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message that may be recalled. ``score``: higher is better (0 when not ranked)."""

    message_id: int
    conversation_id: int
    role: str
    text: str
    created_at: datetime
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class MessageBatch:
    """``rows``: the recallable messages after the asked id; ``next_id``: every message up to
    it is settled (the next call starts there, skipped rows included)."""

    rows: list[SearchHit]
    next_id: int


def search_terms(query: str) -> list[str]:
    """The words of `query` worth matching: lower-cased, no stopwords, unique, at most
    MAX_TERMS (pure). Only word characters survive, so no user text reaches a query parser."""
    terms: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        if word not in STOPWORDS and not word.isdigit() and len(word) <= 64:
            terms.setdefault(word, None)
    return list(terms)[:MAX_TERMS]


def fts5_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression: each term a quoted string, any of them (pure)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


_ROWS_ELIGIBLE = """
    m.role IN {roles} AND m.status IN {finished} AND m.text <> ''
    {exclude}
"""
_NO_CRISIS = """
    NOT EXISTS (
        SELECT 1 FROM safety_event e WHERE e.conversation_id = m.conversation_id
        AND e.kind = 'crisis')
"""
_ELIGIBLE = _ROWS_ELIGIBLE + " AND " + _NO_CRISIS
_COLUMNS = "m.id, m.conversation_id, m.role, m.text, m.created_at"

_SQLITE_SEARCH = f"""
    SELECT {_COLUMNS}, -w.rank AS score
    FROM (SELECT rowid AS id, bm25(message_fts) AS rank FROM message_fts
          WHERE message_fts MATCH :q ORDER BY rowid DESC LIMIT :window) w
    JOIN message m ON m.id = w.id
    WHERE {{eligible}}
    ORDER BY w.rank, m.id DESC LIMIT :limit
"""
# One slice of ids: the planner reads the slice by primary key (a common word) or takes
# the GIN index (a rare one). ``m.id + 0``: walking the key backwards until LIMIT matches
# looks cheap to it, and reads the whole slice when a word is rarer than it guessed.
_POSTGRES_SLICE = f"""
    SELECT {_COLUMNS}, ts_rank(m.text_search, websearch_to_tsquery('simple', :q)) AS score,
        {{no_crisis}} AS recallable
    FROM message m
    WHERE m.text_search @@ websearch_to_tsquery('simple', :q)
        AND m.id > :floor AND m.id <= :ceiling AND {{rows_eligible}}
    ORDER BY m.id + 0 DESC LIMIT :need
"""
# A plan for an unknown floor and words would read every match (psycopg prepares a query
# run often, and PostgreSQL may then plan it once for any values): this transaction plans
# each search for its own.
_NEWEST_CUSTOM_PLANS = text(
    "SELECT (SELECT max(id) FROM message), set_config('plan_cache_mode', 'force_custom_plan', true)"
)
_BY_IDS = f"""
    SELECT {_COLUMNS} FROM message m WHERE m.id IN :ids AND {{eligible}}
"""
_AFTER = """
    SELECT m.id, m.conversation_id, m.role, m.text, m.created_at, m.status,
        EXISTS (SELECT 1 FROM safety_event e WHERE e.conversation_id = m.conversation_id
                AND e.kind = 'crisis') AS crisis
    FROM message m WHERE m.id > :last ORDER BY m.id LIMIT :limit
"""


def _typed(sql: str, exclude: int | None = None) -> TextualSelect:
    """`sql` with its eligibility filter filled in (the current conversation left out when
    `exclude` is given), its timestamps read back as aware UTC."""
    fill = {
        "roles": repr(RECALLED_ROLES),
        "finished": repr(FINISHED),
        "exclude": "" if exclude is None else "AND m.conversation_id <> :exclude",
    }
    return text(
        sql.format(
            eligible=_ELIGIBLE.format(**fill),
            rows_eligible=_ROWS_ELIGIBLE.format(**fill),
            no_crisis=_NO_CRISIS,
        )
    ).columns(created_at=UTCDateTime())


class SearchRepo(StoreBase):
    def search_messages(
        self, query: str, *, exclude_conversation: int | None, limit: int
    ) -> list[SearchHit]:
        """Recallable messages that share words with `query`, best first. Any text is a
        valid query; one with no words worth matching finds nothing."""
        terms = search_terms(query)
        if not terms or limit <= 0:
            return []
        params: dict[str, object] = {}
        if exclude_conversation is not None:
            params["exclude"] = exclude_conversation
        if self.engine.dialect.name == "postgresql":
            return self._search_postgres(" or ".join(terms), exclude_conversation, limit, params)
        params.update(q=fts5_query(terms), window=WINDOW, limit=limit)
        with self.engine.connect() as conn:
            rows = conn.execute(_typed(_SQLITE_SEARCH, exclude_conversation), params).all()
        return [SearchHit(r[0], r[1], r[2], r[3], r[4], float(r[5])) for r in rows]

    def _search_postgres(
        self, q: str, exclude: int | None, limit: int, params: dict[str, object]
    ) -> list[SearchHit]:
        """The newest PG_WINDOW matches, read slice by slice (PG_SPAN ids, then PG_WIDEN
        times more each time, older), ranked by ``ts_rank``."""
        stmt = _typed(_POSTGRES_SLICE, exclude)
        window: list[tuple[SearchHit, bool]] = []
        with self.engine.connect() as conn:
            ceiling = int(conn.execute(_NEWEST_CUSTOM_PLANS).scalar() or 0)
            span = PG_SPAN
            while ceiling > 0 and len(window) < PG_WINDOW:
                floor = max(ceiling - span, 0)
                bounds = {"floor": floor, "ceiling": ceiling, "need": PG_WINDOW - len(window)}
                for r in conn.execute(stmt, {**params, "q": q, **bounds}):
                    window.append((SearchHit(r[0], r[1], r[2], r[3], r[4], float(r[5])), r[6]))
                ceiling, span = floor, span * PG_WIDEN
        hits = sorted((h for h, ok in window if ok), key=lambda h: (-h.score, -h.message_id))
        return hits[:limit]

    def recallable_messages(
        self, ids: Sequence[int], *, exclude_conversation: int | None
    ) -> list[SearchHit]:
        """The messages among `ids` that may be recalled now (in no particular order): an
        index hit is checked here, so a message deleted, edited into a crisis conversation
        or in the current one since it was indexed is never recalled."""
        if not ids:
            return []
        stmt = _typed(_BY_IDS, exclude_conversation).bindparams(bindparam("ids", expanding=True))
        with self.engine.connect() as conn:
            params: dict[str, object] = {"ids": list(ids)}
            if exclude_conversation is not None:
                params["exclude"] = exclude_conversation
            rows = conn.execute(stmt, params).all()
        return [SearchHit(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def messages_after(self, last_id: int, limit: int) -> MessageBatch:
        """Up to `limit` messages after `last_id`, in id order, for an index to catch up:
        the recallable ones, and how far it got. It stops before a reply still being
        generated (its text is not final), unless that one is stuck."""
        stale = self._now() - STALE_GENERATING
        with self.engine.connect() as conn:
            rows = conn.execute(_typed(_AFTER), {"last": last_id, "limit": limit}).all()
        out: list[SearchHit] = []
        next_id = last_id
        for ident, conv, role, body, created, status, crisis in rows:
            if status == "generating" and created > stale:
                break
            next_id = ident
            if role in RECALLED_ROLES and status in FINISHED and body.strip() and not crisis:
                out.append(SearchHit(ident, conv, role, body, created))
        return MessageBatch(out, next_id)

    def max_message_id(self) -> int:
        """The newest message's id (0 when there are none)."""
        with self.engine.connect() as conn:
            value = conn.execute(text("SELECT max(id) FROM message")).scalar()
        return int(value or 0)
