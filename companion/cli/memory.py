"""`companion memory add|list|edit|forget|accept|reject`: the notes the companion keeps.

A note is shared by every persona unless `--persona` names one. Bad input (an empty note,
an unknown kind or id) is one line on stderr and exit status 1; a long note is trimmed with
a notice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from companion.cli.common import fail, load_config, one_line_errors, store_or_fail

if TYPE_CHECKING:
    from companion.config import Config
    from feedback.models import Memory
    from feedback.repo import Store

memory_app = typer.Typer(
    help="What the companion remembers about you: add, list, edit and forget notes.",
    no_args_is_help=True,
)

# Spelled out rather than read from feedback.models, so `--help` stays free of SQLAlchemy;
# a test checks it against MEMORY_KINDS.
KindOption = Annotated[
    str | None,
    typer.Option(
        "--kind", "-k", help="name, person, pet, plan, like, dislike, boundary or note (default)."
    ),
]
PersonaOption = Annotated[
    str | None, typer.Option("--persona", "-p", help="Only this persona remembers it.")
]
SharedOption = Annotated[
    bool, typer.Option("--shared", help="Every persona remembers it (the default for add).")
]
IdArgument = Annotated[int, typer.Argument(help="The memory's id (see `companion memory list`).")]


@contextmanager
def _store() -> Iterator[Store]:
    """The store, with every expected failure turned into one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from feedback.repo import NotFound

    store = store_or_fail(load_config())
    try:
        with one_line_errors(NotFound, ValueError, SQLAlchemyError):
            yield store
    finally:
        store.close()


def _scope(m: Memory) -> str:
    return m.persona if m.persona is not None else "shared"


def _describe(m: Memory) -> str:
    suggested = ", suggested" if m.status == "suggested" else ""
    return f"#{m.id} ({m.kind}, {_scope(m)}{suggested}): {m.text}"


def _persona(config: Config, persona: str | None, shared: bool) -> str | None:
    """The scope a command was given: a persona that exists, or None for shared."""
    from companion import persona as P

    if persona is not None and shared:
        fail("give --persona NAME or --shared, not both")
    if persona is None:
        return None
    try:
        return P.find(persona, config.paths).key
    except P.PersonaError as e:
        fail(f"{e}; see `companion persona list`")


def _notices(notices: list[str]) -> None:
    for notice in notices:
        typer.echo(f"note: {notice}", err=True)


@memory_app.command("add")
def add_cmd(
    text: Annotated[str, typer.Argument(help="The note, in your words.")],
    kind: KindOption = None,
    persona: PersonaOption = None,
    shared: SharedOption = False,
) -> None:
    """Remember a note about you (shared by every persona unless --persona)."""
    from companion.memory.notes import BadMemory, clean_note

    scope = _persona(load_config(), persona, shared)
    with one_line_errors(BadMemory):
        note = clean_note(text, kind or "note")
    with _store() as store:
        before = {m.id for m in store.list_memories(status=None, persona=scope)}
        row = store.add_memory(note.text, kind or "note", persona=scope, source="user")
    _notices(note.notices)
    verb = "already remembered" if row.id in before else "remembered"
    typer.echo(f"{verb} {_describe(row)}")


@memory_app.command("list")
def list_cmd(
    persona: Annotated[
        str | None,
        typer.Option("--persona", "-p", help="What this persona remembers (its own + shared)."),
    ] = None,
    suggested: Annotated[
        bool, typer.Option("--suggested", help="Suggestions waiting for you to accept.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the notes, newest first."""
    with _store() as store:
        rows = store.list_memories(persona=persona, status="suggested" if suggested else "active")
    if as_json:
        out = [
            {
                "id": m.id,
                "text": m.text,
                "kind": m.kind,
                "persona": m.persona,
                "status": m.status,
                "source": m.source,
                "conversation_id": m.conversation_id,
                "created_at": m.created_at.isoformat(),
                "updated_at": m.updated_at.isoformat(),
            }
            for m in rows
        ]
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if not rows:
        what = "suggestions" if suggested else "memories"
        typer.echo(f"no {what}" + ("" if suggested else "; add one: companion memory add TEXT"))
        return
    for m in rows:
        typer.echo(f"{m.id:>5}  {m.kind:<8}  {_scope(m):<16}  {m.text}")


@memory_app.command("edit")
def edit_cmd(
    memory_id: IdArgument,
    text: Annotated[str, typer.Argument(help="The new text of the note.")],
    kind: KindOption = None,
    persona: PersonaOption = None,
    shared: SharedOption = False,
) -> None:
    """Change a note's text (and its kind, or who remembers it)."""
    from companion.memory.notes import BadMemory, clean_note
    from feedback.repo import KEEP

    config = load_config()
    scope = _persona(config, persona, shared)
    with one_line_errors(BadMemory):
        note = clean_note(text, kind or "note")
    with _store() as store:
        row = store.edit_memory(
            memory_id,
            text=note.text,
            kind=kind,
            persona=scope if (persona is not None or shared) else KEEP,
        )
    _notices(note.notices)
    typer.echo(f"changed {_describe(row)}")


@memory_app.command("forget")
def forget_cmd(memory_id: IdArgument) -> None:
    """Delete a note for good (a suggestion too)."""
    with _store() as store:
        row = store.forget_memory(memory_id)
    typer.echo(f"forgot {_describe(row)}")


@memory_app.command("accept")
def accept_cmd(memory_id: IdArgument) -> None:
    """Keep a suggested note: the companion may recall it from now on."""
    with _store() as store:
        row = store.accept_memory(memory_id)
    typer.echo(f"remembered {_describe(row)}")


@memory_app.command("reject")
def reject_cmd(memory_id: IdArgument) -> None:
    """Drop a suggested note."""
    with _store() as store:
        row = store.reject_memory(memory_id)
    typer.echo(f"dropped suggestion #{row.id}: {row.text}")
