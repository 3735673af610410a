from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion import persona as P
from companion.config import Config
from companion.persona import ExampleExchange, Persona, PersonaError

CARD_V2 = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Sam",
        "description": "{{char}} is a retired lighthouse keeper.",
        "personality": "gruff but kind",
        "scenario": "{{user}} visits {{char}} at the lighthouse.",
        "first_mes": "Ahoy, {{user}}. Mind the stairs.",
        "mes_example": (
            "<START>\n{{user}}: What do you do all day?\n{{char}}: Watch the sea. It talks, "
            "if you listen.\n<START>\n{{user}}: Are you lonely?\n{{char}}: Not with the gulls."
        ),
        "creator_notes": "",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": [],
        "tags": [],
        "creator": "",
        "character_version": "",
        "extensions": {"companion": {"intensity_cap": 0.4}},
    },
}


def test_shipped_default_loads(config: Config) -> None:
    default = P.load("default", config.paths)
    assert default.name and default.greeting and default.example_dialogues
    assert 0 < default.intensity_cap <= 1
    assert [e.key for e in P.list_personas(config.paths)] == ["default"]


def test_toml_round_trip_and_user_folder_shadows_builtin(config: Config) -> None:
    mine = Persona(
        name='Ada "the" Counter',
        description='Line one\nline two with \\ and """ quotes',
        example_dialogues=(ExampleExchange(user="hi", assistant="hello\nthere"),),
        intensity_cap=0.3,
    )
    assert P.from_toml(P.to_toml(mine)) == mine
    path = P.save(mine, "default", config.paths, overwrite=True)
    assert path.parent == config.paths.personas_dir
    assert P.load("default", config.paths) == mine
    entries = P.list_personas(config.paths)
    assert [(e.key, e.builtin) for e in entries] == [("default", False)]
    with pytest.raises(PersonaError, match="exists"):
        P.save(mine, "default", config.paths)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(
    name=_text.filter(lambda s: s.strip() != ""),
    desc=_text,
    ex=st.lists(st.tuples(_text, _text), max_size=2),
    cap=st.floats(0, 1),
)
def test_toml_round_trip_any_text(
    name: str, desc: str, ex: list[tuple[str, str]], cap: float
) -> None:
    p = Persona(
        name=name[:100],
        description=desc,
        example_dialogues=tuple(ExampleExchange(user=u, assistant=a) for u, a in ex),
        intensity_cap=cap,
    )
    assert P.from_toml(P.to_toml(p)) == p


def test_card_v2_json_import(tmp_path: Path) -> None:
    f = tmp_path / "sam.json"
    f.write_text(json.dumps(CARD_V2))
    sam = P.load(str(f), P.Paths(tmp_path))
    assert sam.name == "Sam"
    assert sam.description.startswith("Sam is a retired lighthouse keeper.")
    assert "User visits Sam" in sam.description
    assert sam.greeting == "Ahoy, User. Mind the stairs."
    assert sam.example_dialogues == (
        ExampleExchange(
            user="What do you do all day?", assistant="Watch the sea. It talks, if you listen."
        ),
        ExampleExchange(user="Are you lonely?", assistant="Not with the gulls."),
    )
    assert sam.intensity_cap == 0.4


def test_card_png_import(tmp_path: Path) -> None:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("chara", base64.b64encode(json.dumps(CARD_V2).encode()).decode())
    f = tmp_path / "sam.png"
    Image.new("RGB", (4, 4)).save(f, pnginfo=info)
    assert P.load_file(f).name == "Sam"

    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    with pytest.raises(PersonaError, match="no character card"):
        P.load_file(plain)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.toml", "name = ", "bad.toml"),
        ("bad2.toml", 'name = "x"\nmood = "y"\n', "mood: unknown key"),
        ("bad3.toml", 'name = "x"\nintensity_cap = 3\n', "intensity_cap"),
        ("bad.json", "{not json", "not valid JSON"),
        ("bad2.json", '{"spec": "chara_card_v2", "data": {}}', "not a character card"),
        ("bad.png", "not a png", "not a readable PNG"),
    ],
)
def test_bad_files_give_one_line_errors(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    f = tmp_path / name
    f.write_text(content)
    with pytest.raises(PersonaError, match=message) as e:
        P.load_file(f)
    assert "\n" not in str(e.value)


def test_unknown_name(config: Config) -> None:
    with pytest.raises(PersonaError, match="no persona called 'nope'.*default"):
        P.load("nope", config.paths)


def test_system_prompt_has_persona_examples_and_notes() -> None:
    p = Persona(
        name="Sam",
        personality="gruff",
        boundaries="No romance.",
        example_dialogues=(ExampleExchange(user="hi", assistant="ahoy"),),
    )
    text = P.system_prompt(p, ["likes tea", " "])
    assert text.startswith("You are Sam.")
    assert "Personality: gruff" in text and "Boundaries: No romance." in text
    assert "User: hi\nSam: ahoy" in text and "- likes tea" in text
