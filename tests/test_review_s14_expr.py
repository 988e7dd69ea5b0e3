"""Review (session 14) of ``expr`` refusals: where else could a non-number still blank
silently and the reconciliation PASS?

Each test plants the pipeline as it was before 491dcf9 (an ``expr`` operand that is no
number, or a division by zero, made the value blank and nothing was rejected) in a shape
the commit's own tests did not cover, and expects the reconciliation not to PASS: a
variant entity, an ``expr`` with a ``default`` (the blank filled), an ``expr`` under a
``when``, an ``expr`` staged into a number column (no money step), and the run's verdict
and its JSON read back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Integer, String

from migrate.transform import engine
from migrate.transform.expr import evaluate
from reconcile.report import EXCEPTIONS, FAIL
from tests.support.restated_project import Migrated, legacy_table, migrate_one

PAY = [
    ("chk_id", Integer()),
    ("emp_id", String(10)),
    ("pay_dt", String(30)),
    ("qty", String(10)),
    ("rate", String(10)),
    ("gross_amt", String(20)),
]
ROWS = [
    (1, "E1", "01/02/2024 08:00:00 AM", "8", "1.5", "$100.00"),
    (2, "E2", "01/02/2024 08:00:00 AM", "12O.50", "2", "$250.25"),  # planted: no number
    (3, "E3", "01/02/2024 08:00:00 AM", "3", "2", "$40.00"),
]


def _as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline before 491dcf9: the value blank, no reject."""

    def as_before(node: Any, frame: pd.DataFrame) -> tuple[pd.Series, list[Any]]:
        return evaluate(node, frame), []

    monkeypatch.setattr(engine, "computed", as_before)


def _mapping(hours: dict[str, Any]) -> dict[str, Any]:
    return {
        "entity": "pay",
        "domain": "hr",
        "source": {"system": "hr", "table": "pay_history", "key": ["chk_id"]},
        "target": {"table": "PAYROLL_HISTORY", "key": ["CHECK_ID"]},
        "fields": {
            "CHECK_ID": {"from": "chk_id"},
            "PERSON_NUMBER": {"from": "emp_id"},
            "PAY_DATE": {"from": "pay_dt", "steps": [{"datetime": "%m/%d/%Y %I:%M:%S %p"}]},
            "PAY_TYPE": {"const": "REGULAR"},
            "HOURS": hours,
            "GROSS_AMOUNT": {"from": "gross_amt", "steps": [{"money": "text"}]},
        },
        "reconcile": {
            "measures": [
                {
                    "name": "gross",
                    "source_column": "gross_amt",
                    "source_encoding": "money_text",
                    "target_column": "GROSS_AMOUNT",
                }
            ],
            "compare": ["HOURS", "GROSS_AMOUNT"],
        },
    }


def _run(folder: Path, hours: dict[str, Any]) -> Migrated:
    url = f"sqlite:///{folder / 'legacy_hr.db'}"
    legacy_table(url, "pay_history", PAY, ROWS)
    return migrate_one(folder, url, _mapping(hours))


HOURS_SHAPES = {
    "money": {"expr": "qty * rate", "steps": [{"money": "fixed"}]},
    "number": {"expr": "qty * rate"},  # no money step: a plain number column
    "default": {"expr": "qty * rate", "steps": [{"money": "fixed"}], "default": 0},
    "when": {
        "expr": "qty * rate",
        "steps": [{"money": "fixed"}],
        "when": {"column": "rate", "greater_than": 0},
    },
}


@pytest.mark.parametrize("shape", sorted(HOURS_SHAPES))
def test_today_the_row_is_rejected_and_the_entity_is_not_pass(tmp_path: Path, shape: str) -> None:
    run = _run(tmp_path, HOURS_SHAPES[shape])
    e = run.reconcile()
    assert e.rejected_rows == 1, shape
    assert e.status == EXCEPTIONS, (shape, e.failures, e.differences, e.not_verified)


@pytest.mark.parametrize("shape", sorted(HOURS_SHAPES))
def test_a_pipeline_that_blanks_the_value_never_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    _as_before(monkeypatch)
    run = _run(tmp_path, HOURS_SHAPES[shape])
    e = run.reconcile()
    assert e.rejected_rows == 0  # the planted pipeline staged every row
    assert e.status == FAIL, (shape, e.status, e.differences, e.not_verified)
    assert any(d.source_key == "2" and d.column == "HOURS" for d in e.differences), shape


def test_an_uncompared_expr_field_is_still_restated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HOURS left out of ``compare``: the blank staged value is still a difference (every
    field is restated), never a PASS."""
    _as_before(monkeypatch)
    url = f"sqlite:///{tmp_path / 'legacy_hr.db'}"
    legacy_table(url, "pay_history", PAY, ROWS)
    mapping = _mapping(HOURS_SHAPES["money"])
    mapping["reconcile"]["compare"] = ["GROSS_AMOUNT"]
    e = migrate_one(tmp_path, url, mapping).reconcile()
    assert e.status == FAIL
    assert [(d.source_key, d.column) for d in e.differences] == [("2", "HOURS")]


# -- a variant entity: the expr in one variant's field ------------------------------------

PAYMENTS = [
    "PAY_ID,PAY_DATE,FUND,DEPT,ACCT,BANK_ACCT,AMOUNT,FX",
    "P1,2018-02-03,100,D1,5100,1010,125.50,1",
    "P2,2018-02-04,100,D1,5200,1010,40.25,x1",  # planted: FX no number
    "P3,2018-03-01,200,D2,5100,1020,10.00,0",  # planted: a zero divisor
]


def _journal(with_measures: bool) -> dict[str, Any]:
    amount = {"money": "fixed"}
    mapping: dict[str, Any] = {
        "entity": "payment_journal",
        "domain": "finance",
        "source": {"system": "bank", "file": {"path": "payments.csv"}, "key": ["PAY_ID"]},
        "target": {"table": "GL_INTERFACE", "key": ["REFERENCE21"]},
        "fields": {
            "STATUS": {"const": "NEW"},
            "ACCOUNTING_DATE": {"from": "PAY_DATE", "steps": [{"date": "%Y-%m-%d"}]},
            "DATE_CREATED": {"from": "PAY_DATE", "steps": [{"date": "%Y-%m-%d"}]},
            "USER_JE_SOURCE_NAME": {"const": "Payments"},
            "USER_JE_CATEGORY_NAME": {"const": "Conversion"},
            "CURRENCY_CODE": {"const": "USD"},
            "ACTUAL_FLAG": {"const": "A"},
            "SEGMENT1": {"from": "FUND"},
            "SEGMENT2": {"from": "DEPT"},
            "REFERENCE4": {"from": "PAY_ID"},
            "PERIOD_NAME": {"const": "2018-02"},
        },
        "variants": {
            "debit": {
                "SEGMENT3": {"from": "ACCT"},
                "ENTERED_DR": {"expr": "AMOUNT / FX", "steps": [amount]},
                "REFERENCE21": {"parts": ["PAY_ID", {"const": "-DR"}]},
            },
            "offset": {
                "SEGMENT3": {"from": "BANK_ACCT"},
                "ENTERED_CR": {"from": "AMOUNT", "steps": [amount]},
                "REFERENCE21": {"parts": ["PAY_ID", {"const": "-CR"}]},
            },
        },
    }
    if with_measures:
        mapping["reconcile"] = {
            "measures": [
                {
                    "name": "credits",
                    "source_column": "AMOUNT",
                    "source_encoding": "decimal",
                    "target_column": "ENTERED_CR",
                }
            ]
        }
    return mapping


def _run_journal(folder: Path, with_measures: bool) -> Migrated:
    (folder / "payments.csv").write_text("\n".join(PAYMENTS) + "\n", encoding="utf-8")
    return migrate_one(folder, f"sqlite:///{folder / 'unused.db'}", _journal(with_measures), "bank")


@pytest.mark.parametrize("with_measures", [False, True])
def test_a_variant_expr_rejects_the_source_row_whole(tmp_path: Path, with_measures: bool) -> None:
    e = _run_journal(tmp_path, with_measures).reconcile()
    assert (e.source_rows, e.rejected_rows) == (3, 2)
    assert e.status == EXCEPTIONS, (e.failures, e.differences, e.not_verified)


@pytest.mark.parametrize("with_measures", [False, True])
def test_a_variant_expr_staged_blank_never_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_measures: bool
) -> None:
    _as_before(monkeypatch)
    e = _run_journal(tmp_path, with_measures).reconcile()
    assert e.rejected_rows == 0
    assert e.status == FAIL, (e.status, e.differences, e.not_verified)
    assert {(d.source_key, d.column) for d in e.differences} == {
        ("P2@debit", "ENTERED_DR"),
        ("P3@debit", "ENTERED_DR"),
    }


TARGET = """table: XX_RATES
key: [CODE]
columns:
  CODE: {type: text, length: 10, required: true}
  RATE: {type: decimal, precision: 8, scale: 2}
  WHOLE: {type: integer}
"""


def test_an_expr_result_finer_than_its_column_is_rejected_never_rounded(tmp_path: Path) -> None:
    """A declared decimal(8,2) and an integer column take an ``expr`` result only when it
    fits: 12.345 and 2.5 are rejected (never rounded to agree with a rounded restatement)."""
    url = f"sqlite:///{tmp_path / 'legacy_hr.db'}"
    rows = [
        (1, "E1", "x", "3", "4.115", "$1.00"),  # 12.345: finer than a cent
        (2, "E2", "x", "1", "2.5", "$1.00"),  # 2.5 into an integer
        (3, "E3", "x", "2", "3", "$1.00"),  # fits both
    ]
    legacy_table(url, "pay_history", PAY, rows)
    (tmp_path / "mappings" / "targets").mkdir(parents=True)
    (tmp_path / "mappings" / "targets" / "rates.yaml").write_text(TARGET, encoding="utf-8")
    mapping = {
        "entity": "rates",
        "domain": "hr",
        "source": {"system": "hr", "table": "pay_history", "key": ["chk_id"]},
        "target": {"table": "XX_RATES", "key": ["CODE"]},
        "fields": {
            "CODE": {"from": "chk_id"},
            "RATE": {"expr": "qty * rate"},
            "WHOLE": {"expr": "qty * rate"},
        },
    }
    run = migrate_one(tmp_path, url, mapping)
    db = run.settings.urls["staging"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        rejects = conn.execute(
            "SELECT SOURCE_KEY, COLUMN_NAME, REASON_CODE, OFFENDING_VALUE FROM MIG_REJECTS "
            "ORDER BY 1"
        ).fetchall()
        staged = conn.execute('SELECT "CODE" FROM "XX_RATES"').fetchall()
    assert rejects == [
        ("1", "RATE", "invalid_decimal", "12.345"),
        ("2", "WHOLE", "invalid_format", "2.5"),
    ]
    assert staged == [("3",)]
    e = run.reconcile()
    assert (e.staged_rows, e.rejected_rows, e.differences) == (1, 2, ())
    assert e.status == EXCEPTIONS
