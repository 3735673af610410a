from pathlib import Path

import pytest

from companion import config as cfg
from companion import paths


def test_defaults_live_under_companion_home(companion_home: Path) -> None:
    loaded = cfg.load()
    assert loaded.config.data_dir == companion_home / "data"
    assert loaded.file == companion_home / "config" / "config.toml"
    assert loaded.config.database_url == f"sqlite:///{companion_home / 'data' / 'companion.db'}"
    assert all(source == "default" for _, _, source in cfg.effective(loaded))


def test_xdg_dirs_without_companion_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPANION_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert paths.config_file() == tmp_path / "cfg" / "companion" / "config.toml"
    assert cfg.load().config.data_dir == tmp_path / "share" / "companion"


def test_precedence_default_file_env(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('[server]\nport = 8100\nmax_model_len = 4096\n[chat]\npersona = "ada"\n')
    env = {"COMPANION_SERVER__PORT": "8200", "COMPANION_CHAT__KEYS": '{"rate_up": "u"}'}
    loaded = cfg.load(file, env)
    c = loaded.config
    assert c.server.port == 8200  # env beats file
    assert c.server.max_model_len == 4096  # file beats default
    assert c.chat.persona == "ada"
    assert c.chat.keys == {"rate_up": "u"}
    assert c.chat.n_alternatives == 3  # default
    sources = {k: s for k, _, s in cfg.effective(loaded)}
    assert sources["server.port"] == "env COMPANION_SERVER__PORT"
    assert sources["server.max_model_len"] == f"file {file}"
    assert sources["chat.n_alternatives"] == "default"


def test_env_list_and_bool(tmp_path: Path) -> None:
    env = {"COMPANION_SERVER__EXTRA_ARGS": '["--seed", "1"]', "COMPANION_RETRAIN__AUTO": "true"}
    c = cfg.load(tmp_path / "missing.toml", env).config
    assert c.server.extra_args == ["--seed", "1"]
    assert c.retrain.auto is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[server]\nport = 'x'\n", "c.toml:2: server.port: Input should be a valid integer"),
        ("[server]\n\n\nbogus = 1\n", "c.toml:4: server.bogus: unknown key"),
        ("[server\nport=1\n", "c.toml: Expected ']' at the end of a table declaration"),
        ("[chat]\ntemperature = 9\n", "c.toml:2: chat.temperature: Input should be less than"),
    ],
)
def test_bad_file_gives_one_line_with_file_line_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    file = tmp_path / "c.toml"
    file.write_text(text)
    with pytest.raises(cfg.ConfigError) as err:
        cfg.load(file, {})
    message = str(err.value)
    assert "\n" not in message
    assert expected in message


def test_bad_env_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(cfg.ConfigError, match="^COMPANION_SERVER__PORT: server.port"):
        cfg.load(tmp_path / "none.toml", {"COMPANION_SERVER__PORT": "high"})


def test_ensure_file_writes_commented_defaults_that_parse(tmp_path: Path) -> None:
    file = cfg.ensure_file(tmp_path / "new" / "config.toml")
    assert file.read_text().startswith("# companion configuration")
    assert cfg.load(file, {}).config == cfg.Config(data_dir=cfg.load(file, {}).config.data_dir)


def test_set_value_keeps_comments_and_validates(tmp_path: Path) -> None:
    file = cfg.ensure_file(tmp_path / "config.toml")
    cfg.set_value("model.base", "/models/x", file)
    text = file.read_text()
    assert "# companion configuration" in text
    assert cfg.load(file, {}).config.model.base == "/models/x"
    with pytest.raises(cfg.ConfigError, match="chat.temperature"):
        cfg.set_value("chat.temperature", 50, file)
    assert cfg.load(file, {}).config.chat.temperature == 0.8


def test_partial_thresholds_keep_other_defaults(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("[safety.thresholds]\ninsult = 0.9\n")
    th = cfg.load(file, {}).config.safety.thresholds
    assert th["insult"] == 0.9 and th["toxicity"] == 0.7
    file.write_text("[safety.thresholds]\ninsult = 3\n")
    with pytest.raises(cfg.ConfigError, match="between 0 and 1"):
        cfg.load(file, {})


def test_env_outside_config_is_ignored_but_typo_in_section_fails(tmp_path: Path) -> None:
    none = tmp_path / "none.toml"
    assert cfg.load(none, {"COMPANION_TEST_CACHE": "/x", "COMPANION_VENV": "v"}).config
    with pytest.raises(cfg.ConfigError, match="COMPANION_SERVER__PROT: server.prot: unknown key"):
        cfg.load(none, {"COMPANION_SERVER__PROT": "1"})
