from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.lorebook import parse_lorebook
from companion.persona import ExampleExchange, Persona, system_prompt
from companion.prompt import (
    ChatMessage,
    PromptTooLong,
    build_messages,
    load_counter,
    lore_for,
    split_turns,
)

PERSONA = Persona(
    name="Juniper",
    description="A friend.",
    example_dialogues=(ExampleExchange(user="hi", assistant="hello there, friend"),),
)


LORE = parse_lorebook(
    {
        "entries": [
            {"keys": ["lamp"], "content": "{{char}} polishes the lamp at dawn.", "priority": 5},
            {"keys": ["gull"], "content": "The gulls are Bo and Flo.", "priority": 1},
            {"keys": [], "content": "It is winter.", "constant": True, "insertion_order": 0},
        ]
    }
)
KEEPER = PERSONA.model_copy(update={"lorebook": LORE})


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
    lambda xs: (
        [{"role": r, "content": c} for r, c in xs] + [{"role": "user", "content": "N lamp gull"}]
    )
)


@given(
    history=_history,
    budget=st.integers(min_value=0, max_value=900),
    persona=st.sampled_from([PERSONA, KEEPER]),  # KEEPER has a lorebook the history calls on
)
def test_fitting_properties(history: list[ChatMessage], budget: int, persona: Persona) -> None:
    try:
        out = build_messages(persona, history, count_tokens=chars, max_prompt_tokens=budget)
    except PromptTooLong:
        # only when the system prompt (even shortened) and the newest user turn cannot fit
        bare = system_prompt(persona.model_copy(update={"example_dialogues": ()}))
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


# --- lorebook entries --------------------------------------------------------------------


def test_lore_called_for_by_recent_messages_goes_into_the_system_prompt() -> None:
    h = [{"role": "user", "content": "How is the lamp?"}]
    system = build_messages(KEEPER, h, count_tokens=chars, max_prompt_tokens=10_000)[0]
    text = system["content"]
    assert "Juniper polishes the lamp at dawn." in text and "It is winter." in text
    assert "gulls" not in text
    assert text.index("It is winter.") < text.index("Juniper polishes")  # insertion order


def test_lore_stays_within_its_share_of_the_budget() -> None:
    h = [{"role": "user", "content": "the lamp and the gull"}]
    everything = lore_for(KEEPER, h, chars, budget=10_000)
    assert len(everything) == 3
    # chars() counts 4 per message + 1 per character, so a text costs its length
    lamp, gull = "Juniper polishes the lamp at dawn.", "The gulls are Bo and Flo."
    # the constant entry has the lowest priority (its insertion order, 0): it goes first
    some = lore_for(KEEPER, h, chars, budget=len(lamp) + len(gull) + 5)
    assert [e.content for e in some] == ["{{char}} polishes the lamp at dawn.", gull]
    out = build_messages(KEEPER, h, count_tokens=chars, max_prompt_tokens=400, lore_share=0.0)
    assert lamp not in out[0]["content"] and gull not in out[0]["content"]


def test_lore_is_shed_after_examples_and_before_memory_notes() -> None:
    h = [{"role": "user", "content": "lamp"}]
    notes = ["The user likes tea."]

    def system(budget: int) -> str:
        msgs = build_messages(
            KEEPER,
            h,
            memory_notes=notes,
            count_tokens=chars,
            max_prompt_tokens=budget,
            lore_share=1.0,
        )
        return msgs[0]["content"]

    full = system(10_000)
    assert all(s in full for s in ("hello there, friend", "polishes the lamp", "likes tea"))
    no_examples = system(chars([{"role": "system", "content": full}, h[0]]) - 1)
    assert "hello there, friend" not in no_examples and "polishes the lamp" in no_examples
    no_lore = system(chars([{"role": "system", "content": no_examples}, h[0]]) - 1)
    assert "polishes the lamp" not in no_lore and "likes tea" in no_lore


def test_recalled_notes_go_right_before_the_new_message_and_are_shed_first() -> None:
    from companion.prompt import build_messages

    persona = Persona(name="Kit", description="A friend.")
    history = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi!"},
        {"role": "user", "content": "what's my sister's name?"},
    ]

    def count(msgs):
        return sum(len(m["content"].split()) + 1 for m in msgs)

    msgs = build_messages(
        persona,
        history,
        memory_notes=["The user's name is Sam."],
        recalled=["The user's sister is called Ana."],
        count_tokens=count,
        max_prompt_tokens=400,
    )
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "system", "user"]
    assert "The user's name is Sam." in msgs[0]["content"]  # standing: the system prompt
    assert "Ana" not in msgs[0]["content"] and "Ana" in msgs[3]["content"]
    # Only the last turn fits: the note stays with it.
    small = count([msgs[0], msgs[3], msgs[4]])
    tight = build_messages(
        persona, history, memory_notes=["The user's name is Sam."],
        recalled=["The user's sister is called Ana."], count_tokens=count, max_prompt_tokens=small,
    )  # fmt: skip
    assert [m["role"] for m in tight] == ["system", "system", "user"]
    # Not even that: the recalled note goes first, the message still goes out.
    tighter = build_messages(
        persona, history, memory_notes=["The user's name is Sam."],
        recalled=["The user's sister is called Ana."], count_tokens=count,
        max_prompt_tokens=small - 3,
    )  # fmt: skip
    roles = [m["role"] for m in tighter]
    assert roles.count("system") == 1 and roles[-1] == "user"
    assert not any("Ana" in m["content"] for m in tighter)
