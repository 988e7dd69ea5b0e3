"""Reconciliation's own exact parser for legacy amounts (integer cents, never float).

Deliberately separate from the pipeline's parser (invariant 3): if the two disagree about a
value, the totals or the row diff show it. Used where SQL cannot parse exactly (money text
such as ``"$51,862.00 "`` or ``"($21.00)"``) and for flat files, which are streamed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from migrate.spec.stepargs import MoneyArgs

# ASCII digits only, as the servers' SQL reads them (a '١٢٣' is no amount on any backend)
_DIGITS = re.compile(r"[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?", re.ASCII)
_TEXT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d*))?", re.ASCII)
CENT = Decimal("0.01")
# what an amount loses at both ends and between its parts, as the pipeline strips it (and as
# ``sqltext.KEY_SPACE`` in SQL; a test holds the three equal)
SPACE = " \t\n\r\x0b\x0c"
# no amount is written in more characters (after trimming); longer text is not an amount,
# here and in the servers' SQL (``sqltext._fits``), before any conversion to a number
MAX_TEXT = 1000


class InvalidAmount(ValueError):
    """The text is present but is not an amount under the declared encoding."""


def parse_cents(value: object, encoding: str) -> int | None:
    """Exact cents for one legacy value; ``None`` when blank; :class:`InvalidAmount` if bad."""
    if value is None:
        return None
    if isinstance(value, float):
        raise InvalidAmount(f"float {value!r} is not an exact amount")
    text = str(value).strip(SPACE)
    if text == "":
        return None
    if len(text) > MAX_TEXT:
        raise InvalidAmount(f"{len(text)} characters: longer than any amount")
    if encoding in ("cents", "integer"):
        if not _DIGITS.fullmatch(text):
            raise InvalidAmount(text)
        return int(text) * (100 if encoding == "integer" else 1)
    if encoding == "decimal":
        return _fixed(text)
    if encoding == "money_text":
        return _money_text(text)
    raise InvalidAmount(f"unknown encoding {encoding!r}")


def _fixed(text: str) -> int:
    """Fixed-point text (``-12.5``, ``.5``, ``5.``, ``1.230``) to cents with integers only."""
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidAmount(text)
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    if not whole and not frac:
        raise InvalidAmount(text)
    if frac[2:].strip("0"):
        raise InvalidAmount(f"{text} has more than two non-zero decimals")
    cents = int(whole or "0") * 100 + int(frac[:2].ljust(2, "0"))
    return -cents if sign == "-" else cents


def cents_or_flag(value: object, encoding: str) -> int | str | None:
    """:func:`parse_cents` as one value: cents, ``None`` (blank) or ``"X"`` (not an amount).

    Registered on SQLite as ``mig_cents`` (``sqltext.install_functions``): one call per
    row parses exactly, twice as fast as the same rule spelled in SQLite's string functions.
    Beyond SQLite's 64-bit integers counts as not an amount. The fast paths (an integer
    column; ``1234.56``) return what :func:`parse_cents` would, with fewer Python steps.
    """
    if isinstance(value, str) and encoding == "decimal":
        whole, dot, frac = value.strip(SPACE).partition(".")
        plain = whole.isascii() and whole.isdigit() and len(whole) < 17
        if dot and plain and len(frac) == 2 and frac.isdigit():
            return int(whole + frac)
    try:
        cents = parse_cents(value, encoding)
    except InvalidAmount:
        return "X"
    return "X" if cents is not None and abs(cents) >= 2**63 else cents


def _to_cents(amount: Decimal, text: str) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise InvalidAmount(f"{text} has more than two non-zero decimals")
    return int(cents)


def _money_text(text: str) -> int:
    """``$1,234.50``, ``-$5``, ``$-5``, ``5-``, ``(21.00)``: a sign, a ``$``, thousands commas."""
    return _to_cents(_money_text_exact(text.strip(SPACE)), text)


def parse_exact(value: object, encoding: str) -> Decimal | None:
    """The exact amount of a legacy value at its own scale (``63791994.8380``, ``$0.125``):
    the grammar of :func:`parse_cents` without its two-decimal limit. ``None`` when blank;
    :class:`InvalidAmount` for what is not an amount at any scale (a float, ``O12.5``).
    Reconciliation reads with it the values that are not whole cents, so that they are
    summed as they are instead of counting as 0."""
    if value is None:
        return None
    if isinstance(value, float):
        raise InvalidAmount(f"float {value!r}: a binary fraction, not an exact amount")
    if isinstance(value, Decimal) and value.is_finite():  # a NUMERIC column, as the driver reads it
        return value / 100 if encoding == "cents" else value
    text = str(value).strip(SPACE)
    if text == "":
        return None
    if len(text) > MAX_TEXT:
        raise InvalidAmount(f"{len(text)} characters: longer than any amount")
    if encoding in ("cents", "integer"):
        if not _DIGITS.fullmatch(text) or not text.lstrip("+-").isascii():
            raise InvalidAmount(text)
        return Decimal(int(text)) / (1 if encoding == "integer" else 100)
    if encoding == "decimal":
        match = _DECIMAL.fullmatch(text)
        if match is None or not (match.group(2) or match.group(3)) or not text.isascii():
            raise InvalidAmount(text)
        return Decimal(f"{match.group(1)}{match.group(2) or '0'}.{match.group(3) or '0'}")
    if encoding == "money_text":
        return _money_text_exact(text)
    raise InvalidAmount(f"unknown encoding {encoding!r}")


def _money_text_exact(text: str) -> Decimal:
    """The money-text grammar (:func:`_money_text`) at any scale."""
    s, negative = text, False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip(SPACE)
    for _ in range(2):
        if s.startswith("-"):
            negative, s = True, s[1:].strip(SPACE)
        if s.endswith("-"):
            negative, s = True, s[:-1].strip(SPACE)
        s = s.removeprefix("$").strip(SPACE)
    match = _TEXT.fullmatch(s)
    if not match or (match.group(1) is None and not match.group(2)) or not s.isascii():
        raise InvalidAmount(text)
    try:
        amount = Decimal(s.replace(",", "") or "0")
    except InvalidOperation as exc:
        raise InvalidAmount(text) from exc
    return -amount if negative else amount


def cents_to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


# the pipeline's encodings of the ``money`` step, as this module names them
STEP_ENCODINGS = {"cents": "cents", "fixed": "decimal", "text": "money_text", "float": "float"}


def step_cents(value: object, args: MoneyArgs) -> int | None:
    """The ``money`` step restated on one legacy value: integer cents, or ``None`` when blank;
    whole units (an integer column) count as units, a float by its shortest text (under
    ``encoding: float``, by the float rule, and with a ``rounding``, rounded as declared:
    ``reconcile/rounding.py``). Raises :class:`InvalidAmount` where the pipeline rejects
    the value."""
    encoding = STEP_ENCODINGS[args.encoding]
    if isinstance(value, int) and not isinstance(value, bool) and encoding != "cents":
        return value * 100
    if value is None or (isinstance(value, float) and value != value):
        return None
    if encoding != "float" and not isinstance(value, str):
        value = str(value)
    if encoding == "float" or args.rounding is not None:
        from reconcile.rounding import Reading, read_cents  # it builds on this module

        return read_cents(value, Reading(encoding, args.decimals, args.rounding))
    return parse_cents(value, encoding)
