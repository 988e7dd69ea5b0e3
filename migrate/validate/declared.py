"""What a target definition declares about a column's values, made checkable.

A declared column (:mod:`migrate.targets`) carries its definition in ``column.info``; the
validation of a chunk enforces what it says, rejecting (never truncating, never rounding)
a value that breaks it:

- ``decimal`` with ``precision``/``scale``: an exact :class:`~decimal.Decimal`, never a
  float; more decimals than the scale or more digits than the precision is
  ``invalid_decimal`` (a float source whose shortest form has too many decimals is
  ``inexact_float``, as for money);
- ``boolean``: one of the declared spellings (``true_values``/``false_values``, else
  :data:`TRUE`/:data:`FALSE`), compared without case; anything else is ``invalid_boolean``;
- ``allowed``: one of the listed values (``invalid_value``);
- ``format`` on a text column (``YYYY/MM/DD``): the value written exactly that way, and a
  real date (``invalid_format``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import Column

TRUE: tuple[str, ...] = ("true", "t", "yes", "y", "1")
FALSE: tuple[str, ...] = ("false", "f", "no", "n", "0")

# Oracle's format elements the ERP layouts use, and what each matches / parses as
_ELEMENTS: tuple[tuple[str, str, str], ...] = (
    ("YYYY", r"\d{4}", "%Y"),
    ("HH24", r"\d{2}", "%H"),
    ("MM", r"\d{2}", "%m"),
    ("DD", r"\d{2}", "%d"),
    ("MI", r"\d{2}", "%M"),
    ("SS", r"\d{2}", "%S"),
    ("FF", r"\d{1,9}", "%f"),
)
_LITERAL = re.compile(r"[ /:.\-T]")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_SPACE = " \t\n\r\x0b\x0c"  # trimmed around a number or a boolean (ASCII spaces only)


def definition(column: Column[Any]) -> Any | None:
    """The column's definition (a :class:`migrate.targets.definition.ColumnDef`), if declared."""
    return column.info.get("definition")


def spellings(column: Column[Any]) -> tuple[frozenset[str], frozenset[str]]:
    """A boolean column's accepted spellings (lower case): (true ones, false ones)."""
    d = definition(column)
    true = getattr(d, "true_values", None) or TRUE
    false = getattr(d, "false_values", None) or FALSE
    return frozenset(str(v).lower() for v in true), frozenset(str(v).lower() for v in false)


def to_boolean(s: pd.Series, column: Column[Any]) -> tuple[pd.Series, pd.Series]:
    """(booleans, mask of values that are no accepted spelling)."""
    true, false = spellings(column)

    def one(value: Any) -> Any:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, bool):
            return value
        word = str(value).strip(_SPACE).lower()
        if word == "":  # blank is no value, as for every other type
            return None
        if word in true:
            return True
        if word in false:
            return False
        return _BAD

    mapped = s.astype("object").map(one)
    bad = mapped.map(lambda v: v is _BAD).astype(bool)
    return mapped.where(~bad, None).astype("boolean"), bad


class _Bad:
    """Marks a value that could not be read (never a value itself)."""


_BAD = _Bad()


def to_decimal(s: pd.Series, column: Column[Any]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(exact decimals, unreadable or out-of-declaration mask, inexact float mask).

    A float is read by its shortest decimal form (``0.1`` is ``0.1``), and rejected as
    inexact when that form has more decimals than the scale; nothing is rounded."""
    precision = getattr(column.type, "precision", None)
    scale = getattr(column.type, "scale", None)
    if precision is not None and scale is None:
        scale = 0

    def one(value: Any) -> Any:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, bool):
            return _BAD
        text = repr(value) if isinstance(value, float) else str(value).strip(_SPACE)
        if text == "":  # blank is no value, as for every other type
            return None
        if not _NUMBER.fullmatch(text):  # ASCII digits only: Decimal() would take '٥'
            return _BAD
        try:
            number = Decimal(text)
        except InvalidOperation:
            return _BAD
        if not number.is_finite():
            return _BAD
        if not fits(number, None, scale):
            return _INEXACT if isinstance(value, float) else _BAD
        return number if fits(number, precision, scale) else _BAD

    mapped = s.astype("object").map(one)
    bad = mapped.map(lambda v: v is _BAD).astype(bool)
    inexact = mapped.map(lambda v: v is _INEXACT).astype(bool)
    return mapped.where(~(bad | inexact), None).astype("object"), bad, inexact


_INEXACT = _Bad()


def fits(number: Decimal, precision: int | None, scale: int | None) -> bool:
    """The number written with at most ``scale`` decimals and ``precision`` digits in all."""
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    normal = number.normalize()
    normal_exp = normal.as_tuple().exponent
    assert isinstance(normal_exp, int)
    decimals = max(0, -normal_exp)
    if scale is not None and decimals > scale:
        return False
    if precision is None:
        return True
    whole = len(str(abs(int(number)))) if abs(number) >= 1 else 0
    return whole <= precision - (scale or 0)


def format_regex(fmt: str) -> tuple[str, str] | None:
    """(a regular expression, a ``strptime`` format) for a format like ``YYYY/MM/DD``, or
    None when the format holds an element this tool cannot check."""
    pattern, parse, rest = "", "", fmt
    while rest:
        for element, regex, code in _ELEMENTS:
            if rest.startswith(element):
                pattern, parse, rest = pattern + regex, parse + code, rest[len(element) :]
                break
        else:
            if not _LITERAL.match(rest[0]):
                return None
            pattern, parse, rest = pattern + re.escape(rest[0]), parse + rest[0], rest[1:]
    return pattern, parse


def format_elements() -> list[str]:
    """The elements a ``format`` may hold (``YYYY``, ``MM``, ...)."""
    return [e for e, _, _ in _ELEMENTS]


def format_problem(column: Column[Any]) -> str | None:
    """Why a declared text format cannot be enforced (None: it can, or there is none)."""
    d = definition(column)
    fmt = getattr(d, "format", None)
    if fmt is None or getattr(d, "type", None) != "text":
        return None
    if format_regex(fmt) is None:
        known = ", ".join(e for e, _, _ in _ELEMENTS)
        return f"format {fmt!r} holds an element the tool cannot check (known: {known})"
    return None


def breaks_format(s: pd.Series, fmt: str) -> pd.Series:
    """Text values not written as ``fmt`` or not a real date/time (``2023/02/30``)."""
    compiled = format_regex(fmt)
    assert compiled is not None  # format_problem stops the run first
    pattern, parse = compiled
    text = s.astype("object").where(s.notna(), None)
    present = text.notna()
    shaped = text.map(lambda v: v is None or re.fullmatch(pattern, str(v)) is not None)
    parsed = pd.to_datetime(text.where(shaped & present), format=parse, errors="coerce")
    return present & (~shaped.astype(bool) | parsed.isna())


def allowed_values(column: Column[Any], kind: str) -> list[Any] | None:
    """The definition's ``allowed`` list, as the column's values compare (text as text)."""
    allowed = getattr(definition(column), "allowed", None)
    if allowed is None:
        return None
    if kind == "text":
        return [str(v) for v in allowed]
    if kind == "integer":
        return [int(v) for v in allowed]
    if kind == "decimal":
        return [Decimal(str(v)) for v in allowed]
    return list(allowed)
