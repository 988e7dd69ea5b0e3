"""Every column a mapping fills is checked, and every filtered row is restated (issue 19).

A review found two wrong PASSes (seen failing on 1de9d5a, each test below):

- a staged column outside ``reconcile.compare`` was never checked and never listed as not
  verified: FULL_NAME, JOB_TITLE, DEPARTMENT_NAME or the target key FISCAL_YEAR changed
  after the run still reconciled PASS. Now every column the mapping fills is restated from
  the legacy row and diffed, or listed as not verified with why; a ``lookup`` and the ERP
  key an entity issues are restated through the key map the pipeline recorded;
- rows the pipeline said it filtered were taken on trust: a staged row deleted and recorded
  in ``MIG_FILTERED`` under a real rule, or a rule the mapping does not have, reconciled
  PASS. Now a filtered row's rule must be the mapping's and its legacy row must meet it (the
  first rule it meets, as the pipeline applies them in order); a merged supplier must map to
  an ERP key already staged. Anything else is a ``filtered_wrongly`` difference: FAIL.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrate.spec.loader import load_project
from reconcile.proving.filtered import check_filtered
from reconcile.proving.restate_memo import LIMIT, Memo
from reconcile.report import FAIL, PASS
from reconcile.run import reconcile_run
from tests.support.restated_project import Migrated, migrate_one
from tests.support.verdicts import assert_only_planted_problems
from tests.test_reconcile import Estate, by_name, estate, tampered

__all__ = ["estate"]  # the module-scoped fixture of tests/test_reconcile.py

HEADER = "Name,Agency,AgencyID,JobTitle,Salary"
ROWS = [
    "Name 1,Agency A01,A01,Clerk,100.00",
    "Name 2,Agency A01,A01,Clerk,250000.00",
    "Temp 3,Agency A01,A01,Temp,5.00",
    "Name 4,Agency B02 ,b02,Analyst,300.00",
]


def pay_mapping(path: Path, filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A file of pay rows into WORKER_ANNUAL_PAY; ``compare`` names none of the text columns."""
    return {
        "entity": "pay",
        "domain": "hr",
        "source": {
            "system": "city",
            "file": {"path": str(path)},
            "key": ["_line"],
            **({"filters": filters} if filters else {}),
        },
        "target": {"table": "WORKER_ANNUAL_PAY", "key": ["FISCAL_YEAR", "RECORD_KEY"]},
        "fields": {
            "FISCAL_YEAR": {"const": 2012},
            "RECORD_KEY": {"from": "_line"},
            "FULL_NAME": {"from": "Name"},
            "LAST_NAME": {"from": "Name", "steps": ["upper"]},
            "JOB_TITLE": {"from": "JobTitle"},
            "DEPARTMENT_CODE": {"from": "AgencyID", "steps": ["strip", "upper"]},
            "DEPARTMENT_NAME": {"from": "Agency", "steps": ["collapse_spaces"]},
            "ANNUAL_SALARY": {"from": "Salary", "steps": [{"money": "fixed"}]},
        },
        "reconcile": {
            "measures": [
                {
                    "name": "salary",
                    "source_column": "Salary",
                    "source_encoding": "decimal",
                    "target_column": "ANNUAL_SALARY",
                }
            ],
            "compare": ["ANNUAL_SALARY"],
        },
    }


TEMPS = [{"name": "temps", "drop_when": {"column": "JobTitle", "equals": "Temp"}}]
CLERKS = [{"name": "clerks", "drop_when": {"column": "JobTitle", "in": ["clerk "]}}]


def _pay(folder: Path, filters: list[dict[str, Any]] | None = None) -> Migrated:
    path = folder / "pay.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    return migrate_one(folder, f"sqlite:///{folder / 'unused.db'}", pay_mapping(path, filters))


@pytest.fixture(scope="module")
def pay(tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    return _pay(tmp_path_factory.mktemp("pay"))


@pytest.fixture(scope="module")
def filtered(tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    return _pay(tmp_path_factory.mktemp("filtered"), TEMPS)


def _changed(e: Any) -> dict[tuple[str, str | None], tuple[str | None, str | None]]:
    return {
        (d.source_key, d.column): (d.source_value, d.staged_value)
        for d in e.differences
        if d.kind == "changed"
    }


# -- 1. every column the mapping fills --------------------------------------------------


def test_every_filled_column_is_restated_not_only_compare(pay: Migrated) -> None:
    e = pay.reconcile()
    assert (e.status, e.differences, e.not_verified) == (PASS, (), ())
    ruled = {c.split(" vs ")[0] for c in e.compared}
    assert ruled >= {
        "FISCAL_YEAR",
        "RECORD_KEY",
        "FULL_NAME",
        "LAST_NAME",
        "JOB_TITLE",
        "DEPARTMENT_CODE",
        "DEPARTMENT_NAME",
    }


def test_a_change_outside_compare_fails(pay: Migrated, tmp_path: Path) -> None:
    """The review's repro: four columns no ``compare`` names, the target key among them."""
    bad = pay.tampered(
        tmp_path,
        "UPDATE WORKER_ANNUAL_PAY SET JOB_TITLE = 'Mayor', FULL_NAME = 'Someone Else', "
        "DEPARTMENT_NAME = 'X', FISCAL_YEAR = 1999 WHERE RECORD_KEY = '2'",
        "UPDATE WORKER_ANNUAL_PAY SET RECORD_KEY = '40', DEPARTMENT_CODE = 'b02' "
        "WHERE RECORD_KEY = '4'",
    )
    e = bad.reconcile()
    assert e.status == FAIL
    assert _changed(e) == {
        ("2", "JOB_TITLE"): ("Clerk", "Mayor"),
        ("2", "FULL_NAME"): ("Name 2", "Someone Else"),
        ("2", "DEPARTMENT_NAME"): ("Agency A01", "X"),
        ("2", "FISCAL_YEAR"): ("2012", "1999"),
        ("4", "RECORD_KEY"): ("4", "40"),
        ("4", "DEPARTMENT_CODE"): ("B02", "b02"),
    }


# -- lookups and issued keys, through the key map ------------------------------------------


def test_the_estate_checks_every_column_and_reports_only_its_planted_problems(
    estate: Estate,
) -> None:
    """Every column each shipped mapping fills (fields and the issued key) is restated or
    diffed as an amount; none is left unverified."""
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    assert_only_planted_problems(report)
    for e in report.entities:
        spec = estate.project.spec(e.entity)
        filled = set(spec.fields) | ({spec.issues_keys.column} if spec.issues_keys else set())
        measures = {m.target_column for m in spec.reconcile.measures}
        ruled = {c.split(" vs ")[0] for c in e.compared}
        assert filled - measures <= ruled, (e.entity, filled - measures - ruled)
        assert e.not_verified == (), (e.entity, e.not_verified)
    rule = next(c for c in by_name(report, "ap_invoices").compared if c.startswith("VENDOR_ID"))
    assert "MIG_KEY_MAP" in rule and "supplier" in rule


def test_a_reference_to_another_issued_key_fails(estate: Estate, tmp_path: Path) -> None:
    """An invoice pointing at another supplier (an issued key: the ERP rule still holds) and
    a supplier whose issued key was changed: each a changed row, the right key shown."""
    db = estate.settings.workdir / "staging.db"
    with sqlite3.connect(db) as conn:
        (inv, vendor), (other,) = (
            conn.execute(
                "SELECT MIG_SOURCE_KEY, VENDOR_ID FROM AP_INVOICES_INTERFACE "
                "WHERE VENDOR_ID IS NOT NULL ORDER BY MIG_SOURCE_KEY LIMIT 1"
            ).fetchone(),
            conn.execute(
                "SELECT VENDOR_ID FROM AP_INVOICES_INTERFACE WHERE VENDOR_ID <> "
                "(SELECT VENDOR_ID FROM AP_INVOICES_INTERFACE WHERE VENDOR_ID IS NOT NULL "
                "ORDER BY MIG_SOURCE_KEY LIMIT 1) LIMIT 1"
            ).fetchone(),
        )
        supplier, issued = conn.execute(
            "SELECT MIG_SOURCE_KEY, SUPPLIER_ID FROM SUPPLIERS "
            "WHERE MIG_ENTITY = 'suppliers_finance' ORDER BY SUPPLIER_ID LIMIT 1"
        ).fetchone()
    bad = tampered(
        estate,
        tmp_path,
        f"UPDATE AP_INVOICES_INTERFACE SET VENDOR_ID = {other} WHERE MIG_SOURCE_KEY = '{inv}'",
        f"UPDATE SUPPLIERS SET SUPPLIER_ID = 990000 WHERE MIG_SOURCE_KEY = '{supplier}' "
        "AND MIG_ENTITY = 'suppliers_finance'",
    )
    report = reconcile_run(bad.settings, bad.project, bad.run_id)
    invoices = by_name(report, "ap_invoices")
    assert invoices.status == FAIL
    assert _changed(invoices) == {(inv, "VENDOR_ID"): (str(vendor), str(other))}
    suppliers = by_name(report, "suppliers_finance")
    assert suppliers.status == FAIL
    assert _changed(suppliers) == {(supplier, "SUPPLIER_ID"): (str(issued), "990000")}


# -- 2. filtered rows are restated, never taken on trust -----------------------------------


def test_rows_filtered_by_their_rule_pass(filtered: Migrated) -> None:
    e = filtered.reconcile()
    assert (e.status, e.filtered_by_rule, e.differences) == (PASS, {"temps": 1}, ())


@pytest.mark.parametrize("rule", ["temps", "no_such_rule"])
def test_a_staged_row_recorded_as_filtered_fails(
    filtered: Migrated, tmp_path: Path, rule: str
) -> None:
    """The review's repro: the $250,000 Clerk row (not a Temp) deleted from staging and
    recorded as filtered, by the mapping's rule or by a rule it does not have."""
    bad = filtered.tampered(
        tmp_path,
        "DELETE FROM WORKER_ANNUAL_PAY WHERE RECORD_KEY = '2'",
        "INSERT INTO MIG_FILTERED SELECT RUN_ID, BATCH_ID, ENTITY, RULE, '2' FROM MIG_FILTERED",
        f"UPDATE MIG_FILTERED SET RULE = '{rule}' WHERE SOURCE_KEY = '2'",
    )
    e = bad.reconcile()
    assert e.count_difference == 0  # the identity holds: only the restatement sees it
    assert e.status == FAIL
    [d] = e.differences
    assert (d.kind, d.source_key) == ("filtered_wrongly", "2")
    assert rule in (d.staged_value or "")
    assert any("row difference" in f for f in e.failures)


def test_a_row_filtered_by_a_later_rule_than_the_first_it_meets_fails(
    tmp_path: Path,
) -> None:
    """Rules apply in order and a row counts under the first it meets: the Temp row
    recorded under ``clerks`` (whose condition it does not meet) is wrongly filtered."""
    run = _pay(tmp_path, [*TEMPS, *CLERKS])
    e = run.reconcile()
    assert (e.status, e.filtered_by_rule) == (PASS, {"clerks": 2, "temps": 1})
    bad = run.tampered(tmp_path, "UPDATE MIG_FILTERED SET RULE = 'clerks' WHERE SOURCE_KEY = '3'")
    [d] = bad.reconcile().differences
    assert (d.kind, d.source_key) == ("filtered_wrongly", "3")


def test_a_staged_row_its_mapping_drops_fails(tmp_path: Path) -> None:
    """The other way round: a row that meets a filter's condition is staged (the mapping
    that reconciles filters Temps; the run's staging holds one)."""
    run = _pay(tmp_path)
    path = tmp_path / "pay.csv"
    spec = run.mappings / "hr" / "pay.yaml"
    spec.write_text(yaml.safe_dump(pay_mapping(path, TEMPS), sort_keys=False), encoding="utf-8")
    e = run.reconcile()
    assert e.status == FAIL
    [d] = e.differences
    assert (d.kind, d.source_key) == ("filtered_wrongly", "3")
    assert "temps" in (d.source_value or "")


def test_a_merge_must_map_to_a_staged_supplier(estate: Estate, tmp_path: Path) -> None:
    """The estate's merged vendors pass; a vendor staged as a new supplier, deleted and
    recorded as merged, fails (its ERP key is staged nowhere); so does a merge recorded for
    an entity that does not merge."""
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    merged = by_name(report, "suppliers_procurement")
    assert merged.filtered_by_rule["merged_into_existing_record"] > 0
    assert merged.differences == ()
    with sqlite3.connect(estate.settings.workdir / "staging.db") as conn:
        [(vendor,)] = conn.execute(
            "SELECT MIG_SOURCE_KEY FROM SUPPLIERS WHERE MIG_ENTITY = 'suppliers_procurement' "
            "ORDER BY SUPPLIER_ID DESC LIMIT 1"
        ).fetchall()
        [(fin,)] = conn.execute(
            "SELECT MIG_SOURCE_KEY FROM SUPPLIERS WHERE MIG_ENTITY = 'suppliers_finance' "
            "AND SUPPLIER_ID NOT IN (SELECT ERP_KEY FROM MIG_KEY_MAP WHERE DOMAIN = 'supplier' "
            "AND SOURCE_SYSTEM = 'procurement') ORDER BY SUPPLIER_ID DESC LIMIT 1"
        ).fetchall()
    insert = (
        "INSERT INTO MIG_FILTERED SELECT RUN_ID, BATCH_ID, '{e}', "
        "'merged_into_existing_record', '{k}' FROM MIG_FILTERED LIMIT 1"
    )
    bad = tampered(
        estate,
        tmp_path,
        f"DELETE FROM SUPPLIERS WHERE MIG_SOURCE_KEY = '{vendor}' "
        "AND MIG_ENTITY = 'suppliers_procurement'",
        insert.format(e="suppliers_procurement", k=vendor),
        f"DELETE FROM SUPPLIERS WHERE MIG_SOURCE_KEY = '{fin}' "
        "AND MIG_ENTITY = 'suppliers_finance'",
        insert.format(e="suppliers_finance", k=fin),
    )
    report = reconcile_run(bad.settings, bad.project, bad.run_id)
    for name, key in (("suppliers_procurement", vendor), ("suppliers_finance", fin)):
        e = by_name(report, name)
        assert e.status == FAIL, name
        assert [(d.kind, d.source_key) for d in e.differences] == [("filtered_wrongly", key)]


# -- the pieces ------------------------------------------------------------------------


def test_a_remembered_value_is_never_that_of_an_equal_value_of_another_type() -> None:
    """``1 == 1.0 == True`` and ``Decimal('1.0') == Decimal('1.00')``, but they print
    differently: only exact ``str``, ``int``, ``date`` and None inputs are remembered, and
    no more than ``LIMIT`` of them."""
    seen: list[object] = []

    def compute(item: object) -> str:
        seen.append(item)
        return repr(item)

    memo = Memo(compute)
    values: list[object] = [1, True, 1.0, Decimal("1.0"), Decimal("1.00"), "1", 1, "1"]
    assert [memo((v,), v) for v in values] == [repr(v) for v in values]
    assert seen == values[:-2]  # the second 1 and "1" remembered, the others worked out
    for i in range(LIMIT + 10):
        memo((f"x{i}",), f"x{i}")
    assert len(memo.seen) <= LIMIT


def test_filtered_rows_are_not_verified_where_the_legacy_side_cannot_be_read(
    filtered: Migrated,
) -> None:
    spec = load_project(filtered.mappings).spec("pay")
    check = check_filtered(spec, None, [("temps", "3"), ("nope", "1")], None)  # type: ignore[arg-type]
    [d] = check.differences  # a rule the mapping lacks needs no legacy row
    assert (d.kind, d.source_key) == ("filtered_wrongly", "1")
    [(column, why)] = check.not_verified
    assert column == "(filtered rows)" and "cannot be read" in why


def test_the_staged_copy_of_a_duplicated_key_is_checked(estate: Estate, tmp_path: Path) -> None:
    """A legacy key that repeats: one copy staged, another rejected as ``duplicate_key``
    under the same key. The staged copy's columns were left out with the rejected key;
    it is compared with its key's legacy copies now."""
    with sqlite3.connect(estate.settings.workdir / "staging.db") as conn:
        [(key,)] = conn.execute(
            "SELECT s.MIG_SOURCE_KEY FROM GL_INTERFACE s JOIN MIG_REJECTS r "
            "ON r.SOURCE_KEY = s.MIG_SOURCE_KEY AND r.ENTITY = s.MIG_ENTITY "
            "WHERE r.REASON_CODE = 'duplicate_key' ORDER BY 1 LIMIT 1"
        ).fetchall()
    report = reconcile_run(estate.settings, estate.project, estate.run_id)
    assert by_name(report, "gl_journals").differences == ()
    bad = tampered(
        estate,
        tmp_path,
        f"UPDATE GL_INTERFACE SET LEDGER_NAME = 'Another Ledger' WHERE MIG_SOURCE_KEY = '{key}'",
    )
    e = by_name(reconcile_run(bad.settings, bad.project, bad.run_id), "gl_journals")
    assert e.status == FAIL
    assert _changed(e) == {(key, "LEDGER_NAME"): ("City Primary Ledger", "Another Ledger")}
