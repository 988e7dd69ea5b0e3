"""Cast transformed columns to the staging column's type, reporting what will not convert.

Money is integer cents (``Int64``) in every frame; dates are ``datetime64``; a value that
cannot be cast is a failure with a reason, never a silent null. A declared ``decimal`` is an
exact :class:`~decimal.Decimal` (object dtype, never a float) and a declared ``boolean`` is
read from its accepted spellings (:mod:`migrate.validate.declared`). Staging date and timestamp
columns carry no time zone: a source timestamp with one is converted to UTC (PostgreSQL
would otherwise drop the offset and keep the wall-clock time of whatever zone the extract
session used), and a date column keeps the UTC day.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, Numeric, String, Table
from sqlalchemy.types import TypeDecorator

from migrate.staging.types import Money
from migrate.transform import parse
from migrate.transform.failures import Failures
from migrate.validate.declared import to_boolean, to_decimal


def target_kind(column: Column[object]) -> str:
    """money, datetime, date, integer, decimal, boolean or text: how a frame holds it."""
    t = column.type
    if isinstance(t, Money):
        return "money"
    if isinstance(t, TypeDecorator):  # a declared decimal: exact on every backend
        inner = t.impl_instance
        if isinstance(inner, Numeric):
            return "decimal"
    if isinstance(t, Boolean):
        return "boolean"
    if isinstance(t, Numeric) and not isinstance(t, Float):
        return "decimal"
    if isinstance(t, DateTime):
        return "datetime"
    if isinstance(t, Date):
        return "date"
    if isinstance(t, Integer):
        return "integer"
    if isinstance(t, String):
        return "text"
    return "text"


def coerce(
    frame: pd.DataFrame, table: Table, failures: Failures, cents: frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Every field column cast to its target kind; unconvertible values become failures.

    ``cents`` names the fields whose steps already produced integer cents (a ``money`` step);
    any other value for a money column is read as an amount in units: a legacy quantity of
    ``8`` is 8.00, never 0.08.
    """
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        column = table.c[name]
        kind = target_kind(column)
        if kind == "decimal":
            value, bad, inexact = to_decimal(frame[name], column)
            failures.add(bad, name, "invalid_decimal", frame[name])
            failures.add(inexact, name, "inexact_float", frame[name])
            out[name] = value
        elif kind == "boolean":
            flags, bad = to_boolean(frame[name], column)
            failures.add(bad, name, "invalid_boolean", frame[name])
            out[name] = flags
        else:
            out[name] = _cast(frame[name], kind, name, failures, name in cents)
    return out


def _cast(s: pd.Series, kind: str, name: str, failures: Failures, is_cents: bool) -> pd.Series:
    if kind == "money":
        if is_cents:
            return s.astype("Int64")
        value, bad = parse.money_to_cents(s, "fixed")
        failures.add(bad, name, "invalid_amount", s)
        return value
    if kind in ("date", "datetime"):
        if isinstance(s.dtype, pd.DatetimeTZDtype):  # staging timestamps have no zone: UTC
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            return s.dt.normalize() if kind == "date" else s
        value, bad = parse.to_datetime(s, "%Y-%m-%d")
        failures.add(bad, name, "invalid_date", s)
        return value.dt.normalize() if kind == "date" else value
    if kind == "integer":
        if pd.api.types.is_integer_dtype(s.dtype):
            return s.astype("Int64")
        value, bad = parse.to_integer(s)
        failures.add(bad, name, "invalid_format", s)
        return value
    return parse.as_text(s)


def wire_declared(s: pd.Series, column: Column[object], dialect: str) -> pd.Series:
    """A declared decimal or boolean column as the staging driver takes it, exactly.

    A decimal is its exact text (PostgreSQL, MariaDB, and SQLite beyond 18 digits), or on
    SQLite its integer units of the scale (:class:`migrate.targets.build.ExactDecimal`); a
    boolean is ``true``/``false`` for PostgreSQL's COPY, 1/0 elsewhere. Never a float."""
    present = s.notna()
    if target_kind(column) == "boolean":
        if dialect == "postgresql":
            return s.map(lambda v: "true" if v else "false").where(present, None)
        return s.astype("boolean").astype("Int64")
    precision = getattr(column.type, "precision", None)
    scale = getattr(column.type, "scale", None) or 0
    if dialect == "sqlite" and precision is not None and precision <= 18:
        units = s.astype("object").map(lambda v: None if v is None else int(v.scaleb(scale)))
        return units.where(present, None).astype("Int64")
    return s.astype("object").map(lambda v: None if v is None else format(v, "f"))
