"""Cleaning pass for SFT dialogues and preference pairs, with a report of what it did.

Every sample goes through the same text fixes (Unicode NFC, invisible characters, HTML markup,
whitespace, personal data); then samples that are empty, duplicated or over the token budget
are dropped. Reading JSONL never aborts: a bad line is recorded with its number and skipped.

>>> samples = [{"messages": [{"role": "user", "content": "Hi <b>there</b>"},
...                          {"role": "assistant", "content": "Hello!   Mail me: a@b.co"}]},
...            {"messages": [{"role": "user", "content": "Hi there"},
...                          {"role": "assistant", "content": "Hello! Mail me: [email]"}]}]
>>> out, report = clean_samples(samples)
>>> out[0]["messages"][1]["content"]
'Hello! Mail me: [email]'
>>> report.kept, dict(report.dropped), sorted(report.changed)
(1, {'duplicate': 1}, ['markup', 'personal_data', 'whitespace'])
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from align.scrub import ScrubCounts, scrub
from companion.prompt import TokenCounter, approx_counter

Sample = dict[str, Any]
ROLES = ("system", "user", "assistant")
# ShareGPT speaker names → chat roles.
_SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "model": "assistant",
}

# Real tags only: `<3`, `a < b` and `<- back` are left alone.
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_BLOCK_TAG_RE = re.compile(r"<(?:br|p|/p|div|/div|li)\b[^<>]*/?>", re.IGNORECASE)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_SCRIPT_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
# Zero-width and bidi controls, BOM, and C0/C1 controls other than \t and \n.
_INVISIBLE_RE = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")
_BLANKS_RE = re.compile(r"\n{3,}")


def normalize_unicode(text: str) -> str:
    """NFC, no invisible/control characters, \\r\\n → \\n.

    >>> normalize_unicode("cafe\\u0301\\u200b")
    'café'
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _INVISIBLE_RE.sub("", text)


def strip_markup(text: str) -> str:
    """Remove HTML tags, comments, scripts; unescape entities. Markdown stays.

    >>> strip_markup("I &lt;3 <i>you</i><br>**really**")
    'I <3 you\\n**really**'
    """
    if "<" not in text and "&" not in text:
        return text
    text = _SCRIPT_RE.sub("", text)
    text = _COMMENT_RE.sub("", text)
    text = _BLOCK_TAG_RE.sub("\n", text)
    text = _TAG_RE.sub("", text)
    return html.unescape(text)


def normalize_whitespace(text: str) -> str:
    """Collapse runs of spaces, trim lines, at most one blank line, strip the ends.

    >>> normalize_whitespace("  a   b \\n\\n\\n\\n c  ")
    'a b\\n\\nc'
    """
    text = _SPACES_RE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANKS_RE.sub("\n\n", text).strip()


@dataclass
class CleanReport:
    """Counts per reason; a sample changed for two reasons counts under both."""

    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    personal_data: Counter[str] = field(default_factory=Counter)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"read {self.read}, kept {self.kept}, dropped {sum(self.dropped.values())}"]
        lines += [f"  dropped {n} ({why})" for why, n in sorted(self.dropped.items())]
        lines += [f"  changed {n} ({why})" for why, n in sorted(self.changed.items())]
        if self.personal_data:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.personal_data.items()))
            lines.append(f"  personal data scrubbed: {kinds}")
        for no, err in self.bad_lines[:20]:
            lines.append(f"  line {no}: {err}")
        if len(self.bad_lines) > 20:
            lines.append(f"  ... and {len(self.bad_lines) - 20} more bad lines")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "changed": dict(self.changed),
            "personal_data": dict(self.personal_data),
            "bad_lines": [{"line": n, "error": e} for n, e in self.bad_lines],
        }


class BadSample(ValueError):
    """A JSON object that is not a dialogue or a pair in a format we read."""


def to_messages(obj: object) -> Sample:
    """One JSON object → a canonical sample: ``{"messages": [...]}`` or a preference row.

    Accepts conversational ``messages``, ShareGPT ``conversations`` (from/value), and
    ``prompt``/``chosen``/``rejected`` (conversational or plain strings). Raises BadSample.

    >>> to_messages({"conversations": [{"from": "human", "value": "hi"},
    ...                                {"from": "gpt", "value": "hey"}]})["messages"][1]
    {'role': 'assistant', 'content': 'hey'}
    """
    if not isinstance(obj, dict):
        raise BadSample(f"expected a JSON object, got {type(obj).__name__}")
    if "messages" in obj:
        return {**obj, "messages": _check_messages(obj["messages"], "messages")}
    if "conversations" in obj:
        convo = obj["conversations"]
        if not isinstance(convo, list):
            raise BadSample("conversations: expected a list")
        msgs = []
        for i, turn in enumerate(convo):
            if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
                raise BadSample(f"conversations[{i}]: expected {{from, value}}")
            role = _SHAREGPT_ROLES.get(str(turn["from"]).lower())
            if role is None:
                raise BadSample(f"conversations[{i}]: unknown speaker {turn['from']!r}")
            msgs.append({"role": role, "content": turn["value"]})
        rest = {k: v for k, v in obj.items() if k != "conversations"}
        return {**rest, "messages": _check_messages(msgs, "conversations")}
    if {"prompt", "chosen", "rejected"} <= obj.keys():
        out = dict(obj)
        prompt = obj["prompt"]
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        out["prompt"] = _check_messages(prompt, "prompt", need_assistant=False)
        for side in ("chosen", "rejected"):
            v = obj[side]
            if isinstance(v, str):
                v = [{"role": "assistant", "content": v}]
            out[side] = _check_messages(v, side, need_user=False)
        return out
    raise BadSample("no 'messages', 'conversations' or 'prompt/chosen/rejected' key")


def _check_messages(
    msgs: object, where: str, *, need_user: bool = True, need_assistant: bool = True
) -> list[dict[str, str]]:
    if not isinstance(msgs, list) or not msgs:
        raise BadSample(f"{where}: expected a non-empty list of messages")
    out = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise BadSample(f"{where}[{i}]: expected {{role, content}}")
        if m["role"] not in ROLES:
            raise BadSample(f"{where}[{i}]: unknown role {m['role']!r}")
        if not isinstance(m["content"], str):
            raise BadSample(f"{where}[{i}]: content must be a string")
        out.append({"role": m["role"], "content": m["content"]})
    roles = {m["role"] for m in out}
    if need_user and "user" not in roles:
        raise BadSample(f"{where}: no user message")
    if need_assistant and "assistant" not in roles:
        raise BadSample(f"{where}: no assistant message")
    return out


def read_jsonl(path: Path, report: CleanReport) -> Iterator[Sample]:
    """Samples from a JSONL file; bad lines go into ``report.bad_lines`` and are skipped."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            report.read += 1
            try:
                obj = json.loads(line)
                yield to_messages(obj)
            except json.JSONDecodeError as e:
                report.bad_lines.append((no, f"invalid JSON: {e.msg} (column {e.colno})"))
                report.dropped["bad_line"] += 1
            except BadSample as e:
                report.bad_lines.append((no, str(e)))
                report.dropped["bad_line"] += 1


def _message_lists(sample: Sample) -> list[list[dict[str, str]]]:
    if "messages" in sample:
        return [sample["messages"]]
    return [sample["prompt"], sample["chosen"], sample["rejected"]]


def _clean_text(
    text: str, changed: set[str], scrub_pd: bool, names: tuple[str, ...], pd: ScrubCounts
) -> str:
    steps: list[tuple[str, Callable[[str], str]]] = [
        ("unicode", normalize_unicode),
        ("markup", strip_markup),
        ("whitespace", normalize_whitespace),
    ]
    if scrub_pd:
        steps.append(("personal_data", lambda t: scrub(t, names, pd)))
    for reason, fn in steps:
        new = fn(text)
        if new != text:
            changed.add(reason)
            text = new
    return text


def sample_messages(sample: Sample) -> list[dict[str, str]]:
    """All the messages of a sample (a dialogue, or prompt + chosen + rejected), to count."""
    return [m for msgs in _message_lists(sample) for m in msgs]


def clean_sample(
    sample: Sample, *, scrub_personal_data: bool = True, names: Iterable[str] = ()
) -> tuple[Sample, set[str], ScrubCounts]:
    """Text fixes on one canonical sample → (new sample, reasons it changed, scrub counts)."""
    changed: set[str] = set()
    pd = ScrubCounts()
    names = tuple(names)
    out = dict(sample)
    keys = ["messages"] if "messages" in sample else ["prompt", "chosen", "rejected"]
    for key in keys:
        out[key] = [
            {**m, "content": _clean_text(m["content"], changed, scrub_personal_data, names, pd)}
            for m in sample[key]
        ]
    return out, changed, pd


def _empty_reason(sample: Sample) -> str | None:
    for msgs in _message_lists(sample):
        if any(not m["content"] for m in msgs if m["role"] != "system"):
            return "empty"
    if "chosen" in sample and sample["chosen"][-1]["content"] == sample["rejected"][-1]["content"]:
        return "identical_sides"
    return None


def clean_samples(
    samples: Iterable[Sample],
    *,
    max_tokens: int | None = None,
    count_tokens: TokenCounter = approx_counter,
    scrub_personal_data: bool = True,
    names: Iterable[str] = (),
    report: CleanReport | None = None,
    count_reads: bool = True,
) -> tuple[list[Sample], CleanReport]:
    """Clean canonical samples (see `to_messages`); returns the kept ones and the report.

    ``count_reads=False`` when the samples come from `read_jsonl`, which counts them itself.
    """
    report = report or CleanReport()
    names = tuple(names)
    seen: set[str] = set()
    kept: list[Sample] = []
    for raw in samples:
        if count_reads:
            report.read += 1
        sample, changed, pd = clean_sample(
            raw, scrub_personal_data=scrub_personal_data, names=names
        )
        reason = _empty_reason(sample)
        if reason is None:
            key = json.dumps([_message_lists(sample)], ensure_ascii=False, sort_keys=True)
            h = hashlib.sha256(key.encode()).hexdigest()
            if h in seen:
                reason = "duplicate"
            else:
                seen.add(h)
        if reason is None and max_tokens and count_tokens(sample_messages(sample)) > max_tokens:
            reason = "over_token_budget"
        if reason is not None:
            report.dropped[reason] += 1
            continue
        for why in changed:
            report.changed[why] += 1
        report.personal_data.update(pd.counts)
        kept.append(sample)
    report.kept = len(kept)
    return kept, report


def clean_file(
    src: Path,
    dst: Path | None = None,
    *,
    max_tokens: int | None = None,
    count_tokens: TokenCounter = approx_counter,
    scrub_personal_data: bool = True,
    names: Iterable[str] = (),
) -> tuple[list[Sample], CleanReport]:
    """Read, clean and (if ``dst``) write a JSONL file atomically; never aborts on a bad line."""
    report = CleanReport()
    samples, report = clean_samples(
        read_jsonl(src, report),
        max_tokens=max_tokens,
        count_tokens=count_tokens,
        scrub_personal_data=scrub_personal_data,
        names=names,
        report=report,
        count_reads=False,
    )
    if dst is not None:
        write_jsonl(dst, samples)
    return samples, report


def write_jsonl(dst: Path, rows: Iterable[Mapping[str, object]]) -> int:
    """Write rows as JSONL via a temp file and rename (a crash leaves no half file)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(dst)
    return n


def with_system(samples: list[Sample], system: str | None) -> list[Sample]:
    """Put the persona's system prompt first in samples that have none (train as served)."""
    if not system:
        return samples
    out = []
    for s in samples:
        msgs = s["messages"]
        if msgs and msgs[0]["role"] != "system":
            msgs = [{"role": "system", "content": system}, *msgs]
        out.append({**s, "messages": msgs})
    return out
