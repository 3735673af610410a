"""Typed configuration: defaults < ``config.toml`` < ``COMPANION_*`` environment variables.

Environment keys use ``__`` between section and field, e.g. ``COMPANION_SERVER__PORT=8123``
or ``COMPANION_CHAT__N_ALTERNATIVES=2``. ``COMPANION_DATA_DIR`` sets ``data_dir``.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from companion import paths
from companion.errors import CompanionError

ENV_PREFIX = "COMPANION_"
# Variables under the prefix that are not config keys.
_NON_KEYS = {"COMPANION_HOME", "COMPANION_DEVICE"}


class ConfigError(CompanionError):
    """A config problem, already phrased as the one line the user sees."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerConfig(_Section):
    url: str | None = None
    """An external OpenAI-compatible vLLM endpoint (e.g. http://gpu-box:8000/v1). When set,
    companion never starts a server of its own."""
    api_key: str | None = None
    """API key for `url`. A local server gets a random key of its own."""
    host: str = "127.0.0.1"
    """Interface the local server binds to."""
    port: int = Field(default=0, ge=0, le=65535)
    """Port of the local server; 0 picks a free one."""
    dtype: str = "auto"
    """Weights dtype; auto is bfloat16 on CPU (faster than float32 there: see
    docs/benchmarks.md) and vLLM's choice on GPU."""
    max_model_len: int = Field(default=2048, ge=128)
    """Context length the server allows, in tokens."""
    kv_cache_gib: int | None = Field(default=None, ge=1)
    """CPU KV-cache size in GiB; unset sizes it from available memory."""
    cpu_threads: str | None = None
    """CPU cores vLLM binds to (e.g. "0-1"); unset uses every core."""
    gpu_memory_utilization: float = Field(default=0.85, gt=0, le=1)
    """Share of GPU memory vLLM may use (GPU only)."""
    enable_lora: bool = True
    """Serve with LoRA enabled so adapters can be hot-swapped at runtime."""
    max_lora_rank: int = Field(default=64, ge=1)
    """Largest LoRA rank the server accepts."""
    merge_on_cpu: bool = True
    """On CPU, serve base+adapter as one merged checkpoint (LoRA serving triples TTFT there)."""
    prefix_caching: bool = True
    """Reuse the KV cache of the shared persona prompt across turns."""
    startup_timeout_s: float = Field(default=300, gt=0)
    """How long to wait for a starting server to become healthy."""
    extra_args: list[str] = []
    """Further arguments passed to vLLM as they are."""


class ModelConfig(_Section):
    base: str = ""
    """Base model: a local Hugging Face checkpoint or hub id; empty = the embedded SmolLM2."""
    served_name: str = "companion"
    """Name the server gives the companion model."""
    persona_adapter: bool = True
    """On first setup of the embedded model, SFT-train the default persona's adapter on the
    shipped starter dialogues and make it active (about 4 min on 2 CPU cores)."""


class DatabaseConfig(_Section):
    url: str = ""
    """SQLAlchemy URL; empty = SQLite file in the data dir. PostgreSQL:
    postgresql+psycopg://user:pass@host/db"""


class ChatConfig(_Section):
    persona: str = "default"
    """Persona used for new conversations."""
    n_alternatives: int = Field(default=3, ge=1, le=8)
    """How many candidates 'ask for several' generates."""
    temperature: float = Field(default=0.8, ge=0, le=2)
    top_p: float = Field(default=0.95, gt=0, le=1)
    max_tokens: int = Field(default=384, ge=1)
    """Longest reply, in tokens."""
    request_timeout_s: float = Field(default=120, gt=0)
    break_reminder_minutes: int = Field(default=0, ge=0)
    """Suggest a break after this many minutes of continuous chat; 0 turns it off."""
    keys: dict[str, str] = {}
    """Key binding overrides, action name -> key (e.g. rate_up = "plus")."""
    theme: str = "textual-dark"
    history_page: int = Field(default=20, ge=2)
    """Messages shown when a conversation opens; earlier ones come in pages of this many as
    you scroll to the top (each message on screen costs the layout of every frame)."""


DEFAULT_THRESHOLDS = {
    "toxicity": 0.7,
    "severe_toxicity": 0.5,
    "obscene": 0.8,
    "threat": 0.6,
    "insult": 0.7,
    "identity_attack": 0.6,
}


class SafetyConfig(_Section):
    detoxify_variant: Literal["original", "unbiased", "multilingual"] = "original"
    detoxify_checkpoint: str = ""
    """Path to a Detoxify .ckpt; empty = the one `companion safety install` stored, then the
    torch hub cache."""
    detoxify_hf_config: str = ""
    """Folder with the checkpoint's Hugging Face config and tokenizer (offline use)."""
    detoxify_int8: bool = True
    """Run Detoxify with dynamic int8 quantization on CPU: about four times as fast per sentence,
    scores within a few hundredths of fp32 (docs/benchmarks.md)."""
    thresholds: dict[str, float] = DEFAULT_THRESHOLDS
    """Per-label Detoxify thresholds; a reply over any of them is blocked."""
    blocklist: list[str] = []
    """Words or phrases never shown (case-insensitive, whole words)."""
    intensity_margin: float = Field(default=0.25, ge=0, le=1)
    """A reply may be at most this much more intense than the user's own message."""
    max_regenerations: int = Field(default=2, ge=0, le=5)
    """Calmer retries before a reply is softened deterministically."""
    release_chunk_chars: int = Field(default=16, ge=0, le=2000)
    """Release a sentence before it ends, in word-boundary chunks of at least this many new
    characters, each once the whole prefix so far has passed the checks (the first chunk
    as soon as one word is complete). 0 releases whole sentences only."""

    @field_validator("thresholds")
    @classmethod
    def _keep_unlisted_defaults(cls, value: dict[str, float]) -> dict[str, float]:
        for label, t in value.items():
            if not 0 <= t <= 1:
                raise ValueError(f"threshold for {label} must be between 0 and 1")
        return {**DEFAULT_THRESHOLDS, **value}

    crisis_resources: str = (
        "If you are in danger right now, call your local emergency number. "
        "In the US you can call or text 988; in the UK and Ireland, Samaritans are on 116 123; "
        "elsewhere, https://findahelpline.com lists free, confidential lines."
    )


class RetrainConfig(_Section):
    auto: bool = False
    """Retrain in the background (a low-priority process) after `auto_after_pairs` new
    pairs; the chat says when the new persona is live."""
    auto_after_pairs: int = Field(default=50, ge=1)
    pairs_every_events: int = Field(default=10, ge=1)
    """Build pairs in the background after this many ratings/choices (and whenever a
    conversation ends)."""
    min_pairs: int = Field(default=8, ge=1)
    """Fewer pairs than this: KTO on thumbs, or no training."""
    method: Literal["auto", "dpo", "kto"] = "auto"
    learning_rate: float = Field(default=2e-4, gt=0)
    """DPO/KTO learning rate for the LoRA adapter (bench/learning_loop.py measured with it)."""
    beta: float = Field(default=0.1, gt=0)
    epochs: float = Field(default=2.0, gt=0)
    max_steps: int = -1
    batch_size: int = Field(default=4, ge=1)
    max_length: int = Field(default=1024, ge=64)
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    lora_targets: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    holdout_fraction: float = Field(default=0.2, ge=0, lt=1)
    step_budget: int = Field(default=32, ge=0)
    """Optimizer steps one round may take (0: no limit). A round trains on the pairs the live
    adapter has not learned, plus a replay sample of older ones, within this budget."""
    replay_ratio: float = Field(default=1.0, ge=0)
    """Older pairs replayed per new pair, so earlier rounds are not forgotten."""
    combine_kto: bool = False
    """A DPO round also trains KTO on the thumbs no pair carries, continuing from the DPO
    stage with the same parent as reference, within `step_budget`; one adapter is gated.
    Off until the trait suite (bench/learning_loop.py) measures it better than DPO alone."""
    max_holdout_pairs: int = Field(default=48, ge=0)
    """The gate judges on at most this many holdout pairs (the new ones first, then a sample
    of older ones), so its time does not grow with the history either (0: all)."""
    min_holdout_pairs: int = Field(default=6, ge=0)
    """When the conversation split gives the gate fewer holdout pairs than this, whole
    conversations (else a conversation's latest turns) are set aside for that round."""
    gate_margin: float = Field(default=0.0, ge=0)
    """Only when the implicit reward cannot be measured: the new adapter may be at most this
    much worse on raw holdout accuracy than the active one and still promoted."""
    gate_alpha: float = Field(default=0.2, gt=0, le=1)
    """The new adapter must win more holdout pairs against its parent (DPO's implicit reward)
    than chance explains: a one-sided sign test at this level, and a positive mean margin."""
    learn_from_safety: bool = False
    """Also train on softened ≻ raw pairs so the model learns the safety filter."""
    scrub_personal_data: bool = True


class MemoryConfig(_Section):
    enabled: bool = True
    """Recall memories and earlier conversations into the prompt, and suggest memories."""
    shared: bool = False
    """New memories apply to every persona (true) or only to the persona they were told to."""
    auto_accept: bool = False
    """Memories suggested at the end of a conversation become active without confirmation."""
    budget_tokens: int = Field(default=160, ge=0, le=2000)
    """Prompt tokens for recalled memories and earlier turns, per reply."""
    past_turns: bool = True
    """Also recall relevant turns of earlier conversations (not only memories)."""
    recall_notes: int = Field(default=1, ge=0, le=20)
    """Notes recalled per message besides the user's name and boundaries: the closest. One
    suits SmolLM2-135M best (bench/memory.py: it answers from one note, not from three);
    raise it for a bigger model."""
    recall_turns: int = Field(default=2, ge=0, le=10)
    """Turns of earlier conversations recalled per message, at most."""


class Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(default_factory=paths.default_data_dir)
    """All state: models, adapters, database, logs, server state."""
    server: ServerConfig = ServerConfig()
    model: ModelConfig = ModelConfig()
    database: DatabaseConfig = DatabaseConfig()
    chat: ChatConfig = ChatConfig()
    safety: SafetyConfig = SafetyConfig()
    retrain: RetrainConfig = RetrainConfig()
    memory: MemoryConfig = MemoryConfig()

    @property
    def paths(self) -> paths.Paths:
        return paths.Paths(self.data_dir)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.paths.db_file}"


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        tree = tree.setdefault(p, {})
        if not isinstance(tree, dict):
            raise ConfigError(f"{dotted}: {p} is not a section")
    tree[leaf] = value


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key not in _DICT_FIELDS:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


_DICT_FIELDS = {"chat.keys", "safety.thresholds"}


def _env_value(raw: str) -> Any:
    """Env values are TOML-ish: lists/numbers/booleans parse as JSON, anything else is a str."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in _NON_KEYS:
            continue
        dotted = name[len(ENV_PREFIX) :].lower().replace("__", ".")
        # Only names under a known section or top-level field are ours (a typo inside a
        # section still fails loudly); other COMPANION_* variables belong to tools and tests.
        if dotted.split(".")[0] not in Config.model_fields:
            continue
        out[dotted] = _env_value(raw)
    return out


def _line_of(text: str, dotted: str) -> int | None:
    """Line in the TOML text where `dotted` is set, for error messages."""
    *section, leaf = dotted.split(".")
    want = ".".join(section)
    current = ""
    for i, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        m = re.match(r"^\[([^\]]+)\]", stripped)
        if m:
            current = m.group(1).strip()
            continue
        if current == want and re.match(rf"^{re.escape(leaf)}\s*=", stripped):
            return i
    return None


class LoadedConfig(BaseModel):
    """The effective config and where each value came from."""

    config: Config
    sources: dict[str, str]
    file: Path


def load(file: Path | None = None, environ: dict[str, str] | None = None) -> LoadedConfig:
    """Load the effective config; raises ConfigError with a one-line message."""
    file = file or paths.config_file()
    environ = dict(os.environ if environ is None else environ)
    tree: dict[str, Any] = {}
    sources: dict[str, str] = {}
    text = ""
    if file.exists():
        try:
            text = file.read_text(encoding="utf-8")
            tree = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{file}: {e}; fix the file or delete it to get defaults") from e
        except UnicodeDecodeError as e:
            raise ConfigError(
                f"{file}: not UTF-8 text (byte {e.start}); "
                "fix the file or delete it to get defaults"
            ) from e
        except OSError as e:
            raise ConfigError(f"{file}: cannot read ({e.strerror}); fix its permissions") from e
        for k in _flatten(tree):
            sources[k] = f"file {file}"
    env = env_overrides(environ)
    if "data_dir" in env:
        env["data_dir"] = str(env["data_dir"])
    for k, v in env.items():
        _set(tree, k, v)
        sources[k] = f"env {ENV_PREFIX}{k.upper().replace('.', '__')}"
    try:
        config = Config.model_validate(tree)
    except ValidationError as e:
        err = e.errors()[0]
        dotted = ".".join(str(p) for p in err["loc"])
        origin = sources.get(dotted) or sources.get(".".join(str(p) for p in err["loc"][:2]), "")
        if origin.startswith("env"):
            where = origin.removeprefix("env ")
        else:
            line = _line_of(text, dotted)
            where = f"{file}:{line}" if line else str(file)
        msg = err["msg"] if err["type"] != "extra_forbidden" else "unknown key"
        raise ConfigError(f"{where}: {dotted}: {msg}") from e
    return LoadedConfig(config=config, sources=sources, file=file)


def effective(loaded: LoadedConfig) -> list[tuple[str, Any, str]]:
    """(key, value, source) for every setting, defaults included."""
    flat = _flatten(loaded.config.model_dump(mode="json"))
    return [(k, v, loaded.sources.get(k, "default")) for k, v in sorted(flat.items())]


DEFAULT_TOML = """\
# companion configuration. Every key can also be set by an environment variable:
# COMPANION_<SECTION>__<KEY>, e.g. COMPANION_SERVER__PORT=8123. `companion config show`
# prints the effective values and where each came from.

# data_dir = "~/.local/share/companion"   # all state: models, adapters, database, logs

[server]
# url = "http://gpu-box:8000/v1"   # use an external vLLM deployment instead of a local one
# api_key = ""
# port = 0                 # 0 = pick a free port
# max_model_len = 2048
# kv_cache_gib = 1         # CPU only; unset = sized from available memory
# cpu_threads = "0-1"      # CPU cores vLLM binds to
# gpu_memory_utilization = 0.85
# merge_on_cpu = true      # serve base+adapter merged on CPU (LoRA triples TTFT there)

[model]
# base = ""                # empty = embedded SmolLM2-135M-Instruct; or a path / HF id
# persona_adapter = true   # setup trains the default persona's SFT adapter (~4 min, 2 cores)

[database]
# url = ""                 # empty = SQLite in the data dir; or postgresql+psycopg://...

[chat]
# persona = "default"
# n_alternatives = 3
# temperature = 0.8
# max_tokens = 384
# break_reminder_minutes = 0   # 0 = off
# theme = "textual-dark"
# history_page = 20            # messages shown on open; scroll to the top for more

# [chat.keys]
# rate_up = "plus"

[safety]
# detoxify_checkpoint = ""     # a Detoxify .ckpt; `companion safety install` fills this in
# intensity_margin = 0.25
# max_regenerations = 2
# blocklist = []

# [safety.thresholds]         # labels not listed keep their defaults
# toxicity = 0.7

[retrain]
# auto = false             # retrain in the background once enough new pairs come in
# auto_after_pairs = 50
# pairs_every_events = 10  # build pairs after this many ratings/choices, and per conversation
# min_pairs = 8
# step_budget = 32         # steps per round: new pairs + a replay sample of older ones
# replay_ratio = 1.0
# combine_kto = false      # a DPO round also trains KTO on unpaired thumbs (until measured)
# max_holdout_pairs = 48   # the gate's sample of the holdout (new first)
# min_holdout_pairs = 6    # the gate judges on at least this many (set aside for the round)
# gate_alpha = 0.2         # sign test: the new adapter beats its parent on holdout beyond chance
# learning_rate = 2e-4
# epochs = 2
# lora_r = 16

[memory]
# enabled = true           # recall memories and earlier conversations; suggest memories
# shared = false           # new memories apply to every persona, or only to the one told
# auto_accept = false      # suggested memories need no confirmation
# budget_tokens = 160      # prompt tokens for recalled memories and earlier turns
# past_turns = true        # also recall turns of earlier conversations
# recall_notes = 1         # notes per message besides name and boundaries (1 suits SmolLM2)
# recall_turns = 2         # earlier turns per message
"""


def ensure_file(file: Path | None = None) -> Path:
    """Create the config file with commented defaults on first run."""
    file = file or paths.config_file()
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(DEFAULT_TOML, encoding="utf-8")
    return file


def set_value(dotted: str, value: Any, file: Path | None = None) -> Path:
    """Set one key in the config file, keeping its comments and layout; validates first."""
    import tomlkit

    file = ensure_file(file)
    doc = tomlkit.parse(file.read_text(encoding="utf-8"))
    *sections, leaf = dotted.split(".")
    table: Any = doc
    for name in sections:
        if name not in table:
            table[name] = tomlkit.table()
        table = table[name]
    table[leaf] = value
    text = tomlkit.dumps(doc)
    try:
        Config.model_validate(tomllib.loads(text))
    except ValidationError as e:
        raise ConfigError(f"{dotted}: {e.errors()[0]['msg']}") from e
    tmp = file.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(file)
    return file
