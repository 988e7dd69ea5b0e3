"""Chinook's money is stored as SQLite REAL (``../shared/realdata/chinook``): reconciliation
never counts a float as 0 nor sums it as a float. Until a mapping declares how a float
becomes exact cents (issue 20), every such value leaves its measure UNVERIFIED, listed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from migrate.spec.model import EntitySpec
from reconcile.residue import read_residue
from reconcile.sqltext import install_functions

pytestmark = pytest.mark.realdata


def test_every_real_invoice_total_is_unreadable_never_zero(realdata: Path, tmp_path: Path) -> None:
    db = tmp_path / "chinook.sqlite"
    shutil.copy(realdata / "chinook" / "Chinook_Sqlite.sqlite", db)
    spec = EntitySpec.model_validate(
        {
            "entity": "invoices",
            "domain": "finance",
            "source": {"system": "chinook", "table": "Invoice", "key": ["InvoiceId"]},
            "target": {"table": "AP_INVOICES_INTERFACE", "key": ["INVOICE_ID"]},
            "fields": {"INVOICE_ID": {"from": "InvoiceId"}},
            "reconcile": {
                "measures": [
                    {
                        "name": "total",
                        "source_column": "Total",
                        "source_encoding": "decimal",
                        "target_column": "INVOICE_AMOUNT",
                    }
                ]
            },
        }
    )
    engine = create_engine(f"sqlite:///{db}")
    install_functions(engine)
    try:
        residue = read_residue(spec, 0, engine, tmp_path)
    finally:
        engine.dispose()
    assert residue is not None
    assert len(residue.rows) == 412  # the README: 412 invoices, every Total a REAL
    assert len(residue.unreadable) == 412 and residue.total == 0
    assert residue.unreadable[0].text.replace(".", "").isdigit()  # shown as stored (1.98)
