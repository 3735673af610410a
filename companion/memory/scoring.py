"""Scoring suggested memories against labelled messages: precision and recall per kind (pure).

A predicted fact matches a labelled one of the same kind and subject when their values agree:
the same name (any case) for names, people and pets; for the rest (phrases), when their
content words overlap by at least half (Jaccard, on crudely stemmed words), so "am moving to
Berlin in May" matches "moving to Berlin in May". Each labelled fact is matched once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.memory.extract import KINDS, Fact, content_words, extract

EXACT_KINDS = ("name", "person", "pet")
PHRASE_OVERLAP = 0.5


@dataclass(frozen=True, slots=True)
class Labelled:
    """One message of the labelled set, and the facts it states."""

    id: str
    split: str
    text: str
    facts: tuple[dict[str, Any], ...]


def load(path: Path) -> list[Labelled]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            rows.append(Labelled(r["id"], r["split"], r["text"], tuple(r["facts"])))
    return rows


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _subject(subject: str) -> str:
    return " ".join(subject.lower().replace("favorite", "favourite").split())


def matches(kind: str, subject: str, value: str, gold: dict[str, Any]) -> bool:
    if kind != gold["kind"] or _subject(subject) != _subject(gold["subject"]):
        return False
    if kind in EXACT_KINDS:
        return " ".join(value.lower().split()) == " ".join(str(gold["value"]).lower().split())
    mine = {_stem(w) for w in content_words(value)}
    theirs = {_stem(w) for w in content_words(str(gold["value"]))}
    union = mine | theirs
    return bool(union) and len(mine & theirs) / len(union) >= PHRASE_OVERLAP


@dataclass
class Tally:
    predicted: int = 0
    correct: int = 0
    labelled: int = 0
    found: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 1.0


@dataclass
class Report:
    per_kind: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS})
    overall: Tally = field(default_factory=Tally)
    misses: list[str] = field(default_factory=list)
    """One line per wrong or missed fact, for looking into (never tuned on for heldout)."""


def score(rows: Iterable[Labelled], predict: Any = extract) -> Report:
    """Run ``predict`` (text → facts) on each row and count."""
    report = Report()
    for row in rows:
        predicted: Sequence[Fact] = predict(row.text)
        used: set[int] = set()
        for f in predicted:
            hit = next(
                (
                    i
                    for i, g in enumerate(row.facts)
                    if i not in used and matches(f.kind, f.subject, f.value, g)
                ),
                None,
            )
            for t in (report.per_kind[f.kind], report.overall):
                t.predicted += 1
                t.correct += hit is not None
            if hit is None:
                report.misses.append(f"{row.id} extra {f.kind}/{f.subject}/{f.value!r}: {row.text}")
            else:
                used.add(hit)
        for i, g in enumerate(row.facts):
            for t in (report.per_kind[g["kind"]], report.overall):
                t.labelled += 1
                t.found += i in used
            if i not in used:
                report.misses.append(
                    f"{row.id} missed {g['kind']}/{g['subject']}/{g['value']!r}: {row.text}"
                )
    return report
