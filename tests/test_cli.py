"""The command line: help, mapping lint and crosswalk coverage against a live estate."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from tests.test_pipeline import make_estate


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "estate", "mappings", "run", "resume", "rollback", "reconcile"):
        assert command in out


def test_check_and_coverage_against_live_estate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_estate(tmp_path, scale=200, seed=9)
    assert main(["--workdir", str(tmp_path), "mappings", "check"]) == 0
    assert "mappings OK" in capsys.readouterr().out
    assert main(["--workdir", str(tmp_path), "mappings", "coverage"]) == 1
    out = capsys.readouterr().out
    assert "departments: workers.agency_id" in out
    assert "'A99999'" in out or "'B70001'" in out


def test_check_reports_a_missing_source_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    make_estate(tmp_path, scale=200, seed=9)
    mappings = tmp_path / "mappings"
    shutil.copytree(Path(__file__).resolve().parents[1] / "mappings", mappings)
    path = mappings / "finance" / "ap_invoices.yaml"
    path.write_text(path.read_text().replace("from: INV_NO", "from: INV_NUM"))
    code = main(["--workdir", str(tmp_path), "--mappings", str(mappings), "mappings", "check"])
    out = capsys.readouterr().out
    assert code == 1
    assert "ap_invoices.yaml:" in out
    assert "APINVHDR has no column 'INV_NUM' (did you mean 'INV_NO'?)" in out


def test_unknown_run_id_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--workdir", str(tmp_path), "rollback", "nope"]) == 2
    assert "unknown run id 'nope'" in capsys.readouterr().err
