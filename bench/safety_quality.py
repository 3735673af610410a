"""Safety quality: recall and false positives per category, per layer, dev and held-out.

Runs tests/data/safety_eval.jsonl through the real pipeline in fallback mode (no Detoxify
weights: what every fresh install runs) with the layers switched on one by one:

- rules only: crisis rules + conversation context, abuse and manipulation rules, the
  profanity model; no semantic head;
- rules + semantic head, for each feature set the head could use (WordLlama embedding,
  TF-IDF word and character n-grams, both): the comparison the default was chosen on, on
  the dev split only;
- the shipped pipeline (rules + semantic head on both feature sets + context), on dev and
  held-out, and once more without conversation history (what the context layer adds).

The held-out split is never used for tuning: `--show-failures` prints dev misses only.
Also: a dev-only sweep of the crisis thresholds, and latency of a turn (user check with
history + reply check) on this CPU. Target p95 <= 30 ms.

Run: .venv/bin/python bench/safety_quality.py [--show-failures] [--no-write]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import percentile, write_section  # noqa: E402
from companion.config import SafetyConfig  # noqa: E402
from companion.safety import quality, semantic  # noqa: E402
from companion.safety.fallback import FallbackClassifier  # noqa: E402
from companion.safety.pipeline import SafetyPipeline  # noqa: E402
from companion.safety.quality import Report, Row  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "safety_eval.jsonl"
FEATURES: tuple[semantic.Features, ...] = ("wordllama", "tfidf", "both")


def pipeline(layer: semantic.SemanticLayer | None) -> SafetyPipeline:
    clf = FallbackClassifier(semantic=layer, use_semantic=layer is not None)
    return SafetyPipeline(SafetyConfig(), clf, semantic=layer)


def pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.0f}%"


def headline(r: Report) -> dict[str, float]:
    return r.aggregates()


def worst_line(r: Report) -> str:
    parts = []
    for label, (cat, rate) in r.worst().items():
        what = "recall" if label in quality.POSITIVE else "flagged"
        parts.append(f"{label}: {cat} {what} {pct(rate)}")
    return "; ".join(parts)


HEAD_KEYS = (
    "crisis recall",
    "safe flagged",
    "toxic recall",
    "clean flagged (toxic)",
    "manipulative recall",
    "clean flagged (manipulative)",
)


def head_alone(layer: semantic.SemanticLayer, rows: list[Row]) -> dict[str, float]:
    """The head on its own, at the shipped thresholds: what it would catch without rules."""
    users = [r for r in rows if r.side == "user"]
    replies = [r for r in rows if r.side == "reply"]
    crisis = dict(zip(users, layer.crisis_scores([r.text for r in users]), strict=True))
    reply = dict(zip(replies, layer.reply_scores([r.text for r in replies]), strict=True))

    def share(flags: list[bool]) -> float:
        return sum(flags) / len(flags) if flags else float("nan")

    def user(label: str) -> float:
        return share([p >= semantic.CRISIS_CHECK_IN for r, p in crisis.items() if r.label == label])

    def rep(label: str, key: str, at: float) -> float:
        return share([s[key] >= at for r, s in reply.items() if r.label == label])

    return {
        "crisis recall": user("crisis"),
        "safe flagged": user("safe"),
        "toxic recall": rep("toxic", "toxic", semantic.TOXIC),
        "clean flagged (toxic)": rep("clean", "toxic", semantic.TOXIC),
        "manipulative recall": rep("manipulative", "manipulative", semantic.MANIPULATIVE),
        "clean flagged (manipulative)": rep("clean", "manipulative", semantic.MANIPULATIVE),
    }


def latency(p: SafetyPipeline, rows: list[Row], turns: int) -> dict[str, float]:
    users = [r for r in rows if r.side == "user"]
    replies = [r for r in rows if r.side == "reply"]
    for r in users[:5]:  # warm-up
        p.check_user(r.text, r.history)
    user_ms, reply_ms, turn_ms = [], [], []
    for i in range(turns):
        u, rep = users[i % len(users)], replies[i % len(replies)]
        if p.semantic is not None:
            p.semantic.clear_cache()  # pessimistic: no score is reused across turns
        t0 = time.perf_counter()
        p.check_user(u.text, u.history)
        t1 = time.perf_counter()
        p.check_reply(u.text, rep.text, quality.PERSONA)
        t2 = time.perf_counter()
        user_ms.append((t1 - t0) * 1000)
        reply_ms.append((t2 - t1) * 1000)
        turn_ms.append((t2 - t0) * 1000)
    return {
        "user_p50": percentile(user_ms, 50),
        "user_p95": percentile(user_ms, 95),
        "reply_p50": percentile(reply_ms, 50),
        "reply_p95": percentile(reply_ms, 95),
        "turn_p50": percentile(turn_ms, 50),
        "turn_p95": percentile(turn_ms, 95),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--show-failures", action="store_true", help="print dev misses")
    ap.add_argument("--no-write", action="store_true", help="don't write docs/benchmarks.md")
    ap.add_argument("--turns", type=int, default=300, help="turns for the latency figure")
    args = ap.parse_args()

    rows = quality.load(args.data)
    dev = [r for r in rows if r.split == "dev"]
    held = [r for r in rows if r.split == "heldout"]
    print(f"{len(rows)} lines: {len(dev)} dev, {len(held)} held-out", flush=True)

    t0 = time.perf_counter()
    embedder = semantic.Embedder(semantic.load_wordllama())
    wordllama_ms = (time.perf_counter() - t0) * 1000
    layers: dict[str, semantic.SemanticLayer] = {}
    build_ms: dict[str, float] = {}
    for f in FEATURES:
        t0 = time.perf_counter()
        layers[f] = semantic.build(features=f, embedder=embedder)
        build_ms[f] = (time.perf_counter() - t0) * 1000
    shipped_layer = layers[semantic.DEFAULT_FEATURES]

    rules_only = pipeline(None)
    shipped = pipeline(shipped_layer)
    reports: dict[tuple[str, str], Report] = {
        ("rules only", "dev"): quality.run(rules_only, dev),
        ("rules only", "heldout"): quality.run(rules_only, held),
        ("shipped", "dev"): quality.run(shipped, dev),
        ("shipped", "heldout"): quality.run(shipped, held),
    }
    seq = [r for r in rows if r.history]
    no_context = quality.run(shipped, seq, use_history=False)
    with_context = quality.run(shipped, seq)
    compare = {f: quality.run(pipeline(layers[f]), dev) for f in FEATURES}

    if args.show_failures:
        print("\ndev misses (shipped):")
        for o in reports[("shipped", "dev")].misses():
            print(f"  [{o.row.category}] {o.row.text!r} → {o.action}; {o.reasons[:3]}")

    # --- per category -----------------------------------------------------------------
    cats = list(dict.fromkeys(r.category for r in rows))
    lines = [
        "| category | label | n dev / held-out | dev: rules → +semantic | "
        "held-out: rules → +semantic |",
        "|---|---|---|---|---|",
    ]
    per = {k: v.by_category() for k, v in reports.items()}
    for cat in cats:
        label = per[("shipped", "dev")].get(cat, per[("shipped", "heldout")].get(cat))
        assert label is not None
        what = "recall" if label[0] in quality.POSITIVE else "flagged"

        def cell(split: str, cat: str = cat) -> str:
            a = per[("rules only", split)].get(cat)
            b = per[("shipped", split)].get(cat)
            return f"{pct(a[1]) if a else '–'} → {pct(b[1]) if b else '–'}"

        n_dev = per[("shipped", "dev")].get(cat, ("", 0.0, 0))[2]
        n_held = per[("shipped", "heldout")].get(cat, ("", 0.0, 0))[2]
        lines.append(
            f"| {cat} | {label[0]} ({what}) | {n_dev} / {n_held} | {cell('dev')} | "
            f"{cell('heldout')} |"
        )

    agg_lines = [
        "| measure | dev: rules → +semantic | held-out: rules → +semantic | held-out target |",
        "|---|---|---|---|",
    ]
    aggs = {k: v.aggregates() for k, v in reports.items()}
    for name in aggs[("shipped", "dev")]:
        goal = quality.TARGETS.get(name)
        target = f"{goal[0]} {pct(goal[1])}" if goal else ""
        if goal:
            got = aggs[("shipped", "heldout")][name]
            met = got >= goal[1] if goal[0] == ">=" else got <= goal[1]
            target += " ✓" if met else " ✗"
        agg_lines.append(
            f"| {name} | {pct(aggs[('rules only', 'dev')][name])} → "
            f"{pct(aggs[('shipped', 'dev')][name])} | "
            f"{pct(aggs[('rules only', 'heldout')][name])} → "
            f"{pct(aggs[('shipped', 'heldout')][name])} | {target} |"
        )

    cmp_lines = [
        "| semantic features | train both heads (ms) | dev crisis recall | dev safe flagged | "
        "dev toxic blocked | dev clean blocked | dev manipulative blocked | worst dev category |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f, rep in compare.items():
        a = rep.aggregates()
        cmp_lines.append(
            f"| {f}{' (shipped)' if f == semantic.DEFAULT_FEATURES else ''} | "
            f"{build_ms[f]:.0f} | {pct(a['crisis recall'])} | "
            f"{pct(a['safe look-alikes flagged'])} | {pct(a['toxic replies blocked'])} | "
            f"{pct(a['clean replies blocked'])} | {pct(a['manipulative replies blocked'])} | "
            f"{worst_line(rep)} |"
        )

    head_lines = [
        "| semantic features | crisis recall | safe flagged | toxic recall | clean flagged "
        "(toxic) | manipulative recall | clean flagged (manipulative) |",
        "|---|---|---|---|---|---|---|",
    ]
    for f, layer in layers.items():
        h = head_alone(layer, dev)
        head_lines.append(
            f"| {f}{' (shipped)' if f == semantic.DEFAULT_FEATURES else ''} | "
            + " | ".join(pct(h[k]) for k in HEAD_KEYS)
            + " |"
        )

    # --- threshold sweep (dev only) ---------------------------------------------------
    sweep_lines = [
        "| semantic check-in threshold | dev crisis recall | dev safe flagged |",
        "|---|---|---|",
    ]
    dev_user = [r for r in dev if r.side == "user"]
    for t in (0.4, 0.5, 0.6, 0.7, 0.8):
        p = pipeline(shipped_layer)
        p.crisis.check_in_at = t
        a = quality.run(p, dev_user).aggregates()
        mark = " (shipped)" if t == semantic.CRISIS_CHECK_IN else ""
        sweep_lines.append(
            f"| {t}{mark} | {pct(a['crisis recall'])} | {pct(a['safe look-alikes flagged'])} |"
        )

    lat = latency(shipped, rows, args.turns)
    ctx_a, ctx_b = no_context.aggregates(), with_context.aggregates()

    out = [
        "## Safety quality (fallback mode: no Detoxify weights)",
        "",
        f"{len(rows)} labelled lines written for this project "
        f"(tests/data/safety_eval.jsonl): {len(dev)} dev, {len(held)} held-out, "
        "the held-out split never used for tuning. User lines count as flagged when the "
        "pipeline answers `crisis` or `check_in`; replies as blocked on `block`. "
        "Cells: rules only → rules + semantic head (the shipped pipeline).",
        "",
        *agg_lines,
        "",
        f"Worst category, held-out, shipped: {worst_line(reports[('shipped', 'heldout')])}.",
        f"Worst category, dev, shipped: {worst_line(reports[('shipped', 'dev')])}.",
        "",
        *lines,
        "",
        f"Conversation context ({len(seq)} two-message lines, both splits): crisis recall "
        f"{pct(ctx_a['crisis recall'])} without history → {pct(ctx_b['crisis recall'])} "
        f"with; safe look-alikes flagged {pct(ctx_a['safe look-alikes flagged'])} → "
        f"{pct(ctx_b['safe look-alikes flagged'])}.",
        "",
        "Semantic head features, compared on dev (rules + head):",
        "",
        *cmp_lines,
        "",
        "The head alone (no rules), dev, at the shipped thresholds: what each feature set "
        "generalizes to without the rules' help:",
        "",
        *head_lines,
        "",
        "Crisis check-in threshold for the semantic head alone, dev only:",
        "",
        *sweep_lines,
        "",
        f"Latency, shipped fallback pipeline, {args.turns} turns over the eval lines: "
        f"user check (with history) p50 {lat['user_p50']:.1f} / p95 {lat['user_p95']:.1f} ms; "
        f"reply check p50 {lat['reply_p50']:.1f} / p95 {lat['reply_p95']:.1f} ms; "
        f"user + reply p50 {lat['turn_p50']:.1f} / p95 {lat['turn_p95']:.1f} ms "
        f"({'meets' if lat['turn_p95'] <= 30 else 'misses'} the 30 ms p95 target). "
        f"Semantic layer, once per process: WordLlama load {wordllama_ms:.0f} ms + training "
        f"{build_ms[semantic.DEFAULT_FEATURES]:.0f} ms. Load average "
        f"{os.getloadavg()[0]:.1f}.",
        "",
        "Reproduce: `.venv/bin/python bench/safety_quality.py`; the held-out targets are "
        "asserted by `tests/engine/test_safety_quality.py`.",
    ]
    text = "\n".join(out)
    print("\n" + text)
    if not args.no_write:
        write_section("safety_quality", text)


if __name__ == "__main__":
    main()
