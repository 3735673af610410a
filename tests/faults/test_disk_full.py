"""The disk fills up: while the chat writes a message, while an adapter is saved and while
the merged checkpoint is written. Each gives one line; nothing already stored is damaged;
the app keeps running and works again once there is space. The file system is a small tmpfs
the test mounts (the cases skip, saying why, where the sandbox forbids mounting)."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_setup import chat_app, fault_config
from test_resume import SIZE, settle, stored

from align.adapters import AdapterError, AdapterRegistry, merge_adapter
from feedback.repo import open_store


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            "the disk-full cases mount a small tmpfs, which needs root or CAP_SYS_ADMIN: "
            f"{done.stderr.strip() or 'mount failed'}"
        )
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(fs: Path, leave: int = 0) -> Path:
    """Fill `fs` with one file, then give `leave` bytes back."""
    filler = fs / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\1" * 65536)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    size = filler.stat().st_size
    with filler.open("r+b") as f:
        f.truncate(max(0, size - leave))
    return filler


def integrity(db_file: Path) -> str:
    with sqlite3.connect(db_file) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


async def test_a_full_disk_while_writing_a_message_keeps_the_app_and_the_data(small_fs: Path, sse):
    config = fault_config(small_fs / "data", sse.url)
    store = open_store(config.database_url)
    app, engine = chat_app(config, store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"first", "enter")
        await settle(pilot)
        conv = app.chat.conversation
        assert conv is not None
        before = [(m.role, m.status, m.text) for m in store.messages(conv.id)]
        assert [r[:2] for r in before] == [("user", "complete"), ("assistant", "complete")]

        filler = fill(small_fs)
        await pilot.press(*"second", "enter")
        await settle(pilot)
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors, "the user is told the message was not saved"
        assert all("\n" not in e for e in errors)
        assert any("the disk is full; free some space" in e for e in errors), errors
        assert app.is_running
        assert app.chat.chat_input.text == "second"  # the unsent text is given back

        filler.unlink()
        await pilot.press("enter")  # send it again, as it was
        await settle(pilot)
        rows = [(m.role, m.status, m.text) for m in store.messages(conv.id)]
        assert rows[: len(before)] == before  # nothing already stored is damaged
        assert ("user", "complete", "second") in rows
        assert rows[-1][:2] == ("assistant", "complete")
        assert [b.turn.text for b in stored(app) if b.turn.role == "user"] == ["first", "second"]
    await engine.client.aclose()
    store.close()
    assert integrity(config.paths.db_file) == "ok"


def write_adapter(path: Path, size: int) -> Path:
    import json

    import numpy as np
    from safetensors.numpy import save_file

    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": 4, "peft_type": "LORA"}))
    save_file({"w": np.ones(size // 4, np.float32)}, str(path / "adapter_model.safetensors"))
    return path


def test_a_full_disk_while_saving_an_adapter_leaves_the_registry_as_it_was(
    small_fs: Path, tmp_path: Path
):
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    registry = AdapterRegistry(small_fs / "adapters", store)
    v1 = registry.install(write_adapter(tmp_path / "a1", 64_000), kind="sft")
    registry.promote(v1.version)
    big = write_adapter(tmp_path / "a2", 2_000_000)
    filler = fill(small_fs, leave=500_000)

    with pytest.raises(AdapterError) as caught:
        registry.install(big, kind="dpo", parent_version=v1.version)
    said = str(caught.value)
    assert "\n" not in said and "no space left" in said and "--resume" in said
    assert sorted(p.name for p in (small_fs / "adapters").iterdir()) == ["v001"]
    assert [v.version for v in registry.list()] == ["v001"]
    assert registry.active() is not None and registry.active().version == "v001"

    filler.unlink()
    v2 = registry.install(big, kind="dpo", parent_version=v1.version)
    assert v2.version == "v002" and (small_fs / "adapters" / "v002").is_dir()
    store.close()


def test_a_full_disk_while_merging_leaves_no_partial_checkpoint(
    small_fs: Path, tmp_path: Path, tiny_model_dir: Path
):
    from peft import LoraConfig, get_peft_model

    from align.train import load_base

    adapter = tmp_path / "adapter"
    model = get_peft_model(
        load_base(tiny_model_dir, cuda=False),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
    )
    model.save_pretrained(str(adapter))
    out = small_fs / "merged" / "v001"
    fill(small_fs, leave=200_000)

    with pytest.raises(AdapterError) as caught:
        merge_adapter(tiny_model_dir, adapter, out, verify=False)
    said = str(caught.value)
    assert "\n" not in said and "no space left" in said
    assert not out.exists()
    assert list((small_fs / "merged").iterdir()) == []  # the temp dir is gone too
