"""Conditions on sign and value, parts and composed grains with PostgreSQL on both sides: the
legacy amounts as ``NUMERIC`` (``Decimal`` to both readings), the period as two ``INTEGER``
columns, staging on PostgreSQL (amounts come back as ``NUMERIC``). The doc's mappings read
from a table instead of a file; planted problems still FAIL (issue 20, items 7 and 8)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, Numeric, String
from sqlalchemy.types import TypeEngine

from reconcile.report import EXCEPTIONS, FAIL, PASS
from tests.support.restated_project import legacy_table, migrate_one
from tests.test_conditions_composition import changed, doc_example

pytestmark = pytest.mark.db

PAY_COLUMNS: list[tuple[str, TypeEngine[Any]]] = [
    ("PAY_ID", String(10)),
    ("FUND", String(10)),
    ("DEPT", String(10)),
    ("ACCT", String(10)),
    ("PAY_DATE", String(10)),
    ("AMOUNT", Numeric(14, 2)),
    ("NOTE_AMT", String(20)),
]
PAY_ROWS = [
    ("P1", "100", "D1", "5100", "2018-02-03", Decimal("125.50"), "1"),
    ("P2", "100", "D1", "1010", "2018-02-04", Decimal("-40.25"), "2"),
    ("P3", "200", "D2", "5100", "2018-03-01", Decimal("0.00"), ""),
    ("P4", "200", "D2", "1010", "2018-11-09", Decimal("-0.01"), "-3"),
    ("P5", "200", "D2", "5100", "2019-01-09", Decimal("100.00"), "N/A"),
]
BUDGET_COLUMNS: list[tuple[str, TypeEngine[Any]]] = [
    ("LINE", Integer()),
    ("FUND", String(10)),
    ("DEPT", String(10)),
    ("ACCT", String(10)),
    ("PERIOD_YEAR", Integer()),
    ("PERIOD_MONTH", Integer()),
    ("AMOUNT", Numeric(14, 2)),
]
BUDGET_ROWS = [
    (1, "100", "D1", "5100", 2018, 2, Decimal("1234.50")),
    (2, "100", "D1", "5200", 2018, 2, Decimal("10.00")),
    (3, "100", "D1", "5100", 2018, 11, Decimal("99.99")),
    (7, "200", "D2", "5100", 2019, 1, Decimal("0.01")),
]


def test_signed_amounts_from_numeric_columns(pg_url: str, staging_pg: str, tmp_path: Path) -> None:
    legacy_table(pg_url, "pay", PAY_COLUMNS, PAY_ROWS)
    mapping = doc_example("signed-payments")
    mapping["source"] = {"system": "finance", "table": "pay", "key": ["PAY_ID"]}
    mapping["fields"]["REFERENCE10"] = {  # -125.50 as text, only where NOTE_AMT > 0
        "parts": [
            {"const": "AMT "},
            {"column": "AMOUNT", "steps": ["negate", {"format_number": {"decimals": 2}}]},
        ],
        "when": {"column": "NOTE_AMT", "greater_than": 0},
    }
    run = migrate_one(tmp_path, pg_url, mapping, "finance", staging_pg)
    e = run.reconcile()
    # P5's NOTE_AMT "N/A" is no number: rejected (invalid_number), an exception to accept
    assert (e.status, e.differences, e.not_verified) == (EXCEPTIONS, (), ())
    assert any("invalid_number" in x for x in e.exceptions)
    bad = run.tampered(
        tmp_path,
        """UPDATE "GL_INTERFACE" SET "ENTERED_DR" = -40.25, "ENTERED_CR" = NULL
           WHERE "REFERENCE21" = 'P2'""",
        """UPDATE "GL_INTERFACE" SET "REFERENCE10" = 'AMT -125.5' WHERE "REFERENCE21" = 'P1'""",
        """UPDATE "GL_INTERFACE" SET "REFERENCE10" = 'AMT 0.01' WHERE "REFERENCE21" = 'P4'""",
    )
    e = bad.reconcile()
    assert e.status == FAIL
    assert changed(e) == {
        ("P2", "ENTERED_DR"): (None, "-40.25"),
        ("P2", "ENTERED_CR"): ("40.25", None),
        ("P1", "REFERENCE10"): ("AMT -125.50", "AMT -125.5"),
        ("P4", "REFERENCE10"): (None, "AMT 0.01"),  # NOTE_AMT -3: no value
    }


def test_a_period_from_two_integer_columns_and_its_grain(
    pg_url: str, staging_pg: str, tmp_path: Path
) -> None:
    legacy_table(pg_url, "budget", BUDGET_COLUMNS, BUDGET_ROWS)
    mapping = doc_example("period-parts")
    mapping["source"] = {"system": "finance", "table": "budget", "key": ["LINE"]}
    run = migrate_one(tmp_path, pg_url, mapping, "finance", staging_pg)
    e = run.reconcile()
    assert (e.status, e.differences, e.not_verified) == (PASS, (), ())
    assert {g.key for g in e.grains} == {("100", "2018-02"), ("100", "2018-11"), ("200", "2019-01")}
    bad = run.tampered(
        tmp_path,
        """UPDATE "GL_INTERFACE" SET "PERIOD_NAME" = '2018-2' WHERE "REFERENCE21" = 'B000001'""",
    )
    e = bad.reconcile()
    assert e.status == FAIL
    assert changed(e) == {("1", "PERIOD_NAME"): ("2018-02", "2018-2")}
    off: dict[Any, Any] = {g.key: (g.source, g.staged) for g in e.grains if g.status != PASS}
    assert off == {
        ("100", "2018-02"): (Decimal("1244.50"), Decimal("10.00")),
        ("100", "2018-2"): (Decimal(0), Decimal("1234.50")),
    }
