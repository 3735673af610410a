"""Semantic head features compared: WordLlama, TF-IDF, both (shipped), the served model's own.

Trains the same heads as companion/safety/semantic.py (its ``build`` and ``Head``: same
exemplar banks, same logistic regression, same text preparation and max-over-sentences
scoring) on each feature set, and scores them alone (no rules) on the dev split of
tests/data/safety_eval.jsonl at the shipped thresholds (``CRISIS_CHECK_IN``, ``TOXIC``,
``MANIPULATIVE``), via bench/safety_quality.py's ``head_alone``:

- ``wordllama``: WordLlama ``l2_supercat`` 256-dim static embedding;
- ``tfidf``: TF-IDF word 1-2-grams + character 2-5-grams;
- ``both``: the two concatenated (shipped);
- ``smollm2``: SmolLM2-135M-Instruct (the served base model, converted checkpoint) last
  hidden states, mean-pooled over the attention mask, L2-normalized (576 dims); torch
  float32 on CPU, one thread, batched, no gradient;
- ``smollm2+tfidf``: that embedding concatenated with TF-IDF (an extra, same cost).

Cost: p50 milliseconds to compute one message's features (one text, no batching, no
cache), and the one-off load (embedding model) and training (both heads) times. Held-out:
totals only, printed once at the end; nothing here is tuned.

Run: .venv/bin/python bench/semantic_compare.py [--no-write] [--timing N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import percentile, write_section  # noqa: E402
from bench.safety_quality import DATA, HEAD_KEYS, head_alone, pct  # noqa: E402
from companion.safety import quality, semantic  # noqa: E402


class CachedEmbedder:
    """Wraps an embedder with a per-text cache (training texts and eval pieces are
    embedded once even though several layers read them)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.cache: dict[str, np.ndarray[Any, Any]] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for t, v in zip(missing, self.inner.embed(missing), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else self.inner.embed([])


class SmolEmbedder:
    """Mean-pooled last hidden states of the served model, unit length."""

    def __init__(self, path: str, batch: int = 16, max_tokens: int = 256) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(1)
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(path)
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token
        self.model = AutoModel.from_pretrained(path, torch_dtype=torch.float32).eval()
        self.dim = int(self.model.config.hidden_size)
        self.batch, self.max_tokens = batch, max_tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        idx.sort(key=lambda i: len(texts[i]))  # length-sorted batches: little padding
        with self.torch.inference_mode():
            for s in range(0, len(idx), self.batch):
                chunk = idx[s : s + self.batch]
                enc = self.tok(
                    [texts[i] for i in chunk],
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=self.max_tokens,
                )
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                vec = self.torch.nn.functional.normalize(vec, dim=-1)
                out[chunk] = np.nan_to_num(vec.numpy())
        return out


def per_message_ms(head: semantic.Head, texts: list[str], n: int) -> float:
    """p50 ms to build one message's feature row (no cache, no batching)."""
    inner = head._embedder.inner if isinstance(head._embedder, CachedEmbedder) else None
    saved = head._embedder
    if inner is not None:
        head._embedder = inner
    try:
        for t in texts[:3]:
            head._matrix([semantic.prepare(t)])
        ms = []
        for t in texts[:n]:
            p = semantic.prepare(t)
            t0 = time.perf_counter()
            head._matrix([p])
            ms.append((time.perf_counter() - t0) * 1000)
    finally:
        head._embedder = saved
    return percentile(ms, 50)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--no-write", action="store_true", help="don't write docs/benchmarks.md")
    ap.add_argument("--timing", type=int, default=60, help="messages for the cost figure")
    args = ap.parse_args()

    rows = quality.load(args.data)
    dev = [r for r in rows if r.split == "dev"]
    held = [r for r in rows if r.split == "heldout"]
    print(f"{len(rows)} lines: {len(dev)} dev, {len(held)} held-out", flush=True)
    t_start = time.perf_counter()

    t0 = time.perf_counter()
    wl = CachedEmbedder(semantic.Embedder(semantic.load_wordllama()))
    load_ms = {"wordllama": (time.perf_counter() - t0) * 1000, "tfidf": 0.0}
    load_ms["both"] = load_ms["wordllama"]

    from companion.config import load
    from companion.model_setup import base_model

    path = base_model(load().config)
    t0 = time.perf_counter()
    smol = CachedEmbedder(SmolEmbedder(path))
    load_ms["smollm2"] = load_ms["smollm2+tfidf"] = (time.perf_counter() - t0) * 1000
    print(
        f"loaded: WordLlama {load_ms['wordllama']:.0f} ms, SmolLM2 {load_ms['smollm2']:.0f} ms "
        f"({path})",
        flush=True,
    )

    plan: list[tuple[str, semantic.Features, Any]] = [
        ("wordllama", "wordllama", wl),
        ("tfidf", "tfidf", None),
        ("both", "both", wl),
        ("smollm2", "wordllama", smol),  # "wordllama" = embedding-only head, any embedder
        ("smollm2+tfidf", "both", smol),
    ]
    layers: dict[str, semantic.SemanticLayer] = {}
    train_ms: dict[str, float] = {}
    for name, feats, emb in plan:
        t0 = time.perf_counter()
        layers[name] = semantic.build(features=feats, embedder=emb)
        train_ms[name] = (time.perf_counter() - t0) * 1000
        print(f"trained {name}: {train_ms[name]:.0f} ms", flush=True)

    results = {}
    for name, layer in layers.items():
        results[name] = head_alone(layer, dev)
        print(f"dev scored {name} ({time.perf_counter() - t_start:.0f} s elapsed)", flush=True)

    timing_texts = [r.text for r in dev]
    timing_texts = timing_texts[:: max(1, len(timing_texts) // args.timing)]
    cost = {
        n: per_message_ms(layer.crisis, timing_texts, args.timing) for n, layer in layers.items()
    }

    shipped = "both"
    lines = [
        "| features | dims | dev crisis recall | dev safe flagged | dev toxic recall | "
        "dev clean flagged (toxic) | dev manipulative recall | dev clean flagged (manip.) | "
        "features per message p50 (ms) | load (ms) | train both heads (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    dims = {
        "wordllama": str(semantic.WORDLLAMA_DIM),
        "tfidf": "sparse",
        "both": f"{semantic.WORDLLAMA_DIM} + sparse",
        "smollm2": str(smol.inner.dim),
        "smollm2+tfidf": f"{smol.inner.dim} + sparse",
    }
    for name in layers:
        h = results[name]
        lines.append(
            f"| {name}{' (shipped)' if name == shipped else ''} | {dims[name]} | "
            + " | ".join(pct(h[k]) for k in HEAD_KEYS)
            + f" | {cost[name]:.2f} | {load_ms[name]:.0f} | {train_ms[name]:.0f} |"
        )

    # held-out: totals only, once, after everything above is fixed
    held_res = {name: head_alone(layer, held) for name, layer in layers.items()}
    held_lines = [
        "| features | " + " | ".join(HEAD_KEYS) + " |",
        "|---|" + "---|" * len(HEAD_KEYS),
    ]
    for name, h in held_res.items():
        held_lines.append(
            f"| {name}{' (shipped)' if name == shipped else ''} | "
            + " | ".join(pct(h[k]) for k in HEAD_KEYS)
            + " |"
        )

    out = [
        "## Semantic head features compared (head alone, no rules)",
        "",
        f"The crisis head (user lines: crisis vs safe look-alike) and the reply head (clean vs "
        f"toxic vs manipulative) trained exactly as companion/safety/semantic.py trains them "
        f"(same exemplar banks, logistic regression C=4, balanced, max over sentences), on each "
        f"feature set; scored on the dev split ({len(dev)} lines) at the shipped thresholds "
        f"(crisis ≥ {semantic.CRISIS_CHECK_IN}, toxic ≥ {semantic.TOXIC}, manipulative ≥ "
        f"{semantic.MANIPULATIVE}). `smollm2` is the served model's own embedding: "
        "SmolLM2-135M-Instruct last hidden states mean-pooled over the mask, unit length "
        "(torch float32, CPU, 1 thread). Features per message: one message, no batching, no "
        "cache (the shipped layer adds the logistic products and scores each sentence too). "
        "Load: the embedding model, once per process.",
        "",
        *lines,
        "",
        f"Held-out totals ({len(held)} lines; reported once, not used for any choice):",
        "",
        *held_lines,
        "",
        f"Whole run {time.perf_counter() - t_start:.0f} s; load average "
        f"{os.getloadavg()[0]:.1f}. Reproduce: `.venv/bin/python bench/semantic_compare.py`.",
    ]
    text = "\n".join(out)
    print("\n" + text)
    if not args.no_write:
        write_section("semantic_compare", text)


if __name__ == "__main__":
    main()
