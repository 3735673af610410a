"""Preference and SFT data as ms-swift's dataset rows (`swift rlhf`, `swift sft`).

ms-swift's standard format (docs/source_en/Customization/Custom-dataset.md) is one JSON object
a line with a ``messages`` list; DPO adds ``rejected_response`` (a string) and KTO a ``label``
(a boolean). Its row checks (swift/llm/dataset/preprocessor/core.py, ``check_messages`` and
``check_rejected_response``) raise on a bad row, and with ``--strict false``, the default,
the row is deleted with a traceback in the log: the training set just gets smaller. So every
row here is checked by `swift_row_problems` first, and what fails is counted, not written.

>>> row = dpo_row([{"role": "user", "content": "Hi"}], "Hey, how was your day?", "Hi.")
>>> row["messages"][-1], row["rejected_response"]
({'role': 'assistant', 'content': 'Hey, how was your day?'}, 'Hi.')
>>> swift_row_problems(row)
[]
>>> swift_row_problems(dpo_row([{"role": "user", "content": "Hi"}], "Same", "Same"))
['rejected equals chosen']
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NotRequired, Protocol, TypedDict, TypeVar

from align.clean import normalize_unicode

Role = Literal["system", "user", "assistant"]
ROLES: frozenset[str] = frozenset(("system", "user", "assistant"))
_MESSAGE_KEYS = frozenset(("role", "content"))
_ROW_KEYS = frozenset(("messages", "rejected_response", "label"))


class SwiftMessage(TypedDict):
    role: str
    content: str


class SwiftRow(TypedDict):
    """One line of an ms-swift dataset: SFT has only ``messages``."""

    messages: list[SwiftMessage]
    rejected_response: NotRequired[str]
    label: NotRequired[bool]


class PairLike(Protocol):
    """A stored or freshly built preference pair (prompt messages, chosen and rejected text)."""

    @property
    def prompt(self) -> Sequence[Mapping[str, object]]: ...
    @property
    def chosen(self) -> str: ...
    @property
    def rejected(self) -> str: ...


def _blank(text: str) -> bool:
    return not normalize_unicode(text).strip()


def _encodable(text: str) -> bool:
    # A lone surrogate cannot be written as UTF-8; the file write would fail mid-way.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def conversation(messages: Iterable[Mapping[str, object]]) -> list[SwiftMessage]:
    """Context messages → the alternating turns ms-swift reads.

    Blank messages go, consecutive turns of one role are joined by a blank line, and
    assistant turns before the first user turn (the persona's greeting) are dropped: ms-swift
    pairs messages as (user, assistant) after an optional system, so a conversation opening on
    the assistant would lose the whole row. Unknown roles and a system turn that is not first
    stay, for `swift_row_problems` to refuse.

    >>> conversation([{"role": "assistant", "content": "Hello!"},
    ...               {"role": "user", "content": "hi"}, {"role": "user", "content": "you?"},
    ...               {"role": "assistant", "content": " "}])
    [{'role': 'user', 'content': 'hi\\n\\nyou?'}]
    """
    out: list[SwiftMessage] = []
    for m in messages:
        role, content = m.get("role"), m.get("content")
        if not isinstance(content, str) or _blank(content):
            continue
        role = role if isinstance(role, str) else repr(role)
        if out and out[-1]["role"] == role and role in ("user", "assistant"):
            out[-1] = {"role": role, "content": f"{out[-1]['content']}\n\n{content}"}
        else:
            out.append({"role": role, "content": content})
    start = 1 if out and out[0]["role"] == "system" else 0
    while len(out) > start and out[start]["role"] == "assistant":
        del out[start]
    return out


def _with_reply(prompt: Iterable[Mapping[str, object]], reply: str) -> list[SwiftMessage]:
    # The reply is appended as is (never joined or dropped) so that a blank one is refused.
    return [*conversation(prompt), {"role": "assistant", "content": reply}]


def dpo_row(prompt: Iterable[Mapping[str, object]], chosen: str, rejected: str) -> SwiftRow:
    """A preference pair → ``{"messages": [..., chosen], "rejected_response": rejected}``."""
    return {"messages": _with_reply(prompt, chosen), "rejected_response": rejected}


def kto_row(prompt: Iterable[Mapping[str, object]], completion: str, label: bool) -> SwiftRow:
    """One rated reply → ``{"messages": [..., completion], "label": label}``."""
    return {"messages": _with_reply(prompt, completion), "label": bool(label)}


def kto_rows_from_pair(pair: PairLike) -> list[SwiftRow]:
    """A pair's two sides as KTO rows: chosen desirable, rejected undesirable."""
    return [kto_row(pair.prompt, pair.chosen, True), kto_row(pair.prompt, pair.rejected, False)]


def kto_row_from_trl(row: Mapping[str, object]) -> SwiftRow:
    """A TRL KTO row (``prompt``, ``completion``, ``label``; `align.pairs.build_kto_rows`)."""
    prompt = row.get("prompt")
    completion = row.get("completion")
    text: object = completion
    if isinstance(completion, list):
        last = completion[-1] if completion else None
        text = last.get("content") if isinstance(last, Mapping) else None
    return {
        "messages": [
            *conversation(_messages(prompt)),
            {"role": "assistant", "content": text if isinstance(text, str) else ""},
        ],
        "label": row.get("label") is True,
    }


def sft_row(messages: Iterable[Mapping[str, object]]) -> SwiftRow:
    """A dialogue → ``{"messages": [...]}``, ending on its last assistant turn (a trailing user
    turn has no reply to learn)."""
    msgs = conversation(messages)
    while msgs and msgs[-1]["role"] == "user":
        msgs.pop()
    return {"messages": msgs}


def _messages(value: object) -> list[Mapping[str, object]]:
    if not isinstance(value, list):
        return []
    return [m for m in value if isinstance(m, Mapping)]


def swift_row_problems(row: object) -> list[str]:
    """Why ms-swift would drop (or mis-train on) this row; ``[]`` when it is fine.

    The reasons are short fixed phrases, so they can be counted.

    >>> swift_row_problems({"messages": [{"role": "user", "content": "Hi"},
    ...                                  {"role": "assistant", "content": "Hey"}], "label": 1})
    ['label not a boolean']
    >>> swift_row_problems({"messages": [{"role": "user", "content": "Hi"},
    ...                                  {"role": "bot", "content": None}]})[:2]
    ['unknown role', 'null content']
    """
    if not isinstance(row, Mapping):
        return ["not a JSON object"]
    problems: list[str] = []

    def add(why: str) -> None:
        if why not in problems:
            problems.append(why)

    if set(row) - _ROW_KEYS:
        add("unknown key")
    if "rejected_response" in row and "label" in row:
        add("both rejected_response and label")
    msgs = row.get("messages")
    if not isinstance(msgs, list) or not msgs:
        add("no messages")
        return problems
    roles: list[object] = []
    for i, m in enumerate(msgs):
        if not isinstance(m, Mapping):
            add("message not an object")
            roles.append(None)
            continue
        if set(m) != _MESSAGE_KEYS:
            add("message keys not role/content")
        role, content = m.get("role"), m.get("content")
        roles.append(role)
        if role not in ROLES:
            add("unknown role")
        if role == "system" and i != 0:
            add("system not first")
        if content is None:
            add("null content")
        elif not isinstance(content, str):
            add("content not a string")
        elif not _encodable(content):
            add("text not UTF-8")
        elif _blank(content):
            add("empty content")
    turns = roles[1:] if roles[0] == "system" else roles
    if not turns or any(r != ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(turns)):
        add("turns not alternating user/assistant")
    last = msgs[-1]
    if not (isinstance(last, Mapping) and last.get("role") == "assistant"):
        add("no final assistant turn")
    if "rejected_response" in row:
        rejected = row["rejected_response"]
        chosen = last.get("content") if isinstance(last, Mapping) else None
        if rejected is None:
            add("null rejected response")
        elif not isinstance(rejected, str):
            add("rejected response not a string")
        elif not _encodable(rejected):
            add("text not UTF-8")
        elif _blank(rejected):
            add("empty rejected response")
        elif isinstance(chosen, str) and rejected.strip() == chosen.strip():
            add("rejected equals chosen")
    if "label" in row and not isinstance(row["label"], bool):
        add("label not a boolean")
    return problems


R = TypeVar("R", bound=Mapping[str, object])


def keep_valid(rows: Iterable[R]) -> tuple[list[R], Counter[str]]:
    """The rows with no problems, and how many were skipped for each (first) problem."""
    kept: list[R] = []
    skipped: Counter[str] = Counter()
    for row in rows:
        problems = swift_row_problems(row)
        if problems:
            skipped[problems[0]] += 1
        else:
            kept.append(row)
    return kept, skipped


def _key(row: SwiftRow) -> str:
    return json.dumps(row["messages"], ensure_ascii=False, sort_keys=True)


def kto_dedupe(rows: Iterable[SwiftRow]) -> tuple[list[SwiftRow], Counter[str]]:
    """One row per (conversation, reply, label); a reply labelled both ways is dropped: the
    same thumbs pair is seen by the thumbs rows and the pairs, and a reply can be picked over
    one sibling and rejected against another."""
    rows = list(rows)
    labels: dict[str, set[bool]] = {}
    for r in rows:
        labels.setdefault(_key(r), set()).add(r.get("label") is True)
    out: list[SwiftRow] = []
    seen: set[str] = set()
    skipped: Counter[str] = Counter()
    for r in rows:
        k = _key(r)
        if len(labels[k]) > 1:
            skipped["labelled both ways"] += 1
        elif k in seen:
            skipped["duplicate"] += 1
        else:
            seen.add(k)
            out.append(r)
    return out, skipped


def dpo_rows(pairs: Iterable[PairLike]) -> tuple[list[SwiftRow], Counter[str]]:
    """ms-swift DPO rows for the pairs that make one, and the skip counts."""
    return keep_valid(dpo_row(p.prompt, p.chosen, p.rejected) for p in pairs)


def kto_rows(
    thumbs: Iterable[Mapping[str, object]], pairs: Iterable[PairLike] = ()
) -> tuple[list[SwiftRow], Counter[str]]:
    """ms-swift KTO rows from TRL thumbs rows (what `retrain` trains KTO on) and the pairs'
    sides, deduplicated, and the skip counts."""
    rows = [kto_row_from_trl(t) for t in thumbs]
    rows += [r for p in pairs for r in kto_rows_from_pair(p)]
    kept, skipped = keep_valid(rows)
    kept, conflicts = kto_dedupe(kept)
    return kept, skipped + conflicts


def sft_rows(dialogues: Iterable[Mapping[str, object]]) -> tuple[list[SwiftRow], Counter[str]]:
    """ms-swift SFT rows from ``{"messages": [...]}`` dialogues, and the skip counts."""
    return keep_valid(sft_row(_messages(d.get("messages"))) for d in dialogues)


def skipped_line(skipped: Counter[str]) -> str:
    """One line saying what was left out and why ('' when nothing was).

    >>> skipped_line(Counter({"rejected equals chosen": 2, "empty content": 1}))
    'skipped 3 rows ms-swift would drop: 2 rejected equals chosen, 1 empty content'
    """
    n = sum(skipped.values())
    if not n:
        return ""
    why = ", ".join(f"{k_n} {k}" for k, k_n in skipped.most_common())
    return f"skipped {n} rows ms-swift would drop: {why}"


def kto_balance_line(rows: Sequence[SwiftRow]) -> str:
    """Desirable/undesirable counts, with the weight ms-swift's KTO warns about otherwise.

    ms-swift (swift/llm/train/kto.py) wants desirable_weight within
    [n_undesirable / n_desirable, 1.33 × that] when the counts differ.

    >>> kto_balance_line([{"messages": [], "label": True}] * 3 + [{"messages": [], "label": False}])
    '3 desirable, 1 undesirable: pass --desirable_weight 0.33 (ms-swift asks for 0.33-0.44)'
    """
    good = sum(1 for r in rows if r.get("label") is True)
    bad = len(rows) - good
    line = f"{good} desirable, {bad} undesirable"
    if good and bad and good != bad:
        low = round(bad / good, 2)
        line += f": pass --desirable_weight {low} (ms-swift asks for {low}-{round(low * 1.33, 2)})"
    return line
