"""The learning loop without a command.

Pairs are built in the background, for the conversation at hand, every
`retrain.pairs_every_events` ratings or choices and whenever a conversation ends. With
`retrain.auto`, once `retrain.auto_after_pairs` new training pairs have come in since the
last retrain, `companion retrain --nice` starts as a separate low-priority process: the chat
goes on, the retrain hot-swaps the new adapter into the server itself, and `poll()` tells the
app what happened so it can say so. The process outlives the chat, so a retrain started as
the user quits still finishes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from align.pairs import SystemPrompt
from companion.config import Config
from feedback.repo import Store


class Process(Protocol):
    def poll(self) -> int | None: ...


Launch = Callable[[], Process]


def launch_retrain(config: Config) -> Launch:
    """A launcher for `companion retrain --nice`, its output in logs/retrain-auto.log."""

    def launch() -> Process:
        config.paths.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(config.paths.logs_dir / "retrain-auto.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "companion.cli", "retrain", "--nice"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
                # Its own session: Ctrl+C in the chat or closing it does not stop the retrain.
                start_new_session=True,
            )

    return launch


@dataclass(frozen=True)
class _Job:
    """A running background retrain, and what stood before it (to say what came of it)."""

    process: Process
    active_before: str | None
    last_run_before: int | None


@dataclass(frozen=True)
class Notice:
    """Something the app shows the user."""

    text: str
    severity: str = "information"


class LearningLoop:
    """When to build pairs and when to start a background retrain; thread-safe."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        launch: Launch | None = None,
        system_prompt: SystemPrompt | None = None,
    ) -> None:
        from align.retrain import persona_system_prompt

        self.config = config
        self.store = store
        self.launch = launch or launch_retrain(config)
        self.system_prompt = system_prompt or persona_system_prompt(config)
        self._events = 0
        self._job: _Job | None = None
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()  # one build at a time; each is idempotent

    # -- pairs -------------------------------------------------------------------------------

    def feedback_recorded(self) -> bool:
        """Count a rating or choice; True when pairs are due."""
        with self._lock:
            self._events += 1
            return self._events >= self.config.retrain.pairs_every_events

    def build_pairs(self, conversation_id: int | None) -> int:
        """Build (and refresh) the pairs of one conversation, or of all when None."""
        from align.retrain import sync_pairs

        with self._lock:
            self._events = 0
        with self._build_lock:
            return sync_pairs(
                self.store,
                self.config.retrain,
                system_prompt=self.system_prompt,
                conversation_id=conversation_id,
            )

    def pairs_since_last_retrain(self) -> int:
        last = self.store.last_training_run()
        return self.store.count_pairs("train", since=last.started_at if last else None)

    # -- retrain -----------------------------------------------------------------------------

    @property
    def retraining(self) -> bool:
        with self._lock:
            return self._job is not None

    def maybe_retrain(self) -> Notice | None:
        """Start the background retrain when `retrain.auto` is on and enough pairs are new."""
        from align.retrain import retrain_running

        rc = self.config.retrain
        if not rc.auto or self.retraining or retrain_running(self.config.paths):
            return None
        waiting = self.pairs_since_last_retrain()
        if waiting < rc.auto_after_pairs:
            return None
        active = self.store.active_adapter()
        last = self.store.last_training_run()
        with self._lock:
            self._job = _Job(
                self.launch(), active.version if active else None, last.id if last else None
            )
        return Notice(
            f"Learning from {waiting} new preferences in the background; chat goes on. "
            "You will be told when the new persona is live."
        )

    def poll(self) -> Notice | None:
        """Once the background retrain has ended: what came of it."""
        with self._lock:
            job = self._job
            code = job.process.poll() if job is not None else None
            if job is None or code is None:
                return None
            self._job = None
        log = self.config.paths.logs_dir / "retrain-auto.log"
        active = self.store.active_adapter()
        if active is not None and active.version != job.active_before:
            return Notice(f"Your companion has learned: {active.version} is live.")
        run = self.store.last_training_run()
        if run is None or run.id == job.last_run_before:
            return Notice(f"Background retrain ended without training; see {log}", "warning")
        if code != 0 or run.status == "failed":
            first = (run.error or "").strip().splitlines()[:1]
            detail = f": {first[0]}" if first else ""
            return Notice(f"Background retrain failed{detail}; see {log}", "error")
        reasons = (run.metrics or {}).get("gate_reasons") or []
        why = f": {reasons[0]}" if reasons else ""
        return Notice(f"Background retrain done; the new adapter was not promoted{why}", "warning")
