"""One staged value as the text an import file carries, or the reason it cannot be.

Nothing is cut or guessed: a value longer than the column allows, a time of day in a
date-only column, a number with more digits than its precision, a character the file cannot
carry (NUL, a lone surrogate; a line break, which an FBDI loader reads as the end of the
record) a text the loader would read as NULL (``END``, ``$null$``) or an empty value where the
layout requires one raises
:class:`Unexpressible`, and the export fails naming the row and the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Unexpressible(ValueError):
    """The value has no faithful text in this column of this format."""


@dataclass(frozen=True)
class ColumnFormat:
    """How one column is written: ``kind`` is text, number, money, integer, date, timestamp
    or boolean; ``date_format`` the strftime of a date (``%Y/%m/%d`` for FBDI)."""

    name: str
    kind: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    date_format: str = "%Y-%m-%d"
    timestamp_format: str = "%Y-%m-%d %H:%M:%S.%f"
    line_breaks: bool = True
    reads_as_null: tuple[str, ...] = ()
    required: bool = False


def render(value: Any, fmt: ColumnFormat) -> str:
    """The field's text; ``None`` is the empty field (refused where the layout requires a
    value: the ERP's import would reject the row)."""
    if value is None or (fmt.required and isinstance(value, str) and not value.strip()):
        if fmt.required:
            raise Unexpressible("empty, and the layout requires a value")
        return ""
    if fmt.kind in ("number", "money", "integer"):
        return _number(value, fmt)
    if fmt.kind == "date":
        return _date(value, fmt)
    if fmt.kind == "timestamp":
        return _timestamp(value, fmt)
    if fmt.kind == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    return _text(_as_text(value, fmt), fmt)


def _as_text(value: Any, fmt: ColumnFormat) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime(fmt.timestamp_format)
    if isinstance(value, date):
        return value.strftime(fmt.date_format)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        raise Unexpressible(f"a float ({value!r}) has no exact text")
    return str(value)


def _text(text: str, fmt: ColumnFormat) -> str:
    if "\x00" in text:
        raise Unexpressible("a NUL character no CSV file carries")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Unexpressible(f"a character UTF-8 cannot carry at {exc.start}") from None
    if not fmt.line_breaks and ("\n" in text or "\r" in text):
        raise Unexpressible("a line break, which the loader reads as the end of the record")
    if text in fmt.reads_as_null:
        raise Unexpressible(f"the loader reads {text!r} in this column as NULL")
    if fmt.length is not None and len(text) > fmt.length:
        raise Unexpressible(f"{len(text)} characters, the column allows {fmt.length}")
    return text


def _number(value: Any, fmt: ColumnFormat) -> str:
    if isinstance(value, bool | float):
        raise Unexpressible(f"{value!r} is not an exact number")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        number = Decimal(value.strip())
    else:
        raise Unexpressible(f"{str(value)!r} is not a number")
    if not number.is_finite():
        raise Unexpressible(f"{number} is not a finite number")
    if fmt.kind == "money":
        if number != number.quantize(CENT):
            raise Unexpressible(f"{number} has more than two decimals; money has two")
        number = number.quantize(CENT)
    text = format(number, "f")
    _, _, fraction = text.lstrip("-").partition(".")
    if fmt.scale is not None and len(fraction.rstrip("0")) > fmt.scale:
        raise Unexpressible(f"{text} has more than {fmt.scale} decimals")
    digits = len(text.lstrip("-").replace(".", "").lstrip("0"))
    if fmt.precision is not None and digits > fmt.precision:
        raise Unexpressible(f"{text} has more than {fmt.precision} digits")
    return text


def _date(value: Any, fmt: ColumnFormat) -> str:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time() or value.tzinfo is not None:
            raise Unexpressible(f"{value.isoformat()} has a time of day; the column is a date")
        return value.strftime(fmt.date_format)
    if isinstance(value, date):
        return value.strftime(fmt.date_format)
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value).strftime(fmt.date_format)
        except ValueError:
            pass
    raise Unexpressible(f"{str(value)!r} is not a date")


def _timestamp(value: Any, fmt: ColumnFormat) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise Unexpressible(f"{value.isoformat()} carries a time zone the format has not")
        return value.strftime(fmt.timestamp_format)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).strftime(fmt.timestamp_format)
    raise Unexpressible(f"{str(value)!r} is not a timestamp")
