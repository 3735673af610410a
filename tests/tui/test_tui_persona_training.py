"""The first chat opens on the base model while the persona adapter trains in the background,
and a calm notification says when it is live (the real app, driven by Pilot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from align.autoloop import LearningLoop
from align.bootstrap import STARTER_KIND
from align.starter_job import WithPersonaTraining
from companion.config import Config
from feedback.repo import open_store
from tui import state as ui_state
from tui.app import make_app

SLOW_TRAINING = """
import sys, time
time.sleep(1.5)
from feedback.repo import open_store
store = open_store(sys.argv[1])
store.add_adapter_version("v001", sys.argv[2], kind=sys.argv[3])
store.set_active_adapter("v001")
"""


async def test_chat_opens_before_the_persona_adapter_and_says_when_it_is_live(tmp_path: Path):
    config = Config(data_dir=tmp_path / "data")
    config.paths.ensure()
    store = open_store(config.database_url)
    ui_state.save(config.paths.state_file, ui_state.UiState(accepted=True))
    procs: list[subprocess.Popen[bytes]] = []

    def launch() -> subprocess.Popen[bytes]:
        args = [config.database_url, str(config.paths.adapters_dir / "v001"), STARTER_KIND]
        procs.append(subprocess.Popen([sys.executable, "-c", SLOW_TRAINING, *args]))
        return procs[-1]

    learning = WithPersonaTraining(
        LearningLoop(config, store),
        config,
        store,
        launch=launch,
        served_adapter=lambda: "companion-v001",
    )
    assert learning.start()
    app = make_app(config, store=store, learning=learning)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.screen is app.chat  # usable now, not after the training
        assert procs[0].poll() is None
        texts: list[str] = []
        for _ in range(200):
            await pilot.pause(0.05)
            texts = [n.message for n in app._notifications]
            if any("persona is live" in t for t in texts):
                break
        assert any("trained in the background" in t for t in texts), texts
        assert "Your companion's persona is live (v001)." in texts
    assert store.active_adapter().version == "v001"
