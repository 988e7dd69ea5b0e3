"""``migrate export`` from a PostgreSQL and a MariaDB staging (money as NUMERIC there, not
integer cents): the FBDI journals and the generic CSV read back with csv alone agree with
staging's own SQL totals, the proof passes, and a changed byte fails it. A rehearsal's
staging (its own schema on PostgreSQL) is found and exported the same way."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from migrate.config import Settings, load_settings
from migrate.export import export_run
from migrate.runs.runner import run_migration
from reconcile.exported import verify_export
from tests.test_pipeline import make_estate

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
pytestmark = pytest.mark.db


def _staged(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def _migrate(
    tmp_path: Path, staging: str, monkeypatch: pytest.MonkeyPatch, mode: str
) -> tuple[Settings, str]:
    make_estate(tmp_path, scale=200, seed=5)
    monkeypatch.setenv("MIGRATE_STAGING_URL", staging)
    settings = load_settings(tmp_path)
    return settings, run_migration(
        settings, MAPPINGS, mode, entities=["gl_journals", "workers", "salaries"]
    ).run_id


@pytest.mark.parametrize("server", ["staging_pg", "mysql_url"])
def test_fbdi_and_csv_from_a_server_staging(
    server: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    realdata: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    staging = str(request.getfixturevalue(server))
    settings, run_id = _migrate(tmp_path, staging, monkeypatch, "full")
    layouts = realdata / "erp_target_schemas" / "oracle_fusion_interface"
    out = tmp_path / "fbdi"
    export_run(settings, run_id, out, tables=["GL_INTERFACE"], layouts=layouts)
    with zipfile.ZipFile(out / "GlInterface.zip") as zf:
        records = list(csv.reader(io.StringIO(zf.read("GlInterface.csv").decode("utf-8"))))
    with (layouts / "GL_INTERFACE.columns.csv").open(encoding="utf-8", newline="") as fh:
        positions = {
            r["column_name"]: int(r["csv_position"])
            for r in csv.DictReader(fh)
            if r["csv_position"]
        }
    where = (
        f"WHERE \"MIG_RUN_ID\" = '{run_id}'"
        if server == "staging_pg"
        else f"WHERE MIG_RUN_ID = '{run_id}'"
    )
    quote = '"' if server == "staging_pg" else "`"
    assert len(records) == _staged(
        staging, f"SELECT COUNT(*) FROM {quote}GL_INTERFACE{quote} {where}"
    )
    for money in ("ENTERED_DR", "ENTERED_CR"):
        total = sum(Decimal(r[positions[money] - 1] or 0) for r in records)
        staged = _staged(
            staging, f"SELECT SUM({quote}{money}{quote}) FROM {quote}GL_INTERFACE{quote} {where}"
        )
        assert total == Decimal(str(staged)) and total > 0
        assert all(len(r[positions[money] - 1].partition(".")[2]) in (0, 2) for r in records)
    assert verify_export(settings, out).verdict == "PASS"
    from_pack = tmp_path / "pack"  # no layout file: the same bytes (money as NUMERIC here)
    export_run(settings, run_id, from_pack, tables=["GL_INTERFACE"])
    assert (from_pack / "GlInterface.zip").read_bytes() == (out / "GlInterface.zip").read_bytes()
    assert verify_export(settings, from_pack, layouts=layouts).verdict == "PASS"
    csv_out = tmp_path / "csv"
    export_run(settings, run_id, csv_out, fmt="csv", tables=["SALARIES"])
    assert verify_export(settings, csv_out).verdict == "PASS"
    data = bytearray((csv_out / "SALARIES.csv").read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")  # a cent of the last salary
    (csv_out / "SALARIES.csv").write_bytes(bytes(data))
    report = verify_export(settings, csv_out)
    assert report.verdict == "FAIL"
    assert any("SALARY_AMOUNT total" in t for _, t in report.findings)


def test_a_rehearsal_in_its_own_schema_is_exported(
    staging_pg: str, tmp_path: Path, realdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, run_id = _migrate(tmp_path, staging_pg, monkeypatch, "rehearsal")
    out = tmp_path / "fbdi"
    layouts = realdata / "erp_target_schemas" / "oracle_fusion_interface"
    result = export_run(settings, run_id, out, tables=["GL_INTERFACE"], layouts=layouts)
    assert result.manifest["staging_mode"] == "rehearsal"
    rows = _staged(
        staging_pg,
        f'SELECT COUNT(*) FROM rehearsal."GL_INTERFACE" WHERE "MIG_RUN_ID" = \'{run_id}\'',
    )
    assert result.manifest["files"][0]["datasets"][0]["rows"] == rows
    assert verify_export(settings, out).verdict == "PASS"


EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "targets"


@pytest.mark.parametrize("server", ["staging_pg", "mysql_url"])
def test_declared_tables_from_a_server_staging(
    server: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A user's own targets (booleans, decimals, timestamps, money) as CSV: every value
    proved against the server's staging."""
    import shutil
    import sqlite3

    from cli.main import main

    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    with sqlite3.connect(tmp_path / "legacy_hr.db") as conn:
        conn.executescript((EXAMPLE / "legacy_hr.sql").read_text(encoding="utf-8"))
    monkeypatch.setenv("MIGRATE_STAGING_URL", str(request.getfixturevalue(server)))
    base = ["--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings")]
    assert main([*base, "-q", "run"]) == 0
    run_id = capsys.readouterr().out.split("run ", 1)[1].split()[0]
    out = str(tmp_path / "out")
    assert main([*base, "export", "--run", run_id, "--format", "csv", "--out", out]) == 0
    assert main([*base, "export", "verify", out]) == 0, capsys.readouterr().out
    shown = capsys.readouterr().out
    assert "ASSIGNMENT_HISTORY.csv ASSIGNMENT_HISTORY:" in shown and "verdict: PASS" in shown
