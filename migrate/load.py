"""Bulk writes into staging: COPY on PostgreSQL, large ``executemany`` batches elsewhere.

Frames arrive with money as integer cents and dates as ``datetime64``; :func:`wire_columns`
turns them into what each driver takes without any float (cents become ``"123.45"`` text
for PostgreSQL and MariaDB, stay integers on SQLite where :class:`Money` stores cents).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pandas as pd
from sqlalchemy import Connection, MetaData, Table

from migrate.staging.tables import build_metadata
from migrate.validate.coerce import target_kind

_NULL = "\\N"


def cents_text(cents: pd.Series) -> pd.Series:
    """Integer cents as exact decimal text (``-1234`` -> ``"-12.34"``)."""
    c = cents.astype("Int64")
    absval = c.abs()
    text = (absval // 100).astype("str") + "." + (absval % 100).astype("str").str.zfill(2)
    return text.where(c >= 0, "-" + text).where(c.notna())


def wire_columns(frame: pd.DataFrame, table: Table, dialect: str) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        kind = target_kind(table.c[name])
        s = frame[name]
        if kind == "money":
            out[name] = s.astype("Int64") if dialect == "sqlite" else cents_text(s)
        elif kind == "date":
            out[name] = s.dt.strftime("%Y-%m-%d")
        elif kind == "datetime":
            out[name] = s.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif kind == "integer":
            out[name] = s.astype("Int64")
        else:
            out[name] = s.astype("str")
    return out


def _records(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    obj = frame.astype("object").where(frame.notna(), None)
    return list(obj.itertuples(index=False, name=None))


def insert_frame(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    """Insert a wire-ready frame with the dialect's bulk path; returns rows written."""
    if frame.empty:
        return 0
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return _copy(conn, table, frame)
    cols = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in frame.columns)
    marks = (
        ", ".join(["?"] * len(frame.columns))
        if dialect == "sqlite"
        else ", ".join(["%s"] * len(frame.columns))
    )
    name = conn.dialect.identifier_preparer.format_table(table)
    sql = f"INSERT INTO {name} ({cols}) VALUES ({marks})"
    records = _records(frame)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(records), 20_000):
            cursor.executemany(sql, records[start : start + 20_000])
    finally:
        cursor.close()
    return len(records)


def _copy(conn: Connection, table: Table, frame: pd.DataFrame) -> int:
    prep = conn.dialect.identifier_preparer
    cols = ", ".join(prep.quote(c) for c in frame.columns)
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, na_rep=_NULL, quoting=csv.QUOTE_MINIMAL)
    sql = f"COPY {prep.format_table(table)} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')"
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
        copy.write(buf.getvalue())
    return len(frame)


def ensure_staging(url: str, schema: str | None = None) -> MetaData:
    """Create the staging tables (and schema) if missing; returns their metadata."""
    from migrate.db import writable_engine

    engine = writable_engine(url)
    md = build_metadata(schema)
    with engine.begin() as conn:
        if schema and conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        md.create_all(conn)
    engine.dispose()
    return md


__all__ = ["cents_text", "ensure_staging", "insert_frame", "wire_columns"]
