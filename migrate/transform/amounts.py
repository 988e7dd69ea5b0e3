"""The pipeline's statement of the amount grammar (``docs/how-to/money.md``, "The amount
grammar"), vectorised: one RE2 match in Arrow per column splits each value into its parts,
and the rules the pattern cannot say (one negative marker, parentheses in pairs, no non-zero
digit beyond the scale, fewer than 19 digits at the scale, at most 1,000 characters) are
checked on the parts with numpy.

Digits are ASCII: the patterns spell ``[0-9]``, never ``\\d`` (Python's ``\\d`` takes in
``٦`` and ``６``; RE2's does not, and neither does reconciliation). Reconciliation states the
same grammar with its own hand-written scanner (``reconcile/reading/money.py``); a property test
feeds both the same strings (``tests/test_money_grammar_agreement.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# The ASCII whitespace an amount loses at both ends (and may hold between its parts in
# ``text``): space, tab, line feed, carriage return, vertical tab, form feed.
SPACE = " \t\n\r\x0b\x0c"
_S = f"[{SPACE}]*"
# Every amount is below 10**18 units of its scale (18 digits: a NUMERIC(18, 2) at scale 2)
LIMIT_DIGITS = 18
# Trimmed text longer than this is no amount (nor ever cast to a number)
MAX_TEXT = 1000

# units and/or decimals (``5``, ``5.``, ``.5``); that one of them holds a digit is checked
# after the match (an alternation here costs RE2 half as much again)
_NUMBER = r"(?P<units>{units})?(?:[.](?P<frac>[0-9]*))?"
PATTERNS = {
    "cents": f"^{_S}(?P<s1>[+-])?(?P<units>[0-9]+){_S}$",
    "fixed": f"^{_S}(?P<s1>-)?" + _NUMBER.format(units="[0-9]+") + f"{_S}$",
    "text": (
        f"^{_S}(?P<open>[(])?{_S}(?P<s1>-)?{_S}(?P<cur>[$])?{_S}(?P<s2>-)?{_S}"
        + _NUMBER.format(units="[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")
        + f"{_S}(?P<close>[)])?{_S}(?P<s3>-)?{_S}$"
    ),
}


@dataclass(frozen=True)
class Amounts:
    """A column read by the grammar: signed units of ``10**-scale`` (0 where not valid),
    which values are blank, and which are present but no amount."""

    units: np.ndarray
    blank: np.ndarray
    bad: np.ndarray


def _field(parts: pa.Array, name: str) -> pa.Array:
    return pc.fill_null(pc.struct_field(parts, name), "")


def _has(parts: pa.Array, name: str) -> np.ndarray:
    return np.asarray(pc.not_equal(_field(parts, name), ""), dtype=bool)


def read(text: pd.Series, encoding: str, scale: int) -> Amounts:
    """Values (text or null) under ``encoding`` (cents | fixed | text) at ``scale``
    (the cents encoding has none: its digits are the units)."""
    arrow = pa.array(text.astype("str"), type=pa.string())
    trimmed = pc.utf8_trim(arrow, characters=SPACE)
    blank = np.asarray(pc.fill_null(pc.equal(trimmed, ""), True), dtype=bool)
    parts = pc.extract_regex(arrow, PATTERNS[encoding])
    matched = np.asarray(pc.is_valid(parts), dtype=bool)
    scale = 0 if encoding == "cents" else scale
    units = _field(parts, "units")
    units = pc.replace_substring(units, ",", "") if encoding == "text" else units
    empty = pa.array([""] * len(arrow), pa.string())
    frac = empty if encoding == "cents" else _field(parts, "frac")
    digits_seen = np.asarray(pc.or_(pc.not_equal(units, ""), pc.not_equal(frac, "")))
    units = pc.utf8_ltrim(units, characters="0")
    fine = np.asarray(pc.match_substring_regex(pc.utf8_slice_codeunits(frac, scale), "^0*$"))
    short = np.asarray(pc.less_equal(pc.utf8_length(units), LIMIT_DIGITS - scale), dtype=bool)
    long_text = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(trimmed), MAX_TEXT), False))
    bad = ~blank & (~matched | ~digits_seen | ~fine | ~short | long_text)
    negative = _has(parts, "s1") & ~np.asarray(pc.equal(_field(parts, "s1"), "+"))
    if encoding == "text":
        opened, closed = _has(parts, "open"), _has(parts, "close")
        markers = opened.astype(int) + _has(parts, "s2") + _has(parts, "s3") + _has(parts, "s1")
        bad |= matched & ((opened != closed) | (markers > 1))
        negative = negative | opened | _has(parts, "s2") | _has(parts, "s3")
    ok = ~bad & ~blank
    head = pc.utf8_slice_codeunits(frac, 0, scale)
    digits = pc.binary_join_element_wise(units, pc.utf8_rpad(head, scale, "0"), "")
    digits = pc.if_else(pa.array(ok), pc.if_else(pc.equal(digits, ""), "0", digits), "0")
    magnitude = np.asarray(pc.cast(digits, pa.int64()), dtype=np.int64)
    return Amounts(np.where(negative, -magnitude, magnitude), blank, bad)


def whole_units_fit(s: pd.Series, scale: int) -> np.ndarray:
    """Which integers (whole units; cents under ``encoding: cents``, ``scale`` 0) are below
    ``10**18`` units of the scale."""
    limit = 10 ** (LIMIT_DIGITS - scale)
    values = s.astype("Int64")
    return np.asarray(((values > -limit) & (values < limit)).fillna(True), dtype=bool)
