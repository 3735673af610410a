"""Conversation list with a search box. Reports selection and new/rename/delete upwards."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Input, Label, ListItem, ListView

from tui import messages
from tui.view import ConversationView


class _Row(ListItem):
    def __init__(self, conv: ConversationView, *, current: bool) -> None:
        super().__init__(Label(conv.title or "(untitled)", markup=False), classes="conv-row")
        self.conv = conv
        self.set_class(current, "-current")


class Sidebar(Vertical):
    BINDINGS = [
        Binding("delete", "delete", "Delete", show=False),
        Binding("f2", "rename", "Rename", show=False),
    ]

    conversations: reactive[tuple[ConversationView, ...]] = reactive((), init=False)
    current: reactive[int | None] = reactive(None, init=False)

    def compose(self) -> ComposeResult:
        yield Label("Conversations", classes="sidebar-title")
        yield Input(placeholder="Search…", id="sidebar-search")
        yield ListView(id="sidebar-list")
        yield Label("[@click=new]+ new[/]  (ctrl+n)", id="sidebar-new")

    async def watch_conversations(self) -> None:
        await self._fill()

    def watch_current(self) -> None:
        for row in self.query(_Row):
            row.set_class(row.conv.id == self.current, "-current")

    async def _fill(self) -> None:
        lv = self.query_one(ListView)
        await lv.clear()
        await lv.extend(_Row(c, current=c.id == self.current) for c in self.conversations)
        ids = [c.id for c in self.conversations]
        lv.index = ids.index(self.current) if self.current in ids else (0 if ids else None)

    def focus_search(self) -> None:
        self.query_one("#sidebar-search", Input).focus()

    @on(Input.Changed, "#sidebar-search")
    def _search(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(messages.SearchChanged(event.value))

    @on(Input.Submitted, "#sidebar-search")
    def _search_done(self) -> None:
        self.query_one(ListView).focus()

    @on(ListView.Selected, "#sidebar-list")
    def _selected(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, _Row):
            self.post_message(messages.ConversationSelected(event.item.conv.id))

    def _highlighted(self) -> int | None:
        item = self.query_one(ListView).highlighted_child
        return item.conv.id if isinstance(item, _Row) else self.current

    def action_new(self) -> None:
        self.post_message(messages.ConversationAction("new", None))

    def action_delete(self) -> None:
        self.post_message(messages.ConversationAction("delete", self._highlighted()))

    def action_rename(self) -> None:
        self.post_message(messages.ConversationAction("rename", self._highlighted()))
