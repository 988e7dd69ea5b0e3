"""Reconciliation's own reading of values as numbers: conditions' comparisons, the
number steps (``abs``, ``negate``, ``format_number``) and a declared target's ``decimal``
and ``boolean`` columns (:func:`exact`, :func:`flag`), one legacy value at a time.

Written again from the documented meaning (``migrate/spec/conditions.py``), never the
pipeline's code (invariant 3): an ``int`` or a finite ``Decimal`` is itself; a ``float`` its
shortest text; text, trimmed of the six ASCII spaces, must be an optional sign, digits with
at most one point, and an optional exponent, checked here character by character (no regular
expression shared with the pipeline). Blank is none; anything else raises
:class:`NotNumber` (reason ``invalid_number``): the pipeline
rejects that row, so a staged one shows as a difference naming the reason.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from migrate.spec.conditions import Condition
from migrate.spec.stepargs import MoneyArgs
from migrate.spec.steps import FormatNumberArgs
from reconcile.reading.money import InvalidAmount, step_cents

REASON = "invalid_number"
_SPACE = " \t\n\r\x0b\x0c"
_DIGITS = frozenset("0123456789")


class NotNumber(ValueError):
    def __init__(self, value: object, reason: str = REASON) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {value!r}")


def _well_formed(text: str) -> bool:
    """sign? (digits [. digits?] | . digits) ([eE] sign? digits)?"""
    mantissa, _, exponent = text.lower().partition("e")
    if "e" in text.lower():
        exp = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not exp or not set(exp) <= _DIGITS:
            return False
    body = mantissa[1:] if mantissa[:1] in ("+", "-") else mantissa
    whole, point, fraction = body.partition(".")
    if not set(whole) <= _DIGITS or not set(fraction) <= _DIGITS:
        return False
    return bool(whole) or (bool(point) and bool(fraction))


def number(value: object) -> Decimal | None:
    """A legacy value (or a step's result) as an exact number; None when blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise NotNumber(value)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if value.is_nan() or value.is_infinite():
            raise NotNumber(value)
        return value
    if isinstance(value, float):  # NaN and infinity held as values: no number, never blank
        value = repr(value)
    text = str(value).strip(_SPACE)
    if not text:
        return None
    if not _well_formed(text):
        raise NotNumber(value)
    return Decimal(text)


def day(value: object, fmt: str) -> date | None:
    """A legacy value as a day: a timestamp's date, a date, or text by ``strptime`` (trimmed);
    None when blank; :class:`NotNumber` (``invalid_date``) otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        raise NotNumber(value, "invalid_date") from None


def compares(cond: Condition, value: object) -> bool:
    """Every comparison of the condition holds for the value (a blank value holds none); with
    ``amount``, the value is read by reconciliation's own money parser
    (``reconcile/reading/money.py``)
    as the ``money`` step with that encoding, in units."""
    if cond.dated:
        d = day(value, cond.date_format or "%Y-%m-%d")
        return d is not None and all(_holds(op, d, b) for op, b in cond.date_bounds())
    if cond.amount is not None:
        try:
            cents = step_cents(value, MoneyArgs(encoding=cond.amount))
        except InvalidAmount:
            raise NotNumber(value, "invalid_amount") from None
        n = None if cents is None else Decimal(cents) / 100
    else:
        n = number(value)
    if n is None:
        return False
    return all(_holds(op, n, bound) for op, bound in cond.bounds())


def _holds(op: str, left: Any, right: Any) -> bool:
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def flip(value: object, absolute: bool) -> object:
    """``abs`` (``absolute``) or ``negate``: an integer stays an integer (cents), anything
    else is read as a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) if absolute else -value
    n = number(value)
    if n is None:
        return None
    # exact at any length (``abs()`` and unary minus round to the context's 28 digits)
    return n.copy_abs() if absolute else n.copy_negate()


def formatted(value: object, args: FormatNumberArgs) -> str | None:
    """The number in fixed notation with exactly ``decimals`` decimals (refused when that
    would drop a non-zero digit), padded to ``width``: by integer arithmetic on the number's
    digits and exponent, never by a ``Decimal`` context (which rounds at 28 digits) nor by
    Python's formatting."""
    n = number(value)
    if n is None:
        return None
    negative, digits_of, exponent = n.as_tuple()
    assert isinstance(exponent, int)  # finite: number() refuses the rest
    coefficient = int("".join(map(str, digits_of)) or "0")
    shift = exponent - (2 if args.cents else 0) + args.decimals  # units = coefficient * 10**shift
    if coefficient and len(str(coefficient)) + shift - args.decimals > 40:
        raise NotNumber(value)  # 1E40 or more: refused, as documented
    if shift >= 0:
        units = coefficient * 10**shift
    elif coefficient and -shift > len(str(coefficient)):
        raise NotNumber(value)  # non-zero digits far below the last decimal
    elif coefficient % 10**-shift:
        raise NotNumber(value)
    else:
        units = coefficient // 10**-shift
    text = str(units).rjust(args.decimals + 1, "0")
    if args.decimals:
        text = text[: -args.decimals] + "." + text[-args.decimals :]
    sign = "-" if negative and units else ""
    width = args.width or 0
    if args.pad == "zero":
        return sign + "0" * max(0, width - len(sign) - len(text)) + text
    return " " * max(0, width - len(sign) - len(text)) + sign + text


# A declared boolean column's spellings when its definition names none; written here again,
# from docs/reference/targets.md, not imported from the pipeline's validation
TRUE_WORDS: frozenset[str] = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS: frozenset[str] = frozenset({"false", "f", "no", "n", "0"})


class Refused(ValueError):
    """The pipeline rejects this value for its declared column (``reason``)."""

    def __init__(self, value: object, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {value!r}")


def exact(value: object, precision: int | None, scale: int | None) -> Decimal | None:
    """A value for a declared ``decimal(precision, scale)`` column, exactly; None when blank.

    A float is its shortest text; more decimals than the scale is refused (a float's as
    ``inexact_float``, other values' as ``invalid_decimal``), and so are more whole digits
    than ``precision - scale``: never rounded, never cut."""
    try:
        found = number(value)
    except NotNumber:
        raise Refused(value, "invalid_decimal") from None
    if found is None:
        return None
    digits = found.normalize().as_tuple()
    assert isinstance(digits.exponent, int)
    decimals = -digits.exponent if digits.exponent < 0 else 0
    if scale is not None and decimals > scale:
        raise Refused(value, "inexact_float" if isinstance(value, float) else "invalid_decimal")
    whole = abs(found).to_integral_value(rounding="ROUND_DOWN")
    if precision is not None and len(format(whole, "f").lstrip("0")) > precision - (scale or 0):
        raise Refused(value, "invalid_decimal")
    return found


def decimal_text(found: Decimal) -> str:
    """The canonical text of an exact number: no exponent, no trailing zeros, no ``-0``."""
    if found == 0:
        return "0"
    return format(found.normalize(), "f")


def flag(value: object, true: frozenset[str], false: frozenset[str]) -> bool | None:
    """A value for a declared ``boolean`` column: one of its spellings (any case, trimmed);
    None when blank; any other value refused (``invalid_boolean``)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return value
    word = str(value).strip(_SPACE).lower()
    if word == "":
        return None
    if word in true:
        return True
    if word in false:
        return False
    raise Refused(value, "invalid_boolean")


def staged_flag(value: object) -> bool | None:
    """A staged boolean as the database returns it: a bool, or 1/0 (SQLite, MariaDB)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal) and value in (0, 1):
        return bool(value)
    raise Refused(value, "invalid_boolean")
