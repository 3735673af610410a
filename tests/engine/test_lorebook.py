"""Lorebooks: the selection rules (literal tables), the parser (literal and hypothesis)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.lorebook import (
    Lorebook,
    LorebookError,
    LoreEntry,
    describe,
    parse_lorebook,
    select_entries,
)


def words(text: str) -> int:
    """A stand-in token counter: one token a word."""
    return len(text.split())


def book(*entries: dict[str, Any], **fields: Any) -> Lorebook:
    return parse_lorebook({"entries": list(entries), **fields})


def chosen(lb: Lorebook, messages: list[str], budget: int | None = None) -> list[str]:
    return [e.content for e in select_entries(lb, messages, words, budget=budget)]


# --- key matching ---------------------------------------------------------------------------

E = {"content": "hit"}


@pytest.mark.parametrize(
    ("entry", "message", "hit"),
    [
        # plain keys: case-insensitive, whole words by default
        ({"keys": ["dragon"]}, "A DRAGON appears", True),
        ({"keys": ["dragon"]}, "dragons appear", False),
        ({"keys": ["dragon"]}, "the snapdragon", False),
        ({"keys": ["dragon"]}, "dragon's lair, (dragon)", True),
        ({"keys": ["ice cream"]}, "I want ice cream!", True),
        ({"keys": ["ice cream"]}, "nice creamy", False),
        ({"keys": ["Mr."]}, "ask Mr. Smith", True),
        ({"keys": ["caf"]}, "the café", False),
        ({"keys": ["血刀门"]}, "血刀门在江湖中", True),  # no spaces between words: anywhere
        # any one key is enough
        ({"keys": ["wolf", "dragon"]}, "a wolf", True),
        ({"keys": []}, "anything", False),
        # case_sensitive (the field, or SillyTavern's extension)
        ({"keys": ["Sam"], "case_sensitive": True}, "sam", False),
        ({"keys": ["Sam"], "case_sensitive": True}, "Sam", True),
        ({"keys": ["Sam"], "extensions": {"case_sensitive": True}}, "sam", False),
        (
            {"keys": ["Sam"], "case_sensitive": False, "extensions": {"case_sensitive": True}},
            "sam",
            True,
        ),
        # whole words off (SillyTavern's extension)
        ({"keys": ["dragon"], "extensions": {"match_whole_words": False}}, "dragons", True),
        # SillyTavern /regex/flags keys, and V3 use_regex
        ({"keys": ["/drag(on|ons)/i"]}, "DRAGONS", True),
        ({"keys": ["/dragon/"]}, "DRAGON", False),  # no i flag: case-sensitive
        ({"keys": ["/[/"]}, "[", False),  # invalid: never a match
        ({"keys": ["^dr.g"], "use_regex": True}, "Drag", True),
        ({"keys": ["^dr.g"], "use_regex": True, "case_sensitive": True}, "Drag", False),
        ({"keys": ["(unclosed"], "use_regex": True}, "(unclosed", False),
        # enabled, content
        ({"keys": ["dragon"], "enabled": False}, "dragon", False),
        ({"keys": ["dragon"], "content": "  "}, "dragon", False),
    ],
)
def test_key_matching(entry: dict[str, Any], message: str, hit: bool) -> None:
    assert chosen(book({**E, **entry}), [message]) == (["hit"] if hit else [])


def sel(*secondary: str, logic: int | None = None) -> dict[str, Any]:
    """A selective entry with these secondary keys (and SillyTavern's selectiveLogic)."""
    ext = {} if logic is None else {"selectiveLogic": logic}
    return {"selective": True, "secondary_keys": list(secondary), "extensions": ext}


@pytest.mark.parametrize(
    ("entry", "message", "hit"),
    [
        # selective: a primary AND a secondary key
        (sel("crown"), "the queen", False),
        (sel("crown"), "the queen's crown", True),
        (sel("crown"), "a crown", False),
        (sel(), "the queen", True),
        ({"selective": False, "secondary_keys": ["crown"]}, "the queen", True),
        ({"selective": True, "secondary_keys": "crown, throne"}, "queen on the throne", True),
        # SillyTavern's selectiveLogic: 0 AND ANY, 1 NOT ALL, 2 NOT ANY, 3 AND ALL
        (sel("crown", "throne", logic=0), "queen, throne", True),
        (sel("crown", "throne", logic=3), "queen, crown", False),
        (sel("crown", "throne", logic=3), "queen, crown, throne", True),
        (sel("crown", logic=2), "queen, crown", False),
        (sel("crown", logic=2), "the queen", True),
        (sel("crown", "throne", logic=1), "queen, crown", True),
        (sel("crown", "throne", logic=1), "queen, crown, throne", False),
    ],
)
def test_selective(entry: dict[str, Any], message: str, hit: bool) -> None:
    lb = book({"keys": ["queen"], "content": "hit", **entry})
    assert chosen(lb, [message]) == (["hit"] if hit else [])


def test_constant_is_always_in_and_disabled_never() -> None:
    lb = book(
        {"keys": [], "content": "always", "constant": True},
        {"keys": ["x"], "content": "off", "constant": True, "enabled": False},
    )
    assert chosen(lb, []) == ["always"]
    assert chosen(lb, ["x"]) == ["always"]


@pytest.mark.parametrize(
    ("fields", "entry_ext", "messages", "hit"),
    [
        # default depth 2: only the last two messages
        ({}, {}, ["dragon", "b", "c"], False),
        ({}, {}, ["a", "dragon", "c"], True),
        ({"scan_depth": 3}, {}, ["dragon", "b", "c"], True),
        ({"scan_depth": 0}, {}, ["dragon"], False),
        ({"scan_depth": 1}, {"scan_depth": 3}, ["dragon", "b", "c"], True),  # entry overrides
        ({"scan_depth": 5}, {"scan_depth": 1}, ["dragon", "b"], False),
    ],
)
def test_scan_depth(
    fields: dict[str, Any], entry_ext: dict[str, Any], messages: list[str], hit: bool
) -> None:
    lb = book({"keys": ["dragon"], "content": "hit", "extensions": entry_ext}, **fields)
    assert chosen(lb, messages) == (["hit"] if hit else [])


def test_insertion_order_orders_the_output() -> None:
    lb = book(
        {"keys": ["a"], "content": "third", "insertion_order": 30},
        {"keys": ["a"], "content": "first", "insertion_order": 10},
        {"keys": ["a"], "content": "second", "insertion_order": 20},
        {"keys": ["a"], "content": "second too", "insertion_order": 20},
    )
    assert chosen(lb, ["a"]) == ["first", "second", "second too", "third"]


P = {"keys": ["a"]}


@pytest.mark.parametrize(
    ("entries", "token_budget", "budget", "kept"),
    [
        # lower priority goes first, until the rest fits (each content is 2 "tokens")
        (
            [{"content": "low one", "priority": 1}, {"content": "high one", "priority": 9}],
            3,
            None,
            ["high one"],
        ),
        (
            [{"content": "low one", "priority": 1}, {"content": "high one", "priority": 9}],
            4,
            None,
            ["low one", "high one"],
        ),
        # no priority: the lowest insertion_order goes first
        (
            [
                {"content": "early one", "insertion_order": 1},
                {"content": "late one", "insertion_order": 5},
            ],
            3,
            None,
            ["late one"],
        ),
        # the caller's budget caps the book's; the smaller wins
        (
            [{"content": "low one", "priority": 1}, {"content": "high one", "priority": 9}],
            100,
            2,
            ["high one"],
        ),
        ([{"content": "low one", "priority": 1}], None, 1, []),
        # what is kept still comes out in insertion order
        (
            [
                {"content": "b b", "insertion_order": 2, "priority": 1},
                {"content": "a a", "insertion_order": 1, "priority": 2},
                {"content": "c c", "insertion_order": 3, "priority": 3},
            ],
            4,
            None,
            ["a a", "c c"],
        ),
        # constant entries are within the budget too
        (
            [{"content": "const one", "constant": True, "priority": 1}, {"content": "key one"}],
            2,
            None,
            ["key one"],
        ),
        # dropping stops at the first entry that does not fit: lower ones go as well
        (
            [
                {"content": "big big big big", "priority": 5},
                {"content": "small", "priority": 1},
            ],
            3,
            None,
            [],
        ),
    ],
)
def test_budget(
    entries: list[dict[str, Any]], token_budget: int | None, budget: int | None, kept: list[str]
) -> None:
    lb = book(*({**P, **e} for e in entries), token_budget=token_budget)
    assert chosen(lb, ["a"], budget=budget) == kept


def test_recursive_scanning() -> None:
    entries = (
        {"keys": ["castle"], "content": "The castle has a dungeon."},
        {"keys": ["dungeon"], "content": "The dungeon holds a dragon."},
        {"keys": ["dragon"], "content": "The dragon sleeps.", "extensions": {}},
        {"keys": ["dungeon"], "content": "never", "extensions": {"exclude_recursion": True}},
    )
    assert chosen(book(*entries), ["the castle"]) == ["The castle has a dungeon."]
    assert chosen(book(*entries, recursive_scanning=True), ["the castle"]) == [
        "The castle has a dungeon.",
        "The dungeon holds a dragon.",
        "The dragon sleeps.",
    ]
    stop = [dict(entries[0], extensions={"prevent_recursion": True}), *entries[1:]]
    assert chosen(book(*stop, recursive_scanning=True), ["the castle"]) == [
        "The castle has a dungeon."
    ]


def test_position_before_or_after_the_description() -> None:
    lb = book(
        {"content": "a", "position": "before_char"},
        {"content": "b", "position": "after_char"},
        {"content": "c"},
        {"content": "d", "position": "after_char", "extensions": {"position": 0}},
    )
    assert [e.before_char for e in lb.entries] == [True, False, False, True]


# --- parsing -------------------------------------------------------------------------------


def test_lenient_parsing_of_real_world_shapes() -> None:
    lb = parse_lorebook(
        {
            "name": "World",
            "scan_depth": "4",
            "token_budget": 0,  # unset
            "entries": [
                {
                    "keys": "tea,  kettle ,",
                    "content": "Line one\r\nline two\rthree",
                    "insertion_order": "5",
                    "enabled": "true",
                    "id": 3.0,
                    "priority": None,
                    "comment": {"odd": 1},
                    "mystery": {"kept": [1, None]},
                },
                {"keys": ["x", 7, None], "content": None},
            ],
            "unknown_book_key": True,
        }
    )
    e = lb.entries[0]
    assert (lb.scan_depth, lb.token_budget, lb.extensions) == (4, None, {})
    assert (e.keys, e.content) == (("tea", "kettle"), "Line one\nline two\nthree")
    assert (e.insertion_order, e.enabled, e.id, e.priority, e.comment) == (5, True, 3, None, None)
    assert e.model_extra == {"mystery": {"kept": [1, None]}}
    assert lb.model_extra == {"unknown_book_key": True}
    assert lb.entries[1].keys == ("x", "7") and lb.entries[1].content == ""
    # and the stored form reads back the same, V3 wrapper and all
    assert parse_lorebook(json.loads(json.dumps(lb.to_json()))) == lb


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "not a JSON object"),
        ({}, "entries: expected a list"),
        ({"entries": {"0": {}}}, "entries: expected a list"),
        ({"entries": [None]}, r"entries\[0\]: expected an object"),
        ({"entries": [{"keys": 5}]}, r"entries\[0\].keys: expected a list of keys"),
        ({"entries": [{"keys": [{"a": 1}]}]}, r"entries\[0\].keys"),
        ({"entries": [{}, {"content": ["x"]}]}, r"entries\[1\].content: expected text"),
        ({"entries": [{"enabled": "maybe"}]}, r"entries\[0\].enabled: expected true or false"),
        ({"entries": [{"insertion_order": "soon"}]}, r"insertion_order: expected a number"),
        ({"entries": [{"priority": float("nan")}]}, r"priority: expected a number"),
        ({"entries": [{"extensions": []}]}, r"entries\[0\].extensions: expected an object"),
        ({"entries": [], "scan_depth": "deep"}, "scan_depth: expected a number"),
    ],
)
def test_malformed_lorebooks_give_one_line_errors(raw: object, message: str) -> None:
    with pytest.raises(LorebookError, match=message) as e:
        parse_lorebook(raw)
    assert "\n" not in str(e.value)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(LorebookError, match="nested too deeply"):
        parse_lorebook({"entries": [{"extensions": {"x": deep}}]})


_scalar = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["true", "false", "5", "", "before_char", "/a+/i", "a, b"])
)
_json_values = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_field_names = st.sampled_from(
    [
        "keys",
        "secondary_keys",
        "content",
        "enabled",
        "insertion_order",
        "case_sensitive",
        "use_regex",
        "constant",
        "name",
        "priority",
        "id",
        "comment",
        "selective",
        "position",
        "extensions",
    ]
)
_entry_like = st.dictionaries(_field_names | st.text(max_size=6), _json_values, max_size=8)
_book_like = st.fixed_dictionaries(
    {"entries": st.lists(_entry_like | _json_values, max_size=5)},
    optional={
        k: _json_values
        for k in ("name", "scan_depth", "token_budget", "recursive_scanning", "extensions")
    },
)


@settings(max_examples=300, deadline=None)
@given(raw=_json_values | _book_like)
def test_any_json_gives_a_lorebook_or_one_line_error(raw: object) -> None:
    try:
        lb = parse_lorebook(raw)
    except LorebookError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert isinstance(lb, Lorebook) and all(isinstance(e, LoreEntry) for e in lb.entries)
    assert parse_lorebook(json.loads(json.dumps(lb.to_json()))) == lb  # round trip
    out = select_entries(lb, ["a b", "true 5"], words, budget=50)
    assert all(e.enabled and e.content.strip() for e in out)
    assert sum(words(e.content) for e in out) <= 50
    describe(lb)


@settings(max_examples=100, deadline=None)
@given(
    entries=st.lists(
        st.fixed_dictionaries(
            {
                "keys": st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=2),
                "content": st.sampled_from(["x", "x y", "x y z"]),
                "insertion_order": st.integers(0, 5),
                "priority": st.none() | st.integers(0, 5),
                "constant": st.booleans(),
            }
        ),
        max_size=8,
    ),
    messages=st.lists(st.sampled_from(["a", "b", "c d", "e"]), max_size=4),
    budget=st.none() | st.integers(0, 12),
)
def test_selection_invariants(
    entries: list[dict[str, Any]], messages: list[str], budget: int | None
) -> None:
    lb = book(*entries)
    out = select_entries(lb, messages, words, budget=budget)
    assert [e.insertion_order for e in out] == sorted(e.insertion_order for e in out)
    if budget is not None:
        assert sum(words(e.content) for e in out) <= budget
    unlimited = select_entries(lb, messages, words)
    assert all(e in unlimited for e in out)
    recent = " ".join(messages[-2:]).split()
    for e in unlimited:
        assert e.constant or any(k in recent for k in e.keys)
    # a dropped entry never outranks a kept one
    rank = {id(e): (e.insertion_order if e.priority is None else e.priority) for e in unlimited}
    dropped = [e for e in unlimited if all(e is not k for k in out)]
    if out and dropped:
        assert max(rank[id(e)] for e in dropped) <= min(rank[id(e)] for e in out)


def test_huge_lorebook_is_quick() -> None:
    entries = [
        {
            "keys": [f"word{i}", f"other{i}"],
            "secondary_keys": [f"sec{i}"],
            "selective": i % 3 == 0,
            "content": f"Entry {i}. " + "lore " * 80,
            "insertion_order": i % 50,
            "extensions": {"position": 0, "display_index": i, "probability": 100},
        }
        for i in range(10_000)
    ]
    raw = {"entries": entries}
    assert len(json.dumps(raw)) > 5_000_000
    t = time.perf_counter()
    lb = parse_lorebook(raw)
    parsed = time.perf_counter() - t
    messages = ["I talk about word17 and word42 and sec42 " * 20, "then other9001"]
    t = time.perf_counter()
    out = select_entries(lb, messages, words, budget=500)
    selected = time.perf_counter() - t
    assert [e.content.split(".")[0] for e in out] == ["Entry 9001", "Entry 17", "Entry 42"]
    assert parsed < 10 and selected < 2, (parsed, selected)


def test_a_slow_regex_key_times_out_as_no_match() -> None:
    lb = book({"keys": ["/(a|aa)+$/"], "content": "slow"}, {"keys": ["b"], "content": "fast"})
    t = time.perf_counter()
    assert chosen(lb, ["a" * 5000 + "!", "b"]) == ["fast"]
    assert time.perf_counter() - t < 2


def test_describe_marks_and_limits() -> None:
    lb = book(
        {"name": "Castle", "keys": ["castle"], "content": "c", "constant": True},
        {"keys": ["queen"], "secondary_keys": ["crown"], "selective": True, "content": "q"},
        {"keys": ["/dr.g/"], "content": "d", "enabled": False},
        name="Royal",
        scan_depth=4,
        token_budget=300,
    )
    lines = describe(lb, limit=2)
    assert lines[0] == "lorebook 'Royal': 3 entries (2 enabled), scan depth 4, budget 300 tokens"
    assert lines[1].startswith("  C    Castle [castle]")
    assert lines[2] == "   S   queen [queen + and any: crown]"
    assert lines[3].startswith("  ... and 1 more")
