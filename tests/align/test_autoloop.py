"""Pairs built per conversation as feedback changes, one retrain at a time, and
retrain.auto's background process for real."""

from __future__ import annotations

import time

import pytest
from filelock import FileLock
from test_retrain import record_feedback

from align.autoloop import LearningLoop
from align.retrain import (
    RetrainBusy,
    RetrainOptions,
    retrain,
    retrain_lock_path,
    retrain_running,
    sync_pairs,
)
from companion.config import Config, load
from feedback.repo import Store, open_store


@pytest.fixture
def store(tmp_path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'c.db'}")


def _cfg(tmp_path, **retrain: object) -> Config:
    rc = {"holdout_fraction": 0.0, **retrain}
    return Config.model_validate({"data_dir": str(tmp_path / "data"), "retrain": rc})


def _thumbs_turn(store: Store, text: str = "hi") -> tuple[int, int, int]:
    conv = store.create_conversation("default")
    user = store.add_message(conv.id, "user", text)
    reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
    up = store.add_candidate(reply.id, f"Lovely to hear, {text}! How are you?", shown=True)
    down = store.add_candidate(reply.id, f"Whatever, {text}.")
    store.show_candidate(reply.id, down.id)  # browsed to: the user saw both
    store.rate(up.id, 1)
    store.rate(down.id, -1)
    return conv.id, up.id, down.id


def test_scoped_build_refreshes_one_conversation_only(tmp_path, store):
    c = _cfg(tmp_path).retrain
    a, _, a_down = _thumbs_turn(store, "Ann")
    b, _, b_down = _thumbs_turn(store, "Bo")
    assert sync_pairs(store, c, conversation_id=a) == 1
    assert {p.conversation_id for p in store.iter_pairs()} == {a}
    assert sync_pairs(store, c, conversation_id=a) == 0  # idempotent
    assert sync_pairs(store, c) == 1  # the full build adds b's

    store.rate(a_down, None)  # undone: a's pair is stale
    store.rate(b_down, None)
    assert sync_pairs(store, c, conversation_id=a) == 0
    assert {p.conversation_id for p in store.iter_pairs()} == {b}  # b untouched until its turn


def test_feedback_events_make_pairs_due(tmp_path, store):
    loop = LearningLoop(_cfg(tmp_path, pairs_every_events=3), store, launch=_never)
    assert [loop.feedback_recorded() for _ in range(3)] == [False, False, True]
    conv, _, _ = _thumbs_turn(store)
    assert loop.build_pairs(conv) == 1
    assert not loop.feedback_recorded()  # the build reset the count


def _never():  # pragma: no cover - a launch here is the bug the test catches
    raise AssertionError("retrain launched")


def test_auto_retrain_waits_for_enough_new_pairs_and_for_the_lock(tmp_path, store):
    cfg = _cfg(tmp_path, auto=True, auto_after_pairs=2)
    loop = LearningLoop(cfg, store, launch=_never)
    conv, _, _ = _thumbs_turn(store)
    loop.build_pairs(conv)
    assert loop.maybe_retrain() is None  # 1 new pair < 2

    conv, _, _ = _thumbs_turn(store, "again")
    loop.build_pairs(conv)
    cfg.paths.data_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(retrain_lock_path(cfg.paths)):
        # Another retrain (a manual one) holds the lock: no second one, and retrain()
        # itself refuses with one line.
        assert retrain_running(cfg.paths)
        assert loop.maybe_retrain() is None
        with pytest.raises(RetrainBusy, match="another retrain is running"):
            retrain(cfg, store, base_model_dir=tmp_path, options=RetrainOptions())
    assert not retrain_running(cfg.paths)

    off = LearningLoop(_cfg(tmp_path, auto=False, auto_after_pairs=1), store, launch=_never)
    assert off.maybe_retrain() is None  # retrain.auto off: never


@pytest.mark.slow
def test_auto_retrain_runs_companion_retrain_in_the_background(
    tiny_model_dir, monkeypatch: pytest.MonkeyPatch
):
    """The real launcher: `companion retrain --nice` as its own low-priority process."""
    env = {
        "MODEL__BASE": str(tiny_model_dir),
        "SERVER__MERGE_ON_CPU": "false",
        "RETRAIN__AUTO": "true",
        "RETRAIN__AUTO_AFTER_PAIRS": "8",
        "RETRAIN__MIN_PAIRS": "4",
        "RETRAIN__HOLDOUT_FRACTION": "0.3",
        "RETRAIN__BATCH_SIZE": "4",
        "RETRAIN__MAX_STEPS": "4",
        "RETRAIN__LORA_R": "4",
        "RETRAIN__LORA_ALPHA": "8",
        "RETRAIN__LEARNING_RATE": "0.01",
    }
    for k, v in env.items():
        monkeypatch.setenv(f"COMPANION_{k}", v)
    cfg = load().config
    store = open_store(cfg.database_url)
    record_feedback(store, 20)
    loop = LearningLoop(cfg, store)
    loop.build_pairs(None)
    started = loop.maybe_retrain()
    assert started is not None and "in the background" in started.text
    assert loop.retraining and loop.maybe_retrain() is None  # one at a time
    deadline = time.monotonic() + 600
    notice = None
    while notice is None and time.monotonic() < deadline:
        time.sleep(1)
        notice = loop.poll()
    log = (cfg.paths.logs_dir / "retrain-auto.log").read_text()
    assert notice is not None, log
    run = store.last_training_run()
    assert run is not None and run.status in ("succeeded", "rejected"), log
    if run.status == "succeeded":
        assert notice.text == f"Your companion has learned: {run.adapter_version} is live."
        assert store.active_adapter().version == run.adapter_version
    else:
        assert "not promoted" in notice.text and notice.severity == "warning"
    assert "retrain:" in log  # the report the CLI prints
    assert not loop.retraining and not retrain_running(cfg.paths)
