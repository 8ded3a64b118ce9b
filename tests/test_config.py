"""Settings: defaults, TOML files, environment overrides and errors that name the key."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, fields
from pathlib import Path

import pytest

from tracker.config import Config, ConfigError, load_config, mask_url

ROOT = Path(__file__).resolve().parent.parent


def test_no_config_means_sqlite_in_data_folder() -> None:
    cfg = load_config(env={})
    assert cfg.database_url == "sqlite:///data/tracker.db"


def test_example_file_documents_every_setting_with_its_default() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    defaults = asdict(Config())
    for section in (f.name for f in fields(Config) if f.name != "source"):
        assert section in example, f"[{section}] missing from config.example.toml"
        for key, value in defaults[section].items():
            assert key in example[section], f"{section}.{key} missing from config.example.toml"
            documented = example[section][key]
            expected = list(value) if isinstance(value, tuple) else value
            assert documented == expected, f"{section}.{key}: example says {documented!r}, default is {value!r}"


def test_example_file_loads_as_a_config() -> None:
    cfg = load_config(ROOT / "config.example.toml", env={})
    assert cfg == Config(source=str(ROOT / "config.example.toml"))


def test_file_values_and_env_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[database]\nurl = "sqlite:///x.db"\n[auth]\npublic_read = true\n[web]\nport = 8080\n')
    cfg = load_config(path, env={"TRACKER_DATABASE_URL": "postgresql+psycopg://u:secret@h/db",
                                 "TRACKER_INGEST_ALLOW_HOSTS": "127.0.0.1, feeds.example.org",
                                 "TRACKER_WEB_PORT": "9000"})
    assert cfg.database_url == "postgresql+psycopg://u:secret@h/db"
    assert cfg.auth.public_read is True
    assert cfg.web.port == 9000
    assert cfg.ingest.allow_hosts == ("127.0.0.1", "feeds.example.org")


def test_tracker_config_env_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[embedding]\nbatch_size = 8\n")
    assert load_config(env={"TRACKER_CONFIG": str(path)}).embedding.batch_size == 8


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[web]\nport = 'eighty'\n", "web.port"),
        ("[web]\nprot = 80\n", "web.prot"),
        ("[nope]\nx = 1\n", "[nope]"),
        ("[narratives]\nauto_level = 0.3\nsuggest_level = 0.5\n", "suggest_level"),
        ("[narratives]\nauto_threshold = 0.62\n", "narratives.auto_level"),  # a retired cosine cut-off
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=None) as info:
        load_config(path, env={})
    assert needle in str(info.value)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml", env={})


def test_password_is_masked() -> None:
    masked = mask_url("postgresql+psycopg://user:hunter2@db.example.org/tracker")
    assert "hunter2" not in masked and "db.example.org" in masked
