"""The generic CSV export: any staging table, a header, the definition's column order.

For the tables no vendor layout covers (the HR tables, a user's declared targets) and for
ERPs that take plain CSV templates. Dates are ISO (``YYYY-MM-DD``), timestamps ISO with
microseconds, money with two decimals, text as staged (quoted where CSV needs it, line
breaks included); a text longer than the table declares fails the export. A declared date
or timestamp column with a ``format`` (``YYYY/MM/DD``) is written in it. The lineage
columns are left out unless asked for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, Numeric, String, Table
from sqlalchemy.types import TypeEngine

from migrate.errors import ConfigError
from migrate.export.rows import Dataset
from migrate.export.values import ColumnFormat
from migrate.staging.types import Money
from migrate.validate.declared import format_regex


def csv_format(column: Column[Any]) -> ColumnFormat:
    """How a staged column is written in a generic CSV: by its type, and for a declared
    date or timestamp column with a ``format`` (``YYYY/MM/DD``), in that format."""
    fmt = _by_type(column.name, column.type)
    declared = getattr(column.info.get("definition"), "format", None)
    if declared is None or fmt.kind not in ("date", "timestamp"):
        return fmt
    parsed = format_regex(declared)
    if parsed is None:
        raise ConfigError(f"{column.table.name}.{column.name}: cannot write format {declared!r}")
    if fmt.kind == "date":
        return replace(fmt, date_format=parsed[1])
    return replace(fmt, timestamp_format=parsed[1])


def _by_type(name: str, sql_type: TypeEngine[Any]) -> ColumnFormat:
    if isinstance(sql_type, Money):
        return ColumnFormat(name, "money")
    if isinstance(sql_type, Boolean):
        return ColumnFormat(name, "boolean")
    if isinstance(sql_type, DateTime):
        return ColumnFormat(name, "timestamp")
    if isinstance(sql_type, Date):
        return ColumnFormat(name, "date")
    if isinstance(sql_type, Integer):
        return ColumnFormat(name, "integer")
    impl = getattr(sql_type, "impl", None)
    if isinstance(sql_type, Numeric) or isinstance(impl, Numeric):
        precision = getattr(sql_type, "precision", None)
        return ColumnFormat(
            name, "number", precision=precision, scale=getattr(sql_type, "scale", None)
        )
    if isinstance(sql_type, String) and sql_type.length:
        return ColumnFormat(name, "text", length=sql_type.length)
    return ColumnFormat(name, "text")


def csv_dataset(staged: Table, columns: list[str]) -> Dataset:
    """``<TABLE>.csv``: a header, then ``columns`` in the table's declared order."""
    fields: list[ColumnFormat | None] = [csv_format(staged.c[c]) for c in columns]
    return Dataset(
        table=staged.name,
        name=f"{staged.name}.csv",
        fields=fields,
        header=list(columns),
        money=frozenset(c for c in columns if isinstance(staged.c[c].type, Money)),
        left_out=[],
        key=list(staged.info.get("target_key") or ()),
    )
