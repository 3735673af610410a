"""`companion retrain`: feedback → pairs → DPO/KTO → gate → promote → hot swap → report.

Everything that touches the world is passed in: the store, the base model dir, the hot-swap
callable (the lead wires it to the running server), the safety scorer, the persona system
prompt. Training happens in ``<data>/runs/run-NNNN``; only a gated adapter is installed as a
version and promoted, so a crash or a kill at any point leaves the active adapter as it was.

Multi-GPU: run the same command under accelerate, e.g.
``accelerate launch --multi_gpu --num_processes 2 "$(which companion)" retrain``; every rank
trains (DDP), and rank 0 alone gates, installs, promotes and hot-swaps. Not yet run on
multi-GPU hardware: each rank still records its own training-run row.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from align.pairs import (
    PairStats,
    PreferencePair,
    SystemPrompt,
    build_dpo_pairs,
    build_kto_rows,
    compact_system,
    first_paragraph,
)

Status = Literal["dry_run", "skipped", "promoted", "rejected", "failed", "cancelled"]
HotSwap = Callable[[Path], None]
"""Called with the promoted adapter's directory once the store says it is active."""


@dataclass
class RetrainOptions:
    min_pairs: int | None = None
    max_steps: int | None = None
    epochs: float | None = None
    method: Literal["auto", "dpo", "kto"] | None = None
    dry_run: bool = False
    resume: bool = False
    merge: bool | None = None
    """Merge the promoted adapter into a full checkpoint (None: config.server.merge_on_cpu on
    CPU, off on GPU)."""
    names: tuple[str, ...] = ()
    """Names to scrub from the training text (user-marked)."""
    compact_system: bool | None = None
    """Cut the persona system prompt to its identity line for training and the gate (None: on
    CPU only, where a step costs its token count and the full prompt is most of every pair)."""


@dataclass
class RetrainReport:
    status: Status
    method: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] | None = None
    version: str | None = None
    run_dir: Path | None = None
    plot_png: Path | None = None
    curve: str = ""
    wall_s: float = 0.0

    def summary(self) -> str:
        lines = [f"retrain: {self.status}" + (f" ({self.method.upper()})" if self.method else "")]
        by_source = self.counts.get("by_source") or {}
        if self.counts:
            src = ", ".join(f"{k} {v}" for k, v in sorted(by_source.items())) or "none"
            lines.append(
                f"  data: {self.counts.get('train_pairs', 0)} train / "
                f"{self.counts.get('holdout_pairs', 0)} holdout pairs (by source: {src}); "
                f"{self.counts.get('kto_rows', 0)} thumbs rows"
            )
        lines += [f"  plan: {p}" for p in self.plan]
        if self.curve:
            lines.append(f"  {self.curve}")
        if self.plot_png:
            lines.append(f"  curves: {self.plot_png}")
        lines += [f"  - {r}" for r in self.reasons]
        if self.version:
            lines.append(f"  adapter {self.version} is live")
        lines.append(f"  wall time {self.wall_s:.0f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items()}
        return json.loads(json.dumps(d, default=str))


# ---- pairs <-> store ----------------------------------------------------------------------


def to_store_pair(p: PreferencePair) -> Any:
    from feedback.models import PreferencePair as Row

    return Row(
        conversation_id=_int_or_none(p.conversation_id),
        message_id=_int_or_none(p.message_id),
        prompt=p.prompt,
        chosen=p.chosen_text,
        rejected=p.rejected_text,
        source=p.source,
        split=p.split,
        hash=p.id,
        chosen_candidate_id=_int_or_none(p.chosen_candidate_id),
        rejected_candidate_id=_int_or_none(p.rejected_candidate_id),
    )


def _int_or_none(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def trl_row(row: Any) -> dict[str, Any]:
    """A stored pair (or `PreferencePair`) → TRL's conversational preference row."""
    if isinstance(row, PreferencePair):
        return row.to_trl()
    return {
        "prompt": list(row.prompt),
        "chosen": [{"role": "assistant", "content": row.chosen}],
        "rejected": [{"role": "assistant", "content": row.rejected}],
    }


def sync_pairs(
    store: Any,
    retrain_config: Any,
    *,
    system_prompt: SystemPrompt | None = None,
    names: Iterable[str] = (),
    conversation_id: int | None = None,
) -> int:
    """Build pairs from the stored turns and add the new ones; returns how many were new.

    Incremental and idempotent (content hashes). With `conversation_id` only that
    conversation is read, and its pairs that no longer follow from its feedback (a rating
    changed or undone) are dropped: cheap enough to run after each conversation and every
    N feedback events in a background thread.
    """
    scoped = conversation_id is not None
    stored = store.pair_hashes(conversation_id)
    pairs = build_dpo_pairs(
        store.iter_turns(include_never_train=False, conversation_id=conversation_id),
        learn_from_safety=retrain_config.learn_from_safety,
        holdout_fraction=retrain_config.holdout_fraction,
        scrub_personal_data=retrain_config.scrub_personal_data,
        names=names,
        max_tokens=retrain_config.max_length,
        # A scoped build sees its conversation's whole current set, to find stale pairs.
        seen=None if scoped else stored,
        system_prompt=system_prompt,
    )
    if not scoped:
        return int(store.add_pairs(to_store_pair(p) for p in pairs))
    current = [to_store_pair(p) for p in pairs]
    store.delete_pairs(stored - {p.hash for p in current})
    return int(store.add_pairs(current))


def persona_system_prompt(config: Any) -> SystemPrompt:
    """persona name → its system prompt, via companion.persona (cached; unknown → None)."""
    cache: dict[Any, str | None] = {}

    def resolve(name: Any) -> str | None:
        if name not in cache:
            try:
                from companion import persona as persona_mod

                cache[name] = persona_mod.system_prompt(
                    persona_mod.load(name or config.chat.persona, config.paths)
                )
            except Exception:  # noqa: BLE001 - a deleted persona must not stop training
                cache[name] = None
        return cache[name]

    return resolve


# ---- the run ------------------------------------------------------------------------------


def choose_method(
    requested: str, n_pairs: int, n_kto: int, kto_balanced: bool, min_pairs: int
) -> tuple[str | None, str]:
    """(method or None, why).

    >>> choose_method("auto", 20, 0, False, 8)
    ('dpo', '20 train pairs ≥ min_pairs 8: DPO')
    >>> choose_method("auto", 3, 12, True, 8)
    ('kto', 'only 3 train pairs (< 8): KTO on 12 thumbs rows')
    >>> choose_method("auto", 3, 2, True, 8)[0] is None
    True
    """
    if requested == "dpo" or (requested == "auto" and n_pairs >= min_pairs):
        if n_pairs >= min_pairs:
            return "dpo", f"{n_pairs} train pairs ≥ min_pairs {min_pairs}: DPO"
        return None, f"only {n_pairs} train pairs (need {min_pairs}); rate or pick more replies"
    if kto_balanced and n_kto >= min_pairs:
        why = f"only {n_pairs} train pairs (< {min_pairs}): KTO on {n_kto} thumbs rows"
        return "kto", why if requested == "auto" else f"KTO on {n_kto} thumbs rows"
    return None, (
        f"only {n_pairs} train pairs and {n_kto} thumbs rows (need {min_pairs}, with both "
        "thumbs up and down for KTO); rate or pick more replies"
    )


def _run_dir(store: Any, runs_dir: Path, resume: bool) -> tuple[Any, Path, bool]:
    """(training run row, its dir, resuming?). Resume picks the last unfinished run."""
    if resume:
        last = store.last_training_run()
        if last is not None and last.status in ("running", "failed", "cancelled"):
            d = runs_dir / f"run-{last.id:04d}"
            if (d / "checkpoints").is_dir():
                store.update_training_run(last.id, status="running")
                return last, d, True
    return None, Path(), False


def _one_at_a_time(fn: Callable[..., RetrainReport]) -> Callable[..., RetrainReport]:
    """One retrain at a time per data dir: a second one, from the chat, the CLI or
    `retrain.auto`, fails at once with a one-line reason instead of training twice. A dry
    run trains nothing and needs no lock."""
    from functools import wraps

    @wraps(fn)
    def wrapper(config: Any, store: Any, **kw: Any) -> RetrainReport:
        options = kw.get("options")
        if options is not None and options.dry_run:
            return fn(config, store, **kw)
        with exclusive_retrain(config.paths):
            return fn(config, store, **kw)

    return wrapper


@contextmanager
def exclusive_retrain(paths: Any) -> Iterator[None]:
    """Hold the data dir's retrain lock (a file lock, so across processes), or raise
    RetrainBusy at once."""
    from filelock import FileLock, Timeout

    Path(paths.data_dir).mkdir(parents=True, exist_ok=True)
    lock = FileLock(retrain_lock_path(paths))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RetrainBusy(
            "another retrain is running on this data dir; wait for it to finish "
            "(see `companion adapters list` when it is done)"
        ) from None
    try:
        yield
    finally:
        lock.release()


def retrain_lock_path(paths: Any) -> Path:
    return Path(paths.data_dir) / "retrain.lock"


def retrain_running(paths: Any) -> bool:
    """Whether a retrain (in any process) holds the lock now."""
    try:
        with exclusive_retrain(paths):
            return False
    except RetrainBusy:
        return True


class RetrainBusy(RuntimeError):
    """A retrain is already running."""


@_one_at_a_time
def retrain(
    config: Any,
    store: Any,
    *,
    base_model_dir: Path,
    options: RetrainOptions | None = None,
    hot_swap: HotSwap | None = None,
    scorer: Any = None,
    system_prompt: SystemPrompt | None = None,
    progress: Callable[[Any], None] | None = None,
    after_merge: Callable[[str, Path], None] | None = None,
    probe_tokens: int = 32,
) -> RetrainReport:
    """The whole loop; returns a report (never raises for a failed run: status says so)."""
    from align.adapters import AdapterRegistry, merge_adapter
    from align.gate import run_gate
    from align.train import TrainingArgs, TrainingError, has_cuda, summarize_curve, train

    started = time.monotonic()
    options = options or RetrainOptions()
    rc = config.retrain
    paths = config.paths
    if system_prompt is None:
        system_prompt = persona_system_prompt(config)
    report = RetrainReport(status="skipped")

    new_pairs = sync_pairs(store, rc, system_prompt=system_prompt, names=options.names)
    train_rows = [trl_row(p) for p in store.iter_pairs("train")]
    holdout_rows = [trl_row(p) for p in store.iter_pairs("holdout")]
    stats = PairStats()
    for src, n in store.count_pairs_by_source().items():
        stats.by_source[src] = n
        stats.total += n
    train_sources = {p.source for p in store.iter_pairs("train")}
    kto_rows = list(
        build_kto_rows(
            store.iter_turns(include_never_train=False),
            holdout_fraction=rc.holdout_fraction,
            scrub_personal_data=rc.scrub_personal_data,
            names=options.names,
            max_tokens=rc.max_length,
            system_prompt=system_prompt,
        )
    )
    labels = {r["label"] for r in kto_rows}
    report.counts = {
        "new_pairs": new_pairs,
        "train_pairs": len(train_rows),
        "holdout_pairs": len(holdout_rows),
        "by_source": dict(stats.by_source),
        "kto_rows": len(kto_rows),
    }
    min_pairs = options.min_pairs or rc.min_pairs
    method, why = choose_method(
        options.method or rc.method, len(train_rows), len(kto_rows), len(labels) == 2, min_pairs
    )
    report.method = method
    report.reasons.append(why)
    if method is None:
        report.wall_s = time.monotonic() - started
        return report

    cuda = has_cuda()
    compact = (not cuda) if options.compact_system is None else options.compact_system
    probe_system = system_prompt(config.chat.persona)
    if compact:
        train_rows, holdout_rows = compact_system(train_rows), compact_system(holdout_rows)
        kto_rows = compact_system(kto_rows)
        probe_system = first_paragraph(probe_system) if probe_system else None
    args = TrainingArgs.from_config(
        rc, max_steps=options.max_steps, epochs=options.epochs, resume=options.resume
    )
    rows = train_rows if method == "dpo" else kto_rows
    registry = AdapterRegistry(paths.adapters_dir, store)
    active = registry.active()
    steps = (
        args.max_steps
        if args.max_steps > 0
        else int(-(-len(rows) * args.epochs // args.batch_size))
    )
    report.plan = [
        f"{method.upper()} on {len(rows)} rows, {steps} steps of {args.batch_size}, "
        f"lr {args.lr_for(method):g}, beta {args.beta:g}, LoRA r={args.lora_r}",
        f"start from {'adapter ' + active.version if active else 'the base model'} "
        f"({'its copy' if active else 'the base'} is the reference policy), on "
        f"{'GPU (bf16)' if cuda else 'CPU (fp32)'}",
        f"gate on {len(holdout_rows)} holdout pairs, margin {rc.gate_margin:g}",
    ]
    if compact:
        report.plan.append("system prompt cut to its identity line for training (CPU speed)")
    if options.dry_run:
        report.status = "dry_run"
        if train_rows:
            ex = train_rows[0]
            report.plan.append(
                f"example: {ex['prompt'][-1]['content'][:60]!r} → chosen "
                f"{ex['chosen'][0]['content'][:50]!r} over {ex['rejected'][0]['content'][:50]!r}"
            )
        report.wall_s = time.monotonic() - started
        return report

    run, run_dir, resuming = _run_dir(store, paths.runs_dir, options.resume)
    if run is None:
        run = store.add_training_run(
            method=method, config=json.loads(json.dumps(args.__dict__)), counts=report.counts
        )
        run_dir = paths.runs_dir / f"run-{run.id:04d}"
    args.resume = resuming
    report.run_dir = run_dir
    try:
        result = train(
            method,  # type: ignore[arg-type]
            base_model_dir,
            rows,
            run_dir,
            init_adapter=active.path if active else None,
            args=args,
            progress_callback=progress,
        )
        if os.environ.get("RANK", "0") != "0":
            report.status = "skipped"  # non-zero ranks of `accelerate launch`: rank 0 gates
            report.reasons.append("not rank 0: training done, rank 0 gates and promotes")
            return report
        report.metrics = result.metrics
        report.plot_png = result.plot_png
        report.curve = summarize_curve(result.log_history)
        gate = run_gate(
            base_model_dir,
            result.adapter_dir,
            active.path if active else None,
            holdout_rows,
            margin=rc.gate_margin,
            thumbs_only=train_sources == {"thumbs"} if method == "dpo" else True,
            scorer=scorer,
            system_prompt=probe_system,
            cuda=cuda,
            probe_tokens=probe_tokens,
        )
        report.gate = gate.to_dict()
        report.reasons += gate.reasons
        metrics = {**result.metrics, "gate_passed": gate.passed}
        if gate.new is not None:
            metrics["gate_accuracy"] = gate.new.accuracy
            metrics["gate_margin"] = gate.new.mean_margin
        if not gate.passed:
            metrics["gate_reasons"] = list(gate.reasons)
            report.status = "rejected"
            report.reasons.append(f"the active adapter stays; the run is kept in {run_dir}")
            store.update_training_run(run.id, status="rejected", metrics=_json(metrics))
            return report
        info = registry.install(
            result.adapter_dir,
            kind=method,
            parent_version=active.version if active else None,
            metrics=metrics,
            training_run_id=run.id,
        )
        registry.promote(info.version)
        report.version = info.version
        report.status = "promoted"
        store.update_training_run(
            run.id, status="succeeded", metrics=_json(metrics), adapter_version=info.version
        )
        if hot_swap is not None:
            try:
                hot_swap(info.path)
            except Exception as e:  # noqa: BLE001 - promotion stands; the server catches up
                report.reasons.append(f"hot swap failed ({e}); the next server start serves it")
        merge = options.merge
        if merge is None:
            merge = bool(config.server.merge_on_cpu) and not cuda
        if merge:
            merged = merge_adapter(base_model_dir, info.path, paths.merged_dir / info.version)
            registry.set_merged(info.version, merged)
            report.reasons.append(f"merged checkpoint for fast CPU serving: {merged}")
            if after_merge is not None:
                after_merge(info.version, merged)
        return report
    except KeyboardInterrupt:
        store.update_training_run(run.id, status="cancelled", error="interrupted")
        report.status = "cancelled"
        report.reasons.append(f"interrupted; `companion retrain --resume` continues ({run_dir})")
        return report
    except (TrainingError, RuntimeError, OSError, ValueError) as e:
        store.update_training_run(run.id, status="failed", error=str(e)[:2000])
        report.status = "failed"
        report.reasons.append(f"{type(e).__name__}: {e}")
        return report
    finally:
        report.wall_s = time.monotonic() - started


def _json(d: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(d, default=str))
