"""Small UI state kept between runs (first-run acceptance, last conversation), as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class UiState:
    accepted: bool = False
    """The user saw the welcome (AI disclosure) and confirmed they are 18 or over."""
    last_conversation: int | None = None
    last_leaf: int | None = None


def load(path: Path) -> UiState:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UiState()
    known = UiState.__dataclass_fields__
    return UiState(**{k: v for k, v in data.items() if k in known})


def save(path: Path, state: UiState) -> None:
    """Atomic write (tmp + rename) so a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state)), encoding="utf-8")
    os.chmod(tmp, 0o600)
    tmp.replace(path)
