"""The chat screen: sidebar, messages, input, banner and status bar. Widgets report with
messages; this screen records them through the backend and sends the new state back down.

Its helpers, one concern each: `tui.status.ServerWatch` (starting and probing the server),
`tui.widgets.message_list.MessageList` (the bubbles, paged), `tui.reply_stream` (a reply's
engine events into its bubbles) and `tui.break_timer` (the break reminder).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Label
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from companion.events import EngineEvent
from companion.server import StartProgress
from tui import heap, keys, messages, reply_stream
from tui.backend import Backend
from tui.break_timer import BreakTimer
from tui.ports import RetrainJob, StartServer
from tui.screens.confirm import ConfirmScreen
from tui.screens.persona import PersonaScreen
from tui.screens.reason import ReasonScreen, rating_for
from tui.screens.rename import RenameScreen
from tui.screens.safety import SafetyScreen
from tui.status import ServerWatch
from tui.view import ConversationView, StatusView, TurnView
from tui.widgets.chat_input import ChatInput
from tui.widgets.message_bubble import MessageBubble
from tui.widgets.message_list import MessageList
from tui.widgets.server_banner import ServerBanner
from tui.widgets.sidebar import Sidebar
from tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from companion.engine import Engine
    from companion.server import ServerManager

# Where companion.cli.startup finds them (tui.ports is their home).
__all__ = ["ChatScreen", "RetrainJob", "StartProgress", "StartServer"]

EngineEvents = AsyncGenerator[EngineEvent, None]


class ChatScreen(Screen[None]):
    BINDINGS = keys.bindings("chat")
    AUTO_FOCUS = "#input"

    conversation: reactive[ConversationView | None] = reactive(None, init=False)
    persona: reactive[str] = reactive("default", init=False)

    def __init__(
        self,
        backend: Backend,
        *,
        persona: str,
        n_alternatives: int,
        send_keys: tuple[str, ...],
        newline_keys: tuple[str, ...],
        break_minutes: int = 0,
        clock: Callable[[], float] = time.monotonic,
        server: ServerManager | None = None,
        start_server: StartServer | None = None,
        collector: heap.Collector | None = None,
        history_page: int = 20,
    ) -> None:
        super().__init__(id="chat-screen")
        self.history_page = history_page
        self.collector = collector or heap.Collector()
        self.server_watch = ServerWatch(backend, server, start_server)
        self.status = StatusView()
        self.loaded = False
        """Set once the start-up opened a conversation; sending waits for it."""
        self._polling = False
        self.backend = backend
        self.set_reactive(ChatScreen.persona, persona)
        self.n_alternatives = n_alternatives
        self._send_keys = send_keys
        self._newline_keys = newline_keys
        self.leaf_id: int | None = None
        self.search_query = ""
        self.break_timer = BreakTimer(break_minutes)
        self.clock = clock
        self._reply: Worker[None] | None = None

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Sidebar(id="sidebar")
            with Vertical(id="chat"):
                yield Label("", id="chat-title")
                yield MessageList(page=self.history_page, id="messages")
                yield ServerBanner(id="banner", classes="-hidden")
                yield ChatInput(
                    send_keys=self._send_keys, newline_keys=self._newline_keys, id="input"
                )
        yield StatusBar(id="status")
        yield Footer()

    @property
    def messages_view(self) -> MessageList:
        return self.query_one("#messages", MessageList)

    @property
    def chat_input(self) -> ChatInput:
        return self.query_one("#input", ChatInput)

    def bubbles(self) -> list[MessageBubble]:
        return self.messages_view.bubbles()

    @property
    def streaming(self) -> bool:
        return self._reply is not None and self._reply.is_running

    async def on_mount(self) -> None:
        self.set_interval(30, self._check_break)
        await self.refresh_sidebar()

    # -- server, status bar and banner --------------------------------------------------------

    def start_services(self) -> None:
        """After the welcome: start (or find) the server, then keep the status bar fresh."""
        self.action_retry_server()
        self.set_interval(3, self.refresh_status)

    def _set_status(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        self.query_one(StatusBar).status = self.status
        down = self.status.server == "down"
        banner = self.query_one(ServerBanner)
        banner.set_class(not down, "-hidden")
        if down:
            banner.reason = self.status.server_detail

    def _report_status(self, **changes: Any) -> None:
        """`_set_status` from a worker thread."""
        self.app.call_from_thread(self._set_status, **changes)

    def _engine_ready(self, engine: Engine) -> None:
        self.backend.engine = engine
        self.collector.request_settle()  # the engine's safety model is loaded now

    @work(thread=True, group="server", exclusive=True, exit_on_error=False)
    def _start_server(self) -> None:
        if self.server_watch.start(self._report_status, self._engine_ready):
            self.app.call_from_thread(self.refresh_status)

    def refresh_status(self) -> None:
        if not self._polling:  # one probe at a time; a slow health check must not pile up
            self._polling = True
            self._poll_status()

    @work(thread=True, group="status", exit_on_error=False)
    def _poll_status(self) -> None:
        try:
            changes = self.server_watch.probe()
            if changes:
                self._report_status(**changes)
        finally:
            self._polling = False

    @on(messages.RetryServer)
    def action_retry_server(self) -> None:
        if self.server_watch.start_server is not None:
            self._start_server()
        else:
            self.refresh_status()

    @on(messages.StatsUpdated)
    def _stats(self, event: messages.StatsUpdated) -> None:
        self._set_status(ttft_ms=event.stats.ttft_ms, tok_s=event.stats.tok_s)

    @on(messages.ReplyFailed)
    def _failed(self, event: messages.ReplyFailed) -> None:
        self.notify(event.reason, title="No reply", severity="error", timeout=8)
        self.refresh_status()

    @on(messages.FeedbackChanged)
    def _feedback_changed(self) -> None:
        self.refresh_status()

    @on(messages.LearningChanged)
    def _learning_changed(self, event: messages.LearningChanged) -> None:
        self._set_status(learning=event.running)
        self.refresh_status()

    # -- conversations ----------------------------------------------------------------------

    async def refresh_sidebar(self) -> None:
        convs = await asyncio.to_thread(self.backend.conversations, self.search_query)
        sidebar = self.query_one(Sidebar)
        sidebar.conversations = tuple(convs)
        sidebar.current = self.conversation.id if self.conversation else None

    def watch_conversation(self, conv: ConversationView | None) -> None:
        self._update_title()
        self.query_one(Sidebar).current = conv.id if conv else None

    def watch_persona(self) -> None:
        self._update_title()

    def _update_title(self) -> None:
        title = self.conversation.title if self.conversation else "New conversation"
        name = self.backend.persona_name(self.persona)
        self.query_one("#chat-title", Label).update(f"{name}  ·  {title or '(untitled)'}")

    def _conv_id(self) -> int | None:
        return self.conversation.id if self.conversation else None

    async def open_conversation(self, conv_id: int | None, leaf_id: int | None = None) -> None:
        """Show a conversation at `leaf_id` (default: where it was left), or a blank new one."""
        await self.stop_reply()
        left = self._conv_id()
        if left is not None and left != conv_id:
            self.post_message(messages.ConversationLeft(left))
        if conv_id is None:
            self.conversation = None
            self.leaf_id = None
            await self._show_path([])
            return
        conv = await asyncio.to_thread(self.backend.conversation, conv_id)
        if conv is None:
            await self.open_conversation(None)
            return
        if leaf_id is None:
            leaf_id = await asyncio.to_thread(self.backend.resume_leaf, conv_id)
        path = await asyncio.to_thread(self.backend.path, leaf_id) if leaf_id else []
        self.persona = conv.persona or self.persona
        self.conversation = conv
        self.leaf_id = leaf_id
        await self._show_path(path)
        self._remember()

    def _remember(self) -> None:
        self.post_message(messages.PositionChanged(self._conv_id(), self.leaf_id))

    async def _show_path(self, path: list[TurnView]) -> None:
        greeting = self.backend.greeting(self.persona)
        await self.messages_view.show(path, author=self._author("assistant"), greeting=greeting)

    def _author(self, role: str) -> str:
        return "You" if role == "user" else self.backend.persona_name(self.persona)

    @on(messages.ConversationSelected)
    async def _selected(self, event: messages.ConversationSelected) -> None:
        await self.open_conversation(event.conversation_id)
        self.chat_input.focus()

    @on(messages.SearchChanged)
    async def _search(self, event: messages.SearchChanged) -> None:
        self.search_query = event.query
        await self.refresh_sidebar()

    @on(messages.ConversationAction)
    def _conversation_action(self, event: messages.ConversationAction) -> None:
        if event.action == "new":
            self.run_worker(self.action_new_conversation())
        elif event.action == "rename":
            self._rename(event.conversation_id)
        elif event.action == "delete":
            self._delete_conversation(event.conversation_id)

    async def action_new_conversation(self) -> None:
        await self.open_conversation(None)
        await self.refresh_sidebar()
        self.chat_input.focus()

    def action_toggle_sidebar(self) -> None:
        self.query_one(Sidebar).toggle_class("-hidden")

    def action_search(self) -> None:
        sidebar = self.query_one(Sidebar)
        sidebar.remove_class("-hidden")
        sidebar.focus_search()

    def action_rename_conversation(self) -> None:
        self._rename(self._conv_id())

    def action_delete_conversation(self) -> None:
        self._delete_conversation(self._conv_id())

    @work(group="modal")
    async def _rename(self, conv_id: int | None) -> None:
        if conv_id is None:
            self.notify("Nothing to rename yet: say something first.")
            return
        conv = await asyncio.to_thread(self.backend.conversation, conv_id)
        if conv is None:
            return
        title = await self.app.push_screen_wait(RenameScreen(conv.title))
        if not title:
            return
        await asyncio.to_thread(self.backend.rename, conv_id, title)
        if self.conversation and self.conversation.id == conv_id:
            self.conversation = replace(self.conversation, title=title)
        await self.refresh_sidebar()

    @work(group="modal")
    async def _delete_conversation(self, conv_id: int | None) -> None:
        if conv_id is None:
            return
        conv = await asyncio.to_thread(self.backend.conversation, conv_id)
        if conv is None:
            return
        question = (
            f"Delete “{conv.title or '(untitled)'}” and everything in it (ratings included)? "
            "This cannot be undone."
        )
        if not await self.app.push_screen_wait(ConfirmScreen(question)):
            return
        await asyncio.to_thread(self.backend.delete_conversation, conv_id)
        if self.conversation and self.conversation.id == conv_id:
            await self.open_conversation(None)
        await self.refresh_sidebar()
        self.notify("Conversation deleted.")

    @work(group="modal")
    async def action_pick_persona(self) -> None:
        personas = await asyncio.to_thread(self.backend.personas)
        picked = await self.app.push_screen_wait(PersonaScreen(personas, self.persona))
        if not picked or picked == self.persona:
            return
        # A conversation keeps the persona it was started with: a new pick starts a new one.
        self.persona = picked
        await self.open_conversation(None)
        self.notify(f"New conversation with {self.backend.persona_name(picked)}.")

    # -- sending and streaming ----------------------------------------------------------------

    def _busy(self) -> bool:
        """A reply is still streaming in (the user is told so)."""
        if self.streaming:
            self.notify("A reply is still coming; Esc stops it.", severity="warning")
        return self.streaming

    @on(ChatInput.Submitted)
    async def _submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        if self._busy():
            return
        if not self.loaded:
            self.notify("One moment: opening your conversation.", timeout=2)
            return
        if not self.backend.ready:
            self.notify(
                "The model server is still starting (see the status bar); your text stays here.",
                severity="warning",
            )
            return
        self.break_timer.activity(self.clock())
        if event.edit_of is not None:
            await self._send_edit(event.edit_of, event.text)
        else:
            await self._send(event.text, parent_id=self.leaf_id)
        self.chat_input.reset()

    @on(ChatInput.EditCancelled)
    def _edit_cancelled(self) -> None:
        self.chat_input.reset()

    async def _ensure_conversation(self) -> int:
        if self.conversation is None:
            conv = await asyncio.to_thread(self.backend.create_conversation, self.persona)
            self.conversation = conv
            self.run_worker(self.refresh_sidebar(), group="sidebar")  # off the send path
        return self.conversation.id

    async def _send(self, text: str, *, parent_id: int | None) -> None:
        conv_id = await self._ensure_conversation()
        user = MessageBubble(TurnView(None, "user", text), author="You")
        reply = MessageBubble(
            TurnView(None, "assistant", ""), author=self._author("assistant"), streaming=True
        )
        events = self.backend.reply(conv_id, text, parent_id=parent_id)
        # The engine starts before the bubbles mount: storing the message and the server's
        # TTFT overlap with the mounting.
        first = asyncio.ensure_future(anext(events))
        mounted = self.messages_view.mount_all([user, reply])
        self._reply = self._stream(reply, events, user_bubble=user, mounted=mounted, first=first)

    async def _send_edit(self, message_id: int, text: str) -> None:
        """Resend an edited message: a sibling of the original, so a new branch."""
        parent = await asyncio.to_thread(self.backend.parent_of, message_id)
        await self.messages_view.remove_from(message_id)
        self.leaf_id = parent
        await self._send(text, parent_id=parent)

    @work(group="reply", exclusive=True)
    async def _stream(
        self,
        bubble: MessageBubble,
        events: EngineEvents,
        *,
        user_bubble: MessageBubble | None = None,
        mounted: Awaitable[Any] | None = None,
        first: asyncio.Future[EngineEvent] | None = None,
    ) -> None:
        """`first`: the engine's first event, already asked for (the engine starts on it)."""
        if first is None:
            first = asyncio.ensure_future(anext(events))
        with self.collector.streaming():  # no full collection stalls while it streams in
            started = time.perf_counter()
            try:
                if mounted is not None:
                    await mounted
                    self.messages_view.scroll_end(animate=False)
                await reply_stream.play(
                    reply_stream.chain(first, events),
                    bubble,
                    user_bubble=user_bubble,
                    started=started,
                    post=self.post_message,
                    notify=lambda text: self.notify(text, timeout=6),
                )
            finally:
                if not first.done():
                    first.cancel()  # Esc before the first event: the engine stores it stopped
                with contextlib.suppress(BaseException):
                    await first
                # An Esc lands here: closing the generator lets the engine store the partial
                # reply as stopped.
                await events.aclose()
                bubble.streaming = False
                await self._reply_ended(bubble, user_bubble)

    async def _reply_ended(self, bubble: MessageBubble, user_bubble: MessageBubble | None) -> None:
        message_id = bubble.turn.message_id
        if not bubble.is_attached:
            pass  # the screen moved on (another conversation): nothing to update
        elif message_id is not None:
            await self._reload_tail(bubble, user_bubble, message_id)
        elif user_bubble is not None:
            # Nothing was stored: take the turn off the screen, give the text back.
            text = user_bubble.turn.text
            await user_bubble.remove()
            await bubble.remove()
            if not self.chat_input.text:
                self.chat_input.load_text(text)

    async def _reload_tail(
        self, bubble: MessageBubble, user_bubble: MessageBubble | None, message_id: int
    ) -> None:
        """After a reply: the stored truth (ids, candidates, status, safety) replaces guesses."""
        path = await asyncio.to_thread(self.backend.path, message_id)
        if not path:
            return
        self.leaf_id = message_id
        bubble.turn = path[-1]
        if self.conversation is not None and not self.conversation.title:
            # The store titles a conversation from its first message.
            self.conversation = await asyncio.to_thread(
                self.backend.conversation, self.conversation.id
            )
            await self.refresh_sidebar()
        if user_bubble is not None and len(path) > 1:
            user_bubble.turn = path[-2]
        self._remember()
        self.post_message(messages.FeedbackChanged(self._conv_id(), recorded=False))

    async def stop_reply(self) -> None:
        """Stop a streaming reply and wait until it is stored (before the screen changes)."""
        worker = self._reply
        if self.cancel_reply() and worker is not None:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()

    def cancel_reply(self) -> bool:
        if self.streaming and self._reply is not None:
            self._reply.cancel()
            return True
        return False

    def action_stop(self) -> None:
        if self.cancel_reply():
            self.notify("Stopped. The partial reply is kept.", timeout=3)
        elif self.focused is not self.chat_input:
            self.chat_input.focus()

    def action_focus_reply(self) -> None:
        replies = [b for b in self.bubbles() if b.turn.message_id is not None]
        if replies:
            replies[-1].focus()
            replies[-1].scroll_visible()

    def action_focus_input(self) -> None:
        self.chat_input.focus()

    def _target(self) -> MessageBubble | None:
        """The focused message, else the last reply (for palette and global keys)."""
        if isinstance(self.focused, MessageBubble):
            return self.focused
        replies = [b for b in self.bubbles() if b.turn.role == "assistant" and b.turn.message_id]
        return replies[-1] if replies else None

    async def action_on_message(self, action: str) -> None:
        target = self._target()
        if target is None:
            self.notify("No message to act on yet.")
            return
        await target.run_action(action)

    # -- feedback: committed before the screen shows it (the store is the source of truth) ---

    async def _record(
        self, message_id: int, write: Callable[[], object], *, keep_shown: bool = True
    ) -> None:
        """Run `write` (a store call) off the UI thread, then show the stored turn, on the
        alternative it showed (`keep_shown`) or on the one the store now shows."""
        bubble = self.messages_view.bubble(message_id)
        shown = bubble.turn.shown if bubble is not None and keep_shown else None
        await asyncio.to_thread(write)
        if bubble is not None:
            turn = await asyncio.to_thread(self.backend.turn, message_id)
            if turn is not None:
                bubble.turn = turn if shown is None else replace(turn, shown=shown)
        self.post_message(messages.FeedbackChanged(self._conv_id()))

    @on(messages.ReplyRated)
    async def _rated(self, event: messages.ReplyRated) -> None:
        await self._record(
            event.message_id, lambda: self.backend.rate(event.candidate_id, event.value)
        )

    @on(messages.ReasonRequested)
    @work(group="modal")
    async def _reason(self, event: messages.ReasonRequested) -> None:
        bubble = self.messages_view.bubble(event.message_id)
        cand = bubble.turn.candidate if bubble else None
        got = await self.app.push_screen_wait(ReasonScreen())
        if got is None:
            return
        tag, comment = got
        value = rating_for(tag, cand.rating if cand else None)
        await self._record(
            event.message_id,
            lambda: self.backend.rate(event.candidate_id, value, tag, comment),
        )

    @on(messages.AlternativeShown)
    async def _shown(self, event: messages.AlternativeShown) -> None:
        await asyncio.to_thread(self.backend.show, event.message_id, event.candidate_id)

    @on(messages.AlternativeChosen)
    async def _chosen(self, event: messages.AlternativeChosen) -> None:
        if self.messages_view.bubble(event.message_id) is None:
            return
        await self._record(
            event.message_id,
            lambda: self.backend.choose(event.message_id, event.candidate_id),
            keep_shown=False,
        )
        self.notify("Picked: this reply is now part of the conversation.", timeout=3)

    @on(messages.RegenerateRequested)
    async def _regenerate(self, event: messages.RegenerateRequested) -> None:
        if self._busy():
            return
        bubble = self.messages_view.bubble(event.message_id)
        if bubble is None or not self.backend.ready:
            return
        self.break_timer.activity(self.clock())
        n = self.n_alternatives if event.several else 1
        bubble.streaming = True
        bubble.set_body("")
        events = self.backend.regenerate(event.message_id, n)
        self._reply = self._stream(bubble, events)

    @on(messages.BranchSelected)
    async def _branch(self, event: messages.BranchSelected) -> None:
        if self.conversation is None:
            return
        leaf = await asyncio.to_thread(self.backend.latest_leaf, event.sibling_id)
        await self.open_conversation(self.conversation.id, leaf)
        bubble = self.messages_view.bubble(event.sibling_id)
        if bubble is not None:
            bubble.focus()

    @on(messages.EditRequested)
    def _edit(self, event: messages.EditRequested) -> None:
        if not self._busy():
            self.chat_input.begin_edit(event.message_id, event.text)

    @on(messages.CopyRequested)
    def _copy(self, event: messages.CopyRequested) -> None:
        self.app.copy_to_clipboard(event.text)
        self.notify("Copied to the clipboard.", timeout=2)

    @on(messages.DeleteTurnRequested)
    @work(group="modal")
    async def _delete_turn(self, event: messages.DeleteTurnRequested) -> None:
        ok = await self.app.push_screen_wait(
            ConfirmScreen("Delete this turn (your message and the reply) and what follows it?")
        )
        if not ok or self.conversation is None:
            return
        leaf = await asyncio.to_thread(self.backend.delete_turn, event.message_id)
        await self.open_conversation(self.conversation.id, leaf)

    @on(messages.SafetyDetailsRequested)
    async def _safety(self, event: messages.SafetyDetailsRequested) -> None:
        details = await asyncio.to_thread(
            self.backend.safety_details, event.message_id, event.candidate_id
        )
        self.app.push_screen(SafetyScreen(details))

    # -- break reminder -----------------------------------------------------------------------

    def _check_break(self) -> None:
        if self.break_timer.due(self.clock()):
            self.notify(self.break_timer.reminder(), title=BreakTimer.REMINDER_TITLE, timeout=20)
