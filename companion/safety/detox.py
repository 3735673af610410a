"""Toxicity classifiers: Detoxify when its weights can be had, an offline fallback otherwise.

Weights are looked for, in order: the configured checkpoint, the copy `companion safety
install` stored in the data dir, the torch hub cache, and a download when the machine is
online. Whatever is used says so in ``mode`` ("detoxify" or "fallback") and ``detail``, so a
degraded state is shown (doctor, status bar), never silent. The fallback lives in
:mod:`companion.safety.fallback` (re-exported here).

Offline loading: Detoxify builds the model with ``config_class.from_pretrained(model_type)``,
``model_type`` being a hub id such as ``bert-base-uncased`` read from the checkpoint, with no
``local_files_only``, even when a local config folder is given. We load the checkpoint
ourselves and point ``model_type`` at the local folder (config + tokenizer saved by
`install`), then hand it to Detoxify's own model builder, so the hub is never asked.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from companion.config import SafetyConfig
from companion.paths import Paths
from companion.safety.fallback import FallbackClassifier as FallbackClassifier
from companion.safety.semantic import SemanticLayer

LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
# Detoxify renames the Jigsaw class names to these (see detoxify.load_checkpoint).
_RENAME = {
    "toxic": "toxicity",
    "identity_hate": "identity_attack",
    "severe_toxic": "severe_toxicity",
}
CHECKPOINT_FILES = {
    "original": "toxic_original-c1212f89.ckpt",
    "unbiased": "toxic_debiased-c7548aa0.ckpt",
    "multilingual": "multilingual_debiased-0b549669.ckpt",
}
_ARCH_KEYS = {"model_type", "model_name", "tokenizer_name", "num_classes"}


class SafetyModelError(Exception):
    """A Detoxify checkpoint problem, phrased as one line."""


class Classifier(Protocol):
    mode: str
    """"detoxify" or "fallback"."""
    detail: str
    """Where the weights came from, or why the fallback is in use."""

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


# --- Detoxify ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Located:
    checkpoint: Path
    hf_dir: Path | None
    source: str


def hf_dir_for(checkpoint: Path) -> Path:
    """Where `install` keeps a checkpoint's Hugging Face config and tokenizer."""
    return checkpoint.with_name(checkpoint.stem + "-hf")


def torch_hub_checkpoints() -> Path:
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def locate(cfg: SafetyConfig, paths: Paths) -> list[Located]:
    """Existing checkpoints in resolution order (config, data dir, torch hub cache)."""
    name = CHECKPOINT_FILES[cfg.detoxify_variant]
    hf = Path(cfg.detoxify_hf_config).expanduser() if cfg.detoxify_hf_config else None
    out: list[Located] = []
    if cfg.detoxify_checkpoint:
        ck = Path(cfg.detoxify_checkpoint).expanduser()
        if not ck.is_file():
            raise SafetyModelError(f"safety.detoxify_checkpoint: {ck} does not exist")
        out.append(Located(ck, hf or _if_dir(hf_dir_for(ck)), "config"))
    stored = paths.safety_dir / name
    if stored.is_file():
        out.append(Located(stored, hf or _if_dir(hf_dir_for(stored)), "installed"))
    cached = torch_hub_checkpoints() / name
    if cached.is_file():
        out.append(Located(cached, hf or _if_dir(hf_dir_for(stored)), "torch hub cache"))
    return out


def _if_dir(p: Path) -> Path | None:
    return p if p.is_dir() else None


def _read_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    try:
        # Detoxify checkpoints are Lightning pickles holding a config dict next to the weights.
        loaded = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many kinds for a bad file
        raise SafetyModelError(f"{path}: not a readable checkpoint ({type(e).__name__})") from e
    try:
        args = loaded["config"]["arch"]["args"]
        loaded["config"]["dataset"]["args"]["classes"]
        loaded["state_dict"]
    except (KeyError, TypeError) as e:
        raise SafetyModelError(f"{path}: not a Detoxify checkpoint (no config/state_dict)") from e
    if set(args) != _ARCH_KEYS:
        raise SafetyModelError(f"{path}: arch.args must be exactly {sorted(_ARCH_KEYS)}")
    return dict(loaded)


def load_detoxify(
    checkpoint: Path, hf_dir: Path | None, device: str = "cpu", *, int8: bool = False
) -> Any:
    """A `detoxify.Detoxify` built through Detoxify's own model builder, offline when
    `hf_dir` holds the config and tokenizer. `int8` (CPU): dynamic int8 quantization of the
    Linear layers, about four times as fast per sentence (docs/benchmarks.md, section safety)."""
    from detoxify import Detoxify
    from detoxify.detoxify import get_model_and_tokenizer

    loaded = _read_checkpoint(checkpoint)
    args = dict(loaded["config"]["arch"]["args"])
    if hf_dir is not None:
        args["model_type"] = str(hf_dir)  # the workaround: no hub lookup for the config class
    try:
        model, tokenizer = get_model_and_tokenizer(
            **args,
            state_dict=loaded["state_dict"],
            huggingface_config_path=str(hf_dir) if hf_dir is not None else None,
        )
    except OSError as e:
        raise SafetyModelError(
            f"{checkpoint}: its config/tokenizer is not available offline; run "
            "`companion safety install`"
        ) from e
    classes = [_RENAME.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]

    class _Loaded(Detoxify):  # type: ignore[misc]
        def __init__(self) -> None:  # the weights are loaded already: skip Detoxify's loader
            self.model, self.tokenizer, self.class_names, self.device = (
                model,
                tokenizer,
                classes,
                device,
            )
            self.model.to(device)
            self.model.eval()

    if int8 and device == "cpu":
        model = quantize_int8(model)
    return _Loaded()


def quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantization (weights int8, activations quantized per batch) of every
    Linear layer: PyTorch's fbgemm/oneDNN kernels, no calibration data needed."""
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # Deprecated in favour of torchao, whose CPU int8 path needs torch.compile to be fast.
        warnings.simplefilter("ignore")
        return quantize_dynamic(  # type: ignore[no-untyped-call]
            model.eval(), {torch.nn.Linear}, dtype=torch.qint8
        )


@dataclass
class DetoxifyClassifier:
    model: Any
    detail: str
    mode: str = "detoxify"
    threads: int = 1
    """torch threads while classifying. One: the vLLM server busy-waits on the same cores
    while it generates, and two OpenMP threads fighting it measured 3-8x slower (bench)."""

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            raw = self.model.predict(list(texts))
        finally:
            torch.set_num_threads(before)
        # Detoxify squeezes a batch of one to plain floats.
        cols = {k: v if isinstance(v, list) else [v] for k, v in raw.items()}
        return [{k: float(cols[k][i]) for k in cols} for i in range(len(texts))]


# --- resolution, install -----------------------------------------------------------------


def online(host: str = "github.com", port: int = 443, timeout: float = 1.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def load_classifier(
    cfg: SafetyConfig,
    paths: Paths,
    *,
    download: bool = False,
    semantic: SemanticLayer | None = None,
) -> Classifier:
    """The best classifier available; never raises. `download`: fetch and store Detoxify's
    weights when none are found and the machine is online (slow: ~400 MB). `semantic`: the
    layer the fallback uses (None: the process-wide one)."""
    problems: list[str] = []
    try:
        found = locate(cfg, paths)
    except SafetyModelError as e:
        found, problems = [], [str(e)]
    for loc in found:
        try:
            model = load_detoxify(loc.checkpoint, loc.hf_dir, int8=cfg.detoxify_int8)
            return DetoxifyClassifier(model, _detail(loc.checkpoint, loc.source, cfg))
        except SafetyModelError as e:
            problems.append(str(e))
    if download and online():
        try:
            ck, hf = install(paths.safety_dir, cfg.detoxify_variant)
            model = load_detoxify(ck, hf, int8=cfg.detoxify_int8)
            return DetoxifyClassifier(model, _detail(ck, "downloaded", cfg))
        except (SafetyModelError, OSError) as e:
            problems.append(f"download failed: {e}")
    reason = problems[0] if problems else "no Detoxify weights; run `companion safety install`"
    return FallbackClassifier(detail=reason, semantic=semantic)


def _detail(checkpoint: Path, source: str, cfg: SafetyConfig) -> str:
    return f"{checkpoint} ({source}{', int8' if cfg.detoxify_int8 else ''})"


def install(
    dest: Path, variant: str = "original", *, source: Path | None = None
) -> tuple[Path, Path]:
    """Store a Detoxify checkpoint and its HF config+tokenizer in `dest` for offline use.

    `source`: a local .ckpt to copy (else the torch hub cache, else a download). The config
    and tokenizer come from the Hugging Face hub, so this needs the network once, unless
    they are already in the local HF cache. Returns (checkpoint, hf_dir)."""
    import torch
    import transformers

    dest.mkdir(parents=True, exist_ok=True)
    target = dest / CHECKPOINT_FILES[variant]
    cached = torch_hub_checkpoints() / CHECKPOINT_FILES[variant]
    src = source or (cached if cached.is_file() else None)
    if not target.is_file():
        with tempfile.NamedTemporaryFile(dir=dest, suffix=".part", delete=False) as tmp:
            part = Path(tmp.name)
        try:
            if src is not None:
                shutil.copyfile(src, part)
            else:
                from detoxify.detoxify import MODEL_URLS

                torch.hub.download_url_to_file(MODEL_URLS[variant], str(part), progress=True)
            _read_checkpoint(part)  # refuse to store something Detoxify cannot load
            part.replace(target)  # atomic: a half download never looks installed
        finally:
            part.unlink(missing_ok=True)
    args = _read_checkpoint(target)["config"]["arch"]["args"]
    hf = hf_dir_for(target)
    if not (hf / "config.json").is_file():
        model_class = getattr(transformers, args["model_name"])
        cfg = model_class.config_class.from_pretrained(
            args["model_type"], num_labels=args["num_classes"]
        )
        tok = getattr(transformers, args["tokenizer_name"]).from_pretrained(args["model_type"])
        tmp_dir = Path(tempfile.mkdtemp(dir=dest, prefix=".hf-"))
        try:
            cfg.save_pretrained(tmp_dir)
            tok.save_pretrained(tmp_dir)
            if hf.exists():
                shutil.rmtree(hf)
            tmp_dir.replace(hf)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return target, hf
