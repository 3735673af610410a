"""The composition root: builds the running pieces (store, server, engine, retrain, app)
from a config and wires them together. Only `companion.cli` imports `tui` and `align`."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from companion.cli.common import open_store
from companion.config import Config
from companion.server import AdapterRef, ServerManager, ServerState, StartProgress

if TYPE_CHECKING:
    from rich.status import Status

    from companion.engine import Engine
    from companion.memory.service import MemoryService
    from companion.prompt import TokenCounter
    from feedback.repo import Store


def active_adapter(store: Store) -> AdapterRef | None:
    version = store.active_adapter()
    if version is None:
        return None
    return AdapterRef(
        name=f"companion-{version.version}",
        path=version.path,
        merged_path=version.merged_path,
    )


def servable_adapter(config: Config, store: Store) -> tuple[AdapterRef | None, str | None]:
    """The active adapter as the server can load it, and one line for the user when its
    files are damaged: a broken merged checkpoint falls back to runtime LoRA, a broken
    adapter to the base model. The registry is left alone: rolling back is the user's call."""
    from align.adapters import adapter_problem, checkpoint_problem

    ref = active_adapter(store)
    if ref is None:
        return None, None
    version = ref.name.removeprefix("companion-")
    problem = adapter_problem(Path(ref.path))
    if problem:
        return None, (
            f"adapter {version} at {ref.path} is damaged ({problem}); the chat uses the base "
            f"model. Fix: companion adapters rollback, or retrain"
        )
    if ref.merged_path and config.server.merge_on_cpu:
        problem = checkpoint_problem(Path(ref.merged_path))
        if problem:
            return replace(ref, merged_path=None), (
                f"the merged checkpoint of {version} at {ref.merged_path} is damaged "
                f"({problem}); serving {version} as runtime LoRA. "
                "Fix: companion adapters rollback, or retrain"
            )
    return ref, None


def active_adapter_name(config: Config) -> str | None:
    try:
        ref = active_adapter(open_store(config))
    except Exception:  # noqa: BLE001 - a status line must not fail on a broken database
        return None
    return ref.name if ref else None


def _start_progress() -> tuple[Status, StartProgress]:
    from rich.console import Console

    console = Console(stderr=True)
    status = console.status("starting the companion server…")

    def progress(line: str, elapsed: float) -> None:
        status.update(f"starting the companion server… {elapsed:4.0f} s  [dim]{line[-80:]}[/]")

    return status, progress


def _model_progress() -> Callable[[str, int, int], None]:
    from rich.console import Console

    console = Console(stderr=True)

    def progress(msg: str, i: int, n: int) -> None:
        console.print(f"[bold]model setup[/] [{i}/{n}] {msg}")

    return progress


def serving_inputs(config: Config) -> tuple[str, AdapterRef | None]:
    from companion.model_setup import base_model

    base = base_model(config, progress=_model_progress())
    adapter, notice = servable_adapter(config, open_store(config))
    if notice:
        sys.stderr.write(f"companion: warning: {notice}\n")
    return base, adapter


def serve_background(config: Config) -> ServerState:
    manager = ServerManager(config)
    existing = manager.state()
    if existing is not None:
        manager.wait_healthy(existing)
        return existing
    base, adapter = serving_inputs(config)
    status, progress = _start_progress()
    with status:
        return manager.start(base, adapter, progress=progress)


def serve_foreground(config: Config) -> int:
    """Run the server attached to this terminal; the state is recorded for other commands."""
    manager = ServerManager(config)
    base, adapter = serving_inputs(config)
    proc, _state = manager.spawn(base, adapter, foreground=True)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()
    finally:
        config.paths.server_state.unlink(missing_ok=True)


def connect_engine(
    config: Config,
    store: Store,
    *,
    progress: StartProgress | None = None,
    model_progress: Callable[[str, int, int], None] | None = None,
    memory: MemoryService | None = None,
) -> Engine:
    """Set up the model if needed, start or reuse the server, and build the engine on it.
    `memory`: the chat's memory service, shared so one message index serves both."""
    from companion.client import ChatClient
    from companion.engine import Engine
    from companion.model_setup import base_model
    from companion.prompt import approx_counter, load_counter
    from companion.safety.pipeline import build_pipeline

    manager = ServerManager(config)
    checkpoint: str | None = config.model.base or None
    base: str | None = None
    notice: str | None = None
    if not manager.external:
        base = base_model(config, progress=model_progress or _model_progress())
        adapter, notice = servable_adapter(config, store)
        manager.ensure_running(base, adapter, progress=progress or _quiet)
        state = manager.state()
        checkpoint = state.checkpoint if state else base
    endpoint = manager.endpoint()
    try:
        count = load_counter(checkpoint) if checkpoint else approx_counter
    except (OSError, ValueError):
        count = approx_counter  # an external model we have no tokenizer for
    client = ChatClient(endpoint.base_url, endpoint.api_key, timeout=config.chat.request_timeout_s)
    return Engine(
        config,
        client,
        store,
        build_pipeline(config.safety, config.paths),
        count,
        model=endpoint.model,
        base_model=base,
        endpoint=manager.endpoint,
        notice=notice,
        memory=memory or memory_service(config, store, count),
    )


def memory_service(
    config: Config, store: Store, count_tokens: TokenCounter | None = None
) -> MemoryService:
    """Memory for the engine and the chat: the notes in the store, recalled by meaning
    (WordLlama, from its wheel) with earlier turns from the message index. The embedding
    model loads on the first reply, off the event loop; without it, notes go in newest
    first and earlier turns are not recalled (one line on stderr says why)."""
    from companion.memory.recall import line_counter
    from companion.memory.service import LazyRecall, MemoryService
    from companion.prompt import approx_counter

    count = count_tokens or approx_counter
    lines = line_counter(count)
    mc = config.memory
    recall = LazyRecall(
        store,
        config.paths.memory_index,
        lines,
        past_turns=mc.past_turns,
        max_notes=mc.recall_notes,
        max_turns=mc.recall_turns,
    )

    return MemoryService(store, config.memory, lines, recall=recall)


def _quiet(_line: str, _elapsed: float) -> None:
    return None


RetrainReporter = Callable[[str, float | None], None]


def retrain_job(config: Config, store: Store) -> Callable[[RetrainReporter], str]:
    """`companion retrain` for the chat's command palette: runs in a worker thread."""

    def job(report: RetrainReporter) -> str:
        from align.retrain import retrain
        from align.safety_probe import safety_scorer
        from align.train import TrainProgress
        from companion.model_setup import training_base

        def progress(p: TrainProgress) -> None:
            loss = f", loss {p.loss:.3f}" if p.loss is not None else ""
            acc = f", reward acc {p.reward_accuracy:.2f}" if p.reward_accuracy is not None else ""
            report(f"step {p.step}/{p.total}{loss}{acc}", p.step / max(p.total, 1))

        result = retrain(
            config,
            store,
            base_model_dir=training_base(config),
            hot_swap=lambda _dir: report(hot_swap(config, store), None),
            after_merge=lambda _v, _dir: report(hot_swap(config, store, runtime=False), None),
            scorer=safety_scorer(config),
            progress=progress,
        )
        return outcome_line(result.status, result.version, result.reasons)

    return job


def outcome_line(status: str, version: str | None, reasons: Sequence[str]) -> str:
    """A retrain's result as the one line the app's notification shows."""
    if version:
        return f"retrain {status}: adapter {version} is live"
    why = next((r.strip() for r in reasons if r.strip()), "")
    return f"retrain {status}: {why.splitlines()[0]}" if why else f"retrain {status}"


def run_chat(config: Config, *, persona: str | None = None, store: Store | None = None) -> None:
    from align.autoloop import LearningLoop
    from align.starter_job import WithPersonaTraining
    from companion.cli.startup import default_start
    from tui.app import make_app

    store = store or open_store(config)
    learning = WithPersonaTraining(LearningLoop(config, store), config, store)
    learning.start()
    memory = memory_service(config, store)
    app = make_app(
        config,
        store=store,
        server=ServerManager(config),
        start_server=default_start(config, store, memory),
        retrain=retrain_job(config, store),
        persona=persona,
        learning=learning,
        memory=memory,
    )
    try:
        app.run()
    finally:
        memory.close()
    sys.exit(app.return_code or 0)


def hot_swap(
    config: Config,
    store: Store,
    *,
    progress: StartProgress | None = None,
    runtime: bool = True,
) -> str:
    """Make the store's active adapter live in the running server; one line for the user.

    With LoRA enabled it goes live at once through runtime loading; on CPU, once a merged
    checkpoint exists, a second server on the merged weights takes over with no gap.
    """
    manager = ServerManager(config)
    ref = active_adapter(store)
    state = manager.state()
    if state is None and not manager.external:
        return "no server running; the next start serves the new adapter"
    if ref is None:
        return _back_to_base(config, manager)
    notes = []
    if runtime and config.server.enable_lora:
        manager.activate_adapter(ref)
        notes.append(f"{ref.name} is live (runtime LoRA)")
    if (
        not manager.external
        and ref.merged_path
        and state is not None
        and state.device == "cpu"
        and config.server.merge_on_cpu
    ):
        from companion.model_setup import base_model

        manager.switch(base_model(config), ref, progress=progress or (lambda _l, _e: None))
        notes.append(f"now served from the merged checkpoint {ref.merged_path}")
    return "; ".join(notes) or "restart the server to serve the new adapter"


def _back_to_base(config: Config, manager: ServerManager) -> str:
    """After a rollback to no adapter: serve the plain base model again."""
    from dataclasses import replace

    from companion.model_setup import base_model
    from companion.server import BASE_NAME, write_state

    state = manager.state()
    if state is None or state.model == BASE_NAME:
        return "serving the base model"
    base = base_model(config)
    if state.checkpoint != base:
        manager.switch(base, None)
    else:
        write_state(config.paths.server_state, replace(state, model=BASE_NAME, adapter=None))
    return "serving the base model"
