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
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import Date, String

from migrate.errors import SpecErrors
from migrate.extract.named_columns import missing_columns
from migrate.spec.conditions import Condition
from migrate.spec.loader import load_project
from migrate.spec.model import EntitySpec
from reconcile.report import EXCEPTIONS, FAIL, PASS
from tests.support.restated_project import Migrated, legacy_table, migrate_one

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
    both = Condition.model_validate({"column": "A", "between": [0, 1]}).bounds()
    assert both == [(">=", Decimal(0)), ("<=", Decimal(1))]


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


# -- a value no comparison can read --------------------------------------------------------


def _rejects(run: Migrated) -> list[tuple[Any, ...]]:
    return staged(
        run,
        "SELECT SOURCE_KEY, COLUMN_NAME, REASON_CODE, OFFENDING_VALUE FROM MIG_REJECTS ORDER BY 1",
    )


def test_a_condition_on_an_unreadable_number_rejects_the_row(tmp_path: Path) -> None:
    lines = [*PAYMENTS, "P6,2018-03-10,200,D2,5100,N/A", "P7,2018-03-10,200,D2,5100,   "]
    run = run_example(tmp_path, "signed-payments", "payments.csv", lines)
    assert _rejects(run) == [("P6", "ENTERED_DR", "invalid_number", "N/A")]
    e = run.reconcile()
    # rejected, listed, to be accepted: never a silent debit, credit or nothing
    assert (e.status, e.differences) == (EXCEPTIONS, ())
    assert any("invalid_number" in x for x in e.exceptions)
    blank = staged(run, "SELECT ENTERED_DR, ENTERED_CR FROM GL_INTERFACE WHERE REFERENCE21='P7'")
    assert blank == [(None, None)]  # blank is no number: no comparison holds, documented


def _filtered_payments(tmp_path: Path, lines: list[str]) -> Migrated:
    mapping = doc_example("signed-payments")
    mapping["source"]["filters"] = [
        {"name": "tiny", "drop_when": {"column": "AMOUNT", "between": ["-0.05", "0.05"]}},
        {"name": "dept2", "drop_when": {"column": "DEPT", "equals": "d2"}},
    ]
    (tmp_path / "payments.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return migrate_one(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", mapping, "bank")


def test_a_filter_compares_numbers_and_is_restated(tmp_path: Path) -> None:
    lines = [*PAYMENTS, "P6,2018-03-10,200,D2,5100,1.2.3", "P7,2018-03-10,100,D1,5100,12"]
    run = _filtered_payments(tmp_path, lines)
    dropped = staged(run, "SELECT SOURCE_KEY, RULE FROM MIG_FILTERED ORDER BY 1")
    # P3 (0.00) and P4 (-0.01) are tiny; P5 is dept2; P6 cannot be decided by `tiny`: it is
    # neither dropped by it nor by the later `dept2`, it is rejected
    assert dropped == [("P3", "tiny"), ("P4", "tiny"), ("P5", "dept2")]
    assert _rejects(run) == [("P6", "AMOUNT", "invalid_number", "1.2.3")]
    e = run.reconcile()
    assert (e.status, e.differences) == (EXCEPTIONS, ())
    # a row claimed filtered by the comparison whose legacy amount does not meet it
    wrong = run.tampered(
        tmp_path,
        "UPDATE MIG_FILTERED SET SOURCE_KEY = 'P7' WHERE SOURCE_KEY = 'P3'",
        "DELETE FROM GL_INTERFACE WHERE REFERENCE21 = 'P7'",
    )
    e = wrong.reconcile()
    assert e.status == FAIL
    kinds = {(d.source_key, d.kind) for d in e.differences}
    assert ("P7", "filtered_wrongly") in kinds
    why = next(d.staged_value for d in e.differences if d.source_key == "P7")
    assert "AMOUNT >= -0.05 and AMOUNT <= 0.05" in str(why)
    # and the undecided row claimed filtered: the restatement says it cannot be decided
    undecided = run.tampered(
        tmp_path,
        "UPDATE MIG_REJECTS SET SOURCE_KEY = 'X' WHERE SOURCE_KEY = 'P6'",
        "INSERT INTO MIG_FILTERED SELECT RUN_ID, BATCH_ID, ENTITY, 'dept2', 'P6' FROM MIG_FILTERED "
        "WHERE SOURCE_KEY = 'P5'",
    )
    e = undecided.reconcile()
    assert e.status == FAIL
    why = next(d.staged_value for d in e.differences if d.source_key == "P6")
    assert "filter 'tiny' cannot decide it (invalid_number" in str(why)


def test_mappings_check_names_the_columns_parts_and_composed_grains_read() -> None:
    """`mappings check` lists every column a mapping names (``named_columns``): a piece's
    column and a composed grain's columns are among them, so a typo is caught before a run."""
    spec = EntitySpec.model_validate(doc_example("period-parts"))
    have = [c for c in BUDGET[0].split(",") if c != "PERIOD_MONTH"] + ["Period_Month "]
    missing = {(c, hint) for _, c, hint in missing_columns(spec, have)}
    assert missing == {("PERIOD_MONTH", " (did you mean 'Period_Month '?)")}
    wheres = {where[:2] for where, c, _ in missing_columns(spec, have)}
    assert wheres >= {
        ("fields", "ACCOUNTING_DATE"),
        ("fields", "PERIOD_NAME"),
        ("reconcile", "grains"),
    }


def test_a_condition_on_money_text_reads_it_as_the_money_step_does(tmp_path: Path) -> None:
    """The how-to's variant: a signed amount held as money text, ``(40.25)`` negative."""
    mapping = doc_example("signed-payments-text")
    lines = [
        "PAY_ID,PAY_DATE,FUND,DEPT,ACCT,AMOUNT",
        'P1,2018-02-03,100,D1,5100,"$1,125.50"',
        "P2,2018-02-04,100,D1,1010,($40.25)",
        "P3,2018-02-04,100,D1,1010,12.50-",
        "P4,2018-02-04,100,D1,1010,12.5.0",
    ]
    (tmp_path / "payments.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = migrate_one(tmp_path, f"sqlite:///{tmp_path / 'unused.db'}", mapping, "bank")
    rows = staged(run, "SELECT REFERENCE21, ENTERED_DR, ENTERED_CR FROM GL_INTERFACE ORDER BY 1")
    assert rows == [("P1", 112550, None), ("P2", None, 4025), ("P3", None, 1250)]
    assert _rejects(run) == [("P4", "ENTERED_DR", "invalid_amount", "12.5.0")]
    e = run.reconcile()
    assert (e.status, e.differences, e.not_verified) == (EXCEPTIONS, (), ())
    bad = run.tampered(
        tmp_path, "UPDATE GL_INTERFACE SET ENTERED_CR = 4024 WHERE REFERENCE21 = 'P2'"
    )
    assert changed(bad.reconcile()) == {("P2", "ENTERED_CR"): ("40.25", "40.24")}


def test_date_comparisons_on_a_date_column_and_on_text(tmp_path: Path) -> None:
    """A filter on a DATE column (its day), a ``when`` on text in a declared format; a
    filtered row whose legacy date does not meet the filter is restated as such."""
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy_table(
        url,
        "pay",
        [("PAY_ID", String(5)), ("PAID", Date()), ("DUE", String(8)), ("AMOUNT", String(10))],
        [
            ("P1", date(2017, 12, 31), "20180115", "10.00"),
            ("P2", date(2018, 1, 1), "20180301", "20.00"),
            ("P3", date(2018, 6, 30), "2018-03", "30.00"),
            ("P4", date(2018, 7, 1), "", "40.00"),
        ],
    )
    mapping = doc_example("signed-payments")
    mapping["source"] = {
        "system": "finance",
        "table": "pay",
        "key": ["PAY_ID"],
        "filters": [{"name": "last_year", "drop_when": {"column": "PAID", "before": "2018-01-01"}}],
    }
    mapping["fields"].update(
        ACCOUNTING_DATE={"from": "PAID"},
        DATE_CREATED={"from": "PAID"},
        SEGMENT1={"const": "100"},
        SEGMENT2={"const": "D1"},
        SEGMENT3={"const": "5100"},
        PERIOD_NAME={"const": "2018"},
        REFERENCE10={  # late payments noted: DUE before PAID's quarter end
            "const": "LATE",
            "when": {"column": "DUE", "on_or_before": "2018-03-31", "date_format": "%Y%m%d"},
        },
    )
    run = migrate_one(tmp_path, url, mapping, "finance")
    assert staged(run, "SELECT SOURCE_KEY, RULE FROM MIG_FILTERED") == [("P1", "last_year")]
    assert _rejects(run) == [("P3", "REFERENCE10", "invalid_date", "2018-03")]
    rows = staged(run, "SELECT REFERENCE21, REFERENCE10 FROM GL_INTERFACE ORDER BY 1")
    assert rows == [("P2", "LATE"), ("P4", None)]
    e = run.reconcile()
    assert (e.status, e.differences, e.not_verified) == (EXCEPTIONS, (), ())
    bad = run.tampered(
        tmp_path,
        "UPDATE MIG_FILTERED SET SOURCE_KEY = 'P4' WHERE SOURCE_KEY = 'P1'",
        "DELETE FROM GL_INTERFACE WHERE REFERENCE21 = 'P4'",
        "UPDATE GL_INTERFACE SET REFERENCE10 = NULL WHERE REFERENCE21 = 'P2'",
    )
    e = bad.reconcile()
    assert e.status == FAIL
    why = {d.source_key: (d.kind, d.column, d.staged_value) for d in e.differences}
    assert why["P2"] == ("changed", "REFERENCE10", None)
    assert why["P4"][0] == "filtered_wrongly"
    assert "date(PAID, '%Y-%m-%d') < 2018-01-01" in str(why["P4"][2])
