"""`companion persona list|show|new|edit|use`: a Typer sub-app the CLI mounts as `persona`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from companion import lorebook as L
from companion import persona as P
from companion.cli.common import fail, load_config
from companion.config import ConfigError, set_value

persona_app = typer.Typer(help="List, show, create, edit and pick personas.", no_args_is_help=True)


@persona_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the personas; * marks the one new conversations use."""
    cfg = load_config()
    rows = []
    for entry in P.list_personas(cfg.paths):
        try:
            name = P.load_file(entry.path).name
        except P.PersonaError as e:
            name = f"(broken: {e})"
        rows.append(
            {
                "key": entry.key,
                "name": name,
                "source": "built-in" if entry.builtin else "user",
                "path": str(entry.path),
                "current": entry.key == cfg.chat.persona,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        mark = "*" if r["current"] else " "
        typer.echo(f"{mark} {r['key']:<20} {r['name']:<24} {r['source']}")


@persona_app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="Persona name or a .toml/.json/.png file.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a persona (as TOML, or JSON with --json); a lorebook is summed up at the end
    (marks: C constant, S selective, R regex keys, - disabled)."""
    cfg = load_config()
    try:
        loaded = P.load_with_notices(name, cfg.paths)
    except P.PersonaError as e:
        fail(str(e))
        return
    _notices(loaded)
    p = loaded.persona
    if as_json:
        typer.echo(p.model_dump_json(indent=2))
        return
    typer.echo(P.to_toml(p.model_copy(update={"lorebook": None})), nl=False)
    if p.lorebook is not None:
        typer.echo("\n".join(["", *(f"# {line}" for line in L.describe(p.lorebook))]))


def _notices(loaded: P.Loaded) -> None:
    for notice in loaded.notices:
        typer.echo(f"note: {notice}", err=True)


def _edit(path: Path) -> None:
    """Open the file in $VISUAL/$EDITOR and check it afterwards."""
    if not sys.stdin.isatty():
        typer.echo(f"edit {path} with any text editor", err=True)
        return
    click.edit(filename=str(path))
    try:
        P.load_file(path)
    except P.PersonaError as e:
        fail(f"{e} (the file was kept; run the command again to fix it)")


@persona_app.command("new")
def new_cmd(
    name: Annotated[str, typer.Argument(help="Key for the new persona (its file name).")],
    source: Annotated[
        str,
        typer.Option(
            "--from", help="Start from this persona, or import a character card .json/.png."
        ),
    ] = "default",
    edit: Annotated[bool, typer.Option("--edit/--no-edit", help="Open it in $EDITOR.")] = True,
) -> None:
    """Create a persona in your personas folder (from a persona or a SillyTavern card)."""
    cfg = load_config()
    try:
        loaded = P.load_with_notices(source, cfg.paths)
        path = P.save(loaded.persona, name, cfg.paths)
    except P.PersonaError as e:
        fail(str(e))
        return
    _notices(loaded)
    typer.echo(f"created {path}")
    if loaded.persona.lorebook is not None:
        n = len(loaded.persona.lorebook.entries)
        typer.echo(f"with its lorebook ({n} entries) in {P.lorebook_path(path)}")
    if edit:
        _edit(path)


@persona_app.command("edit")
def edit_cmd(name: Annotated[str, typer.Argument(help="Persona name.")]) -> None:
    """Edit a persona; a built-in one is copied to your personas folder first."""
    cfg = load_config()
    try:
        entry = P.find(name, cfg.paths)
        path = entry.path
        if entry.builtin:
            path = P.save(P.load_file(entry.path), name, cfg.paths)
            typer.echo(f"copied the built-in persona to {path}")
    except P.PersonaError as e:
        fail(str(e))
        return
    _edit(path)


@persona_app.command("use")
def use_cmd(name: Annotated[str, typer.Argument(help="Persona name.")]) -> None:
    """Use this persona for new conversations (sets chat.persona in the config file)."""
    cfg = load_config()
    try:
        P.load(name, cfg.paths)
        P.find(name, cfg.paths)  # a name, not a file path: the config stores names
        file = set_value("chat.persona", name)
    except (P.PersonaError, ConfigError) as e:
        fail(str(e))
        return
    typer.echo(f"new conversations will use {name} ({file})")
