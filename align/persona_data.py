"""A persona's own example dialogues as SFT samples."""

from __future__ import annotations

from companion.persona import Persona

Message = dict[str, str]


def persona_rows(persona: Persona, system: str | None) -> list[dict[str, list[Message]]]:
    """One `{"messages": [...]}` sample per example exchange, framed by `system` if given."""
    rows = []
    for ex in persona.example_dialogues:
        msgs = [
            {"role": "user", "content": ex.user},
            {"role": "assistant", "content": ex.assistant},
        ]
        if system:
            msgs.insert(0, {"role": "system", "content": system})
        rows.append({"messages": msgs})
    return rows
