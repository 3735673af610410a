"""The learning loop inside the chat: pairs are built in the background as feedback comes
in and when a conversation ends; retrain.auto starts a background retrain and the chat says
what came of it."""

from __future__ import annotations

import subprocess
import sys

from test_tui_stored import SIZE, app_at, bubble, settle
from tui_data import Seeded

from align.autoloop import LearningLoop
from companion.config import Config
from feedback.repo import Store
from tui.widgets.status_bar import StatusBar


def learning_config(config: Config, **retrain: object) -> Config:
    rc = config.retrain.model_copy(update={"holdout_fraction": 0.0, **retrain})
    return config.model_copy(update={"retrain": rc})


async def test_feedback_builds_pairs_in_background_and_leaving_refreshes_them(
    tui_config: Config, store: Store, seeded: Seeded
) -> None:
    cfg = learning_config(tui_config, pairs_every_events=2)
    launched: list[object] = []
    loop = LearningLoop(cfg, store, launch=lambda: launched.append(1))  # type: ignore[arg-type,return-value]
    app = app_at(cfg, store, seeded, learning=loop)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bubble(app, seeded.a1.id).focus()
        await pilot.pause()
        await pilot.press("plus")  # thumbs up on 1/3: one event, no build yet
        await settle(pilot)
        assert store.count_pairs() == 0
        await pilot.press("right")
        await settle(pilot)
        await pilot.press("minus")  # thumbs down on 2/3: the second event builds
        await settle(pilot)
        pairs = list(store.iter_pairs())
        assert [(p.source, p.chosen_candidate_id, p.rejected_candidate_id) for p in pairs] == [
            ("thumbs", seeded.cands[0].id, seeded.cands[1].id)
        ]
        await pilot.press("minus")  # undone: the pair no longer follows from the feedback
        await settle(pilot)
        assert store.count_pairs() == 1  # one event: not rebuilt yet
        await pilot.press("ctrl+n")  # leaving the conversation rebuilds its pairs
        await settle(pilot)
        assert store.count_pairs() == 0
    assert launched == []  # retrain.auto is off


class FinishedRetrain:
    """A real child process standing in for `companion retrain`: it promotes an adapter
    version in the store the way a promoted retrain does, then exits."""

    def __init__(self, store: Store, tmp: object) -> None:
        self.store = store
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    def __call__(self) -> subprocess.Popen[bytes]:
        self.store.add_training_run(method="dpo", status="succeeded")
        self.store.add_adapter_version("v007", str(self.tmp), kind="dpo")
        self.store.set_active_adapter("v007")
        self.proc = subprocess.Popen([sys.executable, "-c", "pass"])
        return self.proc


async def test_auto_retrain_starts_after_enough_pairs_and_notifies_when_live(
    tui_config: Config, store: Store, seeded: Seeded, tmp_path
) -> None:
    cfg = learning_config(tui_config, pairs_every_events=1, auto=True, auto_after_pairs=1)
    launch = FinishedRetrain(store, tmp_path)
    loop = LearningLoop(cfg, store, launch=launch)
    app = app_at(cfg, store, seeded, learning=loop)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        b = bubble(app, seeded.a1.id)
        b.focus()
        await pilot.pause()
        await pilot.press("plus")  # one thumbs-up: no pair, nothing starts
        await settle(pilot)
        assert launch.proc is None
        await pilot.press("left")  # 3/3
        await settle(pilot)
        await pilot.press("enter")  # picked: a pair (not over the liked 1/3), enough
        await settle(pilot)
        assert store.count_pairs() == 1
        assert launch.proc is not None
        texts = [n.message for n in app._notifications]
        assert any("in the background" in t for t in texts)
        launch.proc.wait(timeout=30)
        for _ in range(50):  # the app polls every 2 s
            await pilot.pause(0.1)
            if any("v007 is live" in n.message for n in app._notifications):
                break
        assert any("v007 is live" in n.message for n in app._notifications)
        await settle(pilot)
        assert not app.chat.query_one(StatusBar).status.learning


async def test_editing_a_reply_shows_the_rewrite_and_makes_an_edited_pair(
    tui_config: Config, store: Store, seeded: Seeded
) -> None:
    cfg = learning_config(tui_config, pairs_every_events=1)
    loop = LearningLoop(cfg, store, launch=lambda: None)  # type: ignore[arg-type,return-value]
    app = app_at(cfg, store, seeded, learning=loop)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        reply = bubble(app, seeded.a1.id)
        original = reply.turn.candidate
        assert original is not None
        reply.focus()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()  # not settle: the dialog's worker waits for it to close
        await pilot.press("escape")  # cancelled: nothing stored
        await settle(pilot)
        assert len(store.candidates(seeded.a1.id)) == len(seeded.cands)

        reply.focus()
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*" What made it hard?", "ctrl+s")
        await settle(pilot)
        wanted = f"{original.text} What made it hard?"
        reply = bubble(app, seeded.a1.id)
        assert reply.turn.candidate is not None and reply.turn.candidate.text == wanted
        assert "✓" in str(reply.query_one(".bubble-header").render())  # the picked one
        stored = store.get_message(seeded.a1.id)
        assert stored is not None and stored.text == wanted  # the history follows it
        pairs = [(p.source, p.chosen, p.rejected) for p in store.iter_pairs()]
        assert ("edited", wanted, original.text) in pairs
