"""Chinook (``../shared/realdata/chinook``) migrates into AR staging through YAML alone.

Runs ``mappings/realdata/chinook`` (customers, invoice headers, invoice lines; money stored
as SQLite REAL, read by the money step's float rule) into a throwaway SQLite staging, then
proves with plain SQL on staging and the legacy file read with Python's ``sqlite3`` and
``Decimal`` of each float's shortest repr (nothing shared with the pipeline):

- the README's counts (59 customers, 412 invoices, 2,240 lines) are all staged, none
  rejected; Σ Invoice.Total = 2,328.60 to the cent, staged and legacy, by year too;
- every header equals the sum of its lines, 412 of 412, on both sides, and reconciliation's
  header_total rule says the same (nothing off in staging nor in the legacy data);
- the reconciliation's verdict is PASS; a cent planted on one staged line FAILs the rule.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import FAIL, PASS, Reconciliation
from reconcile.run import reconcile_run

pytestmark = pytest.mark.realdata

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings" / "realdata" / "chinook"
ENTITIES = ["chinook_customers", "chinook_invoice_lines", "chinook_invoices"]


@dataclass(frozen=True)
class Migrated:
    settings: Settings
    run_id: str
    legacy: Path
    staging: Path


@pytest.fixture(scope="module")
def migrated(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    tmp = tmp_path_factory.mktemp("chinook")
    legacy = tmp / "chinook.sqlite"
    shutil.copy(realdata / "chinook" / "Chinook_Sqlite.sqlite", legacy)
    staging = tmp / "staging.db"
    urls = {"staging": f"sqlite:///{staging}", "finance": f"sqlite:///{legacy}"}
    settings = Settings(urls=urls, workdir=tmp)
    run = run_migration(settings, MAPPINGS, "full")
    assert sorted(e.entity for e in run.entities) == ENTITIES
    return Migrated(settings, run.run_id, legacy, staging)


def exact(value: object) -> Decimal:
    """A legacy REAL as the decimal its shortest repr says (the README's rule)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_every_row_is_staged_none_rejected(migrated: Migrated) -> None:
    for table, n in (("AR_CUSTOMERS_INTERFACE", 59), ("AR_INVOICES_INTERFACE", 412),
                     ("AR_INVOICE_LINES_INTERFACE", 2240)):  # fmt: skip
        assert query(migrated.staging, f"SELECT COUNT(*) FROM {table}") == [(n,)], table
    assert query(migrated.staging, "SELECT COUNT(*) FROM MIG_REJECTS") == [(0,)]


def test_totals_to_the_cent_on_both_sides(migrated: Migrated) -> None:
    legacy = sum((exact(t) for (t,) in query(migrated.legacy, "SELECT Total FROM Invoice")),
                 Decimal(0))  # fmt: skip
    assert legacy == Decimal("2328.60")
    # SQLite staging holds money as integer cents: the sums are exact integers
    ((headers,),) = query(migrated.staging, "SELECT SUM(TRX_AMOUNT) FROM AR_INVOICES_INTERFACE")
    ((lines,),) = query(migrated.staging, "SELECT SUM(AMOUNT) FROM AR_INVOICE_LINES_INTERFACE")
    assert headers == lines == 232860
    by_year = query(
        migrated.staging,
        "SELECT substr(TRX_DATE, 1, 4), SUM(TRX_AMOUNT) FROM AR_INVOICES_INTERFACE GROUP BY 1",
    )
    assert dict(by_year) == {
        "2021": 44946,
        "2022": 48145,
        "2023": 46958,
        "2024": 47753,
        "2025": 45058,
    }  # fmt: skip  (the README's totals by year)


def test_each_header_equals_its_lines_412_of_412(migrated: Migrated) -> None:
    lines: dict[int, Decimal] = defaultdict(Decimal)
    for inv, price, qty in query(
        migrated.legacy, "SELECT InvoiceId, UnitPrice, Quantity FROM InvoiceLine"
    ):
        lines[int(str(inv))] += exact(price) * int(str(qty))
    totals = {
        int(str(i)): exact(t)
        for i, t in query(migrated.legacy, "SELECT InvoiceId, Total FROM Invoice")
    }
    assert len(totals) == 412 and all(totals[i] == lines[i] for i in totals)
    staged = query(
        migrated.staging,
        "SELECT COUNT(*) FROM AR_INVOICES_INTERFACE h WHERE h.TRX_AMOUNT = (SELECT SUM(l.AMOUNT)"
        " FROM AR_INVOICE_LINES_INTERFACE l WHERE l.TRX_NUMBER = h.TRX_NUMBER)",
    )
    assert staged == [(412,)]


def reconcile(settings: Settings, run_id: str) -> Reconciliation:
    return reconcile_run(settings, load_project(MAPPINGS), run_id)


def test_reconciliation_passes_and_proves_header_equals_lines(migrated: Migrated) -> None:
    report = reconcile(migrated.settings, migrated.run_id)
    assert report.verdict == PASS, [(e.entity, e.failures, e.exceptions) for e in report.entities]
    invoices = next(e for e in report.entities if e.entity == "chinook_invoices")
    (total,) = invoices.measures
    assert total.source == total.staged == Decimal("2328.60") and total.unreadable == 0
    rules = {r.rule.rsplit(": ", 1)[-1]: r for r in invoices.rules if "header total" in r.rule}
    assert rules["in staging"].violations == 0
    assert rules["in staging"].detail == "412 staged headers and 2,240 lines compared: all hold"
    legacy = rules["already off in the legacy data (not the migration's doing)"]
    assert legacy.violations == 0
    assert legacy.detail == "412 legacy headers with their 2,240 lines read: every one holds"


def test_a_cent_on_a_staged_line_fails(migrated: Migrated, tmp_path: Path) -> None:
    db = tmp_path / "staging.db"
    shutil.copy(migrated.staging, db)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE AR_INVOICE_LINES_INTERFACE SET AMOUNT = AMOUNT + 1 WHERE LINE_NUMBER = 1"
        )
    urls = {**migrated.settings.urls, "staging": f"sqlite:///{db}"}
    report = reconcile(Settings(urls=urls, workdir=migrated.settings.workdir), migrated.run_id)
    invoices = next(e for e in report.entities if e.entity == "chinook_invoices")
    broken = next(r for r in invoices.rules if r.rule.endswith(": in staging"))
    assert (broken.violations, broken.status) == (1, FAIL)
    assert broken.detail == "1: header 1.98 <> lines 1.99"
    assert report.verdict == FAIL


def test_mappings_check_accepts_the_shipped_mappings(
    realdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's declared DATETIME holds text here: a `date` step on it is right, not a
    mistake `mappings check` should report (it did: 'InvoiceDate is already a date')."""
    from cli.main import main

    legacy = tmp_path / "chinook.sqlite"
    shutil.copy(realdata / "chinook" / "Chinook_Sqlite.sqlite", legacy)
    monkeypatch.setenv("MIGRATE_FINANCE_URL", f"sqlite:///{legacy}")
    args = ["--workdir", str(tmp_path), "--mappings", str(MAPPINGS)]
    assert main([*args, "mappings", "check"]) == 0
