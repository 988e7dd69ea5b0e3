"""The PostgreSQL read path of the extract: ADBC runs the query as ``COPY ... TO STDOUT
(FORMAT binary)`` and decodes it to Arrow in C; the frames come out with the dtypes the
cursor path gives (``Decimal`` for numeric, ``date`` objects, exact ``int64``), cut to
exactly ``chunk_size`` rows so chunk boundaries, hence batch ids, are the same."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, Select

from migrate.extract.readahead import read_ahead

# PostgreSQL types the Arrow path converts to exactly what the cursor path gives.
_ARROW_TYPES = frozenset(
    {"int2", "int4", "int8", "numeric", "float4", "float8", "bool"}
    | {"text", "varchar", "bpchar", "date", "timestamp"}
)


def arrow_frames(
    engine: Engine, stmt: Select[Any], chunk_size: int
) -> Iterator[pd.DataFrame] | None:
    """Frames of ``chunk_size`` rows read through ADBC, or ``None`` to use the cursor path
    (driver not installed, or a column type outside :data:`_ARROW_TYPES`)."""
    try:
        import adbc_driver_postgresql.dbapi as adbc
    except ImportError:  # pragma: no cover - the dependency is declared
        return None
    sql = _literal_sql(engine, stmt)
    conn = adbc.connect(_readonly_uri(engine))
    try:
        cur = conn.cursor()
        cur.execute(sql)
        reader = cur.fetch_record_batch()
        if not all(_pg_type(f) in _ARROW_TYPES for f in reader.schema):
            conn.close()
            return None
    except BaseException:
        conn.close()
        raise
    return read_ahead(_cut(conn, cur, reader, chunk_size))


def _cut(
    conn: Any, cur: Any, reader: pa.RecordBatchReader, chunk_size: int
) -> Generator[pd.DataFrame]:
    """Re-cut the driver's batches into frames of exactly ``chunk_size`` rows, as the cursor
    path yields them (chunk boundaries, hence batch ids, stay the same)."""
    try:
        held: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            held.append(batch)
            rows += batch.num_rows
            while rows >= chunk_size:
                table = pa.Table.from_batches(held, reader.schema)
                yield _to_pandas(table.slice(0, chunk_size))
                held = table.slice(chunk_size).to_batches()
                rows -= chunk_size
        if rows:
            yield _to_pandas(pa.Table.from_batches(held, reader.schema))
    finally:  # the cursor owns the stream: it is closed here, not when collected
        cur.close()
        conn.close()


def _pg_type(field: pa.Field) -> str:
    meta: dict[bytes, bytes] = field.metadata or {}
    return meta.get(b"POSTGRESQL:type", b"").decode()


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow to the dtypes of the cursor path: every integer as ``int64`` (nullable ``Int64``
    where a null is present, see :func:`_exact_integers`), numeric as ``Decimal``
    objects parsed from PostgreSQL's own text, dates as ``date`` objects."""
    numeric: list[str] = []
    columns: list[pa.ChunkedArray] = []
    for field, col in zip(table.schema, table.columns, strict=True):
        kind = _pg_type(field)
        if kind in ("int2", "int4"):
            col = col.cast(pa.int64())
        elif kind == "numeric":
            if isinstance(col.type, pa.ExtensionType):  # arrow.opaque over PostgreSQL's text
                col = pa.chunked_array([c.storage for c in col.chunks], col.type.storage_type)
            numeric.append(field.name)
        columns.append(col)
    frame: pd.DataFrame = pa.table(columns, names=table.column_names).to_pandas()
    for name, col in zip(table.column_names, columns, strict=True):
        if pa.types.is_integer(col.type) and col.null_count:  # exact, not float64
            frame[name] = col.to_pandas(types_mapper=lambda t: pd.Int64Dtype())
        elif pa.types.is_floating(col.type) and pc.any(pc.is_nan(col)).as_py():
            # a NaN held as a value is not a NULL (pandas' float64 holds both as NaN): the
            # text "NaN" in an object column, which the money step refuses, never blank
            values = ["NaN" if v is not None and v != v else v for v in col.to_pylist()]
            frame[name] = pd.Series(values, index=frame.index, dtype="object")
    for name in numeric:
        frame[name] = pd.Series(
            [None if v is None else Decimal(v) for v in table[name].to_pylist()],
            index=frame.index,
            dtype="object",
        )
    return frame


_READ_ONLY = "-c default_transaction_read_only=on"


def _readonly_uri(engine: Engine) -> str:
    """The engine's libpq URI with ``default_transaction_read_only`` set at connect, so this
    second connection to a legacy database is read-only like the engine's own sessions."""
    from urllib.parse import quote

    url = engine.url.set(drivername="postgresql")
    given = url.query.get("options")
    parts = [given] if isinstance(given, str) else list(given or ())
    options = " ".join([*parts, _READ_ONLY])
    base = url.difference_update_query(["options"]).render_as_string(hide_password=False)
    # libpq decodes %20, not the "+" that form encoding would give for a space
    return f"{base}{'&' if '?' in base else '?'}options={quote(options, safe='')}"


def _literal_sql(engine: Engine, stmt: Select[Any]) -> str:
    """The statement with its parameters inlined by psycopg's own quoting: the driver
    streams through COPY only for a statement without parameters."""
    import psycopg

    compiled = stmt.compile(dialect=engine.dialect)
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        sql: str = psycopg.ClientCursor(raw).mogrify(str(compiled), compiled.params)
    return sql
