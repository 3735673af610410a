"""Every key the app knows, in one table: bindings, the help screen and the command palette
all read it, and `config.chat.keys` overrides any of them by action name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding, BindingType

Scope = Literal["app", "chat", "reply", "input"]


@dataclass(frozen=True)
class KeyAction:
    id: str
    """Action name and Textual binding id (what `config.chat.keys` names)."""
    key: str
    title: str
    scope: Scope
    show: bool = False
    """Shown in the footer."""
    palette: bool = True
    """Offered in the command palette."""
    short: str = ""
    """Footer label (defaults to the title)."""


ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("help", "f1,question_mark", "Help: every key", "app", show=True, short="Help"),
    KeyAction("command_palette", "ctrl+p", "Command palette", "app", palette=False),
    KeyAction("quit", "ctrl+q", "Quit", "app", show=True),
    KeyAction("change_theme", "ctrl+t", "Change theme", "app"),
    KeyAction("new_conversation", "ctrl+n", "New conversation", "chat", show=True, short="New"),
    KeyAction("toggle_sidebar", "ctrl+b", "Show/hide conversations", "chat"),
    KeyAction("search", "ctrl+f", "Search conversations", "chat"),
    KeyAction("rename_conversation", "f2", "Rename conversation", "chat"),
    KeyAction("delete_conversation", "ctrl+delete", "Delete conversation", "chat"),
    KeyAction("pick_persona", "f3", "Persona for this conversation", "chat"),
    KeyAction(
        "stop", "escape", "Stop the reply (keeps what came)", "chat", show=True, short="Stop"
    ),
    KeyAction("focus_reply", "ctrl+up", "Go to the last reply", "chat", show=True, short="Reply"),
    KeyAction("focus_input", "ctrl+down", "Go to the message box", "chat", palette=False),
    KeyAction("retry_reply", "ctrl+r", "Retry the last reply, in place", "chat"),
    KeyAction("memories", "f4", "Memories: what I remember about you", "app"),
    KeyAction("retrain", "f9", "Retrain on my feedback", "app"),
    KeyAction("copy_text", "ctrl+c", "Copy selected text (drag to select)", "chat", palette=False),
    KeyAction("retry_server", "ctrl+s", "Retry the server", "chat"),
    KeyAction("rate_up", "plus,u", "Thumbs up (again to undo)", "reply"),
    KeyAction("rate_down", "minus,j", "Thumbs down (again to undo)", "reply"),
    KeyAction("reason", "w", "Say why (rating reason)", "reply"),
    KeyAction("prev_alternative", "left", "Previous alternative / branch", "reply"),
    KeyAction("next_alternative", "right", "Next alternative / branch", "reply"),
    KeyAction("choose", "enter", "Pick the alternative shown", "reply"),
    KeyAction("regenerate", "r", "Regenerate the reply", "reply"),
    KeyAction("alternatives", "a", "Ask for several replies", "reply"),
    KeyAction(
        "edit", "e", "Edit: my message (resent as a branch), a reply (the one I wanted)", "reply"
    ),
    KeyAction("copy", "c", "Copy the message", "reply"),
    KeyAction("delete_turn", "delete", "Delete this turn", "reply"),
    KeyAction("safety", "s", "What safety changed, and why", "reply"),
    KeyAction("send", "enter", "Send", "input", palette=False),
    KeyAction("newline", "shift+enter,ctrl+j", "New line", "input", palette=False),
)

BY_ID = {a.id: a for a in ACTIONS}


def bindings(scope: Scope, *, priority: bool = False) -> list[BindingType]:
    """Textual bindings for one scope; `id` makes each overridable through the keymap."""
    return [
        Binding(
            a.key,
            a.id,
            a.short or a.title,
            show=a.show,
            id=a.id,
            priority=priority,
            tooltip=a.title,
        )
        for a in ACTIONS
        if a.scope == scope and a.scope != "input"
    ]


def effective_key(action_id: str, overrides: Mapping[str, str]) -> str:
    return overrides.get(action_id, BY_ID[action_id].key)


_SYMBOLS = {"question_mark": "?", "plus": "+", "minus": "-"}


def display_keys(keys: str) -> str:
    """ "f1,question_mark" → "f1 / ?" for people."""
    return " / ".join(_SYMBOLS.get(k.strip(), k.strip()) for k in keys.split(","))
