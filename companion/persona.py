"""Personas: who the companion is. TOML files, plus import of SillyTavern character cards.

A persona is looked up by name in the user's personas folder first, then among the ones
shipped with the package (``companion/personas/*.toml``); a path to a .toml, .json or .png
file works too. Every problem with a file is a :class:`PersonaError` with one line to show.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from companion.paths import Paths

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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


_RULES = (
    "You are an AI companion, and you say so if asked. Be warm and honest. Mirror the user's "
    "emotional tone without amplifying it. Encourage the user's relationships and life "
    "outside this chat; never discourage them from seeing other people, and never make them "
    "feel guilty for leaving."
)


def system_prompt(persona: Persona, memory_notes: list[str] | None = None) -> str:
    """The persona as one system message (pure). Examples are included as a transcript."""
    parts = [f"You are {persona.name}."]
    for label, value in (
        ("", persona.description),
        ("Personality: ", persona.personality),
        ("Speaking style: ", persona.speaking_style),
        ("Boundaries: ", persona.boundaries),
    ):
        if value.strip():
            parts.append(f"{label}{value.strip()}")
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
    """Serialise a persona as TOML (pure); `from_toml(to_toml(p)) == p`."""
    lines = []
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
    text = re.sub(r"\{\{\s*char\s*\}\}|<BOT>", name, text, flags=re.IGNORECASE)
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


def from_card(card: dict[str, Any], where: str = "card") -> Persona:
    """A Character Card V2 (``spec: chara_card_v2``; V1's flat fields work too)."""
    inner = card.get("data")
    data: dict[str, Any] = inner if isinstance(inner, dict) else card
    if not str(data.get("name", "")).strip():
        raise PersonaError(f"{where}: not a character card (no name)")
    name = str(data["name"]).strip()

    def field(key: str) -> str:
        value = data.get(key) or ""
        return _fill(str(value), name).strip()

    description = "\n\n".join(p for p in (field("description"), field("scenario")) if p)
    ext = data.get("extensions")
    ext = ext if isinstance(ext, dict) else {}
    found = ext.get("companion")
    companion_ext: dict[str, Any] = found if isinstance(found, dict) else {}
    return _validate(
        {
            "name": name,
            "description": description,
            "personality": field("personality"),
            "speaking_style": str(companion_ext.get("speaking_style", "")),
            "greeting": field("first_mes"),
            "example_dialogues": parse_mes_example(str(data.get("mes_example") or ""), name),
            "boundaries": str(companion_ext.get("boundaries", "")),
            "intensity_cap": companion_ext.get("intensity_cap", 0.6),
        },
        where,
    )


def card_json_from_png(path: Path) -> dict[str, Any]:
    """The card in a PNG's ``chara`` (V2) or ``ccv3`` (V3) text chunk: base64 JSON."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            chunks = dict(getattr(im, "text", {}) or im.info)
    except (UnidentifiedImageError, OSError) as e:
        raise PersonaError(f"{path}: not a readable PNG image") from e
    raw = chunks.get("chara") or chunks.get("ccv3")
    if not isinstance(raw, str):
        raise PersonaError(f"{path}: the PNG holds no character card (no 'chara' text chunk)")
    try:
        card = json.loads(base64.b64decode(raw, validate=False).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise PersonaError(f"{path}: the PNG's character card is not valid base64 JSON") from e
    if not isinstance(card, dict):
        raise PersonaError(f"{path}: the PNG's character card is not a JSON object")
    return card


def load_file(path: Path) -> Persona:
    where = str(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        return from_card(card_json_from_png(path), where)
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
            raise PersonaError(f"{path}: not valid JSON ({e})") from e
        if not isinstance(card, dict):
            raise PersonaError(f"{path}: not a character card")
        return from_card(card, where)
    return from_toml(text, where)


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
    p = Path(name_or_path).expanduser()
    if p.suffix.lower() in (".toml", ".json", ".png") and (p.exists() or "/" in name_or_path):
        return load_file(p)
    return load_file(find(name_or_path, paths).path)


def save(persona: Persona, key: str, paths: Paths, *, overwrite: bool = False) -> Path:
    """Write a persona to the user folder as KEY.toml, atomically."""
    if not NAME_RE.match(key):
        raise PersonaError(f"{key!r}: a persona name is letters, digits, '-', '_' and '.'")
    folder = paths.personas_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{key}.toml"
    if target.exists() and not overwrite:
        raise PersonaError(f"{target} exists already")
    tmp = target.with_suffix(".toml.tmp")
    tmp.write_text(to_toml(persona), encoding="utf-8")
    tmp.replace(target)
    return target


def key_for(name: str) -> str:
    """A file-name key from a display name ("Sam the Bard" → "sam-the-bard")."""
    key = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]
    return key or "persona"
