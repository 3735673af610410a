"""Feedback writes that wait out a busy database instead of failing.

Another program (a `companion retrain`, a backup, a second chat) may hold SQLite's write lock
for longer than the busy timeout. A rating or a pick is then not dropped: `persist` says so
once, keeps the write, tries again until it goes through, and says when it did. The screen
shows the new state only after the write committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from tui.backend import database_busy

T = TypeVar("T")

Notify = Callable[[str, str], object]
"""notify(text, severity) — the app's notification."""


async def persist(
    write: Callable[[], T],
    *,
    what: str,
    notify: Notify,
    patience_s: float = 2.0,
    retry_s: tuple[float, float] = (0.5, 5.0),
    busy: Callable[[BaseException], bool] = database_busy,
) -> T:
    """Run `write` (a store call) in a thread until it commits. A write still waiting after
    `patience_s`, or refused as busy, is reported once and retried every `retry_s[0]`
    seconds, doubling up to `retry_s[1]`. Any other error is raised."""
    told = False

    def tell() -> None:
        nonlocal told
        if not told:
            told = True
            notify(
                f"The database is busy (another program is using it). Your {what} is kept "
                "and will be saved as soon as it is free.",
                "warning",
            )

    delay = retry_s[0]
    while True:
        task = asyncio.ensure_future(asyncio.to_thread(write))
        done, _ = await asyncio.wait({task}, timeout=patience_s)
        if not done:
            tell()
        try:
            result = await task
        except Exception as e:
            if not busy(e):
                raise
            tell()
            await asyncio.sleep(delay)
            delay = min(delay * 2, retry_s[1])
            continue
        if told:
            notify(f"Your {what} is saved.", "information")
        return result
