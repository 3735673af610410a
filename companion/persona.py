"""Personas: who the companion is. TOML files, plus import of SillyTavern character cards.

A persona is looked up by name in the user's personas folder first, then among the ones
shipped with the package (``companion/personas/*.toml``); a path to a .toml, .json or .png
file works too. Every problem with a file is a :class:`PersonaError` with one line to show.

A card's lorebook (``character_book``) is kept with the persona: beside ``KEY.toml`` as
``KEY.lorebook.json``, a V3 standalone lorebook (JSON, because lorebooks carry nulls that TOML
cannot write). A card whose lorebook is malformed imports without it, with a notice.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from companion.lorebook import (
    Lorebook,
    LorebookError,
    LoreEntry,
    parse_lorebook,
    unix_newlines,
)
from companion.paths import Paths

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LOREBOOK_SUFFIX = ".lorebook.json"


class PersonaError(Exception):
    """A persona file problem, phrased as the one line the user sees."""


class ExampleExchange(BaseModel):
    """One example turn: what the user says and how the persona answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    user: str
    assistant: str


class Persona(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    """Display name, as the companion introduces itself."""
    description: str = ""
    """Who the persona is: background, situation, relationship to the user."""
    personality: str = ""
    speaking_style: str = ""
    greeting: str = ""
    """The first message of a new conversation."""
    example_dialogues: tuple[ExampleExchange, ...] = ()
    boundaries: str = ""
    """What the persona will not do or talk about; added to the system prompt."""
    intensity_cap: float = Field(0.6, ge=0, le=1)
    """Highest emotional intensity (0 calm .. 1 intense) a reply may have."""
    lorebook: Lorebook | None = None
    """Background entries brought into the prompt by keywords (from a character card)."""


_RULES = (
    "You are an AI companion, and you say so if asked. Be warm and honest. Mirror the user's "
    "emotional tone without amplifying it. Encourage the user's relationships and life "
    "outside this chat; never discourage them from seeing other people, and never make them "
    "feel guilty for leaving."
)


def system_prompt(
    persona: Persona,
    memory_notes: list[str] | None = None,
    lore: Sequence[LoreEntry] = (),
) -> str:
    """The persona as one system message (pure). Examples are included as a transcript.

    ``lore`` (lorebook entries chosen by :func:`companion.lorebook.select_entries`) goes
    before or after the character's description, as each entry's position says."""
    parts = [f"You are {persona.name}."]
    before = [_fill(e.content, persona.name).strip() for e in lore if e.before_char]
    after = [_fill(e.content, persona.name).strip() for e in lore if not e.before_char]
    if any(before):
        parts.append("\n".join(t for t in before if t))
    for label, value in (
        ("", persona.description),
        ("Personality: ", persona.personality),
        ("Speaking style: ", persona.speaking_style),
        ("Boundaries: ", persona.boundaries),
    ):
        if value.strip():
            parts.append(f"{label}{value.strip()}")
    if any(after):
        parts.append("\n".join(t for t in after if t))
    parts.append(_RULES)
    if persona.example_dialogues:
        lines = ["Examples of how you talk:"]
        for ex in persona.example_dialogues:
            lines += [f"User: {ex.user.strip()}", f"{persona.name}: {ex.assistant.strip()}"]
        parts.append("\n".join(lines))
    notes = [n.strip() for n in (memory_notes or []) if n.strip()]
    if notes:
        parts.append("Things you remember about the user:\n" + "\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts)


# --- TOML --------------------------------------------------------------------------------


def _toml_str(s: str) -> str:
    """A TOML basic string; multi-line text stays readable as a triple-quoted block."""
    multi = "\n" in s

    def esc(ch: str) -> str:
        if ch == "\\":
            return "\\\\"
        if ch == '"':
            return '\\"'
        if ch == "\n":
            return "\n" if multi else "\\n"
        if ch == "\t":
            return "\t"
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            return f"\\u{ord(ch):04X}"
        return ch

    body = "".join(esc(c) for c in s)
    return f'"""\n{body}"""' if multi else f'"{body}"'


def to_toml(persona: Persona) -> str:
    """Serialise a persona as TOML (pure); `from_toml(to_toml(p)) == p` but for the lorebook,
    which :func:`save` writes beside the TOML file."""
    lines = []
    if persona.lorebook is not None:
        n = len(persona.lorebook.entries)
        lines.append(
            f"# Its lorebook ({n} entries) is the {LOREBOOK_SUFFIX} file of the same name."
        )
    for key in ("name", "description", "personality", "speaking_style", "greeting", "boundaries"):
        lines.append(f"{key} = {_toml_str(getattr(persona, key))}")
    lines.append(f"intensity_cap = {persona.intensity_cap}")
    for ex in persona.example_dialogues:
        lines += [
            "",
            "[[example_dialogues]]",
            f"user = {_toml_str(ex.user)}",
            f"assistant = {_toml_str(ex.assistant)}",
        ]
    return "\n".join(lines) + "\n"


def _validate(data: dict[str, Any], where: str) -> Persona:
    try:
        return Persona.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "persona"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise PersonaError(f"{where}: {loc}: {msg}") from e


def from_toml(text: str, where: str = "persona") -> Persona:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PersonaError(f"{where}: {e}") from e
    return _validate(data, where)


# --- SillyTavern character cards ---------------------------------------------------------


def _fill(text: str, name: str) -> str:
    """Cards write {{char}} and {{user}} placeholders (any case, also <BOT>/<USER>)."""
    text = re.sub(r"\{\{\s*char\s*\}\}|<BOT>", lambda _m: name, text, flags=re.IGNORECASE)
    return re.sub(r"\{\{\s*user\s*\}\}|<USER>", "User", text, flags=re.IGNORECASE)


def parse_mes_example(text: str, name: str) -> tuple[ExampleExchange, ...]:
    """`<START>`-separated transcripts of `{{user}}:` / `{{char}}:` lines → exchanges."""
    out: list[ExampleExchange] = []
    for block in re.split(r"<START>", text, flags=re.IGNORECASE):
        turns: list[tuple[str, str]] = []
        for raw in block.splitlines():
            m = re.match(r"^\s*(\{\{\s*(user|char)\s*\}\}|<(USER|BOT)>)\s*:\s*(.*)$", raw, re.I)
            if m:
                who = (m.group(2) or m.group(3)).lower()
                turns.append(("user" if who == "user" else "char", m.group(4)))
            elif turns and raw.strip():
                turns[-1] = (turns[-1][0], f"{turns[-1][1]}\n{raw.strip()}")
        pending: str | None = None
        for who, text_ in turns:
            if who == "user":
                pending = text_ if pending is None else f"{pending}\n{text_}"
            elif pending is not None:
                out.append(ExampleExchange(user=_fill(pending, name), assistant=_fill(text_, name)))
                pending = None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Loaded:
    """A persona, and what was left out on the way in (one line each)."""

    persona: Persona
    notices: tuple[str, ...] = ()


def from_card(card: dict[str, Any], where: str = "card") -> Persona:
    """A Character Card V2 or V3 (V1's flat fields work too); see :func:`import_card`."""
    return import_card(card, where).persona


def import_card(card: dict[str, Any], where: str = "card") -> Loaded:
    """A Character Card V2 (``chara_card_v2``) or V3 (``chara_card_v3``) with its lorebook.

    V1's flat fields work too. A malformed ``character_book`` is left out with a notice."""
    inner = card.get("data")
    data: dict[str, Any] = inner if isinstance(inner, dict) else card
    if not str(data.get("name", "")).strip():
        raise PersonaError(f"{where}: not a character card (no name)")
    name = unix_newlines(str(data["name"])).strip()

    def field(key: str) -> str:
        value = data.get(key) or ""
        return _fill(unix_newlines(str(value)), name).strip()

    description = "\n\n".join(p for p in (field("description"), field("scenario")) if p)
    ext = data.get("extensions")
    ext = ext if isinstance(ext, dict) else {}
    found = ext.get("companion")
    companion_ext: dict[str, Any] = found if isinstance(found, dict) else {}
    lorebook, notices = None, []
    if data.get("character_book") is not None:
        try:
            lorebook = parse_lorebook(data["character_book"])
        except LorebookError as e:
            notices.append(f"{where}: the card's lorebook was left out ({e})")
    persona = _validate(
        {
            "name": name,
            "description": description,
            "personality": field("personality"),
            "speaking_style": unix_newlines(str(companion_ext.get("speaking_style", ""))),
            "greeting": field("first_mes"),
            "example_dialogues": parse_mes_example(
                unix_newlines(str(data.get("mes_example") or "")), name
            ),
            "boundaries": unix_newlines(str(companion_ext.get("boundaries", ""))),
            "intensity_cap": companion_ext.get("intensity_cap", 0.6),
            "lorebook": lorebook,
        },
        where,
    )
    return Loaded(persona, tuple(notices))


def card_json_from_png(path: Path) -> dict[str, Any]:
    """The card in a PNG's ``ccv3`` (V3) or ``chara`` (V2) text chunk: base64 JSON.

    A PNG with both holds one card in two versions; the V3 one is used, as the V3 spec says
    (the V2 one when the V3 one cannot be read)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            chunks = dict(getattr(im, "text", {}) or im.info)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise PersonaError(f"{path}: not a readable PNG image") from e
    found = [chunks[k] for k in ("ccv3", "chara") if isinstance(chunks.get(k), str)]
    if not found:
        raise PersonaError(f"{path}: the PNG holds no character card (no 'chara' text chunk)")
    problem = ""
    for raw in found:
        try:
            card = json.loads(base64.b64decode(raw, validate=False).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
            problem = problem or "is not valid base64 JSON"
            continue
        if isinstance(card, dict):
            return card
        problem = problem or "is not a JSON object"
    raise PersonaError(f"{path}: the PNG's character card {problem}")


def lorebook_path(toml_path: Path) -> Path:
    """Where the lorebook of the persona in ``toml_path`` is kept."""
    return toml_path.with_name(toml_path.stem + LOREBOOK_SUFFIX)


def _read_lorebook(path: Path) -> Lorebook:
    try:
        return parse_lorebook(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as e:
        raise PersonaError(f"{path}: cannot read ({type(e).__name__})") from e
    except LorebookError as e:
        raise PersonaError(f"{path}: {e}") from e
    except (ValueError, RecursionError) as e:
        raise PersonaError(f"{path}: not valid JSON") from e


def load_file(path: Path) -> Persona:
    return load_file_with_notices(path).persona


def load_file_with_notices(path: Path) -> Loaded:
    """A persona file (.toml, with its lorebook if one is beside it) or a card (.json/.png)."""
    where = str(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        return import_card(card_json_from_png(path), where)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise PersonaError(f"{path}: no such file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise PersonaError(f"{path}: cannot read ({type(e).__name__})") from e
    if suffix == ".json":
        try:
            card = json.loads(text)
        except ValueError as e:
            raise PersonaError(f"{path}: not valid JSON ({_first_line(e)})") from e
        except RecursionError as e:
            raise PersonaError(f"{path}: not valid JSON (nested too deeply)") from e
        if not isinstance(card, dict):
            raise PersonaError(f"{path}: not a character card")
        return import_card(card, where)
    persona = from_toml(text, where)
    book = lorebook_path(path)
    if book.is_file():
        persona = persona.model_copy(update={"lorebook": _read_lorebook(book)})
    return Loaded(persona)


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


# --- lookup ------------------------------------------------------------------------------


def builtin_dir() -> Path:
    return Path(str(resources.files("companion") / "personas"))


@dataclass(frozen=True, slots=True)
class PersonaEntry:
    key: str
    """The name used to select it (the file name without .toml)."""
    path: Path
    builtin: bool


def list_personas(paths: Paths) -> list[PersonaEntry]:
    """User personas first; a user file shadows a shipped one of the same key."""
    seen: dict[str, PersonaEntry] = {}
    for folder, builtin in ((paths.personas_dir, False), (builtin_dir(), True)):
        if folder.is_dir():
            for f in sorted(folder.glob("*.toml")):
                seen.setdefault(f.stem, PersonaEntry(f.stem, f, builtin))
    return sorted(seen.values(), key=lambda e: (e.builtin, e.key))


def find(name: str, paths: Paths) -> PersonaEntry:
    for entry in list_personas(paths):
        if entry.key == name:
            return entry
    known = ", ".join(e.key for e in list_personas(paths)) or "none"
    raise PersonaError(f"no persona called {name!r} (known: {known})")


def load(name_or_path: str, paths: Paths) -> Persona:
    """By name (user folder, then shipped) or by a path to a .toml/.json/.png file."""
    return load_with_notices(name_or_path, paths).persona


def load_with_notices(name_or_path: str, paths: Paths) -> Loaded:
    """:func:`load`, with what was left out of an imported card."""
    return load_file_with_notices(_resolve(name_or_path, paths))


def _resolve(name_or_path: str, paths: Paths) -> Path:
    p = Path(name_or_path).expanduser()
    if p.suffix.lower() in (".toml", ".json", ".png") and (p.exists() or "/" in name_or_path):
        return p
    return find(name_or_path, paths).path


_CACHE: dict[tuple[str, int, int | None], Persona] = {}


def load_cached(name_or_path: str, paths: Paths) -> Persona:
    """:func:`load`, reusing the last result while its files are unchanged (a persona is read
    for every reply, and a card's lorebook can be megabytes)."""
    path = _resolve(name_or_path, paths)
    book = lorebook_path(path)
    try:
        stamp = (
            str(path.resolve()),
            path.stat().st_mtime_ns,
            book.stat().st_mtime_ns if book.is_file() else None,
        )
    except OSError:
        return load_file(path)
    if stamp not in _CACHE:
        if len(_CACHE) >= 8:
            _CACHE.clear()
        _CACHE[stamp] = load_file(path)
    return _CACHE[stamp]


def save(persona: Persona, key: str, paths: Paths, *, overwrite: bool = False) -> Path:
    """Write a persona to the user folder as KEY.toml (and its lorebook as
    KEY.lorebook.json), each atomically."""
    if not NAME_RE.match(key):
        raise PersonaError(f"{key!r}: a persona name is letters, digits, '-', '_' and '.'")
    folder = paths.personas_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.toml"
    if target.exists() and not overwrite:
        raise PersonaError(f"{target} exists already")
    book = lorebook_path(target)
    if persona.lorebook is None:
        book.unlink(missing_ok=True)
    else:
        _write_atomic(book, json.dumps(persona.lorebook.to_json(), ensure_ascii=False, indent=1))
    _write_atomic(target, to_toml(persona))
    return target


def _write_atomic(target: Path, text: str) -> None:
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)


def key_for(name: str) -> str:
    """A file-name key from a display name ("Sam the Bard" → "sam-the-bard")."""
    key = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]
    return key or "persona"
