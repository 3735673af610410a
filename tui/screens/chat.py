"""The chat screen: sidebar, messages, input, banner and status bar, and the workers that
stream replies and talk to storage. Widgets report with messages; this screen records."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Label
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from tui import heap, keys, messages
from tui.backend import Backend, EngineEvent, StreamStats
from tui.break_timer import BreakTimer
from tui.screens.confirm import ConfirmScreen
from tui.screens.persona import PersonaScreen
from tui.screens.reason import POSITIVE_TAGS, ReasonScreen
from tui.screens.rename import RenameScreen
from tui.screens.safety import SafetyScreen
from tui.status import server_view
from tui.view import ConversationView, StatusView, TurnView
from tui.widgets.chat_input import ChatInput
from tui.widgets.earlier_messages import EarlierMessages
from tui.widgets.message_bubble import MessageBubble, PacedStream
from tui.widgets.server_banner import ServerBanner
from tui.widgets.sidebar import Sidebar
from tui.widgets.status_bar import StatusBar

StartProgress = Callable[[str, float], None]
"""progress(message, elapsed seconds), as companion.server.ServerManager calls it."""
StartServer = Callable[[StartProgress], Any]
"""Starts or reuses the model server (blocking; run in a thread). May return the engine bound
to it (companion.engine.Engine), which the chat then uses; None keeps the engine it has."""
RetrainJob = Callable[[Callable[[str, float | None], None]], str]
"""Runs a retrain (blocking; run in a thread), reporting progress(line, fraction 0..1 or
None); returns one line for the user, e.g. "adapter v3 is live"."""

STARTUP_HINT_S = 25.0
"""Typical server start on CPU; the status bar's progress is elapsed / this (capped)."""


async def _chain(first: Awaitable[Any], rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """The first event (already requested), then the rest of the stream."""
    try:
        yield await first
    except StopAsyncIteration:
        return
    async for ev in rest:
        yield ev


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
        server: Any = None,
        start_server: StartServer | None = None,
        collector: heap.Collector | None = None,
        history_page: int = 20,
    ) -> None:
        super().__init__(id="chat-screen")
        self.history_page = history_page
        self._earlier: list[TurnView] = []
        """The path's messages above the shown ones, oldest first (not mounted)."""
        self._greets = True
        self._showing_earlier = False
        self.collector = collector or heap.Collector()
        self.server = server
        self.start_server = start_server
        self.status = StatusView()
        self.loaded = False
        """Set once the start-up opened a conversation; sending waits for it."""
        self._polling = False
        self._starting = False
        self._start_error: str | None = None
        """Why the last start failed; it stays the banner's reason while the server is down."""
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
        self.last_stats: StreamStats | None = None

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Sidebar(id="sidebar")
            with Vertical(id="chat"):
                yield Label("", id="chat-title")
                yield VerticalScroll(id="messages")
                yield ServerBanner(id="banner", classes="-hidden")
                yield ChatInput(
                    send_keys=self._send_keys, newline_keys=self._newline_keys, id="input"
                )
        yield StatusBar(id="status")
        yield Footer()

    @property
    def messages_view(self) -> VerticalScroll:
        return self.query_one("#messages", VerticalScroll)

    @property
    def chat_input(self) -> ChatInput:
        return self.query_one("#input", ChatInput)

    def bubbles(self) -> list[MessageBubble]:
        return list(self.messages_view.query(MessageBubble))

    @property
    def streaming(self) -> bool:
        return self._reply is not None and self._reply.is_running

    async def on_mount(self) -> None:
        self.messages_view.anchor()  # stick to the bottom while a reply streams in
        self.watch(self.messages_view, "scroll_y", self._scrolled, init=False)
        self.set_interval(30, self._check_break)
        await self.refresh_sidebar()

    # -- server, status bar and banner --------------------------------------------------------

    def start_services(self) -> None:
        """After the welcome: start (or find) the server, then keep the status bar fresh."""
        if self.start_server is not None:
            self._start_server()
        else:
            self.refresh_status()
        self.set_interval(3, self.refresh_status)

    def _set_status(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        self.query_one(StatusBar).status = self.status
        down = self.status.server == "down"
        banner = self.query_one(ServerBanner)
        banner.set_class(not down, "-hidden")
        if down:
            banner.reason = self.status.server_detail

    @work(thread=True, group="server", exclusive=True, exit_on_error=False)
    def _start_server(self) -> None:
        assert self.start_server is not None
        self._starting = True
        self.app.call_from_thread(self._set_status, server="starting", progress=0.0)

        def progress(message: str, elapsed: float) -> None:
            self.app.call_from_thread(
                self._set_status,
                server="starting",
                progress=min(elapsed / STARTUP_HINT_S, 0.99),
                server_detail=message,
            )

        try:
            engine = self.start_server(progress)
        except Exception as e:  # shown in the banner, with Retry
            self._starting = False
            self._start_error = str(e) or type(e).__name__
            self.app.call_from_thread(
                self._set_status, server="down", server_detail=self._start_error
            )
            return
        self._start_error = None
        self._starting = False
        if engine is not None:
            self.backend.engine = engine
            self.collector.request_settle()  # the engine's safety model is loaded now
        self.app.call_from_thread(self._set_status, server="ready", progress=None, server_detail="")
        self.app.call_from_thread(self.refresh_status)

    def refresh_status(self) -> None:
        if not self._polling:  # one probe at a time; a slow health check must not pile up
            self._polling = True
            self._poll_status()

    @work(thread=True, group="status", exit_on_error=False)
    def _poll_status(self) -> None:
        try:
            self._probe_status()
        finally:
            self._polling = False

    def _probe_status(self) -> None:
        changes: dict[str, Any] = {}
        if self.server is not None and not self._starting:
            try:
                v = server_view(self.server)
            except Exception as e:  # a status probe never takes the chat down
                v = StatusView(server="down", server_detail=str(e))
            detail = (
                self._start_error if v.server == "down" and self._start_error else v.server_detail
            )
            changes.update(server=v.server, server_detail=detail, model=v.model, adapter=v.adapter)
            if v.server != "starting":
                changes["progress"] = None
        try:
            changes["new_feedback"] = self.backend.feedback_count()
            changes["safety_mode"] = self.backend.safety_mode()
        except Exception:  # storage hiccup: keep the last figures
            pass
        if changes:
            self.app.call_from_thread(self._set_status, **changes)

    @on(messages.RetryServer)
    def action_retry_server(self) -> None:
        if self.start_server is not None:
            self._start_server()
        else:
            self.refresh_status()

    @on(messages.StatsUpdated)
    def _stats(self, event: messages.StatsUpdated) -> None:
        stats = event.stats
        assert isinstance(stats, StreamStats)
        self._set_status(ttft_ms=stats.ttft_ms, tok_s=stats.tok_s)

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
            await self._render_path([])
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
        await self._render_path(path)
        self.app.call_later(self._remember)

    def _remember(self) -> None:
        remember = getattr(self.app, "remember_position", None)
        if remember is not None:
            remember(self.conversation.id if self.conversation else None, self.leaf_id)

    async def _render_path(self, path: list[TurnView]) -> None:
        """Show the last page of `path`; the earlier messages wait above (`show_earlier`)."""
        view = self.messages_view
        await view.remove_children()
        cut = max(0, len(path) - self.history_page)
        self._earlier = path[:cut]
        self._greets = not (path and path[0].role == "assistant")
        widgets: list[Widget] = [EarlierMessages(id="earlier")] if cut else self._greeting()
        widgets += [MessageBubble(t, author=self._author(t.role)) for t in path[cut:]]
        await view.mount_all(widgets)
        if cut:
            self.query_one(EarlierMessages).hidden = cut
        view.scroll_end(animate=False)

    def _greeting(self) -> list[Widget]:
        greeting = self.backend.greeting(self.persona)
        if not (greeting and self._greets):
            return []
        turn = TurnView(None, "assistant", greeting)
        return [MessageBubble(turn, author=self._author("assistant"), greeting=True)]

    @on(messages.EarlierRequested)
    async def show_earlier(self) -> None:
        """Mount the previous page of messages above the shown ones, keeping what is on
        screen where it is."""
        if not self._earlier or self._showing_earlier:
            return
        self._showing_earlier = True
        try:
            view = self.messages_view
            marker = self.query_one(EarlierMessages)
            cut = max(0, len(self._earlier) - self.history_page)
            page, self._earlier = self._earlier[cut:], self._earlier[:cut]
            bubbles: list[Widget] = [MessageBubble(t, author=self._author(t.role)) for t in page]
            height, y = view.virtual_size.height, view.scroll_y
            if self._earlier:
                await view.mount_all(bubbles, after=marker)
                marker.hidden = len(self._earlier)
            else:
                await view.mount_all([*self._greeting(), *bubbles], after=marker)
                await marker.remove()

            def keep_place() -> None:
                view.scroll_to(y=y + view.virtual_size.height - height, animate=False)

            self.call_after_refresh(keep_place)
        finally:
            self._showing_earlier = False

    def _scrolled(self, y: float) -> None:
        if y <= 0 and self._earlier and self.messages_view.max_scroll_y > 0:
            self.run_worker(self.show_earlier(), group="earlier", exclusive=True)

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
        self._rename(self.conversation.id if self.conversation else None)

    def action_delete_conversation(self) -> None:
        self._delete_conversation(self.conversation.id if self.conversation else None)

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

    @on(ChatInput.Submitted)
    async def _submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        if self.streaming:
            self.notify("A reply is still coming; Esc stops it.", severity="warning")
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
        bubbles = self.bubbles()
        cut = next((i for i, b in enumerate(bubbles) if b.turn.message_id == message_id), None)
        if cut is not None:
            for b in bubbles[cut:]:
                await b.remove()
        self.leaf_id = parent
        await self._send(text, parent_id=parent)

    @work(group="reply", exclusive=True)
    async def _stream(
        self,
        bubble: MessageBubble,
        events: AsyncIterator[EngineEvent],
        *,
        user_bubble: MessageBubble | None = None,
        mounted: Awaitable[Any] | None = None,
        first: asyncio.Future[Any] | None = None,
    ) -> None:
        if first is None:
            first = asyncio.ensure_future(anext(events))
        with self.collector.streaming():  # no full collection stalls while it streams in
            await self._stream_reply(
                bubble, events, first, user_bubble=user_bubble, mounted=mounted
            )

    async def _stream_reply(
        self,
        bubble: MessageBubble,
        events: AsyncIterator[EngineEvent],
        first: asyncio.Future[Any],
        *,
        user_bubble: MessageBubble | None,
        mounted: Awaitable[Any] | None,
    ) -> None:
        """`first`: the engine's first event, already asked for (the engine starts on it)."""
        started = time.perf_counter()
        stream: PacedStream | None = None
        first_paint: float | None = None
        try:
            if mounted is not None:
                await mounted
                self.messages_view.scroll_end(animate=False)
            stream = bubble.get_stream()
            async for ev in _chain(first, events):
                kind, data = self.backend.classify(ev)
                if kind == "delta":
                    await stream.write(data)
                    if first_paint is None:
                        first_paint = time.perf_counter() - started
                elif kind == "ids":
                    if user_bubble is not None and data.get("user_id") is not None:
                        user_bubble.turn = replace(user_bubble.turn, message_id=data["user_id"])
                    if data.get("assistant_id") is not None:
                        bubble.turn = replace(bubble.turn, message_id=data["assistant_id"])
                elif kind == "reset":
                    # The safety pipeline replaced what was shown (e.g. a crisis reply).
                    assert stream is not None
                    await stream.stop()
                    bubble.set_body("")
                    stream = bubble.get_stream()
                elif kind == "done":
                    self.last_stats = StreamStats(
                        ttft_ms=data.get("ttft_ms"),
                        tok_s=data.get("tok_s"),
                        first_paint_ms=first_paint * 1000 if first_paint else None,
                    )
                    self.post_message(messages.StatsUpdated(self.last_stats))
                elif kind == "failed":
                    self.post_message(messages.ReplyFailed(str(data)))
                elif kind == "notice":
                    self.notify(str(data), timeout=6)
        finally:
            if not first.done():
                first.cancel()  # Esc before the first event: the engine stores it stopped
            with contextlib.suppress(BaseException):
                await first
            if stream is not None:
                await stream.stop()
            close = getattr(events, "aclose", None)
            if close is not None:
                # An Esc lands here: closing the generator lets the engine store the partial
                # reply as stopped.
                await close()
            bubble.streaming = False
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

    # -- feedback ---------------------------------------------------------------------------

    def _bubble(self, message_id: int) -> MessageBubble | None:
        for b in self.bubbles():
            if b.turn.message_id == message_id:
                return b
        return None

    async def _refresh_turn(self, message_id: int, *, shown: int | None = None) -> None:
        bubble = self._bubble(message_id)
        if bubble is None:
            return
        turn = await asyncio.to_thread(self.backend.turn, message_id)
        if turn is not None:
            bubble.turn = turn if shown is None else replace(turn, shown=shown)

    @on(messages.ReplyRated)
    async def _rated(self, event: messages.ReplyRated) -> None:
        # Committed before the screen shows it: the store is the source of truth.
        bubble = self._bubble(event.message_id)
        shown = bubble.turn.shown if bubble else None
        await asyncio.to_thread(self.backend.rate, event.candidate_id, event.value)
        await self._refresh_turn(event.message_id, shown=shown)
        self.post_message(messages.FeedbackChanged(self._conv_id()))

    @on(messages.ReasonRequested)
    @work(group="modal")
    async def _reason(self, event: messages.ReasonRequested) -> None:
        bubble = self._bubble(event.message_id)
        cand = bubble.turn.candidate if bubble else None
        got = await self.app.push_screen_wait(ReasonScreen())
        if got is None:
            return
        tag, comment = got
        # A reason needs a rating to hang on; without one, a tag like "helpful" reads as a
        # thumbs up and anything else as a critique.
        value = cand.rating if cand and cand.rating else (1 if tag in POSITIVE_TAGS else -1)
        await asyncio.to_thread(self.backend.rate, event.candidate_id, value, tag, comment)
        await self._refresh_turn(event.message_id, shown=bubble.turn.shown if bubble else None)
        self.post_message(messages.FeedbackChanged(self._conv_id()))

    @on(messages.AlternativeShown)
    async def _shown(self, event: messages.AlternativeShown) -> None:
        await asyncio.to_thread(self.backend.show, event.message_id, event.candidate_id)

    @on(messages.AlternativeChosen)
    async def _chosen(self, event: messages.AlternativeChosen) -> None:
        bubble = self._bubble(event.message_id)
        if bubble is not None:
            await self._choose(bubble, event.candidate_id)
            self.notify("Picked: this reply is now part of the conversation.", timeout=3)

    async def _choose(self, bubble: MessageBubble, candidate_id: int) -> None:
        assert bubble.turn.message_id is not None
        await asyncio.to_thread(self.backend.choose, bubble.turn.message_id, candidate_id)
        await self._refresh_turn(bubble.turn.message_id)
        self.post_message(messages.FeedbackChanged(self._conv_id()))

    @on(messages.RegenerateRequested)
    async def _regenerate(self, event: messages.RegenerateRequested) -> None:
        if self.streaming:
            self.notify("A reply is still coming; Esc stops it.", severity="warning")
            return
        bubble = self._bubble(event.message_id)
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
        bubble = self._bubble(event.sibling_id)
        if bubble is not None:
            bubble.focus()

    @on(messages.EditRequested)
    def _edit(self, event: messages.EditRequested) -> None:
        if self.streaming:
            self.notify("A reply is still coming; Esc stops it.", severity="warning")
            return
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
            minutes = self.break_timer.minutes
            self.notify(
                f"You've been chatting for {minutes} minutes. A short break, a glass of water, "
                "a look out of the window? I'll be here.",
                title="Time for a break?",
                timeout=20,
            )
