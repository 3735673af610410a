"""The Textual app: bindings, screens and wiring. Everything it drives comes in through
`make_app`, shared by `companion chat` and the tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import events, on, work
from textual.app import App
from textual.notifications import SeverityLevel

from companion.config import Config
from tui import heap, keys, messages
from tui import state as ui_state
from tui.backend import Backend
from tui.commands import CompanionCommands
from tui.memories import MemoryBackend, suggestion_line
from tui.ports import LearningLoop, LearningNotice, RetrainJob, StartServer
from tui.screens.chat import ChatScreen
from tui.screens.help import HelpScreen
from tui.screens.memory import MemoryScreen
from tui.screens.retrain import RetrainScreen
from tui.screens.welcome import WelcomeScreen
from tui.signals import CloseOnSignal

if TYPE_CHECKING:
    from companion.engine import Engine
    from companion.memory.service import MemoryService
    from companion.persona import Persona
    from companion.server import ServerManager
    from feedback.repo import Store


class CompanionApp(App[None]):
    CSS_PATH = "companion.tcss"
    TITLE = "companion"
    BINDINGS = keys.bindings("app")
    COMMANDS = App.COMMANDS | {CompanionCommands}

    def __init__(
        self,
        config: Config,
        *,
        backend: Backend,
        server: ServerManager | None = None,
        start_server: StartServer | None = None,
        retrain: RetrainJob | None = None,
        clock: Callable[[], float] = time.monotonic,
        state_path: Path | None = None,
        persona: str | None = None,
        learning: LearningLoop | None = None,
        memory: MemoryBackend | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.backend = backend
        self.server = server
        self.start_server = start_server
        self.retrain_job = retrain
        self.clock = clock
        self.state_path = state_path or config.paths.state_file
        self.ui_state = ui_state.load(self.state_path)
        self.persona_name = persona or config.chat.persona
        self._persona_asked = persona is not None
        """`companion chat --persona P` starts a new conversation with P instead of resuming."""
        self.key_overrides: dict[str, str] = dict(config.chat.keys)
        self._retrain_lines: list[str] = []
        self._retrain_fraction: float | None = None
        self._retrain_running = False
        self.learning = learning
        """align.autoloop.LearningLoop: background pairs and retrain.auto (None: off)."""
        self.memory = memory
        """Memories: the F4 screen, and suggestions when a conversation ends (None: off)."""
        self.collector = heap.Collector()
        self.signals = CloseOnSignal(self, self._close_chat, self._chat_cut_off)
        """SIGTERM and SIGHUP close the app as Ctrl+Q does (tui.signals)."""

    def _split_keys(self, action: str) -> tuple[str, ...]:
        return tuple(k.strip() for k in keys.effective_key(action, self.key_overrides).split(","))

    def on_mount(self) -> None:
        if self.config.chat.theme in self.available_themes:
            self.theme = self.config.chat.theme
        self.set_keymap({k: v for k, v in self.key_overrides.items() if k in keys.BY_ID})
        self.chat = ChatScreen(
            self.backend,
            persona=self.persona_name,
            n_alternatives=self.config.chat.n_alternatives,
            send_keys=self._split_keys("send"),
            newline_keys=self._split_keys("newline"),
            break_minutes=self.config.chat.break_reminder_minutes,
            clock=self.clock,
            server=self.server,
            start_server=self.start_server,
            collector=self.collector,
            history_page=self.config.chat.history_page,
        )
        self.push_screen(self.chat)
        self.signals.install()
        self.set_interval(0.25, self.collector.tick)
        self.call_after_refresh(self._start)
        if self.learning is not None:
            self.set_interval(2.0, self._poll_learning)

    @work(group="startup")
    async def _start(self) -> None:
        if not self.ui_state.accepted:
            ok = await self.push_screen_wait(
                WelcomeScreen(
                    persona_name=self.backend.persona_name(self.persona_name),
                    data_dir=self.config.data_dir,
                )
            )
            if not ok:
                self.exit()
                return
            self.ui_state.accepted = True
            self._save_state()
        self.chat.start_services()
        # Resume where the user left off, at the true end of what was written (a deleted
        # conversation opens a new one).
        if self._persona_asked:
            await self.chat.open_conversation(None)
        else:
            await self.chat.resume(self.ui_state.last_conversation, self.ui_state.last_leaf)
        self.chat.loaded = True
        self.collector.request_settle()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseEvent)):
            self.collector.note_input()  # owed garbage collections wait for a pause
        await super().on_event(event)

    async def _close_chat(self) -> None:
        chat = getattr(self, "chat", None)
        if chat is not None:
            await chat.interrupt_reply()

    def _chat_cut_off(self) -> None:
        chat = getattr(self, "chat", None)
        if chat is not None:
            chat.reply_cut_off()

    async def on_unmount(self) -> None:
        self.signals.remove()
        self.collector.close()
        # Quitting ends the conversation: its pairs are built now (one conversation, fast),
        # and a due background retrain starts; it outlives the chat.
        conv = getattr(getattr(self, "chat", None), "conversation", None)
        if self.learning is not None and conv is not None:
            try:
                self.learning.build_pairs(conv.id)
                self.learning.maybe_retrain()
            except Exception:  # noqa: BLE001 - never block quitting; the next build catches up
                pass
        if self.memory is not None and conv is not None:
            try:
                self.memory.suggest(conv.id, conv.persona or self.persona_name)
            except Exception:  # noqa: BLE001 - never block quitting; shown next time it ends
                pass
        # An engine this app built (through start_server) owns an HTTP client: close it.
        engine = self.backend.engine
        if self.start_server is not None and engine is not None:
            await engine.client.aclose()

    @on(messages.PositionChanged)
    def _position_changed(self, event: messages.PositionChanged) -> None:
        self.remember_position(event.conversation_id, event.leaf_id)

    def remember_position(self, conversation_id: int | None, leaf_id: int | None) -> None:
        """Resume where the user left off next time."""
        self.ui_state.last_conversation = conversation_id
        self.ui_state.last_leaf = leaf_id
        self._save_state()

    def _save_state(self) -> None:
        try:
            ui_state.save(self.state_path, self.ui_state)
        except OSError as e:
            self.notify(f"Could not save UI state: {e}", severity="warning")

    # -- the learning loop -------------------------------------------------------------------

    @on(messages.FeedbackChanged)
    def _feedback_recorded(self, event: messages.FeedbackChanged) -> None:
        if (
            self.learning is not None
            and event.recorded
            and event.conversation_id is not None
            and self.learning.feedback_recorded()
        ):
            self._learn(event.conversation_id)

    @on(messages.ConversationLeft)
    def _conversation_left(self, event: messages.ConversationLeft) -> None:
        if self.learning is not None:
            self._learn(event.conversation_id)
        if self.memory is not None:
            self._suggest_memories(event.conversation_id)

    @work(thread=True, group="memory", exit_on_error=False)
    def _suggest_memories(self, conversation_id: int) -> None:
        assert self.memory is not None
        try:
            conv = self.backend.conversation(conversation_id)
            persona = conv.persona if conv and conv.persona else self.persona_name
            new = self.memory.suggest(conversation_id, persona)
        except Exception as e:  # noqa: BLE001 - the chat goes on; the next end tries again
            self.call_from_thread(
                self.notify, f"Could not suggest memories: {e}", severity="warning"
            )
            return
        if new:
            line = suggestion_line(new, self.memory.service.config.auto_accept)
            self.call_from_thread(self.notify, line, title="Memory", timeout=10)

    def action_memories(self) -> None:
        if self.memory is None:
            self.notify("Memory is off (memory.enabled = false).")
            return
        persona = getattr(getattr(self.chat, "conversation", None), "persona", None)
        persona = persona or self.persona_name
        self.push_screen(MemoryScreen(self.memory, persona, self.backend.persona_name(persona)))

    @work(thread=True, group="learning", exit_on_error=False)
    def _learn(self, conversation_id: int) -> None:
        assert self.learning is not None
        try:
            self.learning.build_pairs(conversation_id)
            notice = self.learning.maybe_retrain()
        except Exception as e:  # noqa: BLE001 - the chat goes on; the next build catches up
            self.call_from_thread(
                self.notify, f"Could not build preference pairs: {e}", severity="warning"
            )
            return
        if notice is not None:
            self.call_from_thread(self._learning_notice, notice, True)

    def _poll_learning(self) -> None:
        assert self.learning is not None
        if not self.learning.retraining:
            return
        notice = self.learning.poll()
        if notice is not None:
            self._learning_notice(notice, False)

    def _learning_notice(self, notice: LearningNotice, running: bool) -> None:
        severity = cast(SeverityLevel, notice.severity)  # information / warning / error
        self.notify(notice.text, severity=severity, timeout=15)
        self.chat.post_message(messages.LearningChanged(running))

    # -- actions ---------------------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_overrides))

    def action_retrain(self) -> None:
        if self.retrain_job is None:
            self.notify("Retraining is not available here: run `companion retrain`.")
            return
        if not self._retrain_running:
            self._retrain_lines.clear()
            self._retrain_fraction = 0.0
            self._retrain_running = True
            self._retrain()
        self.push_screen(
            RetrainScreen(
                self._retrain_lines, self._retrain_fraction, done=not self._retrain_running
            )
        )

    def _retrain_panel(self) -> RetrainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, RetrainScreen):
                return screen
        return None

    def _retrain_progress(self, line: str, fraction: float | None) -> None:
        self._retrain_lines.append(line)
        if fraction is not None:
            self._retrain_fraction = fraction
        panel = self._retrain_panel()
        if panel is not None:
            panel.add(line, fraction)

    def _retrain_finished(self, result: str, ok: bool) -> None:
        self._retrain_running = False
        self._retrain_progress(result, 1.0 if ok else None)
        panel = self._retrain_panel()
        if panel is not None:
            panel.finish()
        self.notify(
            result,
            title="New adapter is live" if ok else "Retrain did not finish",
            severity="information" if ok else "error",
            timeout=15,
        )
        self.chat.refresh_status()

    @work(thread=True, group="retrain", exit_on_error=False)
    def _retrain(self) -> None:
        assert self.retrain_job is not None

        def progress(line: str, fraction: float | None) -> None:
            self.call_from_thread(self._retrain_progress, line, fraction)

        try:
            result = self.retrain_job(progress)
        except Exception as e:  # reported in the panel and a notification, never a crash
            self.call_from_thread(self._retrain_finished, str(e) or type(e).__name__, False)
            return
        self.call_from_thread(self._retrain_finished, result, True)


def _keyed(persona_mod: Any, config: Config) -> list[tuple[str, Any]]:
    """(key, Persona) for every persona file; a broken file is skipped, not fatal."""
    out = []
    for entry in persona_mod.list_personas(config.paths):
        try:
            out.append((entry.key, persona_mod.load_file(entry.path)))
        except Exception:  # noqa: BLE001 - one bad file must not hide the others
            continue
    return out


def make_app(
    config: Config,
    *,
    store: Store,
    engine: Engine | None = None,
    server: ServerManager | None = None,
    start_server: StartServer | None = None,
    retrain: RetrainJob | None = None,
    personas: Callable[[], Sequence[tuple[str, Persona]]] | None = None,
    load_persona: Callable[[str], Persona] | None = None,
    persona: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    learning: LearningLoop | None = None,
    memory: MemoryService | None = None,
) -> CompanionApp:
    """The chat app.

    `store`: feedback.repo.Store. `engine`: companion.engine.Engine; or None, and then
    `start_server(progress)` (run in a thread) returns one. The composition root
    (`companion.cli.startup.default_start`) passes one that sets up the model, starts or
    reuses the server and builds the engine, with progress in the status bar; None starts
    nothing. `server`: companion.server.ServerManager to watch (None: nothing to watch).
    `retrain(progress)`: runs a retrain in a thread and returns one line for the user.
    `learning`: align.autoloop.LearningLoop, for pairs in the background and retrain.auto.
    `memory`: companion.memory.service.MemoryService, for the F4 screen and suggestions.
    """
    if personas is None or load_persona is None:
        from companion import persona as persona_mod

        personas = personas or (lambda: _keyed(persona_mod, config))
        load_persona = load_persona or (lambda name: persona_mod.load(name, config.paths))
    backend = Backend(engine, store, personas=personas, load_persona=load_persona)
    return CompanionApp(
        config,
        backend=backend,
        server=server,
        start_server=start_server,
        retrain=retrain,
        clock=clock,
        persona=persona,
        learning=learning,
        memory=MemoryBackend(store, memory)
        if memory is not None and memory.config.enabled
        else None,
    )
