"""ms-swift export (align.swift_export and its commands) against ms-swift's own documentation.

The fixtures are the example rows of ms-swift's docs/source_en/Customization/Custom-dataset.md
("Standard Dataset Format": Supervised Fine-tuning, RLHF DPO/ORPO/CPO/SimPO/RM, KTO), copied
as they are. What ms-swift drops comes from swift/llm/dataset/preprocessor/core.py:
`check_messages` (user turns must be user/tool with non-None content, assistant turns
'assistant' with content not '' or None, after an optional leading system) and
`check_rejected_response` (None, or equal to the last message's content).
"""

from __future__ import annotations

import doctest
import json
from collections import Counter
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from test_align_cli import invoke

import align.swift_export as sx
from align.swift_export import (
    dpo_row,
    dpo_rows,
    kto_row,
    kto_rows,
    sft_row,
    sft_rows,
    skipped_line,
    swift_row_problems,
)

DOC_SFT = """\
{"messages": [{"role": "system", "content": "You are a useful and harmless assistant"}, {"role": "user", "content": "Tell me tomorrow's weather"}, {"role": "assistant", "content": "Tomorrow's weather will be sunny"}]}
{"messages": [{"role": "system", "content": "You are a useful and harmless math calculator"}, {"role": "user", "content": "What is 1 + 1?"}, {"role": "assistant", "content": "It equals 2"}, {"role": "user", "content": "What about adding 1?"}, {"role": "assistant", "content": "It equals 3"}]}
"""  # noqa: E501

DOC_DPO = """\
{"messages": [{"role": "system", "content": "You are a useful and harmless assistant"}, {"role": "user", "content": "Tell me tomorrow's weather"}, {"role": "assistant", "content": "Tomorrow's weather will be sunny"}], "rejected_response": "I don't know"}
{"messages": [{"role": "system", "content": "You are a useful and harmless math calculator"}, {"role": "user", "content": "What is 1 + 1?"}, {"role": "assistant", "content": "It equals 2"}, {"role": "user", "content": "What about adding 1?"}, {"role": "assistant", "content": "It equals 3"}], "rejected_response": "I don't know"}
"""  # noqa: E501

DOC_KTO = """\
{"messages": [{"role": "system", "content": "You are a useful and harmless assistant"}, {"role": "user", "content": "Tell me tomorrow's weather"}, {"role": "assistant", "content": "I don't know"}], "label": false}
{"messages": [{"role": "system", "content": "You are a useful and harmless math calculator"}, {"role": "user", "content": "What is 1 + 1?"}, {"role": "assistant", "content": "It equals 2"}, {"role": "user", "content": "What about adding 1?"}, {"role": "assistant", "content": "It equals 3"}], "label": true}
"""  # noqa: E501


def doc_rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def same_shape(ours: object, theirs: object) -> None:
    """Equal keys and JSON types all the way down (bool is not int here)."""
    assert type(ours) is type(theirs), (ours, theirs)
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs)
        for k in theirs:
            same_shape(ours[k], theirs[k])
    elif isinstance(theirs, list):
        assert isinstance(ours, list)
        for a in ours:
            same_shape(a, theirs[0])


def test_module_doctests():
    assert doctest.testmod(sx).failed == 0


def test_doc_examples_pass_our_checks():
    for row in doc_rows(DOC_SFT) + doc_rows(DOC_DPO) + doc_rows(DOC_KTO):
        assert swift_row_problems(row) == [], row


def test_dpo_rows_are_the_doc_rows():
    for doc in doc_rows(DOC_DPO):
        *prompt, chosen = doc["messages"]
        ours = dpo_row(prompt, chosen["content"], doc["rejected_response"])
        assert ours == doc
        same_shape(json.loads(json.dumps(ours)), doc)


def test_kto_rows_are_the_doc_rows_with_real_booleans():
    for doc in doc_rows(DOC_KTO):
        *prompt, reply = doc["messages"]
        ours = kto_row(prompt, reply["content"], doc["label"])
        assert ours == doc
        line = json.dumps(ours)
        assert '"label": true' in line or '"label": false' in line
        assert type(json.loads(line)["label"]) is bool
        same_shape(json.loads(line), doc)


def test_sft_rows_are_the_doc_rows():
    for doc in doc_rows(DOC_SFT):
        assert sft_row(doc["messages"]) == doc


def test_kto_from_trl_thumbs_row():
    trl = {
        "prompt": [{"role": "user", "content": "Tell me tomorrow's weather"}],
        "completion": [{"role": "assistant", "content": "I don't know"}],
        "label": False,
    }
    rows, skipped = kto_rows([trl])
    assert rows == [
        {
            "messages": [
                {"role": "user", "content": "Tell me tomorrow's weather"},
                {"role": "assistant", "content": "I don't know"},
            ],
            "label": False,
        }
    ]
    assert not skipped


U = {"role": "user", "content": "Hi"}
A = {"role": "assistant", "content": "Hey"}
S = {"role": "system", "content": "Be kind"}


def test_rows_ms_swift_drops_are_refused():
    # each is a row core.py's check_messages / check_rejected_response raises on
    assert "null rejected response" in swift_row_problems(
        {"messages": [U, A], "rejected_response": None}
    )
    assert "rejected equals chosen" in swift_row_problems(
        {"messages": [U, A], "rejected_response": "Hey"}
    )
    assert "unknown role" in swift_row_problems({"messages": [U, {**A, "role": "bot"}]})
    assert "null content" in swift_row_problems({"messages": [U, {**A, "content": None}]})
    assert "empty content" in swift_row_problems({"messages": [U, {**A, "content": ""}]})
    assert "system not first" in swift_row_problems({"messages": [U, S, A]})
    assert "turns not alternating user/assistant" in swift_row_problems({"messages": [A, U, A]})
    assert "no messages" in swift_row_problems({"messages": []})
    # and rows that load but teach nothing, or break a one-schema file
    assert "empty rejected response" in swift_row_problems(
        {"messages": [U, A], "rejected_response": " \n"}
    )
    assert "no final assistant turn" in swift_row_problems({"messages": [U, A, U]})
    assert "label not a boolean" in swift_row_problems({"messages": [U, A], "label": 1})
    assert "unknown key" in swift_row_problems({"messages": [U, A], "source": "picked"})


def test_context_is_made_alternating():
    greeting = {"role": "assistant", "content": "Hello, I'm Sam!"}
    row = dpo_row([S, greeting, U, {"role": "user", "content": "you?"}], "Fine!", "Meh.")
    assert row["messages"] == [
        S,
        {"role": "user", "content": "Hi\n\nyou?"},
        {"role": "assistant", "content": "Fine!"},
    ]
    assert swift_row_problems(row) == []


@dataclass
class P:
    prompt: list[dict[str, object]]
    chosen: str
    rejected: str


_texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\n\t ", "\x00", "\u200b", "\x1b[31m", "same", "same "]),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs"]), max_size=5),
)
_any_messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant", "tool", "bot"]),
            "content": st.one_of(st.none(), _texts),
        }
    ),
    max_size=6,
)


@st.composite
def _chat(draw: st.DrawFn) -> list[dict[str, object]]:
    """A context as the chat stores it: maybe a system prompt, then user/assistant turns."""
    n = draw(st.integers(1, 4))
    msgs: list[dict[str, object]] = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": draw(_texts)}
        for i in range(2 * n - 1)
    ]
    if draw(st.booleans()):
        msgs.insert(0, {"role": "system", "content": draw(_texts)})
    return msgs


_messages = st.one_of(_chat(), _any_messages)


@st.composite
def _pairs(draw: st.DrawFn) -> P:
    chosen = draw(_texts)
    rejected = draw(st.one_of(st.just(chosen), _texts))
    return P(draw(_messages), chosen, rejected)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pairs(), max_size=6), st.lists(_messages, max_size=4))
def test_every_written_row_passes(tmp_path_factory, pairs, dialogues):
    from align.clean import write_jsonl

    dpo, dpo_skipped = dpo_rows(pairs)
    assert len(dpo) + sum(dpo_skipped.values()) == len(pairs)
    kto, _ = kto_rows(
        [
            {
                "prompt": p.prompt,
                "completion": [{"role": "assistant", "content": p.chosen}],
                "label": True,
            }
            for p in pairs
        ],  # noqa: E501
        pairs,
    )
    sft, _ = sft_rows([{"messages": d} for d in dialogues])
    out = tmp_path_factory.mktemp("swift") / "rows.jsonl"
    for rows in (dpo, kto, sft):
        write_jsonl(out, rows)
        # split on "\n" only, as JSONL readers do: U+0085 or U+2028 may stand raw in a string
        text = out.read_text(encoding="utf-8")
        back = [json.loads(line) for line in text.split("\n") if line]
        assert back == rows
        for row in back:
            assert swift_row_problems(row) == [], row
    assert all(type(r["label"]) is bool for r in kto)
    assert all(set(r) == {"messages", "rejected_response"} for r in dpo)
    assert all(set(r) == {"messages", "label"} for r in kto)
    assert all(set(r) == {"messages"} for r in sft)


def test_skipped_line_is_one_line():
    line = skipped_line(Counter({"rejected equals chosen": 2, "empty rejected response": 1}))
    assert "\n" not in line and line.startswith("skipped 3 ")
    assert skipped_line(Counter()) == ""


# ---- the commands, on a real SQLite store ---------------------------------------------------


def _store():
    from companion.cli.common import open_store
    from companion.config import load

    return open_store(load().config)


def test_pairs_export_swift_dpo_and_kto(companion_home, tmp_path):
    from align.pairs import Cand, Turn, build_dpo_pairs
    from align.retrain import to_store_pair
    from feedback.models import PreferencePair as StoredPair

    store = _store()
    turn = Turn(
        "c",
        "m",
        [{"role": "user", "content": "Hi"}],
        [Cand("x", "How are you?", chosen=True), Cand("y", "Hi.")],
    )
    store.add_pairs(to_store_pair(p) for p in build_dpo_pairs([turn]))
    # rows the builder never makes but a store (an older one, an import) can hold
    bad = [("Same", "Same"), ("Fine", ""), ("Fine", "  ")]
    store.add_pairs(
        StoredPair(prompt=[{"role": "user", "content": "Yo"}], chosen=c, rejected=r, source="x")
        for c, r in bad
    )
    conv = store.create_conversation("default")
    user = store.add_message(conv.id, "user", "Good morning")
    reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
    up = store.add_candidate(reply.id, "Morning! Sleep well?", shown=True)
    down = store.add_candidate(reply.id, "k", shown=True)
    store.rate(up.id, 1)
    store.rate(down.id, -1)

    out = tmp_path / "dpo.jsonl"
    res = invoke("pairs", "export", str(out), "--format", "swift")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [
        {
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "How are you?"},
            ],
            "rejected_response": "Hi.",
        }
    ]
    lines = res.output.strip().splitlines()
    assert lines[0] == f"wrote 1 ms-swift DPO rows to {out}"
    assert lines[1:] == [
        "skipped 3 rows ms-swift would drop: 2 empty rejected response, 1 rejected equals chosen"
    ]

    out = tmp_path / "kto.jsonl"
    res = invoke("pairs", "export", str(out), "--format", "swift-kto")
    assert res.exit_code == 0, res.output
    text = out.read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert all(swift_row_problems(r) == [] for r in rows)
    assert all(type(r["label"]) is bool for r in rows)
    got = {(r["messages"][-1]["content"], r["label"]) for r in rows}
    # the thumbs (what retrain's KTO trains on) and both sides of the good pair
    assert {("Morning! Sleep well?", True), ("k", False), ("How are you?", True)} <= got
    assert ("Hi.", False) in got and ("Same", True) not in got
    assert '"label": true' in text and '"label": false' in text
    assert "desirable" in res.output

    assert invoke("pairs", "export", str(out), "--format", "swift", "--split", "x").exit_code == 1


def test_data_export_sft(companion_home, tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text(
        "\n".join(json.dumps(r) for r in doc_rows(DOC_SFT))
        + "\n"
        + json.dumps({"messages": [U, A, S, U, {**A, "content": "Again"}]})
        + "\n"
    )
    out = tmp_path / "sft.jsonl"
    res = invoke("data", "export-sft", str(out), "--data", str(src))
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == doc_rows(DOC_SFT)
    assert res.output.strip().splitlines()[-2:] == [
        f"wrote 2 ms-swift SFT rows to {out}",
        "skipped 1 rows ms-swift would drop: 1 system not first",
    ]
    assert invoke("data", "export-sft", str(out)).exit_code == 1
