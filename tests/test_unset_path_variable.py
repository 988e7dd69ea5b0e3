"""A mapping's path that starts with an unset ``${MIGRATE_...}`` variable: the line names
the variable to export, in ``mappings check`` (with ``--offline`` too), in the run's error
and in reconciliation's own reader. Before, ``mappings check`` said only that the file was
"outside the folders a mapping may read" and the run "flat file not found", both naming a
folder literally called ``${MIGRATE_REALDATA}`` under the working folder: the fix was to
guess."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli.main import main
from migrate.errors import SchemaMismatch
from migrate.spec.loader import load_project
from reconcile.reading.files import file_path, file_records

BALTIMORE = Path(__file__).resolve().parents[1] / "mappings" / "realdata" / "baltimore"
HINT = "MIGRATE_REALDATA is not set (or empty): export it"


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIGRATE_REALDATA", raising=False)


def test_mappings_check_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--workdir", str(tmp_path), "--mappings", str(BALTIMORE), "mappings", "check"]
    for offline in ([], ["--offline"]):
        assert main([*args, *offline]) == 1
        out = capsys.readouterr().out
        assert out.count(HINT) == 5, out  # one line per fiscal year's file


def test_the_run_names_the_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--workdir", str(tmp_path), "--mappings", str(BALTIMORE), "run"]
    assert main([*args, "--entity", "baltimore_pay_fy2012"]) == 2
    err = capsys.readouterr().err
    assert HINT in err and "flat file not found" in err, err


def test_reconciliation_reader_names_the_variable(tmp_path: Path) -> None:
    spec = load_project(BALTIMORE).entities["baltimore_pay_fy2012"].spec
    with pytest.raises(SchemaMismatch, match=re.escape(HINT)):
        next(iter(file_records(spec, file_path(spec, tmp_path))))


def test_a_set_variable_adds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MIGRATE_REALDATA", str(tmp_path / "absent"))
    args = ["--workdir", str(tmp_path), "--mappings", str(BALTIMORE), "mappings", "check"]
    assert main(args) == 1  # the files are still missing, but the variable is set
    out = capsys.readouterr().out
    assert "flat file not found" in out and "not set" not in out, out
