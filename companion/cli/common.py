"""What every command shares: the config loader, the one-line error and the store opener.

Every expected failure of a command ends here: one line on stderr, prefixed
``companion: error:``, and exit status 1. Never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from companion.config import Config, ConfigError, ensure_file, load

if TYPE_CHECKING:
    from feedback.repo import Store

ERROR_PREFIX = "companion: error: "

NiceOption = Annotated[
    bool, typer.Option(help="Run at low CPU priority, so a chat stays responsive.")
]
"""The `--nice` flag of the commands the chat starts in the background."""


def lower_priority(nice: bool) -> None:
    if nice:
        os.nice(10)


def first_line(error: BaseException) -> str:
    """An exception as one readable line (its type name when it has no message)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit 1."""
    typer.echo(ERROR_PREFIX + message, err=True)
    raise typer.Exit(1)


def load_config() -> Config:
    """The effective config, with the file created on first use and the data dirs made."""
    try:
        ensure_file()
        cfg = load().config
    except ConfigError as e:
        fail(str(e))
    cfg.paths.ensure()
    return cfg


def open_store(config: Config) -> Store:
    """The feedback store, migrated to the current schema (SQLite is backed up first)."""
    from feedback.repo import open_store as open_feedback_store

    return open_feedback_store(config.database_url, backup_dir=config.paths.backups_dir)


def store_or_fail(config: Config) -> Store:
    try:
        return open_store(config)
    except Exception as e:  # noqa: BLE001 - one line, whatever the database says
        fail(f"cannot open the database: {first_line(e)}")


@contextmanager
def one_line_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """The given expected failures (and the core's CompanionError) become `fail` lines."""
    from companion.errors import CompanionError

    expected: tuple[type[BaseException], ...] = (CompanionError, *kinds)
    try:
        yield
    except expected as e:
        fail(first_line(e))
