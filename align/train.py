"""The one training module: SFT, DPO and KTO of a LoRA adapter with TRL + PEFT.

`train()` writes everything into a run directory and never touches the active adapter; a
finished run leaves ``<run>/adapter`` (moved there atomically) that `align.adapters` then
registers and promotes. torch, transformers, trl and peft are imported inside functions so
importing this module is cheap.

Run layout::

    <run>/checkpoints/checkpoint-N   Trainer checkpoints (``resume=True`` continues from them)
    <run>/adapter/                   the finished adapter (adapter_config.json + safetensors)
    <run>/loss.png                   loss (and reward accuracy) curve
    <run>/metrics.json               final metrics and the whole log history
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from companion.config import RetrainConfig

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback

    CausalLM = PreTrainedModel | PeftModel
    """A causal LM as align loads it: the base alone, or wrapped with LoRA adapters."""

Method = Literal["sft", "dpo", "kto"]
METHODS: tuple[str, ...] = ("sft", "dpo", "kto")
CHAT_TEMPLATE = Path(__file__).with_name("chatml_generation.jinja")
ADAPTER_META = "companion-adapter.json"

QLORA_NEEDS_CUDA = (
    "--qlora needs a CUDA GPU (bitsandbytes 4-bit NF4 runs only there); "
    "this machine has none, so train without --qlora."
)


class TrainingError(RuntimeError):
    """A training problem, phrased as the one line the user sees."""


@dataclass
class TrainingArgs:
    """Hyper-parameters; defaults suit SmolLM2-135M on CPU. Validated on construction."""

    learning_rate: float | None = field(
        default=None,
        metadata={"help": "Peak learning rate; None = the method's default (SFT 2e-4, else 5e-5)."},
    )
    beta: float = field(default=0.1, metadata={"help": "DPO/KTO temperature (KL strength)."})
    epochs: float = field(default=1.0, metadata={"help": "Passes over the data."})
    max_steps: int = field(
        default=-1, metadata={"help": "Stop after this many steps (-1: epochs)."}
    )
    batch_size: int = field(default=4, metadata={"help": "Per-device batch size."})
    grad_accum: int = field(default=1, metadata={"help": "Gradient accumulation steps."})
    max_length: int = field(default=1024, metadata={"help": "Longest sample in tokens."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA path."})
    lora_targets: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        metadata={"help": "Modules that get LoRA weights."},
    )
    qlora: bool = field(default=False, metadata={"help": "4-bit NF4 base (CUDA GPU only)."})
    device: Literal["auto", "cpu", "cuda"] = field(
        default="auto", metadata={"help": "auto = CUDA when available, else CPU."}
    )
    warmup_ratio: float = field(default=0.0, metadata={"help": "Share of steps to warm up."})
    seed: int = field(default=0, metadata={"help": "Seed for data order and LoRA init."})
    logging_steps: int = field(default=1, metadata={"help": "Log every N steps."})
    save_steps: int = field(default=25, metadata={"help": "Checkpoint every N steps."})
    save_total_limit: int = field(default=2, metadata={"help": "Checkpoints kept."})
    resume: bool = field(default=False, metadata={"help": "Continue from the last checkpoint."})
    assistant_only_loss: bool = field(
        default=True, metadata={"help": "SFT: loss on assistant tokens only."}
    )

    def __post_init__(self) -> None:
        problems = []
        if self.learning_rate is not None and not self.learning_rate > 0:
            problems.append("learning_rate must be > 0")
        if not self.beta > 0:
            problems.append("beta must be > 0")
        if not self.epochs > 0:
            problems.append("epochs must be > 0")
        if self.max_steps == 0 or self.max_steps < -1:
            problems.append("max_steps must be -1 (use epochs) or > 0")
        for name in ("batch_size", "grad_accum", "lora_r", "lora_alpha", "logging_steps"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1")
        if self.save_steps < 1 or self.save_total_limit < 1:
            problems.append("save_steps and save_total_limit must be >= 1")
        if self.max_length < 16:
            problems.append("max_length must be >= 16")
        if not 0 <= self.lora_dropout < 1:
            problems.append("lora_dropout must be in [0, 1)")
        if not 0 <= self.warmup_ratio < 1:
            problems.append("warmup_ratio must be in [0, 1)")
        if not self.lora_targets:
            problems.append("lora_targets must name at least one module")
        if self.device not in ("auto", "cpu", "cuda"):
            problems.append("device must be auto, cpu or cuda")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_config(
        cls,
        retrain: RetrainConfig,
        *,
        learning_rate: float | None = None,
        epochs: float | None = None,
        max_steps: int | None = None,
        resume: bool = False,
        qlora: bool = False,
    ) -> TrainingArgs:
        """From the retrain config section; the arguments given (not None) win."""
        return cls(
            learning_rate=retrain.learning_rate if learning_rate is None else learning_rate,
            beta=retrain.beta,
            epochs=retrain.epochs if epochs is None else epochs,
            max_steps=retrain.max_steps if max_steps is None else max_steps,
            batch_size=retrain.batch_size,
            max_length=retrain.max_length,
            lora_r=retrain.lora_r,
            lora_alpha=retrain.lora_alpha,
            lora_dropout=retrain.lora_dropout,
            lora_targets=list(retrain.lora_targets),
            resume=resume,
            qlora=qlora,
        )

    def lr_for(self, method: str) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 2e-4 if method == "sft" else 5e-5

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}


@dataclass(frozen=True)
class TrainProgress:
    """What the progress callback hears after every logged step."""

    step: int
    total: int
    loss: float | None = None
    reward_accuracy: float | None = None
    epoch: float | None = None
    elapsed_s: float = 0.0


ProgressCallback = Callable[[TrainProgress], None]


@dataclass
class TrainResult:
    adapter_dir: Path
    metrics: dict[str, Any]
    log_history: list[dict[str, Any]]
    plot_png: Path | None
    stages: list[TrainResult] = field(default_factory=list)
    """A combined round's stages in order (DPO, then KTO); empty for one method."""


def has_cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover
        return False


def check_qlora(args: TrainingArgs, *, cuda: bool | None = None) -> None:
    """Refuse QLoRA without CUDA or bitsandbytes, with one line (raises TrainingError)."""
    if not args.qlora:
        return
    if not (has_cuda() if cuda is None else cuda) or args.device == "cpu":
        raise TrainingError(QLORA_NEEDS_CUDA)
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise TrainingError("--qlora needs bitsandbytes: pip install bitsandbytes")


def _use_cuda(args: TrainingArgs) -> bool:
    if args.device == "cpu":
        return False
    cuda = has_cuda()
    if args.device == "cuda" and not cuda:
        raise TrainingError("device=cuda was asked for, but torch sees no CUDA GPU")
    return cuda


def validate_rows(method: str, rows: Sequence[dict[str, Any]]) -> None:
    """The dataset shape each method needs, checked before any model is loaded."""
    if method not in METHODS:
        raise TrainingError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if not rows:
        raise TrainingError("no training data")
    need = {"sft": {"messages"}, "dpo": {"prompt", "chosen", "rejected"}}.get(
        method, {"prompt", "completion", "label"}
    )
    for i, row in enumerate(rows):
        missing = need - row.keys()
        if missing:
            raise TrainingError(f"{method} row {i} lacks {', '.join(sorted(missing))}")
    if method == "kto":
        labels = {bool(r["label"]) for r in rows}
        if len(labels) < 2:
            raise TrainingError("KTO needs both thumbs-up and thumbs-down examples")


def chat_text(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, str]],
    *,
    add_generation_prompt: bool,
) -> str:
    """`messages` through the tokenizer's chat template, as text."""
    text = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )
    assert isinstance(text, str)  # tokenize=False renders the template only
    return text


def load_tokenizer(model_dir: Path) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_base(model_dir: Path, *, cuda: bool, qlora: bool = False) -> PreTrainedModel:
    """The base model in the dtype that suits the device (CPU fp32, GPU bf16, or 4-bit)."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if cuda else torch.float32}
    if qlora:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        kwargs["device_map"] = {"": 0}
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    if qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model, use_gradient_checkpointing=False
        )
    return model


def _progress_bridge(cb: ProgressCallback, started: float) -> TrainerCallback:
    from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

    class _Bridge(TrainerCallback):
        def on_log(
            self,
            args: TrainingArguments,
            state: TrainerState,
            control: TrainerControl,
            logs: dict[str, float] | None = None,
            **kw: object,
        ) -> None:
            logs = logs or {}
            if "loss" not in logs:  # the end-of-training summary; the last step was reported
                return
            acc = logs.get("rewards/accuracies")
            cb(
                TrainProgress(
                    step=int(state.global_step),
                    total=int(state.max_steps),
                    loss=logs.get("loss"),
                    reward_accuracy=None if acc is None else float(acc),
                    epoch=logs.get("epoch"),
                    elapsed_s=time.monotonic() - started,
                )
            )

    return _Bridge()


def _last_checkpoint(ckpt_dir: Path) -> Path | None:
    found = [p for p in ckpt_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    # A checkpoint without trainer_state.json was cut off while saving: skip it.
    found = [p for p in found if (p / "trainer_state.json").is_file()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def _config_kwargs(method: str, args: TrainingArgs, cuda: bool, ckpt_dir: Path) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "output_dir": str(ckpt_dir),
        "per_device_train_batch_size": args.batch_size,
        "gradient_accumulation_steps": args.grad_accum,
        "learning_rate": args.lr_for(method),
        "num_train_epochs": args.epochs,
        "max_steps": args.max_steps,
        "warmup_steps": args.warmup_ratio,  # a float < 1 is a ratio in transformers 5
        "logging_steps": args.logging_steps,
        "save_strategy": "steps",
        "save_steps": args.save_steps,
        "save_total_limit": args.save_total_limit,
        "seed": args.seed,
        "data_seed": args.seed,
        "max_length": args.max_length,
        "report_to": "none",
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        # CPU: fp32 and no gradient checkpointing (TRL's defaults are ~4x slower there).
        "use_cpu": not cuda,
        "bf16": cuda,
        "gradient_checkpointing": False,
    }
    if method in ("dpo", "kto"):
        kw["beta"] = args.beta
    if method == "sft":
        kw["assistant_only_loss"] = args.assistant_only_loss
        kw["packing"] = False
        if args.assistant_only_loss:
            kw["chat_template_path"] = str(CHAT_TEMPLATE)
    return kw


def train(
    method: Method,
    base_model_dir: Path,
    rows: Sequence[dict[str, Any]],
    output_dir: Path,
    *,
    init_adapter: Path | None = None,
    args: TrainingArgs | None = None,
    progress_callback: ProgressCallback | None = None,
    on_trained: Callable[[PeftModel], None] | None = None,
    start_from: Path | None = None,
) -> TrainResult:
    """Train a LoRA adapter by `method` on `rows` (TRL conversational rows) into `output_dir`.

    With ``init_adapter`` training continues from that adapter, and for DPO/KTO a frozen copy
    of it is the reference policy (TRL adds it as the ``ref`` adapter); without it a fresh
    LoRA is trained and the reference is the base model (adapter disabled).
    ``start_from`` (an adapter of the same LoRA shape, e.g. the DPO stage of this round) gives
    the trained weights their starting values after the reference is set up, so training
    continues from it while the reference stays `init_adapter` (or the base model).
    ``on_trained`` is called with the trained PEFT model before it is freed (for tests).
    """
    args = args or TrainingArgs()
    validate_rows(method, rows)
    check_qlora(args)
    cuda = _use_cuda(args)
    output_dir = Path(output_dir)
    ckpt_dir = output_dir / "checkpoints"
    final_dir = output_dir / "adapter"
    resume_from = _last_checkpoint(ckpt_dir) if args.resume else None
    if not args.resume and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)  # a fresh run must not mix with an old one's checkpoints
    output_dir.mkdir(parents=True, exist_ok=True)

    import datasets
    import torch
    from peft import LoraConfig, PeftModel
    from transformers import set_seed

    set_seed(args.seed)
    datasets.disable_progress_bars()  # our progress callback is the one progress display
    tokenizer = load_tokenizer(base_model_dir)
    model: CausalLM = load_base(base_model_dir, cuda=cuda, qlora=args.qlora)
    peft_config = None
    if init_adapter is not None:
        model = PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
    else:
        peft_config = LoraConfig(
            r=args.lora_r,
            lora_alpha=args.lora_alpha,
            lora_dropout=args.lora_dropout,
            target_modules=list(args.lora_targets),
            task_type="CAUSAL_LM",
        )
    dataset = datasets.Dataset.from_list([dict(r) for r in rows])
    config_kw = _config_kwargs(method, args, cuda, ckpt_dir)
    started = time.monotonic()
    callbacks = [_progress_bridge(progress_callback, started)] if progress_callback else []

    if method == "sft":
        from trl.trainer.sft_config import SFTConfig
        from trl.trainer.sft_trainer import SFTTrainer

        trainer: SFTTrainer | DPOTrainer | KTOTrainer = SFTTrainer(
            model=model,
            args=SFTConfig(**config_kw),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    elif method == "dpo":
        from trl.trainer.dpo_config import DPOConfig
        from trl.trainer.dpo_trainer import DPOTrainer

        trainer = DPOTrainer(
            model=model,
            args=DPOConfig(**config_kw),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    else:
        from trl.trainer.kto_config import KTOConfig
        from trl.trainer.kto_trainer import KTOTrainer

        if args.batch_size < 2:
            raise TrainingError("KTO needs batch_size >= 2 (its KL term mixes samples)")
        trainer = KTOTrainer(
            model=model,
            args=KTOConfig(**config_kw),
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )

    if start_from is not None:
        _load_trained_weights(trainer.model, start_from)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # progress goes through our callback, not stdout
    out = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    log_history = list(trainer.state.log_history)

    if not trainer.accelerator.is_main_process:
        # Multi-GPU (`accelerate launch`): rank 0 alone writes the adapter and the report.
        trainer.accelerator.wait_for_everyone()
        steps = int(trainer.state.global_step)
        return TrainResult(final_dir, {"method": method, "steps": steps}, log_history, None)
    # Only the trained adapter ("default"), not TRL's frozen "ref" copy; written beside the
    # target and renamed, so a crash never leaves a half adapter that looks finished.
    tmp = output_dir / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    peft_model = trainer.accelerator.unwrap_model(trainer.model)
    if on_trained is not None:
        on_trained(peft_model)
    peft_model.save_pretrained(str(tmp), selected_adapters=["default"])
    metrics = {
        "method": method,
        "train_loss": out.training_loss,
        "steps": int(trainer.state.global_step),
        "train_samples": len(rows),
        "runtime_s": round(time.monotonic() - started, 2),
        "device": "cuda" if cuda else "cpu",
        "init_adapter": str(init_adapter) if init_adapter else None,
        "resumed_from": str(resume_from) if resume_from else None,
        **_last_values(log_history),
    }
    meta = {"method": method, "base_model": str(base_model_dir), "args": asdict(args), **metrics}
    (tmp / ADAPTER_META).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    fsync_tree(tmp)
    if final_dir.exists():
        shutil.rmtree(final_dir)
    os.replace(tmp, final_dir)
    (output_dir / "metrics.json").write_text(
        json.dumps({"metrics": metrics, "log_history": log_history}, indent=2, default=str),
        encoding="utf-8",
    )
    plot = plot_curves(log_history, output_dir / "loss.png", title=f"{method.upper()} training")
    trainer.accelerator.wait_for_everyone()
    del trainer, model, peft_model
    if cuda:
        torch.cuda.empty_cache()
    return TrainResult(final_dir, metrics, log_history, plot)


def _load_trained_weights(model: object, adapter: Path) -> None:
    """`adapter`'s weights into the trained ("default") adapter only. The trainer has already
    made its frozen reference (TRL copies "default" into "ref" when it wraps a loaded adapter,
    and disables the adapter when it made a fresh one), so the reference is left as it was."""
    from peft import PeftModel
    from peft.utils import load_peft_weights, set_peft_model_state_dict

    if not isinstance(model, PeftModel):
        raise TrainingError(f"cannot continue from {adapter}: the model has no LoRA adapter")
    # torch's (missing_keys, unexpected_keys); PEFT annotates it as a bare namedtuple
    missing, unexpected = cast(
        tuple[list[str], list[str]],
        set_peft_model_state_dict(model, load_peft_weights(str(adapter)), "default"),
    )
    unset = [k for k in missing if ".default." in k]
    if unexpected or unset:
        raise TrainingError(
            f"{adapter} does not fit the adapter being trained ({len(unexpected)} of its "
            f"weights have no place in it, {len(unset)} of the adapter's are not in it)"
        )


def _last_values(log_history: list[dict[str, Any]]) -> dict[str, Any]:
    """The last logged value of each interesting metric, plus the first loss."""
    keys = ("loss", "rewards/accuracies", "rewards/margins", "logps/chosen", "kl")
    out: dict[str, Any] = {}
    losses = [h["loss"] for h in log_history if "loss" in h]
    if losses:
        out["first_loss"] = losses[0]
        out["last_loss"] = losses[-1]
    for h in log_history:
        for k in keys[1:]:
            if k in h:
                out[k.replace("/", "_")] = h[k]
    return out


def fsync_tree(root: Path) -> None:
    """Flush every file under `root`, then `root` itself, to disk."""
    for p in root.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
    fsync_dir(root)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def plot_curves(log_history: list[dict[str, Any]], path: Path, *, title: str) -> Path | None:
    """Loss (and reward accuracy when logged) against step, as a PNG; None if nothing logged."""
    pts = [(h["step"], h["loss"]) for h in log_history if "loss" in h and "step" in h]
    if not pts:
        return None
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on a server or in tests
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot([s for s, _ in pts], [v for _, v in pts], color="tab:blue", label="loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    acc = [(h["step"], h["rewards/accuracies"]) for h in log_history if "rewards/accuracies" in h]
    if acc:
        ax2 = ax.twinx()
        ax2.plot([s for s, _ in acc], [v for _, v in acc], color="tab:orange", label="reward acc")
        ax2.set_ylabel("reward accuracy")
        ax2.set_ylim(0, 1.05)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def summarize_curve(log_history: list[dict[str, Any]], width: int = 40) -> str:
    """A one-line terminal sparkline of the loss, first and last values.

    >>> summarize_curve([{"loss": 1.0, "step": 1}, {"loss": 0.5, "step": 2}])
    'loss 1.000 → 0.500  █▁'
    """
    losses = [h["loss"] for h in log_history if "loss" in h]
    if not losses:
        return "no loss logged"
    bars = "▁▂▃▄▅▆▇█"
    if len(losses) > width:
        step = len(losses) / width
        losses_s = [losses[int(i * step)] for i in range(width)]
    else:
        losses_s = losses
    lo, hi = min(losses_s), max(losses_s)
    span = hi - lo or 1.0
    spark = "".join(bars[min(7, int((v - lo) / span * 7))] for v in losses_s)
    if any(math.isnan(v) for v in losses):
        spark += " (NaN!)"
    return f"loss {losses[0]:.3f} → {losses[-1]:.3f}  {spark}"
