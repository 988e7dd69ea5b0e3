"""An ``expr`` operand that is no number, over PostgreSQL and MariaDB legacy tables: text
operands in a ``VARCHAR``, a ``NUMERIC`` rate (on PostgreSQL one holding ``NaN``, which
``NUMERIC`` allows and the extract hands over as a ``Decimal`` NaN). The rows are rejected
with their values, the run reconciles with them counted as rejected with their amounts, and
a pipeline that staged them blank FAILs (tests/test_expr_operands.py on SQLite)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Integer, Numeric, String, create_engine, text

from migrate.transform import engine
from migrate.transform.expr import evaluate
from reconcile.report import EXCEPTIONS, FAIL
from tests.support.restated_project import legacy_table, migrate_one
from tests.test_expr_operands import _mapping

pytestmark = pytest.mark.db

PAY = [
    ("chk_id", Integer()),
    ("emp_id", String(10)),
    ("pay_dt", String(30)),
    ("qty", String(10)),
    ("rate", Numeric(12, 4)),
    ("per", String(10)),
    ("gross_amt", String(20)),
]
DAY = "01/02/2024 08:00:00 AM"


def _rows(nan: bool) -> list[tuple[object, ...]]:
    return [
        (1, "E1", DAY, "8", Decimal("1.5"), "1", "$100.00"),
        (2, "E2", DAY, "12O.50", Decimal("2"), "1", "$250.25"),  # planted: a letter O
        (3, "E3", DAY, None, Decimal("2"), "1", "$40.00"),  # blank hours, staged blank
        (4, "E4", DAY, "3", Decimal("2"), "0", "$7.10"),  # planted: a division by zero
        (5, "E5", DAY, "3", Decimal("NaN") if nan else None, "1", "$2.00"),
    ]


def _rejects(url: str) -> list[tuple[object, ...]]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            sql = (
                'SELECT "SOURCE_KEY", "COLUMN_NAME", "REASON_CODE", "OFFENDING_VALUE" '
                'FROM "MIG_REJECTS" ORDER BY "SOURCE_KEY"'
            )
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        eng.dispose()


@pytest.mark.parametrize(("server", "nan"), [("pg_url", True), ("mysql_url", False)])
def test_rejected_with_their_amounts_on_each_server(
    server: str, nan: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue(server))
    legacy_table(url, "pay_history", PAY, _rows(nan))
    run = migrate_one(tmp_path, url, _mapping())
    want = [
        ("2", "HOURS", "invalid_number", "12O.50"),
        ("4", "HOURS", "division_by_zero", "6.0000 / 0"),
    ]
    if nan:
        want.append(("5", "HOURS", "invalid_number", "NaN"))
    assert _rejects(run.settings.urls["staging"]) == want
    e = run.reconcile()
    [gross] = e.measures
    rejected = Decimal("259.35") if nan else Decimal("257.35")
    assert (gross.source, gross.rejected) == (Decimal("399.35"), rejected)
    assert (e.status, e.failures, e.differences, e.not_verified) == (EXCEPTIONS, [], (), ())


@pytest.mark.parametrize(("server", "nan"), [("pg_url", True), ("mysql_url", False)])
def test_staged_blank_fails_on_each_server(
    server: str,
    nan: bool,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def as_before(node: Any, frame: pd.DataFrame) -> tuple[pd.Series, list[Any]]:
        return evaluate(node, frame), []

    monkeypatch.setattr(engine, "computed", as_before)
    url = str(request.getfixturevalue(server))
    legacy_table(url, "pay_history", PAY, _rows(nan))
    run = migrate_one(tmp_path, url, _mapping())
    e = run.reconcile()
    assert e.status == FAIL
    got = {d.source_key: d.source_value for d in e.differences if d.column == "HOURS"}
    want = {
        "2": "(refused: invalid_number: '12O.50')",
        "4": "(refused: division_by_zero: '6.0000 / 0')",
    }
    if nan:
        want["5"] = "(refused: invalid_number: Decimal('NaN'))"
    assert got == want
