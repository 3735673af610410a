"""The conversation's messages as bubbles, oldest at the top; it sticks to the bottom while a
reply streams in. A long conversation mounts its last page only: the "↑ N earlier messages"
marker above it brings the page before (Enter, a click, or scrolling to the top), keeping what
is on screen where it is. The conversation's start shows the persona's greeting."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.containers import VerticalScroll
from textual.widget import Widget

from tui import messages
from tui.view import TurnView
from tui.widgets.earlier_messages import EarlierMessages
from tui.widgets.message_bubble import MessageBubble


class MessageList(VerticalScroll):
    def __init__(self, *, page: int = 20, id: str | None = None) -> None:
        super().__init__(id=id)
        self.page = page
        """Messages mounted at a time."""
        self._earlier: list[TurnView] = []
        """The path's messages above the shown ones, oldest first (not mounted)."""
        self._author = ""
        self._greeting = ""
        self._greets = True
        self._showing_earlier = False

    def on_mount(self) -> None:
        self.anchor()  # stick to the bottom while a reply streams in
        self.watch(self, "scroll_y", self._scrolled, init=False)

    def bubbles(self) -> list[MessageBubble]:
        return list(self.query(MessageBubble))

    def bubble(self, message_id: int) -> MessageBubble | None:
        for b in self.bubbles():
            if b.turn.message_id == message_id:
                return b
        return None

    async def show(self, path: Sequence[TurnView], *, author: str, greeting: str) -> None:
        """Show the last page of `path`; the earlier messages wait above. `author` names the
        persona's messages; its `greeting` opens a conversation that does not start with one."""
        self._author, self._greeting = author, greeting
        await self.remove_children()
        cut = max(0, len(path) - self.page)
        self._earlier = list(path[:cut])
        self._greets = not (path and path[0].role == "assistant")
        widgets: list[Widget] = [EarlierMessages(id="earlier")] if cut else self._start()
        widgets += self._bubbles(path[cut:])
        await self.mount_all(widgets)
        if cut:
            self.query_one(EarlierMessages).hidden = cut
        self.scroll_end(animate=False)

    async def remove_from(self, message_id: int) -> None:
        """Take the message `message_id` and everything below it off the screen."""
        bubbles = self.bubbles()
        cut = next((i for i, b in enumerate(bubbles) if b.turn.message_id == message_id), None)
        if cut is not None:
            for b in bubbles[cut:]:
                await b.remove()

    def _bubbles(self, turns: Sequence[TurnView]) -> list[Widget]:
        return [MessageBubble(t, author="You" if t.role == "user" else self._author) for t in turns]

    def _start(self) -> list[Widget]:
        """What opens the conversation: the greeting, when it has one to show."""
        if not (self._greeting and self._greets):
            return []
        turn = TurnView(None, "assistant", self._greeting)
        return [MessageBubble(turn, author=self._author, greeting=True)]

    @on(messages.EarlierRequested)
    async def show_earlier(self) -> None:
        """Mount the previous page above the shown messages, keeping what is on screen where
        it is."""
        if not self._earlier or self._showing_earlier:
            return
        self._showing_earlier = True
        try:
            marker = self.query_one(EarlierMessages)
            cut = max(0, len(self._earlier) - self.page)
            page, self._earlier = self._earlier[cut:], self._earlier[:cut]
            bubbles = self._bubbles(page)
            height, y = self.virtual_size.height, self.scroll_y
            if self._earlier:
                await self.mount_all(bubbles, after=marker)
                marker.hidden = len(self._earlier)
            else:
                await self.mount_all([*self._start(), *bubbles], after=marker)
                await marker.remove()

            def keep_place() -> None:
                self.scroll_to(y=y + self.virtual_size.height - height, animate=False)

            self.call_after_refresh(keep_place)
        finally:
            self._showing_earlier = False

    def _scrolled(self, y: float) -> None:
        if y <= 0 and self._earlier and self.max_scroll_y > 0:
            self.run_worker(self.show_earlier(), group="earlier", exclusive=True)
