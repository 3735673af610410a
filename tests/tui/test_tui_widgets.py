"""Single widgets in a small host app (no engine, no store)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets.markdown import MarkdownFence

from tui import messages
from tui.break_timer import BreakTimer
from tui.view import CandidateView, StatusView, TurnView
from tui.widgets.message_bubble import MessageBubble
from tui.widgets.status_bar import StatusBar


class _Host(App[None]):
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


async def test_markdown_is_structured_while_streaming():
    bubble = MessageBubble(TurnView(None, "assistant", ""), author="Juniper", streaming=True)
    app = _Host(bubble)
    async with app.run_test() as pilot:
        stream = bubble.get_stream()
        for piece in ["Here:\n\n", "- one\n", "- two\n\n", "```py\n", "x = 1\n", "y = 2\n"]:
            await stream.write(piece)
            await pilot.pause(0.03)

        def fenced() -> bool:
            fences = bubble.body.query(MarkdownFence)
            return bool(fences) and "y = 2" in fences.last().code

        for _ in range(100):  # appends are paced (a few a second): wait for the last one
            if fenced():
                break
            await pilot.pause(0.02)
        # The fence is not closed yet, and still it is a code block, with the list above it.
        assert fenced()
        assert bubble.body.query("MarkdownBulletList")
        await stream.write("```\n\nDone.")
        await stream.stop()
        assert bubble.markdown_source.endswith("Done.")


async def test_a_long_streamed_reply_is_split_into_sealed_chunks_between_blocks():
    from textual.widgets import Markdown

    bubble = MessageBubble(TurnView(None, "assistant", ""), author="Juniper", streaming=True)
    app = _Host(bubble)
    pieces = []
    for i in range(12):
        pieces += [f"Paragraph {i} starts", " and ends.\n\n"]
        if i == 5:
            pieces += ["```py\n", "a = 1\n", "b = 2\n", "```\n\n"]
    full = "".join(pieces)
    async with app.run_test() as pilot:
        stream = bubble.get_stream()
        for piece in pieces:
            await stream.write(piece)
            await pilot.pause(0.01)
        await stream.stop()
        await pilot.pause()
        chunks = list(bubble.query(".bubble-body").results(Markdown))
        assert len(chunks) >= 2
        assert all(c.has_class("-sealed") for c in chunks[:-1])
        # A chunk is sealed once it passes 8 blocks (more when one paced append brought many).
        assert all(len(c.children) >= 8 for c in chunks[:-1])
        assert bubble.markdown_source == full
        # Every block is on screen once, in order, and the fence was never cut in two.
        shown = [b for c in chunks for b in c.children]
        paragraphs = [str(b._content) for b in shown if type(b).__name__ == "MarkdownParagraph"]
        assert [p.split()[1] for p in paragraphs] == [str(i) for i in range(12)]
        fences = [b for c in chunks for b in c.query(MarkdownFence)]
        assert len(fences) == 1 and fences[0].code.strip() == "a = 1\nb = 2"

        # Stored text equal to what streamed in: nothing is rendered again.
        bubble.streaming = False
        bubble.turn = TurnView(5, "assistant", full)
        await pilot.pause()
        assert list(bubble.query(".bubble-body").results(Markdown)) == chunks
        # Different text (e.g. the safety filter replaced it): one body again.
        bubble.turn = TurnView(5, "assistant", "Replaced.")
        await app.workers.wait_for_complete()
        await pilot.pause()
        bodies = list(bubble.query(".bubble-body").results(Markdown))
        assert len(bodies) == 1 and bodies[0].source == "Replaced."
        assert not bodies[0].has_class("-sealed")


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
