"""A flat-file ``path:`` may not name any file on the machine (issue 22, item 11).

Before: ``path: ../../../../../../etc/passwd`` (or ``/etc/passwd``) was read and staged: a
mapping, which is text anyone may propose, could copy any file the migration's user can
read into staging. Now the mapping's text may only name files relative to the working
folder without ``..``, or below a ``${MIGRATE_...}`` variable, or below a root the operator
declared (``MIGRATE_FILE_ROOTS``, ``[safety] file_roots``); an ``env:`` variable that is set
names the file itself. ``mappings check`` says so at the ``path:`` line, a run refuses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.errors import SchemaMismatch
from migrate.extract.files.dispatch import confine
from migrate.runs.runner import run_migration
from migrate.spec.flatfile import FlatFile
from tests.test_flat_files_check import HEADER, MAPPING, ROWS, cli, line_of, project


@pytest.fixture(autouse=True)
def _no_file_root_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/conftest.py declares pytest's temporary folder a file root; here none is."""
    monkeypatch.delenv("MIGRATE_FILE_ROOTS", raising=False)


def _outside(tmp_path: Path) -> Path:
    """A readable file outside the working folder (a stand-in for the password file)."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "passwd.tsv").write_bytes(HEADER + ROWS)
    return folder / "passwd.tsv"


def _escaping(tmp_path: Path) -> str:
    work = tmp_path / "work"
    work.mkdir()
    _outside(tmp_path)
    return "../secrets/passwd.tsv"


@pytest.mark.parametrize("offline", [False, True], ids=["live", "offline"])
def test_a_dotdot_path_is_refused_by_mappings_check_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], offline: bool
) -> None:
    """Offline too: the check needs no connection, only the path and the roots."""
    hostile = _escaping(tmp_path)
    work = tmp_path / "work"
    mapping = MAPPING.replace("    path: pay.tsv\n", f"    path: {hostile}\n")
    project(work, mapping)
    assert cli(work, "mappings", "check", *(["--offline"] if offline else [])) == 1
    out = capsys.readouterr().out.splitlines()
    line = line_of(mapping, f"    path: {hostile}")
    assert out[0].startswith(
        f"mappings/hr/pay.yaml:{line} source.file.path: flat file '{hostile}' is outside "
        "the folders a mapping may read"
    )
    assert out[-1] == "1 problem(s)"


@pytest.mark.parametrize("kind", ["dotdot", "absolute"])
def test_a_run_refuses_the_file_and_stages_nothing(tmp_path: Path, kind: str) -> None:
    hostile = _escaping(tmp_path)
    if kind == "absolute":
        hostile = str((tmp_path / "secrets" / "passwd.tsv").resolve())
    work = tmp_path / "work"
    mappings = project(work, MAPPING.replace("    path: pay.tsv\n", f"    path: {hostile}\n"))
    with pytest.raises(Exception) as refused:
        run_migration(load_settings(work), mappings, "full")
    assert "is outside the folders a mapping may read" in str(refused.value)


def test_declared_roots_and_operator_variables_are_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = _outside(tmp_path)
    absolute = FlatFile.model_validate({"path": str(secret)})
    with pytest.raises(SchemaMismatch):
        confine(absolute, secret)
    monkeypatch.setenv("MIGRATE_FILE_ROOTS", str(secret.parent))
    confine(absolute, secret)  # the operator declared the folder
    monkeypatch.delenv("MIGRATE_FILE_ROOTS")
    monkeypatch.setenv("MIGRATE_EXTRACTS", str(secret.parent))
    confine(FlatFile.model_validate({"path": "${MIGRATE_EXTRACTS}/passwd.tsv"}), secret)
    escape = FlatFile.model_validate({"path": "${MIGRATE_EXTRACTS}/../secrets/passwd.tsv"})
    with pytest.raises(SchemaMismatch):
        confine(escape, secret)
    home = FlatFile.model_validate({"path": "${HOME}/passwd.tsv"})
    with pytest.raises(SchemaMismatch):
        confine(home, secret)  # only MIGRATE_ variables are the operator's declaration
    monkeypatch.setenv("PAY_FILE", str(secret))
    confine(FlatFile.model_validate({"path": "pay.tsv", "env": "PAY_FILE"}), secret)
    confine(FlatFile.model_validate({"path": "extracts/pay.tsv"}), tmp_path / "extracts/pay.tsv")
