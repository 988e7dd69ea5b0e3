"""The money policy on servers (issue 20, items 4 and 5): a ``numeric(19,4)`` column rounded
half even and a ``double precision`` (MariaDB ``DOUBLE``) legacy column read by the float
rule, with the mappings of docs/how-to/money.md, staged and reconciled; a tie rounded the
wrong way in staging FAILs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from reconcile.report import EXCEPTIONS, FAIL, PASS
from tests.test_money_policy_verdict import (
    DESK,
    INEXACT,
    PAY,
    PLANT_TIE,
    entity,
    run_and_reconcile,
)

pytestmark = pytest.mark.db

TYPES = {
    "postgresql": ("numeric(19,4)", "double precision", '"{}"'),
    "mysql": ("DECIMAL(19,4)", "DOUBLE", "`{}`"),
}


def legacy(url: str) -> dict[str, str]:
    engine = create_engine(url)
    fixed, double, q = TYPES[engine.dialect.name]
    pay, desk = q.format("PAY"), q.format("PAYDESK")
    c = [q.format(c) for c in ("EMP_ID", "EMP_NAME", "SALARY", "GROSS")]
    try:
        with engine.begin() as conn:
            head = f"{c[0]} INTEGER, {c[1]} VARCHAR(40)"
            conn.execute(text(f"CREATE TABLE {pay} ({head}, {c[2]} {fixed})"))
            conn.execute(text(f"CREATE TABLE {desk} ({head}, {c[3]} {double})"))
            conn.execute(
                text(f"INSERT INTO {pay} VALUES (:i, :n, :v)"),
                [{"i": i, "n": n, "v": Decimal(v)} for i, n, v in PAY],
            )
            conn.execute(
                text(f"INSERT INTO {desk} VALUES (:i, :n, :v)"),
                [{"i": i, "n": n, "v": v} for i, n, v in [*DESK, INEXACT]],
            )
    finally:
        engine.dispose()
    return {"hr": url, "finance": url}


def _check(report: object, planted: bool) -> None:
    e = entity(report, "pay_sqlserver")  # type: ignore[arg-type]
    (m,) = e.measures
    assert m.source == Decimal("119.6106") and m.rounding_expected == Decimal("0.0094")
    if planted:
        assert e.status == FAIL and m.status == FAIL
        assert any(d.kind == "changed" for d in e.differences)
    else:
        assert e.status == PASS, (e.failures, e.exceptions)
        assert m.staged == Decimal("119.62") and m.rounding == m.rounding_expected
    d = entity(report, "pay_desktop")  # type: ignore[arg-type]
    assert d.status == EXCEPTIONS, (d.failures, d.exceptions, d.differences)
    (g,) = d.measures
    assert g.unreadable == 0 and g.difference == 0
    assert g.staged == Decimal("2329.89") and g.rejected == Decimal("0.30000000000000004")


@pytest.mark.parametrize("plant", ["", PLANT_TIE], ids=["clean", "tie-rounded-up"])
def test_postgresql_numeric_and_double(
    tmp_path: Path, pg_url: str, staging_pg: str, plant: str
) -> None:
    report = run_and_reconcile(tmp_path, legacy(pg_url), plant, staging=staging_pg)
    _check(report, bool(plant))


@pytest.mark.parametrize("plant", ["", PLANT_TIE], ids=["clean", "tie-rounded-up"])
def test_mariadb_decimal_and_double(tmp_path: Path, mysql_url: str, plant: str) -> None:
    report = run_and_reconcile(tmp_path, legacy(mysql_url), plant)
    _check(report, bool(plant))
