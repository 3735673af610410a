"""End to end on CPU: stored feedback → pairs → DPO → gate → promote → hot swap."""

from __future__ import annotations

import hashlib
import json

import pytest
from picks_data import record_question_picks

from align.pairs import Cand, Turn, build_dpo_pairs
from align.retrain import RetrainOptions, choose_method, retrain, sync_pairs, to_store_pair
from companion.config import Config
from feedback.models import PreferencePair as StoredPair
from feedback.models import pair_hash


@pytest.fixture
def store(tmp_path):
    from feedback.db import make_engine, migrate
    from feedback.repo import Store

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    return Store(engine)


def record_feedback(store, n_convs: int, seed: int = 0) -> None:
    """A user who always picks the reply that ends with a question."""
    record_question_picks(store, n_convs, seed, rate_every=3)
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


def test_store_pair_columns_come_from_the_pair():
    turn = Turn(
        "7",
        "x",
        [{"role": "user", "content": "Hi"}],
        [Cand("3", "A?", chosen=True), Cand("b", "B.")],
    )
    p = next(build_dpo_pairs([turn]))
    row = to_store_pair(p)
    assert (row.hash, row.chosen, row.rejected, row.prompt) == (
        p.id,
        "A?",
        "B.",
        [{"role": "user", "content": "Hi"}],
    )
    assert (row.source, row.split) == ("picked", "train")
    # ids the store can hold become ints; the examples' strings become None
    assert (row.conversation_id, row.message_id) == (7, None)
    assert (row.chosen_candidate_id, row.rejected_candidate_id) == (3, None)
    assert row.id is None and row.hash == pair_hash(row.prompt, row.chosen, row.rejected)


def _legacy_hash(prompt, chosen: str, rejected: str) -> str:
    """align's content hash before it used feedback.models.pair_hash (32 hex digits)."""
    norm = [[m.get("role", ""), m.get("content", "").strip()] for m in prompt]
    blob = json.dumps([norm, chosen.strip(), rejected.strip()], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _stored(p: StoredPair) -> tuple:
    return (p.hash, p.conversation_id, p.chosen, p.rejected, p.split, p.created_at)


@pytest.mark.parametrize("scoped", [False, True])
def test_pairs_stored_with_the_old_hash_are_rekeyed_not_duplicated(tmp_path, store, scoped):
    record_feedback(store, 6)
    c = cfg(tmp_path)
    assert sync_pairs(store, c.retrain) == 6
    before = list(store.iter_pairs())
    store.clear_pairs()
    legacy = [
        StoredPair(
            **{
                **p.model_dump(exclude={"id"}),
                "hash": _legacy_hash(p.prompt, p.chosen, p.rejected),
            }
        )
        for p in before
    ]
    assert store.add_pairs(legacy) == 6

    conv = before[0].conversation_id if scoped else None
    assert sync_pairs(store, c.retrain, conversation_id=conv) == 0
    after = list(store.iter_pairs())
    assert [_stored(p) for p in after] == [_stored(p) for p in before]
    assert sync_pairs(store, c.retrain) == 0


def test_dry_run_and_too_few_pairs(tmp_path, store):
    record_feedback(store, 2)
    c = cfg(tmp_path, min_pairs=8)
    rep = retrain(c, store, base_model_dir=tmp_path / "unused", options=RetrainOptions())
    assert rep.status == "skipped" and any("need 8" in r for r in rep.reasons)
    rep = retrain(
        c,
        store,
        base_model_dir=tmp_path / "unused",
        options=RetrainOptions(min_pairs=1, dry_run=True),
    )
    assert rep.status == "dry_run" and rep.method == "dpo" and rep.plan
    assert "retrain: dry_run (DPO)" in rep.summary()


def test_an_empty_conversation_split_still_gives_the_gate_a_holdout(tmp_path, store):
    record_feedback(store, 16)  # 16 conversations, one pair each
    c = cfg(tmp_path, holdout_fraction=0.0, min_pairs=8, min_holdout_pairs=5)
    rep = retrain(
        c, store, base_model_dir=tmp_path / "unused", options=RetrainOptions(dry_run=True)
    )
    total = store.count_pairs()
    assert total >= 13
    assert (rep.counts["train_pairs"], rep.counts["holdout_pairs"]) == (total - 5, 5)
    (note,) = [r for r in rep.reasons if r.startswith("holdout:")]
    assert "left 0 holdout pairs (< 5): set aside 5 conversations (5 pairs)" in note
    assert {p.split for p in store.iter_pairs()} == {"train"}  # the stored split stands


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


@pytest.mark.slow
def test_a_round_trains_on_the_new_pairs_and_a_replay_sample_within_its_step_budget(
    tmp_path, store, tiny_model_dir, tiny_sft_adapter
):
    import re

    c = cfg(tmp_path, holdout_fraction=0.0, min_holdout_pairs=0, step_budget=3, epochs=1.0)
    record_question_picks(store, 14, seed=1)
    sam = "You are Sam, a warm companion."
    older = sync_pairs(store, c.retrain, system_prompt=lambda _persona: sam)
    run = store.add_training_run("dpo", status="succeeded")
    store.add_adapter_version("v001", tiny_sft_adapter, kind="sft", training_run_id=run.id)
    store.set_active_adapter("v001")
    record_question_picks(store, 5, seed=2)  # after the live adapter's run: new
    seen = []
    rep = retrain(
        c,
        store,
        base_model_dir=tiny_model_dir,
        options=RetrainOptions(merge=False),
        progress=seen.append,
        scorer=lambda texts: [{"toxicity": 0.0, "intensity": 0.0} for _ in texts],
        probe_tokens=4,
        system_prompt=lambda _persona: sam,
    )
    (note,) = [r for r in rep.reasons if r.startswith("this round:")]
    m = re.search(
        r"(\d+) new pairs \+ a sample of (\d+) of the (\d+) older \(budget 12 rows\)", note
    )
    assert m, note
    new, replayed, old = map(int, m.groups())
    total = store.count_pairs()
    assert old == older and new == total - older and 0 < new < older
    assert replayed == new  # replay_ratio 1, within the budget
    assert rep.counts["train_pairs"] == 2 * new < total  # not the whole history
    assert seen and seen[-1].step == -(-2 * new // 4)  # batch 4, one epoch
    assert rep.status in ("promoted", "rejected")
