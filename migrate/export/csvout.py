"""The generic CSV export: any staging table, a header, the definition's column order.

For the tables no vendor layout covers (the HR tables, a user's declared targets) and for
ERPs that take plain CSV templates. Dates are ISO (``YYYY-MM-DD``), timestamps ISO with
microseconds, money with two decimals, text as staged (quoted where CSV needs it, line
breaks included); a text longer than the table declares fails the export. The lineage
columns are left out unless asked for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, Table
from sqlalchemy.types import TypeEngine

from migrate.export.rows import Dataset
from migrate.export.values import ColumnFormat
from migrate.staging.types import Money


def csv_format(name: str, sql_type: TypeEngine[Any]) -> ColumnFormat:
    """How a staged column of this type is written in a generic CSV."""
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
        return ColumnFormat(name, "number")
    if isinstance(sql_type, String) and sql_type.length:
        return ColumnFormat(name, "text", length=sql_type.length)
    return ColumnFormat(name, "text")


def csv_dataset(staged: Table, columns: list[str]) -> Dataset:
    """``<TABLE>.csv``: a header, then ``columns`` in the table's declared order."""
    fields: list[ColumnFormat | None] = [csv_format(c, staged.c[c].type) for c in columns]
    return Dataset(
        table=staged.name,
        name=f"{staged.name}.csv",
        fields=fields,
        header=list(columns),
        money=frozenset(c for c in columns if isinstance(staged.c[c].type, Money)),
        left_out=[],
        key=list(staged.info.get("target_key") or ()),
    )
