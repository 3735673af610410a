from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.persona import ExampleExchange, Persona, system_prompt
from companion.prompt import (
    ChatMessage,
    PromptTooLong,
    build_messages,
    load_counter,
    split_turns,
)

PERSONA = Persona(
    name="Juniper",
    description="A friend.",
    example_dialogues=(ExampleExchange(user="hi", assistant="hello there, friend"),),
)


def chars(messages: list[ChatMessage]) -> int:
    """A stand-in token counter: 4 per message of overhead plus one per character."""
    return sum(4 + len(m["content"]) for m in messages)


def test_split_turns_literal() -> None:
    h = [
        {"role": "assistant", "content": "greeting"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
    ]
    assert split_turns(h) == [[h[0]], [h[1], h[2]], [h[3]]]


def test_drops_oldest_whole_turns() -> None:
    h = [
        {"role": "user", "content": "x" * 50},
        {"role": "assistant", "content": "y" * 50},
        {"role": "user", "content": "newest"},
    ]
    full = build_messages(PERSONA, h, count_tokens=chars, max_prompt_tokens=10_000)
    assert [m["role"] for m in full] == ["system", "user", "assistant", "user"]
    budget = chars(full) - 1
    fitted = build_messages(PERSONA, h, count_tokens=chars, max_prompt_tokens=budget)
    assert fitted == [full[0], h[2]]


def test_sheds_examples_then_gives_up() -> None:
    h = [{"role": "user", "content": "hello"}]
    full = build_messages(PERSONA, h, count_tokens=chars, max_prompt_tokens=10_000)
    assert "hello there, friend" in full[0]["content"]
    shorter = build_messages(PERSONA, h, count_tokens=chars, max_prompt_tokens=chars(full) - 1)
    assert "hello there, friend" not in shorter[0]["content"] and shorter[-1] == h[0]
    with pytest.raises(PromptTooLong, match="too long"):
        build_messages(PERSONA, h, count_tokens=chars, max_prompt_tokens=20)


_msg_text = st.text(max_size=40)
_history = st.lists(st.tuples(st.sampled_from(["user", "assistant"]), _msg_text), max_size=14).map(
    lambda xs: [{"role": r, "content": c} for r, c in xs] + [{"role": "user", "content": "N"}]
)


@given(history=_history, budget=st.integers(min_value=0, max_value=900))
def test_fitting_properties(history: list[ChatMessage], budget: int) -> None:
    try:
        out = build_messages(PERSONA, history, count_tokens=chars, max_prompt_tokens=budget)
    except PromptTooLong:
        # only when the system prompt (even shortened) and the newest user turn cannot fit
        bare = system_prompt(PERSONA.model_copy(update={"example_dialogues": ()}))
        assert chars([{"role": "system", "content": bare}, history[-1]]) > budget
        return
    assert chars(out) <= budget  # fits
    assert out[0]["role"] == "system" and all(m["role"] != "system" for m in out[1:])
    assert out[-1] == history[-1]  # newest user message kept, whole
    kept = out[1:]
    assert kept == history[len(history) - len(kept) :]  # a suffix: order kept, nothing cut
    # and it starts at a turn boundary unless it is the whole history
    if len(kept) < len(history):
        assert kept[0]["role"] == "user"


def test_counter_uses_the_models_chat_template(embedded_model_dir: Path) -> None:
    count = load_counter(embedded_model_dir)
    one = [{"role": "user", "content": "Hello there"}]
    two = [*one, {"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "Bye"}]
    assert 3 < count(one) < count(two)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(embedded_model_dir))
    text = tok.apply_chat_template(one, tokenize=False, add_generation_prompt=True)
    assert count(one) == len(tok(text, add_special_tokens=False)["input_ids"])
    msgs = build_messages(PERSONA, two, count_tokens=count, max_prompt_tokens=count(two) + 40)
    assert count(msgs) <= count(two) + 40
