"""Review (session 14) of 491dcf9 on PostgreSQL: an ``expr`` operand in a ``double
precision`` column holding ``NaN`` or ``Infinity`` (PostgreSQL allows both in a float).

pandas reads a float column's NaN as it reads NULL, so the pipeline may take the legacy
``NaN`` for a blank operand and stage the value blank with no reject; reconciliation's own
reader must then refuse the value (a NaN read from the legacy row is a value, no number),
so the row shows as a difference: never PASS.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Float, Integer, String

from reconcile.report import PASS
from tests.support.restated_project import legacy_table, migrate_one
from tests.test_expr_operands import _mapping

pytestmark = pytest.mark.db

DAY = "01/02/2024 08:00:00 AM"
PAY = [
    ("chk_id", Integer()),
    ("emp_id", String(10)),
    ("pay_dt", String(30)),
    ("qty", String(10)),
    ("rate", Float()),
    ("per", String(10)),
    ("gross_amt", String(20)),
]
ROWS = [
    (1, "E1", DAY, "8", 1.5, "1", "$100.00"),
    (2, "E2", DAY, "3", float("nan"), "1", "$2.00"),  # planted: a float NaN
    (3, "E3", DAY, "3", float("inf"), "1", "$3.00"),  # planted: a float infinity
    (4, "E4", DAY, "3", None, "1", "$4.00"),  # NULL: blank, staged blank
]


def test_a_float_nan_or_infinity_operand_never_passes(pg_url: str, tmp_path: Path) -> None:
    legacy_table(pg_url, "pay_history", PAY, ROWS)
    run = migrate_one(tmp_path, pg_url, _mapping())
    e = run.reconcile()
    assert e.status != PASS, (e.status, e.differences)
    rejected = {g.reason: g.count for g in e.rejects}
    changed = {d.source_key for d in e.differences if d.column == "HOURS"}
    # each planted row is either rejected by the pipeline or shown as a difference
    assert sum(rejected.values()) + len(changed) >= 2, (rejected, changed)
    [gross] = e.measures
    assert gross.source == Decimal("109.00")
