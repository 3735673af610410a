"""One message: author line, Markdown body (streamable), rating/safety/alternative state, and
a clickable toolbar. Keys act on the focused bubble; everything it does is reported upwards."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Label, Static

from tui import keys, messages
from tui.view import TurnView
from tui.widgets.markdown_view import MarkdownView

_BADGE = {
    "softened": "softened",
    "replaced": "replaced",
    "regenerated": "calmer retry",
    "crisis": "support message",
    "blocked": "replaced",
}


class PacedStream:
    """Streams Markdown fragments into a body a few appends a second (same write / stop as
    Textual's MarkdownStream).

    Tokens arrive faster than anyone reads; taking them in at most `rate` appends a second
    bounds the layout and repaint work of a fast reply (bench/tui.py), and the first fragment
    is shown at once.
    """

    def __init__(self, body: MarkdownView, *, rate: float = 20.0) -> None:
        self.body = body
        self.interval = 1.0 / rate
        self._pending: list[str] = []
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = asyncio.create_task(self._run())

    async def write(self, fragment: str) -> None:
        if fragment:
            self._pending.append(fragment)
            self._new.set()
            await asyncio.sleep(0)

    def _flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self.body.append(text)

    async def _run(self) -> None:
        try:
            while await self._new.wait():
                self._new.clear()
                self._flush()
                await asyncio.sleep(self.interval)
        except asyncio.CancelledError:
            pass
        self._flush()

    async def stop(self) -> None:
        """Write out what is pending and finish."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # A task cancelled before it first ran raises here; only our own cancel goes on.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
        self._flush()


class _Toolbar(Static):
    """The mouse route to the bubble's actions (each link runs one)."""

    @dataclass
    class Pressed(Message):
        action: str

    def action_tool(self, action: str) -> None:
        self.post_message(self.Pressed(action))


class MessageBubble(Vertical, can_focus=True):
    BINDINGS = keys.bindings("reply")

    turn: reactive[TurnView] = reactive(TurnView(None, "assistant", ""), init=False)
    streaming: reactive[bool] = reactive(False, init=False)

    def __init__(
        self, turn: TurnView, *, author: str, streaming: bool = False, greeting: bool = False
    ) -> None:
        super().__init__(
            classes=f"bubble -{turn.role}"
            + (" -greeting" if greeting else "")
            + (" -streaming" if streaming else "")
        )
        self.greeting = greeting
        self.can_focus = not greeting  # the persona's greeting is not stored: nothing to act on
        self.set_reactive(MessageBubble.turn, turn)
        self.set_reactive(MessageBubble.streaming, streaming)
        self.author = author

    # -- composition ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label(self._header(), classes="bubble-header")
        yield MarkdownView(self._shown_text(self.turn), classes="bubble-body")
        if not self.greeting:
            yield _Toolbar(self._toolbar(), classes="bubble-toolbar")

    @property
    def body(self) -> MarkdownView:
        return self.query_one(".bubble-body", MarkdownView)

    def get_stream(self) -> PacedStream:
        """A stream into the body; the caller writes fragments and stops it."""
        return PacedStream(self.body)

    @property
    def markdown_source(self) -> str:
        """The Markdown the body shows (streamed text included)."""
        body = next(iter(self.query(".bubble-body").results(MarkdownView)), None)
        return body.source if body is not None else self._shown_text(self.turn)

    def set_body(self, text: str) -> None:
        self.body.update(text)

    def _header(self) -> Content:
        t = self.turn
        parts: list[Content] = [Content.styled(self.author, "bold")]
        if self.streaming:
            parts.append(Content.styled(" · typing…", "dim italic"))
        elif t.unfinished:
            what = "interrupted" if self._shown_text(t).strip() else "interrupted before any text"
            parts.append(Content.styled(f" · {what} (↻ regenerates it)", "italic $warning"))
        elif t.status != "complete":
            parts.append(Content.styled(f" · {t.status}", "italic $warning"))
        cand = t.candidate
        if t.role == "assistant" and t.browsable:
            mark = " ✓" if cand is not None and cand.id == t.chosen_id else ""
            at = "–" if t.partial else str(t.shown + 1)
            parts.append(Content.styled(f"  ‹ {at}/{len(t.candidates)}{mark} ›", "$accent"))
        if t.role == "user" and len(t.siblings) > 1:
            parts.append(
                Content.styled(f"  ‹ branch {t.branch_index + 1}/{len(t.siblings)} ›", "$accent")
            )
        if cand is not None:
            if cand.rating == 1:
                parts.append(Content.styled("  👍", "$success"))
            elif cand.rating == -1:
                parts.append(Content.styled("  👎", "$error"))
            if cand.reason:
                parts.append(Content.styled(f" “{cand.reason}”", "dim"))
            badge = _BADGE.get(cand.safety_action or "", cand.safety_action)
            if badge and cand.safety_action != "pass":
                parts.append(Content.styled(f"  🛡 {badge} (s: why)", "$warning"))
        return Content("").join(parts)

    def _toolbar(self) -> Content:
        if self.turn.role == "user":
            links = [("edit", "edit"), ("copy", "copy"), ("del", "delete_turn")]
            if len(self.turn.siblings) > 1:
                links = [("‹", "prev_alternative"), ("›", "next_alternative"), *links]
        else:
            links = [
                ("👍", "rate_up"),
                ("👎", "rate_down"),
                ("why", "reason"),
                ("↻", "regenerate"),
                ("more", "alternatives"),
                ("✎", "edit"),
            ]
            if self.turn.browsable:
                links += [("‹", "prev_alternative"), ("›", "next_alternative"), ("pick", "choose")]
            links += [("copy", "copy"), ("del", "delete_turn")]
        return Content("  ").join(
            Content.from_markup(f"[@click=tool('{action}')]{label}[/]") for label, action in links
        )

    def _refresh_parts(self) -> None:
        # query (not query_one): a bubble being removed may have lost its parts already.
        for header in self.query(".bubble-header").results(Label):
            header.update(self._header())
        for bar in self.query(_Toolbar):
            bar.update(self._toolbar())

    @staticmethod
    def _shown_text(turn: TurnView) -> str:
        return turn.candidate.text if turn.candidate is not None else turn.text

    def watch_turn(self, old: TurnView, new: TurnView) -> None:
        self.set_class(new.status != "complete", "-incomplete")
        text = self._shown_text(new)
        if self.is_attached and not self.streaming:
            self.set_body(text)  # a no-op when the stored text is what streamed in
        self._refresh_parts()

    def watch_streaming(self, streaming: bool) -> None:
        self.set_class(streaming, "-streaming")
        self._refresh_parts()

    @on(_Toolbar.Pressed)
    async def _tool(self, event: _Toolbar.Pressed) -> None:
        event.stop()
        self.focus()
        await self.run_action(event.action)

    # -- actions: each reports upwards; the screen records and sends back a new `turn` --------

    def _is_reply(self) -> bool:
        return self.turn.role == "assistant" and self.turn.message_id is not None

    def _rate(self, value: int) -> None:
        cand = self.turn.candidate
        if not self._is_reply() or cand is None or self.streaming:
            return
        assert self.turn.message_id is not None
        new = None if cand.rating == value else value  # same key again undoes
        self.post_message(messages.ReplyRated(self.turn.message_id, cand.id, new))

    def action_rate_up(self) -> None:
        self._rate(1)

    def action_rate_down(self) -> None:
        self._rate(-1)

    def action_reason(self) -> None:
        cand = self.turn.candidate
        if self._is_reply() and cand is not None and self.turn.message_id is not None:
            self.post_message(messages.ReasonRequested(self.turn.message_id, cand.id))

    def _browse(self, step: int) -> None:
        t = self.turn
        if t.message_id is None or self.streaming:
            return
        if t.role == "assistant" and t.browsable:
            n = len(t.candidates)
            shown = (0 if step > 0 else n - 1) if t.partial else (t.shown + step) % n
            self.turn = replace(t, shown=shown, partial=False)
            self.post_message(messages.AlternativeShown(t.message_id, t.candidates[shown].id))
        elif t.role == "user" and len(t.siblings) > 1:
            sibling = t.siblings[(t.branch_index + step) % len(t.siblings)]
            self.post_message(messages.BranchSelected(t.message_id, sibling))

    def action_prev_alternative(self) -> None:
        self._browse(-1)

    def action_next_alternative(self) -> None:
        self._browse(1)

    def action_choose(self) -> None:
        cand = self.turn.candidate
        if self._is_reply() and cand is not None and self.turn.message_id is not None:
            self.post_message(messages.AlternativeChosen(self.turn.message_id, cand.id))

    def action_regenerate(self) -> None:
        if self._is_reply() and not self.streaming and self.turn.message_id is not None:
            self.post_message(messages.RegenerateRequested(self.turn.message_id, several=False))

    def action_alternatives(self) -> None:
        if self._is_reply() and not self.streaming and self.turn.message_id is not None:
            self.post_message(messages.RegenerateRequested(self.turn.message_id, several=True))

    def action_edit(self) -> None:
        if self.turn.message_id is None:
            return
        if self.turn.role == "user":
            self.post_message(messages.EditRequested(self.turn.message_id, self.turn.text))
            return
        cand = self.turn.candidate
        if self._is_reply() and not self.streaming and cand is not None:
            self.post_message(messages.ReplyEditRequested(self.turn.message_id, cand.id, cand.text))

    def action_copy(self) -> None:
        cand = self.turn.candidate
        self.post_message(messages.CopyRequested(cand.text if cand else self.turn.text))

    def action_delete_turn(self) -> None:
        if self.turn.message_id is not None and not self.streaming:
            self.post_message(messages.DeleteTurnRequested(self.turn.message_id))

    def action_safety(self) -> None:
        cand = self.turn.candidate
        if self.turn.message_id is not None and cand is not None and cand.safety_action:
            self.post_message(messages.SafetyDetailsRequested(self.turn.message_id, cand.id))
