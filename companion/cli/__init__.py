"""The composition root: every `companion` command, and the wiring that builds the store,
server, engine, retrain and app from the config. The only package that imports `tui` and
`align`; nothing imports it back (import-linter's contracts in pyproject.toml)."""

from companion.cli.commands import app, main

__all__ = ["app", "main"]
