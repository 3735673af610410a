"""`companion retrain`: feedback → pairs → DPO/KTO → gate → promote → hot swap → report.

Everything that touches the world is passed in: the store, the base model dir, the hot-swap
callable (the lead wires it to the running server), the safety scorer, the persona system
prompt. Training happens in ``<data>/runs/run-NNNN``; only a gated adapter is installed as a
version and promoted, so a crash or a kill at any point leaves the active adapter as it was.

The run is a sequence of named steps (`Retrain`): gather the data, choose the method, plan,
open the training-run row, train, gate, then reject, or promote, hot-swap and merge.

With ``retrain.combine_kto`` a DPO round whose thumbs are not all in pairs trains in two
stages: DPO on the pairs, then KTO on the unpaired thumbs rows from the DPO-trained weights,
with the round's parent (the active adapter, or the base) as the reference of both, within the
round's step budget (`align.replay.kto_stage_steps`). One adapter comes out, gated once against
the parent; it is stored as a DPO run and version whose metrics hold both ``stages``.

Multi-GPU: run the same command under accelerate, e.g.
``accelerate launch --multi_gpu --num_processes 2 "$(which companion)" retrain``; every rank
trains (DDP), and rank 0 alone gates, installs, promotes and hot-swaps. Not yet run on
multi-GPU hardware: each rank still records its own training-run row.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

from align.adapters import AdapterRegistry, VersionInfo, jsonable
from align.gate import GateReport, Scorer
from align.holdout import ensure_holdout
from align.pairs import (
    Id,
    PreferencePair,
    SystemPrompt,
    build_dpo_pairs,
    build_kto_rows,
    compact_system,
    first_paragraph,
    unpaired_kto_rows,
)
from align.replay import (
    kto_reserve,
    kto_stage_steps,
    max_rows_for,
    replay_round,
    stage_steps,
)
from align.train import (
    ProgressCallback,
    TrainingArgs,
    TrainingError,
    TrainProgress,
    TrainResult,
)
from companion.config import Config, RetrainConfig
from companion.paths import Paths
from feedback.models import PreferencePair as StoredPair
from feedback.models import PreferencePairBase, pair_hash
from feedback.repo import Store

Status = Literal["dry_run", "skipped", "promoted", "rejected", "failed", "cancelled"]
Method = Literal["dpo", "kto"]
ReportMethod = Literal["dpo", "kto", "dpo+kto"]
"""What a round trains: one method, or DPO then KTO on the unpaired thumbs (stored as DPO)."""
RequestedMethod = Literal["auto", "dpo", "kto"]
HotSwap = Callable[[Path], None]
"""Called with the promoted adapter's directory once the store says it is active."""
AfterMerge = Callable[[str, Path], None]
"""Called with the version and its merged checkpoint once it is written and recorded."""


@dataclass
class RetrainOptions:
    min_pairs: int | None = None
    max_steps: int | None = None
    epochs: float | None = None
    method: RequestedMethod | None = None
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


class DataCounts(TypedDict, total=False):
    """What the retrain found to learn from (also stored with the training run)."""

    new_pairs: int
    train_pairs: int
    holdout_pairs: int
    by_source: dict[str, int]
    kto_rows: int
    unpaired_kto_rows: int
    """Thumbs rows whose reply is in no pair (counted with ``retrain.combine_kto`` only)."""
    stages: dict[str, int]
    """A combined round's rows per stage: {"dpo": pairs, "kto": unpaired thumbs rows}."""


@dataclass
class RetrainReport:
    status: Status
    method: ReportMethod | None = None
    counts: DataCounts = field(default_factory=lambda: DataCounts())
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
                + (
                    f" ({self.counts['unpaired_kto_rows']} in no pair)"
                    if "unpaired_kto_rows" in self.counts
                    else ""
                )
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
        return jsonable(dict(self.__dict__))


# ---- pairs <-> store ----------------------------------------------------------------------

_STORED_AS = {"hash": "id", "chosen": "chosen_text", "rejected": "rejected_text"}
"""Stored column → the `PreferencePair` attribute it holds, where the names differ."""
_PAIR_ATTRS = frozenset(f.name for f in fields(PreferencePair))


def to_store_pair(p: PreferencePair) -> StoredPair:
    """A built pair → its store row: every data column of the table that the pair has (the
    store stamps ``created_at``); ids that are not the store's (examples' strings) → None."""
    values: dict[str, Any] = {}
    for column, info in PreferencePairBase.model_fields.items():
        attr = _STORED_AS.get(column, column)
        if attr not in _PAIR_ATTRS:
            continue
        value = getattr(p, attr)
        values[column] = _int_or_none(value) if info.annotation == int | None else value
    return StoredPair(**values)


def _int_or_none(v: Id | None) -> int | None:
    if v is None:
        return None
    try:
        return int(v)
    except ValueError:
        return None


def trl_row(row: StoredPair | PreferencePair) -> dict[str, Any]:
    """A stored pair (or `PreferencePair`) → TRL's conversational preference row."""
    if isinstance(row, PreferencePair):
        return row.to_trl()
    return {
        "prompt": list(row.prompt),
        "chosen": [{"role": "assistant", "content": row.chosen}],
        "rejected": [{"role": "assistant", "content": row.rejected}],
    }


_PAIR_HASH_CHARS = 64
"""`pair_hash` is a whole sha256; align's earlier content hash was 32 hex digits."""


def rekey_stored_pairs(store: Store) -> int:
    """Give stored pairs whose hash is not `pair_hash` of their content (rows from before
    align used it) that hash, so dedupe against them keeps working; returns how many.

    The re-keyed rows are added (same content, split and ``created_at``) before the old ones
    are dropped: a crash in between leaves both, and the next call finishes the job.
    """
    stale = [p for p in store.iter_pairs() if p.hash != pair_hash(p.prompt, p.chosen, p.rejected)]
    if not stale:
        return 0
    store.add_pairs(
        StoredPair(
            **{
                **p.model_dump(exclude={"id"}),
                "hash": pair_hash(p.prompt, p.chosen, p.rejected),
            }
        )
        for p in stale
    )
    store.delete_pairs(p.hash for p in stale)
    return len(stale)


def sync_pairs(
    store: Store,
    retrain_config: RetrainConfig,
    *,
    system_prompt: SystemPrompt | None = None,
    names: Iterable[str] = (),
    conversation_id: int | None = None,
) -> int:
    """Build pairs from the stored turns and add the new ones; returns how many were new.

    Incremental and idempotent (pair hashes). With `conversation_id` only that
    conversation is read, and its pairs that no longer follow from its feedback (a rating
    changed or undone) are dropped: cheap enough to run after each conversation and every
    N feedback events in a background thread.
    """
    scoped = conversation_id is not None
    stored = store.pair_hashes(conversation_id)
    if any(len(h) != _PAIR_HASH_CHARS for h in stored) and rekey_stored_pairs(store):
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
        return store.add_pairs(to_store_pair(p) for p in pairs)
    current = [to_store_pair(p) for p in pairs]
    store.delete_pairs(stored - {p.hash for p in current})
    return store.add_pairs(current)


def persona_system_prompt(config: Config) -> SystemPrompt:
    """persona name → its system prompt, via companion.persona (cached; unknown → None)."""
    cache: dict[str | None, str | None] = {}

    def resolve(name: str | None) -> str | None:
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


# ---- one at a time ------------------------------------------------------------------------


@contextmanager
def exclusive_retrain(paths: Paths) -> Iterator[None]:
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


def retrain_lock_path(paths: Paths) -> Path:
    return Path(paths.data_dir) / "retrain.lock"


def retrain_running(paths: Paths) -> bool:
    """Whether a retrain (in any process) holds the lock now."""
    try:
        with exclusive_retrain(paths):
            return False
    except RetrainBusy:
        return True


class RetrainBusy(RuntimeError):
    """A retrain is already running."""


# ---- the run ------------------------------------------------------------------------------


def choose_method(
    requested: RequestedMethod, n_pairs: int, n_kto: int, kto_balanced: bool, min_pairs: int
) -> tuple[Method | None, str]:
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


@dataclass
class TrainingData:
    """What `Retrain.gather` found: TRL rows, their counts and where the pairs came from."""

    new_pairs: int
    train_rows: list[dict[str, Any]]
    holdout_rows: list[dict[str, Any]]
    kto_rows: list[dict[str, Any]]
    by_source: dict[str, int]
    train_sources: set[str]
    unpaired_kto_rows: list[dict[str, Any]] | None = None
    """The KTO rows whose reply is in no pair (None: not looked for, combine_kto off)."""

    @property
    def kto_balanced(self) -> bool:
        """Both thumbs up and thumbs down among the KTO rows."""
        return _balanced(self.kto_rows)

    def counts(self) -> DataCounts:
        counts = DataCounts(
            new_pairs=self.new_pairs,
            train_pairs=len(self.train_rows),
            holdout_pairs=len(self.holdout_rows),
            by_source=dict(self.by_source),
            kto_rows=len(self.kto_rows),
        )
        if self.unpaired_kto_rows is not None:
            counts["unpaired_kto_rows"] = len(self.unpaired_kto_rows)
        return counts


def _balanced(kto_rows: list[dict[str, Any]]) -> bool:
    return len({r["label"] for r in kto_rows}) == 2


def kto_stage_rows(
    unpaired: list[dict[str, Any]] | None, batch_size: int
) -> tuple[list[dict[str, Any]], str | None]:
    """(the rows a combined round's KTO stage trains on, or [] with why there is no stage).

    >>> up = {"label": True}; down = {"label": False}
    >>> kto_stage_rows([up, down, up], 4)
    ([{'label': True}, {'label': False}, {'label': True}], None)
    >>> kto_stage_rows([up, up], 4)[1]
    'no KTO stage: the 2 thumbs rows in no pair are all up or all down'
    """
    if not unpaired:
        return [], "no KTO stage: every thumbs rating is in a pair"
    if not _balanced(unpaired):
        return [], (
            f"no KTO stage: the {len(unpaired)} thumbs rows in no pair are all up or all down"
        )
    if batch_size < 2:
        return [], "no KTO stage: KTO needs batch_size >= 2"
    return unpaired, None


@dataclass(frozen=True)
class KtoStage:
    """A combined round's second stage: KTO on the unpaired thumbs rows, from the DPO stage's
    weights, with the round's parent as reference."""

    rows: list[dict[str, Any]]
    budget: int
    """The round's steps, both stages together (``--max-steps`` when given, else
    ``retrain.step_budget``; 0: no limit)."""
    wanted: int
    """The steps its rows take for the round's epochs."""
    reserve: int
    """Steps held back from the DPO stage for it."""
    planned: int
    """Its steps if DPO takes the steps planned for it (the real count follows DPO's)."""


@dataclass
class TrainingPlan:
    """What `Retrain.plan` decided: the rows to train and gate on, how, and from where."""

    method: Method
    rows: list[dict[str, Any]]
    """What the method trains on: the DPO pairs or the KTO rows."""
    train_pairs: list[dict[str, Any]]
    holdout_rows: list[dict[str, Any]]
    args: TrainingArgs
    active: VersionInfo | None
    cuda: bool
    probe_system: str | None
    thumbs_only: bool
    """The gate's strict mode: KTO (thumbs alone), or DPO on thumbs pairs only."""
    kto: KtoStage | None = None
    """A combined round's KTO stage after DPO (None: one method)."""

    @property
    def steps(self) -> int:
        if self.args.max_steps > 0:
            return self.args.max_steps
        return int(-(-len(self.rows) * self.args.epochs // self.args.batch_size))

    @property
    def init_adapter(self) -> Path | None:
        return self.active.path if self.active else None


@dataclass
class Retrain:
    """One retrain, a method per step; each step records what it found in `report`."""

    config: Config
    store: Store
    base_model_dir: Path
    options: RetrainOptions
    system_prompt: SystemPrompt
    hot_swap: HotSwap | None = None
    scorer: Scorer | None = None
    progress: ProgressCallback | None = None
    after_merge: AfterMerge | None = None
    probe_tokens: int = 32
    report: RetrainReport = field(init=False, default_factory=lambda: RetrainReport("skipped"))
    _started: float = field(init=False, default_factory=time.monotonic)

    @property
    def registry(self) -> AdapterRegistry:
        return AdapterRegistry(self.config.paths.adapters_dir, self.store)

    def run(self) -> RetrainReport:
        """Every step in order; never raises for a failed run once training has started."""
        data = self.gather()
        method = self.choose(data)
        if method is None:
            return self._done()
        plan = self.plan(data, method)
        if self.options.dry_run:
            self.dry_run(plan)
            return self._done()
        run_id = self.open_run(plan)
        try:
            self.train_and_promote(plan, run_id)
        except KeyboardInterrupt:
            self.cancelled(run_id)
        except (TrainingError, RuntimeError, OSError, ValueError) as e:
            self.failed(run_id, e)
        return self._done()

    def _done(self) -> RetrainReport:
        self.report.wall_s = time.monotonic() - self._started
        return self.report

    # -- before training ----------------------------------------------------------------------

    def gather(self) -> TrainingData:
        """Sync the stored pairs, then read the train/holdout pairs and the thumbs rows."""
        rc = self.config.retrain
        new_pairs = sync_pairs(
            self.store, rc, system_prompt=self.system_prompt, names=self.options.names
        )
        train_pairs, holdout_pairs, set_aside = ensure_holdout(
            list(self.store.iter_pairs("train")),
            list(self.store.iter_pairs("holdout")),
            min_holdout=rc.min_holdout_pairs,
            min_train=self.options.min_pairs or rc.min_pairs,
        )
        if set_aside:
            self.report.reasons.append(f"holdout: {set_aside}")
        kto_rows = list(
            build_kto_rows(
                self.store.iter_turns(include_never_train=False),
                holdout_fraction=rc.holdout_fraction,
                scrub_personal_data=rc.scrub_personal_data,
                names=self.options.names,
                max_tokens=rc.max_length,
                system_prompt=self.system_prompt,
            )
        )
        epochs = self.options.epochs or rc.epochs
        unpaired, reserve = None, 0
        if rc.combine_kto:
            # Against every pair before the replay sample: a reply some pair carries is
            # learned through that pair over the rounds, and holdout replies are the gate's.
            unpaired = unpaired_kto_rows(
                kto_rows,
                (t for p in [*train_pairs, *holdout_pairs] for t in (p.chosen, p.rejected)),
            )
            stage_rows, _ = kto_stage_rows(unpaired, rc.batch_size)
            reserve = kto_reserve(
                rc.step_budget, stage_steps(len(stage_rows), epochs, rc.batch_size)
            )
        since = self._live_since()
        budget = max_rows_for(rc.step_budget - reserve, rc.batch_size, epochs)
        train_pairs, this_round = replay_round(
            train_pairs, since=since, max_rows=budget, replay_ratio=rc.replay_ratio
        )
        if this_round:
            self.report.reasons.append(f"this round: {this_round}")
        holdout_pairs, judged = replay_round(
            holdout_pairs, since=since, max_rows=rc.max_holdout_pairs, replay_ratio=1.0
        )
        if judged:
            self.report.reasons.append(f"the gate judges on {judged}")
        data = TrainingData(
            new_pairs=new_pairs,
            train_rows=[trl_row(p) for p in train_pairs],
            holdout_rows=[trl_row(p) for p in holdout_pairs],
            kto_rows=kto_rows,
            by_source=self.store.count_pairs_by_source(),
            train_sources={p.source for p in train_pairs},
            unpaired_kto_rows=unpaired,
        )
        self.report.counts = data.counts()
        return data

    def _live_since(self) -> datetime | None:
        """When the training run of the live adapter began (None: no trained adapter)."""
        active = self.store.active_adapter()
        run_id = active.training_run_id if active is not None else None
        run = self.store.get_training_run(run_id) if run_id is not None else None
        return run.started_at if run is not None else None

    def choose(self, data: TrainingData) -> Method | None:
        """DPO on enough pairs, else KTO on enough balanced thumbs, else nothing (skipped)."""
        rc = self.config.retrain
        method, why = choose_method(
            self.options.method or rc.method,
            len(data.train_rows),
            len(data.kto_rows),
            data.kto_balanced,
            self.options.min_pairs or rc.min_pairs,
        )
        self.report.method = method
        self.report.reasons.append(why)
        return method

    def plan(self, data: TrainingData, method: Method) -> TrainingPlan:
        """Rows (system prompt compacted on CPU), hyper-parameters and the starting adapter."""
        from align.train import has_cuda

        rc = self.config.retrain
        cuda = has_cuda()
        compact = (not cuda) if self.options.compact_system is None else self.options.compact_system
        train_rows, holdout_rows, kto_rows = data.train_rows, data.holdout_rows, data.kto_rows
        stage_rows: list[dict[str, Any]] = []
        if method == "dpo" and data.unpaired_kto_rows is not None:
            stage_rows, no_stage = kto_stage_rows(data.unpaired_kto_rows, rc.batch_size)
            if no_stage:
                self.report.reasons.append(no_stage)
        probe_system = self.system_prompt(self.config.chat.persona)
        if compact:
            train_rows, holdout_rows = compact_system(train_rows), compact_system(holdout_rows)
            kto_rows, stage_rows = compact_system(kto_rows), compact_system(stage_rows)
            probe_system = first_paragraph(probe_system) if probe_system else None
        args = TrainingArgs.from_config(
            rc,
            max_steps=self.options.max_steps,
            epochs=self.options.epochs,
            resume=self.options.resume,
        )
        kto = self._kto_stage(stage_rows, args, len(train_rows)) if stage_rows else None
        if kto is not None and args.max_steps > 0:
            args = replace(args, max_steps=args.max_steps - kto.reserve)
        plan = TrainingPlan(
            method=method,
            rows=train_rows if method == "dpo" else kto_rows,
            train_pairs=train_rows,
            holdout_rows=holdout_rows,
            args=args,
            active=self.registry.active(),
            cuda=cuda,
            probe_system=probe_system,
            thumbs_only=(data.train_sources == {"thumbs"}) if method == "dpo" else True,
            kto=kto,
        )
        active = plan.active
        self.report.plan = [
            f"{method.upper()} on {len(plan.rows)} rows, {plan.steps} steps of "
            f"{args.batch_size}, lr {args.lr_for(method):g}, beta {args.beta:g}, "
            f"LoRA r={args.lora_r}",
            f"start from {'adapter ' + active.version if active else 'the base model'} "
            f"({'its copy' if active else 'the base'} is the reference policy), on "
            f"{'GPU (bf16)' if cuda else 'CPU (fp32)'}",
            f"gate on {len(holdout_rows)} holdout pairs, margin {rc.gate_margin:g}",
        ]
        if kto is not None:
            up = sum(bool(r["label"]) for r in kto.rows)
            budget = f"of the round's {kto.budget}" if kto.budget > 0 else "(no step budget)"
            self.report.method = "dpo+kto"
            self.report.counts["stages"] = {"dpo": len(plan.rows), "kto": len(kto.rows)}
            self.report.plan.insert(
                1,
                f"combined round: then KTO on {len(kto.rows)} thumbs rows in no pair "
                f"({up} up, {len(kto.rows) - up} down) from the DPO stage's weights, same "
                f"reference; about {kto.planned} steps {budget} (at least {kto.reserve})",
            )
        if compact:
            self.report.plan.append(
                "system prompt cut to its identity line for training (CPU speed)"
            )
        return plan

    def _kto_stage(
        self, rows: list[dict[str, Any]], args: TrainingArgs, dpo_rows: int
    ) -> KtoStage | None:
        """The KTO stage's step budget (see `align.replay.kto_stage_steps`), or None (with
        a reason) when the round leaves it no step."""
        budget = args.max_steps if args.max_steps > 0 else self.config.retrain.step_budget
        wanted = stage_steps(len(rows), args.epochs, args.batch_size)
        reserve = kto_reserve(budget, wanted)
        dpo_steps = (
            args.max_steps - reserve
            if args.max_steps > 0
            else stage_steps(dpo_rows, args.epochs, args.batch_size)
        )
        planned = kto_stage_steps(budget, dpo_steps, wanted, reserve)
        if planned <= 0:
            self.report.reasons.append(f"no KTO stage: DPO takes the whole budget of {budget}")
            return None
        return KtoStage(rows, budget, wanted, reserve, planned)

    def dry_run(self, plan: TrainingPlan) -> None:
        """Stop at the plan, with one example pair."""
        self.report.status = "dry_run"
        if plan.train_pairs:
            ex = plan.train_pairs[0]
            self.report.plan.append(
                f"example: {ex['prompt'][-1]['content'][:60]!r} → chosen "
                f"{ex['chosen'][0]['content'][:50]!r} over {ex['rejected'][0]['content'][:50]!r}"
            )

    def open_run(self, plan: TrainingPlan) -> int:
        """The training-run row and its dir: the last unfinished run with `--resume`, else a
        new one. Returns the run's id."""
        runs_dir = self.config.paths.runs_dir
        resumed = self._resumable_run() if self.options.resume else None
        if resumed is not None:
            run_id = resumed
            self.store.update_training_run(run_id, status="running")
        else:
            run = self.store.add_training_run(
                method=plan.method,
                config=jsonable(asdict(plan.args)),
                counts=dict(self.report.counts),
            )
            assert run.id is not None  # set by the insert
            run_id = run.id
        plan.args.resume = resumed is not None
        self.report.run_dir = runs_dir / f"run-{run_id:04d}"
        return run_id

    def _resumable_run(self) -> int | None:
        last = self.store.last_training_run()
        if last is None or last.id is None or last.status not in ("running", "failed", "cancelled"):
            return None
        ckpts = self.config.paths.runs_dir / f"run-{last.id:04d}" / "checkpoints"
        return last.id if ckpts.is_dir() else None

    # -- training and after -------------------------------------------------------------------

    def train_and_promote(self, plan: TrainingPlan, run_id: int) -> None:
        """Train; on rank 0, gate, then reject or promote, hot-swap and merge."""
        result = self.train(plan)
        if os.environ.get("RANK", "0") != "0":
            self.report.status = "skipped"  # non-zero ranks of `accelerate launch`: rank 0 gates
            self.report.reasons.append("not rank 0: training done, rank 0 gates and promotes")
            return
        self.report_training(result)
        gate = self.gate(plan, result)
        metrics = self.run_metrics(result, gate)
        if not gate.passed:
            self.reject(run_id, metrics)
            return
        info = self.promote(plan, result, run_id, metrics)
        self.swap(info)
        if self.should_merge(plan):
            self.merge(info)

    def train(self, plan: TrainingPlan) -> TrainResult:
        """The adapter, trained in the run dir from the active one (or a fresh LoRA)."""
        from align.train import train

        assert self.report.run_dir is not None  # set by open_run
        result = train(
            plan.method,
            self.base_model_dir,
            plan.rows,
            self.report.run_dir,
            init_adapter=plan.init_adapter,
            args=plan.args,
            progress_callback=(
                self.progress if plan.kto is None else _shifted(self.progress, 0, plan.kto.planned)
            ),
        )
        return result if plan.kto is None else self.train_kto_stage(plan, plan.kto, result)

    def train_kto_stage(self, plan: TrainingPlan, kto: KtoStage, dpo: TrainResult) -> TrainResult:
        """KTO on the unpaired thumbs from the DPO stage's weights, in ``<run>/kto``, with the
        steps the DPO stage left; the reference is the round's parent, as DPO's was."""
        from align.train import train

        assert self.report.run_dir is not None  # set by open_run
        dpo_steps = int(dpo.metrics.get("steps", plan.steps))
        steps = kto_stage_steps(kto.budget, dpo_steps, kto.wanted, kto.reserve)
        result = train(
            "kto",
            self.base_model_dir,
            kto.rows,
            self.report.run_dir / "kto",
            init_adapter=plan.init_adapter,
            start_from=dpo.adapter_dir,
            args=replace(plan.args, max_steps=steps),
            progress_callback=_shifted(self.progress, dpo_steps, 0),
        )
        combined = combine_stages(dpo, result)
        if os.environ.get("RANK", "0") == "0":
            record_stages(combined)
        return combined

    def report_training(self, result: TrainResult) -> None:
        from align.train import summarize_curve

        self.report.metrics = result.metrics
        self.report.plot_png = result.plot_png
        if result.stages:
            self.report.curve = " · ".join(
                f"{s.metrics.get('method', '?').upper()} {summarize_curve(s.log_history)}"
                for s in result.stages
            )
        else:
            self.report.curve = summarize_curve(result.log_history)

    def gate(self, plan: TrainingPlan, result: TrainResult) -> GateReport:
        """New adapter vs the active one on the holdout pairs and the probes."""
        from align.gate import run_gate

        gate = run_gate(
            self.base_model_dir,
            result.adapter_dir,
            plan.init_adapter,
            plan.holdout_rows,
            margin=self.config.retrain.gate_margin,
            thumbs_only=plan.thumbs_only,
            scorer=self.scorer,
            system_prompt=plan.probe_system,
            cuda=plan.cuda,
            probe_tokens=self.probe_tokens,
            alpha=self.config.retrain.gate_alpha,
        )
        self.report.gate = gate.to_dict()
        self.report.reasons += gate.reasons
        return gate

    @staticmethod
    def run_metrics(result: TrainResult, gate: GateReport) -> dict[str, Any]:
        """Training metrics plus the gate's verdict, as stored with the run and the version."""
        metrics = {**result.metrics, "gate_passed": gate.passed}
        if gate.new is not None:
            metrics["gate_accuracy"] = gate.new.accuracy
            metrics["gate_margin"] = gate.new.mean_margin
        if not gate.passed:
            metrics["gate_reasons"] = list(gate.reasons)
        return metrics

    def reject(self, run_id: int, metrics: dict[str, Any]) -> None:
        self.report.status = "rejected"
        self.report.reasons.append(
            f"the active adapter stays; the run is kept in {self.report.run_dir}"
        )
        self.store.update_training_run(run_id, status="rejected", metrics=jsonable(metrics))

    def promote(
        self, plan: TrainingPlan, result: TrainResult, run_id: int, metrics: dict[str, Any]
    ) -> VersionInfo:
        """Install the adapter as a new version and make it the active one."""
        info = self.registry.install(
            result.adapter_dir,
            kind=plan.method,
            parent_version=plan.active.version if plan.active else None,
            metrics=metrics,
            training_run_id=run_id,
        )
        self.registry.promote(info.version)
        self.report.version = info.version
        self.report.status = "promoted"
        self.store.update_training_run(
            run_id, status="succeeded", metrics=jsonable(metrics), adapter_version=info.version
        )
        return info

    def swap(self, info: VersionInfo) -> None:
        """Tell the running server; a failure leaves the promotion standing."""
        if self.hot_swap is None:
            return
        try:
            self.hot_swap(info.path)
        except Exception as e:  # noqa: BLE001 - promotion stands; the server catches up
            self.report.reasons.append(f"hot swap failed ({e}); the next server start serves it")

    def should_merge(self, plan: TrainingPlan) -> bool:
        if self.options.merge is not None:
            return self.options.merge
        return self.config.server.merge_on_cpu and not plan.cuda

    def merge(self, info: VersionInfo) -> None:
        """Base + adapter as one checkpoint, for fast CPU serving."""
        from align.adapters import AdapterError, merge_adapter

        try:
            merged = merge_adapter(
                self.base_model_dir, info.path, self.config.paths.merged_dir / info.version
            )
        except AdapterError as e:  # promotion stands: the adapter is live as runtime LoRA
            self.report.reasons.append(str(e))
            return
        self.registry.set_merged(info.version, merged)
        self.report.reasons.append(f"merged checkpoint for fast CPU serving: {merged}")
        if self.after_merge is not None:
            self.after_merge(info.version, merged)

    # -- how it ended otherwise -----------------------------------------------------------------

    def cancelled(self, run_id: int) -> None:
        self.store.update_training_run(run_id, status="cancelled", error="interrupted")
        self.report.status = "cancelled"
        self.report.reasons.append(
            f"interrupted; `companion retrain --resume` continues ({self.report.run_dir})"
        )

    def failed(self, run_id: int, e: Exception) -> None:
        self.store.update_training_run(run_id, status="failed", error=str(e)[:2000])
        self.report.status = "failed"
        self.report.reasons.append(f"{type(e).__name__}: {e}")


def _shifted(progress: ProgressCallback | None, done: int, more: int) -> ProgressCallback | None:
    """`progress` for one stage of a combined round: its steps after the `done` ones, out of
    a total with `more` still to come, so the bar runs once over both stages."""
    if progress is None:
        return None
    report = progress

    def shifted(p: TrainProgress) -> None:
        report(replace(p, step=p.step + done, total=p.total + done + more))

    return shifted


def combine_stages(dpo: TrainResult, kto: TrainResult) -> TrainResult:
    """A combined round's result: KTO's adapter, DPO's metrics (the round is a DPO round, and
    the gate judges DPO's implicit reward) with both stages' under ``stages``, and one log.

    >>> from pathlib import Path
    >>> d = TrainResult(Path("d"), {"method": "dpo", "steps": 3, "train_samples": 12},
    ...                 [{"step": 3, "loss": 0.6}], None)
    >>> k = TrainResult(Path("k"), {"method": "kto", "steps": 2, "train_samples": 5},
    ...                 [{"step": 2, "loss": 0.4}], None)
    >>> r = combine_stages(d, k)
    >>> r.adapter_dir, r.metrics["method"], r.metrics["steps"], r.metrics["stages"]["kto"]
    (PosixPath('k'), 'dpo', 5, {'rows': 5, 'steps': 2})
    >>> r.log_history[-1]
    {'step': 5, 'loss': 0.4, 'stage': 'kto'}
    """
    dpo_steps = int(dpo.metrics.get("steps", 0))
    kto_steps = int(kto.metrics.get("steps", 0))

    def stage(r: TrainResult) -> dict[str, Any]:
        keep = {k: v for k, v in r.metrics.items() if k not in ("method", "train_samples")}
        return {"rows": r.metrics.get("train_samples"), **keep}

    metrics = {
        **dpo.metrics,
        "steps": dpo_steps + kto_steps,
        "stages": {"dpo": stage(dpo), "kto": stage(kto)},
    }
    if "runtime_s" in dpo.metrics and "runtime_s" in kto.metrics:
        metrics["runtime_s"] = round(dpo.metrics["runtime_s"] + kto.metrics["runtime_s"], 2)
    log = [*dpo.log_history]
    log += [
        {**h, "step": h["step"] + dpo_steps, "stage": "kto"} if "step" in h else h
        for h in kto.log_history
    ]
    return TrainResult(kto.adapter_dir, metrics, log, dpo.plot_png, stages=[dpo, kto])


def record_stages(result: TrainResult) -> None:
    """The combined adapter's metadata says DPO (what it is stored as), with both stages."""
    import json

    from align.train import ADAPTER_META

    meta_file = result.adapter_dir / ADAPTER_META
    if not meta_file.is_file():
        return
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta.update(method="dpo", steps=result.metrics["steps"], stages=result.metrics["stages"])
    tmp = meta_file.with_name(meta_file.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, meta_file)  # a finished adapter never holds half a metadata file


def retrain(
    config: Config,
    store: Store,
    *,
    base_model_dir: Path,
    options: RetrainOptions | None = None,
    hot_swap: HotSwap | None = None,
    scorer: Scorer | None = None,
    system_prompt: SystemPrompt | None = None,
    progress: ProgressCallback | None = None,
    after_merge: AfterMerge | None = None,
    probe_tokens: int = 32,
) -> RetrainReport:
    """The whole loop; returns a report (never raises for a failed run: status says so).

    One retrain at a time per data dir: a second one, from the chat, the CLI or
    `retrain.auto`, fails at once with `RetrainBusy` instead of training twice. A dry run
    trains nothing and needs no lock.
    """
    options = options or RetrainOptions()

    def run() -> RetrainReport:
        return Retrain(
            config,
            store,
            base_model_dir=base_model_dir,
            options=options,
            system_prompt=system_prompt or persona_system_prompt(config),
            hot_swap=hot_swap,
            scorer=scorer,
            progress=progress,
            after_merge=after_merge,
            probe_tokens=probe_tokens,
        ).run()

    if options.dry_run:
        return run()
    with exclusive_retrain(config.paths):
        return run()
