"""CLI commands for the feedback database: ``companion db ...``, export, import and forget.

``db_app`` is a Typer sub-app; ``export_cmd``, ``import_cmd`` and ``forget_cmd`` are plain
command functions the main app registers. Failures print one line on stderr and exit 1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from companion.cli.common import fail, first_line, load_config, open_store

if TYPE_CHECKING:
    from companion.config import Config

db_app = typer.Typer(
    help="The feedback database: schema upgrades and backups.", no_args_is_help=True
)


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    markdown = "markdown"


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Expected failures become one line on stderr and exit status 1, never a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from companion.config import ConfigError
    from feedback.db import DatabaseError
    from feedback.repo import NotFound

    try:
        yield
    except (ConfigError, DatabaseError, NotFound, ValueError, OSError) as e:
        fail(first_line(e))
    except SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()
        fail(f"database: {detail[0] if detail else type(e).__name__}")


def _where(config: Config) -> str:
    from sqlalchemy.engine import make_url

    return make_url(config.database_url).render_as_string(hide_password=True)


# --- companion db ----------------------------------------------------------------------------


@db_app.command("upgrade")
def upgrade_cmd() -> None:
    """Upgrade the database schema to this version of companion (backs up SQLite first)."""
    from feedback.db import current_revision, head_revision, make_engine, migrate

    with _one_line_errors():
        config = load_config()
        engine = make_engine(config.database_url)
        try:
            before = current_revision(engine)
            made = migrate(engine, config.paths.backups_dir)
            head = head_revision()
        finally:
            engine.dispose()
    if before == head:
        typer.echo(f"already at {head} ({_where(config)})")
        return
    typer.echo(f"upgraded {before or 'empty database'} -> {head} ({_where(config)})")
    if made is not None:
        typer.echo(f"backup of the previous state: {made}")


@db_app.command("current")
def current_cmd() -> None:
    """Print the schema revision of the database and whether an upgrade is pending."""
    from feedback.db import current_revision, head_revision, make_engine

    with _one_line_errors():
        config = load_config()
        engine = make_engine(config.database_url)
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
        head = head_revision()
    if current is None:
        typer.echo(f"empty database, head is {head} ({_where(config)})")
    elif current == head:
        typer.echo(f"{current} (head) ({_where(config)})")
    else:
        typer.echo(f"{current}; {head} pending: run `companion db upgrade` ({_where(config)})")


@db_app.command("backup")
def backup_cmd(
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder for the backup (default: data dir).")
    ] = None,
) -> None:
    """Write a consistent copy of the database (SQLite backup API, or pg_dump)."""
    from feedback.db import backup, make_engine

    with _one_line_errors():
        config = load_config()
        engine = make_engine(config.database_url)
        try:
            path = backup(engine, to or config.paths.backups_dir, label="manual")
        finally:
            engine.dispose()
    typer.echo(str(path))


# --- export / import / forget ----------------------------------------------------------------


def export_cmd(
    conversation: Annotated[
        int | None, typer.Option("--conversation", "-c", help="Only this conversation.")
    ] = None,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="jsonl (re-importable) or markdown.")
    ] = ExportFormat.jsonl,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export conversations with their alternatives, ratings and safety events, and memories."""
    from feedback.transfer import export

    n = 0
    with _one_line_errors():
        store = open_store(load_config())
        try:
            if output is None:
                export(store, sys.stdout, conversation, fmt.value)
                return
            # The export holds private conversations: private file, written whole or not at all.
            tmp = output.with_name(f".{output.name}.partial")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                with open(fd, "w", encoding="utf-8") as out:
                    n = export(store, out, conversation, fmt.value)
                os.replace(tmp, output)
            finally:
                tmp.unlink(missing_ok=True)
        finally:
            store.engine.dispose()
    typer.echo(f"exported {n} conversation(s) to {output}", err=True)


def import_cmd(
    file: Annotated[Path, typer.Argument(help="A JSONL export; - reads stdin.")],
) -> None:
    """Import a JSONL export. Bad lines are reported and skipped; the rest is imported."""
    from feedback.transfer import import_jsonl

    with _one_line_errors():
        store = open_store(load_config())
        try:
            if str(file) == "-":
                report = import_jsonl(store, sys.stdin)
            else:
                with open(file, encoding="utf-8", errors="replace") as lines:
                    report = import_jsonl(store, lines)
        finally:
            store.engine.dispose()
    for issue in report.errors[:50]:
        typer.echo(f"{file}:{issue.line}: skipped: {issue.message}", err=True)
    if len(report.errors) > 50:
        typer.echo(f"... and {len(report.errors) - 50} more skipped lines", err=True)
    parts = [f"{n} {kind}(s)" for kind, n in sorted(report.imported.items())]
    typer.echo(f"imported {', '.join(parts) or 'nothing'}")
    if report.duplicates:
        typer.echo(f"{report.duplicates} record(s) already present, left as they were")
    if report.errors:
        raise typer.Exit(1)


def forget_cmd(
    conversation: Annotated[
        int | None, typer.Option("--conversation", "-c", help="The conversation to forget.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Forget every conversation.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete conversations and everything learned from them (ratings, pairs, events, the
    memories that came only from them); --all also deletes every memory."""
    from feedback.transfer import forget

    if (conversation is None) == (not all_):
        fail("give --conversation ID or --all")
    if all_ and not yes:
        if not sys.stdin.isatty():
            fail("--all deletes every conversation and memory; add --yes to confirm")
        typer.confirm("Forget every conversation, all feedback and every memory?", abort=True)
    with _one_line_errors():
        cfg = load_config()
        store = open_store(cfg)
        try:
            counts = forget(store, conversation, everything=all_)
        finally:
            store.engine.dispose()
        if all_:
            # The message index holds vectors of what was said: it goes with the messages.
            index = cfg.paths.memory_index
            for path in (index, index.with_name(index.name + ".json")):
                path.unlink(missing_ok=True)
    removed = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items())
    typer.echo(f"forgot: {removed}")
    if all_:
        typer.echo("trained adapters are kept: see `companion adapters list`")
