"""An ``expr`` operand that is no number, or a division by zero, rejects its row.

Before, ``migrate/transform/expr.py`` turned an operand such as the legacy text ``12O.50``
(a letter O for a zero) or ``abc`` into none, so the field was left blank: into a nullable
staging column the row was staged with a blank value and nothing said a value was lost. And
reconciliation's own reading (``reconcile/proving/restate_expr.py``) read the same none, so
the blank staged value agreed with it and the entity PASSed. Now the pipeline rejects the
row (``invalid_number`` with the operand's value; ``division_by_zero`` with the division's
operands) and reconciliation refuses the row's value the same way: a run reconciles with
the row counted as rejected with its amount, and a pipeline that staged it blank FAILs.
A blank operand still makes the result blank, as before. Seen failing on b1cd60e.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Integer, String

from migrate.spec.model import EntitySpec
from migrate.transform import engine
from migrate.transform.engine import transform
from migrate.transform.expr import computed, evaluate
from migrate.transform.expr import parse as parse_expr
from reconcile.proving import restate_expr as E
from reconcile.proving.restate_steps import Unreadable
from reconcile.report import EXCEPTIONS, FAIL
from tests.support.restated_project import Migrated, legacy_table, migrate_one

EXPR = "(qty * rate) / per"


def _spec() -> EntitySpec:
    return EntitySpec.model_validate(
        {
            "entity": "e",
            "domain": "hr",
            "source": {"system": "hr", "table": "t", "key": ["k"]},
            "target": {"table": "PAYROLL_HISTORY", "key": ["CHECK_ID"]},
            "fields": {"CHECK_ID": {"from": "k"}, "HOURS": {"expr": EXPR}},
        }
    )


def _no_lookups(*_: object) -> tuple[pd.Series, pd.Series, pd.Series]:
    raise AssertionError("no lookup here")


# (key, qty, rate, per): the value staged, or the reject (reason, value)
CASES: list[tuple[str, object, object, object, object]] = [
    ("1", "8", "1.5", "1", Decimal("12.0")),
    ("2", "12O.50", "2", "1", ("invalid_number", "12O.50")),
    ("3", "abc", None, "1", ("invalid_number", "abc")),  # lost even beside a blank
    ("4", None, "2", "1", None),  # blank stays blank
    ("5", "  ", "2", "1", None),
    ("6", "3", "2", "0", ("division_by_zero", "6 / 0")),
    ("7", "3", "2", "0.00", ("division_by_zero", "6 / 0.00")),
    ("8", None, "2", "0", None),  # nothing to divide: blank, as any blank
    ("9", "1,000", " 2 ", "4", Decimal("500")),
    ("10", ",", "2", "1", ("invalid_number", ",")),
    ("11", "3", "\xa02", "1", ("invalid_number", "\xa02")),  # a no-break space is no blank
    ("12", Decimal("NaN"), "2", "1", ("invalid_number", "NaN")),
    ("13", "3", "Infinity", "1", ("invalid_number", "Infinity")),
    ("14", "abc", "2", "0", ("invalid_number", "abc")),  # the first refusal, left to right
]


def test_the_pipeline_rejects_an_operand_that_is_no_number() -> None:
    frame = pd.DataFrame(
        {
            "k": [c[0] for c in CASES],
            "qty": pd.Series([c[1] for c in CASES], dtype="object"),
            "rate": pd.Series([c[2] for c in CASES], dtype="object"),
            "per": pd.Series([c[3] for c in CASES], dtype="object"),
        }
    )
    out = transform(_spec(), frame, {}, _no_lookups)
    rejects = out.failures.to_frame()
    got = {
        frame["k"][r.row]: (r.column, r.reason, r.value) for r in rejects.itertuples(index=False)
    }
    assert got == {
        key: ("HOURS", *want) for key, _q, _r, _p, want in CASES if isinstance(want, tuple)
    }
    staged = {key: out.frame["HOURS"][i] for i, key in enumerate(frame["k"]) if key not in got}
    assert staged == {key: want for key, _q, _r, _p, want in CASES if key in staged}


def test_blank_float_integer_and_date_columns_propagate_blank() -> None:
    """A float column's NaN is pandas' NULL: blank, as before, never a reject; so is a NaT,
    while a date is no number."""
    frame = pd.DataFrame({"qty": [1.5, float("nan")], "rate": pd.array([2, None], "Int64")})
    assert list(evaluate(parse_expr("qty * rate"), frame)) == [Decimal("3.0"), None]
    dated = pd.DataFrame({"d": pd.to_datetime([None, "2024-01-02"])})  # NaT is blank
    values, refused = computed(parse_expr("d * 2"), dated)
    assert list(values) == [None, None]
    assert [(r.reason, list(r.rows)) for r in refused] == [("invalid_number", [False, True])]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"qty": "12O.50", "rate": "2", "per": "1"}, "invalid_number"),
        ({"qty": "abc", "rate": None, "per": "1"}, "invalid_number"),
        ({"qty": ",", "rate": "2", "per": "1"}, "invalid_number"),
        ({"qty": "3", "rate": "2", "per": "0"}, "division_by_zero"),
        ({"qty": "3", "rate": Decimal("NaN"), "per": "1"}, "invalid_number"),
        ({"qty": "3", "rate": float("inf"), "per": "1"}, "invalid_number"),
        ({"qty": "3", "rate": True, "per": "1"}, "invalid_number"),
    ],
)
def test_reconciliation_refuses_the_same_rows(record: dict[str, object], reason: str) -> None:
    with pytest.raises(Unreadable) as refused:
        E.compute(E.read(EXPR), record)
    assert refused.value.reason == reason


def test_reconciliation_reads_a_blank_operand_as_blank() -> None:
    assert E.compute(E.read(EXPR), {"qty": None, "rate": "2", "per": "0"}) is None
    assert E.compute(E.read(EXPR), {"qty": " \t", "rate": "2", "per": "1"}) is None
    assert E.compute(E.read(EXPR), {"qty": "1,000", "rate": " 2 ", "per": "4"}) == 500


# -- a whole run: migrated, then reconciled ---------------------------------------------

PAY = [
    ("chk_id", Integer()),
    ("emp_id", String(10)),
    ("pay_dt", String(30)),
    ("qty", String(10)),
    ("rate", String(10)),
    ("per", String(10)),
    ("gross_amt", String(20)),
]
ROWS = [
    (1, "E1", "01/02/2024 08:00:00 AM", "8", "1.5", "1", "$100.00"),
    (2, "E2", "01/02/2024 08:00:00 AM", "12O.50", "2", "1", "$250.25"),  # planted
    (3, "E3", "01/02/2024 08:00:00 AM", None, "2", "1", "$40.00"),  # blank hours
    (4, "E4", "01/02/2024 08:00:00 AM", "3", "2", "0", "$7.10"),  # planted
    (5, "E5", "01/02/2024 08:00:00 AM", "1,000", "0.25", "4", "$1,000.00"),
]


def _mapping() -> dict[str, Any]:
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
            "HOURS": {"expr": EXPR, "steps": [{"money": "fixed"}]},
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


def _run(folder: Path) -> Migrated:
    url = f"sqlite:///{folder / 'legacy_hr.db'}"
    legacy_table(url, "pay_history", PAY, ROWS)
    return migrate_one(folder, url, _mapping())


def _staging(run: Migrated, sql: str) -> list[tuple[object, ...]]:
    db = run.settings.urls["staging"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


def test_a_run_rejects_the_row_and_reconciles_with_its_amount(tmp_path: Path) -> None:
    run = _run(tmp_path)
    assert _staging(
        run,
        "SELECT SOURCE_KEY, COLUMN_NAME, REASON_CODE, OFFENDING_VALUE FROM MIG_REJECTS "
        "ORDER BY SOURCE_KEY",
    ) == [("2", "HOURS", "invalid_number", "12O.50"), ("4", "HOURS", "division_by_zero", "6 / 0")]
    assert _staging(run, 'SELECT "CHECK_ID", "HOURS" FROM "PAYROLL_HISTORY" ORDER BY 1') == [
        ("1", 1200),  # cents
        ("3", None),
        ("5", 6250),
    ]
    e = run.reconcile()
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (5, 3, 2)
    [gross] = e.measures
    assert (gross.source, gross.staged, gross.rejected) == (
        Decimal("1397.35"),
        Decimal("1140.00"),
        Decimal("257.35"),
    )
    by_reason = {g.reason: (g.count, dict(g.amounts)) for g in e.rejects}
    assert by_reason == {
        "invalid_number": (1, {"gross": Decimal("250.25")}),
        "division_by_zero": (1, {"gross": Decimal("7.10")}),
    }
    # the identity holds; the rejected rows are exceptions for finance to accept
    assert (e.status, e.failures, e.differences, e.not_verified) == (EXCEPTIONS, [], (), ())


def test_a_pipeline_that_stages_the_value_blank_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline as it was (the value none, no reject): reconciliation FAILs, never PASSes,
    naming the refused legacy values."""

    def as_before(node: Any, frame: pd.DataFrame) -> tuple[pd.Series, list[Any]]:
        return evaluate(node, frame), []

    monkeypatch.setattr(engine, "computed", as_before, raising=False)
    run = _run(tmp_path)
    assert _staging(run, "SELECT COUNT(*) FROM MIG_REJECTS") == [(0,)]
    e = run.reconcile()
    assert e.status == FAIL
    got = {(d.source_key, d.column): (d.source_value, d.staged_value) for d in e.differences}
    assert got == {
        ("2", "HOURS"): ("(refused: invalid_number: '12O.50')", None),
        ("4", "HOURS"): ("(refused: division_by_zero: '6 / 0')", None),
    }
