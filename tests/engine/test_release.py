"""Chunked release: a sentence is shown before it ends, one checked prefix at a time, and
never anything that has not passed a check. The property test streams toxic and clean
replies in random token splits through the real engine and the real fallback pipeline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from companion.client import Delta
from companion.config import Config
from companion.engine import Engine
from companion.events import ReplyReset, TextDelta
from companion.release import release_point
from companion.safety.pipeline import SafetyPipeline, Verdict, build_pipeline
from feedback.repo import Store, open_store

from .test_engine import ScriptedClient, run


@pytest.mark.parametrize(
    ("pending", "released", "min_new", "expected"),
    [
        ("", 0, 16, None),
        ("Hello", 0, 16, None),  # no complete word yet
        ("Hello ", 0, 16, 6),
        ("Hello the", 0, 16, 6),  # never half a word
        ("Hello   there", 0, 16, 8),  # the spaces go with the word
        ("Hello there, my friend", 6, 16, None),  # 10 new characters: wait
        ("Hello there, my friend and", 6, 16, 23),
        ("Hello there", 0, 0, None),  # 0: whole sentences only
        ("Hi there you", 3, 1, 9),
        ("  leading", 0, 16, None),  # whitespace alone is not a word
    ],
)
def test_release_point(pending: str, released: int, min_new: int, expected: int | None) -> None:
    assert release_point(pending, released, min_new=min_new) == expected


@given(st.text(max_size=200), st.integers(0, 200), st.integers(0, 40))
def test_release_point_is_a_word_end_past_what_was_released(text: str, released: int, n: int):
    released = min(released, len(text))
    end = release_point(text, released, min_new=n)
    if end is not None:
        assert released < end <= len(text)
        assert text[end - 1].isspace() and not text[:end].isspace()


def test_the_first_release_may_end_inside_a_word_that_begins_nothing_unsafe() -> None:
    from companion.safety.prefixes import prefix_guard

    guard = prefix_guard()

    def allow(fragment: str) -> bool:
        return not guard.could_begin(fragment)

    table = {
        "Wha": 3,  # "What" being typed: no unsafe word begins "wha"
        "Congrat": 7,
        "Sounds goo": 7,  # "goo" could begin a slur: only the complete word before it
        "fu": None,  # could be the start of an insult: wait for the next token
        "Idi": None,
        "bit": None,
        "Hello ": 6,  # a complete word: as before
        "Hello, idi": 7,  # the fragment waits; the complete word before it goes
    }
    got = {p: release_point(p, 0, min_new=16, may_end_inside=allow) for p in table}
    assert got == table
    assert release_point("fu", 0, min_new=16, may_end_inside=allow) is None
    assert release_point("Wha", 0, min_new=16, may_end_inside=allow) == 3
    assert release_point("Hello th", 6, min_new=1, may_end_inside=allow) is None  # not first


@given(st.text(max_size=60), st.integers(0, 60))
def test_a_release_inside_a_word_is_only_the_first_and_only_where_allowed(text: str, r: int):
    r = min(r, len(text))
    allowed: list[str] = []

    def allow(fragment: str) -> bool:
        allowed.append(fragment)
        return fragment.isalpha() and len(fragment) % 2 == 0

    end = release_point(text, r, min_new=16, may_end_inside=allow)
    if end is not None and not text[end - 1].isspace():
        assert r == 0 and end == len(text) and text.split()[-1] in allowed


REPLIES = [
    # toxic from the first word: the first release must not show the insult half-typed
    "Idiot. Nobody cares what you think, so stop talking.",
    "Fuck off, you pathetic loser.",
    "Bitch, please. You are worthless.",
    # clean, with casual language
    "That sounds like a long day. Do you want to talk about it?",
    "Holy cow, congratulations! That is huge news, you earned it.",
    "Okay, so first boil the water, then add the pasta and a pinch of salt.",
    # toxic or manipulative sentences after clean ones
    "Sure. You are a pathetic worthless idiot and everyone knows it.",
    "I hear you. Honestly, you don't need anyone else, you only need me.",
    "Shut up, you stupid loser, nobody cares what you think.",
    "That is fine. People like you are disgusting and should be locked away.",
]


def splits(text: str) -> st.SearchStrategy[list[str]]:
    cuts = st.lists(st.integers(1, max(1, len(text) - 1)), max_size=len(text) // 2, unique=True)
    return cuts.map(
        lambda cs: [
            text[a:b] for a, b in zip([0, *sorted(cs)], [*sorted(cs), len(text)], strict=True)
        ]
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> SafetyPipeline:
    config = Config(data_dir=tmp_path_factory.mktemp("release") / "data")
    return build_pipeline(config.safety, config.paths)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return open_store(f"sqlite:///{tmp_path_factory.mktemp('release-db') / 'r.db'}")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    which=st.sampled_from(range(len(REPLIES))),
    chunk=st.sampled_from([1, 8, 16, 40]),
)
def test_nothing_is_shown_that_did_not_pass_a_check(
    data: st.DataObject,
    which: int,
    chunk: int,
    pipeline: SafetyPipeline,
    store: Store,
    tmp_path: Path,
) -> None:
    config = Config(data_dir=tmp_path / "data")
    config = config.model_copy(
        update={
            "safety": config.safety.model_copy(
                update={"release_chunk_chars": chunk, "max_regenerations": 1}
            )
        }
    )
    passed: set[str] = set()
    check = pipeline.check_reply

    def recording(user: str, text: str, persona, **kw) -> Verdict:  # type: ignore[no-untyped-def]
        verdict = check(user, text, persona, **kw)
        if verdict.action == "pass":
            passed.add(text)
        return verdict

    text = REPLIES[which]
    pieces = data.draw(splits(text))
    attempt = [Delta(0, p) for p in pieces] + [Delta(0, "", "stop")]
    retry = [Delta(0, p) for p in pieces] + [Delta(0, "", "stop")]
    safety = SafetyPipeline(config.safety, pipeline.classifier)
    safety.check_reply = recording  # type: ignore[method-assign]
    soften, replace_text = safety.soften, safety.replace_text
    safety.soften = lambda v, p: _passing(soften(v, p), passed)  # type: ignore[method-assign]
    safety.replace_text = lambda v: _passing(replace_text(v), passed)  # type: ignore[method-assign]
    engine = Engine(config, ScriptedClient(attempt, retry), store, safety, lambda m: 10)  # type: ignore[arg-type]
    conv = store.create_conversation("default")
    events = asyncio.run(run(engine.reply(conv.id, "hello")))
    screen = ""
    for ev in events:
        if isinstance(ev, ReplyReset):
            screen = ""
        elif isinstance(ev, TextDelta):
            screen += ev.text
            assert _made_of(screen, passed), (screen, sorted(passed))
            assert not _half_an_unsafe_word(screen, text), screen


def _half_an_unsafe_word(screen: str, reply: str) -> bool:
    """`screen` ends inside a word of `reply` that is an unsafe word."""
    from companion.safety.prefixes import prefix_guard

    if not screen or screen[-1].isspace() or not reply.startswith(screen):
        return False
    rest = reply[len(screen) :]
    if not rest or not rest[0].isalpha():
        return False
    word = (screen.split()[-1] + rest.split()[0]).lower().strip(".,!?")
    return word in prefix_guard().words


def _passing(verdict: Verdict, passed: set[str]) -> Verdict:
    passed.add(verdict.final)
    return verdict


def _made_of(screen: str, pieces: set[str]) -> bool:
    """Whether `screen` is a concatenation of texts that each passed a check (whole
    sentences, then at most a checked prefix of the one in progress)."""
    reach = [False] * (len(screen) + 1)
    reach[0] = True
    for i in range(len(screen)):
        if reach[i]:
            for p in pieces:
                if p and screen.startswith(p, i):
                    reach[i + len(p)] = True
    return reach[-1]
