"""A combined round: DPO on the pairs, then KTO on the thumbs no pair carries, one adapter."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from picks_data import OPENERS, STEMS, record_question_picks

from align.gate import GateReport, PrefEval, RewardEval
from align.pairs import unpaired_kto_rows
from align.replay import kto_reserve, kto_stage_steps, max_rows_for, stage_steps
from align.retrain import RetrainOptions, kto_stage_rows, retrain
from align.train import TrainResult
from companion.config import Config, RetrainConfig

SAM = "You are Sam, a warm companion."
SCORER = lambda texts: [{"toxicity": 0.0, "intensity": 0.0} for _ in texts]  # noqa: E731


@pytest.fixture
def store(tmp_path):
    from feedback.db import make_engine, migrate
    from feedback.repo import Store

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    migrate(engine)
    return Store(engine)


def cfg(tmp_path, **retrain) -> Config:
    base = {
        "min_pairs": 4,
        "holdout_fraction": 0.0,
        "min_holdout_pairs": 3,
        "batch_size": 4,
        "epochs": 1.0,
        "lora_r": 4,
        "lora_alpha": 8,
    }
    base.update(retrain)
    return Config.model_validate({"data_dir": str(tmp_path / "data"), "retrain": base})


def record_lone_thumbs(store, n: int, seed: int = 0) -> None:
    """Turns with one reply, rated: a question up, a flat reply down. No pair can hold them."""
    rng = random.Random(seed)
    for i in range(n):
        conv = store.create_conversation("default")
        user = store.add_message(conv.id, "user", rng.choice(OPENERS))
        reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
        up = i % 2 == 0
        text = f"{rng.choice(STEMS)}. {'Tell me more?' if up else 'Fine.'} ({i})"
        cand = store.add_candidate(reply.id, text, shown=True)
        store.rate(cand.id, 1 if up else -1)


def record_paired_thumbs(store, n: int) -> None:
    """Turns with two shown replies, one up and one down: each thumb is a side of a pair."""
    for i in range(n):
        conv = store.create_conversation("default")
        user = store.add_message(conv.id, "user", OPENERS[i % len(OPENERS)])
        reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
        up = store.add_candidate(reply.id, f"Both shown, up ({i})?", shown=True)
        down = store.add_candidate(reply.id, f"Both shown, down ({i}).", shown=True)
        store.rate(up.id, 1)
        store.rate(down.id, -1)


def _row(text: str, label: bool) -> dict:
    return {"prompt": [], "completion": [{"role": "assistant", "content": text}], "label": label}


# ---- which thumbs rows are unpaired ------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "paired", "unpaired"),
    [
        ([("A?", True), ("B.", False)], [], ["A?", "B."]),
        ([("A?", True), ("B.", False)], ["A?", "C."], ["B."]),
        ([("A?", True), ("B.", False)], ["A?", "B."], []),
        ([(" A? ", True)], ["A?"], []),  # whitespace aside
        ([("A?", True)], ["a?"], ["A?"]),  # case is content
        ([("A?", True), ("A?", False)], ["A?"], []),  # either label, the reply is in a pair
        ([], ["A?"], []),
    ],
)
def test_unpaired_rows_are_those_whose_reply_is_in_no_pair(rows, paired, unpaired):
    out = unpaired_kto_rows([_row(t, label) for t, label in rows], paired)
    assert [r["completion"][0]["content"] for r in out] == unpaired


@pytest.mark.parametrize(
    ("labels", "batch_size", "rows", "why"),
    [
        ([True, False], 4, 2, None),
        ([True, True, False], 2, 3, None),
        ([], 4, 0, "every thumbs rating is in a pair"),
        ([True, True], 4, 0, "all up or all down"),
        ([False], 4, 0, "all up or all down"),
        ([True, False], 1, 0, "batch_size >= 2"),
    ],
)
def test_kto_stage_rows(labels, batch_size, rows, why):
    got, reason = kto_stage_rows([_row(str(i), lb) for i, lb in enumerate(labels)], batch_size)
    assert len(got) == rows
    assert (reason is None) if why is None else (why in reason)


# ---- the step split ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "dpo_rows", "kto_rows", "reserve", "dpo_max_rows", "kto_steps"),
    [
        # budget, DPO pairs, unpaired thumbs → KTO reserve, DPO row cap, KTO steps (batch 4, 1 ep)
        (32, 200, 40, 2, 120, 2),  # DPO fills its share: KTO gets the reserve
        (32, 20, 40, 2, 120, 10),  # DPO takes 5 steps: KTO all its 10
        (32, 20, 200, 2, 120, 27),  # KTO takes what DPO left
        (32, 20, 3, 1, 124, 1),  # KTO wants one step: one is reserved
        (2, 200, 40, 1, 4, 1),  # the smallest budget that still has a KTO stage
        (1, 200, 40, 0, 4, 0),  # no room: no KTO stage
        (0, 200, 40, 0, 0, 10),  # no budget: each stage takes its rows' steps
    ],
)
def test_step_split(budget, dpo_rows, kto_rows, reserve, dpo_max_rows, kto_steps):
    wanted = stage_steps(kto_rows, 1.0, 4)
    got_reserve = kto_reserve(budget, wanted)
    max_rows = max_rows_for(budget - got_reserve, 4, 1.0)
    dpo_steps = stage_steps(min(dpo_rows, max_rows) if max_rows else dpo_rows, 1.0, 4)
    got_kto = kto_stage_steps(budget, dpo_steps, wanted, got_reserve)
    assert (got_reserve, max_rows, got_kto) == (reserve, dpo_max_rows, kto_steps)
    if budget > 1:
        assert dpo_steps + got_kto <= budget


@pytest.mark.parametrize(
    ("rows", "epochs", "batch", "steps"),
    [(10, 1.0, 4, 3), (10, 2.0, 4, 6), (8, 2.0, 4, 4), (1, 0.5, 4, 1), (0, 1.0, 4, 0)],
)
def test_stage_steps_count_as_the_trainer_does(rows, epochs, batch, steps):
    assert stage_steps(rows, epochs, batch) == steps


def test_combine_kto_is_off_by_default():
    assert RetrainConfig().combine_kto is False


# ---- the round, with training and the gate stubbed ----------------------------------------


class FakeTrain:
    """`align.train.train` that records its calls and writes an adapter-looking dir."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, method, base, rows, out, **kw) -> TrainResult:
        self.calls.append({"method": method, "rows": list(rows), "out": Path(out), **kw})
        args = kw["args"]
        steps = args.max_steps if args.max_steps > 0 else stage_steps(len(rows), args.epochs, 4)
        adapter = Path(out) / "adapter"
        adapter.mkdir(parents=True, exist_ok=True)
        for f in ("adapter_config.json", "adapter_model.safetensors"):
            (adapter / f).write_text("{}")
        (adapter / "companion-adapter.json").write_text(json.dumps({"method": method}))
        log = [{"step": s, "loss": 1.0 / s} for s in range(1, steps + 1)]
        metrics = {"method": method, "steps": steps, "train_samples": len(rows)}
        return TrainResult(adapter, metrics, log, None)


@pytest.fixture
def fake(monkeypatch):
    import align.gate
    import align.train

    fake_train = FakeTrain()
    gated: list[dict] = []

    def fake_gate(base, new, active, holdout, **kw) -> GateReport:
        gated.append({"new": new, "active": active, "holdout": len(holdout)})
        ev = PrefEval(n=len(holdout), accuracy=1.0, mean_margin=1.0, chosen_logp_per_token=-1)
        return GateReport(
            True, ["holdout accuracy 1.00"], ev, ev, reward=RewardEval(len(holdout), 1.0, 1.0)
        )

    monkeypatch.setattr(align.train, "train", fake_train)
    monkeypatch.setattr(align.gate, "run_gate", fake_gate)
    return fake_train, gated


def _feedback(store) -> None:
    """20 picks (17 distinct pairs, 3 set aside for the gate) and 12 lone thumbs, 6 up."""
    record_question_picks(store, 20, seed=0)
    record_lone_thumbs(store, 12, seed=0)


def test_a_combined_round_trains_dpo_then_kto_from_it_and_gates_once(tmp_path, store, fake):
    fake_train, gated = fake
    _feedback(store)
    c = cfg(tmp_path, combine_kto=True, step_budget=4)
    rep = retrain(
        c,
        store,
        base_model_dir=tmp_path / "base",
        options=RetrainOptions(merge=False),
        scorer=SCORER,
        system_prompt=lambda _p: SAM,
    )
    assert rep.status == "promoted" and rep.method == "dpo+kto"
    dpo, kto = fake_train.calls
    assert (dpo["method"], kto["method"]) == ("dpo", "kto")
    # KTO continues from the DPO stage's weights; both stages' reference is the round's parent
    assert kto["start_from"] == dpo["out"] / "adapter"
    assert kto["init_adapter"] == dpo["init_adapter"] is None
    assert kto["out"] == rep.run_dir / "kto"
    # budget 4 steps of 4 rows: 2 are held for KTO, so DPO trains 8 of the 14 pairs in 2
    assert len(dpo["rows"]) == 8 and rep.counts["train_pairs"] == 8
    assert kto["args"].max_steps == 2
    assert rep.counts["unpaired_kto_rows"] == len(kto["rows"]) == 12
    assert rep.counts["stages"] == {"dpo": 8, "kto": 12}
    assert {r["completion"][0]["content"].split(". ")[1][:4] for r in kto["rows"]} == {
        "Tell",
        "Fine",
    }
    assert any(p.startswith("combined round: then KTO on 12 thumbs rows") for p in rep.plan)
    assert "retrain: promoted (DPO+KTO)" in rep.summary()
    # one adapter, gated once against the parent (the base)
    assert gated == [{"new": rep.run_dir / "kto" / "adapter", "active": None, "holdout": 3}]
    run = store.last_training_run()
    version = store.active_adapter()
    assert run.method == "dpo" and version.kind == "dpo" and run.adapter_version == version.version
    for metrics in (run.metrics, version.metrics):
        assert metrics["method"] == "dpo" and metrics["steps"] == 4
        assert metrics["stages"]["dpo"]["rows"] == 8 and metrics["stages"]["kto"]["rows"] == 12
        assert metrics["stages"]["kto"]["steps"] == 2
    assert run.counts["stages"] == {"dpo": 8, "kto": 12}
    meta = json.loads((Path(version.path) / "companion-adapter.json").read_text())
    assert meta["method"] == "dpo" and meta["stages"]["kto"]["rows"] == 12


def test_with_combine_kto_off_a_round_is_as_before(tmp_path, store, fake):
    fake_train, gated = fake
    _feedback(store)
    c = cfg(tmp_path, step_budget=4)
    rep = retrain(
        c,
        store,
        base_model_dir=tmp_path / "base",
        options=RetrainOptions(merge=False),
        scorer=SCORER,
        system_prompt=lambda _p: SAM,
    )
    assert rep.status == "promoted" and rep.method == "dpo"
    (call,) = fake_train.calls
    assert call["method"] == "dpo" and "start_from" not in call
    # every train pair: none of the budget (16 rows) is held back
    assert len(call["rows"]) == rep.counts["train_pairs"] == 14 < max_rows_for(4, 4, 1.0)
    assert "unpaired_kto_rows" not in rep.counts and "stages" not in rep.counts
    assert not any("KTO" in line for line in rep.plan)
    assert gated == [{"new": rep.run_dir / "adapter", "active": None, "holdout": 3}]
    run = store.last_training_run()
    assert run.method == "dpo" and "stages" not in run.metrics
    assert "retrain: promoted (DPO)" in rep.summary()


def test_explicit_max_steps_are_the_whole_combined_round(tmp_path, store, fake):
    fake_train, _ = fake
    _feedback(store)
    c = cfg(tmp_path, combine_kto=True, step_budget=0)
    rep = retrain(
        c,
        store,
        base_model_dir=tmp_path / "base",
        options=RetrainOptions(max_steps=6, merge=False),
        scorer=SCORER,
        system_prompt=lambda _p: SAM,
    )
    dpo, kto = fake_train.calls
    assert (dpo["args"].max_steps, kto["args"].max_steps) == (4, 2)
    assert rep.metrics["steps"] == 6


@pytest.mark.parametrize(
    ("thumbs", "why"),
    [(0, "every thumbs rating is in a pair"), (1, "all up or all down")],
)
def test_no_kto_stage_without_balanced_unpaired_thumbs(tmp_path, store, fake, thumbs, why):
    fake_train, _ = fake
    record_question_picks(store, 20, seed=0)
    record_paired_thumbs(store, 4)
    record_lone_thumbs(store, thumbs)
    c = cfg(tmp_path, combine_kto=True, step_budget=4)
    rep = retrain(
        c,
        store,
        base_model_dir=tmp_path / "base",
        options=RetrainOptions(merge=False),
        scorer=SCORER,
        system_prompt=lambda _p: SAM,
    )
    assert rep.method == "dpo" and [c["method"] for c in fake_train.calls] == ["dpo"]
    assert rep.counts["kto_rows"] > 0 and rep.counts["unpaired_kto_rows"] == thumbs
    assert any(why in r for r in rep.reasons)
    # nothing held back for a stage that does not run
    assert len(fake_train.calls[0]["rows"]) == 16


# ---- the real thing -----------------------------------------------------------------------


@pytest.mark.slow
def test_a_combined_round_on_the_tiny_model(tmp_path, store, tiny_model_dir):
    _feedback(store)
    c = cfg(tmp_path, combine_kto=True, step_budget=4, learning_rate=1e-2, beta=0.5)
    seen = []
    rep = retrain(
        c,
        store,
        base_model_dir=tiny_model_dir,
        options=RetrainOptions(merge=False),
        progress=seen.append,
        scorer=SCORER,
        probe_tokens=4,
        system_prompt=lambda _p: SAM,
    )
    assert rep.method == "dpo+kto" and rep.status in ("promoted", "rejected"), rep.reasons
    assert rep.counts["stages"] == {"dpo": 8, "kto": 12}
    stages = rep.metrics["stages"]
    assert (stages["dpo"]["steps"], stages["kto"]["steps"]) == (2, 2)  # budget 4, 2 held
    assert stages["dpo"]["rows"] == 8 and stages["kto"]["rows"] == 12
    assert "kl" in stages["kto"] and "rewards_accuracies" in rep.metrics  # each stage's own logs
    assert [p.step for p in seen] == [1, 2, 3, 4] and {p.total for p in seen} == {4}
    assert rep.curve.startswith("DPO loss") and " · KTO loss" in rep.curve
    # one adapter, through the gate: the KTO stage's, with the DPO stage's behind it
    kto_adapter = rep.run_dir / "kto" / "adapter"
    assert (kto_adapter / "adapter_model.safetensors").is_file()
    assert rep.gate is not None and any("holdout" in r for r in rep.reasons)
    run = store.last_training_run()
    assert run.method == "dpo" and run.metrics["stages"]["kto"]["rows"] == 12
    if rep.status == "promoted":
        version = store.active_adapter()
        assert version.kind == "dpo" and version.metrics["stages"]["dpo"]["rows"] == 8
        assert run.adapter_version == version.version
    else:
        assert store.active_adapter() is None
