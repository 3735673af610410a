"""A real terminal for the kill tests: one tmux server of our own (its own socket, so no
other tmux is touched) with one pane running a real `companion chat`; keys in, screen out."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHAT = [str(ROOT / ".venv" / "bin" / "companion"), "chat"]


class Terminal:
    def __init__(
        self, env: Mapping[str, str], dir: Path, *, size: tuple[int, int] = (120, 40)
    ) -> None:
        self.dir = dir
        """Where the exit statuses are written."""
        self.status_file = dir / "none.status"
        self._chat_pid: int | None = None
        self.socket = f"companion-faults-{uuid.uuid4().hex[:8]}"
        self.env = dict(env)
        self.size = size
        self._started = False
        self._windows = 0
        self.target = "main"
        """The window the chat runs in now."""

    # -- tmux -------------------------------------------------------------------------------

    def tmux(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env={**os.environ, **self.env},
        )
        if out.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args[:2])}: {out.stderr.strip()}")
        return out.stdout

    def start(self, argv: Sequence[str] = CHAT) -> None:
        """Run `argv` in a new window (the first call makes the session), as a user starting
        the chat again in the same terminal; the window before it is closed. A small shell
        records its exit status (tmux loses it for panes started after a kill -9)."""
        env_args = [a for k, v in self.env.items() for a in ("-e", f"{k}={v}")]
        old = self.target if self._started else None
        self._windows += 1
        name = f"w{self._windows}"
        self.status_file = self.dir / f"{name}.status"
        wrapped = ["sh", "-c", 'f=$1; shift; "$@"; echo $? > "$f"', "sh", str(self.status_file)]
        if not self._started:
            w, h = self.size
            self.tmux("new-session", "-d", "-s", "main", "-n", name, "-x", str(w), "-y", str(h),
                      *env_args, "-c", str(ROOT), "--", *wrapped, *argv)  # fmt: skip
            # A pane that ended stays, showing what it showed last.
            self.tmux("set-option", "-g", "remain-on-exit", "on")
            self.tmux("set-option", "-w", "-t", f"main:{name}", "remain-on-exit", "on")
            self._started = True
        else:
            self.tmux("new-window", "-t", "main:", "-n", name, *env_args, "-c", str(ROOT),
                      "--", *wrapped, *argv)  # fmt: skip
        self.target = f"main:{name}"
        if old is not None:
            subprocess.run(
                ["tmux", "-L", self.socket, "kill-window", "-t", old], capture_output=True
            )
        self._chat_pid = None

    def close(self) -> None:
        if self._started:
            subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
            self._started = False
        # tmux leaves its socket file behind.
        base = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (base / self.socket).unlink(missing_ok=True)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the pane -----------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        """The chat's process: the child of the pane's shell."""
        if self._chat_pid is None:
            shell = int(self.tmux("display-message", "-p", "-t", self.target, "#{pane_pid}"))
            deadline = time.monotonic() + 10
            while self._chat_pid is None:
                children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
                if children:
                    self._chat_pid = int(children[0])
                elif time.monotonic() > deadline:
                    raise AssertionError("the chat did not start")
                else:
                    time.sleep(0.05)
        return self._chat_pid

    def exit_status(self) -> int | None:
        """The chat's exit status once it ended (128 + N when signal N ended it)."""
        try:
            text = self.status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.target)

    def history(self) -> str:
        """Everything the pane printed, scrollback included."""
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", self.target)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.target, "-l", text)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        """Wait until the screen matches `pattern` (a regex); returns the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for /{pattern}/; the screen:\n{screen}")
            time.sleep(0.1)

    def wait_gone(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if not re.search(pattern, screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"/{pattern}/ stayed; the screen:\n{screen}")
            time.sleep(0.1)

    def wait_dead(self, timeout: float = 20.0) -> int:
        """Wait for the chat to end; its exit status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.exit_status()
            if status is not None:
                return status
            time.sleep(0.1)
        raise AssertionError(f"the chat did not exit; the screen:\n{self.screen()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        os.kill(self.pid, sig)


def gone(pid: int, timeout: float = 20.0) -> bool:
    """True once process `pid` has ended (it is not our child: poll /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.05)
    return False
