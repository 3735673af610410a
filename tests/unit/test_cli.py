"""The CLI's own commands, run in-process (heavy parts are exercised in tests/integration)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from companion import __version__
from companion.cli import app

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"companion {__version__}"


@pytest.mark.parametrize(
    "command",
    [[], ["chat"], ["config"], ["config", "show"], ["model", "use"], ["serve"], ["doctor"]],
)
def test_help_everywhere(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = (
        "import sys; from companion.cli import app; "
        "print(','.join(m for m in ('torch','vllm','textual','transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_config_path_creates_commented_file(companion_home: Path) -> None:
    result = invoke("config", "path")
    assert result.exit_code == 0
    path = Path(result.stdout.strip())
    assert path == companion_home / "config" / "config.toml"
    assert path.read_text().startswith("# companion configuration")


def test_config_show_json_names_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_CHAT__N_ALTERNATIVES", "2")
    result = invoke("config", "show", "--json")
    data = json.loads(result.stdout)
    assert data["chat.n_alternatives"] == {
        "value": 2,
        "source": "env COMPANION_CHAT__N_ALTERNATIVES",
    }
    assert data["server.port"]["source"] == "default"


def test_bad_config_is_one_line_exit_1(companion_home: Path) -> None:
    file = companion_home / "config" / "config.toml"
    file.parent.mkdir(parents=True)
    file.write_text("[chat]\nn_alternatives = 99\n")
    out = subprocess.run(
        [sys.executable, "-m", "companion.cli", "config", "show"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith("companion: error: ")
    assert "config.toml:2: chat.n_alternatives" in out.stderr
    assert "Traceback" not in out.stderr


def test_model_use_validates_and_writes_config(tmp_path: Path, companion_home: Path) -> None:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "companion.cli", "model", "use", str(ckpt)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and "has no config.json" in out.stderr
    (ckpt / "config.json").write_text("{}")
    assert invoke("model", "use", str(ckpt)).exit_code == 0
    assert invoke("config", "show", "--json").stdout.count(str(ckpt)) == 1
    assert invoke("model", "use", "HuggingFaceTB/SmolLM2-360M-Instruct").exit_code == 0
    data = json.loads(invoke("config", "show", "--json").stdout)
    assert data["model.base"]["value"] == "HuggingFaceTB/SmolLM2-360M-Instruct"
    assert invoke("model", "use", "default").exit_code == 0
    assert json.loads(invoke("config", "show", "--json").stdout)["model.base"]["value"] == ""


def test_serve_status_when_nothing_runs_exits_3() -> None:
    result = invoke("serve", "status")
    assert result.exit_code == 3 and "not running" in result.stdout


def test_serve_stop_when_nothing_runs() -> None:
    result = invoke("serve", "stop")
    assert result.exit_code == 0 and "no server was running" in result.stdout


def test_doctor_names_fixes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A base model that is set but the server down: the server line must say how to fix it.
    result = invoke("doctor")
    lines = result.stdout.splitlines()
    assert any(ln.startswith("[ok  ] config") for ln in lines)
    assert any(ln.startswith("[ok  ] database") for ln in lines)
    server_line = next(i for i, ln in enumerate(lines) if "] server:" in ln)
    assert lines[server_line + 1].strip() == "fix: companion serve"
    safety = next(ln for ln in lines if "] safety weights:" in ln)
    assert safety.startswith("[warn]") and "fallback" in safety


def test_doctor_fails_on_bad_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPANION_DATABASE__URL", "postgresql+psycopg://u:secret@127.0.0.1:1/x")
    result = invoke("doctor")
    assert result.exit_code == 3
    line = next(ln for ln in result.stdout.splitlines() if "] database:" in ln)
    assert line.startswith("[FAIL]") and "secret" not in result.stdout


def test_model_setup_fails_when_the_persona_adapter_cannot_be_trained(config) -> None:
    """A broken checkpoint makes the training fail for real, and `model setup` (which the
    chat runs in the background) exits with it; nothing is registered."""
    from companion import model_setup
    from companion.cli import commands as cli
    from feedback.repo import open_store

    dest = config.paths.embedded_model_dir
    dest.mkdir(parents=True)
    (dest / "config.json").write_text("{not json", encoding="utf-8")
    (dest / model_setup.MARKER).write_text("", encoding="utf-8")

    cli._setup_embedded(config, quiet=True, persona_adapter=False)  # the chat's part: no training
    assert open_store(config.database_url).list_adapter_versions() == []
    with pytest.raises(Exception):  # noqa: B017 - whatever transformers raises for it
        cli._setup_embedded(config)
    assert open_store(config.database_url).list_adapter_versions() == []


def test_chat_process_never_imports_triton() -> None:
    """torch._dynamo probes for triton when transformers loads; in the chat that import left
    nanobind's leak report on the terminal at every exit."""
    code = (
        "import sys; from companion.cli.commands import block_triton; block_triton(); "
        "import torch, transformers; from transformers import AutoTokenizer; "
        "import torch.utils._triton as t; "
        "print(type(sys.modules.get('triton')).__name__, t.has_triton_package())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["NoneType", "False"]
    assert "leaked" not in out.stderr
