from __future__ import annotations

from fake_engine import FakeEngine

from tui.app import make_app
from tui.widgets.message_bubble import MessageBubble


async def test_send_streams_and_records(tui_config, store, accepted):
    engine = FakeEngine(store)
    app = make_app(tui_config, engine=engine, store=store)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press(*"hi there", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        bubbles = list(app.screen.query(MessageBubble))
        assert [b.turn.role for b in bubbles][-2:] == ["user", "assistant"]
        assert bubbles[-1].turn.text == "Hello there! How are you?"
        app.save_screenshot("/tmp/shot.svg")
