"""Values read as exact numbers, for comparisons in conditions and the number steps
(``abs``, ``negate``, ``format_number``).

The reading is the one ``migrate/spec/conditions.py`` documents: an integer or ``Decimal``
is itself; text, trimmed of ASCII whitespace, is an optional sign, ASCII digits with at most
one decimal point, and an optional exponent. Blank is no number (none), and so is a float
NaN (pandas' NULL; a NaN the database holds arrives as the text ``NaN``, no number); anything
else present is *unreadable*, and the caller rejects its row (``invalid_number``): never a
silent true or false, never a zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation, localcontext
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    if isinstance(value, float):  # NaN is pandas' NULL; an infinity is no number
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


# Plain decimal text, read at once as integers of millionths: up to 12 integer digits and 6
# decimals fit in 64 bits (10**18 < 2**63). Other text goes through :func:`read`, one value
# at a time (exact too, about twenty times slower).
_PLAIN = r"^(?P<sign>[+-]?)(?P<whole>[0-9]{1,12})(?:\.(?P<frac>[0-9]{0,6}))?$"
_SCALE = 6
_LIMIT = 2**62  # a bound beyond it is compared one value at a time


def _plain_scaled(s: pd.Series) -> tuple[pd.Series, int]:
    """The values as exact integers at a scale (10**scale units each; null where blank or not
    plain): an integer column as it is, plain decimal text in millionths (Arrow's kernels)."""
    if parse.is_integer(s):
        return s.astype("Int64"), 0
    text = pa.array(parse.as_text(s), pa.string())
    text = pc.utf8_trim(text, characters=parse.SPACE)
    parts = pc.extract_regex(text, pattern=_PLAIN)
    whole = pc.cast(pc.struct_field(parts, "whole"), pa.int64())
    frac = pc.utf8_rpad(pc.struct_field(parts, "frac"), width=_SCALE, padding="0")
    value = pc.add(pc.multiply(whole, 10**_SCALE), pc.cast(frac, pa.int64()))
    minus = pc.equal(pc.struct_field(parts, "sign"), "-")
    value = pc.if_else(minus, pc.negate(value), value)
    data = pc.fill_null(value, 0).to_numpy(zero_copy_only=False).astype("int64")
    mask = pc.is_null(value).to_numpy(zero_copy_only=False)
    return pd.Series(pd.arrays.IntegerArray(data, mask), index=s.index), _SCALE


def _int_bound(op: str, bound: Decimal, scale: int) -> int | None:
    """An integer ``b`` with ``v op bound`` exactly when ``v op b`` for integers ``v`` at
    ``scale``: the ceiling for < and >=, the floor for <= and > (None: beyond 64 bits)."""
    with localcontext() as wide:
        wide.prec = 100
        scaled = bound.scaleb(scale)
        rounded = scaled.to_integral_value(ROUND_CEILING if op in ("<", ">=") else ROUND_FLOOR)
    out = int(rounded)
    return out if -_LIMIT < out < _LIMIT else None


def _held(ints: pd.Series, scale: int, bounds: list[tuple[str, Decimal]]) -> pd.Series | None:
    """Where every bound holds, on exact integers (None when a bound does not fit)."""
    held = pd.Series(True, index=ints.index)
    for op, bound in bounds:
        b = _int_bound(op, bound, scale)
        if b is None:
            return None
        held &= pd.Series(_OPS[op](ints, b), index=ints.index).fillna(False).astype(bool)
    return held & ints.notna()


def _numbers_compare(cond: Condition, s: pd.Series) -> tuple[pd.Series, pd.Series]:
    bounds = cond.bounds()
    if cond.amount is not None:  # as the money step reads it: cents, all at once
        cents, bad = parse.money_to_cents(s, cond.amount)
        held = _held(cents.astype("Int64"), 2, bounds)
        if held is not None:
            return held, bad.fillna(False).astype(bool)
        units = [None if c is pd.NA else Decimal(int(c)).scaleb(-2) for c in cents]
        return _each(units, bounds, s.index), bad.fillna(False).astype(bool)
    ints, scale = _plain_scaled(s)
    held = _held(ints, scale, bounds)
    rest = ints.isna() if held is not None else pd.Series(True, index=s.index)
    if held is None:
        held = pd.Series(False, index=s.index)
    bad = pd.Series(False, index=s.index)
    if bool(rest.any()):  # blanks and other text: one value at a time
        read_one, unreadable = numbers(s[rest])
        held.loc[rest] = _each(list(read_one), bounds, read_one.index)
        bad.loc[rest] = unreadable
    return held, bad


def _each(
    values: list[Decimal | None], bounds: list[tuple[str, Decimal]], index: pd.Index
) -> pd.Series:
    held = [v is not None and all(_OPS[op](v, b) for op, b in bounds) for v in values]
    return pd.Series(held, index=index, dtype=bool)


def compare(cond: Condition, s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(holds, unreadable) for a condition's comparisons on a column: every bound must hold;
    a blank value holds none."""
    if cond.dated:
        got, bad = days(s, cond.date_format or "%Y-%m-%d")
        held = [
            v is not None and all(_OPS[op](v, day) for op, day in cond.date_bounds()) for v in got
        ]
        return pd.Series(held, index=s.index, dtype=bool), bad
    return _numbers_compare(cond, s)
