"""A PostgreSQL side whose scan is read as Arrow batches answers exactly what its SQL side
answers (``reconcile/reading/arrowpg.py``).

The scan's totals and first-level buckets come from numpy over batches the server streams;
the deeper levels and the rows of differing buckets still come from SQL, so the two must
agree value for value: the same odd amount texts (non-ASCII digits, signs, blanks, a sign
column) valid or not alike, the same key hashes with either hasher, the same grain values.
What the batches cannot carry (a grain column of a type psycopg reads otherwise) is answered
by SQL, with the same answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, text

from migrate.db import readonly_engine
from migrate.spec.model import EntitySpec
from reconcile.proving.entity import paired, row_diff_method
from reconcile.reading.arrowcalc import BAD, VALID, cents
from reconcile.reading.arrowpg import PgArrowSide, adbc_uri, read_as_arrow, row_ids
from reconcile.reading.hashing import MD5, PG_HASH, Hasher
from reconcile.reading.relation import Relation
from reconcile.reading.sources import plan_source
from reconcile.reading.staging_side import Staging, staged_relation
from tests.test_arrow_side import AMOUNTS, SPEC, amount_text, as_set, profile_of

LEGACY = (
    'CREATE TABLE "LEGACY" ("ID" TEXT, "LINE" INTEGER, "AMT" TEXT, "DR" TEXT, '
    '"SIDE" TEXT, "ACCT" TEXT, "N" NUMERIC(6, 2), "D" DATE, "C" CHAR(4), "M" MONEY, "O" OID)'
)
STAGED = (
    'CREATE TABLE "STAGED" ("MIG_SOURCE_KEY" TEXT, "AMOUNT" NUMERIC(18, 2), '
    '"DEBIT" BIGINT, "ACCOUNT" TEXT, "MIG_RUN_ID" TEXT, "MIG_SOURCE_SYSTEM" TEXT, '
    '"MIG_ENTITY" TEXT)'
)
TEXT_AMOUNTS = [a if a is None else str(a) for a in AMOUNTS] + ["٣.٠٠", "1,234.00", "0.10"]
legacy_row = st.tuples(
    st.sampled_from(["1", " 2 ", "3", "10", "A x", "\t7"]),  # ID (text, padded)
    st.integers(1, 3),  # LINE
    st.one_of(st.sampled_from(TEXT_AMOUNTS), amount_text),  # AMT
    st.sampled_from(["100", "-25", "x", None, "40", " 7 "]),  # DR
    st.sampled_from(["D", " d ", "C", None]),  # SIDE
    st.sampled_from(["A1", "B2", None, "é"]),  # ACCT
)
staged_row = st.tuples(
    st.sampled_from(["1|1", "2|1", "3|2", "10|3", "A x|1", "9|9"]),
    st.sampled_from([12.5, -3.1, 7, None, 0]),
    st.sampled_from([100, None, -25]),
    st.sampled_from(["A1", "B2", None]),
    st.sampled_from(["R1", "R0"]),
)


@pytest.fixture(scope="module")
def pg_estate(pg_server: str) -> Iterator[tuple[Engine, Engine]]:
    """(legacy, staging) engines on one throwaway database: the tables are refilled per case."""
    from tests.conftest import drop_pg_database, make_pg_database

    url = make_pg_database(pg_server)
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text(LEGACY))
        c.execute(text(STAGED))
    try:
        yield readonly_engine(url), engine
    finally:
        engine.dispose()
        drop_pg_database(pg_server, url)


def fill(
    engine: Engine, legacy_rows: list[tuple[object, ...]], staged_rows: list[tuple[object, ...]]
) -> None:
    with engine.begin() as c:
        c.execute(text('TRUNCATE "LEGACY", "STAGED"'))
        if legacy_rows:
            c.execute(
                text(
                    'INSERT INTO "LEGACY" VALUES (:a, :b, :c, :d, :e, :f, '
                    "1.5, DATE '2026-01-02', 'ab', '1.50', 4000000000)"
                ),
                [dict(zip("abcdef", r, strict=True)) for r in legacy_rows],
            )
        if staged_rows:
            c.execute(
                text("INSERT INTO \"STAGED\" VALUES (:a, :b, :c, :d, :e, 'finance', 'lines')"),
                [dict(zip("abcde", r, strict=True)) for r in staged_rows],
            )


def sql_sides(
    legacy: Engine, staging: Engine, hasher: Hasher = PG_HASH, grain: str = "ACCT"
) -> list[Relation]:
    spec = EntitySpec.model_validate(SPEC)
    spec.reconcile.grains[0].pieces[0] = grain
    source = plan_source(spec, legacy, Path(".")).side
    staged = staged_relation(Staging(staging, None, "R1"), spec)
    out = []
    for side in (source, staged):
        assert isinstance(side, Relation)
        out.append(side.using(hasher, 19))
    return out


def as_arrow(side: Relation) -> PgArrowSide:
    """``side`` read as Arrow batches (which it must be)."""
    arrow = read_as_arrow(side)
    assert isinstance(arrow, PgArrowSide)
    return arrow


def assert_same_answers(sql: Relation, arrow: PgArrowSide) -> None:
    a, b = sql.scan(), arrow.scan()
    assert not arrow.fell_back
    assert profile_of(b.profile) == profile_of(a.profile)
    assert b.buckets == a.buckets
    assert arrow.totals() == sql.totals()
    assert arrow.group_totals([0]) == sql.group_totals([0])
    # the scan's buckets come from numpy, the deeper ones and the rows from SQL: they agree
    for bucket, stats in b.buckets.items():
        deeper = arrow.bucket_stats(13, (19, frozenset({bucket})))
        summed = [sum(s[i] for s in deeper.values()) for i in (0, 1)]
        assert summed == [stats[0], stats[1]]
        assert sum(r.rh for r in arrow.bucket_rows(((19, frozenset({bucket})),))) == stats[1]
    picks = ((19, frozenset(list(a.buckets)[::2])), (13, frozenset({5, 70})))
    assert as_set(arrow.bucket_rows(picks)) == as_set(sql.bucket_rows(picks))
    assert arrow.bucket_stats(9, None) == sql.bucket_stats(9, None)
    keys = ["1|1", "2|1", "A x|1", "nope", "7|2"]
    assert as_set(arrow.rows_for_keys(keys)) == as_set(sql.rows_for_keys(keys))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(legacy_row, max_size=30),
    st.lists(staged_row, max_size=20),
    st.sampled_from([PG_HASH, MD5]),
)
def test_arrow_scan_answers_as_the_sql_scan(
    pg_estate: tuple[Engine, Engine],
    legacy_rows: list[tuple[object, ...]],
    staged_rows: list[tuple[object, ...]],
    hasher: Hasher,
) -> None:
    legacy, staging = pg_estate
    fill(staging, legacy_rows, staged_rows)
    for side in sql_sides(legacy, staging, hasher):
        arrow = as_arrow(side)
        assert_same_answers(side, arrow)


@pytest.mark.parametrize("grain", ["LINE", "D", "C"])
def test_grain_columns_of_other_types_read_alike(
    pg_estate: tuple[Engine, Engine], grain: str
) -> None:
    """Integers, dates and padded CHAR(n) arrive as psycopg reads them (the SQL side)."""
    legacy, staging = pg_estate
    fill(staging, [("1", 1, "2.00", "3", "D", "A1"), ("2", 2, "1.10", None, "C", None)], [])
    source = sql_sides(legacy, staging, grain=grain)[0]
    arrow = as_arrow(source)
    assert_same_answers(source, arrow)


@pytest.mark.parametrize("grain", ["N", "M", "O"])
def test_grain_columns_the_driver_reads_otherwise_are_read_through_sql(
    pg_estate: tuple[Engine, Engine], grain: str
) -> None:
    """The driver hands NUMERIC over as text (psycopg: Decimal), MONEY as integer cents
    (psycopg: '$1.50'), OID as a signed 32-bit integer (wrapped): the scan goes to SQL."""
    legacy, staging = pg_estate
    fill(staging, [("1", 1, "2.00", "3", "D", "A1")], [("1|1", 2, 3, "A1", "R1")])
    source = sql_sides(legacy, staging, grain=grain)[0]
    arrow = as_arrow(source)
    assert arrow.totals() == source.totals()
    assert arrow.group_totals([0]) == source.group_totals([0])
    assert arrow.fell_back


def test_paired_sides_read_as_arrow_and_say_so(pg_estate: tuple[Engine, Engine]) -> None:
    legacy, staging = pg_estate
    fill(staging, [("1", 1, "2.00", "300", "D", "A1")], [("1|1", 2, 3, "A1", "R1")])
    spec = EntitySpec.model_validate(SPEC)
    source, staged = paired(
        plan_source(spec, legacy, Path(".")).side,
        staged_relation(Staging(staging, None, "R1"), spec),
    )
    assert isinstance(source, PgArrowSide) and isinstance(staged, PgArrowSide)
    assert source.relation.hasher is PG_HASH
    assert source.scan().profile and staged.scan().profile
    from reconcile.proving.diff import keyed_diff

    diffs, stats = keyed_diff("lines", ("AMOUNT", "DEBIT"), source, staged, [])
    assert diffs == []
    assert "binary COPY" in row_diff_method(stats, source, staged)
    source.close()
    staged.close()


def test_a_planted_cent_is_found_through_the_arrow_scan(pg_estate: tuple[Engine, Engine]) -> None:
    legacy, staging = pg_estate
    rows = [(str(i), 1, f"{i}.25", str(i * 100), "D", f"A{i % 3}") for i in range(2000)]
    staged = [
        (f"{i}|1", i + 0.25 + (0.01 if i == 777 else 0), i, f"A{i % 3}", "R1") for i in range(2000)
    ]
    fill(staging, rows, staged)
    spec = EntitySpec.model_validate(SPEC)
    source, target = paired(
        plan_source(spec, legacy, Path(".")).side,
        staged_relation(Staging(staging, None, "R1"), spec),
    )
    from reconcile.proving.diff import keyed_diff

    diffs, _ = keyed_diff("lines", ("AMOUNT", "DEBIT"), source, target, [])
    assert [(d.source_key, d.kind, d.column) for d in diffs] == [("777|1", "changed", "AMOUNT")]


def test_the_uri_keeps_the_password_and_drops_the_driver() -> None:
    url = create_engine("postgresql+psycopg://u:p%40ss@h:5433/db?sslmode=disable").url
    assert adbc_uri(url) == "postgresql://u:p%40ss@h:5433/db?sslmode=disable"


def test_a_side_that_cannot_connect_is_read_through_sql(pg_estate: tuple[Engine, Engine]) -> None:
    legacy, staging = pg_estate
    fill(staging, [("1", 1, "2.00", "3", "D", "A1")], [])
    source = sql_sides(legacy, staging)[0]
    arrow = PgArrowSide(source, "postgresql://nobody@127.0.0.1:1/none")
    assert arrow.totals() == source.totals()
    assert arrow.fell_back


def test_row_ids_are_the_ctids(pg_estate: tuple[Engine, Engine]) -> None:
    legacy, staging = pg_estate
    fill(staging, [(str(i), 1, "1.00", None, None, None) for i in range(500)], [])
    with staging.connect() as c:
        c.execute(text('DELETE FROM "LEGACY" WHERE "ID" = \'3\''))
        c.commit()
        want = [str(t) for (t,) in c.execute(text('SELECT ctid FROM "LEGACY"'))]
    arrow = read_as_arrow(sql_sides(legacy, staging)[0])
    assert isinstance(arrow, PgArrowSide)
    got = []
    for batch in arrow.batches():
        got += [f"({i >> 16},{i & 0xFFFF})" for i in row_ids(batch.column("r")).to_pylist()]
    assert got == want and len(got) == 499
    assert row_ids(pa.array([], pa.binary())).to_pylist() == []


def test_rows_of_a_table_changed_since_the_scan_are_read_again(
    pg_estate: tuple[Engine, Engine],
) -> None:
    """A row updated after the scan has a new ``ctid``: the fetch by ``ctid`` comes back
    short, and the picked rows are read the usual way (the table as it is now)."""
    legacy, staging = pg_estate
    fill(staging, [(str(i), 1, f"{i}.00", None, None, "A1") for i in range(300)], [])
    source = sql_sides(legacy, staging)[0]
    arrow = as_arrow(source)
    buckets = frozenset(arrow.scan().buckets)
    with staging.begin() as c:
        c.execute(text('UPDATE "LEGACY" SET "AMT" = \'9.99\' WHERE "ID" = \'7\''))
    rows = arrow.bucket_rows(((19, buckets),))
    assert as_set(rows) == as_set(source.bucket_rows(((19, buckets),)))
    assert [r.values[0] for r in rows if r.key == "7|1"] == [999]
    arrow.close()


def test_a_query_side_keeps_no_row_ids(pg_estate: tuple[Engine, Engine]) -> None:
    legacy, staging = pg_estate
    fill(staging, [(str(i), 1, f"{i}.10", "5", "D", "A1") for i in range(50)], [])
    source = sql_sides(legacy, staging)[0]
    query = replace(source, from_sql='(SELECT * FROM "LEGACY") q')
    arrow = as_arrow(query)
    assert not arrow.is_table
    assert_same_answers(query, arrow)
    assert arrow.__dict__.get("_kept") is None


@pytest.mark.parametrize(
    "ddl",
    [
        'CREATE TABLE "OTHER" (LIKE "LEGACY") PARTITION BY LIST ("LINE"); '
        'CREATE TABLE "OTHER_1" PARTITION OF "OTHER" FOR VALUES IN (1); '
        'CREATE TABLE "OTHER_2" PARTITION OF "OTHER" DEFAULT',
        'CREATE TABLE "OTHER" (LIKE "LEGACY"); CREATE TABLE "OTHER_C" () INHERITS ("OTHER")',
        'CREATE VIEW "OTHER" AS SELECT * FROM "LEGACY"',
    ],
    ids=["partitioned", "inherited", "view"],
)
def test_tables_whose_ctids_are_not_unique_keep_no_row_ids(
    pg_estate: tuple[Engine, Engine], ddl: str
) -> None:
    """Rows of two partitions (or of a parent and its child) can share a ``ctid``, and a view
    has none: such a side reads its picked rows through SQL, with the same answers."""
    legacy, staging = pg_estate
    rows = [(str(i), 1 + i % 2, f"{i}.10", "5", "D", f"A{i % 3}") for i in range(400)]
    fill(staging, rows, [])
    with staging.begin() as c:
        kind = c.execute(text("SELECT relkind FROM pg_class WHERE relname = 'OTHER'")).scalar()
        c.exec_driver_sql(f'DROP {"VIEW" if kind == "v" else "TABLE"} IF EXISTS "OTHER" CASCADE')
        c.exec_driver_sql(ddl)
        if "VIEW" not in ddl:
            target = '"OTHER_C"' if "INHERITS" in ddl else '"OTHER"'
            c.execute(text(f'INSERT INTO {target} SELECT * FROM "LEGACY" WHERE "LINE" = 2'))
            c.execute(text('INSERT INTO "OTHER" SELECT * FROM "LEGACY" WHERE "LINE" = 1'))
    source = replace(sql_sides(legacy, staging)[0], from_sql='"OTHER"')
    arrow = as_arrow(source)
    assert not arrow.is_table
    assert arrow.totals().rows == 400
    assert_same_answers(source, arrow)
    arrow.close()


def test_a_nondeterministic_collation_is_grouped_by_sql(pg_url: str) -> None:
    """Under a case-insensitive collation the server groups 'abc' and 'ABC' as one; Arrow
    compares bytes: a database with such a collation has its grains grouped by SQL."""
    engine = create_engine(pg_url)
    with engine.begin() as c:
        c.execute(text(LEGACY))
        c.execute(text(STAGED))
        c.exec_driver_sql(
            "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', "
            "deterministic = false)"
        )
        c.exec_driver_sql('ALTER TABLE "LEGACY" ALTER COLUMN "ACCT" TYPE TEXT COLLATE ci')
    rows = [("1", 1, "1.00", None, None, "abc"), ("2", 1, "2.00", None, None, "ABC")]
    fill(engine, rows, [])
    source = sql_sides(readonly_engine(pg_url), engine)[0]
    arrow = as_arrow(source)
    assert len(arrow.group_totals([0])) == len(source.group_totals([0])) == 1
    assert arrow.fell_back
    arrow.close()
    engine.dispose()


def test_an_amount_text_of_thousands_of_digits_is_not_an_amount() -> None:
    """Python's int() refuses more than 4,300 digits; the parser calls such text not an
    amount (as the servers' SQL does) instead of stopping the reconciliation."""
    raw = pa.array(["9" * 4301, "0" * 996 + "12.50", "0" * 995 + "12.50"])
    value, tag = cents(raw, np.zeros(3, dtype=bool), "decimal")
    assert tag.tolist() == [BAD, BAD, VALID] and value.tolist() == [0, 0, 1250]
