import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from companion import server
from companion.config import Config


def _state(pid: int, tmp_path: Path) -> server.ServerState:
    return server.ServerState(
        pid=pid,
        host="127.0.0.1",
        port=1234,
        api_key="k",
        model=server.BASE_NAME,
        base_model="b",
        checkpoint="b",
        adapter=None,
        lora=True,
        device="cpu",
        started_at=0.0,
        log=str(tmp_path / "log"),
    )


def test_state_file_is_private_and_round_trips(config: Config, tmp_path: Path) -> None:
    path = config.paths.server_state
    server.write_state(path, _state(os.getpid(), tmp_path))
    assert (path.stat().st_mode & 0o777) == 0o600
    assert server.read_state(path) == _state(os.getpid(), tmp_path)


def test_stale_state_with_dead_pid_is_removed(config: Config, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    server.write_state(config.paths.server_state, _state(proc.pid, tmp_path))
    manager = server.ServerManager(config)
    assert manager.state() is None
    assert not config.paths.server_state.exists()
    assert manager.status().reason == "not running"
    with pytest.raises(server.ServerError, match="companion serve"):
        manager.endpoint()


def test_corrupt_state_is_removed(config: Config) -> None:
    config.paths.server_state.parent.mkdir(parents=True, exist_ok=True)
    config.paths.server_state.write_text("{not json")
    assert server.ServerManager(config).state() is None
    assert not config.paths.server_state.exists()


def test_live_pid_without_http_is_running_but_unhealthy(config: Config, tmp_path: Path) -> None:
    server.write_state(config.paths.server_state, _state(os.getpid(), tmp_path))
    status = server.ServerManager(config).status()
    assert status.running and not status.healthy


def test_free_port_is_bindable() -> None:
    port = server.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_external_url_is_used_as_is() -> None:
    cfg = Config.model_validate(
        {"server": {"url": "http://gpu-box:8000/v1/", "api_key": "sk"}, "data_dir": "/tmp/x"}
    )
    ep = server.ServerManager(cfg).endpoint()
    assert (ep.base_url, ep.api_key, ep.managed) == ("http://gpu-box:8000/v1", "sk", False)
    with pytest.raises(server.ServerError, match="server.url is set"):
        server.ServerManager(cfg).spawn("base")


def test_cpu_command_and_env() -> None:
    cfg = Config.model_validate({"data_dir": "/d", "server": {"cpu_threads": "0-3"}})
    cmd = server.build_command(
        cfg,
        python="py",
        checkpoint="/m",
        served_names=["companion-base"],
        port=9,
        device="cpu",
        lora_modules=["a=/x"],
    )
    assert cmd[:5] == ["py", "-m", "companion.vllm_launcher", "--model", "/m"]
    assert "--enforce-eager" in cmd and "--gpu-memory-utilization" not in cmd
    assert cmd[cmd.index("--dtype") + 1] == "bfloat16"
    assert cmd[cmd.index("--lora-modules") + 1] == "a=/x"
    env = server.build_env(cfg, "cpu", {}, api_key="-starts-with-dash", avail_gib=20, cores=2)
    assert env["VLLM_API_KEY"] == "-starts-with-dash"
    assert not any("starts-with-dash" in arg for arg in cmd)
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "0-3"
    assert env["VLLM_CACHE_ROOT"] == "/d/cache/vllm"
    assert env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"


def test_gpu_command_uses_memory_utilization() -> None:
    cfg = Config.model_validate({"data_dir": "/d", "server": {"gpu_memory_utilization": 0.5}})
    cmd = server.build_command(
        cfg,
        python="py",
        checkpoint="/m",
        served_names=["n"],
        port=9,
        device="cuda",
        lora_modules=[],
    )
    assert "--enforce-eager" not in cmd
    assert cmd[cmd.index("--gpu-memory-utilization") + 1] == "0.5"
    assert cmd[cmd.index("--dtype") + 1] == "auto"
    assert "VLLM_CPU_KVCACHE_SPACE" not in server.build_env(
        cfg, "cuda", {}, api_key="k", avail_gib=8, cores=8
    )


@pytest.mark.parametrize(("avail", "expected"), [(2.0, 1), (50.0, 4), (500.0, 8)])
def test_kv_cache_sized_from_memory(avail: float, expected: int) -> None:
    assert server.kv_cache_gib(Config(data_dir=Path("/d")), avail) == expected


def test_serving_plan_merged_on_cpu_lora_on_gpu() -> None:
    cfg = Config(data_dir=Path("/d"))
    ad = server.AdapterRef("companion-v2", "/a/v2", "/m/v2")
    assert server.serving_plan(cfg, "cpu", "/base", None) == ("/base", server.BASE_NAME, [])
    assert server.serving_plan(cfg, "cpu", "/base", ad) == ("/m/v2", "companion-v2", [])
    assert server.serving_plan(cfg, "cuda", "/base", ad) == (
        "/base",
        "companion-v2",
        ["companion-v2=/a/v2"],
    )
    unmerged = server.AdapterRef("companion-v3", "/a/v3")
    assert server.serving_plan(cfg, "cpu", "/base", unmerged)[2] == ["companion-v3=/a/v3"]


def test_relevant_log_lines_end_at_the_error() -> None:
    log = "\n".join([f"INFO line {i}" for i in range(40)] + ["ValueError: bad dtype", "INFO bye"])
    lines = server.relevant_log_lines(log, limit=3)
    assert lines == ["INFO line 38", "INFO line 39", "ValueError: bad dtype"]
    assert server.relevant_log_lines("a\nb\n", limit=5) == ["a", "b"]


def test_meminfo_parsing() -> None:
    assert server.available_memory_gib("MemTotal: 1 kB\nMemAvailable: 2097152 kB\n") == 2.0
