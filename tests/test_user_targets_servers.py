"""The user-declared tables of ``docs/examples/targets/`` staged on PostgreSQL and MariaDB.

The same project as ``test_user_targets.py`` (legacy HR in SQLite), its staging on a server:
an interrupted run resumed, lineage, reconcile PASS, a delta rolled back (the replaced row
comes back), a rehearsal in its own schema or database, every planted problem rejected
with its reason and every changed staged value a FAIL. Exact decimals and booleans are read
back through the declared types.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from migrate.staging.catalog import staging_table
from tests.test_user_targets import (
    CHANGED,
    DEPARTMENTS,
    HISTORY,
    PLANTED,
    Cli,
    _shipped_tables_afterwards,  # noqa: F401 - autouse: the shipped tables alone afterwards
    legacy,
    make_project,
    rejects,
    staged,
)

pytestmark = pytest.mark.db

SERVERS = ["postgresql", "mariadb"]


@pytest.fixture(params=SERVERS)
def staging_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh staging database on the server (and MariaDB's ``_rehearsal`` twin)."""
    if request.param == "postgresql":
        yield request.getfixturevalue("staging_pg")
        return
    url: str = request.getfixturevalue("mysql_url")
    admin = create_engine(request.getfixturevalue("mysql_server"))
    twin = f"{make_url(url).database}_rehearsal"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{twin}`"))
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{twin}`"))
        admin.dispose()


@pytest.fixture
def cli(
    tmp_path: Path,
    staging_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.setenv("MIGRATE_STAGING_URL", staging_url)
    return Cli(make_project(tmp_path / "hr"), capsys)


def typed_rows(url: str) -> dict[str, Any]:
    """The assignment history read through the declared types, by person and sequence."""
    table = staging_table(HISTORY)
    assert table is not None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(table.select())
            return {f"{r.PERSON_NUMBER}|{r.ASSIGNMENT_SEQ}": r for r in found}
    finally:
        engine.dispose()


def test_resume_lineage_reconcile_delta_and_rollback(
    cli: Cli, staging_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import migrate.runs.runner as runner

    real = runner.run_planned

    def stopped(ctx: Any, name: str, *args: Any) -> Any:
        if name == "assignment_history":  # Ctrl-C as the second entity starts
            raise KeyboardInterrupt
        return real(ctx, name, *args)

    monkeypatch.setattr(runner, "run_planned", stopped)
    assert cli("run") == 130
    full = cli.run_id()
    monkeypatch.setattr(runner, "run_planned", real)
    assert cli("resume", full) == 0, cli.err + cli.out
    assert cli("reconcile", full) == 0, cli.out + cli.err
    rows = typed_rows(staging_url)
    assert rows["E1002|1"].FTE == Decimal("0.7500") and rows["E1002|1"].PRIMARY_FLAG is True
    assert rows["E1003|1"].PRIMARY_FLAG is False
    assert rows["E1001|1"].SALARY == Decimal("52000.00")
    assert cli("lineage", "trace", HISTORY, "E1002|1") == 0, cli.err + cli.out
    assert "asg_hist" in cli.out and "e1002" in cli.out, cli.out

    legacy(
        cli.folder,
        "UPDATE asg_hist SET title = 'Senior Analyst', fte = 0.8, "
        "changed_at = '2024-05-01 08:00:00' WHERE emp_id = 'e1004'",
    )
    assert cli("run", "--mode", "delta", "--entity", "assignment_history") == 0, cli.err
    delta = cli.run_id()
    assert typed_rows(staging_url)["E1004|1"].FTE == Decimal("0.8000")
    assert cli("rollback", delta, "--yes") == 0, cli.err + cli.out
    back = typed_rows(staging_url)["E1004|1"]
    assert (back.JOB_TITLE, back.FTE) == ("Analyst", Decimal("1.0000"))
    assert cli("rollback", full, "--yes") == 0, cli.err + cli.out
    for table in (DEPARTMENTS, HISTORY):
        assert staged(staging_url, f"SELECT COUNT(*) FROM {quoted(staging_url, table)}") == [(0,)]


def quoted(url: str, name: str) -> str:
    return f"`{name}`" if url.startswith("mysql") else f'"{name}"'


def test_rehearsal_on_the_server_reconciles(cli: Cli) -> None:
    assert cli("run", "--mode", "rehearsal") == 0, cli.err + cli.out
    assert cli("reconcile", cli.run_id()) == 0, cli.out + cli.err


def test_changes_fail_and_planted_problems_are_rejected(cli: Cli, staging_url: str) -> None:
    assert cli("run") == 0, cli.err + cli.out
    clean = cli.run_id()
    change_staged_on(staging_url)
    assert cli("reconcile", clean) == 1, cli.out + cli.err
    said = cli.out + cli.err
    for _, _, line in CHANGED_ON_SERVER:
        assert f"changed row {line}" in said, said
    assert cli("rollback", clean, "--yes") == 0, cli.err + cli.out
    for sql, _, _ in PLANTED:
        legacy(cli.folder, sql)
    assert cli("run") == 1, cli.err + cli.out  # every history row planted bad: staged none
    assert "warning: assignment_history staged 0 of 5 rows" in cli.err
    assert rejects_on(staging_url, cli.run_id()) == {where: what for _, where, what in PLANTED}


# the changes of test_user_targets.CHANGED, as a server holds the values (not SQLite's units)
CHANGED_ON_SERVER: list[tuple[str, str, str]] = [
    (
        HISTORY,
        '"PRIMARY_FLAG" = {false} WHERE "PERSON_NUMBER" = \'E1002\'',
        "e1002|1: PRIMARY_FLAG",
    ),
    (HISTORY, '"FTE" = 0.5 WHERE "PERSON_NUMBER" = \'E1004\'', "e1004|1: FTE"),
    *[c for c in CHANGED if c[2].endswith(("LAST_CHANGED", "NAME"))],
    (DEPARTMENTS, '"COST_RATE" = 0.125 WHERE "DEPARTMENT_CODE" = \'HR\'', "hr: COST_RATE"),
]


def rejects_on(url: str, run_id: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    if not url.startswith("mysql"):
        return rejects(url, run_id)
    rows = staged(
        url,
        "SELECT ENTITY, SOURCE_KEY, REASON_CODE, COLUMN_NAME, OFFENDING_VALUE FROM MIG_REJECTS "
        f"WHERE RUN_ID = '{run_id}'",
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def change_staged_on(url: str) -> None:
    mysql = url.startswith("mysql")
    engine = create_engine(url)
    with engine.begin() as conn:
        for table, change, _ in CHANGED_ON_SERVER:
            sql = f'UPDATE "{table}" SET {change.format(false="0" if mysql else "false")}'
            conn.execute(text(sql.replace('"', "`") if mysql else sql))
    engine.dispose()
