"""A verdict that cannot lie, as a review of issue 19 tried to break it: the rows read again
are the rows the scan flagged; what the run claims (its mappings, its entities' rows, its
staging's lineage columns) is checked; the workbook's formulas see those failures too."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from cli.main import main
from migrate.config import Settings
from migrate.errors import ConfigError
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import FAIL, PASS
from reconcile.run import reconcile_run
from tests.test_verdict import project, row, settings_in

SIGNED = """entity: pay
domain: hr
source:
  system: hr
  table: PAY
  key: [ID]
target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR:
    const: 2012
  RECORD_KEY:
    from: ID
  FULL_NAME:
    from: Name
  LAST_NAME:
    from: Name
  JOB_TITLE:
    from: Name
  DEPARTMENT_CODE:
    from: Name
  ANNUAL_SALARY:
    from: Salary
    steps: [{money: fixed}]
reconcile:
  measures:
    - name: salary
      source_column: Salary
      source_encoding: decimal
      sign_column: JobTitle
      sign_values: [Clerk]
      target_column: ANNUAL_SALARY
"""


def test_rows_read_again_are_the_rows_the_scan_flagged(tmp_path: Path) -> None:
    """Found in review: the scan's sign test (SQL) and the second reading's (Python) chose
    different rows: an unreadable 'O1.00' under a BLOB sign code was cancelled by two rows
    under 'Clerk<TAB>' and the entity said EXCEPTIONS. One sign test now (the six space
    characters trimmed on both), and a count disagreement is never taken as agreement."""
    legacy = tmp_path / "legacy_hr.db"
    with sqlite3.connect(legacy) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, Name TEXT, JobTitle, Salary TEXT)")
        conn.executemany(
            "INSERT INTO PAY VALUES (?, ?, ?, ?)",
            [
                (1, "Ann", "Clerk", "100.00"),
                (2, "Bob", b"Clerk", "O1.00"),
                (3, "Cy", "Clerk\t", "0.125"),
                (4, "Di", "Clerk\t", "-0.120"),
            ],
        )
    (tmp_path / "m" / "hr").mkdir(parents=True)
    (tmp_path / "m" / "hr" / "pay.yaml").write_text(SIGNED, encoding="utf-8")
    urls = {"hr": f"sqlite:///{legacy}", "staging": f"sqlite:///{tmp_path / 'st.db'}"}
    s = Settings(urls=urls, workdir=tmp_path)
    run = run_migration(s, tmp_path / "m", "full")
    (e,) = reconcile_run(s, load_project(tmp_path / "m"), run.run_id).entities
    salary = e.measures[0]
    assert salary.unreadable == 1 and salary.unreadable_rows == (("2", "O1.00"),)
    assert salary.source == Decimal("100.005") and salary.rejected == Decimal("0.125")
    assert salary.staged == Decimal("99.88") and salary.difference == 0
    assert e.status == FAIL


def test_a_count_disagreement_between_the_readings_is_unverified() -> None:
    from reconcile.proving.exact import Exact
    from reconcile.proving.residue import ExactRow, Residue

    exact = Exact.__new__(Exact)
    exact.width, exact.flagged = 1, (3,)
    exact.residues = {0: Residue([ExactRow("1", (), Decimal("0.125"), "0.125")])}
    assert exact.unreadable_count(0) == 2
    exact.flagged = (0,)
    assert exact.unreadable_count(0) == 0
    exact.flagged = (1,)
    exact.residues = {0: Residue([ExactRow(k, (), Decimal("0.125"), "x") for k in "12"])}
    assert exact.unreadable_count(0) == 1


def test_rows_of_the_run_claimed_by_no_entity_fail(tmp_path: Path) -> None:
    """Found in review: a row of the run under an entity name the run does not have
    ('Pay' for 'pay') was reconciled by nobody, and the verdict was PASS."""
    mappings = project(tmp_path, {"pay": [row(1, "1.00")]})
    s = settings_in(tmp_path)
    run = run_migration(s, mappings, "full")
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        conn.execute(
            "INSERT INTO WORKER_ANNUAL_PAY (FISCAL_YEAR, RECORD_KEY, FULL_NAME, LAST_NAME, "
            "JOB_TITLE, DEPARTMENT_CODE, ANNUAL_SALARY, MIG_RUN_ID, MIG_BATCH_ID, MIG_ENTITY, "
            "MIG_SOURCE_SYSTEM, MIG_SOURCE_KEY, MIG_SOURCE_HASH) VALUES (2013, '1', 'X', 'X', "
            "'X', 'A01', 999999, ?, 1, 'Pay', 'city', '1', 'x')",
            (run.run_id,),
        )
    (e,) = reconcile_run(s, load_project(mappings), run.run_id).entities
    assert e.status == FAIL
    assert e.failures[0] == (
        "1 row(s) in WORKER_ANNUAL_PAY under 'Pay': staged by the run, claimed by none of its "
        "entities"
    )


def test_a_mapping_changed_since_the_run_fails_and_a_missing_one_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review: removing a failing measure from the mapping after the run turned
    FAIL into PASS; deleting a failing entity's mapping did too."""
    mappings = project(tmp_path, {"fy12": [row(1, "1.00")], "fy13": [row(1, "2.00")]})
    s = settings_in(tmp_path)
    run = run_migration(s, mappings, "full")
    path = mappings / "hr" / "fy12.yaml"
    path.write_text(path.read_text().replace("compare: [ANNUAL_SALARY, GROSS_PAY]", "compare: []"))
    report = reconcile_run(s, load_project(mappings), run.run_id)
    fy12, fy13 = report.entities
    assert fy12.status == FAIL and "changed since the run" in fy12.failures[0]
    assert fy13.status == PASS
    (mappings / "hr" / "fy13.yaml").unlink()
    with pytest.raises(ConfigError, match="which the mappings folder no longer has"):
        reconcile_run(s, load_project(mappings), run.run_id)
    assert main(["--workdir", str(tmp_path), "--mappings", str(mappings), "reconcile"]) == 2


def test_reconciling_a_staging_made_before_mig_entity_is_refused(tmp_path: Path) -> None:
    """Found in review: SQLite read the unknown "MIG_ENTITY" as a string and the report said
    '0 staged', every row missing."""
    mappings = project(tmp_path, {"pay": [row(1, "1.00")]})
    s = settings_in(tmp_path)
    run = run_migration(s, mappings, "full")
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        conn.execute("ALTER TABLE WORKER_ANNUAL_PAY DROP COLUMN MIG_ENTITY")
    from migrate.errors import SchemaMismatch

    with pytest.raises(SchemaMismatch, match="has no column MIG_ENTITY"):
        reconcile_run(s, load_project(mappings), run.run_id)


def test_the_workbook_shows_what_the_run_claims_wrongly(tmp_path: Path) -> None:
    """A failure beside the checks (rows no entity claims) has its own Summary line, so the
    verdict the formulas compute is FAIL too (recalculated in LibreOffice in review)."""
    from openpyxl import load_workbook

    from reconcile.reports.workbook import write_workbook

    mappings = project(tmp_path, {"pay": [row(1, "1.00")]})
    s = settings_in(tmp_path)
    run = run_migration(s, mappings, "full")
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        conn.execute(
            "UPDATE WORKER_ANNUAL_PAY SET MIG_ENTITY = 'Pay' WHERE MIG_RUN_ID = ?", (run.run_id,)
        )
    report = reconcile_run(s, load_project(mappings), run.run_id)
    write_workbook(report, tmp_path / "r.xlsx")
    summary = load_workbook(tmp_path / "r.xlsx")["Summary"]
    lines = [[c.value for c in r] for r in summary.iter_rows()]
    (claims,) = [r for r in lines if r[1] == "Run claims failing"]
    assert claims[6] == "=1" and claims[9] == "FAIL" and "claimed by none" in claims[10]
