"""Review (session 14) of 7631e5b: every path a mapping names is confined.

The check reads the mapping's *text*: a relative path without ``..`` passes without being
resolved. But the mapping's folder is the part anyone may propose (a pull request to the
mappings repository), and git carries symbolic links: a proposed ``copybooks/pay.cpy``
that is a link to a file outside the folders a mapping may read is opened through the link.
Planted here: a copybook beside the mapping that links to a copybook outside (valid, so the
run stages records read by it); expected: refused as a path outside, nothing read. Seen
failing (xfail strict) on 02b5984; fixed in 4822765, since then a guard.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import migrate.extract.files.fixed as fixed
from migrate.config import load_settings
from migrate.errors import SchemaMismatch
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_mapping
from reconcile.reading.fixed_records import fixed_records
from tests.hostile.test_named_paths import OUTSIDE, _project


@pytest.fixture(autouse=True)
def _no_file_root_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIGRATE_FILE_ROOTS", raising=False)


def _linked(tmp_path: Path) -> Path:
    """The project of tests/hostile/test_named_paths.py, its copybook a link to one outside."""
    work = _project(tmp_path, "copybooks/linked.cpy")
    outside = tmp_path / "secrets" / "secret.cpy"
    os.symlink(outside, work / "mappings" / "hr" / "copybooks" / "linked.cpy")
    return work


def test_the_plant_is_a_readable_copybook_outside(tmp_path: Path) -> None:
    """The control: the link resolves outside every folder a mapping may read."""
    work = _linked(tmp_path)
    target = (work / "mappings" / "hr" / "copybooks" / "linked.cpy").resolve()
    assert not target.is_relative_to(work.resolve())
    assert target.read_text().startswith("       01  PAY-REC.")


def test_a_run_refuses_a_copybook_linked_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = _linked(tmp_path)
    opened: list[Path] = []
    real = fixed.read_copybook

    def spy(path: Path) -> Any:
        opened.append(path)
        return real(path)

    monkeypatch.setattr(fixed, "read_copybook", spy)
    with pytest.raises(SchemaMismatch, match=OUTSIDE):
        run_migration(load_settings(work), work / "mappings", "full")
    assert opened == []


def test_reconciliations_reader_refuses_a_copybook_linked_outside(tmp_path: Path) -> None:
    work = _linked(tmp_path)
    spec = load_mapping(work / "mappings" / "hr" / "pay.yaml").spec
    assert spec.source.file is not None
    with pytest.raises(SchemaMismatch, match=OUTSIDE):
        list(fixed_records(spec.source.file, work / "pay.dat", work / "mappings" / "hr"))


def test_a_run_refuses_a_flat_file_linked_outside_from_the_mappings_folder(
    tmp_path: Path,
) -> None:
    """``path:`` is relative to the working folder, and the mappings folder (the proposed
    text) is usually inside it: a link committed there to a file outside is read."""
    work = _project(tmp_path, "copybooks/pay.cpy")
    secret = tmp_path / "secrets" / "pay.dat"
    secret.write_bytes((work / "pay.dat").read_bytes())
    os.symlink(secret, work / "mappings" / "hr" / "linked.dat")
    yaml = work / "mappings" / "hr" / "pay.yaml"
    yaml.write_text(yaml.read_text().replace("path: pay.dat", "path: mappings/hr/linked.dat"))
    with pytest.raises(SchemaMismatch, match=OUTSIDE):
        run_migration(load_settings(work), work / "mappings", "full")


def test_an_empty_folder_variable_is_no_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``${MIGRATE_COPYBOOKS}/<any absolute path>``: with the variable set but empty (a CI
    secret missing, ``export MIGRATE_COPYBOOKS=``) the copybook is that absolute path."""
    secret = tmp_path / "secrets" / "secret.cpy"
    work = _project(tmp_path, "${MIGRATE_COPYBOOKS}" + str(secret))
    monkeypatch.setenv("MIGRATE_COPYBOOKS", "")
    spec = load_mapping(work / "mappings" / "hr" / "pay.yaml").spec
    assert spec.source.file is not None
    with pytest.raises(SchemaMismatch, match=OUTSIDE):
        list(fixed_records(spec.source.file, work / "pay.dat", work / "mappings" / "hr"))
