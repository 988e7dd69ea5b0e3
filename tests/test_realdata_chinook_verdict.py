"""Chinook's money is stored as SQLite REAL (``../shared/realdata/chinook``): reconciliation
never counts a float as 0 nor sums it as a float. Without a declaration, every such value
leaves its measure UNVERIFIED, listed; a measure declaring ``source_encoding: float`` (with
the mapping's ``{money: float}``, ``docs/how-to/money.md``) reads each float by
reconciliation's own statement of the float rule and totals exactly: 2,328.60, the README's."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from migrate.spec.model import EntitySpec
from reconcile.proving.exact import Exact
from reconcile.proving.residue import read_residue
from reconcile.reading.money import cents_to_decimal
from reconcile.reading.sources import plan_source
from reconcile.reading.sqltext import install_functions

pytestmark = pytest.mark.realdata


def chinook(realdata: Path, tmp_path: Path) -> Engine:
    db = tmp_path / "chinook.sqlite"
    shutil.copy(realdata / "chinook" / "Chinook_Sqlite.sqlite", db)
    engine = create_engine(f"sqlite:///{db}")
    install_functions(engine)
    return engine


def invoices(encoding: str, step: str = "fixed", table: str = "Invoice") -> EntitySpec:
    column, key = ("Total", "InvoiceId") if table == "Invoice" else ("UnitPrice", "InvoiceLineId")
    return EntitySpec.model_validate(
        {
            "entity": "invoices",
            "domain": "finance",
            "source": {"system": "chinook", "table": table, "key": [key]},
            "target": {"table": "AP_INVOICES_INTERFACE", "key": ["INVOICE_ID"]},
            "fields": {
                "INVOICE_ID": {"from": key},
                "INVOICE_AMOUNT": {"from": column, "steps": [{"money": step}]},
            },
            "reconcile": {
                "measures": [
                    {
                        "name": "total",
                        "source_column": column,
                        "source_encoding": encoding,
                        "target_column": "INVOICE_AMOUNT",
                    }
                ]
            },
        }
    )


def test_every_real_invoice_total_is_unreadable_never_zero(realdata: Path, tmp_path: Path) -> None:
    """Floats in a measure that does not declare them: unverified, as before issue 20."""
    engine = chinook(realdata, tmp_path)
    try:
        residue = read_residue(invoices("decimal"), 0, engine, tmp_path)
    finally:
        engine.dispose()
    assert residue is not None
    assert len(residue.rows) == 412  # the README: 412 invoices, every Total a REAL
    assert len(residue.unreadable) == 412 and residue.total == 0
    assert residue.unreadable[0].text.replace(".", "").isdigit()  # shown as stored (1.98)


@pytest.mark.parametrize(
    ("table", "rows"), [("Invoice", 412), ("InvoiceLine", 2240)], ids=["Total", "UnitPrice"]
)
def test_declared_floats_total_exactly_to_the_readme(
    realdata: Path, tmp_path: Path, table: str, rows: int
) -> None:
    """Seen failing before: ``float`` was no encoding, and the floats were unverified."""
    spec = invoices("float", "float", table)
    engine = chinook(realdata, tmp_path)
    try:
        plan = plan_source(spec, engine, tmp_path)
        plan.side.scan()
        totals = plan.side.totals()
        exact = Exact(spec, totals, engine, tmp_path)
    finally:
        plan.side.close()
        engine.dispose()
    assert totals.rows == rows and totals.invalid == (0,)
    # the README: Σ Total = 2,328.60, and every quantity is 1, so Σ UnitPrice is the same
    assert cents_to_decimal(totals.cents[0]) == Decimal("2328.60")
    assert exact.unreadable_count(0) == 0 and exact.finer_total(0) == 0
    assert "binary floats, each read as its shortest decimal form" in plan.rules[0]
