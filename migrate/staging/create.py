"""Staging made ready for a run: its schema and tables created where missing, and a table an
earlier version made refused when it lacks a lineage column. A module of the staging package,
so whoever only finds a run's staging (reconciliation, ``migrate runs``) loads none of the
load stage's writers."""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, inspect

from migrate.db import writable_engine
from migrate.errors import SchemaMismatch
from migrate.staging.lineage_columns import LINEAGE_COLUMNS
from migrate.staging.tables import build_metadata


def ensure_staging(url: str, schema: str | None = None) -> MetaData:
    """Create the staging tables (and schema) if missing; returns their metadata."""
    engine = writable_engine(url)
    md = build_metadata(schema)
    try:
        with engine.begin() as conn:
            if schema and conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            md.create_all(conn)
            refuse_old_lineage(conn, md)
    finally:
        engine.dispose()
    return md


def refuse_old_lineage(conn: Connection, md: MetaData) -> None:
    """A staging table made by an earlier version lacks a lineage column (``MIG_ENTITY``
    came with issue 19): stop with the DDL a DBA would run; never alter a table silently."""
    found = inspect(conn)
    for table in md.tables.values():
        if "target_key" not in table.info or not found.has_table(table.name, table.schema):
            continue
        have = {c["name"] for c in found.get_columns(table.name, schema=table.schema)}
        for name in [c for c in LINEAGE_COLUMNS if c not in have]:
            column = table.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            where = f"{table.schema}.{table.name}" if table.schema else table.name
            fill = " and set it to the entity that staged each row" if name == "MIG_ENTITY" else ""
            raise SchemaMismatch(
                f"staging table {where} has no column {name} (made by an earlier version): "
                f"ALTER TABLE {where} ADD COLUMN {name} {kind}{fill}, or stage into a new "
                "database"
            )
