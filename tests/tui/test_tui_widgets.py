"""Single widgets in a small host app (no engine, no store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult

import tui.app
from tui import messages
from tui.break_timer import BreakTimer
from tui.view import CandidateView, StatusView, TurnView
from tui.widgets import markdown_view
from tui.widgets.markdown_view import MarkdownView
from tui.widgets.message_bubble import MessageBubble
from tui.widgets.status_bar import StatusBar


class _Host(App[None]):
    CSS_PATH = Path(tui.app.__file__).with_name("companion.tcss")  # the app's own styles

    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget
        self.seen: list[object] = []

    def compose(self) -> ComposeResult:
        yield self.widget

    def on_reply_rated(self, event: messages.ReplyRated) -> None:
        self.seen.append(event)

    def on_alternative_shown(self, event: messages.AlternativeShown) -> None:
        self.seen.append(event)


def _code_lines(view: MarkdownView) -> list[str]:
    """Lines drawn on a code block's background (Rich's Syntax), as text."""
    lines = view._strips(view.size.width)
    return [
        s.text.strip()
        for s in lines
        if s.text.strip() and any(seg.style and seg.style.bgcolor for seg in s)
    ]


async def test_markdown_is_structured_while_streaming():
    bubble = MessageBubble(TurnView(None, "assistant", ""), author="Juniper", streaming=True)
    app = _Host(bubble)
    async with app.run_test() as pilot:
        stream = bubble.get_stream()
        for piece in ["Here:\n\n", "- one\n", "- two\n\n", "```py\n", "x = 1\n", "y = 2\n"]:
            await stream.write(piece)
            await pilot.pause(0.03)
        for _ in range(100):  # appends are paced (a few a second): wait for the last one
            if "y = 2" in _code_lines(bubble.body):
                break
            await pilot.pause(0.02)
        # The fence is not closed yet, and still it is a code block, with the list above it.
        assert _code_lines(bubble.body) == ["x = 1", "y = 2"]
        shown = bubble.body.plain_lines
        assert "• one" in [line.strip() for line in shown]
        assert not any("```" in line for line in shown)
        await stream.write("```\n\nDone.")
        await stream.stop()
        assert bubble.markdown_source.endswith("Done.")
        assert bubble.body.plain_lines[-1] == "Done."


async def test_the_first_text_of_a_reply_paints_without_a_new_layout():
    bubble = MessageBubble(TurnView(None, "assistant", ""), author="Juniper", streaming=True)
    async with _Host(bubble).run_test() as pilot:
        await pilot.pause()
        assert bubble.body.size.height == 1  # a line is kept for it
        bubble.body.append("Hello there.")
        assert not bubble.body._layout_required
        await pilot.pause()
        assert bubble.body.plain_lines == ["Hello there."]
        bubble.body.append(" More words, " * 20)  # a second line: the layout follows
        assert bubble.body._layout_required
        await pilot.pause()
        assert bubble.body.size.height == len(bubble.body.plain_lines) > 1


async def test_a_streamed_reply_renders_its_finished_blocks_once():
    bubble = MessageBubble(TurnView(None, "assistant", ""), author="Juniper", streaming=True)
    app = _Host(bubble)
    pieces = []
    for i in range(12):
        pieces += [f"Paragraph {i} starts", " and ends.\n\n"]
        if i == 5:
            pieces += ["```py\n", "a = 1\n", "b = 2\n", "```\n\n"]
    full = "".join(pieces)
    async with app.run_test() as pilot:
        view = bubble.body
        rendered: list[tuple[str, int]] = []
        original = markdown_view.render_block

        def counting(console, source, width, *args):
            rendered.append((source, width))
            return original(console, source, width, *args)

        markdown_view.render_block = counting
        try:
            stream = bubble.get_stream()
            for piece in pieces:
                await stream.write(piece)
                await pilot.pause(0.01)
            await stream.stop()
            await pilot.pause()
        finally:
            markdown_view.render_block = original
        assert bubble.markdown_source == full
        # A finished block is rendered once (per width: a scrollbar that comes narrows the
        # view); only the open last block is rendered again as it grows.
        finished = view._doc.finished
        assert len(finished) == 12  # 11 paragraphs and the fence; the last one is still open
        assert all(rendered.count(r) == 1 for r in rendered if r[0] in finished)
        assert len({w for _s, w in rendered}) <= 2
        paragraphs = [line for line in view.plain_lines if line.startswith("Paragraph")]
        assert [p.split()[1] for p in paragraphs] == [str(i) for i in range(12)]
        assert _code_lines(view) == ["a = 1", "b = 2"]
        # Stored text equal to what streamed in: nothing is rendered again.
        before = view._strips(view.size.width)
        bubble.streaming = False
        bubble.turn = TurnView(5, "assistant", full)
        await pilot.pause()
        assert view._strips(view.size.width) is before
        # Different text (e.g. the safety filter replaced it) replaces the body.
        bubble.turn = TurnView(5, "assistant", "Replaced.")
        await pilot.pause()
        assert view.plain_lines == ["Replaced."]


async def test_bubble_reports_rating_toggle_and_browsing():
    turn = TurnView(
        7,
        "assistant",
        "a",
        candidates=(CandidateView(1, "a", rating=1), CandidateView(2, "b")),
        shown=0,
    )
    bubble = MessageBubble(turn, author="Juniper")
    app = _Host(bubble)
    async with app.run_test() as pilot:
        bubble.focus()
        await pilot.press("plus")  # already 👍: undo
        await pilot.press("right")
        await pilot.pause()
        rated, shown = app.seen
        assert rated == messages.ReplyRated(7, 1, None)
        assert shown == messages.AlternativeShown(7, 2)
        assert bubble.markdown_source == "b"


def test_status_bar_shows_every_field():
    bar = StatusBar()
    bar.status = StatusView(
        server="starting",
        progress=0.4,
        model="smollm2-135m-instruct",
        adapter="v3",
        ttft_ms=171.2,
        tok_s=24.0,
        safety_mode="fallback filter (no Detoxify weights)",
        new_feedback=12,
    )
    text = str(bar.render())
    for part in (
        "starting 40%",
        "smollm2-135m-instruct + v3",
        "TTFT 171 ms",
        "24.0 tok/s",
        "safety: fallback",
        "12 new feedback",
    ):
        assert part in text
    bar.status = StatusView(server="down", server_detail="connection refused")
    assert "down (connection refused)" in str(bar.render())


@pytest.mark.parametrize(
    "events, now, due",
    [
        ([0, 300, 600, 900, 1200], 1200, True),  # 20 minutes without a long pause
        ([0, 300], 1200, False),  # the last message was 15 minutes ago: a break happened
        ([0, 300, 1300, 1400], 1400, False),  # a 16-minute gap restarted the stretch
    ],
)
def test_break_timer(events, now, due):
    t = BreakTimer(minutes=20)
    for e in events:
        t.activity(e)
    assert t.due(now) is due
    assert t.due(now) is False  # once per stretch
