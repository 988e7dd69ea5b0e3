"""Cast transformed columns to the staging column's type, reporting what will not convert.

Money is integer cents (``Int64``) in every frame; dates are ``datetime64``; a value that
cannot be cast is a failure with a reason, never a silent null. Staging date and timestamp
columns carry no time zone: a source timestamp with one is converted to UTC (PostgreSQL
would otherwise drop the offset and keep the wall-clock time of whatever zone the extract
session used), and a date column keeps the UTC day.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Column, Date, DateTime, Integer, String, Table

from migrate.staging.types import Money
from migrate.transform import parse
from migrate.transform.failures import Failures


def target_kind(column: Column[object]) -> str:
    t = column.type
    if isinstance(t, Money):
        return "money"
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
        kind = target_kind(table.c[name])
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
