"""Keeps Python's full garbage collections off the chat's frames.

A full collection walks every tracked object. With the app and its libraries loaded one took
100-175 ms on a 2-core machine, and while a long reply streamed in one came every second or
so (Textual's rendered lines are short-lived cyclic containers), stalling frames and keys
(bench/tui.py). Textual pauses the collector during smooth scrolls for the same reason
(App.PAUSE_GC_ON_SCROLL). Here:
- what is alive after start-up (and once the engine's models are loaded) is frozen out of
  the collector's reach at the next pause (`settle`);
- while a reply streams, full collections wait; young ones go on, a few ms each;
- the full collection that is then owed runs once the user has left keys and mouse alone
  for a moment, and not at the end of the reply, where it took 350 ms after 2,000 tokens;
- during a long reply that the user only reads, it runs every few seconds, so the garbage a
  stream leaves stays small (the text pauses for one frame; no key is waiting).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

NEVER = 1 << 30


def settle() -> None:
    """Move everything alive now (imports, a loaded safety model, the mounted screens) out
    of the collector's reach, so that later collections walk only what the chat made since.
    Reference counting still frees frozen objects once they are dropped."""
    gc.collect()
    gc.freeze()


class Collector:
    """When full collections may run. One per app; `tick` it a few times a second."""

    def __init__(
        self,
        *,
        idle_s: float = 1.0,
        max_wait_s: float = 60.0,
        streaming_every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        self.max_wait_s = max_wait_s
        self.streaming_every_s = streaming_every_s
        self.clock = clock
        self._streams = 0
        self._owed_since: float | None = None
        self._last_input = -float("inf")
        self._threshold: tuple[int, int, int] | None = None
        self._held_since = 0.0
        self._settle_owed = False
        self.collections = 0
        """Held-back collections run so far."""

    @property
    def owed(self) -> bool:
        return self._owed_since is not None

    @property
    def settle_owed(self) -> bool:
        return self._settle_owed

    def note_input(self) -> None:
        self._last_input = self.clock()

    def _hold(self) -> None:
        self._held_since = self.clock()
        if self._threshold is None:
            self._threshold = gc.get_threshold()
            t0, t1, _ = self._threshold
            gc.set_threshold(t0, t1, NEVER)

    def _release(self) -> None:
        if self._threshold is not None:
            gc.set_threshold(*self._threshold)
            self._threshold = None

    @contextmanager
    def streaming(self) -> Iterator[None]:
        """No automatic full collections inside (`tick` runs some while the user only reads);
        one is owed afterwards."""
        self._streams += 1
        self._hold()
        try:
            yield
        finally:
            self._streams -= 1
            if self._owed_since is None:
                self._owed_since = self.clock()

    def request_settle(self) -> None:
        """Freeze what is alive (`settle`) at the next pause: after start-up, and when a
        loaded engine arrives. Its collection takes as long as any other."""
        self._settle_owed = True

    def tick(self) -> bool:
        """Run what is held back (a full collection, or a settle) if the user is idle, or if
        a collection has waited too long. Mid-stream, only while the user just reads, and
        not more often than `streaming_every_s`: each takes a frame."""
        now = self.clock()
        idle = now - self._last_input >= self.idle_s
        if self._streams:
            since = self._owed_since if self._owed_since is not None else self._held_since
            if not idle or now - since < self.streaming_every_s:
                return False
            gc.collect()
            self._owed_since, self._held_since = None, now
            self.collections += 1
            return True
        waited = self._owed_since is not None and now - self._owed_since >= self.max_wait_s
        if not (idle or waited) or not (self._settle_owed or self._owed_since is not None):
            return False
        if self._settle_owed:
            settle()  # collects too
            self._settle_owed = False
        else:
            gc.collect()
        if self._owed_since is not None:
            self._owed_since = None
            self.collections += 1
        self._release()
        return True

    def close(self) -> None:
        """Give the collector its thresholds back (the app is closing)."""
        self._release()
