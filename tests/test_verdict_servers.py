"""Amounts finer than a cent and unreadable amounts in PostgreSQL and MariaDB legacy tables
(issue 19, item 1): a ``NUMERIC(19,4)`` column, as a SQL Server ``money`` column arrives, is
summed exactly at its own scale; text that is no amount makes the measure UNVERIFIED."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Numeric, String, Table, create_engine

from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS, FAIL, Reconciliation
from reconcile.run import reconcile_run

pytestmark = pytest.mark.db

MAPPING = """entity: pay
domain: hr
source:
  system: finance
  table: PAY
  key: [ID]
target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR:
    const: 2020
  RECORD_KEY:
    from: ID
  FULL_NAME:
    from: NAME
  LAST_NAME:
    from: NAME
  JOB_TITLE:
    from: NAME
  DEPARTMENT_CODE:
    from: NAME
  ANNUAL_SALARY:
    from: {column}
    steps: [{{money: fixed}}]
reconcile:
  measures:
    - name: salary
      source_column: {column}
      source_encoding: decimal
      target_column: ANNUAL_SALARY
"""


def _legacy(url: str) -> None:
    md = MetaData()
    pay = Table(
        "PAY",
        md,
        Column("ID", Integer),
        Column("NAME", String(20)),
        Column("AMT", Numeric(19, 4)),
        Column("TXT", String(30)),
    )
    engine = create_engine(url)
    md.create_all(engine)
    rows = [
        (1, "A", Decimal("100.0000"), "100.00"),
        (2, "B", Decimal("63791994.8380"), "63791994.8380"),
        (3, "C", Decimal("0.1250"), "O12.50"),
    ]
    with engine.begin() as conn:
        conn.execute(
            pay.insert(), [dict(zip(("ID", "NAME", "AMT", "TXT"), r, strict=True)) for r in rows]
        )
    engine.dispose()


def _reconcile(tmp_path: Path, url: str, column: str) -> Reconciliation:
    _legacy(url)
    (tmp_path / "m" / "hr").mkdir(parents=True)
    (tmp_path / "m" / "hr" / "pay.yaml").write_text(MAPPING.format(column=column))
    s = Settings(
        urls={"finance": url, "staging": f"sqlite:///{tmp_path / 'st.db'}"}, workdir=tmp_path
    )
    run = run_migration(s, tmp_path / "m", "full")
    return reconcile_run(s, load_project(tmp_path / "m"), run.run_id)


@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
def test_numeric_four_decimals_is_summed_exactly(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    report = _reconcile(tmp_path, request.getfixturevalue(server), "AMT")
    (e,) = report.entities
    m = e.measures[0]
    assert m.source == Decimal("63792094.9630")
    assert m.staged == Decimal("100.00") and m.rejected == Decimal("63791994.9630")
    assert m.difference == 0 and m.unreadable == 0
    assert e.status == EXCEPTIONS


@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
def test_text_that_is_no_amount_is_unverified(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    report = _reconcile(tmp_path, request.getfixturevalue(server), "TXT")
    (e,) = report.entities
    m = e.measures[0]
    assert m.status == "UNVERIFIED" and m.unreadable_rows == (("3", "O12.50"),)
    assert m.source == Decimal("63792094.8380")
    assert e.status == FAIL
