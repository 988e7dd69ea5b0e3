"""Exact, vectorised parsers for the formats legacy systems use.

Money becomes nullable ``Int64`` integer cents (exact, fast to sum, no float anywhere);
dates become ``datetime64``. Blank input gives null (never zero); input that is present but
unparseable is reported by a boolean mask so the caller can reject it with a reason.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migrate.spec.stepargs import MoneyArgs

# What a legacy value loses at both ends (a key part, an amount) and an amount may hold
# between its parts: ASCII whitespace (space, tab, line breaks, form feed, vertical tab).
# One fixed set, because reconciliation spells the same trim in each database's SQL
# (``reconcile.sqltext.KEY_SPACE``). Listed, not ``\s``: RE2's ``\s`` leaves out the
# vertical tab, Python's takes in every Unicode space.
SPACE = " \t\n\r\x0b\x0c"
_SP = f"[{SPACE}]"  # the characters themselves in a class: the same to RE2 and to Python
_AMOUNT = (
    r"^\s*(?P<open>\()?\s*(?P<sign1>-)?\s*\$?\s*(?P<sign2>-)?\s*"
    r"(?P<units>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<frac>\d*))?\s*(?P<close>\))?\s*(?P<sign3>-)?\s*$"
).replace(r"\s", _SP)


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


def money_to_cents(s: pd.Series, encoding: str) -> tuple[pd.Series, pd.Series]:
    """Parse amounts to integer cents; returns (cents, invalid mask).

    ``cents``: integer minor units. ``fixed``: ``000123.45`` or a Decimal. ``text``: also
    ``$``, thousands separators, trailing blanks and ``(21.00)`` negatives. More than two
    decimals is invalid unless the extra digits are zeros: nothing is ever rounded.
    Plain ``-123.45`` values take a fast vectorised path; only the others meet the regex.
    """
    if encoding == "cents" and pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64"), pd.Series(False, index=s.index)
    if encoding != "cents" and is_integer(s) and _fits_cents(s):
        return s.astype("Int64") * 100, pd.Series(False, index=s.index)  # whole units
    text = as_text(s)
    empty = text.isna() | (text.str.strip(SPACE) == "")
    if encoding == "cents":
        ok = text.str.strip(SPACE).str.fullmatch(r"[+-]?\d+").fillna(False)
        num = pd.to_numeric(text.where(ok), errors="coerce").astype("Int64")
        return num.where(~empty), ~empty & ~ok
    cents, plain = _plain_cents(text)
    bad = pd.Series(False, index=s.index)
    other = ~plain & ~empty
    if bool(other.any()):
        value, invalid = _general_cents(text[other], encoding)
        cents = cents.astype("Int64")
        cents.loc[other] = value
        bad.loc[other] = invalid
    return cents.where(~empty), bad


def _general_cents(text: pd.Series, encoding: str) -> tuple[pd.Series, pd.Series]:
    """The full grammar (symbols, separators, parentheses) for values the fast path left."""
    parts = text.str.extract(_AMOUNT)
    frac = parts["frac"].fillna("")
    paren = parts["open"].notna() & parts["close"].notna()
    unbalanced = parts["open"].notna() != parts["close"].notna()
    extra = frac.str.slice(2)
    bad_frac = ~extra.str.fullmatch("0*").fillna(True)
    symbols = text.str.contains(r"[$(),]", regex=True).fillna(False)
    no_digits = parts["units"].isna() & (frac == "")
    digits = parts["units"].str.replace(",", "", regex=False).fillna("0").str.lstrip("0")
    longest = len(_MAX_UNITS)  # equal-length digit strings compare like their numbers
    too_big = (digits.str.len() > longest) | (digits.str.len() == longest) & (digits > _MAX_UNITS)
    too_big = too_big.fillna(False).astype(bool)  # would overflow int64 cents
    # a minus after a closing parenthesis, ``(6)-``: reconciliation's parser refuses it too
    paren_minus = paren & parts["sign3"].notna()
    bad = parts.isna().all(axis=1) | unbalanced | bad_frac | no_digits | too_big | paren_minus
    if encoding != "text":  # fixed: a leading minus only, nothing between it and the digits
        fixed = text.str.strip(SPACE).str.fullmatch(_FIXED).fillna(False).astype(bool)
        bad = bad | symbols | ~fixed
    units = digits.where(digits != "", "0").where(~bad, "0")
    cents = frac.str.slice(0, 2).str.pad(2, side="right", fillchar="0").where(~bad, "00")
    value = units.astype("int64") * 100 + cents.astype("int64")
    negative = paren | parts[["sign1", "sign2", "sign3"]].notna().any(axis=1)
    value = value.where(~negative, -value)
    return value.astype("Int64").where(~bad), bad.astype(bool)


_FIXED = r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
_MAX_UNITS = str((2**63 - 1 - 99) // 100)  # the most units whose cents fit in int64
_PLAIN = r"^\s*(?P<neg>-?)(?P<units>\d+)(?:\.(?P<frac>\d{0,2}))?\s*$".replace(r"\s", _SP)
_PLAIN_DIGITS = 18  # units and two decimals that always fit in int64
_DOTTED = r"^[0-9]{1,16}\.[0-9]{2}$"  # the common shape: units, a dot, two decimals


def _plain_cents(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cents of ``-123.4`` style text, and which values had that shape.

    One RE2 match in Arrow splits sign, units and decimals; the digits joined (decimals
    padded to two) are the cents, cast as integers in C++. Longer values than int64 holds
    are left to the general path.
    """
    arrow = pa.array(text, type=pa.string())
    if len(arrow) and bool(
        pc.all(pc.fill_null(pc.match_substring_regex(arrow, _DOTTED), False)).as_py()
    ):
        # every value ``123.45`` exactly (a legacy fixed-point export): the digits without
        # the dot are the cents; a match costs a fraction of the extraction below
        cents = _arrow_int(pc.cast(pc.replace_substring(arrow, ".", ""), pa.int64()), text.index)
        return cents, pd.Series(True, index=text.index)
    parts = pc.extract_regex(arrow, _PLAIN)
    units, frac = pc.struct_field(parts, "units"), pc.struct_field(parts, "frac")
    digits = pc.binary_join_element_wise(units, pc.utf8_rpad(frac, 2, "0"), "")
    short = pc.less_equal(pc.utf8_length(digits), _PLAIN_DIGITS)
    plain = pc.fill_null(pc.and_kleene(pc.is_valid(parts), short), False)
    value = pc.cast(pc.if_else(plain, digits, None), pa.int64())
    value = pc.if_else(pc.equal(pc.struct_field(parts, "neg"), "-"), pc.negate(value), value)
    cents = _arrow_int(value, text.index)
    return cents, pd.Series(plain.to_numpy(zero_copy_only=False), index=text.index)


def _fits_cents(s: pd.Series) -> bool:
    """Whole units whose cents fit in int64 (else the text path reports them)."""
    limit = (2**63 - 1) // 100
    return not bool((s.abs() > limit).any())


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
    empty = blank(s)
    text = as_text(s).str.strip()
    ok = text.str.fullmatch(r"[+-]?\d+").fillna(False)
    num = pd.to_numeric(text.where(ok), errors="coerce").astype("Int64")
    return num.where(~empty), ~empty & ~ok


def aba_valid(s: pd.Series) -> pd.Series:
    """True where a routing number has 9 digits and a valid ABA check digit."""
    text = as_text(s).str.strip()
    ok = text.str.fullmatch(r"\d{9}").fillna(False)
    digits = text.where(ok, "000000000")
    weights = (3, 7, 1, 3, 7, 1, 3, 7, 1)
    total = sum(digits.str.slice(i, i + 1).astype("int64") * w for i, w in enumerate(weights))
    return ok & (total % 10 == 0)
