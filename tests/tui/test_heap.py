"""Full garbage collections wait while a reply streams, and run once the user is idle."""

from __future__ import annotations

import gc

import pytest

from tui.heap import NEVER, Collector


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def full_collections():
    """How many full (generation 2) collections ran, counted by the collector's own hook."""
    seen: list[int] = []

    def hook(phase: str, info: dict) -> None:
        if phase == "stop" and info["generation"] == 2:
            seen.append(1)

    gc.callbacks.append(hook)
    before = gc.get_threshold()
    yield seen
    gc.callbacks.remove(hook)
    gc.set_threshold(*before)


def test_streaming_holds_full_collections_until_the_user_pauses(full_collections):
    clock = _Clock()
    c = Collector(idle_s=1.0, max_wait_s=60.0, clock=clock)
    normal = gc.get_threshold()
    with c.streaming():
        assert gc.get_threshold() == (normal[0], normal[1], NEVER)
        assert not c.tick()  # never during a stream
    assert c.owed and gc.get_threshold()[2] == NEVER
    c.note_input()
    clock.now += 0.5
    assert not c.tick() and not full_collections  # the user is typing
    clock.now += 1.0
    assert c.tick()
    assert full_collections and c.collections == 1 and not c.owed
    assert gc.get_threshold() == normal
    assert not c.tick()  # nothing owed any more


def test_an_owed_collection_runs_after_max_wait_even_while_typing(full_collections):
    clock = _Clock()
    c = Collector(idle_s=1.0, max_wait_s=10.0, clock=clock)
    with c.streaming():
        pass
    for _ in range(9):
        clock.now += 1.0
        c.note_input()
        assert not c.tick()
    clock.now += 1.5
    c.note_input()
    assert c.tick() and full_collections


def test_nested_streams_and_close_give_the_thresholds_back():
    normal = gc.get_threshold()
    c = Collector(clock=_Clock())
    with c.streaming():
        with c.streaming():
            pass
        assert gc.get_threshold()[2] == NEVER
        assert not c.tick()  # the outer stream still runs
    c.close()
    assert gc.get_threshold() == normal


def test_a_long_stream_that_the_user_only_reads_is_collected_every_few_seconds(
    full_collections,
):
    clock = _Clock()
    c = Collector(idle_s=1.0, streaming_every_s=5.0, clock=clock)
    with c.streaming():
        clock.now += 3.0
        assert not c.tick()  # idle, but too soon
        clock.now += 3.0
        c.note_input()
        assert not c.tick()  # typing: never mid-stream
        clock.now += 1.5
        assert c.tick() and len(full_collections) == 1
        assert gc.get_threshold()[2] == NEVER  # still held for the rest of the stream
        clock.now += 2.0
        assert not c.tick()  # the next one waits its 5 s again
    assert c.owed  # what the stream made since is owed afterwards


def test_settle_waits_for_a_pause_and_freezes_what_is_alive():
    clock = _Clock()
    c = Collector(idle_s=1.0, clock=clock)
    c.request_settle()
    frozen = gc.get_freeze_count()
    keep = [[i] for i in range(10)]  # noqa: F841 - tracked and alive at the settle
    c.note_input()
    assert not c.tick() and gc.get_freeze_count() == frozen  # the user is typing
    clock.now += 1.5
    assert c.tick() and gc.get_freeze_count() > frozen
    assert c.collections == 0  # nothing was owed: a settle is not a held-back collection
    assert not c.tick()
