"""Learning-loop benchmark: a simulated user with a hidden preference teaches the companion.

The user prefers replies that **end with a question**. Each round it chats through a fixed set
of training prompts, gets 3 sampled alternatives per prompt, picks the one with the trait (when
there is one), rates a trait-less one down, and `companion retrain` (align.retrain.retrain) runs
on everything recorded so far: pairs → DPO → gate → promote. Before the first round and after
each one, the share of greedy replies with the trait is measured on *held-out* prompts.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def has_trait(reply: str) -> bool:
    return reply.strip().endswith("?")


def simulated_user(cands: list[str], rng: random.Random) -> tuple[int | None, dict[int, int]]:
    """(index picked, {index: rating}). Picks a reply with the trait; rates one without down,
    and sometimes the picked one up. No trait anywhere: no pick (the user moves on)."""
    good = [i for i, c in enumerate(cands) if has_trait(c)]
    bad = [i for i, c in enumerate(cands) if not has_trait(c)]
    ratings: dict[int, int] = {}
    if bad and rng.random() < 0.5:
        ratings[rng.choice(bad)] = -1
    if not good:
        return None, ratings
    pick = rng.choice(good)
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

    def use(self, adapter: Path | None) -> None:
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
        self.model = self.ep.model

    def use(self, adapter: Path | None, name: str | None = None) -> None:
        if adapter is None:
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
    reasons: list[str] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return self.collect_s + self.retrain_s + self.eval_s


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


def trait_share(backend: Any, system: str | None) -> float:
    msgs = [_msgs(system, p) for p in HELDOUT_PROMPTS]
    replies = backend.greedy(msgs)
    return sum(has_trait(r) for r in replies) / len(replies)


def _msgs(system: str | None, prompt: str) -> list[dict[str, str]]:
    return ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]


def run(a: argparse.Namespace) -> list[Round]:
    from align.retrain import RetrainOptions, persona_system_prompt, retrain
    from companion.cli.common import open_store
    from companion.config import Config

    data_dir = a.data_dir or Path(tempfile.mkdtemp(prefix="bench-learning-"))
    cfg = Config.model_validate(
        {
            "data_dir": str(data_dir),
            "retrain": {
                "min_pairs": 4,
                "learning_rate": a.lr,
                "beta": a.beta,
                "epochs": a.epochs,
                "batch_size": 4,
                "holdout_fraction": 0.2,
                "gate_margin": a.gate_margin,
            },
        }
    )
    cfg.paths.ensure()
    store = open_store(cfg)
    base = a.base or cfg.paths.embedded_model_dir
    system = persona_system_prompt(cfg)(cfg.chat.persona)
    backend: Any = ServerBackend(cfg) if a.backend == "server" else HFBackend(base)
    rng = random.Random(a.seed)
    rounds: list[Round] = []
    t = time.monotonic()
    before = trait_share(backend, system)
    log(f"held-out trait share before training: {before:.0%} ({time.monotonic() - t:.0f} s)")
    for r in range(1, a.rounds + 1):
        t0 = time.monotonic()
        msgs = [_msgs(system, p) for p in TRAIN_PROMPTS]
        all_cands = backend.sample(msgs, 3, seed=a.seed * 100 + r)
        picks = 0
        for prompt, cands in zip(TRAIN_PROMPTS, all_cands, strict=True):
            pick, ratings = simulated_user(cands, rng)
            picks += pick is not None
            record(store, cfg.chat.persona, prompt, cands, pick, ratings)
        t1 = time.monotonic()
        log(f"round {r}: collected {len(all_cands)} turns, {picks} picks ({t1 - t0:.0f} s)")
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
        if active is not None and a.backend == "server":
            backend.use(Path(active.path), f"bench-{active.version}")
        elif active is not None:
            backend.use(Path(active.path))
        after = trait_share(backend, system)
        t3 = time.monotonic()
        log(f"round {r}: held-out trait share {before:.0%} -> {after:.0%}")
        rounds.append(
            Round(
                r, before, after, len(all_cands), picks, rep.status, rep.method,
                rep.counts.get("train_pairs", 0), rep.counts.get("holdout_pairs", 0),
                rep.version, t1 - t0, t2 - t1, t3 - t2, rep.reasons,
            )
        )  # fmt: skip
        before = after
    return rounds


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def markdown(rounds: list[Round], a: argparse.Namespace) -> str:
    rows = "\n".join(
        f"| {x.round} | {x.trait_before:.0%} | {x.trait_after:.0%} | {x.picks}/{x.collected} | "
        f"{x.train_pairs}/{x.holdout_pairs} | {x.status} {x.version or ''} | "
        f"{x.collect_s:.0f} + {x.retrain_s:.0f} + {x.eval_s:.0f} = **{x.wall_s:.0f} s** |"
        for x in rounds
    )
    gain = (rounds[-1].trait_after - rounds[0].trait_before) * 100 if rounds else 0.0
    two = rounds[min(1, len(rounds) - 1)] if rounds else None
    gain2 = (two.trait_after - rounds[0].trait_before) * 100 if two else 0.0
    return f"""## Learning loop (simulated user who likes replies ending with a question)

`bench/learning_loop.py --rounds {a.rounds} --backend {a.backend}` on the project's CPU machine
(SmolLM2-135M-Instruct, fp32, 2 cores). Each round: {len(TRAIN_PROMPTS)} training prompts x 3
sampled alternatives; the user picks one ending with `?` and sometimes rates a trait-less one
down; then `retrain` (DPO, lr {a.lr:g}, beta {a.beta:g}, {a.epochs:g} epochs, LoRA r=16,
continuing from the active adapter) with the gate. The trait share is measured with greedy
replies to {len(HELDOUT_PROMPTS)} held-out prompts.

| round | trait before | after | picks | pairs train/holdout | result | wall: collect+retrain+eval |
|---|---|---|---|---|---|---|
{rows}

Change after 2 rounds: **{gain2:+.0f} points** (target +25); over {len(rounds)} rounds:
**{gain:+.0f} points**. Slowest round: **{max(x.wall_s for x in rounds):.0f} s** (target under
10 minutes). Retrain time grows with the pairs, since each round trains on all of them.
The defaults of `[retrain]` (lr 2e-4, 2 epochs, LoRA r=16) are the settings measured here.
Generation is in-process transformers (`--backend hf`); `--backend server` runs the same loop
through the running vLLM server with each promoted adapter hot-swapped in.
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--backend", choices=["hf", "server"], default="hf")
    ap.add_argument("--base", type=Path)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--gate-margin", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-doc", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the rounds as JSON here")
    a = ap.parse_args()
    rounds = run(a)
    md = markdown(rounds, a)
    sys.stdout.write(md)
    if a.json:
        a.json.write_text(json.dumps([x.__dict__ | {"wall_s": x.wall_s} for x in rounds], indent=2))
    if a.write_doc:
        from align.docs import write_section

        write_section("learning_loop", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
