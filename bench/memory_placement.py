"""Where should recalled notes go for SmolLM2-135M to use them?

Each of the 40 questions of `bench/memory_facts.py` is asked once per placement against a
local vLLM server with the starter persona adapter, its notes (the facts as the extractor
writes them, about the user) chosen by WordLlama similarity to the question (top 1, 3 or 8):
in the system prompt, in a second system message right before the question, or prefixed to
the question; greedy unless marked. Prints how many answers use the fact. The chat's choice
(one note, right before the message: `memory.recall_notes`, `companion.prompt`) rests on it.

Run: .venv/bin/python bench/memory_placement.py   (about 4 minutes a placement on 2 cores)
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.memory_facts import FACTS, Fact  # noqa: E402

Messages = list[dict[str, str]]


def main() -> None:
    import httpx
    import numpy as np

    from companion import persona as persona_mod
    from companion.cli.common import open_store
    from companion.cli.wiring import active_adapter
    from companion.config import Config, load
    from companion.memory.extract import extract
    from companion.memory.wording import about_user
    from companion.model_setup import base_model
    from companion.persona import system_prompt
    from companion.prompt import recalled_text
    from companion.safety.semantic import Embedder, load_wordllama
    from companion.server import ServerManager

    user = load().config
    cfg = Config(data_dir=Path(tempfile.mkdtemp()) / "data")
    cfg.paths.ensure()
    manager = ServerManager(cfg)
    state = manager.start(base_model(user), active_adapter(open_store(user)))
    persona = persona_mod.load("default", user.paths)
    notes = [about_user(x.note) for f in FACTS for x in extract(f.said)]
    emb = Embedder(load_wordllama())
    vectors = emb.embed(notes)

    def top(question: str, k: int) -> list[str]:
        sims = vectors @ emb.embed([question])[0]
        return [notes[i] for i in np.argsort(-sims)[:k]]

    def ask(msgs: Messages, temperature: float) -> str:
        r = httpx.post(
            state.base_url + "/chat/completions",
            headers={"Authorization": f"Bearer {state.api_key}"},
            json={
                "model": state.model,
                "messages": msgs,
                "max_tokens": 40,
                "temperature": temperature,
                "seed": 1,
            },
            timeout=120,
        )
        content: Any = r.json()["choices"][0]["message"]["content"]
        return str(content)

    def uses(f: Fact, text: str) -> bool:
        low = text.lower()
        return any(re.search(rf"\b{re.escape(a.lower())}(?:s|es)?\b", low) for a in f.answer)

    def in_system(k: int) -> Callable[[Fact], Messages]:
        return lambda f: [
            {"role": "system", "content": system_prompt(persona, top(f.question, k))},
            {"role": "user", "content": f.question},
        ]

    def before_message(k: int) -> Callable[[Fact], Messages]:
        return lambda f: [
            {"role": "system", "content": system_prompt(persona, None)},
            {"role": "system", "content": recalled_text(top(f.question, k))},
            {"role": "user", "content": f.question},
        ]

    def in_message(k: int) -> Callable[[Fact], Messages]:
        return lambda f: [
            {"role": "system", "content": system_prompt(persona, None)},
            {"role": "user", "content": f"(You remember: {' '.join(top(f.question, k))})\n"
             + f.question},
        ]  # fmt: skip

    def none(f: Fact) -> Messages:
        return [
            {"role": "system", "content": system_prompt(persona, None)},
            {"role": "user", "content": f.question},
        ]

    placements: list[tuple[str, Callable[[Fact], Messages], float]] = [
        ("system prompt, top 8", in_system(8), 0.0),
        ("system prompt, top 3", in_system(3), 0.0),
        ("system prompt, top 1", in_system(1), 0.0),
        ("before the message, top 3", before_message(3), 0.0),
        ("before the message, top 1", before_message(1), 0.0),
        ("in the message, top 3", in_message(3), 0.0),
        ("system prompt, top 3, temperature 0.7", in_system(3), 0.7),
        ("no notes", none, 0.0),
    ]
    results: dict[str, int] = {}
    try:
        for name, build, temperature in placements:
            results[name] = sum(uses(f, ask(build(f), temperature)) for f in FACTS)
            print(f"{name}: {results[name]}/{len(FACTS)}", flush=True)
    finally:
        manager.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
