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
from tui.backend import Backend, database_busy, database_unreachable, disk_full
from tui.break_timer import BreakTimer
from tui.persist import persist
from tui.ports import RetrainJob, StartServer
from tui.screens.confirm import ConfirmScreen
from tui.screens.edit_reply import EditReplyScreen
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
        self._reply_bubble: MessageBubble | None = None
        """The bubble a reply is streaming into (None when none is)."""
        self._unanswered: int | None = None
        """A stored user message with no reply, answered once the model is ready."""
        self._writes = asyncio.Lock()
        """Feedback writes go through one at a time, in the order they were made."""
        self._leaving = False

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
        if engine.notice:
            self.app.call_from_thread(
                self.notify, engine.notice, title="Adapter", severity="warning", timeout=20
            )

    @work(thread=True, group="server", exclusive=True, exit_on_error=False)
    def _start_server(self) -> None:
        if self.server_watch.start(self._report_status, self._engine_ready):
            self.app.call_from_thread(self._server_up)

    def _server_up(self) -> None:
        self.refresh_status()
        self._answer_unanswered()

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

    async def resume(self, conv_id: int | None, saved_leaf: int | None) -> None:
        """Reopen where the user was: the conversation at its true end
        (`Backend.resume_point`), whatever a crash left there. A reply cut off shows what
        was saved of it, with how to regenerate it; a message with no reply is answered as
        soon as the model is ready."""
        leaf = None
        if conv_id is not None:
            leaf = await asyncio.to_thread(self.backend.resume_point, conv_id, saved_leaf)
        await self.open_conversation(conv_id, leaf)
        tail = self._tail()
        if tail is None or tail.turn.message_id is None:
            return
        if tail.turn.role == "user":
            self._unanswered = tail.turn.message_id
            self.notify(
                "Your last message had no reply yet (the chat closed first): it is answered "
                "as soon as the model is ready.",
                timeout=8,
            )
            self._answer_unanswered()
        elif tail.turn.unfinished:
            self.notify(
                f"The last reply was cut off; what came of it is kept. {self._key('retry_reply')}"
                " regenerates it in place.",
                timeout=8,
            )

    def _key(self, action: str) -> str:
        overrides: dict[str, str] = getattr(self.app, "key_overrides", {})
        return keys.display_keys(keys.effective_key(action, overrides)).capitalize()

    def _tail(self) -> MessageBubble | None:
        """The conversation's last stored message on screen."""
        stored = [b for b in self.bubbles() if b.turn.message_id is not None]
        return stored[-1] if stored else None

    def _remember(self) -> None:
        self.post_message(messages.PositionChanged(self._conv_id(), self.leaf_id))

    def _reply_stored(self, message_id: int) -> None:
        """The engine recorded the turn: a crash from now on resumes at it."""
        self.leaf_id = message_id
        self._remember()

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
        try:
            if event.edit_of is not None:
                await self._send_edit(event.edit_of, event.text)
            else:
                await self._send(event.text, parent_id=self.leaf_id)
        except Exception as e:  # the store refused (e.g. busy): the text stays in the box
            self._store_failed(e, "message")
            return
        self.chat_input.reset()

    @on(ChatInput.EditCancelled)
    def _edit_cancelled(self) -> None:
        self.chat_input.reset()

    async def _ensure_conversation(self) -> int:
        if self.conversation is None:
            conv = await asyncio.to_thread(self.backend.create_conversation, self.persona)
            self.conversation = conv
            self._remember()
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
        self._reply_bubble = bubble
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
                    stored=self._reply_stored,
                )
            except Exception as e:  # the store refused a write: said, never a crash
                unsent = user_bubble is not None and user_bubble.turn.message_id is None
                self._store_failed(e, "message" if unsent else "reply")
            finally:
                self._reply_bubble = None
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
        if not bubble.is_attached or self._leaving:
            pass  # the screen moved on (another conversation, or the app is closing)
        elif message_id is not None:
            await self._reload_tail(bubble, user_bubble, message_id)
        else:
            # Nothing was stored: take the turn off the screen, give the text back.
            await bubble.remove()
            if user_bubble is not None and user_bubble.turn.message_id is None:
                text = user_bubble.turn.text
                await user_bubble.remove()
                if not self.chat_input.text:
                    self.chat_input.give_back(text)

    def _store_failed(self, error: Exception, what: str) -> None:
        if database_busy(error):
            why = "the database is busy (another program is using it); try again in a moment"
        elif disk_full(error):
            why = "the disk is full; free some space and try again"
        elif database_unreachable(error):
            why = "the database server cannot be reached; start it, then try again"
        else:
            why = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        self.notify(f"Could not save the {what}: {why}.", title="Not saved", severity="error")

    def _answer_unanswered(self) -> None:
        """Answer the stored message that has no reply, once the model is ready."""
        message_id = self._unanswered
        if message_id is None or not self.backend.ready or self.streaming:
            return
        user_bubble = self.messages_view.bubble(message_id)
        self._unanswered = None
        if user_bubble is None or self._tail() is not user_bubble:
            return  # the screen moved on
        reply = MessageBubble(
            TurnView(None, "assistant", ""), author=self._author("assistant"), streaming=True
        )
        mounted = self.messages_view.mount(reply)
        events = self.backend.answer(message_id, 1)
        self._reply = self._stream(reply, events, mounted=mounted)

    def action_retry_reply(self) -> None:
        """Regenerate the last reply in place (an interrupted one, say), or answer the last
        message when it has none."""
        tail = self._tail()
        if tail is None or tail.turn.message_id is None:
            self.notify("No reply to regenerate yet.")
        elif tail.turn.role == "user":
            self._unanswered = tail.turn.message_id
            if not self.backend.ready:
                self.notify("The model server is still starting: the reply comes once it is.")
            self._answer_unanswered()
        else:
            self.post_message(messages.RegenerateRequested(tail.turn.message_id, several=False))

    def reply_cut_off(self) -> None:
        """`interrupt_reply` from another thread, when the event loop is stuck (a dead
        terminal): the streaming reply is marked interrupted; its text is as last saved."""
        bubble = self._reply_bubble
        message_id = bubble.turn.message_id if bubble is not None else None
        if message_id is not None:
            self.backend.mark_interrupted(message_id)

    async def interrupt_reply(self) -> None:
        """Stop a streaming reply because the app must close (a signal): what was shown is
        kept, marked interrupted (regenerable after the restart), not stopped."""
        bubble = self._reply_bubble
        message_id = bubble.turn.message_id if bubble is not None else None
        self._leaving = True  # nothing more to show: the screen is going
        await self.stop_reply()
        if message_id is not None:
            await asyncio.to_thread(self.backend.mark_interrupted, message_id)

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

    async def _persist(self, write: Callable[[], object], what: str) -> bool:
        """`write` committed, in order with the other writes, however long the database is
        busy; False (and said) when it failed for another reason."""
        async with self._writes:
            try:
                await persist(write, what=what, notify=self._notify)
            except Exception as e:  # noqa: BLE001 - said in one line, never a crash
                self._store_failed(e, what)
                return False
        return True

    def _notify(self, text: str, severity: str) -> None:
        self.notify(text, severity="warning" if severity == "warning" else "information")

    async def _record(
        self,
        message_id: int,
        write: Callable[[], object],
        *,
        keep_shown: bool = True,
        what: str = "rating",
        done: str | None = None,
    ) -> None:
        """Run `write` (a store call) off the UI thread, then show the stored turn, on the
        alternative it showed (`keep_shown`) or on the one the store now shows. The screen
        changes only once the write committed; `done` is said then."""
        bubble = self.messages_view.bubble(message_id)
        shown = bubble.turn.shown if bubble is not None and keep_shown else None
        if not await self._persist(write, what):
            return
        if done:
            self.notify(done, timeout=3)
        if bubble is not None:
            turn = await asyncio.to_thread(self.backend.turn, message_id)
            if turn is not None:
                bubble.turn = turn if shown is None else replace(turn, shown=shown)
        self.post_message(messages.FeedbackChanged(self._conv_id()))

    @on(messages.ReplyRated)
    @work(group="writes")
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

    @on(messages.ReplyEditRequested)
    @work(group="modal")
    async def _edit_reply(self, event: messages.ReplyEditRequested) -> None:
        if self._busy():
            return
        text = await self.app.push_screen_wait(EditReplyScreen(event.text))
        if text is None:
            return
        await self._record(
            event.message_id,
            lambda: self.backend.edit_reply(event.message_id, event.candidate_id, text),
            keep_shown=False,
            what="edit",
            done="Saved as the reply you wanted; the companion learns from the change.",
        )

    @on(messages.AlternativeShown)
    @work(group="writes")
    async def _shown(self, event: messages.AlternativeShown) -> None:
        await self._persist(
            lambda: self.backend.show(event.message_id, event.candidate_id), "place"
        )

    @on(messages.AlternativeChosen)
    @work(group="writes")
    async def _chosen(self, event: messages.AlternativeChosen) -> None:
        if self.messages_view.bubble(event.message_id) is None:
            return
        await self._record(
            event.message_id,
            lambda: self.backend.choose(event.message_id, event.candidate_id),
            keep_shown=False,
            what="pick",
            done="Picked: this reply is now part of the conversation.",
        )

    @on(messages.RegenerateRequested)
    async def _regenerate(self, event: messages.RegenerateRequested) -> None:
        if self._busy():
            return
        bubble = self.messages_view.bubble(event.message_id)
        if bubble is None:
            return
        if not self.backend.ready:
            self.notify("The model server is still starting: try again once it is ready.")
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
