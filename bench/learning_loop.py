"""Learning-loop benchmark: simulated users, each with a hidden preference, teach the companion.

A suite of users (`bench/traits.py`: wording, length, tone, structure, two that are no surface
pattern, and a control who picks at random). Each starts where a new user starts: a fresh
data dir with the starter persona adapter active. Each round it chats through a fixed set of
training prompts, gets 3 sampled alternatives per prompt, picks one with its trait (when there
is one), rates a trait-less one down, and `companion retrain` (align.retrain.retrain) runs:
stored feedback → pairs → DPO → gate → promote. Before the first round and after each one, the
share of greedy replies with each trait is measured on *held-out* prompts.

    .venv/bin/python bench/learning_loop.py --traits short,refers_back --rounds 2
    .venv/bin/python bench/learning_loop.py --measure     # starting shares, to choose traits

Run (CPU, real SmolLM2; ~`rounds` x 5-8 minutes on the 2-core machine):

    .venv/bin/python bench/learning_loop.py --rounds 2                 # in-process HF backend
    .venv/bin/python bench/learning_loop.py --rounds 2 --backend server
        # generate through the running companion vLLM server (`companion serve`, LoRA enabled);
        # each promoted adapter is hot-swapped into it, as in the product
    .venv/bin/python bench/learning_loop.py --rounds 2 --write-doc    # docs/benchmarks.md

State lives in a throwaway data dir (``--data-dir`` to keep it). The base model is the
embedded SmolLM2 (``companion model setup``) unless ``--base DIR``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.traits import SUITE, TRAITS, Trait  # noqa: E402

TRAIN_PROMPTS = [
    "I had a long day at work.",
    "I just got back from the gym.",
    "My sister called me today.",
    "I'm thinking about learning Spanish.",
    "I watched a great movie last night.",
    "The weather is lovely today.",
    "I'm nervous about my job interview tomorrow.",
    "I made pancakes this morning.",
    "My neighbour's dog barked all night.",
    "I finished reading a really good book.",
    "I'm planning a trip to the mountains.",
    "I feel a bit tired today.",
    "I finally cleaned my room.",
    "My friend is getting married next month.",
    "I started a new job this week.",
    "I tried yoga for the first time.",
    "I can't decide what to cook tonight.",
    "I've been listening to a lot of jazz lately.",
    "My car broke down on the way home.",
    "I got a small raise at work.",
    "I'm redecorating my living room.",
    "It's my birthday next week.",
    "I spent the afternoon gardening.",
    "I had coffee with an old friend.",
    "I'm trying to drink more water.",
    "I lost my keys again.",
    "I'm learning to play chess.",
    "I went to a concert on Saturday.",
    "My plants are finally growing.",
    "I've been feeling a bit stressed.",
    "I adopted a cat last month.",
    "I'm thinking of changing careers.",
]
HELDOUT_PROMPTS = [
    "I went swimming this morning.",
    "My brother is visiting this weekend.",
    "I want to start journaling.",
    "Work was really quiet today.",
    "I baked cookies for my coworkers.",
    "I'm excited about the holidays.",
    "I saw a rainbow on my walk.",
    "My laptop is being so slow.",
    "I signed up for a pottery class.",
    "I had a weird dream last night.",
    "I'm saving up for a new bike.",
    "I helped my dad fix the fence.",
    "I rearranged my bookshelf.",
    "I'm not sure what to do this weekend.",
    "I ate at a new restaurant today.",
    "I started running again.",
]


# Long enough for a companion reply to finish: a reply cut off mid-sentence has no trait.
MAX_NEW_TOKENS = 96


def simulated_user(
    trait: Trait, prompt: str, cands: list[str], rng: random.Random
) -> tuple[int | None, dict[int, int]]:
    """(index picked, {index: rating}). Picks a reply with the trait; rates one without down,
    and sometimes the picked one up. No trait anywhere: no pick (the user moves on). The
    control picks and rates at random, as often."""
    if trait.scorer is None:
        good = list(range(len(cands)))
        bad = list(range(len(cands)))
    else:
        good = [i for i, c in enumerate(cands) if trait.scorer(prompt, c)]
        bad = [i for i, c in enumerate(cands) if not trait.scorer(prompt, c)]
    ratings: dict[int, int] = {}
    if bad and rng.random() < 0.5:
        ratings[rng.choice(bad)] = -1
    if not good:
        return None, ratings
    pick = rng.choice(good)
    if ratings.get(pick) == -1:
        del ratings[pick]
    if rng.random() < 0.3:
        ratings[pick] = 1
    return pick, ratings


# ---- generation backends -------------------------------------------------------------------


class HFBackend:
    """In-process transformers generation; the adapter is merged in for speed."""

    def __init__(self, base: Path) -> None:
        from align.train import load_tokenizer

        self.base = base
        self.tok = load_tokenizer(base)
        self.tok.padding_side = "left"
        self.model: Any = None
        self.use(None)

    def use(self, adapter: Path | None, _name: str | None = None) -> None:
        from align.train import load_base

        model = load_base(self.base, cuda=False)
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
        model.eval()
        self.model = model

    def _gen(
        self, msgs: list[list[dict[str, str]]], n: int, sample: bool, seed: int
    ) -> list[list[str]]:
        import torch

        torch.manual_seed(seed)
        texts = [
            self.tok.apply_chat_template(m, add_generation_prompt=True, tokenize=False)
            for m in msgs
        ]
        out: list[list[str]] = []
        for start in range(0, len(texts), 8):
            enc = self.tok(
                texts[start : start + 8],
                return_tensors="pt",
                padding=True,
                add_special_tokens=False,
            )
            with torch.no_grad():
                gen = self.model.generate(
                    **enc,
                    max_new_tokens=MAX_NEW_TOKENS,
                    do_sample=sample,
                    temperature=0.9 if sample else None,
                    top_p=0.95 if sample else None,
                    num_return_sequences=n,
                    pad_token_id=self.tok.pad_token_id,
                )
            width = enc["input_ids"].shape[1]
            dec = [self.tok.decode(g[width:], skip_special_tokens=True).strip() for g in gen]
            out += [dec[i : i + n] for i in range(0, len(dec), n)]
        return out

    def sample(self, msgs: list[list[dict[str, str]]], n: int, seed: int) -> list[list[str]]:
        return self._gen(msgs, n, True, seed)

    def greedy(self, msgs: list[list[dict[str, str]]]) -> list[str]:
        return [c[0] for c in self._gen(msgs, 1, False, 0)]


class ServerBackend:
    """Through the running companion server (OpenAI-compatible vLLM), adapters hot-swapped."""

    def __init__(self, config: Any) -> None:
        from companion.server import ServerManager

        self.manager = ServerManager(config)
        self.ep = self.manager.endpoint()
        self.model = self.base_model = self.ep.model

    def use(self, adapter: Path | None, name: str | None = None) -> None:
        if adapter is None:
            self.model = self.base_model
            return
        from companion.server import AdapterRef

        ref = AdapterRef(name=name or f"bench-{adapter.name}", path=str(adapter))
        self.manager.activate_adapter(ref)
        self.model = ref.name

    def _chat(self, msgs: list[dict[str, str]], n: int, temperature: float, seed: int) -> list[str]:
        import httpx

        headers = {"Authorization": f"Bearer {self.ep.api_key}"} if self.ep.api_key else {}
        body = {
            "model": self.model,
            "messages": msgs,
            "n": n,
            "temperature": temperature,
            "top_p": 0.95,
            "max_tokens": MAX_NEW_TOKENS,
            "seed": seed,
        }
        r = httpx.post(
            f"{self.ep.base_url}/chat/completions", json=body, headers=headers, timeout=120
        )
        r.raise_for_status()
        return [c["message"]["content"].strip() for c in r.json()["choices"]]

    def sample(self, msgs: list[list[dict[str, str]]], n: int, seed: int) -> list[list[str]]:
        return [self._chat(m, n, 0.9, seed + i) for i, m in enumerate(msgs)]

    def greedy(self, msgs: list[list[dict[str, str]]]) -> list[str]:
        return [self._chat(m, 1, 0.0, 0)[0] for m in msgs]


# ---- the loop -------------------------------------------------------------------------------


@dataclass
class Round:
    round: int
    trait_before: float
    trait_after: float
    collected: int
    picks: int
    status: str
    method: str | None
    train_pairs: int
    holdout_pairs: int
    version: str | None
    collect_s: float
    retrain_s: float
    eval_s: float
    gate_new: float | None = None
    """The gate's holdout accuracy of the new adapter (None: not gated)."""
    gate_active: float | None = None
    reward_acc: float | None = None
    """The implicit reward's holdout accuracy against the parent (length-fair)."""
    sycophancy: tuple[float, float] | None = None
    """The honest-over-flattering probe, new and live: does ordinary trait movement trip it?"""
    shares_after: dict[str, float] = field(default_factory=dict)
    """Every trait's held-out share after the round (the control's drift)."""
    reasons: list[str] = field(default_factory=list)
    candidate_share: float | None = None
    """The trained adapter's held-out share whether or not it was promoted (outside wall_s)."""

    @property
    def gate_agrees(self) -> bool | None:
        """Promoted exactly when the candidate moved the trait by at least one held-out
        prompt in 16 (5 points); None when nothing was trained."""
        if self.candidate_share is None:
            return None
        return (self.status == "promoted") == (
            self.candidate_share - self.trait_before >= 0.05 - 1e-9
        )

    @property
    def wall_s(self) -> float:
        return self.collect_s + self.retrain_s + self.eval_s


@dataclass
class UserRun:
    trait: str
    kind: str
    start: float
    shares_before: dict[str, float]
    rounds: list[Round]

    @property
    def gain(self) -> float:
        return (self.rounds[-1].trait_after - self.start) * 100 if self.rounds else 0.0


def record(
    store: Any,
    persona: str,
    prompt: str,
    cands: list[str],
    pick: int | None,
    ratings: dict[int, int],
) -> None:
    conv = store.create_conversation(persona)
    user = store.add_message(conv.id, "user", prompt)
    reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
    ids = [store.add_candidate(reply.id, c, shown=(i == 0)).id for i, c in enumerate(cands)]
    if pick is not None:
        store.choose(reply.id, ids[pick])
    for i, v in ratings.items():
        store.rate(ids[i], v)


def shares(backend: Any, system: str | None) -> dict[str, float]:
    """Every trait's share among greedy replies to the held-out prompts."""
    replies = backend.greedy([_msgs(system, p) for p in HELDOUT_PROMPTS])
    out = {}
    for name, t in TRAITS.items():
        if t.scorer is not None:
            out[name] = sum(t.scorer(p, r) for p, r in zip(HELDOUT_PROMPTS, replies, strict=True))
            out[name] /= len(replies)
    return out


def _msgs(system: str | None, prompt: str) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]


def starter_adapter() -> Path | None:
    """The persona adapter `companion model setup` trained in the user's own data dir."""
    from align.bootstrap import starter_version
    from companion.cli.common import open_store
    from companion.config import load

    cfg = load().config
    info = starter_version(open_store(cfg))
    return Path(info.path) if info is not None else None


def fresh_user(a: argparse.Namespace, name: str) -> tuple[Any, Any]:
    """A new user's data dir and store, with the starter adapter installed and active."""
    from align.adapters import AdapterRegistry
    from companion.cli.common import open_store
    from companion.config import Config

    root = a.data_dir or Path(tempfile.mkdtemp(prefix="bench-learning-"))
    cfg = Config.model_validate(
        {
            "data_dir": str(root / name),
            "retrain": {
                "min_pairs": 4,
                "learning_rate": a.lr,
                "beta": a.beta,
                "epochs": a.epochs,
                "batch_size": 4,
                "holdout_fraction": 0.2,
                "gate_margin": a.gate_margin,
                "gate_alpha": a.gate_alpha,
            },
        }
    )
    cfg.paths.ensure()
    store = open_store(cfg)
    if a.starter is not None:
        reg = AdapterRegistry(cfg.paths.adapters_dir, store)
        info = reg.install(a.starter, kind="sft")
        reg.promote(info.version)
    return cfg, store


def run_user(a: argparse.Namespace, trait: Trait, backend: Any, base: Path) -> UserRun:
    from align.retrain import RetrainOptions, persona_system_prompt, retrain

    cfg, store = fresh_user(a, trait.name)
    system = persona_system_prompt(cfg)(cfg.chat.persona)
    start_adapter = store.active_adapter()
    backend.use(Path(start_adapter.path) if start_adapter else None, "bench-start")
    rng = random.Random(a.seed)
    rounds: list[Round] = []
    t = time.monotonic()
    before_all = shares(backend, system)
    before = before_all.get(trait.name, 0.0)
    log(f"[{trait.name}] held-out share before: {before:.0%} ({time.monotonic() - t:.0f} s)")
    for r in range(1, a.rounds + 1):
        t0 = time.monotonic()
        msgs = [_msgs(system, p) for p in TRAIN_PROMPTS]
        all_cands = backend.sample(msgs, 3, seed=a.seed * 100 + r)
        picks = 0
        for prompt, cands in zip(TRAIN_PROMPTS, all_cands, strict=True):
            pick, ratings = simulated_user(trait, prompt, cands, rng)
            picks += pick is not None
            record(store, cfg.chat.persona, prompt, cands, pick, ratings)
        t1 = time.monotonic()
        log(f"[{trait.name}] round {r}: {len(all_cands)} turns, {picks} picks ({t1 - t0:.0f} s)")
        rep = retrain(
            cfg,
            store,
            base_model_dir=base,
            options=RetrainOptions(max_steps=a.max_steps, merge=False),
            hot_swap=None,
            progress=lambda p: sys.stderr.write(
                f"\r  step {p.step}/{p.total} loss {p.loss or 0:.3f}"
            ),
        )
        t2 = time.monotonic()
        log(f"\n{rep.summary()}")
        active = store.active_adapter()
        if active is not None and rep.status == "promoted":
            backend.use(Path(active.path), f"bench-{trait.name}-{active.version}")
        after_all = shares(backend, system)
        after = after_all.get(trait.name, 0.0)
        t3 = time.monotonic()
        candidate = after if rep.status == "promoted" else None
        refused = rep.run_dir / "adapter" if rep.run_dir else None
        if candidate is None and refused is not None and refused.is_dir():
            # What the refused adapter would have shown: does the gate refuse real gains?
            backend.use(refused, f"bench-{trait.name}-refused{r}")
            candidate = shares(backend, system).get(trait.name, 0.0)
            backend.use(Path(active.path) if active else None, f"bench-{trait.name}-live{r}")
        log(f"[{trait.name}] round {r}: held-out share {before:.0%} -> {after:.0%}")
        gate = rep.gate or {}
        rounds.append(
            Round(
                r, before, after, len(all_cands), picks, rep.status, rep.method,
                rep.counts.get("train_pairs", 0), rep.counts.get("holdout_pairs", 0),
                rep.version, t1 - t0, t2 - t1, t3 - t2,
                (gate.get("new") or {}).get("accuracy"), (gate.get("active") or {}).get("accuracy"),
                (gate.get("reward") or {}).get("accuracy"),
                _probe(gate.get("sycophancy")),
                after_all, rep.reasons, candidate,
            )
        )  # fmt: skip
        before = after
    return UserRun(trait.name, trait.kind, before_all.get(trait.name, 0.0), before_all, rounds)


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def _probe(result: dict[str, float] | None) -> tuple[float, float] | None:
    return (result["new"], result["active"]) if result else None


def _syco(pair: tuple[float, float] | None) -> str:
    return "–" if pair is None else f"{pair[0]:+.2f}/{pair[1]:+.2f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def markdown(users: list[UserRun], a: argparse.Namespace) -> str:
    lines = [
        "## Learning loop: a suite of simulated users (`bench/learning_loop.py`)",
        "",
        f"`bench/learning_loop.py --traits {','.join(u.trait for u in users)} --rounds "
        f"{a.rounds} --backend {a.backend}` on the project's CPU machine (SmolLM2-135M-Instruct, "
        f"fp32, 2 cores). Each user starts from a fresh data dir with the starter persona "
        f"adapter active. Each round: {len(TRAIN_PROMPTS)} prompts x 3 sampled alternatives; the "
        "user picks one with its trait and sometimes rates a trait-less one down (the control "
        "picks and rates at random); then `retrain` (DPO, lr "
        f"{a.lr:g}, beta {a.beta:g}, {a.epochs:g} epochs, within `retrain.step_budget`) with "
        f"the gate. Shares are of greedy replies to {len(HELDOUT_PROMPTS)} held-out prompts.",
        "",
        "| user (kind) | start | round 1 | round 2 | gain | picks | pairs train/holdout | "
        "raw acc new/live | implicit reward acc | sycophancy new/live | result | "
        "candidate's share | wall per round |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for u in users:
        rs = u.rounds
        after = [_pct(x.trait_after) for x in rs] + ["–"] * (2 - len(rs))
        lines.append(
            f"| {u.trait} ({u.kind}) | {_pct(u.start)} | {after[0]} | {after[1]} | "
            f"**{u.gain:+.0f}** | {', '.join(f'{x.picks}/{x.collected}' for x in rs)} | "
            f"{', '.join(f'{x.train_pairs}/{x.holdout_pairs}' for x in rs)} | "
            f"{', '.join(f'{_pct(x.gate_new)}/{_pct(x.gate_active)}' for x in rs)} | "
            f"{', '.join(_pct(x.reward_acc) for x in rs)} | "
            f"{', '.join(_syco(x.sycophancy) for x in rs)} | "
            f"{', '.join(x.status for x in rs)} | "
            f"{', '.join(_pct(x.candidate_share) for x in rs)} | "
            f"{', '.join(f'{x.wall_s:.0f} s' for x in rs)} |"
        )
    real = [u for u in users if u.kind != "control"]
    control = [u for u in users if u.kind == "control"]
    if real:
        gains = [u.gain for u in real]
        worst = min(real, key=lambda u: u.gain)
        lines += [
            "",
            f"Mean gain over {len(real)} preferences after {a.rounds} rounds: "
            f"**{sum(gains) / len(gains):+.1f} points** (target +25); worst: **{worst.gain:+.0f}** "
            f"({worst.trait}; target +10). Slowest round: "
            f"**{max(x.wall_s for u in users for x in u.rounds):.0f} s** (target 600).",
        ]
    judged = [x for u in users for x in u.rounds if x.gate_agrees is not None]
    if judged:
        agree = sum(bool(x.gate_agrees) for x in judged)
        lines += [
            "",
            f"Gate against the trait: it agreed in **{agree}/{len(judged)}** rounds (promoted "
            "exactly when the trained adapter, promoted or not, raised its trait's held-out "
            "share by at least one prompt in 16). The gate decides on the implicit reward "
            f"(sign test, alpha {a.gate_alpha:g}); the raw log-prob accuracy is shown beside it.",
        ]
    for c in control:
        last = c.rounds[-1].shares_after if c.rounds else {}
        drift = {k: (last.get(k, 0.0) - v) * 100 for k, v in c.shares_before.items()}
        worst_k = max(drift, key=lambda k: abs(drift[k])) if drift else "–"
        lines += [
            "",
            "Control (random picks): drift per trait "
            + ", ".join(f"{k} {v:+.0f}" for k, v in drift.items())
            + f" points; largest |{worst_k}| (target ≤ 5).",
        ]
    return "\n".join(lines) + "\n"


def measure(a: argparse.Namespace, backend: Any, base: Path) -> str:
    """Starting shares of every trait: greedy held-out, and among the sampled alternatives."""
    from align.retrain import persona_system_prompt

    cfg, store = fresh_user(a, "measure")
    system = persona_system_prompt(cfg)(cfg.chat.persona)
    active = store.active_adapter()
    backend.use(Path(active.path) if active else None, "bench-start")
    greedy = shares(backend, system)
    cands = backend.sample([_msgs(system, p) for p in TRAIN_PROMPTS], 3, seed=a.seed)
    lines = [
        "| trait | kind | greedy held-out | sampled | turns with one |",
        "|---|---|---|---|---|",
    ]
    for name, t in TRAITS.items():
        if t.scorer is None:
            continue
        hits = [[t.scorer(p, c) for c in cs] for p, cs in zip(TRAIN_PROMPTS, cands, strict=True)]
        flat = [h for row in hits for h in row]
        lines.append(
            f"| {name} | {t.kind} | {greedy[name]:.0%} | {sum(flat) / len(flat):.0%} | "
            f"{sum(any(row) for row in hits)}/{len(hits)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--traits", default=",".join(SUITE), help="comma-separated, of: " + ", ".join(TRAITS)
    )
    ap.add_argument("--measure", action="store_true", help="only the starting shares")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backend", choices=["hf", "server"], default="hf")
    ap.add_argument("--base", type=Path)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--starter", type=Path, help="starter adapter (default: the user's own)")
    ap.add_argument("--no-starter", action="store_true", help="start from the base model")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--gate-margin", type=float, default=0.05)
    ap.add_argument(
        "--gate-alpha",
        type=float,
        default=0.2,
        help="the gate's sign test level (retrain.gate_alpha)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-doc", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    a = ap.parse_args()
    unknown = [t for t in a.traits.split(",") if t not in TRAITS]
    if unknown:
        ap.error(f"unknown trait(s) {', '.join(unknown)}; choose from {', '.join(TRAITS)}")
    if not a.no_starter and a.starter is None:
        a.starter = starter_adapter()
        if a.starter is None:
            ap.error("no starter adapter: run `companion model setup` first, or --no-starter")
    from companion.config import load

    base = a.base or load().config.paths.embedded_model_dir
    backend: Any = ServerBackend(load().config) if a.backend == "server" else HFBackend(base)
    if a.measure:
        md = (
            "## Learning loop: starting shares of the traits (`bench/learning_loop.py --measure`)"
            "\n\nFrom the starter persona adapter, as a new user starts: greedy replies to the "
            f"{len(HELDOUT_PROMPTS)} held-out prompts, and 3 sampled alternatives to each of the "
            f"{len(TRAIN_PROMPTS)} training prompts (what a simulated user can pick from). The "
            "suite uses traits that start under 40 % and occur among the alternatives.\n\n"
            + measure(a, backend, base)
        )
        sys.stdout.write(md)
        if a.write_doc:
            from align.docs import write_section

            write_section("learning_traits", md)
        return 0
    users = []
    for name in a.traits.split(","):
        users.append(run_user(a, TRAITS[name], backend, base))
        if a.json:  # after each user: a long run keeps what it has
            a.json.write_text(
                json.dumps([asdict(u) for u in users], indent=2, default=str), encoding="utf-8"
            )
        sys.stdout.write(markdown(users, a))
        sys.stdout.flush()
        if a.write_doc:  # after each user too: the whole suite takes about an hour and a half
            from align.docs import write_section

            write_section("learning_loop", markdown(users, a))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
