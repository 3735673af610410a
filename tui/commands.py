"""Command palette: every action of the keys table, by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui import keys


class CompanionCommands(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        """(title, action string, help) with the effective key in the help."""
        overrides = getattr(self.app, "key_overrides", {})
        out = []
        for a in keys.ACTIONS:
            if not a.palette:
                continue
            action = f"on_message('{a.id}')" if a.scope == "reply" else a.id
            out.append(
                (
                    a.title,
                    action,
                    f"{keys.display_keys(keys.effective_key(a.id, overrides))}  ·  {a.scope}",
                )
            )
        return out

    async def _run(self, action: str) -> None:
        # Chat actions live on the screen under the palette, app actions on the app.
        target = self.screen if self.screen.check_action(action.split("(")[0], ()) else self.app
        if hasattr(target, f"action_{action.split('(')[0]}"):
            await target.run_action(action)
        else:
            await self.app.run_action(action)

    async def discover(self) -> Hits:
        for title, action, help_text in self._commands():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(title), partial(self._run, action), help=help_text
                )
