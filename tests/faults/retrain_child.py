"""A real `retrain` in a process of its own, for the kill tests (tests/faults/test_retrain_kill.py).

    python retrain_child.py DATA_DIR BASE_MODEL_DIR [--stall POINT] [--resume]

It runs `align.retrain.retrain` on the data dir's SQLite store, as `companion retrain` does,
with the tiny model as base. With ``--stall POINT`` it prints ``STALL POINT`` and sleeps at that
point, so that the test's `kill -9` lands exactly there; nothing else is changed. It prints the
report as one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from align import adapters, retrain
from align.train import TrainProgress
from companion.config import Config
from feedback.repo import Store, open_store

POINTS = ("training", "gate", "install", "promote", "merge_written", "merge_switch")


def stall(point: str) -> None:
    sys.stdout.write(f"STALL {point}\n")
    sys.stdout.flush()
    time.sleep(600)


def stall_before(owner: Any, name: str, point: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        stall(point)
        return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("base", type=Path)
    ap.add_argument("--stall", choices=POINTS)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()

    cfg = Config.model_validate(
        {
            "data_dir": str(args.data_dir),
            "retrain": {
                "min_pairs": 4,
                "holdout_fraction": 0.3,
                "batch_size": 4,
                "lora_r": 4,
                "lora_alpha": 8,
                "learning_rate": 1e-2,
                "gate_margin": 1.0,
            },
        }
    )
    store: Store = open_store(cfg.database_url)

    def progress(p: TrainProgress) -> None:
        if args.stall == "training" and p.step >= 2:
            stall("training")

    if args.stall == "gate":
        stall_before(retrain.Retrain, "gate", "gate")
    elif args.stall == "install":
        # the adapter is copied in and registered, not yet active
        stall_before(retrain.AdapterRegistry, "promote", "install")
    elif args.stall == "promote":
        # active in the registry, the server not yet told
        stall_before(retrain.Retrain, "swap", "promote")
    elif args.stall == "merge_written":
        # the merged checkpoint is on disk, the registry does not point at it yet
        stall_before(adapters.AdapterRegistry, "set_merged", "merge_written")

    def after_merge(version: str, merged: Path) -> None:
        if args.stall == "merge_switch":
            stall("merge_switch")

    report = retrain.retrain(
        cfg,
        store,
        base_model_dir=args.base,
        options=retrain.RetrainOptions(max_steps=4, merge=True, resume=args.resume),
        progress=progress,
        after_merge=after_merge,
        scorer=lambda texts: [{"toxicity": 0.0, "intensity": 0.0} for _ in texts],
        probe_tokens=4,
        system_prompt=lambda _persona: "You are Sam, a warm companion.",
    )
    sys.stdout.write(json.dumps(report.to_dict()) + "\n")
    sys.stdout.flush()
    store.close()
    sys.exit(0 if report.status != "failed" else 1)


if __name__ == "__main__":
    main()
