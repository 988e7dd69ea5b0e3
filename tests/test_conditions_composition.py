"""Conditions on sign and value, number steps, composed values and composed grains (issue 20,
items 7 and 8), through ``migrate run`` and ``migrate reconcile``.

The YAML of ``docs/how-to/write-a-mapping.md`` is loaded from the page and run as written:
a signed payment extract becomes debits and credits, a period ``2018-02`` is built from two
columns, and a grain's source side concatenates columns to meet the staged period. Each way
a PASS could be reached wrongly is planted: a negative amount staged as a debit, ``2018-2``
staged where ``2018-02`` is declared, a value no comparison can read.
"""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from migrate.errors import SpecErrors
from migrate.spec.conditions import Condition
from migrate.spec.loader import load_project
from reconcile.report import FAIL, PASS
from tests.support.restated_project import Migrated, migrate_one

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "write-a-mapping.md"

PAYMENTS = [
    "PAY_ID,PAY_DATE,FUND,DEPT,ACCT,AMOUNT",
    "P1,2018-02-03,100,D1,5100,125.50",
    "P2,2018-02-04,100,D1,1010,-40.25",
    "P3,2018-03-01,200,D2,5100, 0.00",
    "P4,2018-03-09,200,D2,1010,-0.01",
    "P5,2018-03-09,200,D2,5100,100",
]
BUDGET = [
    "LINE,FUND,DEPT,ACCT,PERIOD_YEAR,PERIOD_MONTH,AMOUNT",
    "1,100,D1,5100,2018,2,1234.5",
    "2,100,D1,5200,2018,2,10.00",
    "3,100,D1,5100,2018,11,99.99",
    "7,200,D2,5100,2019, 1,0.01",
]


def doc_example(name: str) -> dict[str, Any]:
    """The YAML block that follows ``<!-- example: name -->`` in the how-to page."""
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"<!-- example: {name} -->\n```yaml\n(.*?)```", text, re.S)
    assert m is not None, name
    loaded = yaml.safe_load(m.group(1))
    assert isinstance(loaded, dict)
    return loaded


def run_example(
    tmp: Path, name: str, csv_name: str, lines: list[str], staging_url: str | None = None
) -> Migrated:
    mapping = doc_example(name)
    (tmp / csv_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    system = mapping["source"]["system"]
    return migrate_one(tmp, f"sqlite:///{tmp / 'unused.db'}", mapping, system, staging_url)


def changed(e: Any) -> dict[tuple[str, str | None], tuple[str | None, str | None]]:
    return {
        (d.source_key, d.column): (d.source_value, d.staged_value)
        for d in e.differences
        if d.kind == "changed"
    }


@pytest.fixture(scope="module")
def payments(tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    return run_example(tmp_path_factory.mktemp("pay"), "signed-payments", "payments.csv", PAYMENTS)


@pytest.fixture(scope="module")
def budget(tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    return run_example(tmp_path_factory.mktemp("budget"), "period-parts", "budget.csv", BUDGET)


def staged(run: Migrated, sql: str) -> list[tuple[Any, ...]]:
    db = run.settings.urls["staging"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


# -- the language ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cond",
    [
        {"column": "A", "equals": "x", "less_than": 0},
        {"column": "A"},
        {"column": "A", "between": [5, 1]},
        {"column": "A", "between": [1]},
        {"column": "A", "less_than": "abc"},
        {"column": "A", "less_than": "NaN"},
    ],
)
def test_a_condition_is_one_test(cond: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(cond)


def test_comparisons_together_all_hold() -> None:
    c = Condition.model_validate({"column": "A", "greater_than": 0, "at_most": "1000.5"})
    assert c.bounds() == [(">", Decimal(0)), ("<=", Decimal("1000.5"))]
    assert Condition.model_validate({"column": "A", "between": [0, 1]}).bounds() == [
        (">=", 0),
        ("<=", 1),
    ]


def test_a_bad_step_in_a_part_is_reported_at_its_line(tmp_path: Path) -> None:
    mapping = doc_example("period-parts")
    mapping["fields"]["PERIOD_NAME"]["parts"][1]["steps"] = [{"zfil": 2}]
    folder = tmp_path / "mappings" / "finance"
    folder.mkdir(parents=True)
    (folder / "budget_gl.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    with pytest.raises(SpecErrors) as err:
        load_project(tmp_path / "mappings")
    text = str(err.value)
    assert "budget_gl.yaml:" in text and "unknown step 'zfil' (did you mean 'zfill'?)" in text
    assert "fields.PERIOD_NAME.parts.1" in text


# -- the doc's examples, run and reconciled ----------------------------------------------


def test_signed_payments_become_debits_and_credits(payments: Migrated) -> None:
    e = payments.reconcile()
    assert (e.status, e.differences, e.not_verified, list(e.exceptions)) == (PASS, (), (), [])
    rows = staged(
        payments, "SELECT REFERENCE21, ENTERED_DR, ENTERED_CR FROM GL_INTERFACE ORDER BY 1"
    )
    assert rows == [
        ("P1", 12550, None),
        ("P2", None, 4025),
        ("P3", None, None),  # zero: neither column
        ("P4", None, 1),
        ("P5", 10000, None),
    ]
    rules = {r.split(" vs ")[0]: r for r in e.compared}
    assert "only when AMOUNT > 0" in rules["ENTERED_DR"]
    assert "abs; only when AMOUNT < 0" in rules["ENTERED_CR"]


def test_a_negative_amount_staged_as_a_debit_fails(payments: Migrated, tmp_path: Path) -> None:
    bad = payments.tampered(
        tmp_path,
        "UPDATE GL_INTERFACE SET ENTERED_DR = -4025, ENTERED_CR = NULL WHERE REFERENCE21 = 'P2'",
        "UPDATE GL_INTERFACE SET ENTERED_DR = 1 WHERE REFERENCE21 = 'P3'",
    )
    e = bad.reconcile()
    assert e.status == FAIL
    assert changed(e) == {
        ("P2", "ENTERED_DR"): (None, "-40.25"),
        ("P2", "ENTERED_CR"): ("40.25", None),
        ("P3", "ENTERED_DR"): (None, "0.01"),
    }


def test_a_period_from_two_columns_and_a_composed_grain(budget: Migrated) -> None:
    e = budget.reconcile()
    assert (e.status, e.differences, e.not_verified) == (PASS, (), ())
    rows = staged(
        budget,
        "SELECT REFERENCE21, PERIOD_NAME, REFERENCE10, ACCOUNTING_DATE "
        "FROM GL_INTERFACE ORDER BY 1",
    )
    assert rows == [
        ("B000001", "2018-02", "BUDGET 0001234.50", "2018-02-01"),
        ("B000002", "2018-02", "BUDGET 0000010.00", "2018-02-01"),
        ("B000003", "2018-11", "BUDGET 0000099.99", "2018-11-01"),
        ("B000007", "2019-01", "BUDGET 0000000.01", "2019-01-01"),
    ]
    grains = {g.key: (g.source, g.staged, g.status) for g in e.grains}
    assert grains == {
        ("100", "2018-02"): (Decimal("1244.50"), Decimal("1244.50"), PASS),
        ("100", "2018-11"): (Decimal("99.99"), Decimal("99.99"), PASS),
        ("200", "2019-01"): (Decimal("0.01"), Decimal("0.01"), PASS),
    }


def test_2018_2_staged_where_2018_02_is_declared_fails(budget: Migrated, tmp_path: Path) -> None:
    bad = budget.tampered(
        tmp_path, "UPDATE GL_INTERFACE SET PERIOD_NAME = '2018-2' WHERE REFERENCE21 = 'B000001'"
    )
    e = bad.reconcile()
    assert e.status == FAIL
    assert changed(e) == {("1", "PERIOD_NAME"): ("2018-02", "2018-2")}
    off = {g.key: (g.source, g.staged) for g in e.grains if g.status != PASS}
    assert off == {
        ("100", "2018-02"): (Decimal("1244.50"), Decimal("10.00")),
        ("100", "2018-2"): (Decimal(0), Decimal("1234.50")),
    }


def test_a_grain_composed_wrongly_on_the_source_side_fails(tmp_path: Path) -> None:
    """Without the piece's zfill the source side says 2018-2: the grain cannot pass."""
    mapping = doc_example("period-parts")
    grain = mapping["reconcile"]["grains"][0]
    grain["source"] = ["FUND", ["PERIOD_YEAR", "PERIOD_MONTH"]]
    (tmp_path / "budget.csv").write_text("\n".join(BUDGET) + "\n", encoding="utf-8")
    run = migrate_one(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", mapping, "budget")
    e = run.reconcile()
    assert e.status == FAIL
    assert {g.key for g in e.grains if g.status != PASS} >= {("100", "2018-2"), ("100", "2018-02")}
