"""A table the shipped staging lacks, declared as YAML and migrated into without Python.

The example project of ``docs/examples/targets/`` (a department master and an assignment
history, with their target definitions in ``targets/`` beside ``mappings/``) runs through
the command line as a user runs it: ``mappings check``, ``run``, an interrupted run and its
``resume``, ``delta``, ``rehearsal``, ``lineage trace``, ``reconcile`` (PASS) and
``rollback``. Planted problems must be rejected with their row, column and value (a
too-long name, a boolean that is no declared spelling, a status outside ``allowed``, a text
date in the wrong format, a decimal with more decimals than its scale) or fail
reconciliation (a staged row changed afterwards). PostgreSQL and MariaDB staging:
``test_user_targets_servers.py``.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from cli.main import main
from migrate.staging.catalog import configure_targets, forget_targets

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "targets"
DEPARTMENTS = "DEPARTMENTS"
HISTORY = "ASSIGNMENT_HISTORY"


def make_project(folder: Path) -> Path:
    """The example copied to ``folder`` with its legacy HR database built; the workdir."""
    shutil.copytree(EXAMPLE, folder, dirs_exist_ok=True)
    with sqlite3.connect(folder / "legacy_hr.db") as conn:
        conn.executescript((EXAMPLE / "legacy_hr.sql").read_text(encoding="utf-8"))
    return folder


def legacy(folder: Path, sql: str) -> None:
    with sqlite3.connect(folder / "legacy_hr.db") as conn:
        conn.execute(sql)


class Cli:
    """``migrate --workdir W --mappings W/mappings ...`` in this process."""

    def __init__(self, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.folder = folder
        self.capsys = capsys
        self.out = ""
        self.err = ""

    def __call__(self, *argv: str) -> int:
        """One command, as from a fresh process: nothing declared by an earlier one."""
        forget_targets()
        configure_targets(None)
        self.capsys.readouterr()
        code = main(
            ["--workdir", str(self.folder), "--mappings", str(self.folder / "mappings"), *argv]
        )
        self.out, self.err = self.capsys.readouterr()
        return code

    def run_id(self) -> str:
        return self.out.split("run ", 1)[1].split()[0]


def staged(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def rejects(url: str, run_id: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(entity, source key) -> (reason, column, offending value) of one run's rejects."""
    rows = staged(
        url,
        'SELECT "ENTITY", "SOURCE_KEY", "REASON_CODE", "COLUMN_NAME", "OFFENDING_VALUE" '
        f'FROM "MIG_REJECTS" WHERE "RUN_ID" = \'{run_id}\'',
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


@pytest.fixture(autouse=True)
def _shipped_tables_afterwards() -> Iterator[None]:
    """The next test module sees the shipped tables alone, as a fresh process does."""
    yield
    configure_targets(None)
    forget_targets()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "hr")


@pytest.fixture
def cli(project: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(project, capsys)


def sqlite_url(project: Path) -> str:
    return f"sqlite:///{project / 'staging.db'}"


def test_mappings_check_sees_the_declared_tables(cli: Cli) -> None:
    assert cli("mappings", "check", "--offline") == 0, cli.err + cli.out
    assert cli("mappings", "check") == 0, cli.err + cli.out


def test_a_bad_definition_is_one_line_at_its_file_and_line(cli: Cli, project: Path) -> None:
    path = project / "targets" / "departments.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("length: 60", "lenght: 60"), encoding="utf-8"
    )
    line = (
        "targets/departments.yaml:6 columns.NAME.lenght: unknown key 'lenght' "
        "(did you mean 'length'?)"
    )
    for command in (["mappings", "check", "--offline"], ["run"], ["run", "--dry-run"]):
        assert cli(*command) in (1, 2), command
        said = (cli.err + cli.out).strip().splitlines()
        assert "Traceback" not in cli.err
        assert said[0] == line, said
    assert cli("doctor") != 0
    assert line in cli.out + cli.err, cli.out + cli.err


def run_reconcile_pass(cli: Cli, url: str, *extra: str) -> str:
    """run, then reconcile PASS; the run id."""
    assert cli("run", *extra) == 0, cli.err + cli.out
    run_id = cli.run_id()
    assert cli("reconcile", run_id, *extra) == 0, cli.out + cli.err
    assert "verdict: PASS" in cli.out + cli.err, cli.out + cli.err
    return run_id


def check_staged_values(url: str) -> None:
    """The declared types as staged: exact decimals, booleans, money, timestamps."""
    rows = staged(
        url,
        f'SELECT "PERSON_NUMBER", "ASSIGNMENT_SEQ", "PRIMARY_FLAG", "FTE", "SALARY", '
        f'"LAST_CHANGED", "GRADE_DATE" FROM "{HISTORY}" ORDER BY 1, 2',
    )
    assert len(rows) == 5
    e1002 = next(r for r in rows if r[0] == "E1002")
    assert e1002[2] in (True, 1) and e1002[3] == Decimal("0.75")
    assert Decimal(str(e1002[4])) in (Decimal("61250.25"), Decimal("6125025"))
    assert str(e1002[5]).startswith("2012-03-01 09:00:00")
    assert e1002[6] == "2012/03/01"
    e1003 = next(r for r in rows if r[0] == "E1003")
    assert e1003[2] in (False, 0)


def test_run_stages_exact_values_reconciles_pass_and_traces(cli: Cli, project: Path) -> None:
    url = sqlite_url(project)
    run_reconcile_pass(cli, url)
    engine = create_engine(url)
    try:  # read through the declared types, as reconciliation and lineage do
        from migrate.staging.catalog import staging_table

        table = staging_table(HISTORY)
        assert table is not None
        with engine.connect() as conn:
            found = conn.execute(table.select())
            rows = {r.PERSON_NUMBER + str(r.ASSIGNMENT_SEQ): r for r in found}
    finally:
        engine.dispose()
    assert rows["E10021"].FTE == Decimal("0.7500") and rows["E10021"].PRIMARY_FLAG is True
    assert {r.RECORD_ORIGIN for r in rows.values()} == {"LEGACY"}  # the definition's default
    blank = f'SELECT "STATUS" FROM "{DEPARTMENTS}" WHERE "DEPARTMENT_CODE" = \'PW\''
    assert staged(url, blank) == [("A",)]  # a blank legacy status: the definition's default
    assert rows["E10031"].PRIMARY_FLAG is False
    assert rows["E10011"].SALARY == Decimal("52000.00")
    assert cli("lineage", "trace", HISTORY, "E1002|1") == 0, cli.err + cli.out
    assert "asg_hist" in cli.out and "e1002" in cli.out, cli.out


def test_an_interrupted_run_resumes_and_reconciles(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import migrate.runs.runner as runner

    real = runner.run_planned

    def stopped(ctx: Any, name: str, *args: Any) -> Any:
        if name == "assignment_history":  # Ctrl-C as the second entity starts
            raise KeyboardInterrupt
        return real(ctx, name, *args)

    monkeypatch.setattr(runner, "run_planned", stopped)
    assert cli("run") == 130
    run_id = cli.run_id()
    monkeypatch.setattr(runner, "run_planned", real)
    url = sqlite_url(project)
    assert staged(url, f'SELECT COUNT(*) FROM "{HISTORY}"') == [(0,)]
    assert cli("resume", run_id) == 0, cli.err + cli.out
    assert staged(url, f'SELECT COUNT(*) FROM "{HISTORY}"') == [(5,)]
    assert staged(url, f'SELECT COUNT(*) FROM "{DEPARTMENTS}"') == [(4,)]
    assert cli("reconcile", run_id) == 0, cli.out + cli.err


def test_delta_then_rollback_restores_the_replaced_rows(cli: Cli, project: Path) -> None:
    url = sqlite_url(project)
    full = run_reconcile_pass(cli, url)
    legacy(
        project,
        "UPDATE asg_hist SET title = 'Senior Analyst', changed_at = '2024-05-01 08:00:00' "
        "WHERE emp_id = 'e1004'",
    )
    assert cli("run", "--mode", "delta", "--entity", "assignment_history") == 0, cli.err
    delta = cli.run_id()
    assert delta != full
    title = f'SELECT "JOB_TITLE" FROM "{HISTORY}" WHERE "PERSON_NUMBER" = \'E1004\''
    assert staged(url, title) == [("Senior Analyst",)]
    assert cli("rollback", delta, "--yes") == 0, cli.err + cli.out
    assert staged(url, title) == [("Analyst",)]
    assert cli("rollback", full, "--yes") == 0, cli.err + cli.out
    for table in (DEPARTMENTS, HISTORY):
        assert staged(url, f'SELECT COUNT(*) FROM "{table}"') == [(0,)]


def test_rehearsal_stages_apart_and_reconciles(cli: Cli, project: Path) -> None:
    assert cli("run", "--mode", "rehearsal") == 0, cli.err + cli.out
    run_id = cli.run_id()
    rehearsal = f"sqlite:///{project / 'staging_rehearsal.db'}"
    assert staged(rehearsal, f'SELECT COUNT(*) FROM "{HISTORY}"') == [(5,)]
    assert cli("reconcile", run_id) == 0, cli.out + cli.err


PLANTED: list[tuple[str, tuple[str, str], tuple[str, str, str]]] = [
    (  # one problem per legacy row: (legacy change, (entity, key), (reason, column, value))
        "UPDATE dept SET dept_name = 'A department whose name runs well past the sixty "
        "characters its definition allows' WHERE dept_cd = 'it'",
        ("departments", "it"),
        (
            "too_long",
            "NAME",
            "A department whose name runs well past the sixty characters its definition allows",
        ),
    ),
    (
        "UPDATE dept SET status = 'X' WHERE dept_cd = 'hr'",
        ("departments", "hr"),
        ("invalid_value", "STATUS", "X"),
    ),
    (
        "UPDATE asg_hist SET primary_yn = 'maybe' WHERE emp_id = 'e1002'",
        ("assignment_history", "e1002|1"),
        ("invalid_boolean", "PRIMARY_FLAG", "MAYBE"),
    ),
    (
        "UPDATE asg_hist SET grade_dt = '2015-01-05' WHERE emp_id = 'e1001' AND seq = 1",
        ("assignment_history", "e1001|1"),
        ("invalid_format", "GRADE_DATE", "2015-01-05"),
    ),
    (
        "UPDATE asg_hist SET fte = 0.33333 WHERE emp_id = 'e1004'",
        ("assignment_history", "e1004|1"),
        ("inexact_float", "FTE", "0.33333"),
    ),
    (
        "UPDATE asg_hist SET fte = 12.5 WHERE emp_id = 'e1001' AND seq = 2",
        ("assignment_history", "e1001|2"),
        ("invalid_decimal", "FTE", "12.5"),
    ),
    (
        "UPDATE asg_hist SET status = 'retired' WHERE emp_id = 'e1003'",
        ("assignment_history", "e1003|1"),
        ("invalid_value", "ASSIGNMENT_STATUS", "RETIRED"),
    ),
]


def test_values_the_definitions_forbid_are_rejected_with_row_column_and_value(
    cli: Cli, project: Path
) -> None:
    for sql, _, _ in PLANTED:
        legacy(project, sql)
    # every row of assignment_history is planted bad: a run that staged none of an
    # entity's rows says so and exits 1
    assert cli("run") == 1, cli.err + cli.out
    assert "warning: assignment_history staged 0 of 5 rows: every row rejected" in cli.err
    got = rejects(sqlite_url(project), cli.run_id())
    assert got == {where: what for _, where, what in PLANTED}
    assert cli("reconcile", cli.run_id()) != 0  # rejects to accept: never a clean PASS


CHANGED: list[tuple[str, str, str]] = [  # (table, change, the line reconcile must print)
    (HISTORY, '"PRIMARY_FLAG" = 0 WHERE "PERSON_NUMBER" = \'E1002\'', "e1002|1: PRIMARY_FLAG"),
    (HISTORY, '"FTE" = 5000 WHERE "PERSON_NUMBER" = \'E1004\'', "e1004|1: FTE"),
    (
        HISTORY,
        "\"LAST_CHANGED\" = '2018-06-30 17:00:01' WHERE \"PERSON_NUMBER\" = 'E1001' "
        'AND "ASSIGNMENT_SEQ" = 1',
        "e1001|1: LAST_CHANGED",
    ),
    (DEPARTMENTS, '"COST_RATE" = 1250 WHERE "DEPARTMENT_CODE" = \'HR\'', "hr: COST_RATE"),
    (DEPARTMENTS, "\"NAME\" = 'Financ' WHERE \"DEPARTMENT_CODE\" = 'FIN'", "fin: NAME"),
]


def change_staged(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table, change, _ in CHANGED:
            conn.execute(text(f'UPDATE "{table}" SET {change}'))
    engine.dispose()


def test_a_changed_staged_value_of_each_declared_type_fails_reconciliation(
    cli: Cli, project: Path
) -> None:
    url = sqlite_url(project)
    assert cli("run") == 0, cli.err
    run_id = cli.run_id()
    change_staged(url)
    assert cli("reconcile", run_id) == 1, cli.out + cli.err
    said = cli.out + cli.err
    assert "verdict: FAIL" in said
    for _, _, line in CHANGED:
        assert f"changed row {line}" in said, said


def test_a_shipped_table_declared_again_is_refused_at_its_line(cli: Cli, project: Path) -> None:
    (project / "targets" / "suppliers.yaml").write_text(
        "table: SUPPLIERS\nkey: [ID]\ncolumns:\n  ID: {type: integer, required: true}\n",
        encoding="utf-8",
    )
    assert cli("mappings", "check", "--offline") in (1, 2)
    assert (cli.err + cli.out).splitlines()[0] == (
        "targets/suppliers.yaml:1 table: 'SUPPLIERS' is a shipped staging table already"
    )


def test_mappings_check_says_what_a_definition_refuses_at_its_line(cli: Cli, project: Path) -> None:
    dept = project / "mappings" / "hr" / "departments.yaml"
    dept.write_text(
        dept.read_text(encoding="utf-8").replace(
            "    from: status\n    steps: [strip, upper]\n", "    const: Z\n"
        ),
        encoding="utf-8",
    )
    history = project / "mappings" / "hr" / "assignment_history.yaml"
    history.write_text(
        history.read_text(encoding="utf-8")
        .replace("    from: primary_yn\n", "    from: primary_yn\n    default: perhaps\n")
        .replace("    from: fte\n", "    from: fte\n    min: 0\n    max: 1\n")
        .replace("    from: start_dt\n", "    from: start_dt\n    required: false\n"),
        encoding="utf-8",
    )
    assert cli("mappings", "check", "--offline") == 1
    said = cli.out.splitlines()
    assert said[-1].endswith("problem(s)"), said
    wanted = [  # a format the tool cannot check stops the definition's loading: test_fixes_newuser
        "mappings/hr/departments.yaml:22 fields.STATUS.const: DEPARTMENTS.STATUS: 'Z' is not "
        "one of the allowed values",
        "fields.PRIMARY_FLAG.default: ASSIGNMENT_HISTORY.PRIMARY_FLAG: 'perhaps' is no "
        "spelling of a boolean",
        "fields.EFFECTIVE_START.required: ASSIGNMENT_HISTORY.EFFECTIVE_START: the definition "
        "requires a value",
    ]
    for line in wanted:
        assert any(line in s for s in said), (line, said)
    assert not any("FTE" in s for s in said), said  # min and max on a decimal are fine


def test_a_table_the_dba_changed_is_reported_with_its_ddl_and_never_altered(
    cli: Cli, project: Path
) -> None:
    url = sqlite_url(project)
    assert cli("run") == 0, cli.err
    first = cli.run_id()
    engine = create_engine(url)
    with engine.begin() as conn:  # the DBA's changes, after the first run
        conn.execute(text('ALTER TABLE "DEPARTMENTS" ADD COLUMN "COST_CENTER" VARCHAR(10)'))
        conn.execute(text('ALTER TABLE "MIG_REPLACED_DEPARTMENTS" ADD COLUMN "COST_CENTER" TEXT'))
    engine.dispose()
    assert cli("mappings", "check") == 1
    assert (
        "targets/departments.yaml:4 columns: the live table has column COST_CENTER, which the "
        'definition does not declare\n    ALTER TABLE "DEPARTMENTS" DROP COLUMN "COST_CENTER";'
    ) in cli.out, cli.out
    assert cli("mappings", "check", "--offline") == 0, cli.out  # the files alone are fine
    assert cli("rollback", first, "--yes") == 0
    assert cli("run") == 2  # refused before its first row, nothing altered
    assert "COST_CENTER" in cli.err and "nothing altered" in cli.err, cli.err
    assert "Traceback" not in cli.err
    columns = [r[1] for r in staged(url, "PRAGMA table_info('DEPARTMENTS')")]
    assert "COST_CENTER" in columns
    assert staged(url, f'SELECT COUNT(*) FROM "{DEPARTMENTS}"') == [(0,)]


def test_a_targets_folder_named_in_migrate_toml(cli: Cli, project: Path) -> None:
    (project / "targets").rename(project / "erp_layouts")
    assert cli("mappings", "check", "--offline") == 1  # no declared tables found
    assert "staging has no table 'DEPARTMENTS'" in cli.out, cli.out
    (project / "migrate.toml").write_text('targets = "erp_layouts"\n', encoding="utf-8")
    assert cli("mappings", "check", "--offline") == 0, cli.err + cli.out
    (project / "migrate.toml").write_text('\ntargets = "erp_layout"\n', encoding="utf-8")
    assert cli("mappings", "check", "--offline") == 2
    assert cli.err.strip() == (
        f"error: {project / 'migrate.toml'}:2: targets: no such folder {project / 'erp_layout'}"
    ), cli.err


CHINOOK_MAPPING = """\
entity: employees
domain: hr
source: {system: hr, table: Employee, key: [EmployeeId]}
target: {table: EMPLOYEES, key: [PERSON_NUMBER]}
fields:
  PERSON_NUMBER: {from: EmployeeId}
  LAST_NAME: {from: LastName, steps: [strip]}
  FIRST_NAME: {from: FirstName, steps: [strip]}
  JOB_TITLE: {from: Title, steps: [collapse_spaces, blank_to_null]}
  MANAGER_NUMBER: {from: ReportsTo}
  HIRE_DATE: {from: HireDate, steps: [{date: "%Y-%m-%d %H:%M:%S"}]}
  EMAIL: {from: Email, steps: [strip, lower]}
"""


@pytest.mark.realdata
def test_a_table_a_dba_created_is_reflected_then_migrated_from_real_data(
    tmp_path: Path,
    realdata: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The user's story on Chinook's employees: the DBA made EMPLOYEES, reflect declares
    it, mappings check gives the lineage columns' DDL (nothing altered), and once the DBA
    ran it the run stages every employee and reconciles PASS."""
    monkeypatch.setenv("MIGRATE_HR_URL", f"sqlite:///{realdata / 'chinook/Chinook_Sqlite.sqlite'}")
    (tmp_path / "mappings" / "hr").mkdir(parents=True)
    (tmp_path / "mappings" / "hr" / "employees.yaml").write_text(CHINOOK_MAPPING)
    url = sqlite_url(tmp_path)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                'CREATE TABLE "EMPLOYEES" ("PERSON_NUMBER" VARCHAR(30) NOT NULL, '
                '"LAST_NAME" VARCHAR(20) NOT NULL, "FIRST_NAME" VARCHAR(20) NOT NULL, '
                '"JOB_TITLE" VARCHAR(30), "MANAGER_NUMBER" VARCHAR(30), "HIRE_DATE" DATE, '
                '"EMAIL" VARCHAR(60), CONSTRAINT "uq_employees_key" UNIQUE ("PERSON_NUMBER"))'
            )
        )
    cli = Cli(tmp_path, capsys)
    assert cli("targets", "reflect", "EMPLOYEES", "--out", f"{tmp_path / 'targets'}/") == 0
    assert cli("mappings", "check") == 1
    ddl = [line.strip() for line in cli.out.splitlines() if line.strip().startswith("ALTER")]
    assert len(ddl) == 6 and all("MIG_" in d for d in ddl), cli.out
    with engine.begin() as conn:  # the DBA runs what the check printed
        for statement in ddl:
            conn.execute(text(statement))
    engine.dispose()
    assert cli("mappings", "check") == 0, cli.out
    assert cli("run") == 0, cli.err
    assert cli("reconcile", cli.run_id()) == 0, cli.out + cli.err
    assert staged(url, 'SELECT COUNT(*) FROM "EMPLOYEES"') == [(8,)]
