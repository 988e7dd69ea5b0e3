"""Staged rows written by binary COPY (pgpq) store exactly what the CSV COPY stored.

`load.stage_rows` sends a chunk's typed rows in COPY's binary format on PostgreSQL: money as
``decimal128`` hundredths, integers as wide as their column, dates as days, text as UTF-8.
These tests hold it to the text path it replaced (`insert_frame` of `wire_columns`), value
by value, including the values a text format can get wrong (NULL against '', quotes,
backslashes, line breaks, the widest cents) and those binary cannot carry (they fall back).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    text,
)

from migrate.load.bulk import binary_table, insert_frame, stage_rows, wire_columns
from migrate.staging.create import ensure_staging
from migrate.staging.tables import build_metadata
from tests.conftest import PG_ADMIN

pytestmark = pytest.mark.db

TABLE = "AP_INVOICE_LINES_INTERFACE"
MAX_CENTS = 10**18 - 1  # numeric(18, 2) holds 16 digits of units and 2 of cents
CHECKED = [
    "INVOICE_ID",
    "LINE_NUMBER",
    "LINE_TYPE_LOOKUP_CODE",
    "AMOUNT",
    "QUANTITY_INVOICED",
    "DESCRIPTION",
    "DIST_CODE_CONCATENATED",
    "ACCOUNTING_DATE",
    "MIG_RUN_ID",
    "MIG_BATCH_ID",
    "MIG_ENTITY",
    "MIG_SOURCE_SYSTEM",
    "MIG_SOURCE_KEY",
    "MIG_SOURCE_HASH",
]


@pytest.fixture(scope="module")
def two_stagings(pg_server: str) -> Iterator[tuple[Engine, Table]]:
    """One database, the staging tables twice: ``public`` (binary) and ``text_path``."""
    name = f"mig_binary_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        md = ensure_staging(url)
        ensure_staging(url, "text_path")
        yield engine, md.tables[TABLE]
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A chunk's staged rows typed as coerce and the lineage columns leave them."""
    f = pd.DataFrame(rows, columns=CHECKED)
    for c in ("INVOICE_ID", "LINE_NUMBER", "AMOUNT", "QUANTITY_INVOICED", "MIG_BATCH_ID"):
        f[c] = pd.array([r[c] for r in rows], dtype="Int64")  # not through float64
    f["ACCOUNTING_DATE"] = pd.to_datetime(f["ACCOUNTING_DATE"])
    for c in CHECKED:
        if f[c].dtype == object:
            f[c] = f[c].astype("str")
    return f


def _stored(engine: Engine, schema: str) -> list[tuple[object, ...]]:
    cols = ", ".join(f'"{c}"::text' for c in CHECKED)
    with engine.connect() as conn:
        rows = conn.execute(text(f'SELECT {cols} FROM "{schema}"."{TABLE}" ORDER BY 1, 2'))
        return [tuple(r) for r in rows]


def _both_ways(engine: Engine, table: Table, frame: pd.DataFrame) -> None:
    """Write ``frame`` by binary COPY and by the text path; the stored rows are equal."""
    text_table = build_metadata("text_path").tables[f"text_path.{TABLE}"]
    assert binary_table(frame, table) is not None  # these values do go the binary way
    with engine.begin() as conn:
        conn.execute(text(f'TRUNCATE "public"."{TABLE}", "text_path"."{TABLE}"'))
        assert stage_rows(conn, table, frame) == len(frame)
        insert_frame(conn, text_table, wire_columns(frame, text_table, "postgresql"))
    assert _stored(engine, "public") == _stored(engine, "text_path")


def _row(i: int, **values: object) -> dict[str, Any]:
    row: dict[str, Any] = {
        "INVOICE_ID": 1000 + i,
        "LINE_NUMBER": 1,
        "LINE_TYPE_LOOKUP_CODE": "ITEM",
        "AMOUNT": 0,
        "QUANTITY_INVOICED": None,
        "DESCRIPTION": None,
        "DIST_CODE_CONCATENATED": "01-100-5000",
        "ACCOUNTING_DATE": None,
        "MIG_RUN_ID": "run-1",
        "MIG_BATCH_ID": 7,
        "MIG_ENTITY": "ap_invoice_lines",
        "MIG_SOURCE_SYSTEM": "finance",
        "MIG_SOURCE_KEY": f"{i}|1",
        "MIG_SOURCE_HASH": "00ff00ff00ff00ff",
    }
    row.update(values)
    return row


def test_the_values_text_gets_wrong_are_stored_alike(two_stagings: tuple[Engine, Table]) -> None:
    engine, table = two_stagings
    odd = ["", "\\N", '"', 'a "quoted", word', "back\\slash", "line\nbreak\r\n", "tab\there"]
    odd += ["é", "Müller", "日本", "NULL", " spaced ", ","]
    rows = [_row(i, DESCRIPTION=v) for i, v in enumerate(odd)]
    rows += [
        _row(100, AMOUNT=MAX_CENTS, QUANTITY_INVOICED=-MAX_CENTS),
        _row(101, AMOUNT=-1, QUANTITY_INVOICED=1, ACCOUNTING_DATE="1900-02-28"),
        _row(102, AMOUNT=-(10**17), ACCOUNTING_DATE="2099-12-31", LINE_NUMBER=2**31 - 1),
        _row(103, INVOICE_ID=2**63 - 1, ACCOUNTING_DATE="2024-02-29"),
    ]
    _both_ways(engine, table, _frame(rows))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-MAX_CENTS, MAX_CENTS)),
            st.one_of(
                st.none(),
                st.text(
                    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30
                ),
            ),
            st.one_of(st.none(), st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_chunk_is_stored_alike(
    two_stagings: tuple[Engine, Table], values: list[tuple[int | None, str | None, dt.date | None]]
) -> None:
    engine, table = two_stagings
    rows = [
        _row(i, QUANTITY_INVOICED=cents, DESCRIPTION=descr, ACCOUNTING_DATE=day)
        for i, (cents, descr, day) in enumerate(values)
        if day is None or dt.date(1678, 1, 1) <= day <= dt.date(2261, 12, 31)  # datetime64[ns]
    ]
    if rows:
        _both_ways(engine, table, _frame(rows))


def test_values_binary_cannot_carry_take_the_text_path(two_stagings: tuple[Engine, Table]) -> None:
    """An integer wider than its column has no binary form: the text path writes the chunk,
    and the server refuses it as it always did."""
    engine, table = two_stagings
    too_wide = _frame([_row(1, LINE_NUMBER=2**31)])
    assert binary_table(too_wide, table) is None
    with pytest.raises(Exception, match="out of range"), engine.begin() as conn:
        stage_rows(conn, table, too_wide)
    aware = _frame([_row(1)])
    aware["ACCOUNTING_DATE"] = pd.to_datetime(["2024-01-31"]).tz_localize("UTC")
    assert binary_table(aware, table) is None


def test_a_connection_not_in_utf8_takes_the_text_path(latin1_url: str) -> None:
    """Binary text is read in the connection's encoding: on a LATIN1 connection the text
    path (which declares its UTF-8) writes, and 'é' stays 'é'."""
    table = Table("T", MetaData(), Column("K", Integer), Column("V", String(20)))
    engine = create_engine(latin1_url)
    try:
        table.create(engine)
        frame = pd.DataFrame({"K": pd.array([1, 2], dtype="Int64"), "V": ["é", "Müller"]})
        frame["V"] = frame["V"].astype("str")
        with engine.begin() as conn:
            assert conn.connection.driver_connection.info.encoding != "utf-8"  # type: ignore[union-attr]
            stage_rows(conn, table, frame)
        with engine.connect() as conn:
            got = [r[0] for r in conn.execute(text('SELECT "V" FROM "T" ORDER BY "K"'))]
        assert got == ["é", "Müller"]
    finally:
        engine.dispose()


def test_a_column_type_binary_does_not_know_takes_the_text_path(pg_url: str) -> None:
    """A float (or any type not money, integer, date, timestamp or text) would be sent as
    its text's bytes and read as a binary float: the whole chunk takes the text path."""
    table = Table("F", MetaData(), Column("K", Integer), Column("X", Float), Column("T", String(5)))
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        table.create(engine)
        frame = pd.DataFrame({"K": pd.array([1, 2], dtype="Int64"), "X": [1234.567, None]})
        frame["T"] = pd.Series(["a", None], dtype="str")
        assert binary_table(frame, table) is None
        with engine.begin() as conn:
            stage_rows(conn, table, frame)
        with engine.connect() as conn:
            got = conn.execute(text('SELECT "X", "T" FROM "F" ORDER BY "K"')).all()
        assert [tuple(r) for r in got] == [(1234.567, "a"), (None, None)]
    finally:
        engine.dispose()
