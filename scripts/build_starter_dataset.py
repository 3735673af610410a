"""Build companion/data/starter_dialogues.jsonl: the starter SFT dialogues for the default persona.

The hand-written parts (topic openers, replies, follow-ups, closers) are in
companion/data/starter_topics.toml. Conversations are composed from them with a fixed seed, so
the output is reproducible byte for byte:

    .venv/bin/python scripts/build_starter_dataset.py            # writes the JSONL
    .venv/bin/python scripts/build_starter_dataset.py --check    # fails if it is out of date

The style: warm, attentive, brief (one to three sentences), curious about the user, honest
about being an AI, and respectful of boundaries (it lets a topic drop when asked).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "companion" / "data"
PARTS = DATA / "starter_topics.toml"
OUT = DATA / "starter_dialogues.jsonl"
SEED = 20261123
N_CONVERSATIONS = 320

Exchange = tuple[str, str]
Dialogue = dict[str, list[dict[str, str]]]


@dataclass(frozen=True)
class Branch:
    """An assistant reply that fits every opener of its topic, and user turns that fit it."""

    reply: str
    follow_ups: list[Exchange]


@dataclass(frozen=True)
class Topic:
    name: str
    openers: list[str]
    branches: list[Branch]


def load_parts(path: Path = PARTS) -> tuple[list[Topic], list[Exchange]]:
    """(topics, closers) from the TOML file, in file order (the seeded draws depend on it)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    topics = [
        Topic(
            t["name"],
            list(t["openers"]),
            [Branch(b["reply"], [(u, r) for u, r in b.get("follow_ups", [])]) for b in t["branch"]],
        )
        for t in data["topic"]
    ]
    return topics, [(u, r) for u, r in data["closers"]]


def conversation(rng: random.Random, topics: list[Topic], closers: list[Exchange]) -> Dialogue:
    topic = rng.choice(topics)
    branch = rng.choice(topic.branches)
    msgs = [
        {"role": "user", "content": rng.choice(topic.openers)},
        {"role": "assistant", "content": branch.reply},
    ]
    if branch.follow_ups and rng.random() < 0.75:
        user, reply = rng.choice(branch.follow_ups)
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
        if rng.random() < 0.3:
            user, reply = rng.choice(closers)
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    return {"messages": msgs}


def build(n: int = N_CONVERSATIONS, seed: int = SEED, parts: Path = PARTS) -> list[Dialogue]:
    topics, closers = load_parts(parts)
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[Dialogue] = []
    attempts = 0
    while len(out) < n and attempts < n * 50:
        attempts += 1
        conv = conversation(rng, topics, closers)
        key = json.dumps(conv, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(conv)
    return out


def render(rows: list[Dialogue]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the JSONL is out of date")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    text = render(build())
    if a.check:
        ok = a.out.is_file() and a.out.read_text(encoding="utf-8") == text
        sys.stderr.write("up to date\n" if ok else f"{a.out} is out of date; rebuild it\n")
        return 0 if ok else 1
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text, encoding="utf-8")
    sys.stderr.write(f"wrote {text.count(chr(10))} conversations to {a.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
