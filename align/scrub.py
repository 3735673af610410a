"""Personal-data scrubbing for training text: emails, phone numbers, secret-bearing URLs, names.

Pure functions; every replacement is a bracketed placeholder so a model trained on the text
learns the shape of a reply, not somebody's address.

>>> scrub("mail me at ana.lopez@example.org")
'mail me at [email]'
>>> scrub("call +1 (555) 123-4567 tonight")
'call [phone] tonight'
>>> scrub("https://x.io/reset?token=abc123&lang=en")
'https://x.io/reset?token=[redacted]&lang=en'
>>> scrub("Tell Priya I said hi", names=["priya"])
'Tell [name] I said hi'
>>> scrub("see you on 2024-01-15 at 10:30")
'see you on 2024-01-15 at 10:30'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

EMAIL = "[email]"
PHONE = "[phone]"
SECRET = "[redacted]"
NAME = "[name]"

_EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Digit runs with phone-like separators; the digit count is checked separately (dates and
# years have too few digits, long ids too many).
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d[\d\s.-]{5,}\d(?!\w)"
)
_SHORT_PHONE_RE = re.compile(r"(?<!\w)\d{3}-\d{4}(?!\w)")
_DATE_RE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"')\]]+", re.IGNORECASE)
_SECRET_PARAM_RE = re.compile(
    r"([?&#;](?:[\w-]*(?:token|key|secret|sig|signature|password|passwd|pwd|auth|session|code)"
    r"[\w-]*)=)([^&#\s]+)",
    re.IGNORECASE,
)
_USERINFO_RE = re.compile(r"^(https?://)[^/@\s]+@", re.IGNORECASE)


@dataclass
class ScrubCounts:
    """How many replacements of each kind one or more `scrub` calls made."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _phone_sub(m: re.Match[str], counts: ScrubCounts | None) -> str:
    text = m.group(0)
    digits = sum(c.isdigit() for c in text)
    if not 9 <= digits <= 15 or _DATE_RE.match(text.strip()):
        return text
    if counts is not None:
        counts.add("phone", 1)
    return PHONE


def _url_sub(m: re.Match[str], counts: ScrubCounts | None) -> str:
    url = m.group(0)
    url, n_user = _USERINFO_RE.subn(r"\1" + SECRET + "@", url)
    url, n_param = _SECRET_PARAM_RE.subn(r"\1" + SECRET, url)
    if counts is not None:
        counts.add("url_secret", n_user + n_param)
    return url


def _names_re(names: Iterable[str]) -> re.Pattern[str] | None:
    clean = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
    if not clean:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in clean) + r")\b", re.IGNORECASE)


def scrub(text: str, names: Iterable[str] = (), counts: ScrubCounts | None = None) -> str:
    """Replace personal data in `text` with placeholders; `counts` (if given) records how many."""
    if not text:
        return text
    # URLs first, so an email-looking userinfo or a numeric token inside a URL is handled once.
    text = _URL_RE.sub(lambda m: _url_sub(m, counts), text)
    text, n = _EMAIL_RE.subn(EMAIL, text)
    if counts is not None:
        counts.add("email", n)
    text = _PHONE_RE.sub(lambda m: _phone_sub(m, counts), text)
    text, n = _SHORT_PHONE_RE.subn(PHONE, text)
    if counts is not None:
        counts.add("phone", n)
    pattern = _names_re(names)
    if pattern is not None:
        text, n = pattern.subn(NAME, text)
        if counts is not None:
            counts.add("name", n)
    return text


def scrub_messages(
    messages: list[dict[str, str]], names: Iterable[str] = (), counts: ScrubCounts | None = None
) -> list[dict[str, str]]:
    """`scrub` every message's content; returns new dicts, the input is left alone."""
    names = tuple(names)
    return [{**m, "content": scrub(m.get("content", ""), names, counts)} for m in messages]
