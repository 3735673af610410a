"""Safety pipeline latency: what the checks add to a reply, with Detoxify and with the fallback.

The Detoxify model is BERT-base sized (12 layers, 768 hidden, 30,522-token vocabulary) with
random weights, saved in Detoxify's checkpoint layout and loaded through companion's real
loading path: a model of that architecture costs the same to run whatever its weights.

The engine checks each sentence as soon as it is complete, while the model goes on generating
the next one, so what a reply waits for is one sentence check (the last). Both figures are
reported: per sentence (the added latency per reply) and the whole reply checked at once.
Before generation the user's message is checked too (crisis rules, the semantic head, the
last three user turns): a turn adds one user check and one sentence check.
Target: <= 30 ms p95 added per turn.

Run: .venv/bin/python bench/safety.py [--replies 40] [--also-2-threads] [--fallback-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import percentile, write_section  # noqa: E402
from companion.config import SafetyConfig  # noqa: E402
from companion.persona import Persona  # noqa: E402
from companion.safety.detox import (  # noqa: E402
    Classifier,
    DetoxifyClassifier,
    FallbackClassifier,
    load_detoxify,
)
from companion.safety.pipeline import SafetyPipeline  # noqa: E402
from companion.safety.sentences import take_sentences  # noqa: E402

REPLIES = [
    "That sounds like a long day. Meetings back to back can drain anyone. "
    "Did you get any time for yourself this evening?",
    "Congratulations on the new job! You worked hard for this. How are you feeling about "
    "starting next week?",
    "I'm sorry your dog is unwell. It's hard to see someone you love hurting. "
    "What did the vet say?",
    "Honestly, I think that plan might not work. The deadline is tight and the budget is "
    "small. Could you ask for another week?",
    "A walk by the river sounds lovely. Fresh air helps. Do you usually go alone?",
    "That's a great question. Pasta with garlic, lemon and spinach is quick and cheap. "
    "Want the recipe?",
]
USER = "I had a really long day at work and I'm tired."
USER_TURNS = [
    "I had a really long day at work and I'm tired.",
    "My boss wants the report by Friday and I haven't started.",
    "Honestly I just want to sleep for a week.",
    "Do you think I should ask for a day off?",
    "My sister is visiting this weekend, which is nice.",
    "I keep thinking about the argument with my friend.",
]


def build_bert_base_checkpoint(dest: Path) -> tuple[Path, Path]:
    """A random BERT-base classifier in Detoxify's layout, with a local config+vocab folder."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer
    from vaderSentiment import vaderSentiment

    hf = dest / "toxic_original-c1212f89-hf"
    ckpt = dest / "toxic_original-c1212f89.ckpt"
    if ckpt.is_file():
        return ckpt, hf
    hf.mkdir(parents=True, exist_ok=True)
    # A vocabulary of real English words, so replies tokenize to realistic lengths: the
    # profanity model's word list (common comment words), VADER's lexicon and stop words.
    import joblib
    import profanity_check
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    vectorizer = joblib.load(Path(profanity_check.__file__).parent / "data" / "vectorizer.joblib")
    lexicon = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
    common = sorted(ENGLISH_STOP_WORDS) + sorted(
        {w for w in vectorizer.vocabulary_ if w.isalpha()}
        | {line.split("\t")[0].lower() for line in lexicon.read_text().splitlines()}
    )
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'\"-:;()")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(common + letters)]
    vocab += [f"##{c}" for c in letters]
    vocab += [f"[unused{i}]" for i in range(30522 - len(vocab))]
    (hf / "vocab.txt").write_text("\n".join(vocab[:30522]) + "\n")
    cfg = BertConfig(num_labels=6)  # BERT-base defaults: 12 x 768, vocab 30522
    model = BertForSequenceClassification(cfg)
    cfg.save_pretrained(hf)
    BertTokenizer(str(hf / "vocab.txt")).save_pretrained(hf)
    args = {
        "model_type": "bert-base-uncased",
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizer",
        "num_classes": 6,
    }
    classes = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    torch.save(
        {
            "config": {"arch": {"args": args}, "dataset": {"args": {"classes": classes}}},
            "state_dict": model.state_dict(),
        },
        ckpt,
    )
    return ckpt, hf


def measure(clf: Classifier, replies: int, *, semantic: bool = True) -> dict[str, float]:
    pipeline = SafetyPipeline(SafetyConfig(), clf, semantic="auto" if semantic else None)
    persona = Persona(name="Juniper")
    user = pipeline.check_user(USER).scores["intensity"]
    sentences = [take_sentences(r + " ")[0] for r in REPLIES]
    for s in sentences[0]:  # warm-up
        pipeline.check_reply(USER, s, persona, user_intensity=user)
    per_sentence: list[float] = []
    per_reply_seq: list[float] = []
    whole: list[float] = []
    user_ms: list[float] = []
    turn_ms: list[float] = []
    for i in range(replies):
        if pipeline.semantic is not None:
            pipeline.semantic.clear_cache()  # no score reused from an earlier turn
        history = USER_TURNS[max(0, i % len(USER_TURNS) - 3) : i % len(USER_TURNS)]
        t = time.perf_counter()
        pipeline.check_user(USER_TURNS[i % len(USER_TURNS)], history)
        user_ms.append((time.perf_counter() - t) * 1000)
        parts = sentences[i % len(sentences)]
        t_reply = time.perf_counter()
        for s in parts:
            t = time.perf_counter()
            pipeline.check_reply(USER, s, persona, user_intensity=user)
            per_sentence.append((time.perf_counter() - t) * 1000)
        per_reply_seq.append((time.perf_counter() - t_reply) * 1000)
        turn_ms.append(user_ms[-1] + per_sentence[-1])
        t = time.perf_counter()
        pipeline.check_reply(USER, REPLIES[i % len(REPLIES)], persona, user_intensity=user)
        whole.append((time.perf_counter() - t) * 1000)
    return {
        "sentence_p50": percentile(per_sentence, 50),
        "sentence_p95": percentile(per_sentence, 95),
        "all_sentences_p50": percentile(per_reply_seq, 50),
        "all_sentences_p95": percentile(per_reply_seq, 95),
        "whole_p50": percentile(whole, 50),
        "whole_p95": percentile(whole, 95),
        "user_p50": percentile(user_ms, 50),
        "user_p95": percentile(user_ms, 95),
        "turn_p50": percentile(turn_ms, 50),
        "turn_p95": percentile(turn_ms, 95),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replies", type=int, default=40)
    ap.add_argument("--also-2-threads", action="store_true", help="add a 2-thread row")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "bench-detox")
    ap.add_argument(
        "--fallback-only",
        action="store_true",
        help="skip Detoxify (no checkpoint build); prints, does not write docs/benchmarks.md",
    )
    args = ap.parse_args()
    if args.fallback_only:
        for name, clf, sem in (
            ("fallback", FallbackClassifier(), True),
            ("fallback, no semantic layer", FallbackClassifier(use_semantic=False), False),
        ):
            r = measure(clf, args.replies, semantic=sem)
            print(name, {k: round(v, 1) for k, v in r.items()}, flush=True)
        return

    t0 = time.perf_counter()
    ckpt, hf = build_bert_base_checkpoint(args.cache)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    detox = DetoxifyClassifier(load_detoxify(ckpt, hf), str(ckpt))
    load_s = time.perf_counter() - t0
    int8 = DetoxifyClassifier(load_detoxify(ckpt, hf, int8=True), str(ckpt))
    params = sum(p.numel() for p in detox.model.model.parameters()) / 1e6
    name = f"Detoxify format, BERT-base ({params:.0f}M params, random weights)"
    rows = [
        (f"{name}, fp32, 1 torch thread", measure(detox, args.replies)),
        (f"{name}, int8, 1 torch thread (companion's default)", measure(int8, args.replies)),
    ]
    if args.also_2_threads:
        for label, clf in (("fp32", detox), ("int8", int8)):
            two = DetoxifyClassifier(clf.model, clf.detail, threads=2)
            rows.append((f"{name}, {label}, 2 torch threads", measure(two, args.replies)))
    sentences = [s for r in REPLIES for s in take_sentences(r + " ")[0]]
    drift = max(
        abs(a[k] - b[k])
        for a, b in zip(detox.predict(sentences), int8.predict(sentences), strict=True)
        for k in a
    )
    rows.append(
        (
            "fallback (abuse rules + semantic head + alt-profanity-check; companion's default)",
            measure(FallbackClassifier(), args.replies),
        )
    )
    rows.append(
        (
            "fallback without the semantic layer (rules + alt-profanity-check)",
            measure(FallbackClassifier(use_semantic=False), args.replies, semantic=False),
        )
    )
    for name, r in rows:
        print(name, {k: round(v, 1) for k, v in r.items()}, flush=True)
    table = [
        "## Safety pipeline latency (CPU)",
        "",
        f"{args.replies} turns; replies of 2-3 sentences. A reply check runs the blocklist, "
        "manipulation rules and head, abuse rules, intensity and the toxicity classifier; a user "
        "check runs the crisis rules, the semantic head and the last three turns. The engine "
        "checks a sentence as soon as it is complete while generation continues, so a reply "
        "waits for one sentence check; a turn adds one user check and one sentence check. "
        "Target: <= 30 ms p95 per turn.",
        "",
        "| classifier | user check p50 / p95 (ms) | per sentence = added per reply p50 / p95 "
        "(ms) | turn: user + sentence p50 / p95 (ms) | all sentences in a row p50 / p95 (ms) "
        "| whole reply at once p50 / p95 (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        table.append(
            f"| {name} | {r['user_p50']:.1f} / {r['user_p95']:.1f} "
            f"| {r['sentence_p50']:.1f} / {r['sentence_p95']:.1f} "
            f"| {r['turn_p50']:.1f} / {r['turn_p95']:.1f} "
            f"| {r['all_sentences_p50']:.1f} / {r['all_sentences_p95']:.1f} "
            f"| {r['whole_p50']:.1f} / {r['whole_p95']:.1f} |"
        )
    verdicts = [
        f"{name}: {'meets' if r['turn_p95'] <= 30 else 'misses'} the 30 ms p95 target per turn"
        for name, r in rows
    ]
    table += [
        "",
        *(f"- {v}" for v in verdicts),
        "",
        f"int8 vs fp32 scores on the {len(sentences)} bench sentences: largest difference "
        f"{drift:.3f} (any label). Random weights; on the real checkpoints, dynamic int8 "
        "quantization of BERT classifiers is known to cost well under a point of accuracy.",
        "",
        f"Detoxify load (companion's offline path): {load_s:.1f} s; checkpoint built in "
        f"{built:.0f} s (cached in {args.cache}).",
        "",
        f"Load average during the run: {os.getloadavg()[0]:.1f} (other work on this "
        "machine slows every figure; the ratio and the comparison are what to read).",
        "",
        "Reproduce: `.venv/bin/python bench/safety.py`",
    ]
    write_section("safety", "\n".join(table))


if __name__ == "__main__":
    main()
