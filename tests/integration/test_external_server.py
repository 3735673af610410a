"""Everything works against an external OpenAI-compatible server (server.url)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedback.repo import open_store

pytestmark = pytest.mark.vllm


def _external_env(vllm_server, home: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        **os.environ,
        "COMPANION_HOME": str(home),
        "COMPANION_SERVER__URL": vllm_server.base_url,
        "COMPANION_SERVER__API_KEY": vllm_server.api_key,
        "COMPANION_MODEL__SERVED_NAME": vllm_server.model,
    }


def test_ask_json_through_external_url_is_recorded(vllm_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    env = _external_env(vllm_server, home)
    run = subprocess.run(
        [sys.executable, "-m", "companion.cli", "ask", "Say hello in five words.", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["text"].strip()
    store = open_store(f"sqlite:///{home / 'data' / 'companion.db'}")
    [conversation] = store.list_conversations()
    roles = [m.role for m in store.messages(conversation.id)]
    assert roles == ["user", "assistant"]
    status = subprocess.run(
        [sys.executable, "-m", "companion.cli", "serve", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0 and "external server" in status.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "companion.cli", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "server.url is set" in refused.stderr
