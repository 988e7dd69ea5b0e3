"""``[safety]`` in migrate.toml, through the command line (issue 22, items 9 and 11).

``legacy_role = "refuse"`` stops ``migrate run`` before the run has a row, and makes
``mappings check`` fail, while the legacy role can do more than read; ``file_roots`` lets a
mapping name files in folders the operator declared. These need the config, runner and lint
hunks of /work/notes/patches/tamper.diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from tests.hostile.test_file_roots import _outside
from tests.hostile.test_key_injection import _fill, _project
from tests.test_flat_files_check import MAPPING, project


@pytest.fixture(autouse=True)
def _no_file_root_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/conftest.py declares pytest's temporary folder a file root; here none is."""
    monkeypatch.delenv("MIGRATE_FILE_ROOTS", raising=False)


def _cli(work: Path, *args: str) -> int:
    return main(["--workdir", str(work), "--mappings", str(work / "mappings"), *args])


@pytest.mark.db
def test_refuse_stops_a_superuser_legacy_role(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(
        pg_url,
        'CREATE TABLE "PAY" ("ID" integer, "NAME" text, "GROSS" text)',
        'INSERT INTO "PAY" VALUES (:i, :n, :g)',
    )
    _project(tmp_path, pg_url, "  table: PAY\n  key: [ID]\n")
    toml = tmp_path / "migrate.toml"
    toml.write_text(toml.read_text() + '[safety]\nlegacy_role = "refuse"\n')
    assert _cli(tmp_path, "run") == 2
    err = capsys.readouterr().err
    assert err.startswith('error: the run refused ([safety] legacy_role = "refuse"): ')
    assert "superuser" in err and err.count("\n") == 1
    assert not (tmp_path / "staging.db").exists()  # refused before the run had a row
    assert _cli(tmp_path, "mappings", "check") == 1
    assert "mappings check refused" in capsys.readouterr().out


def test_file_roots_declares_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = _outside(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    project(work, MAPPING.replace("    path: pay.tsv\n", f"    path: {secret}\n"))
    assert _cli(work, "mappings", "check") == 1
    assert "is outside the folders a mapping may read" in capsys.readouterr().out
    (work / "migrate.toml").write_text('[safety]\nfile_roots = ["../secrets"]\n')
    assert _cli(work, "mappings", "check") == 0
    assert capsys.readouterr().out.strip() == "mappings OK"
    (work / "migrate.toml").write_text('[safety]\nfile_root = ["../secrets"]\n')
    assert _cli(work, "mappings", "check") == 2
    assert "migrate.toml:2: [safety] unknown key 'file_root'" in capsys.readouterr().err
