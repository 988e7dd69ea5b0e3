"""Definition → SQLAlchemy ``Table``, with the tool's own columns added.

The lineage columns, the unique constraint on the target key and the ``MIG_REPLACED_`` twin
a delta run keeps replaced rows in come from :mod:`migrate.staging.lineage_columns`. The
shipped tables are built here too, from the shipped pack (:mod:`migrate.targets.pack`), so a
user's definition and a shipped one become tables the same way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from migrate.staging.lineage_columns import replaced_table, target_table
from migrate.staging.types import Money
from migrate.targets.definition import ColumnDef, TableDef


class SizedMoney(Money):
    """Money (two decimals, integer cents on SQLite) with fewer than 18 digits in all."""

    cache_ok = True

    def __init__(self, precision: int) -> None:
        super().__init__()
        self.precision = precision

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, 2, asdecimal=True))


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal on every backend: NUMERIC(p, s) on PostgreSQL and MariaDB; on SQLite
    (where a NUMERIC with a fraction becomes a float) integer units of the scale when the
    value fits 18 digits, else the decimal's text."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int | None = None, scale: int | None = None) -> None:
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale if scale is not None or precision is None else 0

    def _scaled(self) -> bool:
        return self.precision is not None and self.precision <= 18

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name != "sqlite":
            return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))
        return dialect.type_descriptor(BigInteger() if self._scaled() else Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        if not self._scaled():
            return str(number)
        units = number.scaleb(self.scale or 0)
        if units != units.to_integral_value():
            raise ValueError(f"{number} has more than {self.scale} decimals")
        return int(units)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite" and self._scaled():
            return Decimal(int(value)).scaleb(-(self.scale or 0))
        return Decimal(str(value))


def column_type(col: ColumnDef) -> TypeEngine[Any]:
    """The SQLAlchemy type a declared column is stored as."""
    if col.type == "text":
        return String(col.length) if col.length else Text()
    if col.type == "money":
        return Money() if col.precision in (None, 18) else SizedMoney(col.precision or 18)
    if col.type == "decimal":
        return ExactDecimal(col.precision, col.scale)
    simple: dict[str, TypeEngine[Any]] = {
        "integer": Integer(),
        "bigint": BigInteger(),
        "date": Date(),
        "timestamp": DateTime(),
        "boolean": Boolean(),
    }
    return simple[col.type]


def build_column(name: str, col: ColumnDef) -> Column[Any]:
    return Column(
        name,
        column_type(col),
        nullable=not col.required,
        comment=col.description,
        info={"definition": col},
    )


def index_name(table: TableDef, i: int) -> str:
    """The name of the table's ``i``-th declared index (0-based)."""
    return table.indexes[i].name or f"ix_{table.table.lower()}_{i + 1}"


def build_target(md: MetaData, table: TableDef) -> Table:
    """The staging table alone (its columns, indexes, lineage and key), added to ``md``."""
    items: list[Column[Any] | Index] = [build_column(n, c) for n, c in table.columns.items()]
    for i, index in enumerate(table.indexes):
        items.append(Index(index_name(table, i), *index.columns, unique=index.unique))
    built = target_table(md, table.table, tuple(table.key), *items)
    built.info["definition"] = table
    if table.description:
        built.comment = table.description
    return built


def build_table(md: MetaData, table: TableDef) -> Table:
    """The staging table and its ``MIG_REPLACED_`` twin, added to ``md``."""
    built = build_target(md, table)
    replaced_table(md, built)
    return built


def build_metadata(tables: list[TableDef], schema: str | None = None) -> MetaData:
    """Every defined table (and its twin), optionally in a schema."""
    md = MetaData(schema=schema)
    for table in tables:
        build_table(md, table)
    return md
