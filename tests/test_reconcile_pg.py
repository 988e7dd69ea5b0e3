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
from migrate.staging.types import cents_sql
from reconcile.money import InvalidAmount, parse_cents
from reconcile.run import reconcile_run
from reconcile.sqltext import parse_cents as sql_parse
from reconcile.textrule import normalise, text_sql
from tests.test_reconcile import MAPPINGS, PARSER_CASES, by_name, checksum_agrees

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

    engine = create_engine(staging_pg)
    with engine.begin() as conn:
        key, name = conn.execute(
            text(
                'SELECT "MIG_SOURCE_KEY", "VENDOR_NAME" FROM "SUPPLIERS" WHERE '
                '"MIG_SOURCE_SYSTEM" = \'finance\' AND "VENDOR_NAME" IS NOT NULL '
                'ORDER BY "MIG_SOURCE_KEY" LIMIT 1'
            )
        ).one()
        conn.execute(
            text(
                'UPDATE "SUPPLIERS" SET "VENDOR_NAME" = \'Tampered  Name \' '
                'WHERE "MIG_SOURCE_KEY" = :k AND "MIG_SOURCE_SYSTEM" = \'finance\''
            ),
            {"k": key},
        )
    engine.dispose()
    suppliers = by_name(reconcile_run(settings, project, run_id), "suppliers_finance")
    [d] = suppliers.differences
    assert (d.source_key, d.kind, d.column) == (key, "changed", "VENDOR_NAME")
    assert (d.source_value, d.staged_value) == (name, "Tampered Name")  # spaces collapsed


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


@pytest.mark.parametrize("encoding,values", PARSER_CASES)
def test_mariadb_parser_agrees_with_python(
    mysql_url: str, encoding: str, values: list[str | None]
) -> None:
    engine = create_engine(mysql_url)
    blank, valid, cents = sql_parse("v", encoding, "mysql")
    with engine.connect() as conn:
        for v in values:
            b, ok, c = conn.execute(
                text(
                    f"SELECT {blank}, {valid}, CASE WHEN {valid} THEN {cents} END "
                    "FROM (SELECT CAST(:v AS CHAR) AS v) s"
                ),
                {"v": v},
            ).one()
            try:
                expected: int | None | str = parse_cents(v, encoding)
            except InvalidAmount:
                expected = "invalid"
            assert (None if b else (c if ok else "invalid")) == expected, v
    engine.dispose()


TEXT_CASES = ["  Acme   Supply\tCo ", "\tx\n", "", "   ", None, "mixed Case", "A  b"]
TEXT_STEPS = [
    ("collapse_spaces", "blank_to_null"),
    ("strip", "upper", "blank_to_null"),
    ("strip",),
    ("lower", "collapse_spaces"),
]


@pytest.mark.parametrize("steps", TEXT_STEPS)
def test_postgresql_text_rule_agrees_with_python(pg_url: str, steps: tuple[str, ...]) -> None:
    engine = create_engine(pg_url)
    sql = text_sql("CAST(:v AS TEXT)", steps, "postgresql")
    with engine.connect() as conn:
        for v in TEXT_CASES:
            got = conn.execute(text(f"SELECT {sql}"), {"v": v}).scalar()
            assert got == normalise(v, ",".join(steps)), (v, steps)
    engine.dispose()


def test_mariadb_legacy_postgresql_staging_pass(
    mysql_url: str, staging_pg: str, tmp_path: Path
) -> None:
    """A mixed pair: MD5 key hashes on both sides, MariaDB's regex and CTE paths."""
    urls = {"finance": mysql_url, "hr": mysql_url, "procurement": mysql_url}
    build_estate({**urls, "staging": staging_pg}, tmp_path / "extracts", scale=200, seed=3)
    settings = Settings(urls={**urls, "staging": staging_pg}, workdir=tmp_path)
    run_id = run_migration(settings, MAPPINGS, "full").run_id
    report = reconcile_run(settings, load_project(MAPPINGS), run_id)
    for e in report.entities:
        assert e.count_difference == 0, e.entity
        assert all(m.status == "PASS" for m in e.measures), e.measures
        assert all(g.status == "PASS" for g in e.grains), e.entity
        assert e.differences == (), e.differences
    assert report.verdict == "PASS"


def test_postgresql_row_checksum_agrees_with_python(pg_url: str) -> None:
    engine = create_engine(pg_url)
    checksum_agrees(engine)
    engine.dispose()


def test_mariadb_row_checksum_agrees_with_python(mysql_url: str) -> None:
    engine = create_engine(mysql_url)
    checksum_agrees(engine, "CAST(0 AS SIGNED)")
    engine.dispose()


def test_postgresql_cents_cast_rounds_as_round_does(pg_url: str) -> None:
    """``cents_sql`` drops ``ROUND`` on PostgreSQL: the NUMERIC to BIGINT cast rounds half
    away from zero just as ``ROUND(x, 0)`` does (values with more than two decimals never
    reach a Money column, but the sum would not change if one did)."""
    values = ["0", "0.01", "-0.01", "1.005", "-1.005", "2.675", "-2.675", "12345678.99"]
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        for v in values:
            x = f"CAST('{v}' AS NUMERIC(20, 4))"
            got = conn.execute(text(f"SELECT {cents_sql(x, 'postgresql')}")).scalar()
            want = conn.execute(text(f"SELECT CAST(ROUND({x} * 100, 0) AS BIGINT)")).scalar()
            assert got == want, v
    engine.dispose()
