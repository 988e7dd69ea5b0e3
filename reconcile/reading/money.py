"""Reconciliation's own exact parser for legacy amounts (integer cents, never float).

Deliberately separate from the pipeline's parser (invariant 3): if the two disagree about a
value, the totals or the row diff show it. Used where SQL cannot parse exactly (money text
such as ``"$51,862.00 "`` or ``"($21.00)"``) and for flat files, which are streamed.
"""

from __future__ import annotations

from decimal import Context, Decimal

from migrate.spec.stepargs import MoneyArgs

CENT = Decimal("0.01")
# what an amount loses at both ends and between its parts, as the pipeline strips it (and as
# ``sqltext.KEY_SPACE`` in SQL; a test holds the three equal)
SPACE = " \t\n\r\x0b\x0c"
# no amount is written in more characters (after trimming); longer text is not an amount,
# here and in the servers' SQL (``sqltext._fits``), before any conversion to a number
MAX_TEXT = 1000
# every amount is below 10**18 units of its scale (a NUMERIC(18, 2) at the cent)
LIMIT_DIGITS = 18
# a context that never rounds an amount's digits (scaleb rounds to the context's precision)
EXACT = Context(prec=4 * MAX_TEXT)
# ASCII digits only: ``str.isdigit`` and ``\d`` take in '٦' and '６'; no backend's SQL does
_DIGITS = frozenset("0123456789")


class InvalidAmount(ValueError):
    """The text is present but is not an amount under the declared encoding."""


def parse_cents(value: object, encoding: str) -> int | None:
    """Exact cents for one legacy value; ``None`` when blank; :class:`InvalidAmount` if bad
    (no amount by the grammar, finer than a cent, or 10**18 cents or more)."""
    if isinstance(value, float):
        raise InvalidAmount(f"float {value!r} is not an exact amount")
    amount = parse_exact(value, encoding)
    if amount is None:
        return None
    cents = amount.scaleb(2, EXACT)
    if cents != cents.to_integral_value():
        raise InvalidAmount(f"{amount} has more than two non-zero decimals")
    if abs(cents) >= 10**LIMIT_DIGITS:
        raise InvalidAmount(f"{amount}: {LIMIT_DIGITS} digits or more in cents")
    return int(cents)


def cents_or_flag(value: object, encoding: str) -> int | str | None:
    """:func:`parse_cents` as one value: cents, ``None`` (blank) or ``"X"`` (not an amount).

    Registered on SQLite as ``mig_cents`` (``sqltext.install_functions``): one call per
    row parses exactly, twice as fast as the same rule spelled in SQLite's string functions.
    The fast path (``1234.56``) returns what :func:`parse_cents` would, with fewer steps.
    """
    if isinstance(value, str) and encoding == "decimal":
        whole, dot, frac = value.strip(SPACE).partition(".")
        plain = 0 < len(whole) < 17 and set(whole) <= _DIGITS
        if dot and plain and len(frac) == 2 and set(frac) <= _DIGITS:
            return int(whole + frac)
    try:
        cents = parse_cents(value, encoding)
    except InvalidAmount:
        return "X"
    return cents


def parse_exact(value: object, encoding: str) -> Decimal | None:
    """The exact amount of a legacy value at its own scale (``63791994.8380``, ``$0.125``):
    the grammar of :func:`parse_cents` without its two-decimal limit. ``None`` when blank;
    :class:`InvalidAmount` for what is not an amount at any scale (a float, ``O12.5``).
    Reconciliation reads with it the values that are not whole cents, so that they are
    summed as they are instead of counting as 0."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidAmount(f"{value!r} is not an amount")
    if isinstance(value, float):
        raise InvalidAmount(f"float {value!r}: a binary fraction, not an exact amount")
    if isinstance(value, Decimal):  # a NUMERIC column, as the driver reads it
        if not value.is_finite():
            raise InvalidAmount(f"{value} is not an amount")
        return value.scaleb(-2, EXACT) if encoding == "cents" else value
    text = decimal_text(value).strip(SPACE)
    if text == "":
        return None
    if len(text) > MAX_TEXT:
        raise InvalidAmount(f"{len(text)} characters: longer than any amount")
    if encoding in ("cents", "integer"):
        return Decimal(_whole(text)).scaleb(-2 if encoding == "cents" else 0, EXACT)
    if encoding == "decimal":
        return _fixed_exact(text)
    if encoding == "money_text":
        return _money_text_exact(text)
    raise InvalidAmount(f"unknown encoding {encoding!r}")


def decimal_text(value: object) -> str:
    """A value as the grammar reads it: a ``Decimal`` in fixed notation (``1E+2`` is
    ``100``), anything else as ``str`` gives it."""
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    return value if isinstance(value, str) else str(value)


def _whole(text: str) -> int:
    """``cents`` and ``integer``: an optional sign (+ or -) and ASCII digits."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not set(body) <= _DIGITS:
        raise InvalidAmount(text)
    return -int(body) if text[0] == "-" else int(body)


def _number(text: str, grouped: bool) -> Decimal:
    """Digits, an optional point and decimals (``5``, ``5.``, ``.5``, ``5.25``); with
    ``grouped``, the units may be in thousands (``1,234,567``: 1 to 3 digits, then threes)."""
    whole, _dot, frac = text.partition(".")
    if not set(frac) <= _DIGITS:
        raise InvalidAmount(text)
    groups = whole.split(",") if grouped else [whole]
    head, rest = groups[0], groups[1:]
    if rest and not (1 <= len(head) <= 3 and all(len(g) == 3 for g in rest)):
        raise InvalidAmount(text)
    units = "".join(groups)
    if not set(units) <= _DIGITS or not (units or frac):
        raise InvalidAmount(text)
    return Decimal(f"{units or '0'}.{frac or '0'}")


def _fixed_exact(text: str) -> Decimal:
    """``fixed`` (``decimal``): a leading minus only, then the number, nothing between."""
    negative = text.startswith("-")
    amount = _number(text[1:] if negative else text, grouped=False)
    return amount.copy_negate() if negative else amount


def _money_text_exact(text: str) -> Decimal:
    """``text`` (``money_text``): ``$1,234.50``, ``-$5``, ``$-5``, ``5-``, ``(21.00)``,
    ``($21.00)``: one ``$`` at most, thousands commas, and one negative marker at most
    (parentheses, or a minus before or after the ``$``, or after the number), blanks
    allowed between the parts."""
    s, marks = text, 0
    if s.startswith("(") != s.endswith(")"):
        raise InvalidAmount(text)
    if s.startswith("("):
        s, marks = s[1:-1].strip(SPACE), 1
    if s.startswith("-"):
        s, marks = s[1:].lstrip(SPACE), marks + 1
    if s.startswith("$"):
        s = s[1:].lstrip(SPACE)
        if s.startswith("-"):
            s, marks = s[1:].lstrip(SPACE), marks + 1
    if s.endswith("-"):
        s, marks = s[:-1].rstrip(SPACE), marks + 1
    if marks > 1:
        raise InvalidAmount(f"{text}: more than one negative sign")
    amount = _number(s, grouped=True)
    return amount.copy_negate() if marks else amount


def cents_to_decimal(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


# the pipeline's encodings of the ``money`` step, as this module names them
STEP_ENCODINGS = {"cents": "cents", "fixed": "decimal", "text": "money_text", "float": "float"}


def step_cents(value: object, args: MoneyArgs) -> int | None:
    """The ``money`` step restated on one legacy value: integer cents, or ``None`` when blank;
    whole units (an integer column) count as units, a float by its shortest text (under
    ``encoding: float``, by the float rule, and with a ``rounding``, rounded as declared:
    ``reconcile/reading/rounding.py``). Raises :class:`InvalidAmount` where the pipeline rejects
    the value."""
    encoding = STEP_ENCODINGS[args.encoding]
    if isinstance(value, int) and not isinstance(value, bool) and encoding != "cents":
        if abs(value) >= 10 ** (LIMIT_DIGITS - args.decimals):
            raise InvalidAmount(f"{value}: {LIMIT_DIGITS} digits or more at the scale")
        return value * 100
    if value is None:
        return None
    if encoding != "float" and not isinstance(value, str):
        value = repr(value) if isinstance(value, float) else decimal_text(value)
    if encoding == "float" or args.rounding is not None:
        from reconcile.reading.rounding import Reading, read_cents  # it builds on this module

        return read_cents(value, Reading(encoding, args.decimals, args.rounding))
    return parse_cents(value, encoding)
