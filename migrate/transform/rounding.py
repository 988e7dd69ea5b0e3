"""The ``money`` step's policy: a declared source scale rounded to cents, and floats read
once to exact amounts (``docs/how-to/money.md``).

Integer arithmetic only (numpy ``int64``), vectorised: text is split by one RE2 match in
Arrow into sign, units and decimals; a float is tested against the cent values next to it.

The float rule: a finite float ``x`` with ``|x| < 2**52 / 10**scale`` is the amount ``c /
10**scale`` (``c`` an integer) when the float nearest to ``c / 10**scale`` is ``x`` itself,
i.e. when ``c / 10**scale`` written as a decimal reads back as ``x``. Below that magnitude
two neighbouring amounts are never the same float, so at most one ``c`` qualifies: the
amount is unambiguous. IEEE division of the exact integer ``c`` by the exact ``10**scale``
is correctly rounded, so ``c / 10**scale == x`` is that test. Reconciliation states the
same rule its own way (the float's shortest decimal form has at most ``scale`` decimals,
``reconcile/reading/rounding.py``): the two are equivalent, and a test holds them equal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migrate.spec.stepargs import MoneyArgs
from migrate.transform import amounts
from migrate.transform.parse import amount_text, is_integer, money_to_cents


def money_reason(args: MoneyArgs) -> str:
    """The reason code of the step's rejected values."""
    return "inexact_float" if args.encoding == "float" else "invalid_amount"


def policy_cents(s: pd.Series, args: MoneyArgs) -> tuple[pd.Series, pd.Series]:
    """Cents and the invalid mask under a float encoding and/or a rounding policy."""
    if is_integer(s):  # whole units, as every encoding but cents reads them
        return money_to_cents(s, "fixed", args.decimals)
    if args.encoding == "float":
        return _floats(s, args)
    return _scaled_text(s, args)


def _floats(s: pd.Series, args: MoneyArgs) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_float_dtype(s.dtype):
        return _float_array(s, args)
    is_float = s.map(lambda v: isinstance(v, float | np.floating)).astype(bool)
    cents = pd.Series(pd.array([None] * len(s), dtype="Int64"), index=s.index)
    bad = pd.Series(False, index=s.index)
    if bool(is_float.any()):  # a float NaN is pandas' NULL (a held NaN arrives as "NaN")
        value, invalid = _float_array(s[is_float].astype("float64"), args)
        cents.loc[is_float], bad.loc[is_float] = value, invalid
    if bool((~is_float).any()):  # text (or a Decimal) in a float column: read as fixed
        rest = MoneyArgs(encoding="fixed", scale=args.scale, rounding=args.rounding)
        value, invalid = _text_or_plain(s[~is_float], rest)
        cents.loc[~is_float], bad.loc[~is_float] = value, invalid
    return cents, bad


def _text_or_plain(s: pd.Series, args: MoneyArgs) -> tuple[pd.Series, pd.Series]:
    return _scaled_text(s, args) if args.rounding else money_to_cents(s, args.encoding, 2)


def _float_array(s: pd.Series, args: MoneyArgs) -> tuple[pd.Series, pd.Series]:
    """The float rule (module docstring) on a float column: NaN is no value."""
    x = s.to_numpy(dtype="float64", na_value=np.nan)
    null = np.isnan(x)
    unit = float(10**args.decimals)
    fits = np.isfinite(x) & (np.abs(np.where(null, 0.0, x)) < 2.0**52 / unit)
    safe = np.where(fits, x, 0.0)
    guess = np.rint(safe * unit)
    found = np.zeros(len(x), dtype=bool)
    scaled = np.zeros(len(x), dtype="int64")
    for step in (0.0, -1.0, 1.0):  # the product's own rounding may put the guess one off
        c = guess + step
        hit = fits & ~found & (c / unit == safe)
        scaled[hit] = c[hit].astype("int64")
        found |= hit
    bad = ~null & ~found
    cents = _to_cents(np.abs(scaled), scaled < 0, args)
    data = pd.arrays.IntegerArray(cents, null | bad)
    return pd.Series(data, index=s.index), pd.Series(bad, index=s.index)


def _to_cents(magnitude: np.ndarray, negative: np.ndarray, args: MoneyArgs) -> np.ndarray:
    """Amounts in units of ``10**-scale`` (non-negative, with their signs) to signed cents
    by the declared rounding (only ever called with a rounding when scale > 2)."""
    q = 10 ** (args.decimals - 2)
    base, rest = np.divmod(magnitude, q)
    if args.rounding == "half_up":
        base = base + (2 * rest >= q)
    elif args.rounding == "half_even":
        base = base + ((2 * rest > q) | ((2 * rest == q) & (base % 2 == 1)))
    elif args.rounding is None:
        assert q == 1
    return np.where(negative, -base, base).astype("int64")


def _scaled_text(s: pd.Series, args: MoneyArgs) -> tuple[pd.Series, pd.Series]:
    """Fixed or money text at the declared scale, rounded to cents, by the amount grammar
    (``amounts.py``: a non-zero digit beyond the scale, or 10**18 units of the scale or
    more, is invalid). The usual shape (``-123.4567``: exactly ``scale`` decimals) takes
    Arrow's kernels alone; any other value goes through the full grammar."""
    text = amount_text(s)
    arrow = pa.array(text, type=pa.string())
    shape = f"^-?[0-9]{{1,{amounts.LIMIT_DIGITS - args.decimals}}}[.][0-9]{{{args.decimals}}}$"
    usual = pc.fill_null(pc.match_substring_regex(arrow, shape), False)
    if not bool(pc.any(usual).as_py() or False):
        return _grammar(text, args)
    scaled = pc.cast(pc.replace_substring(pc.if_else(usual, arrow, None), ".", ""), pa.int64())
    value = pc.fill_null(scaled, 0).to_numpy(zero_copy_only=False)
    cents = _to_cents(np.abs(value), value < 0, args)
    quick = usual.to_numpy(zero_copy_only=False)
    out = pd.Series(pd.arrays.IntegerArray(cents, ~quick), index=s.index)
    bad = pd.Series(False, index=s.index)
    if not quick.all():
        rest = pd.Series(~quick, index=s.index)
        value_rest, bad_rest = _grammar(text[rest], args)
        out.loc[rest], bad.loc[rest] = value_rest, bad_rest
    return out, bad


def _grammar(text: pd.Series, args: MoneyArgs) -> tuple[pd.Series, pd.Series]:
    """:func:`_scaled_text` by the full grammar (symbols, separators, parentheses)."""
    got = amounts.read(text, "text" if args.encoding == "text" else "fixed", args.decimals)
    ok = ~got.bad & ~got.blank
    cents = _to_cents(np.abs(got.units), got.units < 0, args)
    data = pd.arrays.IntegerArray(np.where(ok, cents, 0), ~ok)
    return pd.Series(data, index=text.index), pd.Series(got.bad, index=text.index)
