"""SIGTERM (`kill`) and SIGHUP (the terminal closed) close the app as Ctrl+Q does: a reply
that is streaming is kept, marked interrupted, then the app exits with status 128 + the
signal's number.

A closed terminal needs more care. Writes to it fail, Textual's output thread dies, and the
next screen updates block the event loop for good. So SIGHUP is caught at the Python level
(its handler runs even while the loop is blocked), points the standard streams at /dev/null
and starts a watchdog: if the orderly close has not ended the process after `grace_s`, the
watchdog marks the reply interrupted itself and ends the process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

from textual.app import App


class CloseOnSignal:
    def __init__(
        self,
        app: App[Any],
        close: Callable[[], Awaitable[None]],
        last_resort: Callable[[], None],
        *,
        grace_s: float = 5.0,
    ) -> None:
        """`close()`: the orderly part (stop and store the reply), awaited on the loop.
        `last_resort()`: the same done from a thread, when the loop is stuck."""
        self.app = app
        self._close = close
        self._last_resort = last_resort
        self.grace_s = grace_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_hup: Any = None
        self._fired = False

    def install(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._loop.add_signal_handler(signal.SIGTERM, self._fire, signal.SIGTERM)
            self._previous_hup = signal.signal(signal.SIGHUP, self._hangup)
        except (NotImplementedError, RuntimeError, ValueError):
            self._loop = None  # not the main thread, or no signals here: defaults stay

    def remove(self) -> None:
        if self._loop is None:
            return
        self._loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGHUP, self._previous_hup or signal.SIG_DFL)
        self._loop = None

    def _hangup(self, signum: int, _frame: FrameType | None) -> None:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        threading.Thread(target=self._watchdog, args=(signum,), daemon=True).start()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._fire, signum)

    def _watchdog(self, signum: int) -> None:
        time.sleep(self.grace_s)
        try:
            self._last_resort()
        finally:
            os._exit(128 + signum)

    def _fire(self, signum: int) -> None:
        if not self._fired:
            self._fired = True
            self.app.run_worker(self._close_then_exit(signum), group="closing")

    async def _close_then_exit(self, signum: int) -> None:
        try:
            await self._close()
        finally:
            self.app.exit(return_code=128 + signum)
