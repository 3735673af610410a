"""The memory screen (F4) and the suggestions a conversation leaves when it ends, through the
real app, store and memory service."""

from __future__ import annotations

from test_tui_stored import SIZE, app_at, settle
from textual.widgets import Label, OptionList
from tui_data import Seeded

from companion.config import Config
from companion.memory.service import MemoryService
from feedback.repo import Store
from tui.screens.memory import MemoryScreen


def service(config: Config, store: Store, **memory: object) -> MemoryService:
    mc = config.memory.model_copy(update=memory)
    return MemoryService(store, mc, lambda t: len(t.split()))


def rows(app) -> list[str]:
    lst = app.screen.query_one("#memory-list", OptionList)
    return [str(lst.get_option_at_index(i).prompt) for i in range(lst.option_count)]


def status(app) -> str:
    return str(app.screen.query_one("#memory-status", Label).render())


async def test_f4_keeps_drops_edits_adds_and_forgets(tui_config: Config, store: Store, seeded):
    kept = store.add_memory("Your sister is called Ana.", "person", persona="default")
    sugg = store.add_memory(
        "Your dog is called Rex.", "pet", status="suggested", source="suggested"
    )
    drop = store.add_memory("You like olives.", "like", status="suggested", source="suggested")
    app = app_at(tui_config, store, seeded, memory=service(tui_config, store))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, MemoryScreen)
        shown = rows(app)
        assert len(shown) == 3 and all(r.startswith("? suggested") for r in shown[:2])
        assert "Ana" in shown[2]
        lst = app.screen.query_one("#memory-list", OptionList)
        lst.highlighted = next(i for i, r in enumerate(shown) if "Rex" in r)
        await pilot.press("y")
        await settle(pilot)
        assert store.get_memory(sugg.id).status == "active"
        lst.highlighted = next(i for i, r in enumerate(rows(app)) if "olives" in r)
        await pilot.press("n")
        await settle(pilot)
        assert all(m.status != "suggested" for m in store.list_memories(status=None))
        assert "olives" not in " ".join(rows(app))
        assert drop.id not in {m.id for m in store.active_memories("default")}
        # Edit the sister's note.
        lst.highlighted = next(i for i, r in enumerate(rows(app)) if "Ana" in r)
        await pilot.press("e")
        await pilot.pause()
        box = app.screen.query_one("#memory-input")
        box.value = "Your sister is called Ana and lives in Porto."
        await pilot.press("enter")
        await settle(pilot)
        assert store.get_memory(kept.id).text == "Your sister is called Ana and lives in Porto."
        # Add a note; letters typed into the box are text, not keys (n, d, e, y).
        await pilot.press("plus")
        await pilot.pause()
        await pilot.press(*"Call me Sam, not Samuel, and never dear")
        await pilot.press("enter")
        await settle(pilot)
        assert "Call me Sam, not Samuel, and never dear" in [
            m.text for m in store.active_memories("default")
        ]
        # Forget it again.
        lst.highlighted = next(i for i, r in enumerate(rows(app)) if "Sam" in r)
        await pilot.press("d")
        await settle(pilot)
        assert "Sam" not in " ".join(m.text for m in store.active_memories("default"))
        assert status(app) == "Forgotten."
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MemoryScreen)


async def test_bad_notes_get_one_line_and_nothing_is_lost(tui_config: Config, store: Store, seeded):
    store.add_memory("Your sister is called Ana.", "person")
    app = app_at(tui_config, store, seeded, memory=service(tui_config, store))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("plus")
        await pilot.pause()
        app.screen.query_one("#memory-input").value = "\x00\x07\x1b"
        await pilot.press("enter")
        await settle(pilot)
        assert "\n" not in status(app) and status(app)
        app.screen.query_one("#memory-list", OptionList).highlighted = 0
        await pilot.press("plus")
        await pilot.pause()
        app.screen.query_one("#memory-input").value = "I love tea " * 10_000
        await pilot.press("enter")
        await settle(pilot)
        assert "trimmed" in status(app)
        texts = [m.text for m in store.active_memories("default")]
        assert "Your sister is called Ana." in texts and len(texts) == 2
        assert max(len(t) for t in texts) <= 500


async def test_a_conversation_that_ends_suggests_what_the_user_said(
    tui_config: Config, store: Store, seeded: Seeded
):
    store.add_message(seeded.conv.id, "user", "My dog is called Rex and I love hiking.")
    app = app_at(tui_config, store, seeded, memory=service(tui_config, store))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")  # leaving the conversation ends it
        await settle(pilot)
        got = {m.text for m in store.suggested_memories("default")}
        assert got == {"Your dog is called Rex.", "You like hiking."}
        notes = [n.message for n in app._notifications]
        assert any(n.startswith("Shall I remember this?") for n in notes), notes
        assert store.active_memories("default") == []  # nothing active without a yes


async def test_auto_accept_keeps_suggestions_at_once(tui_config: Config, store: Store, seeded):
    store.add_message(seeded.conv.id, "user", "My dog is called Rex.")
    app = app_at(tui_config, store, seeded, memory=service(tui_config, store, auto_accept=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert [m.text for m in store.active_memories("default")] == ["Your dog is called Rex."]
        assert any("Remembered from this conversation" in n.message for n in app._notifications)


async def test_f4_without_memory_says_it_is_off(tui_config: Config, store: Store, seeded):
    app = app_at(tui_config, store, seeded)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await pilot.pause()
        assert not isinstance(app.screen, MemoryScreen)
        assert any("Memory is off" in n.message for n in app._notifications)
