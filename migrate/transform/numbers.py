"""Values read as exact numbers, for comparisons in conditions and the number steps
(``abs``, ``negate``, ``format_number``).

The reading is the one ``migrate/spec/conditions.py`` documents: an integer or ``Decimal``
is itself; text, trimmed of ASCII whitespace, is an optional sign, digits with at most one
decimal point, and an optional exponent. Blank is no number (none); anything else present is
*unreadable*, and the caller rejects its row (``invalid_number``): never a silent true or
false, never a zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from migrate.spec.conditions import Condition
from migrate.transform import parse

_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
REASON = "invalid_number"
# ``format_number`` refuses a number of this many integer digits or more (1E40): no staging
# column holds it, and exact formatting of a huge exponent would not end
FORMAT_LIMIT = 40


class NotANumber(ValueError):
    """A present value that is not a number."""


def read(value: object) -> Decimal | None:
    """One value as an exact number (None when blank); :class:`NotANumber` otherwise."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool):
        raise NotANumber(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise NotANumber(value)
        return value
    if isinstance(value, float):
        if value != value:
            return None
        value = repr(value)
    text = str(value).strip(parse.SPACE)
    if text == "":
        return None
    if not _NUMBER.fullmatch(text):
        raise NotANumber(value)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise NotANumber(value) from None


def numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A column as exact numbers (object dtype, None where blank or unreadable) and the mask
    of unreadable values."""
    values: list[Decimal | None] = []
    bad: list[bool] = []
    for v in s.astype("object"):
        try:
            values.append(read(v))
            bad.append(False)
        except NotANumber:
            values.append(None)
            bad.append(True)
    return pd.Series(values, index=s.index, dtype="object"), pd.Series(bad, index=s.index)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def amounts(s: pd.Series, encoding: str) -> tuple[pd.Series, pd.Series]:
    """A column read as the ``money`` step reads it, as exact units (object dtype), and the
    mask of present values that are no amount."""
    cents, bad = parse.money_to_cents(s, encoding)
    values = [None if c is pd.NA or c is None else Decimal(int(c)).scaleb(-2) for c in cents]
    return pd.Series(values, index=s.index, dtype="object"), bad.fillna(False).astype(bool)


def days(s: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series]:
    """A column as days (object dtype: ``date`` or None): a date or timestamp is its day,
    text is parsed as the ``date`` step parses it; and the mask of present values that are
    no date in that format."""
    raw = s.astype("object")
    timed = raw.map(lambda v: isinstance(v, (date, datetime, pd.Timestamp)))
    parsed, bad = parse.to_date(raw.where(~timed), fmt)
    out = [
        (v.date() if isinstance(v, datetime) else v) if t else (None if pd.isna(p) else p.date())
        for v, t, p in zip(raw, timed, parsed, strict=True)
    ]
    return pd.Series(out, index=s.index, dtype="object"), bad & ~timed


def compare(cond: Condition, s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(holds, unreadable) for a condition's comparisons on a column: every bound must hold;
    a blank value holds none."""
    if cond.dated:
        got, bad = days(s, cond.date_format or "%Y-%m-%d")
        held = [
            v is not None and all(_OPS[op](v, day) for op, day in cond.date_bounds()) for v in got
        ]
        return pd.Series(held, index=s.index, dtype=bool), bad
    values, bad = numbers(s) if cond.amount is None else amounts(s, cond.amount)
    bounds = cond.bounds()
    holds = [v is not None and all(_OPS[op](v, bound) for op, bound in bounds) for v in values]
    return pd.Series(holds, index=s.index, dtype=bool), bad
