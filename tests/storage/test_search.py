"""Message search (migrations 0003, 0004): lexical hits and index catch-up, on SQLite and
PostgreSQL, limited to what may be recalled (finished, user/assistant, no crisis conversation)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback.repo import Store
from feedback.store import search
from feedback.store.search import fts5_query, search_terms


def _conversation(store: Store, *texts: str, persona: str = "default") -> tuple[int, list[int]]:
    conv = store.create_conversation(persona)
    assert conv.id is not None
    ids, parent = [], None
    for i, t in enumerate(texts):
        msg = store.add_message(conv.id, "user" if i % 2 == 0 else "assistant", t, parent)
        assert msg.id is not None
        ids.append(msg.id)
        parent = msg.id
    return conv.id, ids


def test_search_terms_drop_stopwords_and_syntax() -> None:
    assert search_terms("How is Ana doing?") == ["ana"]
    assert search_terms('"AND OR NEAR( *') == ["near"]
    assert search_terms("") == [] and search_terms("?!* ()") == []
    assert fts5_query(["ana", "near"]) == '"ana" OR "near"'


def test_search_finds_words_in_other_conversations(store: Store) -> None:
    past, (ana, reply) = _conversation(
        store, "My sister Ana started a new job in Lisbon", "That is big news for Ana!"
    )
    _conversation(store, "The weather is grey and cold", "Stay warm.")
    now, _ = _conversation(store, "How is Ana doing?")
    hits = store.search_messages("how is Ana doing?", exclude_conversation=now, limit=10)
    assert {h.message_id for h in hits} == {ana, reply}
    assert all(h.conversation_id == past and h.score > 0 for h in hits)
    assert hits[0].created_at.tzinfo is not None
    # The current conversation is left out; without exclusion it is found.
    others = store.search_messages("ana", exclude_conversation=past, limit=10)
    assert [h.conversation_id for h in others] == [now]
    assert len(store.search_messages("ana", exclude_conversation=None, limit=10)) == 3
    assert store.search_messages("lisbon", exclude_conversation=None, limit=10)[0].text.startswith(
        "My sister"
    )


def test_edits_and_deletes_reach_the_index(store: Store) -> None:
    conv, (first, _) = _conversation(store, "I adopted a parrot called Kiwi", "Lovely!")
    store.update_message(first, text="I adopted a tortoise called Shelly")
    assert store.search_messages("parrot", exclude_conversation=None, limit=5) == []
    assert [
        h.message_id for h in store.search_messages("tortoise", exclude_conversation=None, limit=5)
    ] == [first]
    store.forget_conversation(conv)
    assert store.search_messages("tortoise", exclude_conversation=None, limit=5) == []


def test_crisis_and_unfinished_messages_are_never_found(store: Store) -> None:
    crisis, (msg, _) = _conversation(store, "Everything about Marco hurts tonight", "I'm here.")
    store.record_safety_event(crisis, "crisis", "replaced", message_id=msg)
    conv, _ = _conversation(store, "Marco and I went sailing")
    generating = store.add_message(conv, "assistant", "Marco sounds fun", status="generating")
    interrupted = store.add_message(conv, "assistant", "Marco again", status="interrupted")
    hits = store.search_messages("marco", exclude_conversation=None, limit=10)
    assert [h.text for h in hits] == ["Marco and I went sailing"]
    assert generating.id is not None and interrupted.id is not None
    found = store.recallable_messages(
        [msg, generating.id, interrupted.id], exclude_conversation=None
    )
    assert found == []


def test_messages_after_catches_up_and_waits_for_a_reply_in_progress(store: Store) -> None:
    crisis, (c1, c2) = _conversation(store, "a crisis", "reply")
    store.record_safety_event(crisis, "crisis", "replaced", message_id=c1)
    conv, (u1,) = _conversation(store, "I like green tea")
    reply = store.add_message(conv, "assistant", "", u1, status="generating")
    u2 = store.add_message(conv, "user", "and jasmine")
    assert reply.id is not None and u2.id is not None
    batch = store.messages_after(0, 100)
    assert [r.message_id for r in batch.rows] == [u1]
    assert batch.next_id == u1  # the crisis rows were passed; the reply is not final yet
    store.update_message(reply.id, text="Green tea is lovely", status="complete")
    batch = store.messages_after(batch.next_id, 100)
    assert [r.message_id for r in batch.rows] == [reply.id, u2.id]
    assert batch.next_id == u2.id == store.max_message_id()
    assert store.messages_after(batch.next_id, 100).rows == []
    assert store.messages_after(0, 1).next_id == c1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.text(max_size=80)
    | st.sampled_from(
        ['"', "AND OR NEAR( *", "a*b", "NOT", "^x", "-x :y", "col:x", "'; DROP TABLE message; --"]
    )
)
def test_any_query_is_safe(store: Store, query: str) -> None:
    if not store.search_messages("seed", exclude_conversation=None, limit=1):
        _conversation(store, "seed text with words AND OR NEAR", "reply")
    hits = store.search_messages(query, exclude_conversation=None, limit=5)
    assert isinstance(hits, list)


def test_only_the_newest_window_is_ranked_and_older_slices_are_read(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny slices and window: PostgreSQL reads several slices, SQLite takes its FTS5 path.
    for name, value in (("PG_SPAN", 2), ("PG_WIDEN", 2), ("PG_WINDOW", 3), ("WINDOW", 3)):
        monkeypatch.setattr(search, name, value)
    _, (best, rare) = _conversation(store, "kiwi kiwi kiwi kiwi", "an unrelated reply")
    newest = [_conversation(store, f"kiwi number {i}", "other reply")[1][0] for i in range(4)]
    hits = store.search_messages("kiwi", exclude_conversation=None, limit=10)
    assert sorted(h.message_id for h in hits) == newest[-3:]  # the best match is too old
    assert best not in {h.message_id for h in hits}
    found = store.search_messages("unrelated", exclude_conversation=None, limit=10)
    assert [h.message_id for h in found] == [rare]
