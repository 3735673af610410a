"""Typer command functions for the learning side; companion/cli/commands.py mounts them:

    app.add_typer(data_app, name="data")
    app.add_typer(pairs_app, name="pairs")
    app.add_typer(train_app, name="train")
    app.add_typer(adapters_app, name="adapters")
    app.command("retrain")(retrain)
    app.command("export-model")(export_model)

Heavy imports (torch, transformers, trl, the store) happen inside the commands, so
`companion --help` stays fast. Errors print one line to stderr and exit 1 (`common.fail`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from companion.cli.common import (
    NiceOption,
    fail,
    load_config,
    lower_priority,
    one_line_errors,
    store_or_fail,
)
from companion.config import Config

if TYPE_CHECKING:
    from align.train import TrainProgress
    from feedback.repo import Store

data_app = typer.Typer(help="Prepare training data.", no_args_is_help=True)
pairs_app = typer.Typer(help="Preference pairs built from your feedback.", no_args_is_help=True)
train_app = typer.Typer(help="Train adapters from data files.", no_args_is_help=True)
adapters_app = typer.Typer(help="Trained adapter versions.", no_args_is_help=True)

SftData = Annotated[list[Path] | None, typer.Option("--data", help="JSONL dialogues (repeatable).")]
SftPersona = Annotated[
    str | None,
    typer.Option(help="Persona whose system prompt frames the data; its examples are added."),
]
"""The dialogues `train sft` trains on, and `data export-sft` writes (the same options)."""


def _base_model(config: Config) -> Path:
    from companion.model_setup import training_base

    with one_line_errors():
        return training_base(config)


@contextmanager
def _errors() -> Iterator[None]:
    from align.adapters import AdapterError
    from align.retrain import RetrainBusy
    from align.train import TrainingError

    with one_line_errors(AdapterError, TrainingError, RetrainBusy, ValueError):
        yield


class _ProgressBar:
    """A rich progress bar fed by `align.train.TrainProgress` events; it appears only once
    training starts (a dry run or a skipped retrain shows none)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, p: TrainProgress) -> None:
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("training"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("{task.fields[info]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),  # stdout stays the report (`--json` parses)
            )
            self.task = self.bar.add_task("train", total=p.total, info="")
            self.bar.start()
        info = f"loss {p.loss:.4f}" if p.loss is not None else ""
        if p.reward_accuracy is not None:
            info += f"  reward acc {p.reward_accuracy:.2f}"
        self.bar.update(self.task, completed=p.step, total=p.total, info=info)


# ---- data ---------------------------------------------------------------------------------


@data_app.callback()
def _data() -> None:
    """Prepare training data."""  # a callback keeps a one-command group a group


@data_app.command("clean")
def data_clean(
    src: Annotated[Path, typer.Argument(help="Input JSONL (messages or ShareGPT format).")],
    dst: Annotated[Path, typer.Argument(help="Where to write the cleaned JSONL.")],
    max_tokens: Annotated[
        int, typer.Option(help="Drop samples longer than this many tokens (0 = no limit).")
    ] = 0,
    scrub: Annotated[bool, typer.Option(help="Scrub emails, phone numbers, secrets.")] = True,
    name: Annotated[
        list[str] | None, typer.Option("--name", help="A name to scrub (repeatable).")
    ] = None,
) -> None:
    """Clean a dialogue or preference JSONL file and report what changed."""
    from align.clean import clean_file

    if not src.is_file():
        fail(f"{src}: no such file")
    _, report = clean_file(
        src, dst, max_tokens=max_tokens or None, scrub_personal_data=scrub, names=name or ()
    )
    typer.echo(report.summary())
    typer.echo(f"wrote {report.kept} samples to {dst}")


def _sft_samples(cfg: Config, data: list[Path] | None, persona: str | None) -> list[dict[str, Any]]:
    """The dialogues `train sft` trains on: the cleaned --data files and the persona's
    examples, framed by its system prompt; each file's cleaning report is printed."""
    from align.clean import clean_file, with_system
    from align.persona_data import persona_rows

    samples: list[dict[str, Any]] = []
    for f in data or []:
        if not f.is_file():
            fail(f"{f}: no such file")
        kept, report = clean_file(f, max_tokens=cfg.retrain.max_length)
        typer.echo(f"{f}: " + report.summary())
        samples += [s for s in kept if "messages" in s]
    system = None
    if persona:
        from companion import persona as persona_mod

        try:
            p = persona_mod.load(persona, cfg.paths)
        except Exception as e:  # noqa: BLE001
            fail(str(e))
        system = persona_mod.system_prompt(p)
        samples += persona_rows(p, system)
    samples = with_system(samples, system)
    if not samples:
        fail("no training dialogues: give --data FILE and/or --persona NAME")
    return samples


@data_app.command("export-sft")
def data_export_sft(
    out: Annotated[Path, typer.Argument(help="Output JSONL file (ms-swift's messages format).")],
    data: SftData = None,
    persona: SftPersona = None,
) -> None:
    """Write the dialogues `train sft` would train on (same --data/--persona) for `swift sft`."""
    from align.clean import write_jsonl
    from align.swift_export import sft_rows, skipped_line

    rows, skipped = sft_rows(_sft_samples(load_config(), data, persona))
    n = write_jsonl(out, rows)
    typer.echo(f"wrote {n} ms-swift SFT rows to {out}")
    if line := skipped_line(skipped):
        typer.echo(line)


# ---- pairs --------------------------------------------------------------------------------


@pairs_app.command("build")
def pairs_build(
    rebuild: Annotated[bool, typer.Option(help="Drop stored pairs and build again.")] = False,
) -> None:
    """Build preference pairs from recorded feedback (incremental)."""
    from align.retrain import persona_system_prompt, sync_pairs

    cfg = load_config()
    store = store_or_fail(cfg)
    if rebuild:
        store.clear_pairs()
    n = sync_pairs(store, cfg.retrain, system_prompt=persona_system_prompt(cfg))
    typer.echo(f"{n} new pairs; {store.count_pairs()} in all")


@pairs_app.command("stats")
def pairs_stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Counts of stored pairs by source and split."""
    cfg = load_config()
    store = store_or_fail(cfg)
    stats = {
        "total": store.count_pairs(),
        "train": store.count_pairs("train"),
        "holdout": store.count_pairs("holdout"),
        "by_source": store.count_pairs_by_source(),
    }
    if as_json:
        typer.echo(json.dumps(stats))
        return
    typer.echo(f"{stats['total']} pairs: {stats['train']} train, {stats['holdout']} holdout")
    by_source: dict[str, int] = stats["by_source"]  # type: ignore[assignment]
    for src, n in sorted(by_source.items()):
        typer.echo(f"  {src:<10} {n}")


_PAIR_FORMATS = ("trl", "jsonl", "swift", "swift-kto")


@pairs_app.command("export")
def pairs_export(
    out: Annotated[Path, typer.Argument(help="Output JSONL file.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="trl: prompt/chosen/rejected; jsonl: every field; swift: ms-swift DPO "
            "(messages + rejected_response); swift-kto: ms-swift KTO (messages + label), "
            "from your thumbs and both sides of each pair.",
        ),
    ] = "trl",
    split: Annotated[str | None, typer.Option(help="train or holdout (default: both).")] = None,
) -> None:
    """Export stored pairs for training elsewhere."""
    from align.clean import write_jsonl
    from align.retrain import trl_row

    if fmt not in _PAIR_FORMATS:
        fail(f"--format must be one of {', '.join(_PAIR_FORMATS)}, not {fmt!r}")
    if split not in (None, "train", "holdout"):
        fail(f"--split must be train or holdout, not {split!r}")
    cfg = load_config()
    store = store_or_fail(cfg)
    if fmt in ("swift", "swift-kto"):
        _swift_pairs_export(cfg, store, out, fmt, split)
        return

    def rows() -> Iterator[dict[str, Any]]:
        for p in store.iter_pairs(split):
            row = trl_row(p)
            if fmt == "jsonl":
                row.update(
                    id=p.hash,
                    source=p.source,
                    split=p.split,
                    conversation_id=p.conversation_id,
                    message_id=p.message_id,
                )
            yield row

    n = write_jsonl(out, rows())
    typer.echo(f"wrote {n} pairs to {out}")


def _swift_pairs_export(cfg: Config, store: Store, out: Path, fmt: str, split: str | None) -> None:
    from align.clean import write_jsonl
    from align.pairs import Split, build_kto_rows
    from align.retrain import persona_system_prompt
    from align.swift_export import dpo_rows, kto_balance_line, kto_rows, skipped_line

    pairs = list(store.iter_pairs(split))
    if fmt == "swift":
        rows, skipped = dpo_rows(pairs)
        what = "ms-swift DPO rows"
    else:
        rc = cfg.retrain
        # The same thumbs rows `retrain` trains KTO on, with the split it would use.
        kto_split: Split | None = (
            "train" if split == "train" else "holdout" if split == "holdout" else None
        )
        thumbs = build_kto_rows(
            store.iter_turns(include_never_train=False),
            holdout_fraction=rc.holdout_fraction,
            split=kto_split,
            scrub_personal_data=rc.scrub_personal_data,
            max_tokens=rc.max_length,
            system_prompt=persona_system_prompt(cfg),
        )
        rows, skipped = kto_rows(thumbs, pairs)
        what = "ms-swift KTO rows"
    n = write_jsonl(out, rows)
    typer.echo(f"wrote {n} {what} to {out}")
    if fmt == "swift-kto":
        typer.echo(kto_balance_line(rows))
    if line := skipped_line(skipped):
        typer.echo(line)


# ---- train --------------------------------------------------------------------------------


@train_app.callback()
def _train() -> None:
    """Train adapters from data files."""


@train_app.command("sft")
def train_sft(
    data: SftData = None,
    persona: SftPersona = None,
    qlora: Annotated[bool, typer.Option(help="4-bit NF4 base; needs a CUDA GPU.")] = False,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N steps.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Passes over the data.")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default 2e-4).")] = None,
    activate: Annotated[bool, typer.Option(help="Make the new adapter active.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue the last interrupted SFT run.")] = False,
) -> None:
    """Supervised fine-tuning of a LoRA adapter on dialogues (loss on assistant turns)."""
    from align.adapters import AdapterRegistry
    from align.train import TrainingArgs, check_qlora, summarize_curve, train

    with _errors():
        check_qlora(TrainingArgs(qlora=qlora))  # refuse before loading anything
    cfg = load_config()
    samples = _sft_samples(cfg, data, persona)
    base = _base_model(cfg)
    store = store_or_fail(cfg)
    run_dir = cfg.paths.runs_dir / "sft-latest"
    args = TrainingArgs.from_config(
        cfg.retrain, learning_rate=lr or 2e-4, max_steps=max_steps, epochs=epochs, qlora=qlora
    )
    args.resume = resume
    with _errors(), _ProgressBar() as bar:
        result = train("sft", base, samples, run_dir, args=args, progress_callback=bar)
    typer.echo(summarize_curve(result.log_history))
    typer.echo(f"loss curve: {result.plot_png}")
    with _errors():
        reg = AdapterRegistry(cfg.paths.adapters_dir, store)
        info = reg.install(result.adapter_dir, kind="sft", metrics=result.metrics)
        typer.echo(f"registered adapter {info.version} ({info.path})")
        if activate:
            reg.promote(info.version)
            typer.echo(f"{info.version} is active")


# ---- adapters -----------------------------------------------------------------------------


@adapters_app.command("list")
def adapters_list() -> None:
    """Adapter versions; * marks the active one."""
    from align.adapters import AdapterRegistry, versions_table

    cfg = load_config()
    reg = AdapterRegistry(cfg.paths.adapters_dir, store_or_fail(cfg))
    rows = versions_table(reg.list())
    if not rows:
        typer.echo("no adapters yet; the base model is serving")
    for mark, version, kind, parent, metric in rows:
        typer.echo(f"{mark} {version:<6} {kind:<4} from {parent:<6} {metric}")


@adapters_app.command("show")
def adapters_show(
    version: Annotated[str | None, typer.Argument(help="Version (default: active).")] = None,
) -> None:
    """Details and metrics of one adapter version."""
    from align.adapters import AdapterRegistry, describe

    cfg = load_config()
    reg = AdapterRegistry(cfg.paths.adapters_dir, store_or_fail(cfg))
    with _errors():
        info = reg.get(version) if version else reg.active()
    if info is None:
        fail("no adapter is active; give a version (companion adapters list)")
    for k, v in describe(info):
        typer.echo(f"{k:<22} {v}")


@adapters_app.command("rollback")
def adapters_rollback(
    version: Annotated[
        str | None, typer.Argument(help="Version to activate, or 'base' (default: the parent).")
    ] = None,
) -> None:
    """Activate an earlier adapter version (or the base model)."""
    from align.adapters import AdapterRegistry

    cfg = load_config()
    store = store_or_fail(cfg)
    reg = AdapterRegistry(cfg.paths.adapters_dir, store)
    with _errors():
        info = reg.rollback(version)
    typer.echo(f"active: {info.version if info else 'base model'}")
    _swap(cfg, store)


def _swap(cfg: Config, store: Store) -> str | None:
    """Tell a running server about the active adapter; returns a note on failure."""
    try:
        return make_hot_swap(cfg, store)(Path())
    except Exception as e:  # noqa: BLE001
        note = f"the running server was not updated ({e}); it serves the change on restart"
        typer.echo(note, err=True)
        return note


def make_hot_swap(cfg: Config, store: Store) -> Callable[[Path], None]:
    """The server-side hot swap: the store's active adapter goes live in the running server."""

    def hot_swap(_adapter_dir: Path) -> None:
        from companion.cli.wiring import hot_swap as swap

        typer.echo(swap(cfg, store), err=True)

    return hot_swap


def make_after_merge(cfg: Config, store: Store) -> Callable[[str, Path], None]:
    """Once merged (CPU), a second server on the merged weights takes over with no gap."""

    def after_merge(_version: str, _merged: Path) -> None:
        from companion.cli.wiring import hot_swap as swap

        typer.echo(swap(cfg, store, runtime=False), err=True)

    return after_merge


# ---- retrain and export -------------------------------------------------------------------


def retrain(
    min_pairs: Annotated[int | None, typer.Option(help="Fewer pairs: KTO or no training.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N steps.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Passes over the pairs.")] = None,
    method: Annotated[str | None, typer.Option(help="auto, dpo or kto.")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Show the data and the plan; train nothing.")
    ] = False,
    resume: Annotated[bool, typer.Option(help="Continue the last interrupted run.")] = False,
    merge: Annotated[
        bool | None, typer.Option(help="Merge the new adapter for fast CPU serving.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    nice: NiceOption = False,
) -> None:
    """Learn from your feedback: pairs → DPO (or KTO) → gate → promote → hot swap."""
    from align.retrain import RetrainOptions
    from align.retrain import retrain as run
    from align.safety_probe import safety_scorer

    lower_priority(nice)

    if method not in (None, "auto", "dpo", "kto"):
        fail(f"--method must be auto, dpo or kto, not {method!r}")
    cfg = load_config()
    store = store_or_fail(cfg)
    base = cfg.paths.embedded_model_dir if dry_run else _base_model(cfg)
    opts = RetrainOptions(
        min_pairs=min_pairs,
        max_steps=max_steps,
        epochs=epochs,
        method=method,  # type: ignore[arg-type]
        dry_run=dry_run,
        resume=resume,
        merge=merge,
    )
    with _errors(), _ProgressBar() as bar:
        report = run(
            cfg,
            store,
            base_model_dir=base,
            options=opts,
            hot_swap=make_hot_swap(cfg, store),
            after_merge=make_after_merge(cfg, store),
            scorer=safety_scorer(cfg),
            progress=bar,
        )
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.summary())
    if report.status == "failed":
        raise typer.Exit(1)


def export_model(
    merged: Annotated[
        Path | None, typer.Option("--merged", help="Write base+adapter as one checkpoint here.")
    ] = None,
    adapter: Annotated[
        Path | None, typer.Option("--adapter", help="Write the adapter here.")
    ] = None,
    version: Annotated[str | None, typer.Option(help="Adapter version (default: active).")] = None,
) -> None:
    """Export the active (or a given) adapter, merged or alone; verified by loading it back."""
    from align.adapters import AdapterRegistry, export_adapter, merge_adapter

    if (merged is None) == (adapter is None):
        fail("give exactly one of --merged DIR or --adapter DIR")
    cfg = load_config()
    reg = AdapterRegistry(cfg.paths.adapters_dir, store_or_fail(cfg))
    with _errors():
        info = reg.get(version) if version else reg.active()
    if info is None:
        fail("no adapter is active; give --version (companion adapters list)")
    base = _base_model(cfg)
    with _errors():
        if merged is not None:
            out = merge_adapter(base, info.path, merged)
            typer.echo(f"wrote merged checkpoint of {info.version} to {out} (verified)")
        else:
            assert adapter is not None
            out = export_adapter(base, info.path, adapter)
            typer.echo(f"wrote adapter {info.version} to {out} (verified)")
