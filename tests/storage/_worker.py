"""A child process for the crash and concurrency tests (run as a script, not collected).

python _worker.py URL ratings         rate forever; print "ack <candidate id>" after each commit
python _worker.py URL chat N          N chat turns (message, 2 candidates, rating, choice)
python _worker.py URL retrain N       N rounds of scan + pairs + a training run
"""

from __future__ import annotations

import sys
import time

from feedback.db import make_engine
from feedback.models import PreferencePair
from feedback.repo import Store


def ratings(store: Store) -> None:
    conv = store.create_conversation("default")
    assert conv.id is not None
    user = store.add_message(conv.id, "user", "hello")
    reply = store.add_message(conv.id, "assistant", "", parent_id=user.id)
    assert reply.id is not None
    i = 0
    while True:
        cand = store.add_candidate(reply.id, f"candidate {i}", params={"i": i})
        assert cand.id is not None
        store.rate(cand.id, 1 if i % 2 else -1, reason="r", comment="x" * 200)
        # Only now is the write durable: acknowledge it.
        sys.stdout.write(f"ack {cand.id}\n")
        sys.stdout.flush()
        i += 1


def chat(store: Store, n: int, tag: str) -> None:
    conv = store.create_conversation("default", f"chat {tag}")
    assert conv.id is not None
    parent: int | None = None
    for i in range(n):
        user = store.add_message(conv.id, "user", f"{tag} question {i}", parent_id=parent)
        reply = store.add_message(conv.id, "assistant", "", parent_id=user.id, status="generating")
        assert reply.id is not None
        a = store.add_candidate(reply.id, f"{tag} answer {i}a", shown=True)
        b = store.add_candidate(reply.id, f"{tag} answer {i}b")
        assert a.id is not None and b.id is not None
        store.rate(a.id, -1)
        store.choose(reply.id, b.id)
        store.update_message(reply.id, status="complete")
        parent = reply.id


def retrain(store: Store, n: int, tag: str) -> None:
    for i in range(n):
        run = store.add_training_run("dpo", config={"round": i})
        assert run.id is not None
        turns = list(store.iter_turns(batch_size=50))
        pairs = [
            PreferencePair(
                conversation_id=t.conversation_id,
                message_id=t.message_id,
                prompt=t.context,
                chosen=t.candidates[-1].text,
                rejected=t.candidates[0].text,
                source=f"test-{tag}",
            )
            for t in turns
            if len(t.candidates) >= 2
        ]
        store.add_pairs(pairs)
        store.update_training_run(run.id, status="succeeded", counts={"turns": len(turns)})
        time.sleep(0.01)


def main() -> None:
    url, mode = sys.argv[1], sys.argv[2]
    store = Store(make_engine(url))
    if mode == "ratings":
        ratings(store)
    elif mode == "chat":
        chat(store, int(sys.argv[3]), sys.argv[4])
    elif mode == "retrain":
        retrain(store, int(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit(f"unknown mode {mode}")
    sys.stdout.write("done\n")


if __name__ == "__main__":
    main()
