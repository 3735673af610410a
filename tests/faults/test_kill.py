"""Kills of a real `companion chat` in a real terminal (tmux), then the chat started again:
what the user sees after recovery and what is stored. The model is tests/faults/sse_server.py
through `server.url`, so no vLLM is needed."""

from __future__ import annotations

import re
import shutil
import signal
import time

import pytest
from kill_setup import Home, focus_reply, restart
from sse_server import SSEServer
from terminal import Terminal, gone

from tui import state as ui_state

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)"),
]


def test_kill_9_while_a_reply_streams_resumes_at_the_saved_text(
    home: Home, term: Terminal, held_sse: SSEServer
):
    restart(term)
    term.type("Tell me a story")
    term.keys("Enter")
    term.wait_for(r"Word 5\.")
    assert held_sse.wait_held()
    time.sleep(0.3)  # the sentence's save is off the UI thread: give it its moment
    term.kill(signal.SIGKILL)
    held_sse.release()

    # Stored: the message, and the reply as far as its last finished sentence.
    (user, reply) = home.messages()
    assert user[2:] == ("user", "complete", "Tell me a story")
    assert reply[1] == user[0] and reply[2:4] == ("assistant", "generating")
    assert reply[4] == held_sse.text(5)

    screen = restart(term)  # the next start marks it interrupted and opens there
    assert "Tell me a story" in screen and "Word 5." in screen
    assert "interrupted" in screen
    assert home.messages()[1][3] == "interrupted"

    term.keys("C-r")  # regenerated in place
    term.wait_for(r"Word 8\.")
    term.wait_gone("typing")
    (user2, reply2) = home.messages()
    assert reply2[0] == reply[0] and reply2[3:] == ("complete", held_sse.text(8))
    assert len(home.store.candidates(reply[0])) == 1

    term.type("And then?")
    term.keys("Enter")
    term.wait_for(r"And then\?")
    term.wait_gone("typing")
    third = home.messages()[2]
    assert third[1:3] == (reply[0], "user")  # it continues from the true end
    term.keys("C-q")
    assert term.wait_dead() == 0


def test_kill_9_right_after_a_rating_a_pick_and_an_edit(home: Home, term: Terminal):
    s = home.store
    conv = s.create_conversation("default", "Kills")
    user = s.add_message(conv.id, "user", "Any plans?")
    reply = s.add_message(conv.id, "assistant", "", user.id)
    first = s.add_candidate(reply.id, "A walk in the park.", shown=True)
    second = s.add_candidate(reply.id, "A good book at home.")
    assert first.id is not None and second.id is not None
    ui_state.save(
        home.config.paths.state_file, ui_state.UiState(accepted=True, last_conversation=conv.id)
    )

    restart(term)
    term.wait_for("A walk in the park")
    focus_reply(term)
    term.type("+")
    term.wait_for(r"1/2 › +👍")  # in the header only once it is stored
    term.kill()
    assert s.rating_of(first.id) is not None
    screen = restart(term)
    assert re.search(r"1/2 › +👍", screen)

    focus_reply(term)
    term.keys("Right")
    term.wait_for(r"2/2 ›")
    term.keys("Enter")
    term.wait_for(r"2/2 ✓")
    term.kill()
    assert [c.candidate_id for c in s.choices(reply.id)] == [second.id]
    screen = restart(term)
    assert "2/2 ✓" in screen and "A good book at home." in screen

    focus_reply(term)
    term.keys("BTab")  # the user's message, above the reply
    time.sleep(0.3)
    term.type("e")
    term.wait_for("editing:")
    term.keys("End")
    term.type(" Tonight?")
    term.keys("Enter")
    term.wait_for(r"Word 5\.")
    time.sleep(0.3)
    term.kill()
    edited = [m for m in home.messages() if m[4] == "Any plans? Tonight?"]
    assert len(edited) == 1 and edited[0][1] is None  # a sibling of the first message
    screen = restart(term)
    assert "Any plans? Tonight?" in screen and "branch 2/2" in screen
    assert "Word 5." in screen and "interrupted" in screen
    assert "A good book at home." not in screen  # the other branch is not shown
    assert s.rating_of(first.id) is not None  # nothing earlier was lost
    term.keys("C-q")
    assert term.wait_dead() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_closes_the_chat_cleanly_and_keeps_the_reply(
    home: Home, term: Terminal, held_sse: SSEServer, sig: int
):
    restart(term)
    term.type("Tell me a story")
    term.keys("Enter")
    term.wait_for(r"Word 5\.")
    pid = term.pid
    if sig == signal.SIGHUP:
        term.tmux("kill-pane", "-t", term.target)  # the terminal is closed: tmux sends SIGHUP
        assert gone(pid), "the chat outlived its terminal"
    else:
        term.kill(sig)
        assert term.wait_dead() == 128 + sig
        after = term.history()
        assert "Traceback" not in after and "Error" not in after
    held_sse.release()
    (user, reply) = home.messages()
    # Closed cleanly: what was shown is stored, marked interrupted (not left generating).
    assert reply[3:] == ("interrupted", held_sse.text(5).strip()) or reply[3:] == (
        "interrupted",
        held_sse.text(5),
    )
    if sig == signal.SIGHUP:
        term.close()
        term = Terminal(home.env, term.dir)
    screen = restart(term)
    assert "Word 5." in screen and "interrupted" in screen
    term.close()
