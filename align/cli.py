"""Typer command functions for the learning side; companion/cli.py mounts them.

Heavy imports (torch, transformers, trl, the store) happen inside the commands, so
`companion --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

data_app = typer.Typer(help="Prepare training data.", no_args_is_help=True)


@data_app.callback()
def _data() -> None:
    """Prepare training data."""  # a callback keeps a one-command group a group


@data_app.command("clean")
def data_clean(
    src: Annotated[Path, typer.Argument(help="Input JSONL (messages or ShareGPT format).")],
    dst: Annotated[Path, typer.Argument(help="Where to write the cleaned JSONL.")],
    max_tokens: Annotated[
        int, typer.Option(help="Drop samples longer than this many tokens (0 = no limit).")
    ] = 0,
    scrub: Annotated[bool, typer.Option(help="Scrub emails, phone numbers, secrets.")] = True,
    name: Annotated[
        list[str] | None, typer.Option("--name", help="A name to scrub (repeatable).")
    ] = None,
) -> None:
    """Clean a dialogue or preference JSONL file and report what changed."""
    from align.clean import clean_file

    if not src.is_file():
        raise typer.BadParameter(f"{src}: no such file", param_hint="SRC")
    _, report = clean_file(
        src, dst, max_tokens=max_tokens or None, scrub_personal_data=scrub, names=name or ()
    )
    typer.echo(report.summary())
    typer.echo(f"wrote {report.kept} samples to {dst}")
