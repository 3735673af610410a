"""Preference pairs and KTO rows from recorded turns: pure, streamed, deterministic.

A *turn* is one user message with the candidate replies the model gave to it (see
``feedback.repo.TurnRecord``; any object with the same attributes works). Pairs come out in
TRL's conversational format: ``prompt`` is the whole context up to and including the user
message (persona system prompt first), ``chosen`` / ``rejected`` are one assistant message each.

Rules, recorded as the pair's ``source``:

1. ``picked``   - the alternative the user picked ≻ each shown alternative not picked;
2. ``thumbs``   - a thumbs-up reply ≻ a thumbs-down reply to the same context;
3. ``replaced`` - the reply that replaced a thumbs-down reply and was kept or rated up ≻ it;
4. ``safety``   - (``learn_from_safety`` only) the softened/replaced final text ≻ the raw reply;
5. ``edited``   - the user's rewrite of a reply (the reply they wanted) ≻ the reply they rewrote.

Never: turns of ``never_train`` conversations (crisis), a toxic-blocked reply as ``chosen``,
ties, contradictions, identical or empty sides. When several rules give the same pair, the most
specific one is recorded (edited, replaced, then picked, then thumbs).

>>> ctx = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]
>>> turn = Turn("c1", "m1", ctx, [Cand("a", "Hello! How are you?", chosen=True),
...                                Cand("b", "Hello.")])
>>> [(p.source, p.chosen_text, p.rejected_text) for p in build_dpo_pairs([turn])]
[('picked', 'Hello! How are you?', 'Hello.')]
>>> p = next(build_dpo_pairs([turn]))
>>> p.to_trl()["chosen"]
[{'role': 'assistant', 'content': 'Hello! How are you?'}]
>>> split_of("c1", 0.0), split_of("c1", 0.999999)
('train', 'holdout')
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from align.scrub import scrub, scrub_messages
from companion.prompt import TokenCounter, approx_counter
from feedback.models import pair_hash

Source = Literal["picked", "thumbs", "replaced", "safety", "edited"]
Split = Literal["train", "holdout"]
SOURCES: tuple[Source, ...] = ("picked", "thumbs", "replaced", "safety", "edited")
# Lower is more specific; decides which source a pair produced by several rules records.
_PRIORITY: dict[str, int] = {"edited": 0, "replaced": 1, "picked": 2, "thumbs": 3, "safety": 4}
# safety_action values meaning the model's reply was never shown (blocked as toxic, or replaced
# wholesale): the user judged text the model did not write, so no user rule uses it.
BLOCKED_ACTIONS = frozenset({"blocked", "replaced"})
# safety_action values meaning the raw reply was changed before it was shown.
CHANGED_ACTIONS = frozenset({"softened", "regenerated"}) | BLOCKED_ACTIONS

Message = dict[str, str]
Id = int | str
"""A conversation, message or candidate id: the store's are ints, the examples' strings."""


class CandidateLike(Protocol):
    """What the rules read of a candidate (``feedback.repo.CandidateRecord``, `Cand`)."""

    @property
    def id(self) -> Id: ...
    @property
    def text(self) -> str: ...
    @property
    def raw_text(self) -> str | None: ...
    @property
    def rating(self) -> int | None: ...
    @property
    def chosen(self) -> bool: ...
    @property
    def shown(self) -> bool: ...
    @property
    def safety_action(self) -> str | None: ...
    @property
    def created_at(self) -> datetime | float: ...
    @property
    def edited_from(self) -> Id | None:
        """The candidate this one is the user's rewrite of."""
        ...


class TurnLike(Protocol):
    """What the rules read of a turn (``feedback.repo.TurnRecord``, `Turn`)."""

    @property
    def conversation_id(self) -> Id: ...
    @property
    def message_id(self) -> Id: ...
    @property
    def persona(self) -> str | None: ...
    @property
    def context(self) -> Sequence[Message] | None: ...
    @property
    def candidates(self) -> Sequence[CandidateLike]: ...
    @property
    def never_train(self) -> bool: ...


@dataclass(frozen=True)
class Cand:
    """A minimal candidate, for examples and tests (the store yields its own records)."""

    id: str
    text: str
    raw_text: str | None = None
    rating: int | None = None
    chosen: bool = False
    shown: bool = True
    safety_action: str | None = None
    created_at: datetime | float = 0
    edited_from: str | None = None


@dataclass(frozen=True)
class Turn:
    """A minimal turn, for examples and tests."""

    conversation_id: str
    message_id: str
    context: list[Message]
    candidates: list[Cand]
    persona: str | None = "default"
    never_train: bool = False


@dataclass(frozen=True)
class PreferencePair:
    """One DPO pair; ``id`` is its content hash (`feedback.models.pair_hash`, what the store
    keeps in ``hash``), so equal content gives an equal id."""

    id: str
    conversation_id: Id
    message_id: Id
    source: Source
    prompt: list[Message]
    chosen_text: str
    rejected_text: str
    persona: str | None = None
    split: Split = "train"
    chosen_candidate_id: Id | None = None
    rejected_candidate_id: Id | None = None

    @property
    def chosen(self) -> list[Message]:
        return [{"role": "assistant", "content": self.chosen_text}]

    @property
    def rejected(self) -> list[Message]:
        return [{"role": "assistant", "content": self.rejected_text}]

    def to_trl(self) -> dict[str, list[Message]]:
        """TRL's conversational preference row."""
        return {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}

    def to_row(self) -> dict[str, Any]:
        """Everything, JSON-serialisable (for `pairs export --format jsonl` and the store)."""
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "source": self.source,
            "persona": self.persona,
            "split": self.split,
            "chosen_candidate_id": self.chosen_candidate_id,
            "rejected_candidate_id": self.rejected_candidate_id,
            **self.to_trl(),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> PreferencePair:
        """Inverse of `to_row` (also accepts a bare TRL row)."""
        prompt = list(row["prompt"])
        chosen = side_text(row["chosen"])
        rejected = side_text(row["rejected"])
        return cls(
            id=row.get("id") or pair_hash(prompt, chosen, rejected),
            conversation_id=row.get("conversation_id", ""),
            message_id=row.get("message_id", ""),
            source=row.get("source", "picked"),
            prompt=prompt,
            chosen_text=chosen,
            rejected_text=rejected,
            persona=row.get("persona"),
            split=row.get("split", "train"),
            chosen_candidate_id=row.get("chosen_candidate_id"),
            rejected_candidate_id=row.get("rejected_candidate_id"),
        )


def side_text(side: str | Sequence[Message]) -> str:
    """A preference row's side as text: a plain string, or its (last) assistant message."""
    if isinstance(side, str):
        return side
    return str(side[-1]["content"])


def split_of(conversation_id: Id | None, holdout_fraction: float) -> Split:
    """Deterministic train/holdout split by conversation: the same id always lands the same way.

    >>> split_of("abc", 0.2) == split_of("abc", 0.2)
    True
    >>> split_of("abc", 0.0)
    'train'
    """
    if holdout_fraction <= 0:
        return "train"
    h = int(hashlib.sha256(f"holdout:{conversation_id}".encode()).hexdigest()[:8], 16)
    return "holdout" if h / 0x100000000 < holdout_fraction else "train"


SystemPrompt = Callable[[str | None], "str | None"]
"""persona name → its system prompt (None: none); the store's context has no system message."""


def _context(turn: TurnLike, system_prompt: SystemPrompt | None = None) -> list[Message]:
    out = [{"role": str(m["role"]), "content": str(m["content"] or "")} for m in turn.context or ()]
    if out and out[0]["role"] != "system" and system_prompt is not None:
        text = system_prompt(turn.persona)
        if text:
            out.insert(0, {"role": "system", "content": text})
    return out


def _is_blocked(c: CandidateLike) -> bool:
    return (c.safety_action or "").lower() in BLOCKED_ACTIONS


def _shown_text(c: CandidateLike) -> str:
    return (c.text or "").strip()


def _raw_text(c: CandidateLike) -> str:
    return (c.raw_text if c.raw_text is not None else c.text or "").strip()


def _ts(c: CandidateLike) -> float:
    t = c.created_at
    if isinstance(t, datetime):
        return t.timestamp()
    return t if isinstance(t, int | float) else 0


def _rating(c: CandidateLike) -> int | None:
    r = c.rating
    if r is None:
        return None
    return 1 if r > 0 else -1 if r < 0 else None


def _longest(texts: Sequence[str], count_tokens: TokenCounter) -> str:
    """The text that costs the most tokens as a reply (the first of equals)."""
    return max(texts, key=lambda t: count_tokens([{"role": "assistant", "content": t}]))


@dataclass
class _Raw:
    """A rule's output before scrubbing, hashing and dedupe."""

    source: Source
    chosen: CandidateLike
    rejected: CandidateLike
    chosen_text: str
    rejected_text: str


def _turn_pairs(
    groups: Sequence[Sequence[CandidateLike]], learn_from_safety: bool
) -> Iterator[_Raw]:
    """All rule outputs for one context's candidates (one group per turn record)."""
    cands = [c for g in groups for c in g]
    # Judged = what the user saw and reacted to. Blocked replies were never shown as written,
    # so they take part in no user rule (the user judged the placeholder, not the reply).
    judged = [c for c in cands if c.shown and not _is_blocked(c)]
    judged = [c for c in judged if _shown_text(c)]

    def pair(src: Source, a: CandidateLike, b: CandidateLike) -> _Raw:
        return _Raw(src, a, b, _shown_text(a), _shown_text(b))

    # Rule 5: a rewrite beats the reply it rewrote, whatever else was said of that reply.
    by_id = {c.id: c for c in cands}
    for c in cands:
        original = by_id.get(c.edited_from) if c.edited_from is not None else None
        if original is not None and not _is_blocked(original) and c.text.strip():
            yield pair("edited", c, original)
    # Rule 3: a thumbs-down reply, and a later one that replaced it and was kept or liked.
    downs = [c for c in judged if _rating(c) == -1]
    for d in downs:
        for r in judged:
            if r is d or _ts(r) <= _ts(d) or _rating(r) == -1:
                continue
            if r.chosen or _rating(r) == 1:
                yield pair("replaced", r, d)
    # Rule 1: the picked alternative over every shown one not picked. A picked reply rated
    # down, or an unpicked one rated up, contradicts the pick: no pair.
    # A pick is a choice among the alternatives of one turn record. Every alternative was on
    # offer in the picker, so `shown` (the one displayed inline) does not limit this rule.
    for g in groups:
        alts = [c for c in g if not _is_blocked(c) and _shown_text(c)]
        picked = [c for c in alts if c.chosen]
        if len(picked) == 1 and _rating(picked[0]) != -1:
            p = picked[0]
            for u in alts:
                if u is not p and _rating(u) != 1:
                    yield pair("picked", p, u)
    # Rule 2: every thumbs-up over every thumbs-down.
    ups = [c for c in judged if _rating(c) == 1]
    for u in ups:
        for d in downs:
            yield pair("thumbs", u, d)
    # Rule 4: the final text that was shown over the raw reply it replaced.
    if learn_from_safety:
        for c in cands:
            action = (c.safety_action or "").lower()
            if action in CHANGED_ACTIONS and _shown_text(c) and _raw_text(c):
                yield _Raw("safety", c, c, _shown_text(c), _raw_text(c))


def _by_conversation(turns: Iterable[TurnLike]) -> Iterator[list[TurnLike]]:
    """Consecutive turns of one conversation, grouped (the store yields them in order)."""
    group: list[TurnLike] = []
    for t in turns:
        if group and t.conversation_id != group[0].conversation_id:
            yield group
            group = []
        group.append(t)
    if group:
        yield group


def _ctx_key(ctx: list[Message]) -> str:
    return hashlib.sha256(json.dumps(ctx, ensure_ascii=False).encode()).hexdigest()


def build_dpo_pairs(
    turns: Iterable[TurnLike],
    *,
    learn_from_safety: bool = False,
    holdout_fraction: float = 0.0,
    scrub_personal_data: bool = True,
    names: Iterable[str] = (),
    max_tokens: int | None = None,
    count_tokens: TokenCounter = approx_counter,
    seen: set[str] | None = None,
    system_prompt: SystemPrompt | None = None,
) -> Iterator[PreferencePair]:
    """Stream preference pairs from turns (rules in the module docstring).

    ``seen`` holds pair hashes already emitted (pass the store's to build incrementally).
    ``system_prompt`` maps a turn's persona to the system prompt put first in ``prompt``.
    ``max_tokens`` drops the oldest context messages (never the system prompt or the last user
    message) until prompt + longer side fits (``count_tokens`` measures messages, as
    `companion.prompt` does), and drops the pair if it still does not.

    >>> ctx = [{"role": "user", "content": "Hi"}]
    >>> up, down = Cand("a", "Hey you!", rating=1), Cand("b", "Go away.", rating=-1)
    >>> [p.source for p in build_dpo_pairs([Turn("c", "m", ctx, [up, down])])]
    ['thumbs']
    >>> list(build_dpo_pairs([Turn("c", "m", ctx, [up, down], never_train=True)]))
    []
    """
    seen = set() if seen is None else seen
    names = tuple(names)
    banned: set[Id] = set()  # never_train conversations met so far
    for conv in _by_conversation(turns):
        if conv[0].conversation_id in banned or any(t.never_train for t in conv):
            banned.add(conv[0].conversation_id)
            continue
        # Turns with the same context (e.g. a regeneration stored as its own turn) pool their
        # candidates, so rule 2 sees every thumbs given to that context.
        pools: dict[str, tuple[TurnLike, list[Message], list[Sequence[CandidateLike]]]] = {}
        for t in conv:
            ctx = _context(t, system_prompt)
            if not ctx:
                continue
            key = _ctx_key(ctx)
            if key not in pools:
                pools[key] = (t, ctx, [])
            pools[key][2].append(list(t.candidates or ()))
        for first, ctx, cands in pools.values():
            raws = sorted(_turn_pairs(cands, learn_from_safety), key=lambda r: _PRIORITY[r.source])
            prompt = scrub_messages(ctx, names) if scrub_personal_data else ctx
            for raw in raws:
                chosen, rejected = raw.chosen_text, raw.rejected_text
                if scrub_personal_data:
                    chosen, rejected = scrub(chosen, names), scrub(rejected, names)
                if not chosen or not rejected or chosen == rejected:
                    continue
                fitted = (
                    fit_prompt(
                        prompt, _longest((chosen, rejected), count_tokens), max_tokens, count_tokens
                    )
                    if max_tokens
                    else prompt
                )
                if fitted is None:
                    continue
                h = pair_hash(fitted, chosen, rejected)
                if h in seen:
                    continue
                seen.add(h)
                yield PreferencePair(
                    id=h,
                    conversation_id=first.conversation_id,
                    message_id=first.message_id,
                    source=raw.source,
                    prompt=fitted,
                    chosen_text=chosen,
                    rejected_text=rejected,
                    persona=first.persona,
                    split=split_of(first.conversation_id, holdout_fraction),
                    chosen_candidate_id=raw.chosen.id,
                    rejected_candidate_id=raw.rejected.id,
                )


def first_paragraph(text: str) -> str:
    r"""The identity line of a system prompt ("You are Juniper.").

    >>> first_paragraph("You are Juniper.\n\nJuniper is a friendly AI companion.")
    'You are Juniper.'
    """
    return text.strip().split("\n\n", 1)[0].strip()


def compact_system(rows: Iterable[dict[str, Any]], key: str = "prompt") -> list[dict[str, Any]]:
    r"""Rows whose leading system message is cut to its first paragraph.

    On CPU the cost of a training step is its token count, and a persona's full system prompt
    (~370 tokens for the default one) is most of every pair; the identity line keeps the
    persona framing at ~5 tokens. ``key`` is "prompt" for pair/KTO rows, "messages" for SFT.

    >>> row = {"prompt": [{"role": "system", "content": "You are J.\n\nLong text."},
    ...                   {"role": "user", "content": "Hi"}], "chosen": [], "rejected": []}
    >>> compact_system([row])[0]["prompt"][0]["content"]
    'You are J.'
    """
    out = []
    for r in rows:
        msgs = r[key]
        if msgs and msgs[0]["role"] == "system":
            msgs = [{**msgs[0], "content": first_paragraph(msgs[0]["content"])}, *msgs[1:]]
        out.append({**r, key: msgs})
    return out


def fit_prompt(
    prompt: list[Message],
    completion: str,
    max_tokens: int | None,
    count_tokens: TokenCounter = approx_counter,
) -> list[Message] | None:
    """Drop the oldest non-system messages until prompt + completion fit; None if they cannot.

    The system prompt and the final user message always stay; dropped messages go in
    user/assistant pairs so the roles keep alternating. ``count_tokens`` counts the messages
    with the reply last (template overhead included), like `companion.prompt.approx_counter`.

    >>> msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "x" * 70},
    ...         {"role": "assistant", "content": "y" * 70}, {"role": "user", "content": "hi"}]
    >>> [m["role"] for m in fit_prompt(msgs, "ok", 40)]
    ['system', 'user']
    >>> fit_prompt(msgs, "z" * 700, 40) is None
    True
    """
    if not max_tokens:
        return prompt
    reply = {"role": "assistant", "content": completion}

    def size(msgs: list[Message]) -> int:
        return count_tokens([*msgs, reply])

    head = [m for m in prompt[:1] if m["role"] == "system"]
    body = prompt[len(head) :]
    while body and size(head + body) > max_tokens and len(body) > 1:
        body = body[2:] if len(body) > 2 and body[0]["role"] == "user" else body[1:]
    out = head + body
    return out if size(out) <= max_tokens else None


def build_kto_rows(
    turns: Iterable[TurnLike],
    *,
    scrub_personal_data: bool = True,
    names: Iterable[str] = (),
    holdout_fraction: float = 0.0,
    split: Split | None = "train",
    max_tokens: int | None = None,
    count_tokens: TokenCounter = approx_counter,
    system_prompt: SystemPrompt | None = None,
) -> Iterator[dict[str, Any]]:
    """Unpaired thumbs as KTO rows ``{"prompt", "completion", "label"}`` (thumbs up = True).

    Rows of the other split are skipped (``split=None`` keeps all), as are never_train
    conversations, blocked replies and duplicates.

    >>> ctx = [{"role": "user", "content": "Hi"}]
    >>> rows = list(build_kto_rows([Turn("c", "m", ctx, [Cand("a", "Hey!", rating=1)])]))
    >>> rows[0]["completion"], rows[0]["label"]
    ([{'role': 'assistant', 'content': 'Hey!'}], True)
    """
    names = tuple(names)
    seen: set[str] = set()
    for t in turns:
        if t.never_train:
            continue
        if split is not None and split_of(t.conversation_id, holdout_fraction) != split:
            continue
        ctx = _context(t, system_prompt)
        if not ctx:
            continue
        prompt = scrub_messages(ctx, names) if scrub_personal_data else ctx
        for c in t.candidates:
            r = _rating(c)
            text = _shown_text(c)
            if r is None or not text or _is_blocked(c) or not c.shown:
                continue
            if scrub_personal_data:
                text = scrub(text, names)
            fitted = fit_prompt(prompt, text, max_tokens, count_tokens) if max_tokens else prompt
            if fitted is None:
                continue
            h = pair_hash(fitted, text, str(r))
            if h in seen:
                continue
            seen.add(h)
            yield {
                "prompt": fitted,
                "completion": [{"role": "assistant", "content": text}],
                "label": r == 1,
            }


def unpaired_kto_rows(
    rows: Iterable[dict[str, Any]], paired_texts: Iterable[str]
) -> list[dict[str, Any]]:
    """The KTO rows whose reply is in no pair: the thumbs a DPO round would otherwise waste.

    Matched on the reply's text alone (stripped), not its prompt: a pair's prompt may be cut
    to fit differently from the row's, and a reply that is a side of any pair (train or
    holdout) must not be trained on twice, nor the gate's holdout replies at all.

    >>> def row(text, label):
    ...     return {"prompt": [], "completion": [{"role": "assistant", "content": text}],
    ...             "label": label}
    >>> rows = [row("Hey!", True), row("Go away.", False), row("Sure? ", True)]
    >>> [r["completion"][0]["content"] for r in unpaired_kto_rows(rows, ["Go away.", "Sure?"])]
    ['Hey!']
    """
    paired = {t.strip() for t in paired_texts}
    return [r for r in rows if side_text(r["completion"]).strip() not in paired]


@dataclass
class PairStats:
    """Counts for `companion pairs stats` and the retrain report."""

    total: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_split: Counter[str] = field(default_factory=Counter)
    conversations: int = 0

    @classmethod
    def of(cls, pairs: Iterable[PreferencePair]) -> PairStats:
        s = cls()
        convs: set[Id] = set()
        for p in pairs:
            s.total += 1
            s.by_source[p.source] += 1
            s.by_split[p.split] += 1
            convs.add(p.conversation_id)
        s.conversations = len(convs)
        return s

    def thumbs_only(self) -> bool:
        """True when every pair came from thumbs alone (rule 2): the gate is stricter then."""
        return self.total > 0 and self.by_source.get("thumbs", 0) == self.total
