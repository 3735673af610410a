"""A damaged adapter folder (a truncated safetensors file, garbage JSON, a missing file) or a
damaged merged checkpoint: the chat still opens, on the base model or on runtime LoRA, and
says in one line which folder is damaged and what to do. The registry is left as it was."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file
from test_resume import SIZE, settle
from tui_data import make_engine

from align.adapters import adapter_problem, checkpoint_problem
from companion.cli.wiring import servable_adapter
from companion.config import Config
from feedback.repo import Store
from tui import state as ui_state
from tui.app import make_app


def write_adapter(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": 4, "peft_type": "LORA"}))
    tensors = {"base_model.model.layers.0.q_proj.lora_A.weight": np.ones((4, 64), np.float32)}
    save_file(tensors, str(path / "adapter_model.safetensors"))
    return path


def write_checkpoint(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    save_file({"lm_head.weight": np.ones((8, 64), np.float32)}, str(path / "model.safetensors"))
    return path


def truncate(file: Path, keep: int) -> None:
    file.write_bytes(file.read_bytes()[:keep])


def test_a_whole_adapter_and_checkpoint_pass(tmp_path: Path):
    assert adapter_problem(write_adapter(tmp_path / "v001")) is None
    assert checkpoint_problem(write_checkpoint(tmp_path / "v001-merged")) is None


W = "adapter_model.safetensors"
C = "adapter_config.json"


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda p: truncate(p / W, 200), f"{W} is damaged"),
        (lambda p: truncate(p / W, 0), f"{W} is damaged"),
        (lambda p: (p / W).unlink(), f"{W} is missing"),
        (lambda p: (p / C).write_text('{"r": 4,'), f"{C} is unreadable"),
        (lambda p: (p / C).write_bytes(b"\xff\xfe"), f"{C} is unreadable"),
        (lambda p: (p / C).write_text("[1]"), f"{C} is not a JSON object"),
    ],
)
def test_each_kind_of_damage_is_named(tmp_path: Path, damage, problem: str):
    folder = write_adapter(tmp_path / "v001")
    damage(folder)
    assert (adapter_problem(folder) or "").startswith(problem)


@settings(max_examples=40, deadline=None)
@given(cut=st.floats(min_value=0.0, max_value=0.999))
def test_any_truncation_of_the_weights_is_caught(tmp_path_factory, cut: float):
    folder = write_adapter(tmp_path_factory.mktemp("a") / "v001")
    weights = folder / "adapter_model.safetensors"
    truncate(weights, int(weights.stat().st_size * cut))
    assert adapter_problem(folder) is not None


def register(store: Store, data_dir: Path, *, merged: bool) -> Path:
    folder = write_adapter(data_dir / "adapters" / "v001")
    merged_dir = write_checkpoint(data_dir / "adapters" / "v001-merged") if merged else None
    store.add_adapter_version("v001", folder, kind="sft", merged_path=merged_dir)
    store.set_active_adapter("v001")
    return folder


def test_a_damaged_adapter_is_served_as_the_base_with_one_line(fconfig: Config, store: Store):
    folder = register(store, fconfig.data_dir, merged=True)
    truncate(folder / "adapter_model.safetensors", 100)
    ref, notice = servable_adapter(fconfig, store)
    assert ref is None
    assert notice is not None and "\n" not in notice
    assert str(folder) in notice and "companion adapters rollback" in notice
    assert store.active_adapter().version == "v001"  # the user decides about the registry


def test_a_damaged_merged_checkpoint_falls_back_to_runtime_lora(fconfig: Config, store: Store):
    register(store, fconfig.data_dir, merged=True)
    merged = fconfig.data_dir / "adapters" / "v001-merged"
    (merged / "config.json").write_text("{")
    ref, notice = servable_adapter(fconfig, store)
    assert ref is not None and ref.merged_path is None and ref.name == "companion-v001"
    assert notice is not None and str(merged) in notice and "runtime LoRA" in notice


def test_a_whole_adapter_is_served_with_no_notice(fconfig: Config, store: Store):
    register(store, fconfig.data_dir, merged=True)
    ref, notice = servable_adapter(fconfig, store)
    assert notice is None and ref is not None and ref.merged_path is not None


async def test_the_chat_opens_and_says_which_adapter_folder_is_damaged(
    fconfig: Config, store: Store, sse
):
    folder = register(store, fconfig.data_dir, merged=False)
    truncate(folder / "adapter_model.safetensors", 100)
    ui_state.save(fconfig.paths.state_file, ui_state.UiState(accepted=True))

    def start(_progress):
        # The composition root's own check, on the real files; the server is the SSE fake.
        _ref, notice = servable_adapter(fconfig, store)
        engine = make_engine(fconfig, store, sse.url, "x", "companion")
        engine.notice = notice
        return engine

    app = make_app(fconfig, store=store, engine=None, start_server=start)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        (said,) = [n.message for n in app._notifications if n.title == "Adapter"]
        assert "\n" not in said and str(folder) in said
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        conv = app.chat.conversation
        assert conv is not None
        assert [(m.role, m.status) for m in store.messages(conv.id)] == [
            ("user", "complete"),
            ("assistant", "complete"),
        ]
        assert app.is_running
    await app.chat.backend.engine.client.aclose()
