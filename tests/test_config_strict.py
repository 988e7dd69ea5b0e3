"""``migrate.toml`` is checked, not guessed: a typo in a key is an error naming it (a
``[connection]`` typo once fell back silently to the SQLite defaults), and a password
written in the file is refused (credentials come from the environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "migrate.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_misspelt_table_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    _write(tmp_path, '[connection]\nstaging = "sqlite:///s.db"\n')
    wanted = r"unknown key 'connection' \(did you mean 'connections'\?\)"
    with pytest.raises(ConfigError, match=wanted):
        load_settings(tmp_path)


def test_a_misspelt_connection_name_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    _write(tmp_path, '[connections]\nstageing = "sqlite:///s.db"\n')
    with pytest.raises(ConfigError, match=r"'stageing' \(did you mean 'staging'\?\)"):
        load_settings(tmp_path)


def test_the_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, '[connections]\nstaging = "sqlite:///s.db"\n\n[stagin]\nx = 1\n')
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert str(err.value).startswith(f"{path}:4: ")


def test_a_password_in_the_file_is_refused_and_never_echoed(tmp_path: Path) -> None:
    _write(tmp_path, '[connections]\nstaging = "postgresql://migrator:s3cret@db/stage"\n')
    with pytest.raises(ConfigError, match="MIGRATE_STAGING_URL") as err:
        load_settings(tmp_path)
    assert "s3cret" not in str(err.value)


def test_a_schema_that_is_not_text_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "staging_schema = 3\n")
    with pytest.raises(ConfigError, match="staging_schema"):
        load_settings(tmp_path)


def test_a_valid_file_still_loads(tmp_path: Path) -> None:
    _write(tmp_path, 'staging_schema = "stage"\n\n[connections]\nstaging = "sqlite:///s.db"\n')
    settings = load_settings(tmp_path)
    assert settings.urls["staging"] == "sqlite:///s.db"
    assert settings.staging_schema == "stage"
