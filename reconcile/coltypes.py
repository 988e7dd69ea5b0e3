"""Which legacy columns print as text with nothing to trim: integers and exact decimals.

The pipeline records a key as each value's text, stripped; reconciliation spells the same
in SQL as ``TRIM(CAST(col AS TEXT))``. On a column the server holds as an integer or an
exact decimal, the cast already has no surrounding spaces, and the ``TRIM`` is pure cost:
about 7% of a 1M-row legacy scan with an integer key (``bench/reconcile_bench.py``). One
zero-row probe (``WHERE 1 = 0``) asks the server for the columns' types, for a table or a
query source alike. SQLite gives no types (and its columns hold any type), so there nothing
is exempt from the ``TRIM``.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from reconcile.sqltext import family

# PostgreSQL type OIDs: int8, int2, int4, numeric
_PG_PLAIN = frozenset({20, 21, 23, 1700})
# MySQL/MariaDB field types: DECIMAL, TINY, SHORT, LONG, LONGLONG, INT24, NEWDECIMAL
_MYSQL_PLAIN = frozenset({0, 1, 2, 3, 8, 9, 246})


def untrimmed_columns(engine: Engine, from_sql: str, columns: list[str]) -> frozenset[str]:
    """The ``columns`` of ``from_sql`` (a quoted table or ``(SELECT ...) q``) typed as
    integers or exact decimals, whose text never needs trimming."""
    plain = {"postgresql": _PG_PLAIN, "mysql": _MYSQL_PLAIN}.get(family(engine.dialect.name))
    return _typed(engine, from_sql, columns, plain)


# the integer types alone: a value's text is then its number's (``1``, never ``1.0``)
_PG_INTEGER = frozenset({20, 21, 23})
_MYSQL_INTEGER = frozenset({1, 2, 3, 8, 9})


def integer_columns(engine: Engine, from_sql: str, columns: list[str]) -> frozenset[str]:
    """The ``columns`` of ``from_sql`` the server holds as integers (never on SQLite, whose
    columns hold any type)."""
    codes = {"postgresql": _PG_INTEGER, "mysql": _MYSQL_INTEGER}.get(family(engine.dialect.name))
    return _typed(engine, from_sql, columns, codes)


def _typed(
    engine: Engine, from_sql: str, columns: list[str], plain: frozenset[int] | None
) -> frozenset[str]:
    wanted = list(dict.fromkeys(columns))
    if plain is None or not wanted:
        return frozenset()
    quote = engine.dialect.identifier_preparer.quote
    sql = f"SELECT {', '.join(quote(c) for c in wanted)} FROM {from_sql} WHERE 1 = 0"
    with engine.connect() as conn:
        result = conn.execute(text(sql))
        described = result.cursor.description or ()
        result.close()
    return frozenset(c for c, d in zip(wanted, described, strict=True) if d[1] in plain)
