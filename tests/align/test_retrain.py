"""End to end on CPU: stored feedback → pairs → DPO → gate → promote → hot swap."""

from __future__ import annotations

import random

import pytest
from align_data import OPENERS, STEMS

from align.retrain import RetrainOptions, choose_method, retrain, sync_pairs
from companion.config import Config


@pytest.fixture
def store(tmp_path):
    from feedback.db import make_engine, migrate
    from feedback.repo import Store

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    return Store(engine)


def record_feedback(store, n_convs: int, seed: int = 0) -> None:
    """A user who always picks the reply that ends with a question."""
    rng = random.Random(seed)
    for i in range(n_convs):
        conv = store.create_conversation("default")
        user = store.add_message(conv.id, "user", rng.choice(OPENERS))
        reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
        stem = rng.choice(STEMS)
        good = store.add_candidate(reply.id, f"{stem}. What happened?", shown=True)
        bad = store.add_candidate(reply.id, f"{stem}. Okay then.")
        store.choose(reply.id, good.id)
        if i % 3 == 0:
            store.rate(bad.id, -1)
    crisis = store.create_conversation("default")
    user = store.add_message(crisis.id, "user", "I want to hurt myself")
    reply = store.add_message(crisis.id, "assistant", "", parent_id=user.id)
    a = store.add_candidate(reply.id, "SECRET-A", shown=True)
    b = store.add_candidate(reply.id, "SECRET-B")
    store.choose(reply.id, a.id)
    store.rate(b.id, -1)
    store.set_never_train(crisis.id)


def cfg(tmp_path, **retrain) -> Config:
    base = {"min_pairs": 4, "holdout_fraction": 0.3, "batch_size": 4, "lora_r": 4, "lora_alpha": 8}
    base.update(retrain)
    return Config.model_validate({"data_dir": str(tmp_path / "data"), "retrain": base})


def test_sync_pairs_is_incremental_and_skips_crisis(tmp_path, store):
    record_feedback(store, 6)
    c = cfg(tmp_path)
    n = sync_pairs(store, c.retrain)
    assert n == 6 and sync_pairs(store, c.retrain) == 0
    pairs = list(store.iter_pairs())
    assert {p.source for p in pairs} == {"picked"}
    assert all("SECRET" not in p.chosen + p.rejected for p in pairs)
    assert all(p.chosen.endswith("?") for p in pairs)


def test_dry_run_and_too_few_pairs(tmp_path, store):
    record_feedback(store, 2)
    c = cfg(tmp_path, min_pairs=8)
    rep = retrain(c, store, base_model_dir=tmp_path / "unused", options=RetrainOptions())
    assert rep.status == "skipped" and "need 8" in rep.reasons[0]
    rep = retrain(
        c,
        store,
        base_model_dir=tmp_path / "unused",
        options=RetrainOptions(min_pairs=1, dry_run=True),
    )
    assert rep.status == "dry_run" and rep.method == "dpo" and rep.plan
    assert "retrain: dry_run (DPO)" in rep.summary()


def test_choose_method_doctests():
    import doctest

    import align.retrain

    assert doctest.testmod(align.retrain).failed == 0
    assert choose_method("kto", 50, 10, True, 8)[0] == "kto"


@pytest.mark.slow
def test_retrain_end_to_end(tmp_path, store, tiny_model_dir):
    record_feedback(store, 24)
    c = cfg(tmp_path, learning_rate=1e-2, beta=0.5, gate_margin=0.05)
    swapped, seen = [], []
    rep = retrain(
        c,
        store,
        base_model_dir=tiny_model_dir,
        options=RetrainOptions(max_steps=6, merge=False),
        hot_swap=swapped.append,
        progress=seen.append,
        scorer=lambda texts: [{"toxicity": 0.0, "intensity": 0.0} for _ in texts],
        probe_tokens=4,
        # a short system prompt: DPO's cost on CPU is prompt length x 49k-vocab logits
        system_prompt=lambda _persona: "You are Sam, a warm companion.",
    )
    assert rep.method == "dpo" and rep.counts["holdout_pairs"] > 0
    assert rep.plot_png and rep.plot_png.is_file()
    assert seen and seen[-1].step == 6
    run = store.last_training_run()
    assert run.status in ("succeeded", "rejected")
    if rep.status == "promoted":
        active = store.active_adapter()
        assert active.version == rep.version == "v001"
        assert swapped == [c.paths.adapters_dir / "v001"]
        assert run.adapter_version == "v001"
    else:
        assert rep.status == "rejected" and store.active_adapter() is None and not swapped
    assert any("holdout accuracy" in r for r in rep.reasons)
