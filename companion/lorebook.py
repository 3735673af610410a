"""Lorebooks (a character card's ``character_book``): parsing, and which entries a prompt gets.

A lorebook is a list of entries, each a piece of background text with the keywords that bring
it into the prompt (Character Card V2 and V3 specs; SillyTavern calls them "world info").
Parsing is lenient about what real cards do (missing ``extensions``, unknown keys, keys given
as one comma-separated string, CRLF, numbers as strings) and strict about the rest: anything
else is a :class:`LorebookError` with one line to show. Unknown keys are kept, so a stored
lorebook writes back what the card had.

:func:`select_entries` is pure: given the book, the recent messages and a token counter, it
returns the entries to insert, following the specs and SillyTavern's defaults:

- an entry is *enabled* and has *content*, or it is never inserted;
- *constant* entries are always candidates; others need one of their ``keys`` in the last
  ``scan_depth`` messages (the book's, an entry's ``extensions.scan_depth``, else 2, as in
  SillyTavern);
- *selective* entries also need a ``secondary_keys`` match (SillyTavern's
  ``extensions.selectiveLogic`` picks AND ANY, NOT ALL, NOT ANY or AND ALL; AND ANY is the
  spec's rule and the default);
- keys match case-insensitively unless ``case_sensitive``, and as whole words unless
  ``extensions.match_whole_words`` is false (the edge of a key that is a letter or digit must
  not touch another letter or digit; scripts written without spaces, such as Chinese, match
  anywhere); ``/pattern/flags`` keys (SillyTavern) and every key of a ``use_regex`` entry
  (V3) are regular expressions, with a time limit, and an invalid one never matches;
- with ``recursive_scanning``, the content of inserted entries can bring in more entries;
- over the token budget, the lowest ``priority`` goes first (``insertion_order`` stands in
  where there is no priority), until the rest fits;
- what is kept is returned in ``insertion_order``: lower is inserted earlier.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import regex
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

DEFAULT_SCAN_DEPTH = 2
"""Messages scanned when neither the book nor the entry says (SillyTavern's default)."""
MAX_SCAN_DEPTH = 1000
DEFAULT_INSERTION_ORDER = 100
REGEX_TIMEOUT_S = 0.02
"""Longest one regular-expression key may search; a slower one counts as no match."""
MAX_REGEX_TIMEOUTS = 5
"""After this many timed-out keys in one selection, the remaining regex keys do not match."""
MAX_RECURSION_STEPS = 5

TextCounter = Callable[[str], int]


class LorebookError(ValueError):
    """A lorebook that cannot be used, phrased as one line."""


class LoreEntry(BaseModel):
    """One entry of a ``character_book`` (unknown keys are kept as extra fields)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    keys: tuple[str, ...] = ()
    content: str = ""
    extensions: dict[str, JsonValue] = {}
    enabled: bool = True
    insertion_order: int | float = DEFAULT_INSERTION_ORDER
    """Lower is inserted earlier (higher up in the prompt)."""
    case_sensitive: bool | None = None
    use_regex: bool = False
    constant: bool = False
    """Always a candidate, whatever the keys (still within the budget)."""
    name: str | None = None
    priority: int | float | None = None
    """Over the token budget, lower priority is dropped first."""
    id: int | str | None = None
    comment: str | None = None
    selective: bool = False
    """Needs a primary key *and* a secondary key to match."""
    secondary_keys: tuple[str, ...] = ()
    position: str | int | None = None
    """``before_char`` or ``after_char`` (the character's description)."""

    @property
    def label(self) -> str:
        """What to call the entry when listing it."""
        for text in (self.name, self.comment, ", ".join(self.keys)):
            if text and text.strip():
                return _short(text, 40)
        return "(unnamed)" if self.id is None else f"#{self.id}"

    @property
    def before_char(self) -> bool:
        """Placed before the character's description (SillyTavern's extensions.position 0)."""
        pos = self.extensions.get("position")
        if isinstance(pos, int) and not isinstance(pos, bool):
            return pos == 0
        return self.position == "before_char"


class Lorebook(BaseModel):
    """A ``character_book`` (unknown keys are kept as extra fields)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str | None = None
    description: str | None = None
    scan_depth: int | None = None
    """How many recent messages are scanned for keys."""
    token_budget: int | None = None
    """Most tokens the inserted entries may take together."""
    recursive_scanning: bool | None = None
    """Whether inserted entries' content can bring in other entries."""
    extensions: dict[str, JsonValue] = {}
    entries: tuple[LoreEntry, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A V3 standalone lorebook (``{"spec": "lorebook_v3", "data": ...}``)."""
        return {"spec": "lorebook_v3", "data": self.model_dump(mode="json")}


# --- parsing ------------------------------------------------------------------------------

_ENTRY_FIELDS = set(LoreEntry.model_fields)
_BOOK_FIELDS = set(Lorebook.model_fields)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", ""}


def unix_newlines(text: str) -> str:
    """CRLF and lone CR line ends as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _text(v: object, where: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return unix_newlines(v)
    if _is_number(v):
        return str(v)
    raise LorebookError(f"{where}: expected text")


def _label(v: object) -> str | None:
    """A name or comment: not used in prompts, so anything that is not text is left out."""
    return unix_newlines(v) if isinstance(v, str) else None


def _entry_id(v: object) -> int | str | None:
    if isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return None


def _flag(v: object, where: str) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    if _is_number(v) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise LorebookError(f"{where}: expected true or false")


def _number(v: object, where: str) -> int | float | None:
    if v is None:
        return None
    if isinstance(v, str) and v.strip():
        try:
            v = float(v) if any(c in v for c in ".eE") else int(v)
        except ValueError:
            pass
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and math.isfinite(v):
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    raise LorebookError(f"{where}: expected a number")


def _count(v: object, where: str) -> int | None:
    """A whole number that is not negative; unset when missing or not positive."""
    n = _number(v, where)
    if n is None or n < 0:
        return None
    return min(int(n), 2**31)


def _keys(v: object, where: str) -> tuple[str, ...]:
    if v is None:
        return ()
    items: Iterable[object]
    if isinstance(v, str):
        items = v.split(",")
    elif isinstance(v, list | tuple):
        items = v
    else:
        raise LorebookError(f"{where}: expected a list of keys")
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        if not isinstance(item, str) and not _is_number(item):
            raise LorebookError(f"{where}: expected a list of keys")
        key = unix_newlines(str(item)).strip()
        if key:
            out.append(key)
    return tuple(out)


def _extensions(v: object, where: str) -> dict[str, JsonValue]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise LorebookError(f"{where}: expected an object")
    return {str(k): _json(x) for k, x in v.items()}


def _json(v: object) -> JsonValue:
    """Plain JSON, with non-finite numbers (which JSON cannot write) as null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _json(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json(x) for x in v]
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def _extras(raw: Mapping[str, object], known: set[str]) -> dict[str, JsonValue]:
    return {str(k): _json(v) for k, v in raw.items() if k not in known}


def _entry(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise LorebookError(f"{where}: expected an object")
    position = raw.get("position")
    if not isinstance(position, str | int) or isinstance(position, bool):
        position = None
    order = _number(raw.get("insertion_order"), f"{where}.insertion_order")
    return {
        **_extras(raw, _ENTRY_FIELDS),
        "keys": _keys(raw.get("keys"), f"{where}.keys"),
        "content": _text(raw.get("content"), f"{where}.content") or "",
        "extensions": _extensions(raw.get("extensions"), f"{where}.extensions"),
        "enabled": _flag(raw.get("enabled"), f"{where}.enabled") is not False,
        "insertion_order": DEFAULT_INSERTION_ORDER if order is None else order,
        "case_sensitive": _flag(raw.get("case_sensitive"), f"{where}.case_sensitive"),
        "use_regex": bool(_flag(raw.get("use_regex"), f"{where}.use_regex")),
        "constant": bool(_flag(raw.get("constant"), f"{where}.constant")),
        "name": _label(raw.get("name")),
        "priority": _number(raw.get("priority"), f"{where}.priority"),
        "id": _entry_id(raw.get("id")),
        "comment": _label(raw.get("comment")),
        "selective": bool(_flag(raw.get("selective"), f"{where}.selective")),
        "secondary_keys": _keys(raw.get("secondary_keys"), f"{where}.secondary_keys"),
        "position": position,
    }


def parse_lorebook(raw: object) -> Lorebook:
    """A ``character_book`` object (or a V3 ``lorebook_v3`` file) → :class:`Lorebook`.

    >>> parse_lorebook({"entries": [{"keys": "tea, kettle", "content": "Sam loves tea."}]}
    ...                ).entries[0].keys
    ('tea', 'kettle')
    """
    try:
        return _parse(raw)
    except RecursionError:
        raise LorebookError("the lorebook is nested too deeply") from None


def _parse(raw: object) -> Lorebook:
    if isinstance(raw, dict) and raw.get("spec") == "lorebook_v3" and "data" in raw:
        raw = raw["data"]
    if not isinstance(raw, dict):
        raise LorebookError("the lorebook is not a JSON object")
    entries = raw.get("entries")
    if not isinstance(entries, list):
        raise LorebookError("entries: expected a list")
    depth = _count(raw.get("scan_depth"), "scan_depth")
    data = {
        **_extras(raw, _BOOK_FIELDS),
        "name": _label(raw.get("name")),
        "description": _label(raw.get("description")),
        "scan_depth": None if depth is None else min(depth, MAX_SCAN_DEPTH),
        "token_budget": _count(raw.get("token_budget"), "token_budget") or None,
        "recursive_scanning": _flag(raw.get("recursive_scanning"), "recursive_scanning"),
        "extensions": _extensions(raw.get("extensions"), "extensions"),
        "entries": [_entry(e, f"entries[{i}]") for i, e in enumerate(entries)],
    }
    try:
        return Lorebook.model_validate(data)
    except ValidationError as e:  # not expected after the checks above
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "lorebook"
        raise LorebookError(f"{loc}: {err['msg']}") from None


# --- selection ----------------------------------------------------------------------------

_LOGIC = ("and_any", "not_all", "not_any", "and_all")
_SLASHED = re.compile(r"^/((?:\\.|[^/\\])+)/([dgimsuvy]*)$", re.S)
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK
    (0xAC00, 0xD7AF),  # Hangul syllables (particles attach to words)
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)


def _word_char(ch: str) -> bool:
    """A letter or digit of a script that separates words with spaces."""
    if not (ch.isalnum() or ch == "_"):
        return False
    code = ord(ch)
    return not any(lo <= code <= hi for lo, hi in _UNSPACED)


def _find_word(needle: str, hay: str) -> bool:
    """``needle`` in ``hay`` where its letter-or-digit edges do not touch another word."""
    check_start, check_end = _word_char(needle[0]), _word_char(needle[-1])
    start = hay.find(needle)
    while start >= 0:
        end = start + len(needle)
        if not (check_start and start > 0 and _word_char(hay[start - 1])) and not (
            check_end and end < len(hay) and _word_char(hay[end])
        ):
            return True
        start = hay.find(needle, start + 1)
    return False


@lru_cache(maxsize=4096)
def _compile(pattern: str, flags: str) -> regex.Pattern[str] | None:
    """A key's regular expression; JavaScript's flags i, m and s apply, the others do
    nothing here. None when it does not compile."""
    bits = 0
    if "i" in flags:
        bits |= regex.IGNORECASE
    if "m" in flags:
        bits |= regex.MULTILINE
    if "s" in flags:
        bits |= regex.DOTALL
    try:
        return regex.compile(pattern, bits)
    except (regex.error, ValueError, OverflowError, RecursionError):
        return None


class _Scanner:
    """The text to scan at each depth, and key matching with each entry's options."""

    def __init__(self, messages: Sequence[str], default_depth: int) -> None:
        self.messages = [unix_newlines(m) for m in messages]
        self.default_depth = default_depth
        self.extra = ""
        """Content of inserted entries, scanned too (recursion)."""
        self._texts: dict[tuple[int, bool], str] = {}
        self.regex_timeouts = 0

    def add(self, extra: str) -> None:
        self.extra = f"{self.extra}\n{extra}" if self.extra else extra
        self._texts.clear()

    def text(self, depth: int, case_sensitive: bool) -> str:
        key = (depth, case_sensitive)
        if key not in self._texts:
            recent = self.messages[-depth:] if depth > 0 else []
            joined = "\n".join([*recent, self.extra] if self.extra else recent)
            self._texts[key] = joined if case_sensitive else joined.lower()
        return self._texts[key]

    def key_in(self, key: str, entry: LoreEntry) -> bool:
        depth = _scan_depth(entry, self.default_depth)
        slashed = _SLASHED.match(key)
        if slashed or entry.use_regex:
            if slashed:  # SillyTavern: /pattern/flags overrides the entry's options
                compiled = _compile(slashed.group(1), slashed.group(2))
            else:
                compiled = _compile(key, "" if _case_sensitive(entry) else "i")
            return self._search(compiled, self.text(depth, True))
        cs = _case_sensitive(entry)
        hay = self.text(depth, cs)
        needle = key if cs else key.lower()
        return _find_word(needle, hay) if _whole_words(entry) else needle in hay

    def _search(self, compiled: regex.Pattern[str] | None, text: str) -> bool:
        if compiled is None or self.regex_timeouts >= MAX_REGEX_TIMEOUTS:
            return False
        try:
            return compiled.search(text, timeout=REGEX_TIMEOUT_S) is not None
        except TimeoutError:
            self.regex_timeouts += 1
            return False

    def matches(self, entry: LoreEntry) -> bool:
        """Primary keys (and, if selective, secondary keys) in the entry's scan window."""
        if not any(self.key_in(k, entry) for k in entry.keys):
            return False
        if not entry.selective or not entry.secondary_keys or entry.use_regex:
            return True
        found = (self.key_in(k, entry) for k in entry.secondary_keys)
        logic = _logic(entry)
        if logic == "and_any":
            return any(found)
        if logic == "not_any":
            return not any(found)
        if logic == "not_all":
            return not all(found)
        return all(found)


def _ext_int(entry: LoreEntry, name: str) -> int | None:
    v = entry.extensions.get(name)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _case_sensitive(entry: LoreEntry) -> bool:
    if entry.case_sensitive is not None:
        return entry.case_sensitive
    return entry.extensions.get("case_sensitive") is True


def _whole_words(entry: LoreEntry) -> bool:
    return entry.extensions.get("match_whole_words") is not False


def _scan_depth(entry: LoreEntry, default: int) -> int:
    depth = _ext_int(entry, "scan_depth")
    return default if depth is None or depth < 0 else min(depth, MAX_SCAN_DEPTH)


def _logic(entry: LoreEntry) -> str:
    n = _ext_int(entry, "selectiveLogic")
    return _LOGIC[n] if n is not None and 0 <= n < len(_LOGIC) else "and_any"


def _rank(indexed: tuple[int, LoreEntry]) -> tuple[float, float, int]:
    """Budget order: kept first sorts first (highest priority, then highest order)."""
    i, e = indexed
    priority = e.insertion_order if e.priority is None else e.priority
    return (-priority, -e.insertion_order, i)


def select_entries(
    book: Lorebook,
    messages: Sequence[str],
    count_tokens: TextCounter,
    *,
    budget: int | None = None,
) -> list[LoreEntry]:
    """The entries to insert for these messages (oldest first), in insertion order.

    ``count_tokens`` counts one text's tokens; ``budget`` caps the book's own
    ``token_budget`` (the smaller wins; neither means no limit)."""
    default_depth = DEFAULT_SCAN_DEPTH if book.scan_depth is None else book.scan_depth
    scanner = _Scanner(messages, default_depth)
    candidates = [(i, e) for i, e in enumerate(book.entries) if e.enabled and e.content.strip()]
    active = {i for i, e in candidates if e.constant or scanner.matches(e)}
    if book.recursive_scanning:
        _recurse(candidates, active, scanner)
    chosen = sorted(((i, e) for i, e in candidates if i in active), key=_rank)
    limits = [b for b in (book.token_budget, budget) if b is not None]
    if limits:
        limit, used, kept = min(limits), 0, []
        for i, e in chosen:
            used += count_tokens(e.content)
            if used > limit:
                break
            kept.append((i, e))
        chosen = kept
    chosen.sort(key=lambda ie: (ie[1].insertion_order, ie[0]))
    return [e for _, e in chosen]


def _recurse(candidates: list[tuple[int, LoreEntry]], active: set[int], scanner: _Scanner) -> None:
    """Entries whose keys appear in the content of active ones join them, a few rounds."""
    new = set(active)
    for _ in range(MAX_RECURSION_STEPS):
        text = "\n".join(
            e.content
            for i, e in candidates
            if i in new and e.extensions.get("prevent_recursion") is not True
        )
        if not text:
            return
        scanner.add(text)
        new = {
            i
            for i, e in candidates
            if i not in active
            and e.extensions.get("exclude_recursion") is not True
            and scanner.matches(e)
        }
        if not new:
            return
        active |= new


# --- display ------------------------------------------------------------------------------


def describe(book: Lorebook, limit: int = 50) -> list[str]:
    """A few lines about the book for ``companion persona show`` (pure).

    Marks: ``C`` constant, ``S`` selective, ``R`` regular-expression keys, ``-`` disabled."""
    enabled = sum(e.enabled for e in book.entries)
    settings = [f"{len(book.entries)} entries ({enabled} enabled)"]
    if book.scan_depth is not None:
        settings.append(f"scan depth {book.scan_depth}")
    if book.token_budget is not None:
        settings.append(f"budget {book.token_budget} tokens")
    if book.recursive_scanning:
        settings.append("recursive")
    title = f"lorebook {book.name.strip()!r}" if book.name and book.name.strip() else "lorebook"
    lines = [f"{title}: " + ", ".join(settings)]
    for e in book.entries[:limit]:
        marks = "".join(
            m if on else " "
            for m, on in (
                ("C", e.constant),
                ("S", e.selective and bool(e.secondary_keys)),
                ("R", e.use_regex or any(_SLASHED.match(k) for k in e.keys)),
                ("-", not e.enabled),
            )
        )
        keys = ", ".join(e.keys) or "(no keys)"
        if e.selective and e.secondary_keys:
            keys += " + " + _logic(e).replace("_", " ") + ": " + ", ".join(e.secondary_keys)
        lines.append(f"  {marks} {e.label} [{_short(keys)}]")
    if len(book.entries) > limit:
        lines.append(f"  ... and {len(book.entries) - limit} more (--json shows them all)")
    return lines


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
