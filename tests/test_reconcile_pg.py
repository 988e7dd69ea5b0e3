"""Reconciliation with the legacy estate and the staging on PostgreSQL: PASS, then one cent."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from fixtures.estate.build import build_estate
from migrate.config import Settings
from migrate.db import readonly_engine
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from migrate.staging.types import cents_sql
from reconcile.reading import blockranges
from reconcile.reading.amount_sql import ValueSql
from reconcile.reading.hashing import PG_HASH
from reconcile.reading.money import cents_or_flag
from reconcile.reading.relation import Relation
from reconcile.reading.sqltext import parse_cents as sql_parse
from reconcile.reading.textrule import normalise, text_sql
from reconcile.run import reconcile_run
from tests.support.verdicts import assert_only_planted_problems
from tests.test_reconcile import (
    MAPPINGS,
    PARSER_CASES,
    by_name,
    checksum_agrees,
    parser_agrees,
)

pytestmark = pytest.mark.db


def test_postgresql_pass_then_one_cent_fail(pg_url: str, staging_pg: str, tmp_path: Path) -> None:
    urls = {"finance": pg_url, "hr": pg_url, "procurement": pg_url, "staging": staging_pg}
    build_estate(urls, tmp_path / "extracts", scale=200, seed=5)
    settings = Settings(urls=urls, workdir=tmp_path)
    run_id = run_migration(settings, MAPPINGS, "full").run_id
    project = load_project(MAPPINGS)

    report = reconcile_run(settings, project, run_id)
    assert_only_planted_problems(report)

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


@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
@pytest.mark.parametrize("encoding,values", PARSER_CASES)
def test_server_parser_agrees_with_python(
    server: str, encoding: str, values: list[str | None], request: pytest.FixtureRequest
) -> None:
    """PostgreSQL's and MariaDB's SQL amount parsers read each value as the Python one."""
    engine = create_engine(request.getfixturevalue(server))
    parser_agrees(engine, encoding, values)
    engine.dispose()


OVERFLOW_CASES = [
    ("decimal", ["99999999999999999.99", "92233720368547758.07", "92233720368547758.08"]),
    ("decimal", ["-92233720368547758.07", "-92233720368547758.08", "1" * 70 + ".00"]),
    ("decimal", ["00000000000000000000012.50", "1.50000000000000000000", "9999999999999999"]),
    ("cents", ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "9" * 40]),
    ("integer", ["92233720368547758", "92233720368547757", "0000000000000000000000007"]),
    # past Python's 4,300 digits for int(), past NUMERIC's 131,072; 1,000 characters at most
    ("decimal", ["9" * 4301, "0" * 995 + "12.50", "0" * 996 + "12.50", "1" * 140_000]),
    ("cents", ["0" * 999 + "7", "0" * 1000 + "7", "-" + "0" * 999 + "7"]),
]


@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
@pytest.mark.parametrize("encoding,values", OVERFLOW_CASES)
def test_amounts_beyond_64_bits_are_not_amounts(
    server: str, encoding: str, values: list[str], request: pytest.FixtureRequest
) -> None:
    """Cents that would not fit in 64 bits make the text not an amount on the servers too, as
    ``cents_or_flag`` (SQLite's parser, the Arrow sides') says, instead of stopping the query
    (PostgreSQL's cast to BIGINT) or being clamped (MariaDB's)."""
    engine = create_engine(request.getfixturevalue(server))
    _, valid, cents = sql_parse("v", encoding, engine.dialect.name)
    cast = "CAST(:v AS CHAR)" if engine.dialect.name != "postgresql" else "CAST(:v AS TEXT)"
    with engine.connect() as conn:
        for v in values:
            sql = f"SELECT {valid}, CASE WHEN {valid} THEN {cents} END FROM (SELECT {cast} v) s"
            ok, c = conn.execute(
                text(sql),
                {"v": v},
            ).one()
            assert (c if ok else "X") == cents_or_flag(v, encoding), v
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
    assert_only_planted_problems(report)


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


def _split_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE "SPLIT_T" (k TEXT, g INTEGER, v BIGINT)'))
        conn.execute(
            text(
                "INSERT INTO \"SPLIT_T\" SELECT 'K' || i, i % 7, "
                "CASE WHEN i % 13 = 0 THEN NULL ELSE i * 37 - 5000 END "
                "FROM generate_series(1, 3000) AS s(i)"
            )
        )


def _split_side(engine: Engine, split: int) -> Relation:
    present = "CASE WHEN v IS NULL THEN 0 ELSE 1 END"
    values = (ValueSql("v", present),)
    return Relation(engine, '"SPLIT_T"', "k", values, ("g",), split=split).using(PG_HASH, 19)


def test_postgresql_scan_in_block_ranges_equals_one_statement(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large legacy table is scanned as block ranges at once, through a read-only legacy
    connection (the snapshot is exported and imported in read-only transactions); the
    totals by grain and the bucket stats are those of one statement."""
    monkeypatch.setattr(blockranges, "SPLIT_PAGES", 1)  # 3,000 rows: a few pages
    writer = create_engine(pg_url)
    _split_table(writer)
    writer.dispose()
    engine = readonly_engine(pg_url)
    whole = _split_side(engine, 1).scan()
    for split in (2, 3):
        side = _split_side(engine, split)
        assert len(blockranges.block_ranges(engine, '"SPLIT_T"', split)) == split
        scan = side.scan()
        assert scan.buckets == whole.buckets
        assert side.totals() == _split_side(engine, 1).totals()
        assert side.group_totals([0]) == _split_side(engine, 1).group_totals([0])
    engine.dispose()


def test_postgresql_block_ranges_read_one_snapshot(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written while the ranges are read are not seen by any of them: every range
    reads the snapshot the first one exported (a row updated meanwhile moves to another
    block and would otherwise be counted twice or not at all)."""
    monkeypatch.setattr(blockranges, "SPLIT_PAGES", 1)
    engine = create_engine(pg_url)
    _split_table(engine)
    writer = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    before_on = Relation._on
    written: list[int] = []
    once = threading.Lock()

    def write_then_read(self: Relation, conn: Connection, sql: str, params: object = None) -> Any:
        with once:  # after the snapshot was exported and before any range reads
            if not written:
                with writer.connect() as w:
                    w.execute(text('UPDATE "SPLIT_T" SET v = v + 1 WHERE g = 3'))
                    w.execute(text("INSERT INTO \"SPLIT_T\" VALUES ('NEW', 1, 5)"))
                written.append(1)
        return before_on(self, conn, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(Relation, "_on", write_then_read)
    seen = _split_side(engine, 2).totals()
    monkeypatch.setattr(Relation, "_on", before_on)
    assert written and seen.rows == 3000
    after = _split_side(engine, 2).totals()
    assert after.rows == 3001 and after.cents[0] != seen.cents[0]
    writer.dispose()
    engine.dispose()
