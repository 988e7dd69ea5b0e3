"""The staging tables of a project: the shipped pack, the user's declared targets, bookkeeping.

The ERP target tables are data, not code: the shipped pack
(``migrate/targets/packs/oracle_fusion/``, :mod:`migrate.targets.pack`) declares them as
target definitions. Finance and procurement tables follow Oracle Fusion's FBDI interface
layouts (same column names, positions, lengths and date formats, restricted to the columns
a city's migration fills) and are generated from those layouts by a recipe; receivables
and HR tables, which no shared layout covers, are written by hand in the same style. The
layout columns left out are listed in ``docs/reference/staging.md``.

Every target table gets the tool's lineage columns, the unique constraint on its target
key and its ``MIG_REPLACED_`` twin (:mod:`migrate.staging.lineage_columns`); the tool's own
bookkeeping tables come from :mod:`migrate.staging.bookkeeping`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData

from migrate.staging.bookkeeping import bookkeeping
from migrate.staging.lineage_columns import LINEAGE_COLUMNS, REPLACED_PREFIX, replaced_name

__all__ = ["LINEAGE_COLUMNS", "REPLACED_PREFIX", "build_metadata", "replaced_name"]


def build_metadata(schema: str | None = None) -> MetaData:
    """All staging tables, optionally in a schema (a rehearsal uses its own schema)."""
    # not at the top: migrate.targets' package imports migrate.load.bulk, which imports this
    from migrate.targets.pack import add_shipped_tables

    md = MetaData(schema=schema)
    add_shipped_tables(md)
    _declared(md)  # builds each declared table with its own twin
    bookkeeping(md)
    return md


def _declared(md: MetaData) -> None:
    """The user's own target definitions (:mod:`migrate.staging.catalog`), if any."""
    from migrate.staging.catalog import declared_directories

    directories = declared_directories()
    if directories:
        from migrate.targets.declared import add_declared_tables

        add_declared_tables(md, directories)


def __getattr__(name: str) -> Any:
    """``METADATA``, the shipped tables without a schema, built when first asked for (not at
    import: the pack is read from files). Prefer :func:`migrate.staging.catalog.staging_table`."""
    if name == "METADATA":
        from migrate.staging.catalog import staging_metadata

        return staging_metadata()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
