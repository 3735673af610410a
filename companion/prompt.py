"""Prompt assembly: persona + lorebook + memory notes + history → chat messages that fit.

Pure: the token counter is passed in (built from the model's own tokenizer and chat template
by :func:`tokenizer_counter`, or anything else in tests). The history is fitted by dropping
the oldest whole turns first; a message is never cut, the system message always comes first,
and the newest user message is always kept. The persona's lorebook entries that the recent
messages call for go into the system message, within their own share of the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from companion.lorebook import LoreEntry, select_entries
from companion.persona import Persona, system_prompt

ChatMessage = dict[str, str]
TokenCounter = Callable[[list[ChatMessage]], int]

LORE_SHARE = 0.25
"""The most of the prompt budget lorebook entries may take (SillyTavern's default share);
a book's own smaller ``token_budget`` wins."""


class PromptTooLong(Exception):
    """Even the persona and the newest message alone do not fit the context."""

    def __init__(self, needed: int, budget: int) -> None:
        super().__init__(
            f"Your message is too long for the model's context ({needed} of {budget} tokens "
            "available); shorten it."
        )
        self.needed = needed
        self.budget = budget


def split_turns(history: Sequence[ChatMessage]) -> list[list[ChatMessage]]:
    """Group messages into turns, each starting at a user message (or at a system note put
    right before one, which goes with it). Messages before the first user message (a
    greeting) form a turn of their own."""
    turns: list[list[ChatMessage]] = []
    for msg in history:
        lone_system = bool(turns) and [m["role"] for m in turns[-1]] == ["system"]
        if msg["role"] == "user" and lone_system:
            turns[-1].append(msg)  # a note put before this message goes with it
        elif msg["role"] in ("user", "system") or not turns:
            turns.append([msg])
        else:
            turns[-1].append(msg)
    return turns


def build_messages(
    persona: Persona,
    history: Sequence[ChatMessage],
    *,
    memory_notes: list[str] | None = None,
    recalled: list[str] | None = None,
    count_tokens: TokenCounter,
    max_prompt_tokens: int,
    lore_share: float = LORE_SHARE,
) -> list[ChatMessage]:
    """The messages to send: a system message, then as much of the history as fits.

    ``recalled`` (what memory recalled for the user's new message) goes in a second system
    message right before that message: a small model uses a note there far more often than
    one at the end of a long system prompt (bench/memory.py), and the system prompt and the
    history before it stay a cached prefix. It is dropped first when the prompt is too long.
    If even the last turn does not fit, the system prompt is shortened (example dialogues,
    then lorebook entries, then memory notes, go first) before giving up with
    :class:`PromptTooLong`."""
    history = [{"role": m["role"], "content": m["content"]} for m in history]
    lore = lore_for(persona, history, count_tokens, budget=int(max_prompt_tokens * lore_share))
    bare = persona.model_copy(update={"example_dialogues": ()})
    systems = [
        system_prompt(persona, memory_notes, lore),
        system_prompt(bare, memory_notes, lore),
        system_prompt(bare, memory_notes),
        system_prompt(bare, None),
    ]
    notes = [n.strip() for n in (recalled or []) if n.strip()]
    if notes and history and history[-1]["role"] == "user":
        recall_msg: ChatMessage = {"role": "system", "content": recalled_text(notes)}
        with_note = split_turns([*history[:-1], recall_msg, history[-1]])
        # The note may cost older turns, never a part of the system prompt.
        fitted = _fit(systems[0], with_note, count_tokens, max_prompt_tokens)
        if isinstance(fitted, list):
            return fitted
    turns = split_turns(history)
    needed = 0
    for text in dict.fromkeys(systems):  # unique, in order
        fitted = _fit(text, turns, count_tokens, max_prompt_tokens)
        if isinstance(fitted, list):
            return fitted
        needed = fitted
    raise PromptTooLong(needed, max_prompt_tokens)


def _fit(
    system_text: str,
    turns: Sequence[Sequence[ChatMessage]],
    count_tokens: TokenCounter,
    max_prompt_tokens: int,
) -> list[ChatMessage] | int:
    """The system message and as many of the latest turns as fit, or, when not even the
    last turn fits, the tokens that would need."""
    system: ChatMessage = {"role": "system", "content": system_text}

    def fits(start: int) -> bool:
        return count_tokens([system, *_flat(turns[start:])]) <= max_prompt_tokens

    last = max(len(turns) - 1, 0)
    if not fits(last):
        return count_tokens([system, *_flat(turns[last:])])
    # Fewer turns never cost more tokens: binary-search the oldest turn we can keep.
    lo, hi = 0, last
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return [system, *_flat(turns[lo:])]


def recalled_text(notes: Sequence[str]) -> str:
    """The recall message's text.

    >>> print(recalled_text(["The user's sister is called Ana."]))
    What you remember about the user (use it if it helps):
    - The user's sister is called Ana.
    """
    return "What you remember about the user (use it if it helps):\n" + "\n".join(
        f"- {n}" for n in notes
    )


def lore_for(
    persona: Persona, history: Sequence[ChatMessage], count_tokens: TokenCounter, *, budget: int
) -> list[LoreEntry]:
    """The persona's lorebook entries that these messages call for, within ``budget`` tokens
    (each entry counted as the system message's text would count it)."""
    if persona.lorebook is None or not persona.lorebook.entries:
        return []
    empty = count_tokens([{"role": "system", "content": ""}])

    def count_text(text: str) -> int:
        return max(count_tokens([{"role": "system", "content": text}]) - empty, 0)

    texts = [m["content"] for m in history]
    return select_entries(persona.lorebook, texts, count_text, budget=max(budget, 0))


def _flat(turns: Sequence[Sequence[ChatMessage]]) -> list[ChatMessage]:
    return [m for t in turns for m in t]


def tokenizer_counter(tokenizer: Any) -> TokenCounter:
    """Count a prompt's tokens exactly as the server will: the model's chat template with
    the generation prompt added."""

    def count(messages: list[ChatMessage]) -> int:
        ids = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
        if hasattr(ids, "keys"):  # newer transformers return a BatchEncoding
            ids = ids["input_ids"]
        return len(ids)

    return count


def load_counter(model_dir: str | Path) -> TokenCounter:
    """A counter from the tokenizer saved with a model checkpoint (imports transformers)."""
    from transformers import AutoTokenizer

    return tokenizer_counter(AutoTokenizer.from_pretrained(str(model_dir)))


def approx_counter(messages: list[ChatMessage]) -> int:
    """A cautious estimate for when the model's tokenizer is not at hand (an external server
    with a hub model): about three characters a token, plus the template's overhead."""
    return sum(len(m["content"]) // 3 + 8 for m in messages) + 8
