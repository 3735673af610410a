"""The default persona's adapter, trained in the background while the first chat runs.

On a fresh machine the chat opens as soon as the server is ready on the base model. The
starter adapter (`align.bootstrap`) trains meanwhile in `companion model setup --nice`, a
low-priority process of its own, which registers, merges and activates it and hot-swaps it
into the running server itself. Replies until then come from the base model and are stored
with the version that made them. The app learns what came of it through the same `poll()`
as the background retrain, so this wraps the `LearningLoop` and adds its own notices.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable

from align.autoloop import LearningLoop, Notice, Process
from companion.config import Config
from feedback.repo import Store

LOG_NAME = "persona-adapter.log"
Launch = Callable[[], Process]


def launch_persona_training(config: Config) -> Launch:
    """A launcher for `companion model setup --nice`, its output in logs/persona-adapter.log."""

    def launch() -> Process:
        config.paths.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(config.paths.logs_dir / LOG_NAME, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "companion.cli", "model", "setup", "--nice"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
                # Its own session: quitting the chat does not stop the training.
                start_new_session=True,
            )

    return launch


def persona_training_due(config: Config, store: Store) -> bool:
    """Whether this machine still needs the starter adapter (embedded model, not skipped,
    never trained before: a user who rolled back to the base keeps the base)."""
    from align.bootstrap import starter_version

    if config.model.base or config.server.url or not config.model.persona_adapter:
        return False
    return starter_version(store) is None


class WithPersonaTraining:
    """A `LearningLoop` plus the background starter-adapter job and its notices."""

    def __init__(
        self,
        loop: LearningLoop,
        config: Config,
        store: Store,
        *,
        launch: Launch | None = None,
        served_adapter: Callable[[], str | None] | None = None,
    ) -> None:
        self.loop = loop
        self.config = config
        self.store = store
        self._launch = launch or launch_persona_training(config)
        self._served_adapter = served_adapter or self._server_adapter
        self._process: Process | None = None
        self._notices: deque[Notice] = deque()

    def start(self) -> bool:
        """Launch the training when it is due; True when it started."""
        if self._process is not None or not persona_training_due(self.config, self.store):
            return False
        self._process = self._launch()
        self._notices.append(
            Notice(
                "Your companion's persona is being trained in the background (about 4 "
                "minutes); until then replies come from the base model. You will be told "
                "when it is live."
            )
        )
        return True

    # -- the LearningLoop shape the app uses --------------------------------------------------

    @property
    def retraining(self) -> bool:
        return self._process is not None or bool(self._notices) or self.loop.retraining

    def feedback_recorded(self) -> bool:
        return self.loop.feedback_recorded()

    def build_pairs(self, conversation_id: int | None) -> int:
        return self.loop.build_pairs(conversation_id)

    def maybe_retrain(self) -> Notice | None:
        # One training at a time on these cores: retrain.auto waits for the persona adapter.
        return None if self._process is not None else self.loop.maybe_retrain()

    def poll(self) -> Notice | None:
        if self._process is not None and self._process.poll() is not None:
            self._notices.append(self._outcome())
            self._process = None
        if self._notices:
            return self._notices.popleft()
        return self.loop.poll()

    # -- what came of it --------------------------------------------------------------------

    def _outcome(self) -> Notice:
        from align.bootstrap import starter_version

        log = self.config.paths.logs_dir / LOG_NAME
        version = starter_version(self.store)
        if version is None:
            return Notice(
                "The persona adapter was not trained; chatting with the base model goes on. "
                f"`companion model setup` tries again (log: {log}).",
                "warning",
            )
        active = self.store.active_adapter()
        if active is None or active.version != version.version:
            return Notice(f"Persona adapter {version.version} is trained (not active).")
        if self._served_adapter() == f"companion-{version.version}":
            return Notice(f"Your companion's persona is live ({version.version}).")
        return Notice(
            f"Persona adapter {version.version} is trained; it goes live when the server "
            f"restarts (log: {log}).",
            "warning",
        )

    def _server_adapter(self) -> str | None:
        from companion.server import ServerManager

        state = ServerManager(self.config).state()
        return state.adapter if state is not None else None
