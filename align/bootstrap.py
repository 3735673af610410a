"""The default persona's adapter: SFT on the shipped starter dialogues, and proof it changed
the model (held-out loss and a simple style metric, base vs adapter).

`build_default_adapter` is what `scripts/build_default_adapter.py` runs, and what
`companion model setup` can call (it reports progress through a callback).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from align.adapters import VersionInfo
from align.clean import Sample, clean_file, with_system
from align.train import ProgressCallback, TrainingArgs, train
from companion.config import Config
from feedback.models import AdapterVersion
from feedback.repo import Store

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from align.train import CausalLM

STARTER_DATA = (
    Path(__file__).resolve().parents[1] / "companion" / "data" / "starter_dialogues.jsonl"
)
HOLDOUT_FRACTION = 0.1


def default_args() -> TrainingArgs:
    """One epoch over ~300 dialogues at batch 8: ~38 steps (see docs/benchmarks.md for time)."""
    return TrainingArgs(
        learning_rate=3e-4, epochs=1.0, batch_size=8, lora_r=16, lora_alpha=32, save_steps=10
    )


def split_rows(
    rows: Sequence[Sample], holdout_fraction: float = HOLDOUT_FRACTION
) -> tuple[list[Sample], list[Sample]]:
    """Deterministic train/holdout split by content hash.

    >>> rows = [{"messages": [{"role": "user", "content": str(i)}]} for i in range(100)]
    >>> tr, ho = split_rows(rows)
    >>> len(tr) + len(ho), 3 <= len(ho) <= 20
    (100, True)
    """
    train_rows: list[Sample] = []
    holdout: list[Sample] = []
    for r in rows:
        h = hashlib.sha256(json.dumps(r, sort_keys=True).encode()).hexdigest()
        (holdout if int(h[:8], 16) / 0x100000000 < holdout_fraction else train_rows).append(r)
    return train_rows, holdout


def _last_turn(row: Sample) -> tuple[list[dict[str, str]], str]:
    msgs = row["messages"]
    return list(msgs[:-1]), msgs[-1]["content"]


@dataclass
class StyleEval:
    heldout_nll: float
    """Mean negative log-likelihood per token of the held-out final replies."""
    question_share: float
    """Share of generated replies that ask the user something (contain '?')."""
    ends_with_question: float
    mean_words: float
    replies: list[str] = field(default_factory=list)


def evaluate_style(
    model: CausalLM,
    tokenizer: PreTrainedTokenizerBase,
    holdout: Sequence[Sample],
    *,
    max_new_tokens: int = 40,
) -> StyleEval:
    from align.gate import completion_logps, generate

    items = [_last_turn(r) for r in holdout]
    lps = completion_logps(model, tokenizer, items)
    nll = -sum(lp for lp, _ in lps) / max(1, sum(n for _, n in lps))
    replies = generate(model, tokenizer, [p for p, _ in items], max_new_tokens=max_new_tokens)
    replies = [r.strip() for r in replies]
    n = max(1, len(replies))
    return StyleEval(
        heldout_nll=nll,
        question_share=sum("?" in r for r in replies) / n,
        ends_with_question=sum(r.endswith("?") for r in replies) / n,
        mean_words=sum(len(r.split()) for r in replies) / n,
        replies=replies,
    )


@dataclass
class BootstrapResult:
    adapter_dir: Path
    metrics: dict[str, Any]


def build_default_adapter(
    base_model_dir: Path,
    out_dir: Path,
    *,
    data: Path = STARTER_DATA,
    system_prompt: str | None = None,
    args: TrainingArgs | None = None,
    progress: ProgressCallback | None = None,
    evaluate: bool = True,
    compact: bool | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> BootstrapResult:
    """SFT the default persona adapter into ``out_dir/adapter``; measure base vs adapter.

    Training sees the persona's identity line as system prompt when ``compact`` (default: on
    CPU), the full system prompt otherwise; evaluation always uses the full one, as served.
    """
    from align.pairs import first_paragraph
    from align.train import has_cuda

    started = time.monotonic()
    rows, report = clean_file(data)
    log(f"starter data: {report.summary().splitlines()[0]}")
    train_rows, holdout = split_rows(rows)
    compact = (not has_cuda()) if compact is None else compact
    train_system = first_paragraph(system_prompt) if compact and system_prompt else system_prompt
    train_rows = with_system(train_rows, train_system)
    holdout = with_system(holdout, system_prompt)
    log(f"training on {len(train_rows)} dialogues, {len(holdout)} held out")
    result = train(
        "sft",
        base_model_dir,
        train_rows,
        out_dir,
        args=args or default_args(),
        progress_callback=progress,
    )
    metrics: dict[str, Any] = {
        "train_dialogues": len(train_rows),
        "holdout_dialogues": len(holdout),
        "train_runtime_s": result.metrics["runtime_s"],
        "steps": result.metrics["steps"],
        "first_loss": result.metrics.get("first_loss"),
        "last_loss": result.metrics.get("last_loss"),
    }
    if evaluate and holdout:
        from align.gate import Policies

        log("evaluating base vs adapter on held-out dialogues")
        pol = Policies(base_model_dir, {"starter": result.adapter_dir})
        for label, name in (("base", None), ("adapter", "starter")):
            with pol.use(name) as model:
                ev = evaluate_style(model, pol.tokenizer, holdout)
            metrics[label] = {k: v for k, v in ev.__dict__.items() if k != "replies"}
            metrics[label]["sample_replies"] = ev.replies[:3]
    metrics["wall_s"] = round(time.monotonic() - started, 1)
    (out_dir / "bootstrap.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return BootstrapResult(result.adapter_dir, metrics)


STARTER_KIND = "starter-sft"
"""AdapterVersion.kind of the default persona's SFT adapter."""


def starter_version(store: Store) -> AdapterVersion | None:
    """The registered starter adapter, if setup has trained one (active or not)."""
    return next((r for r in store.list_adapter_versions() if r.kind == STARTER_KIND), None)


def ensure_starter_adapter(
    config: Config,
    store: Store,
    base_model_dir: Path,
    *,
    args: TrainingArgs | None = None,
    progress: ProgressCallback | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> VersionInfo:
    """Train, register, merge (CPU) and activate the default persona's adapter, once.

    Returns its version info. Idempotent: a starter adapter already registered is
    kept, even when the user has since rolled back to the base. It is made active only when
    no adapter is, so a learned adapter is never replaced. Training happens in a run dir;
    a crash leaves the registry untouched.
    """
    from align.adapters import AdapterRegistry, merge_adapter
    from align.train import has_cuda
    from companion import persona as persona_mod

    registry = AdapterRegistry(config.paths.adapters_dir, store)
    existing = starter_version(store)
    if existing is not None:
        return VersionInfo.of(existing)
    system = persona_mod.system_prompt(persona_mod.load("default", config.paths))
    run_dir = config.paths.runs_dir / f"starter-{time.strftime('%Y%m%d-%H%M%S')}"
    result = build_default_adapter(
        base_model_dir,
        run_dir,
        system_prompt=system,
        args=args,
        progress=progress,
        evaluate=False,
        log=log,
    )
    info = registry.install(
        result.adapter_dir,
        kind=STARTER_KIND,
        metrics={"note": "default persona SFT on the starter dialogues", **result.metrics},
    )
    if config.server.merge_on_cpu and not has_cuda():
        log("merging it into the base for fast CPU serving")
        merged = merge_adapter(base_model_dir, info.path, config.paths.merged_dir / info.version)
        registry.set_merged(info.version, merged)
    if registry.active() is None:
        registry.promote(info.version)
    return registry.get(info.version)
