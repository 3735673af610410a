"""`companion safety install|status|check`: a Typer sub-app the CLI mounts as `safety`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from companion.cli.common import fail, load_config

safety_app = typer.Typer(
    help="The safety filter: install Detoxify, see its state.", no_args_is_help=True
)


@safety_app.command("install")
def install_cmd(
    source: Annotated[
        Path | None,
        typer.Option("--from", help="A Detoxify .ckpt you already have (else it is downloaded)."),
    ] = None,
) -> None:
    """Download Detoxify's weights and tokenizer once, for offline use."""
    from companion.safety.detox import SafetyModelError, install, online

    cfg = load_config()
    if source is None and not online():
        fail("no network; copy a Detoxify .ckpt here and use --from FILE")
    try:
        ckpt, hf = install(cfg.paths.safety_dir, cfg.safety.detoxify_variant, source=source)
    except (SafetyModelError, OSError) as e:
        fail(f"safety install failed: {e}")
    typer.echo(f"installed {ckpt} (tokenizer and config in {hf})")


@safety_app.command("status")
def status_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Say which layers run (full Detoxify or the fallback filter, the semantic layer, the
    rules) and whether any is degraded. Exit 3: fallback or degraded."""
    from companion.safety.pipeline import build_pipeline

    cfg = load_config()
    pipeline = build_pipeline(cfg.safety, cfg.paths)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "mode": pipeline.mode,
                    "detail": pipeline.detail,
                    "degraded": pipeline.degraded,
                    "problems": list(pipeline.problems),
                    "layers": pipeline.layers,
                }
            )
        )
    else:
        what = "full (Detoxify)" if pipeline.mode == "detoxify" else "FALLBACK filter"
        typer.echo(f"safety: {what}: {pipeline.classifier.detail}")
        for layer, state in pipeline.layers.items():
            typer.echo(f"  {layer:<14} {state}")
        for problem in pipeline.problems:
            typer.echo(f"  DEGRADED {problem}")
    if pipeline.mode != "detoxify" or pipeline.degraded:
        raise typer.Exit(3)


@safety_app.command("check")
def check_cmd(
    text: Annotated[str, typer.Argument(help="A reply to check.")],
    user: Annotated[str, typer.Option(help="The user's message it answers.")] = "",
    persona: Annotated[str | None, typer.Option(help="Persona (for its intensity cap).")] = None,
) -> None:
    """Show what the pipeline decides for a reply, with every score (for tuning thresholds)."""
    from companion import persona as persona_mod
    from companion.safety.pipeline import build_pipeline

    cfg = load_config()
    try:
        p = persona_mod.load(persona or cfg.chat.persona, cfg.paths)
    except persona_mod.PersonaError as e:
        fail(str(e))
    pipeline = build_pipeline(cfg.safety, cfg.paths)
    user_verdict = pipeline.check_user(user)
    verdict = pipeline.check_reply(user, text, p, user_intensity=user_verdict.scores["intensity"])
    typer.echo(json.dumps({"user": user_verdict.record(), "reply": verdict.record()}, indent=2))
