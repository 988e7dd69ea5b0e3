"""Staging made ready for a run: its schema and tables created where missing, and a table an
earlier version made refused when it lacks a lineage column. A module of the staging package,
so whoever only finds a run's staging (reconciliation, ``migrate runs``) loads none of the
load stage's writers."""

from __future__ import annotations

from sqlalchemy import MetaData

from migrate.db import writable_engine
from migrate.staging.lineage_columns import refuse_old_lineage
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
