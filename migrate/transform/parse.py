"""Exact, vectorised parsers for the formats legacy systems use.

Money becomes nullable ``Int64`` integer cents (exact, fast to sum, no float anywhere);
dates become ``datetime64``. Blank input gives null (never zero); input that is present but
unparseable is reported by a boolean mask so the caller can reject it with a reason.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migrate.spec.stepargs import MoneyArgs
from migrate.transform import amounts

# What a legacy value loses at both ends (a key part, an amount) and an amount may hold
# between its parts: ASCII whitespace (space, tab, line breaks, form feed, vertical tab).
# One fixed set, because reconciliation spells the same trim in each database's SQL
# (``reconcile.reading.sqltext.KEY_SPACE``). Listed, not ``\s``: RE2's ``\s`` leaves out the
# vertical tab, Python's takes in every Unicode space.
SPACE = amounts.SPACE
_SP = f"[{SPACE}]"  # the characters themselves in a class: the same to RE2 and to Python


def as_text(s: pd.Series) -> pd.Series:
    """Any column as nullable strings (Decimals and ints keep their exact text)."""
    if s.dtype == "str" or pd.api.types.is_string_dtype(s.dtype):
        return s.astype("str")
    if is_integer(s):
        return _arrow_str(pc.cast(pa.array(s), pa.string()), s.index)  # 1 -> "1", never "1.0"
    return s.map(lambda v: None if v is None or v is pd.NA or v != v else str(v)).astype("str")


def is_integer(s: pd.Series) -> bool:
    """int64 or nullable Int64 (not bool): values that need no text parsing."""
    return pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _arrow_int(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """Arrow int64 as ``Int64`` exactly (``pd.Series(arrow, dtype="Int64")`` goes through
    float64 when there are nulls, and rounds cents beyond 2**53)."""
    data = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
    mask = pc.is_null(values).to_numpy(zero_copy_only=False)
    return pd.Series(pd.arrays.IntegerArray(data.astype("int64"), mask), index=index)


def _arrow_str(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype="str")


def blank(s: pd.Series) -> pd.Series:
    """True where the value is null or only whitespace."""
    text = as_text(s)
    return text.isna() | (text.str.strip() == "")


def money_step(s: pd.Series, args: MoneyArgs) -> tuple[pd.Series, pd.Series]:
    """The ``money`` step of a mapping: integer cents and the mask of invalid values. A
    float encoding or a rounding policy goes through ``rounding.py`` (its reason code:
    ``rounding.money_reason``); without them nothing is ever rounded."""
    if args.encoding == "float" or args.rounding is not None:
        from migrate.transform.rounding import policy_cents  # it builds on this module

        return policy_cents(s, args)
    return money_to_cents(s, args.encoding)


def money_to_cents(s: pd.Series, encoding: str, scale: int = 2) -> tuple[pd.Series, pd.Series]:
    """Parse amounts to integer cents by the amount grammar (``amounts.py``); returns
    (cents, invalid mask).

    ``cents``: integer minor units. ``fixed``: ``000123.45`` or a Decimal. ``text``: also
    ``$``, thousands separators, trailing blanks and ``(21.00)`` negatives. More than two
    decimals is invalid unless the extra digits are zeros: nothing is ever rounded. Whole
    units (an integer column) are below ``10**(18 - scale)`` (``scale``: the money step's,
    when it rounds). Values ``123.45`` exactly take a fast path; the others one RE2 match.
    """
    if is_integer(s):
        whole = encoding != "cents"
        fits = amounts.whole_units_fit(s, scale if whole else 0)
        bad = pd.Series(~fits, index=s.index)
        value = s.astype("Int64").where(pd.Series(fits, index=s.index))
        return (value * 100 if whole else value), bad
    text = amount_text(s)
    if encoding == "cents":
        return _general_cents(text, encoding)
    dotted = _dotted_cents(text)
    if dotted is not None:
        return dotted, pd.Series(False, index=s.index)
    cents, plain = _plain_cents(text)
    bad = pd.Series(False, index=s.index)
    other = ~plain
    if bool(other.any()):  # blanks too: the grammar says which are blank
        value, invalid = _general_cents(text[other], encoding)
        cents.loc[other], bad.loc[other] = value, invalid
    return cents, bad


def amount_text(s: pd.Series) -> pd.Series:
    """A column as the text the grammar reads: a ``Decimal`` in fixed notation (``1E-7`` is
    ``0.0000001``; ``Decimal('NaN')`` is no amount), a float by its shortest form (an
    infinity is no amount). A float NaN is pandas' NULL, in any column: the extract hands a
    NaN the database holds as a value over as the text ``NaN``, which is no amount."""
    if isinstance(s.dtype, pd.StringDtype) or is_integer(s):
        return as_text(s)
    if pd.api.types.is_float_dtype(s.dtype):
        return s.map(lambda v: None if v != v else repr(float(v))).astype("str")
    return s.astype("object").map(_one_text).astype("str")


def _one_text(v: object) -> str | None:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, Decimal):
        return format(v, "f") if v.is_finite() else str(v)
    if isinstance(v, float):
        return None if v != v else repr(v)
    return str(v)


def _general_cents(text: pd.Series, encoding: str) -> tuple[pd.Series, pd.Series]:
    """The full grammar at two decimals."""
    got = amounts.read(text, encoding, 2)
    ok = ~got.bad & ~got.blank
    cents = pd.Series(pd.arrays.IntegerArray(got.units, ~ok), index=text.index)
    return cents, pd.Series(got.bad, index=text.index)


_DOTTED = r"^[0-9]{1,16}\.[0-9]{2}$"  # the common shape: units, a dot, two decimals


# ``-123.4`` style text (a shape of both grammars), read at once; up to 18 digits with the
# decimals padded to two, so always below 10**18 cents; others go to the full grammar
_PLAIN = f"^{_SP}*(?P<neg>-?)(?P<units>[0-9]+)(?:[.](?P<frac>[0-9]{{0,2}}))?{_SP}*$"
_PLAIN_DIGITS = amounts.LIMIT_DIGITS


def _plain_cents(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cents of plain ``-123.4`` text, and which values had that shape: one RE2 match in
    Arrow splits sign, units and decimals; the digits joined are the cents."""
    arrow = pa.array(text, type=pa.string())
    parts = pc.extract_regex(arrow, _PLAIN)
    units, frac = pc.struct_field(parts, "units"), pc.struct_field(parts, "frac")
    digits = pc.binary_join_element_wise(units, pc.utf8_rpad(frac, 2, "0"), "")
    short = pc.less_equal(pc.utf8_length(digits), _PLAIN_DIGITS)
    plain = pc.fill_null(pc.and_kleene(pc.is_valid(parts), short), False)
    value = pc.cast(pc.if_else(plain, digits, None), pa.int64())
    value = pc.if_else(pc.equal(pc.struct_field(parts, "neg"), "-"), pc.negate(value), value)
    cents = _arrow_int(value, text.index)
    return cents, pd.Series(plain.to_numpy(zero_copy_only=False), index=text.index)


def _dotted_cents(text: pd.Series) -> pd.Series | None:
    """Cents when every value is ``123.45`` exactly (a legacy fixed-point export: the
    digits without the dot are the cents, at a fraction of the full match's cost)."""
    arrow = pa.array(text, type=pa.string())
    if not len(arrow) or not bool(
        pc.all(pc.fill_null(pc.match_substring_regex(arrow, _DOTTED), False)).as_py()
    ):
        return None
    return _arrow_int(pc.cast(pc.replace_substring(arrow, ".", ""), pa.int64()), text.index)


def _pivot_years(parsed: pd.Series, pivot: int) -> pd.Series:
    yy = parsed.dt.year % 100
    year = yy.where(yy > pivot % 100, yy + 100) + 1900
    return pd.to_datetime(
        pd.DataFrame({"year": year, "month": parsed.dt.month, "day": parsed.dt.day}),
        errors="coerce",
    )


def to_date(s: pd.Series, fmt: str, pivot: int | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse with an explicit format; returns (datetime64 normalised to days, invalid mask)."""
    empty = blank(s)
    text = as_text(s).str.strip()
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    if pivot is not None and "%y" in fmt:
        ok = parsed.notna()
        parsed = parsed.where(~ok, _pivot_years(parsed.where(ok), pivot).where(ok))
    bad = ~empty & parsed.isna()
    return parsed.dt.normalize().where(~empty), bad


def to_datetime(s: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series]:
    empty = blank(s)
    parsed = pd.to_datetime(as_text(s).str.strip(), format=fmt, errors="coerce")
    return parsed.where(~empty), ~empty & parsed.isna()


def to_integer(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    if is_integer(s):
        return s.astype("Int64"), pd.Series(False, index=s.index)
    text = amount_text(s)
    arrow = pc.utf8_trim(pa.array(text, type=pa.string()), characters=SPACE)
    empty = np.asarray(pc.fill_null(pc.equal(arrow, ""), True), dtype=bool)
    shaped = pc.fill_null(pc.match_substring_regex(arrow, _INTEGER), False)
    digits = pc.utf8_ltrim(pc.utf8_ltrim(arrow, characters="+-"), characters="0")
    fits = pc.fill_null(pc.less_equal(pc.utf8_length(digits), 19), False)  # 20+: overflow
    ok = np.asarray(pc.and_(shaped, fits), dtype=bool)
    ok &= _int64_cast_fits(arrow, ok)
    unsigned = pc.replace_substring_regex(arrow, "^[+]", "")  # Arrow's cast takes no "+"
    value = pc.cast(pc.if_else(pa.array(ok), unsigned, None), pa.int64())
    return _arrow_int(value, s.index), pd.Series(~empty & ~ok, index=s.index)


_INTEGER = r"^[+-]?[0-9]+$"


def _int64_cast_fits(arrow: pa.Array, ok: np.ndarray) -> np.ndarray:
    """Which well-formed integers of at most 19 digits Arrow casts to int64 (the rest are
    beyond it: refused, never clamped or read through a float)."""
    out = ok.copy()
    for i in np.flatnonzero(ok):
        text = arrow[int(i)].as_py()
        if len(text.lstrip("+-").lstrip("0")) == 19 and not -(2**63) <= int(text) < 2**63:
            out[i] = False
    return out


def aba_valid(s: pd.Series) -> pd.Series:
    """True where a routing number has 9 digits and a valid ABA check digit."""
    text = as_text(s).str.strip()
    ok = text.str.fullmatch(r"\d{9}").fillna(False)
    digits = text.where(ok, "000000000")
    weights = (3, 7, 1, 3, 7, 1, 3, 7, 1)
    total = sum(digits.str.slice(i, i + 1).astype("int64") * w for i, w in enumerate(weights))
    return ok & (total % 10 == 0)
