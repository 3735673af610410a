"""Seeded data and the engine builder shared by the TUI tests (imported by name: a module
called `conftest` is ambiguous when several test folders have one)."""

from __future__ import annotations

from pathlib import Path

from companion.config import Config
from feedback.repo import Store


class Seeded:
    """Ids of a deterministic conversation tree written through the real Store."""

    def __init__(self, store: Store) -> None:
        s = store
        self.conv = s.create_conversation("default", "Weekend plans")
        c = self.conv.id
        self.u1 = s.add_message(c, "user", "Any ideas for the weekend?")
        self.a1 = s.add_message(c, "assistant", "", self.u1.id)
        self.cands = [
            s.add_candidate(self.a1.id, "How about a **walk** in the park?", shown=True),
            s.add_candidate(self.a1.id, "You could try:\n\n- a museum\n- a new recipe"),
            s.add_candidate(
                self.a1.id,
                "Maybe a calm day at home.",
                raw_text="MAYBE A CALM DAY AT HOME!!!",
                safety_action="softened",
                safety={"intensity": 0.82},
            ),
        ]
        s.record_safety_event(
            c,
            "intensity",
            "softened",
            message_id=self.a1.id,
            candidate_id=self.cands[2].id,
            scores={"intensity": 0.82},
            thresholds={"cap": 0.6},
            original_text="MAYBE A CALM DAY AT HOME!!!",
            final_text="Maybe a calm day at home.",
        )
        # A second branch: the first user message edited and answered.
        self.u1b = s.add_message(c, "user", "Any ideas for a rainy weekend?")
        self.a1b = s.add_message(c, "assistant", "", self.u1b.id)
        self.cand_b = s.add_candidate(self.a1b.id, "Board games and soup!", shown=True)
        # Back on the first branch, a follow-up turn (the latest leaf).
        self.u2 = s.add_message(c, "user", "The park sounds good.", self.a1.id)
        self.a2 = s.add_message(c, "assistant", "", self.u2.id)
        self.cand2 = s.add_candidate(self.a2.id, "Great, enjoy the fresh air.", shown=True)
        self.other = s.create_conversation("default", "Book club")
        o1 = s.add_message(self.other.id, "user", "What should I read next?")
        o2 = s.add_message(self.other.id, "assistant", "", o1.id)
        s.add_candidate(o2.id, "Try *Piranesi*.", shown=True)


def make_engine(
    config: Config,
    store: Store,
    base_url: str,
    api_key: str | None,
    model: str,
    tokenizer_dir: Path | None = None,
):
    """The real companion Engine (fallback safety classifier: no Detoxify weights in tests)."""
    from companion.client import ChatClient
    from companion.engine import Engine
    from companion.prompt import approx_counter, load_counter
    from companion.safety.detox import FallbackClassifier
    from companion.safety.pipeline import SafetyPipeline

    client = ChatClient(base_url, api_key, timeout=60, connect_retry_s=0.5)
    count = load_counter(tokenizer_dir) if tokenizer_dir else approx_counter
    safety = SafetyPipeline(config.safety, FallbackClassifier())
    return Engine(config, client, store, safety, count, model=model)
