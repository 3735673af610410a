from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
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


# --- lorebooks from cards --------------------------------------------------------------------

BOOK = {
    "name": "Lighthouse lore",
    "scan_depth": 3,
    "token_budget": 200,
    "recursive_scanning": False,
    "extensions": {},
    "entries": [
        {
            "keys": ["lamp", "light"],
            "content": "{{char}} polishes the lamp every dawn.",
            "extensions": {"position": 1, "probability": 100, "scan_depth": None},
            "enabled": True,
            "insertion_order": 10,
            "case_sensitive": False,
            "name": "Lamp",
            "priority": 10,
            "id": 0,
            "comment": "",
            "selective": True,
            "secondary_keys": ["dawn"],
            "constant": False,
            "position": "after_char",
        },
        {
            "keys": ["gull"],
            "content": "The gulls are called Bo and Flo.",
            "enabled": True,
            "insertion_order": 5,
        },
    ],
}


def _card(spec: str, **data: Any) -> dict[str, Any]:
    inner = {**CARD_V2["data"], **data}
    version = "3.0" if spec == "chara_card_v3" else "2.0"
    return {"spec": spec, "spec_version": version, "data": inner}


@pytest.mark.parametrize("spec", ["chara_card_v2", "chara_card_v3"])
def test_card_keeps_its_lorebook_and_it_survives_save(
    spec: str, tmp_path: Path, config: Config
) -> None:
    card = _card(spec, character_book=BOOK)
    f = tmp_path / "sam.json"
    f.write_text(json.dumps(card))
    sam = P.load(str(f), config.paths)
    assert sam.lorebook is not None
    assert [e.name for e in sam.lorebook.entries] == ["Lamp", None]
    assert sam.lorebook.entries[0].selective and sam.lorebook.entries[0].secondary_keys == ("dawn",)
    assert sam.lorebook.scan_depth == 3 and sam.lorebook.token_budget == 200
    path = P.save(sam, "sam", config.paths)
    assert P.lorebook_path(path).is_file() and "lorebook (2 entries)" in path.read_text()
    assert P.load("sam", config.paths) == sam
    # saving it again without the lorebook removes the side file
    P.save(sam.model_copy(update={"lorebook": None}), "sam", config.paths, overwrite=True)
    assert not P.lorebook_path(path).exists() and P.load("sam", config.paths).lorebook is None


def _png(path: Path, **chunks: dict[str, Any] | str) -> Path:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in chunks.items():
        text = value if isinstance(value, str) else json.dumps(value)
        info.add_text(key, base64.b64encode(text.encode()).decode())
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    return path


def test_png_with_both_chunks_prefers_ccv3(tmp_path: Path) -> None:
    v2 = _card("chara_card_v2", name="Sam V2")
    v3 = _card("chara_card_v3", name="Sam V3", character_book=BOOK)
    both = P.load_file(_png(tmp_path / "both.png", chara=v2, ccv3=v3))
    assert both.name == "Sam V3" and both.lorebook is not None
    # an unreadable ccv3 chunk falls back to chara
    assert P.load_file(_png(tmp_path / "bad3.png", chara=v2, ccv3="{nope")).name == "Sam V2"
    with pytest.raises(PersonaError, match="not valid base64 JSON"):
        P.load_file(_png(tmp_path / "bad.png", ccv3="{nope"))


def test_malformed_lorebook_is_left_out_with_a_notice(tmp_path: Path) -> None:
    card = _card("chara_card_v2", character_book={"entries": [{"keys": 42}]})
    f = tmp_path / "sam.json"
    f.write_text(json.dumps(card))
    loaded = P.load_file_with_notices(f)
    assert loaded.persona.name == "Sam" and loaded.persona.lorebook is None
    (notice,) = loaded.notices
    assert "lorebook was left out" in notice and "entries[0].keys" in notice
    assert "\n" not in notice


def test_broken_lorebook_side_file_is_a_one_line_error(config: Config) -> None:
    path = P.save(Persona(name="Sam"), "sam", config.paths)
    P.lorebook_path(path).write_text('{"entries": 3}')
    with pytest.raises(PersonaError, match=r"sam.lorebook.json: entries: expected a list"):
        P.load("sam", config.paths)
    P.lorebook_path(path).write_text("{")
    with pytest.raises(PersonaError, match="not valid JSON"):
        P.load("sam", config.paths)


def test_crlf_card(tmp_path: Path) -> None:
    card = _card(
        "chara_card_v2",
        description="Line one.\r\nLine two.",
        mes_example="<START>\r\n{{user}}: hi\r\n{{char}}: ahoy\r\n",
        character_book={"entries": [{"keys": "a,\r\nb", "content": "x\r\ny"}]},
    )
    f = tmp_path / "crlf.json"
    f.write_bytes(json.dumps(card, indent=1).replace("\n", "\r\n").encode())  # CRLF file too
    sam = P.load_file(f)
    assert "\r" not in sam.description and sam.description.startswith("Line one.\nLine two.")
    assert sam.example_dialogues[0] == ExampleExchange(user="hi", assistant="ahoy")
    assert sam.lorebook is not None and sam.lorebook.entries[0].keys == ("a", "b")
    assert sam.lorebook.entries[0].content == "x\ny"


def test_huge_png_card(tmp_path: Path, config: Config) -> None:
    entries = [
        {
            "keys": [f"k{i}"],
            "content": "lore " * 100,
            "extensions": {},
            "enabled": True,
            "insertion_order": i,
        }
        for i in range(9000)
    ]
    card = _card("chara_card_v3", character_book={"entries": entries})
    assert len(json.dumps(card)) > 4_500_000
    sam = P.load_file(_png(tmp_path / "huge.png", ccv3=card))
    assert sam.lorebook is not None and len(sam.lorebook.entries) == 9000
    assert P.load(str(P.save(sam, "huge", config.paths)), config.paths) == sam


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=15,
)
_card_like = st.fixed_dictionaries(
    {"spec": st.sampled_from(["chara_card_v2", "chara_card_v3", "x"])},
    optional={
        "data": st.fixed_dictionaries(
            {"name": _json | st.just("Sam")},
            optional={
                k: _json
                for k in (
                    "description",
                    "first_mes",
                    "mes_example",
                    "extensions",
                    "character_book",
                    "personality",
                    "scenario",
                )
            },
        )
    },
)


@settings(max_examples=200, deadline=None)
@given(card=_card_like | st.dictionaries(st.text(max_size=6), _json, max_size=4))
def test_any_card_json_imports_or_gives_one_line_error(card: dict[str, Any]) -> None:
    try:
        loaded = P.import_card(card)
    except PersonaError as e:
        assert "\n" not in str(e)
        return
    assert loaded.persona.name
    assert all("\n" not in n for n in loaded.notices)
    book = (
        card.get("data", card).get("character_book")
        if isinstance(card.get("data", card), dict)
        else None
    )
    assert (loaded.persona.lorebook is None) == (book is None or bool(loaded.notices))


def test_system_prompt_places_lore_before_and_after_the_description() -> None:
    from companion.lorebook import parse_lorebook

    lb = parse_lorebook(
        {
            "entries": [
                {"content": "{{char}} was born at sea.", "position": "before_char"},
                {"content": "The lamp is old."},
            ]
        }
    )
    p = Persona(name="Sam", description="A keeper.", lorebook=lb)
    text = P.system_prompt(p, None, lb.entries)
    assert text.index("Sam was born at sea.") < text.index("A keeper.") < text.index("The lamp")
    assert "lamp" not in P.system_prompt(p)  # no lore unless chosen


def test_persona_new_and_show_with_a_lorebook(tmp_path: Path, config: Config) -> None:
    from typer.testing import CliRunner

    from companion.cli import app

    f = tmp_path / "sam.json"
    f.write_text(json.dumps(_card("chara_card_v3", character_book=BOOK)))
    runner = CliRunner()
    made = runner.invoke(app, ["persona", "new", "sam", "--from", str(f), "--no-edit"])
    assert made.exit_code == 0, made.output
    assert "lorebook (2 entries)" in made.output
    shown = runner.invoke(app, ["persona", "show", "sam"])
    assert shown.exit_code == 0, shown.output
    assert "# lorebook 'Lighthouse lore': 2 entries (2 enabled), scan depth 3" in shown.output
    assert "#    S   Lamp [lamp, light + and any: dawn]" in shown.output
    assert "gull" in shown.output
    as_json = json.loads(runner.invoke(app, ["persona", "show", "sam", "--json"]).output)
    assert len(as_json["lorebook"]["entries"]) == 2

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_card("chara_card_v2", character_book={"entries": "nope"})))
    shown = runner.invoke(app, ["persona", "show", str(bad)])
    assert shown.exit_code == 0 and "note:" in shown.output and "left out" in shown.output


def test_load_cached_rereads_only_changed_files(config: Config) -> None:
    import os

    path = P.save(Persona(name="Sam"), "sam", config.paths)
    first = P.load_cached("sam", config.paths)
    assert P.load_cached("sam", config.paths) is first
    P.save(Persona(name="Sam", personality="new"), "sam", config.paths, overwrite=True)
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000))
    assert P.load_cached("sam", config.paths).personality == "new"
