"""The staging side of an export's proof: per table, what the run staged, counted in SQL.

For the run's rows of one table: the row count, the non-empty values of every column (a
text column's empty string counts as empty, as it is in a CSV) and the exact total of each
money column in cents (:func:`migrate.staging.types.cents_sql`, exact on every engine;
money is integer cents on SQLite). A money value that is not an exact cent (on SQLite a REAL
or a text an UPDATE left, which the cents reading would truncate to the exported figure)
makes the table unverifiable, never equal. Which columns are money, and which are lineage, come
from the staging table definitions, not from the exporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import String, inspect, text
from sqlalchemy.engine import Engine

from migrate.staging.catalog import staging_metadata, staging_table
from migrate.staging.tables import LINEAGE_COLUMNS, REPLACED_PREFIX
from migrate.staging.types import Money, cents_sql


@dataclass(frozen=True)
class StagedTally:
    """What staging holds of one table for the run."""

    table: str
    rows: int
    filled: dict[str, int]  # every data column (and lineage columns): non-empty values
    totals: dict[str, Decimal]  # every money column
    lineage: frozenset[str]


def _not_cents(col: str, dialect: str) -> str:
    """1 for a money value that is not an exact cent: on SQLite anything but an integer
    (a REAL left by an UPDATE, a text), which the integer-cents reading would truncate;
    elsewhere a value with more than two decimals, which a cast would round."""
    if dialect == "sqlite":
        return f"CASE WHEN typeof({col}) NOT IN ('integer', 'null') THEN 1 ELSE 0 END"
    return f"CASE WHEN {col} <> ROUND({col}, 2) THEN 1 ELSE 0 END"


def money_columns(table: str) -> set[str]:
    t = staging_table(table)
    return {c.name for c in t.columns if isinstance(c.type, Money)} if t is not None else set()


def staged_tally(engine: Engine, schema: str | None, table: str, run_id: str) -> StagedTally:
    """One query over the run's rows of ``table``."""
    t = staging_table(table)
    if t is None:
        raise LookupError(f"staging defines no table {table!r}")
    quote = engine.dialect.identifier_preparer.quote
    dialect = engine.dialect.name
    source = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
    parts = ["COUNT(*)"]
    names = [c.name for c in t.columns]
    for c in t.columns:
        col = quote(c.name)
        parts.append(f"COUNT(NULLIF({col}, ''))" if isinstance(c.type, String) else f"COUNT({col})")
    money = [c.name for c in t.columns if isinstance(c.type, Money)]
    parts += [f"SUM({cents_sql(quote(m), dialect)})" for m in money]
    parts += [f"SUM({_not_cents(quote(m), dialect)})" for m in money]
    sql = f"SELECT {', '.join(parts)} FROM {source} WHERE {quote('MIG_RUN_ID')} = :run"
    with engine.connect() as conn:
        row = conn.execute(text(sql), {"run": run_id}).one()
    filled = {n: int(v) for n, v in zip(names, row[1 : 1 + len(names)], strict=True)}
    sums = row[1 + len(names) : 1 + len(names) + len(money)]
    odd = {m: int(n or 0) for m, n in zip(money, row[1 + len(names) + len(money) :], strict=True)}
    if bad := {m: n for m, n in odd.items() if n}:
        raise LookupError(
            "; ".join(
                f"{n:,} staged value(s) of {table}.{m} are not whole cents (written "
                "outside the tool?), which no amount reading restates exactly"
                for m, n in sorted(bad.items())
            )  # fmt: skip
        )
    totals = {m: Decimal(int(s or 0)).scaleb(-2) for m, s in zip(money, sums, strict=True)}
    return StagedTally(table, int(row[0]), filled, totals, frozenset(LINEAGE_COLUMNS))


def staged_tables(engine: Engine, schema: str | None, run_id: str) -> dict[str, int]:
    """Every target table holding rows of the run, with its row count: what an export of
    the whole run would have to carry."""
    present = set(inspect(engine).get_table_names(schema=schema))
    quote = engine.dialect.identifier_preparer.quote
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for t in staging_metadata().tables.values():
            if "target_key" not in t.info or t.name.startswith(REPLACED_PREFIX):
                continue
            if t.name not in present:
                continue
            source = f"{quote(schema)}.{quote(t.name)}" if schema else quote(t.name)
            sql = f"SELECT COUNT(*) FROM {source} WHERE {quote('MIG_RUN_ID')} = :run"
            if n := int(conn.execute(text(sql), {"run": run_id}).scalar_one()):
                out[t.name] = n
    return out
