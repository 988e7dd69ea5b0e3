"""Reconciliation with the legacy estate and the staging on PostgreSQL: PASS, then one cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fixtures.estate.build import build_estate
from migrate.config import Settings
from migrate.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.money import InvalidAmount, parse_cents
from reconcile.run import reconcile_run
from reconcile.sqltext import parse_cents as sql_parse
from tests.test_reconcile import MAPPINGS, PARSER_CASES, by_name

pytestmark = pytest.mark.db


def test_postgresql_pass_then_one_cent_fail(pg_url: str, staging_pg: str, tmp_path: Path) -> None:
    urls = {"finance": pg_url, "hr": pg_url, "procurement": pg_url, "staging": staging_pg}
    build_estate(urls, tmp_path / "extracts", scale=200, seed=5)
    settings = Settings(urls=urls, workdir=tmp_path)
    run_id = run_migration(settings, MAPPINGS, "full").run_id
    project = load_project(MAPPINGS)

    report = reconcile_run(settings, project, run_id)
    for e in report.entities:
        assert e.count_difference == 0, e.entity
        assert all(m.status == "PASS" for m in e.measures), e.measures
        assert all(g.status == "PASS" for g in e.grains), e.entity
        assert e.differences == (), e.differences
        assert all(r.status == "PASS" for r in e.rules), e.rules

    engine = create_engine(staging_pg)
    with engine.begin() as conn:
        key, amount = conn.execute(
            text(
                'SELECT "MIG_SOURCE_KEY", "INVOICE_AMOUNT" FROM "AP_INVOICES_INTERFACE" '
                'ORDER BY "MIG_SOURCE_KEY" LIMIT 1'
            )
        ).one()
        conn.execute(
            text(
                'UPDATE "AP_INVOICES_INTERFACE" SET "INVOICE_AMOUNT" = '
                '"INVOICE_AMOUNT" + 0.01 WHERE "MIG_SOURCE_KEY" = :k'
            ),
            {"k": key},
        )
    engine.dispose()
    report = reconcile_run(settings, project, run_id)
    invoices = by_name(report, "ap_invoices")
    assert report.verdict == "FAIL" and invoices.status == "FAIL"
    assert invoices.measures[0].difference == Decimal("-0.01")
    [d] = invoices.differences
    assert (d.source_key, d.kind, d.column) == (key, "changed", "INVOICE_AMOUNT")
    assert (Decimal(d.source_value or ""), Decimal(d.staged_value or "")) == (
        amount,
        amount + Decimal("0.01"),
    )


@pytest.mark.parametrize("encoding,values", PARSER_CASES)
def test_postgresql_parser_agrees_with_python(
    pg_url: str, encoding: str, values: list[str | None]
) -> None:
    engine = create_engine(pg_url)
    blank, valid, cents = sql_parse("v", encoding, "postgresql")
    with engine.connect() as conn:
        for v in values:
            b, ok, c = conn.execute(
                text(
                    f"SELECT {blank}, {valid}, CASE WHEN {valid} THEN {cents} END "
                    "FROM (SELECT CAST(:v AS TEXT) AS v) s"
                ),
                {"v": v},
            ).one()
            try:
                expected: int | None | str = parse_cents(v, encoding)
            except InvalidAmount:
                expected = "invalid"
            assert (None if b else (c if ok else "invalid")) == expected, v
    engine.dispose()
