"""Pilot tests of the paths that need no model: real Store (SQLite in tmp), seeded data."""

from __future__ import annotations

from typing import Any

import pytest
from tui_data import Seeded

from companion.config import Config
from feedback.repo import Store
from tui import keys
from tui import state as ui_state
from tui.app import CompanionApp, make_app
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.reason import ReasonScreen
from tui.screens.rename import RenameScreen
from tui.screens.safety import SafetyScreen
from tui.screens.welcome import WelcomeScreen
from tui.widgets.chat_input import ChatInput
from tui.widgets.message_bubble import MessageBubble
from tui.widgets.sidebar import Sidebar

SIZE = (110, 36)


def app_at(config: Config, store: Store, seeded: Seeded | None = None, **kw: Any) -> CompanionApp:
    ui_state.save(
        config.paths.state_file,
        ui_state.UiState(accepted=True, last_conversation=seeded.conv.id if seeded else None),
    )
    kw.setdefault("start_server", None)
    return make_app(config, engine=kw.pop("engine", None), store=store, **kw)


def bubbles(app: CompanionApp) -> list[MessageBubble]:
    return [b for b in app.screen.query(MessageBubble) if b.turn.message_id is not None]


def bubble(app: CompanionApp, message_id: int) -> MessageBubble:
    return next(b for b in app.chat.query(MessageBubble) if b.turn.message_id == message_id)


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# -- first run ---------------------------------------------------------------------------------


async def test_first_run_welcome_needs_adult_confirmation(tui_config: Config, store: Store):
    app = make_app(tui_config, store=store, start_server=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        text = " ".join(str(m.source) for m in app.screen.query("Markdown"))
        assert "is an AI" in text and str(tui_config.data_dir) in text and "forget" in text
        start = app.screen.query_one("#start")
        assert start.disabled
        await pilot.click("#start")  # disabled: nothing happens
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.click("#adult")
        await pilot.pause()
        assert not start.disabled
        await pilot.click("#start")
        await settle(pilot)
        assert not isinstance(app.screen, WelcomeScreen)
    assert ui_state.load(tui_config.paths.state_file).accepted


async def test_first_run_quit_leaves_unaccepted(tui_config: Config, store: Store):
    app = make_app(tui_config, store=store, start_server=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#quit")
        await pilot.pause()
    assert not ui_state.load(tui_config.paths.state_file).accepted


async def test_second_run_skips_welcome_and_resumes(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen is app.chat
        ids = [b.turn.message_id for b in bubbles(app)]
        # The latest leaf's branch: u1 → a1 → u2 → a2.
        assert ids == [seeded.u1.id, seeded.a1.id, seeded.u2.id, seeded.a2.id]
        assert app.chat.conversation is not None and app.chat.conversation.title == "Weekend plans"


# -- help, palette, keys -------------------------------------------------------------------------


async def test_help_lists_every_key_with_overrides(tui_config, store):
    cfg = tui_config.model_copy(
        update={"chat": tui_config.chat.model_copy(update={"keys": {"rate_up": "ctrl+u"}})}
    )
    app = app_at(cfg, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("DataTable")
        assert table.row_count == len(keys.ACTIONS)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert ["ctrl+u", "Thumbs up (again to undo)", "message", "rate_up"] in rows
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.chat


async def test_question_mark_types_in_the_box_but_opens_help_elsewhere(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("w", "h", "y", "question_mark")
        assert app.chat.chat_input.text == "why?"
        assert app.screen is app.chat
        await pilot.press("ctrl+up", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_every_action(tui_config, store):
    from tui.commands import CompanionCommands

    app = app_at(tui_config, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        provider = CompanionCommands(app.screen)
        titles = [hit.display for hit in [h async for h in provider.discover()]]
        expected = [a.title for a in keys.ACTIONS if a.palette]
        assert [str(t) for t in titles] == expected
        # Running one from the palette works: "New conversation".
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Help: every")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)


async def test_key_binding_override_from_config(tui_config, store, seeded):
    cfg = tui_config.model_copy(
        update={"chat": tui_config.chat.model_copy(update={"keys": {"rate_up": "ctrl+u"}})}
    )
    app = app_at(cfg, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+up", "ctrl+u")
        await settle(pilot)
        assert store.rating_of(seeded.cand2.id).value == 1


async def test_themes_can_be_changed(tui_config, store):
    cfg = tui_config.model_copy(
        update={"chat": tui_config.chat.model_copy(update={"theme": "nord"})}
    )
    app = app_at(cfg, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
        await pilot.press("ctrl+t")  # Textual's theme picker
        await pilot.pause()
        assert "Theme" in type(app.screen).__name__ or app.screen.query("CommandInput")


# -- sidebar -----------------------------------------------------------------------------------


async def test_sidebar_lists_searches_and_opens(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sidebar = app.chat.query_one(Sidebar)
        assert [c.title for c in sidebar.conversations] == ["Book club", "Weekend plans"]
        await pilot.press("ctrl+f", *"piranesi")
        await settle(pilot)
        assert [c.title for c in sidebar.conversations] == ["Book club"]
        await pilot.press("enter", "enter")  # search → list → open
        await settle(pilot)
        assert app.chat.conversation.id == seeded.other.id
        assert bubbles(app)[-1].turn.text == "Try *Piranesi*."
    assert ui_state.load(tui_config.paths.state_file).last_conversation == seeded.other.id


async def test_new_conversation_is_created_on_first_message_only(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.chat.conversation is None and bubbles(app) == []
        greeting = app.chat.query(MessageBubble).first()
        assert "Juniper" in str(greeting.body.source)
    assert len(store.list_conversations()) == 2


async def test_rename_conversation(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, RenameScreen)
        await pilot.press(*"Sunny days", "enter")  # the old title is selected: typing replaces it
        await settle(pilot)
        assert store.get_conversation(seeded.conv.id).title == "Sunny days"
        assert "Sunny days" in str(app.chat.query_one("#chat-title").render())


async def test_delete_conversation_asks_first(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert store.get_conversation(seeded.conv.id) is not None
        await pilot.press("ctrl+delete")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert store.get_conversation(seeded.conv.id) is None
        assert app.chat.conversation is None
        assert [c.title for c in app.chat.query_one(Sidebar).conversations] == ["Book club"]


# -- feedback on stored replies ------------------------------------------------------------------


async def test_rating_toggle_change_undo_by_keyboard(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+up")  # the last reply
        assert app.focused is bubble(app, seeded.a2.id)
        await pilot.press("plus")
        await settle(pilot)
        assert store.rating_of(seeded.cand2.id).value == 1
        assert "👍" in str(bubble(app, seeded.a2.id).query_one(".bubble-header").render())
        await pilot.press("minus")
        await settle(pilot)
        assert store.rating_of(seeded.cand2.id).value == -1
        await pilot.press("minus")
        await settle(pilot)
        assert store.rating_of(seeded.cand2.id) is None
        assert [e.value for e in store.rating_history(seeded.cand2.id)] == [1, -1, None]
        header = str(bubble(app, seeded.a2.id).query_one(".bubble-header").render())
        assert "👍" not in header and "👎" not in header


async def test_rating_by_mouse(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        b = bubble(app, seeded.a2.id)
        await pilot.press("ctrl+up")
        await pilot.pause()
        toolbar = b.query_one(".bubble-toolbar")
        await pilot.click(toolbar, offset=(4, 0))  # the 👎 link
        await settle(pilot)
        assert store.rating_of(seeded.cand2.id).value == -1
        await pilot.click(b.query_one(".bubble-toolbar"), offset=(0, 0))  # the 👍 link
        await settle(pilot)
        assert store.rating_of(seeded.cand2.id).value == 1


async def test_rating_reason(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+up", "w")
        await pilot.pause()
        assert isinstance(app.screen, ReasonScreen)
        await pilot.click("Button.reason-tag")  # the first tag: "helpful"
        await pilot.press(*"kind words", "enter")
        await settle(pilot)
        r = store.rating_of(seeded.cand2.id)
        assert (r.value, r.reason, r.comment) == (1, "helpful", "kind words")
        header = str(bubble(app, seeded.a2.id).query_one(".bubble-header").render())
        assert "helpful: kind words" in header


async def test_alternatives_browse_and_pick(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        b = bubble(app, seeded.a1.id)
        b.focus()
        await pilot.pause()
        assert "1/3" in str(b.query_one(".bubble-header").render())
        await pilot.press("right")
        await settle(pilot)
        assert "2/3" in str(b.query_one(".bubble-header").render())
        assert "museum" in str(b.body.source)
        assert store.get_message(seeded.a1.id).shown_candidate_id == seeded.cands[1].id
        assert store.choices(seeded.a1.id) == []  # browsing is not choosing
        await pilot.press("left", "left")
        await settle(pilot)
        assert "3/3" in str(b.query_one(".bubble-header").render())
        await pilot.press("enter")
        await settle(pilot)
        assert [c.candidate_id for c in store.choices(seeded.a1.id)] == [seeded.cands[2].id]
        assert store.get_message(seeded.a1.id).text == "Maybe a calm day at home."
        assert "3/3 ✓" in str(b.query_one(".bubble-header").render())


async def test_safety_badge_and_details(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        b = bubble(app, seeded.a1.id)
        b.focus()
        await pilot.press("left")  # to 3/3, the softened one
        await settle(pilot)
        assert "softened" in str(b.query_one(".bubble-header").render())
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SafetyScreen)
        shown = str(app.screen.query_one("Markdown").source)
        assert "intensity" in shown and "MAYBE A CALM DAY AT HOME!!!" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.chat


async def test_branches_browse(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = bubble(app, seeded.u1.id)
        assert "branch 1/2" in str(first.query_one(".bubble-header").render())
        first.focus()
        await pilot.press("right")
        await settle(pilot)
        ids = [b.turn.message_id for b in bubbles(app)]
        assert ids == [seeded.u1b.id, seeded.a1b.id]
        assert "branch 2/2" in str(bubble(app, seeded.u1b.id).query_one(".bubble-header").render())
        await pilot.press("right")  # wraps back to the first branch, at its latest leaf
        await settle(pilot)
        assert [b.turn.message_id for b in bubbles(app)][-1] == seeded.a2.id


async def test_copy_message(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+up", "c")
        await pilot.pause()
        assert app.clipboard == "Great, enjoy the fresh air."


async def test_delete_turn(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+up", "delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert store.get_message(seeded.u2.id) is None
        assert store.get_message(seeded.a2.id) is None
        assert [b.turn.message_id for b in bubbles(app)] == [seeded.u1.id, seeded.a1.id]


async def test_edit_puts_text_in_the_box(tui_config, store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bubble(app, seeded.u2.id).focus()
        await pilot.press("e")
        await pilot.pause()
        box = app.chat.query_one(ChatInput)
        assert app.focused is box and box.editing == seeded.u2.id
        assert box.text == "The park sounds good."
        await pilot.press("escape")
        await pilot.pause()
        assert box.editing is None


async def test_input_newline_keys_do_not_send(tui_config, store):
    app = app_at(tui_config, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a", "shift+enter", "b", "ctrl+j", "c")
        assert app.chat.chat_input.text == "a\nb\nc"


@pytest.mark.parametrize("minutes, fired", [(0, False), (20, True)])
async def test_break_reminder(tui_config, store, minutes, fired):
    now = [1000.0]
    cfg = tui_config.model_copy(
        update={"chat": tui_config.chat.model_copy(update={"break_reminder_minutes": minutes})}
    )
    app = app_at(cfg, store, clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(5):  # five messages, five minutes apart: a continuous stretch
            app.chat.break_timer.activity(now[0])
            now[0] += 5 * 60
        app.chat._check_break()
        await pilot.pause()
        titles = [n.title for n in app._notifications]
        assert ("Time for a break?" in titles) is fired


async def test_persona_picker_sets_the_persona_of_new_conversations(tui_config, store, seeded):
    from companion import persona as persona_mod

    persona_mod.save(
        persona_mod.Persona(name="Sam", greeting="Hey, Sam here. What's up?"),
        "sam",
        tui_config.paths,
    )
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Juniper" in str(app.chat.query_one("#chat-title").render())
        await pilot.press("f3")
        await pilot.pause()
        options = app.screen.query_one("OptionList")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["sam", "default"]
        await pilot.press("enter")  # the highlighted first option: sam
        await settle(pilot)
        assert app.chat.persona == "sam" and app.chat.conversation is None
        assert "Hey, Sam here." in str(app.chat.query(MessageBubble).first().body.source)
        conv_id = await app.chat._ensure_conversation()
        assert store.get_conversation(conv_id).persona == "sam"
        # An older conversation keeps its own persona.
        await app.chat.open_conversation(seeded.conv.id)
        await pilot.pause()
        assert app.chat.persona == "default"
        assert "Juniper" in str(app.chat.query_one("#chat-title").render())


# -- long conversations ------------------------------------------------------------------------


async def test_a_long_conversation_opens_on_its_last_page_and_shows_earlier_ones_on_request(
    tui_config: Config, store: Store
):
    from tui.widgets.earlier_messages import EarlierMessages

    conv = store.create_conversation("default", title="Long")
    parent, ids = None, []
    for i in range(5):
        u = store.add_message(conv.id, "user", f"question {i}", parent)
        text = f"answer {i}\n\nmore\n\nand more"
        a = store.add_message(conv.id, "assistant", text, u.id)
        store.add_candidate(a.id, text, shown=True)
        parent = a.id
        ids += [u.id, a.id]
    ui_state.save(
        tui_config.paths.state_file, ui_state.UiState(accepted=True, last_conversation=conv.id)
    )
    config = tui_config.model_copy(
        update={"chat": tui_config.chat.model_copy(update={"history_page": 4})}
    )
    app = make_app(config, store=store, start_server=None)
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(pilot)
        assert [b.turn.message_id for b in bubbles(app)] == ids[-4:]
        marker = app.chat.query_one(EarlierMessages)
        assert "6 earlier messages" in str(marker.render())
        assert not [b for b in app.chat.bubbles() if b.greeting]  # the start is not shown
        # Enter on the marker: a page more, in order, and the marker counts down; what was
        # on screen stays where it was.
        marker.focus()
        await settle(pilot)
        row = bubble(app, ids[-4]).region.y
        await pilot.press("enter")
        await settle(pilot)
        assert [b.turn.message_id for b in bubbles(app)] == ids[-8:]
        assert "2 earlier messages" in str(marker.render())
        assert bubble(app, ids[-4]).region.y == row
        # Scrolling to the top shows the rest; the conversation's start has the greeting.
        view = app.chat.messages_view
        await pilot.resize_terminal(80, 20)  # now the messages need scrolling
        await settle(pilot)
        assert view.max_scroll_y > 0
        view.scroll_end(animate=False)
        await settle(pilot)
        view.scroll_home(animate=False)
        await settle(pilot)
        assert [b.turn.message_id for b in bubbles(app)] == ids
        assert not app.chat.query(EarlierMessages)
        assert app.chat.bubbles()[0].greeting
        # Sending still appends at the bottom, after the whole history.
        assert app.chat.leaf_id == ids[-1]
