"""One reply's engine events, played into its bubbles while they arrive.

The events are `companion.events`' dataclasses, matched by type: checked text goes into the
body as it comes, the stored ids onto the turns, a reset clears what was shown. Only candidate
0 is live on screen; the others arrive stored (the chat reloads the turn at the end). What the
rest of the screen shows (latency, a failure, a safety notice) goes out through `post` and
`notify`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

from textual.message import Message

from companion.events import (
    EngineEvent,
    Remembered,
    ReplyDone,
    ReplyFailed,
    ReplyReset,
    ReplyStarted,
    SafetyNotice,
    TextDelta,
)
from companion.persona import PersonaError
from tui import messages
from tui.view import StreamStats
from tui.widgets.message_bubble import MessageBubble


async def chain(
    first: Awaitable[EngineEvent], rest: AsyncIterator[EngineEvent]
) -> AsyncIterator[EngineEvent]:
    """The first event (already requested), then the rest of the stream."""
    try:
        yield await first
    except StopAsyncIteration:
        return
    async for ev in rest:
        yield ev


def failure_line(reason: str, error: BaseException | None) -> str:
    """The one line a failed reply shows, with the fix when there is one to give."""
    if not isinstance(error, PersonaError):
        return reason
    names_a_file = any(sep in reason.split(":", 1)[0] for sep in "/\\")
    fix = "fix the file, or press F3" if names_a_file else "press F3"
    return f"{reason}; {fix} to talk with another persona"


def remembered_line(notes: tuple[str, ...]) -> str:
    """What the chat says when it stored what the user asked it to remember.

    >>> remembered_line(("Your sister is called Ana.",))
    'Remembered: Your sister is called Ana. (F4 shows your memories)'
    """
    return f"Remembered: {' '.join(notes)} (F4 shows your memories)"


async def play(
    events: AsyncIterator[EngineEvent],
    bubble: MessageBubble,
    *,
    user_bubble: MessageBubble | None,
    started: float,
    post: Callable[[Message], object],
    notify: Callable[[str], object],
    stored: Callable[[int], object] = lambda _id: None,
) -> None:
    """Show `events` in `bubble` (the reply) and `user_bubble` (the message it answers, when
    it is new). `started`: when the user sent it (perf_counter), for the first paint.
    `stored(reply id)` runs once the engine has recorded the turn, before any text."""
    first_paint: float | None = None
    stream = bubble.get_stream()
    try:
        async for ev in events:
            match ev:
                case TextDelta(text=text, index=0):
                    await stream.write(text)
                    if first_paint is None:
                        first_paint = time.perf_counter() - started
                case ReplyStarted(user_message_id=user_id, message_id=message_id):
                    if user_bubble is not None and user_id is not None:
                        user_bubble.turn = replace(user_bubble.turn, message_id=user_id)
                    bubble.turn = replace(bubble.turn, message_id=message_id)
                    stored(message_id)
                case ReplyReset(index=0):
                    # The safety pipeline replaced what was shown (e.g. a crisis reply).
                    await stream.stop()
                    bubble.set_body("")
                    stream = bubble.get_stream()
                case ReplyDone(ttft_ms=ttft_ms, tokens_per_s=tok_s):
                    first_paint_ms = first_paint * 1000 if first_paint else None
                    post(messages.StatsUpdated(StreamStats(ttft_ms, tok_s, first_paint_ms)))
                case ReplyFailed(reason=reason, error=error):
                    post(messages.ReplyFailed(failure_line(reason, error)))
                case SafetyNotice(text=text):
                    notify(text)
                case Remembered(notes=notes):
                    notify(remembered_line(notes))
                case _:
                    pass  # the other candidates, and CandidateReady: read back from the store
    finally:
        await stream.stop()
