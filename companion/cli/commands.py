"""The `companion` command. Bare `companion` opens the chat.

Exit codes: 0 success; 1 an error, explained in one line on stderr; 2 bad usage;
3 (`serve status`, `doctor`) the thing checked is not running or not ready.
torch, vLLM and Textual are imported inside commands so `companion --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from companion import __version__
from companion.cli.common import ERROR_PREFIX, NiceOption, load_config, lower_priority
from companion.config import Config, ConfigError, effective, ensure_file, load, set_value
from companion.errors import CompanionError

if TYPE_CHECKING:
    from feedback.repo import Store

app = typer.Typer(
    help="A terminal AI companion that learns from you.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Show the configuration and where it lives.")
model_app = typer.Typer(help="Set up, switch and inspect the base model.")
serve_app = typer.Typer(help="Run the local vLLM server (started automatically by chat).")
app.add_typer(config_app, name="config")
app.add_typer(model_app, name="model")
app.add_typer(serve_app, name="serve")


def _mount() -> None:
    """Commands that live with their concern; each module keeps heavy imports inside."""
    from companion.cli.ask import ask
    from companion.cli.data import db_app, export_cmd, forget_cmd, import_cmd
    from companion.cli.learning import (
        adapters_app,
        data_app,
        export_model,
        pairs_app,
        retrain,
        train_app,
    )
    from companion.cli.memory import memory_app
    from companion.cli.persona import persona_app
    from companion.cli.safety import safety_app

    app.command("ask")(ask)
    app.add_typer(persona_app, name="persona")
    app.add_typer(memory_app, name="memory")
    app.add_typer(safety_app, name="safety")
    app.add_typer(db_app, name="db")
    app.command("export")(export_cmd)
    app.command("import")(import_cmd)
    app.command("forget")(forget_cmd)
    app.add_typer(pairs_app, name="pairs")
    app.add_typer(data_app, name="data")
    app.add_typer(train_app, name="train")
    app.add_typer(adapters_app, name="adapters")
    app.command("retrain")(retrain)
    app.command("export-model")(export_model)


EXIT_NOT_READY = 3


def _version(value: bool) -> None:
    if value:
        typer.echo(f"companion {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """A terminal AI companion that learns from you. Without a command, opens the chat."""
    if ctx.invoked_subcommand is None:
        chat(persona=None)


def block_triton() -> None:
    """Keep triton out of this process. Nothing here runs GPU kernels, but transformers
    imports torch._dynamo, which imports triton just to see whether it is installed, and
    triton's nanobind extension then prints a screenful of "leaked instances" at exit.
    torch treats the failed import as "no triton". The vLLM server is its own process."""
    sys.modules.setdefault("triton", None)  # type: ignore[arg-type]


@app.command()
def chat(
    persona: Annotated[str | None, typer.Option(help="Persona for a new conversation.")] = None,
) -> None:
    """Open the chat (starts the local server when none is running)."""
    from companion.cli.common import open_store
    from companion.cli.wiring import run_chat

    block_triton()
    cfg = load_config()
    store = open_store(cfg)
    if not cfg.model.base and not cfg.server.url:
        # First run on a fresh machine: only the conversion the server needs happens here;
        # the persona adapter trains in the background once the chat is open.
        _setup_embedded(cfg, quiet=True, persona_adapter=False, store=store)
    run_chat(cfg, persona=persona, store=store)


# --- config -------------------------------------------------------------------------------


@config_app.command("show")
def config_show(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print the effective config and where each value came from."""
    loaded = load()
    rows = effective(loaded)
    if as_json:
        typer.echo(json.dumps({k: {"value": v, "source": s} for k, v, s in rows}, indent=2))
        return
    typer.echo(f"# config file: {loaded.file}")
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        typer.echo(f"{key:<{width}}  {json.dumps(value)}  ({source})")


@config_app.command("path")
def config_path() -> None:
    """Print the config file's path (created with commented defaults if missing)."""
    typer.echo(str(ensure_file()))


# --- model --------------------------------------------------------------------------------


def _progress_bar(description: str):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(f"[bold]{description}[/] {{task.description}}"),
        BarColumn(),
        TimeElapsedColumn(),
        transient=False,
    )


@model_app.command("setup")
def model_setup_cmd(
    force: Annotated[bool, typer.Option(help="Convert again even if present.")] = False,
    persona_adapter: Annotated[
        bool | None,
        typer.Option(
            help="Train the default persona's SFT adapter (default: model.persona_adapter)."
        ),
    ] = None,
    max_steps: Annotated[
        int, typer.Option(help="Cap the persona adapter's training steps (quick trials).")
    ] = -1,
    nice: NiceOption = False,
) -> None:
    """Convert the embedded SmolLM2 GGUF to safetensors and train the persona adapter."""
    lower_priority(nice)
    cfg = load_config()
    _setup_embedded(cfg, force=force, persona_adapter=persona_adapter, max_steps=max_steps)


def _setup_embedded(
    cfg: Config,
    *,
    force: bool = False,
    persona_adapter: bool | None = None,
    max_steps: int = -1,
    quiet: bool = False,
    store: Store | None = None,
) -> None:
    """What a fresh machine needs; each step is skipped once done. The chat asks only for
    the conversion (`persona_adapter=False`): the adapter then trains in the background.

    `quiet` says nothing when there was nothing to do (the chat's first-run check).
    """
    from companion import model_setup

    dest = cfg.paths.embedded_model_dir
    converted = False
    if force or not model_setup.is_ready(dest):
        converted = True
        _quiet_transformers()
        gguf = model_setup.find_gguf()
        with _progress_bar("model setup") as bar:
            task = bar.add_task("starting", total=5)

            def progress(msg: str, i: int, n: int) -> None:
                bar.update(task, description=msg, completed=i - 1, total=n)

            model_setup.convert_gguf(gguf, dest, progress=progress)
            bar.update(task, description="done", completed=5)
    if converted or not quiet:
        typer.echo(f"embedded model ready: {dest}")
    wanted = cfg.model.persona_adapter if persona_adapter is None else persona_adapter
    if wanted and not cfg.model.base:
        _setup_persona_adapter(cfg, dest, store, max_steps=max_steps, quiet=quiet)


def _quiet_transformers() -> None:
    """Our own progress bars say it; transformers' tqdm bars would repeat it."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def _setup_persona_adapter(
    cfg: Config,
    base_dir: Path,
    store: Store | None = None,
    *,
    max_steps: int = -1,
    quiet: bool = False,
) -> None:
    from align.bootstrap import default_args, ensure_starter_adapter, starter_version
    from align.train import TrainProgress
    from companion.cli.common import open_store
    from companion.cli.wiring import hot_swap

    store = store or open_store(cfg)
    existing = starter_version(store)
    if existing is not None:
        if not quiet:
            typer.echo(f"persona adapter ready: {existing.version} (trained before)")
        return
    _quiet_transformers()
    typer.echo(
        "training the default persona's adapter on the starter dialogues "
        "(once; about 4 minutes on 2 CPU cores; model.persona_adapter = false skips it)"
    )
    args = default_args()
    if max_steps > 0:
        args.max_steps = max_steps
    with _progress_bar("persona adapter") as bar:
        task = bar.add_task("loading", total=None)

        def progress(p: TrainProgress) -> None:
            loss = f"loss {p.loss:.3f}" if p.loss is not None else ""
            bar.update(task, description=loss, completed=p.step, total=p.total)

        info = ensure_starter_adapter(
            cfg,
            store,
            base_dir,
            args=args,
            progress=progress,
            log=lambda m: bar.update(task, description=m),
        )
    state = "active" if info.active else "registered (another adapter is active)"
    typer.echo(f"persona adapter ready: {info.version} {state}")
    if info.active:
        typer.echo(hot_swap(cfg, store))


@model_app.command("use")
def model_use(
    model: Annotated[str, typer.Argument(help="Local HF checkpoint folder, hub id, or 'default'.")],
) -> None:
    """Switch the base model (restart the server to serve it)."""
    value = "" if model == "default" else model
    if value:
        path = Path(value).expanduser()
        if path.exists():
            if not (path / "config.json").is_file():
                raise ConfigError(f"{path} has no config.json; pass a Hugging Face checkpoint")
            value = str(path.resolve())
        elif value.count("/") != 1:
            raise ConfigError(f"{model}: no such folder, and not a hub id like org/name")
    file = set_value("model.base", value)
    typer.echo(f"model.base = {value or '(embedded default)'} in {file}")
    typer.echo("restart the server to serve it: companion serve stop && companion serve")


@model_app.command("show")
def model_show() -> None:
    """Print the base model, its size and the active adapter."""
    from companion import model_setup
    from companion.cli.wiring import active_adapter_name

    cfg = load_config()
    if cfg.model.base:
        base = cfg.model.base
    else:
        base = str(cfg.paths.embedded_model_dir)
        if not model_setup.is_ready(cfg.paths.embedded_model_dir):
            base += " (not set up yet: companion model setup)"
    params, size = model_setup.model_size(base.split(" ")[0])
    typer.echo(f"base model:     {base}")
    if size:
        p = f"{params / 1e6:.0f}M parameters, " if params else ""
        typer.echo(f"size:           {p}{size / 1e6:.0f} MB on disk")
    typer.echo(f"active adapter: {active_adapter_name(cfg) or 'none'}")


# --- serve --------------------------------------------------------------------------------


@serve_app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    foreground: Annotated[bool, typer.Option(help="Run in this terminal until Ctrl+C.")] = False,
) -> None:
    """Start the local vLLM server in the background (or --foreground)."""
    if ctx.invoked_subcommand is not None:
        return
    from companion.cli.wiring import serve_background, serve_foreground

    cfg = load_config()
    if foreground:
        raise typer.Exit(serve_foreground(cfg))
    state = serve_background(cfg)
    typer.echo(f"server ready at {state.base_url} (pid {state.pid}, model {state.model})")


@serve_app.command("status")
def serve_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show pid, port, model, adapter, uptime and health. Exit 3 when not running."""
    from companion.server import ServerManager

    status = ServerManager(load_config()).status()
    if as_json:
        from dataclasses import asdict

        data = asdict(status)
        if data.get("state"):
            data["state"].pop("api_key", None)
        typer.echo(json.dumps(data, indent=2))
    elif status.external_url:
        typer.echo(f"external server {status.external_url}: {status.reason}")
    elif status.state is None:
        typer.echo("not running (start it: companion serve)")
    else:
        s = status.state
        typer.echo(f"pid:     {s.pid}")
        typer.echo(f"url:     {s.base_url}")
        typer.echo(f"model:   {s.model} (checkpoint {s.checkpoint})")
        typer.echo(f"adapter: {s.adapter or 'none'}")
        typer.echo(f"device:  {s.device}")
        typer.echo(f"uptime:  {status.uptime_s:.0f} s")
        typer.echo(f"health:  {status.reason}")
        typer.echo(f"log:     {s.log}")
    if not status.healthy:
        raise typer.Exit(EXIT_NOT_READY)


@serve_app.command("stop")
def serve_stop() -> None:
    """Stop the local server and clean up its state."""
    from companion.server import ServerManager

    stopped = ServerManager(load_config()).stop()
    typer.echo("server stopped" if stopped else "no server was running")


@app.command()
def doctor() -> None:
    """Check every part and print the command that fixes each missing one. Exit 3 if any."""
    from companion.cli.doctor import run_checks

    checks = run_checks()
    for check in checks:
        mark = "ok  " if check.ok else ("warn" if check.optional else "FAIL")
        typer.echo(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok and check.fix:
            typer.echo(f"       fix: {check.fix}")
    if not all(c.ok or c.optional for c in checks):
        raise typer.Exit(EXIT_NOT_READY)


_mount()


def main() -> None:
    try:
        app()
    except CompanionError as e:
        typer.echo(f"{ERROR_PREFIX}{e}", err=True)
        log_tail = getattr(e, "log_tail", None)
        if log_tail:
            typer.echo("last lines of the server log:", err=True)
            for line in log_tail:
                typer.echo(f"  {line}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
