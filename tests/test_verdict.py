"""A verdict that cannot lie (issue 19): each way to reach PASS, planted, must not reach it.

Small mapping projects written here (CSV extracts into ``WORKER_ANNUAL_PAY``, SQLite
staging) run through the real pipeline and the real reconciliation:

- an amount finer than a cent is summed exactly, not as 0, and its rejected row's amount
  is in the Rejected column (before: PASS with the source total short by that amount);
- an amount no one can read makes its measure UNVERIFIED, a failing status;
- everything rejected (a second run into the same staging) is EXCEPTIONS, never PASS;
- two entities that share a table and a source system are each reconciled on their own
  rows (before: each FAILed with the other's rows "unaccounted");
- ``migrate run --entity X`` then ``migrate reconcile`` reconciles X only (before: every
  other entity FAILed), and ``reconcile --entity`` narrows it.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from migrate.config import Settings
from migrate.errors import ConfigError
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS, FAIL, PASS, Reconciliation
from reconcile.run import reconcile_run

HEADER = "Name,Agency,AgencyID,JobTitle,Salary,Gross"


def mapping(entity: str, year: int, csv_name: str, system: str = "city") -> str:
    return f"""entity: {entity}
domain: hr
source:
  system: {system}
  file:
    path: {csv_name}
    encoding: utf-8
    delimiter: ","
  key: [_line]
target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR:
    const: {year}
  RECORD_KEY:
    from: _line
  FULL_NAME:
    from: Name
  LAST_NAME:
    from: Name
    steps: [upper]
  JOB_TITLE:
    from: JobTitle
  DEPARTMENT_CODE:
    from: AgencyID
    steps: [strip, upper]
  DEPARTMENT_NAME:
    from: Agency
  ANNUAL_SALARY:
    from: Salary
    steps: [{{money: fixed}}]
  GROSS_PAY:
    from: Gross
    steps: [{{money: text}}]
reconcile:
  measures:
    - name: salary
      source_column: Salary
      source_encoding: decimal
      target_column: ANNUAL_SALARY
    - name: gross
      source_column: Gross
      source_encoding: money_text
      target_column: GROSS_PAY
  grains:
    - name: agency
      source: [AgencyID]
      target: [DEPARTMENT_CODE]
      measures: [salary, gross]
  compare: [ANNUAL_SALARY, GROSS_PAY]
"""


def row(n: int, salary: str, gross: str = "$10.00", agency: str = "A01") -> str:
    return f"Name {n},Agency {agency},{agency},Clerk,{salary},{gross}"


def project(tmp: Path, files: dict[str, list[str]], years: dict[str, int] | None = None) -> Path:
    """A mapping project with one entity per CSV (``files``: entity -> data rows)."""
    (tmp / "mappings" / "hr").mkdir(parents=True, exist_ok=True)
    for i, (entity, rows) in enumerate(files.items()):
        (tmp / f"{entity}.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        year = (years or {}).get(entity, 2012 + i)
        text = mapping(entity, year, str(tmp / f"{entity}.csv"))
        (tmp / "mappings" / "hr" / f"{entity}.yaml").write_text(text, encoding="utf-8")
    return tmp / "mappings"


def settings_in(tmp: Path) -> Settings:
    return Settings(urls={"staging": f"sqlite:///{tmp / 'staging.db'}"}, workdir=tmp)


def migrate_and_reconcile(
    tmp: Path, mappings: Path, entities: list[str] | None = None
) -> Reconciliation:
    s = settings_in(tmp)
    run = run_migration(s, mappings, "full", entities=entities)
    return reconcile_run(s, load_project(mappings), run.run_id)


def test_four_decimal_amount_is_summed_exactly_and_its_reject_carries_it(tmp_path: Path) -> None:
    """Seen failing before: PASS, Source 100.00 (the 63,791,994.8380 counted as 0)."""
    mappings = project(tmp_path, {"pay": [row(1, "100.00"), row(2, "63791994.8380")]})
    report = migrate_and_reconcile(tmp_path, mappings)
    (e,) = report.entities
    salary = e.measures[0]
    assert salary.source == Decimal("63792094.8380")
    assert salary.staged == Decimal("100.00")
    assert salary.rejected == Decimal("63791994.8380")
    assert salary.difference == 0 and salary.status == PASS and salary.unreadable == 0
    assert "finer than a cent summed exactly" in salary.source_rule
    (group,) = e.rejects
    assert group.reason == "invalid_amount" and dict(group.amounts)["salary"] == salary.rejected
    (grain,) = [g for g in e.grains if g.measure == "salary"]
    assert grain.source == salary.source and grain.rejected == salary.rejected
    assert e.status == EXCEPTIONS and report.verdict == EXCEPTIONS


def test_four_decimal_amount_staged_rounded_is_a_difference(tmp_path: Path) -> None:
    """A staged amount that is not the legacy's exact amount fails: the staging holds a
    rounded 0.13 where the legacy says 0.125 (planted after the run)."""
    mappings = project(tmp_path, {"pay": [row(1, "100.00"), row(2, "0.125")]})
    s = settings_in(tmp_path)
    run = run_migration(s, mappings, "full")
    with sqlite3.connect(tmp_path / "staging.db") as conn:  # stage it as a rounding would
        conn.execute(
            "INSERT INTO WORKER_ANNUAL_PAY (FISCAL_YEAR, RECORD_KEY, FULL_NAME, LAST_NAME, "
            "JOB_TITLE, DEPARTMENT_CODE, ANNUAL_SALARY, GROSS_PAY, MIG_RUN_ID, MIG_BATCH_ID, "
            "MIG_ENTITY, MIG_SOURCE_SYSTEM, MIG_SOURCE_KEY, MIG_SOURCE_HASH) VALUES "
            "(2012, '2', 'Name 2', 'NAME 2', 'Clerk', 'A01', 13, 1000, ?, 1, 'pay', 'city', "
            "'2', 'x')",
            (run.run_id,),
        )
        conn.execute("DELETE FROM MIG_REJECTS")
    report = reconcile_run(s, load_project(mappings), run.run_id)
    (e,) = report.entities
    assert e.measures[0].difference == Decimal("-0.005")
    assert e.status == FAIL and report.verdict == FAIL


def test_unreadable_amount_is_unverified_never_zero(tmp_path: Path) -> None:
    """Seen failing before: PASS, the 'O12.50' counted as 0 on every side."""
    mappings = project(tmp_path, {"pay": [row(1, "100.00"), row(2, "O12.50")]})
    report = migrate_and_reconcile(tmp_path, mappings)
    (e,) = report.entities
    salary = e.measures[0]
    assert salary.status == "UNVERIFIED" and salary.unreadable == 1
    assert salary.unreadable_rows == (("2", "O12.50"),)
    assert e.status == FAIL and report.verdict == FAIL
    assert any("cannot read" in f for f in e.failures)


def test_a_float_amount_is_unverified(tmp_path: Path) -> None:
    """A legacy amount stored as a REAL (a binary fraction) is not read as cents, nor as 0."""
    from reconcile.proving.residue import read_residue

    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(legacy) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, AMT)")
        conn.executemany("INSERT INTO PAY VALUES (?, ?)", [(1, "1.00"), (2, 0.1), (3, "2.5000")])
    from sqlalchemy import create_engine

    from migrate.spec.model import EntitySpec

    spec = EntitySpec.model_validate(
        {
            "entity": "pay",
            "domain": "hr",
            "source": {"system": "city", "table": "PAY", "key": ["ID"]},
            "target": {"table": "WORKER_ANNUAL_PAY", "key": ["FISCAL_YEAR", "RECORD_KEY"]},
            "fields": {"RECORD_KEY": {"from": "ID"}},
            "reconcile": {
                "measures": [
                    {
                        "name": "amt",
                        "source_column": "AMT",
                        "source_encoding": "decimal",
                        "target_column": "ANNUAL_SALARY",
                    }
                ]
            },
        }
    )
    engine = create_engine(f"sqlite:///{legacy}")
    from reconcile.reading.sqltext import install_functions

    install_functions(engine)
    residue = read_residue(spec, 0, engine, tmp_path)
    assert residue is not None
    assert [(r.key, r.amount) for r in residue.rows] == [("2", None)]
    engine.dispose()


def test_everything_rejected_is_exceptions_never_pass(tmp_path: Path) -> None:
    """Seen failing before: the second run staged nothing (all duplicate_key), PASS."""
    mappings = project(tmp_path, {"pay": [row(1, "1.00"), row(2, "2.00")]})
    s = settings_in(tmp_path)
    first = run_migration(s, mappings, "full")
    assert reconcile_run(s, load_project(mappings), first.run_id).verdict == PASS
    second = run_migration(s, mappings, "full")
    report = reconcile_run(s, load_project(mappings), second.run_id)
    (e,) = report.entities
    assert e.staged_rows == 0 and e.rejected_rows == 2 and e.count_difference == 0
    assert e.status == EXCEPTIONS and report.verdict == EXCEPTIONS
    assert e.exceptions[0].startswith("nothing staged")
    code = main(["--workdir", str(tmp_path), "--mappings", str(mappings), "reconcile"])
    assert code == 3


def test_entities_sharing_table_and_system_are_told_apart(tmp_path: Path) -> None:
    """Seen failing before: each year FAILed, '-N rows unaccounted' (the other years' rows)."""
    files = {f"fy{y}": [row(n, f"{n}.00") for n in range(1, 4 + y % 3)] for y in (12, 13, 14)}
    report = migrate_and_reconcile(tmp_path, project(tmp_path, files))
    assert [(e.entity, e.status, e.staged_rows) for e in report.entities] == [
        ("fy12", PASS, 3),
        ("fy13", PASS, 4),
        ("fy14", PASS, 5),
    ]
    assert report.verdict == PASS


def test_run_of_one_entity_reconciles_that_entity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seen failing before: the entities the run did not touch FAILed, '0 staged'."""
    files = {"fy12": [row(1, "1.00")], "fy13": [row(1, "2.00"), row(2, "3.00")]}
    mappings = project(tmp_path, files)
    report = migrate_and_reconcile(tmp_path, mappings, entities=["fy13"])
    assert [(e.entity, e.status) for e in report.entities] == [("fy13", PASS)]
    args = ["--workdir", str(tmp_path), "--mappings", str(mappings), "reconcile"]
    assert main([*args, "--entity", "fy13"]) == 0
    assert main([*args, "--entity", "fy12"]) == 2
    assert "the run did not stage it" in capsys.readouterr().err
    assert main([*args, "--entity", "fy31"]) == 2
    assert "did you mean 'fy13'" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        s = settings_in(tmp_path)
        reconcile_run(s, load_project(mappings), report.run.run_id, only=["fy12"])


def test_a_staging_made_before_mig_entity_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows without their entity could not be reconciled apart: stop, with the DDL."""
    mappings = project(tmp_path, {"pay": [row(1, "1.00")]})
    main(["--workdir", str(tmp_path), "--mappings", str(mappings), "run"])
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        conn.execute("ALTER TABLE WORKER_ANNUAL_PAY DROP COLUMN MIG_ENTITY")
    capsys.readouterr()
    assert main(["--workdir", str(tmp_path), "--mappings", str(mappings), "run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: staging table WORKER_ANNUAL_PAY has no column MIG_ENTITY (made by an earlier "
        "version): ALTER TABLE WORKER_ANNUAL_PAY ADD COLUMN MIG_ENTITY VARCHAR(120) and set it "
        "to the entity that staged each row, or stage into a new database"
    )


def test_a_reconciliation_of_no_entity_proves_nothing() -> None:
    from reconcile.report import RunFacts

    facts = RunFacts("r", "full", "t", None, None, {}, {}, "s", "t")
    assert Reconciliation(facts, ()).verdict == FAIL


# -- the law: PASS only when nothing is missing, changed, rejected or unverified ---------

AMOUNTS = st.sampled_from(["1.00", "12.34", "0.05", "7", "63791994.8380", "0.125", "O1.00", ""])


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    salaries=st.lists(AMOUNTS, min_size=1, max_size=6),
    duplicate=st.booleans(),
    change=st.sampled_from(["none", "amount", "delete", "insert"]),
)
def test_pass_only_when_nothing_is_missing_changed_rejected_or_unverified(
    tmp_path_factory: pytest.TempPathFactory, salaries: list[str], duplicate: bool, change: str
) -> None:
    tmp = tmp_path_factory.mktemp("law")
    rows = [row(n, s) for n, s in enumerate(salaries, start=1)]
    mappings = project(tmp, {"pay": rows})
    s = settings_in(tmp)
    run = run_migration(s, mappings, "full")
    if duplicate:  # a second run of the same rows: everything rejected as duplicate_key
        run = run_migration(s, mappings, "full")
    with sqlite3.connect(tmp / "staging.db") as conn:
        staged = conn.execute(
            "SELECT COUNT(*) FROM WORKER_ANNUAL_PAY WHERE MIG_RUN_ID = ?", (run.run_id,)
        ).fetchone()[0]
        rejected = conn.execute(
            "SELECT COUNT(*) FROM MIG_REJECTS WHERE RUN_ID = ?", (run.run_id,)
        ).fetchone()[0]
        planted = _plant(conn, change, run.run_id, staged)
    report = reconcile_run(s, load_project(mappings), run.run_id)
    unreadable = any(v == "O1.00" for v in salaries)
    clean = not planted and not rejected and not unreadable
    assert (report.verdict == PASS) == clean, (report.verdict, salaries, duplicate, change)
    if planted or unreadable:
        assert report.verdict == FAIL
    elif rejected:
        assert report.verdict == EXCEPTIONS


def _plant(conn: sqlite3.Connection, change: str, run_id: str, staged: int) -> bool:
    """Change what the run staged; True when something was changed."""
    if change == "amount" and staged:
        conn.execute(
            "UPDATE WORKER_ANNUAL_PAY SET ANNUAL_SALARY = ANNUAL_SALARY + 1 "
            "WHERE MIG_RUN_ID = ? AND RECORD_KEY = (SELECT MIN(RECORD_KEY) FROM "
            "WORKER_ANNUAL_PAY WHERE MIG_RUN_ID = ?)",
            (run_id, run_id),
        )
        return True
    if change == "delete" and staged:
        conn.execute(
            "DELETE FROM WORKER_ANNUAL_PAY WHERE MIG_RUN_ID = ? AND RECORD_KEY = (SELECT "
            "MIN(RECORD_KEY) FROM WORKER_ANNUAL_PAY WHERE MIG_RUN_ID = ?)",
            (run_id, run_id),
        )
        return True
    if change == "insert":
        conn.execute(
            "INSERT INTO WORKER_ANNUAL_PAY (FISCAL_YEAR, RECORD_KEY, FULL_NAME, LAST_NAME, "
            "JOB_TITLE, DEPARTMENT_CODE, ANNUAL_SALARY, GROSS_PAY, MIG_RUN_ID, MIG_BATCH_ID, "
            "MIG_ENTITY, MIG_SOURCE_SYSTEM, MIG_SOURCE_KEY, MIG_SOURCE_HASH) VALUES "
            "(2099, '999', 'X', 'X', 'Clerk', 'A01', 100, 1000, ?, 1, 'pay', 'city', "
            "'999', 'x')",
            (run_id,),
        )
        return True
    return False
