"""Column types as reconciliation reads them: a staging column's kind (:func:`column_kind`),
and which legacy columns print as text with nothing to trim (integers, exact decimals).

A staging column's kind is what its restated value is compared as: text, date, datetime,
money, integer, and for a declared target's columns decimal and boolean, whose :class:`Kind`
keeps the column (a decimal's precision and scale, a boolean's declared spellings). Any
other type has no kind: its column is not verified, and says why.

The pipeline records a key as each value's text, stripped; reconciliation spells the same
in SQL as ``TRIM(CAST(col AS TEXT))``. On a column the server holds as an integer or an
exact decimal, the cast already has no surrounding spaces, and the ``TRIM`` is pure cost:
about 7% of a 1M-row legacy scan with an integer key (``bench/reconcile_bench.py``). One
zero-row probe (``WHERE 1 = 0``) asks the server for the columns' types, for a table or a
query source alike. SQLite gives no types (and its columns hold any type), so there nothing
is exempt from the ``TRIM``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Engine, Float, Integer, Numeric, String
from sqlalchemy import text as sql_text
from sqlalchemy.types import TypeDecorator

from migrate.staging.types import Money
from reconcile.reading import numbers as N
from reconcile.reading.numbers import FALSE_WORDS, TRUE_WORDS
from reconcile.reading.sqltext import family


class Kind(str):
    """A staging column's kind (compares as its name), with the column it was read from."""

    column: Column[Any] | None

    def __new__(cls, name: str, column: Column[Any] | None = None) -> Kind:
        made = super().__new__(cls, name)
        made.column = column
        return made

    @staticmethod
    def of(kind: str) -> Kind:
        """``kind`` as a :class:`Kind` (a plain name keeps no column)."""
        return kind if isinstance(kind, Kind) else Kind(kind)

    def canonical(self, value: object, source: bool) -> str | None:
        """A declared decimal (exact text) or boolean (``true``/``false``): from the legacy
        row by the definition's precision, scale and spellings; as staged, as stored.
        Raises :class:`~reconcile.reading.numbers.Refused` where the pipeline rejects."""
        if self == "boolean":
            found = N.flag(value, *self.spellings()) if source else N.staged_flag(value)
            return None if found is None else str(found).lower()
        number = N.exact(value, *self.shape()) if source else N.exact(value, None, None)
        return None if number is None else N.decimal_text(number)

    def from_stored(self, value: object, dialect: str) -> object:
        """A staged decimal as SQLite keeps it (integer units of the scale) as a number."""
        if dialect == "sqlite" and isinstance(value, int) and self.stored_units():
            return Decimal(value).scaleb(-(self.shape()[1] or 0))
        return value

    def shape(self) -> tuple[int | None, int | None]:
        """A decimal's (precision, scale); (None, None) when it declares none."""
        t = None if self.column is None else self.column.type
        precision = getattr(t, "precision", None)
        scale = getattr(t, "scale", None)
        return precision, (0 if precision is not None and scale is None else scale)

    def stored_units(self) -> bool:
        """SQLite keeps a declared decimal of up to 18 digits as integer units of its scale."""
        precision = self.shape()[0]
        return precision is not None and precision <= 18

    def spellings(self) -> tuple[frozenset[str], frozenset[str]]:
        """A boolean's accepted spellings (lower case): declared, else the usual ones."""
        d = None if self.column is None else self.column.info.get("definition")
        true = getattr(d, "true_values", None)
        false = getattr(d, "false_values", None)
        return (
            frozenset(str(v).lower() for v in true) if true else TRUE_WORDS,
            frozenset(str(v).lower() for v in false) if false else FALSE_WORDS,
        )


def column_kind(column: Column[Any]) -> Kind | None:
    """The staging column's kind, or None for a type reconciliation does not restate."""
    t = column.type
    if isinstance(t, Money):
        return Kind("money", column)
    if isinstance(t, DateTime):
        return Kind("datetime", column)
    if isinstance(t, Date):
        return Kind("date", column)
    if isinstance(t, Integer):
        return Kind("integer", column)
    if isinstance(t, Boolean):
        return Kind("boolean", column)
    inner = t.impl_instance if isinstance(t, TypeDecorator) else t
    if isinstance(inner, Numeric) and not isinstance(inner, Float):
        return Kind("decimal", column)
    return Kind("text", column) if isinstance(t, String) else None


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
        result = conn.execute(sql_text(sql))
        described = result.cursor.description or ()
        result.close()
    return frozenset(c for c, d in zip(wanted, described, strict=True) if d[1] in plain)
