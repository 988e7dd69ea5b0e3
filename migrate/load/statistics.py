"""Planner statistics for the staging tables an entity writes, refreshed as they grow.

PostgreSQL plans from statistics; a table that has none (or statistics from when it was
a tenth of its size) can turn an index probe into a scan. What a running entity queries,
and so what the refreshes while it runs must keep fresh:

- its target table, by the target key and its unique-check columns (staged-key checks on a
  re-run, unique history, delta replacements by key and run id);
- ``MIG_REJECTS``, by entity and source key (rejected parents);
- ``MIG_KEY_MAP``, by domain, system and legacy key; it grows only while an entity issues
  keys (its lookups are one unique-index probe per key, planned the same with any
  statistics).

So a refresh while the entity runs analyses only those columns (an ``ANALYZE`` of the
whole target table sorts a 30,000-row sample of every column: about twice the work), and
the key map only for an entity that issues keys. The refresh at the end of the entity
analyses the target table and ``MIG_REJECTS`` whole, for the entities and reconciliation
that follow, and again the key map only if this entity can have changed it.
"""

from __future__ import annotations

from sqlalchemy import Engine, MetaData

from migrate.spec.model import EntitySpec


def refresh_statistics(engine: Engine, md: MetaData, spec: EntitySpec, final: bool) -> None:
    """``ANALYZE`` what ``spec``'s entity writes (see the module docstring): only the queried
    columns while it runs, whole tables once it is done. PostgreSQL only."""
    if engine.dialect.name != "postgresql":
        return
    prep = engine.dialect.identifier_preparer
    unique = [c for chk in spec.checks if chk.unique for c in chk.unique.columns]
    analysed = {
        spec.target.table: [*spec.target.key, *unique, "MIG_RUN_ID"],
        "MIG_REJECTS": ["ENTITY", "SOURCE_KEY"],
    }
    if spec.issues_keys is not None:
        analysed["MIG_KEY_MAP"] = ["DOMAIN", "SOURCE_SYSTEM", "LEGACY_KEY", "ERP_KEY"]
    with engine.begin() as conn:
        for name, columns in analysed.items():
            table = md.tables[f"{md.schema}.{name}" if md.schema else name]
            listed = [prep.quote(c) for c in dict.fromkeys(columns) if c in table.c]
            scope = "" if final or not listed else f" ({', '.join(listed)})"
            conn.exec_driver_sql(f"ANALYZE {prep.format_table(table)}{scope}")
