"""What the tmux fault tests share: a user's home on a held SSE model server, the terminal
the chat runs in, and the steps every case takes. Its fixtures are registered in conftest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sse_server import SSEServer
from terminal import Terminal

from companion import config as config_mod
from companion.config import Config
from feedback.repo import Store, open_store
from tui import state as ui_state

READY = r"● (ready|external)"


class Home:
    """A user's data dir, the chat's environment and a Store on the same database."""

    def __init__(self, home: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.env = {
            "COMPANION_HOME": str(home),
            "COMPANION_SERVER__URL": url,
            "COMPANION_SERVER__API_KEY": "x",
            "COMPANION_CHAT__BREAK_REMINDER_MINUTES": "0",
        }
        for k, v in self.env.items():
            monkeypatch.setenv(k, v)
        self.config: Config = config_mod.load().config
        self.config.paths.ensure()
        ui_state.save(self.config.paths.state_file, ui_state.UiState(accepted=True))
        self.store: Store = open_store(self.config.database_url)

    def messages(self) -> list[tuple[int, int | None, str, str, str]]:
        """(id, parent id, role, status, text) of every stored message, oldest first."""
        out = []
        for conv in self.store.list_conversations():
            for m in self.store.messages(conv.id):
                assert m.id is not None
                out.append((m.id, m.parent_id, m.role, m.status, m.text))
        return sorted(out)


@pytest.fixture
def held_sse() -> Iterator[SSEServer]:
    # Five sentences, held there (the kill comes then), then three more and the end.
    with SSEServer(sentences=8, hold=5, delay_s=0.03) as server:
        yield server


@pytest.fixture
def home(companion_home: Path, held_sse: SSEServer, monkeypatch: pytest.MonkeyPatch) -> Home:
    return Home(companion_home, held_sse.url, monkeypatch)


@pytest.fixture
def term(home: Home, tmp_path: Path) -> Iterator[Terminal]:
    with Terminal(home.env, tmp_path) as t:
        yield t


def focus_reply(term: Terminal) -> None:
    term.keys("C-Up")
    term.wait_for("█")  # the focused bubble's bar
    time.sleep(0.2)


def restart(term: Terminal) -> str:
    term.start()
    return term.wait_for(READY)
