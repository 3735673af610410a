"""Versioned adapters on disk (``<data>/adapters/vNNN``) and in the store; promotion, rollback,
merge and export.

Installing copies a finished run's adapter into a temp dir beside the registry, fsyncs it and
renames it to its version: a version directory either holds a whole adapter or does not exist.
Promotion is one database transaction (`Store.set_active_adapter`), so readers see the old or
the new active adapter, never none or two. Files of older versions stay, so rollback is only
a database update.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from align.train import ADAPTER_META, fsync_dir, fsync_tree, load_base, load_tokenizer
from feedback.models import AdapterVersion
from feedback.repo import Store

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedTokenizerBase

    from align.train import CausalLM

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
MERGED_MARKER = "companion-merged.json"
_VERSION_RE = re.compile(r"^v(\d+)$")
VERIFY_PROMPT = [{"role": "user", "content": "Hi! How are you today?"}]


class AdapterError(RuntimeError):
    """An adapter problem phrased as one line for the user."""


def is_adapter_dir(path: Path) -> bool:
    return all((path / f).is_file() for f in ADAPTER_FILES)


def _reason(e: Exception) -> str:
    text = (e.strerror if isinstance(e, OSError) and e.strerror else str(e)).lower()
    return "no space left on device" if "no space left on device" in text else text


def _json_problem(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{path.name} is missing"
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return f"{path.name} is unreadable ({type(e).__name__})"
    return None if isinstance(data, dict) else f"{path.name} is not a JSON object"


def _safetensors_problem(path: Path) -> str | None:
    from safetensors import SafetensorError, safe_open

    try:
        # The header check covers truncation: every tensor's bytes must lie inside the file.
        with safe_open(str(path), framework="numpy") as f:
            if not list(f.keys()):
                return f"{path.name} holds no tensors"
    except FileNotFoundError:
        return f"{path.name} is missing"
    except (OSError, SafetensorError) as e:
        return f"{path.name} is damaged ({str(e).split(':')[-1].strip() or 'unreadable'})"
    return None


def adapter_problem(path: Path) -> str | None:
    """Why the LoRA adapter folder at `path` cannot be served, or None when it can."""
    if not path.is_dir():
        return "the folder is missing"
    return _json_problem(path / "adapter_config.json") or _safetensors_problem(
        path / "adapter_model.safetensors"
    )


def checkpoint_problem(path: Path) -> str | None:
    """Why the merged checkpoint at `path` cannot be served, or None when it can."""
    if not path.is_dir():
        return "the folder is missing"
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        return "no *.safetensors weights"
    for problem in (_json_problem(path / "config.json"), *map(_safetensors_problem, weights)):
        if problem:
            return problem
    return None


def version_number(version: str) -> int | None:
    m = _VERSION_RE.match(version)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class VersionInfo:
    version: str
    path: Path
    kind: str
    active: bool
    parent_version: str | None
    metrics: dict[str, Any]
    merged_path: Path | None
    created_at: datetime | None = None

    @classmethod
    def of(cls, row: AdapterVersion) -> VersionInfo:
        return cls(
            version=row.version,
            path=Path(row.path),
            kind=row.kind,
            active=bool(row.active),
            parent_version=row.parent_version,
            metrics=dict(row.metrics or {}),
            merged_path=Path(row.merged_path) if row.merged_path else None,
            created_at=row.created_at,
        )


class AdapterRegistry:
    """Adapter versions: files under `root`, rows in `store`."""

    def __init__(self, root: Path, store: Store) -> None:
        self.root = Path(root)
        self.store = store

    def next_version(self) -> str:
        """``v001``, ``v002``, ...: one more than any version on disk or in the store."""
        nums = [version_number(p.name) for p in self.root.glob("v*")] if self.root.exists() else []
        nums += [version_number(r.version) for r in self.store.list_adapter_versions()]
        return f"v{max([n for n in nums if n is not None], default=0) + 1:03d}"

    def install(
        self,
        adapter_dir: Path,
        *,
        kind: str,
        parent_version: str | None = None,
        metrics: dict[str, Any] | None = None,
        training_run_id: int | None = None,
    ) -> VersionInfo:
        """Copy a finished adapter in as a new (inactive) version, atomically."""
        if not is_adapter_dir(adapter_dir):
            raise AdapterError(
                f"{adapter_dir} is not a LoRA adapter (no {', '.join(ADAPTER_FILES)})"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        version = self.next_version()
        dest = self.root / version
        tmp = self.root / f".{version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            shutil.copytree(adapter_dir, tmp)
            fsync_tree(tmp)
            os.replace(tmp, dest)
            fsync_dir(self.root)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise AdapterError(
                f"cannot save adapter {version} in {self.root}: {_reason(e)}; free some space, "
                "then run `companion retrain --resume`"
            ) from e
        row = self.store.add_adapter_version(
            version,
            dest,
            kind=kind,
            parent_version=parent_version,
            metrics=jsonable(metrics or {}),
            training_run_id=training_run_id,
        )
        return VersionInfo.of(row)

    def promote(self, version: str) -> VersionInfo:
        """Make `version` the active adapter (one transaction)."""
        info = self.get(version)
        if not is_adapter_dir(info.path):
            raise AdapterError(f"adapter {version}: files missing under {info.path}")
        row = self.store.set_active_adapter(version)
        assert row is not None  # `get` found it
        return VersionInfo.of(row)

    def active(self) -> VersionInfo | None:
        row = self.store.active_adapter()
        return VersionInfo.of(row) if row else None

    def get(self, version: str) -> VersionInfo:
        row = self.store.get_adapter_version(version)
        if row is None:
            known = ", ".join(r.version for r in self.store.list_adapter_versions()) or "none"
            raise AdapterError(f"no adapter version {version} (known: {known})")
        return VersionInfo.of(row)

    def list(self) -> list[VersionInfo]:
        return [VersionInfo.of(r) for r in self.store.list_adapter_versions()]

    def rollback(self, version: str | None = None) -> VersionInfo | None:
        """Activate `version`, or the active one's parent (None = the base model).

        With no version and no parent, the version registered before the active one is used.
        """
        if version is not None:
            if version in ("base", "none"):
                self.store.set_active_adapter(None)
                return None
            return self.promote(version)
        current = self.active()
        if current is None:
            raise AdapterError("no adapter is active; nothing to roll back")
        target = current.parent_version
        if target is None:
            older = [v for v in self.list() if v.version != current.version]
            older = [
                v
                for v in older
                if (version_number(v.version) or 0) < (version_number(current.version) or 0)
            ]
            target = older[-1].version if older else None
        if target is None:
            self.store.set_active_adapter(None)
            return None
        return self.promote(target)

    def set_merged(self, version: str, merged_dir: Path) -> None:
        self.store.update_adapter_version(version, merged_path=merged_dir)


def jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """`d` as it reads back from JSON (paths and other objects as strings)."""
    out: dict[str, Any] = json.loads(json.dumps(d, default=str))
    return out


# ---- merge and export ---------------------------------------------------------------------


def _greedy(
    model: CausalLM, tokenizer: PreTrainedTokenizerBase, max_new_tokens: int = 16
) -> list[int]:
    import torch
    from transformers import BatchEncoding

    enc = tokenizer.apply_chat_template(
        VERIFY_PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    assert isinstance(enc, BatchEncoding)  # return_dict=True
    with torch.no_grad():
        out = model.generate(  # type: ignore[operator]  # (transformers 5: not on PreTrainedModel)
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
    ids: list[int] = out[0, enc["input_ids"].shape[1] :].tolist()
    return ids


def _load_peft(
    base_model_dir: Path, adapter_dir: Path
) -> tuple[PeftModel, PreTrainedTokenizerBase]:
    from peft import PeftModel

    tok = load_tokenizer(base_model_dir)
    model = PeftModel.from_pretrained(load_base(base_model_dir, cuda=False), str(adapter_dir))
    model.eval()
    return model, tok


def merge_adapter(
    base_model_dir: Path, adapter_dir: Path, out_dir: Path, *, verify: bool = True
) -> Path:
    """Merge `adapter_dir` into the base and write a plain HF checkpoint at `out_dir`.

    The checkpoint carries the tokenizer and chat template, so vLLM serves it without LoRA.
    With `verify`, it is loaded back and must give the same greedy tokens as base+adapter.
    """
    from safetensors import SafetensorError

    if not is_adapter_dir(adapter_dir):
        raise AdapterError(f"{adapter_dir} is not a LoRA adapter")
    model, tok = _load_peft(base_model_dir, adapter_dir)
    expected = _greedy(model, tok) if verify else None
    merged = model.merge_and_unload()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        merged.save_pretrained(str(tmp), safe_serialization=True)
        tok.save_pretrained(str(tmp))
        meta = {"base_model": str(base_model_dir), "adapter": str(adapter_dir)}
        (tmp / MERGED_MARKER).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        del model, merged
        if verify and verify_checkpoint(tmp) != expected:
            raise AdapterError(
                "merged checkpoint does not reproduce base+adapter output; not written"
            )
        fsync_tree(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except (OSError, SafetensorError) as e:  # safetensors reports a full disk as its own
        raise AdapterError(
            f"cannot write the merged checkpoint in {out_dir.parent}: {_reason(e)}; "
            "free some space; without it the adapter is served as runtime LoRA"
        ) from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def verify_checkpoint(model_dir: Path) -> list[int]:
    """Load a full checkpoint back and return its greedy tokens for the verify prompt."""
    import torch
    from transformers import AutoModelForCausalLM

    tok = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.eval()  # type: ignore[no-untyped-call]
    return _greedy(model, tok)


def export_adapter(
    base_model_dir: Path, adapter_dir: Path, out_dir: Path, *, verify: bool = True
) -> Path:
    """Copy the adapter alone to `out_dir`; with `verify`, load it back onto the base and
    check it generates the same greedy tokens as the source adapter."""
    if not is_adapter_dir(adapter_dir):
        raise AdapterError(f"{adapter_dir} is not a LoRA adapter")
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in [*ADAPTER_FILES, ADAPTER_META, "README.md"]:
        if (adapter_dir / f).is_file():
            shutil.copy2(adapter_dir / f, tmp / f)
    if verify:
        a, tok = _load_peft(base_model_dir, adapter_dir)
        b, _ = _load_peft(base_model_dir, tmp)
        if _greedy(a, tok) != _greedy(b, tok):
            shutil.rmtree(tmp, ignore_errors=True)
            raise AdapterError("exported adapter does not reproduce the source; not written")
    fsync_tree(tmp)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def describe(info: VersionInfo) -> list[tuple[str, str]]:
    """Rows for `companion adapters show`."""
    rows = [
        ("version", info.version + (" (active)" if info.active else "")),
        ("kind", info.kind),
        ("parent", info.parent_version or "base model"),
        ("path", str(info.path)),
        ("merged", str(info.merged_path) if info.merged_path else "-"),
        ("created", str(info.created_at or "-")),
    ]
    for k, v in sorted(info.metrics.items()):
        if isinstance(v, float):
            v = f"{v:.4g}"
        if isinstance(v, dict | list):
            v = json.dumps(v)[:120]
        rows.append((k, str(v)))
    return rows


def versions_table(infos: Sequence[VersionInfo]) -> list[tuple[str, str, str, str, str]]:
    """(mark, version, kind, parent, key metric) rows for `companion adapters list`."""
    out = []
    for v in infos:
        gate = v.metrics.get("gate_accuracy")
        metric = f"holdout acc {gate:.2f}" if isinstance(gate, float) else v.metrics.get("note", "")
        out.append(
            ("*" if v.active else " ", v.version, v.kind, v.parent_version or "base", str(metric))
        )
    return out
