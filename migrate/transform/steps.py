"""Implementations of the step vocabulary in ``migrate.spec.steps``, one function each.

Every step takes the column so far and returns the new column plus, for steps that can
fail, a mask of failing rows and the reason code. Steps never loop over rows in Python
except where a per-value library call is the only exact way (keyed hashing).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migrate.errors import BlockingCodeError
from migrate.lineage.keyed_hash import mask_key
from migrate.spec import steps as S
from migrate.transform import numbers, parse
from migrate.transform.rounding import money_reason

StepResult = tuple[pd.Series, pd.Series | None, str | None]


@dataclass(frozen=True)
class StepContext:
    """What a step may read besides its own column: the source chunk and crosswalks."""

    source: pd.DataFrame
    crosswalks: dict[str, dict[str, str]]
    where: str


def _text(fn: Callable[[pd.Series], pd.Series]) -> Callable[..., StepResult]:
    def run(s: pd.Series, _args: S._Args, _ctx: StepContext) -> StepResult:
        return fn(parse.as_text(s)), None, None

    return run


# A whitespace run the collapse would change: two or more, or one that is not a space. Written
# with ``\s`` so that each regex engine (RE2 for Arrow strings, ``re`` for objects) tests
# the whitespace its own replace would collapse.
_COLLAPSIBLE = r"\s\s|[^\S ]"


def _collapse_spaces(s: pd.Series) -> pd.Series:
    """Runs of whitespace to one space, trimmed. Only values holding such a run are
    rewritten: a regex replace costs about five times a regex match, and most legacy
    text has none."""
    collapsible = s.str.contains(_COLLAPSIBLE, regex=True).fillna(False).astype(bool)
    if bool(collapsible.any()):
        s = s.copy()
        s.loc[collapsible] = s[collapsible].str.replace(r"\s+", " ", regex=True)
    return s.str.strip()


def _blank_to_null(s: pd.Series) -> pd.Series:
    return s.where(~parse.blank(s))


def _ascii_fold(s: pd.Series) -> pd.Series:
    def fold(v: object) -> object:
        if not isinstance(v, str):
            return v
        return unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode("ascii")

    return s.map(fold).astype("str")


def _replace(s: pd.Series, a: S._Args, _c: StepContext) -> StepResult:
    assert isinstance(a, S.ReplaceArgs)
    return parse.as_text(s).str.replace(a.old, a.new, regex=False), None, None


def _zfill(s: pd.Series, a: S._Args, _c: StepContext) -> StepResult:
    assert isinstance(a, S.ZfillArgs)
    return parse.as_text(s).str.zfill(a.width), None, None


def _split(s: pd.Series, a: S._Args, _c: StepContext) -> StepResult:
    assert isinstance(a, S.SplitArgs)
    text = parse.as_text(s)
    if a.rest and a.index >= 0:
        parts = text.str.split(a.sep, n=a.index, regex=False)
    else:
        parts = text.str.split(a.sep, regex=False)
    if not bool(parts.notna().any()):
        return text, None, None  # all null: nothing to split (pandas has no .str on it)
    return parts.str[a.index].astype("str"), None, None


def _date(s: pd.Series, a: S._Args, _c: StepContext) -> StepResult:
    assert isinstance(a, S.DateArgs)
    value, bad = parse.to_date(s, a.format, a.pivot)
    return value, bad, "invalid_date"


def _datetime(s: pd.Series, a: S._Args, _c: StepContext) -> StepResult:
    assert isinstance(a, S.DatetimeArgs)
    value, bad = parse.to_datetime(s, a.format)
    return value, bad, "invalid_date"


def _money(s: pd.Series, a: S._Args, _c: StepContext) -> StepResult:
    assert isinstance(a, S.MoneyArgs)
    value, bad = parse.money_step(s, a)
    return value, bad, money_reason(a)


def _integer(s: pd.Series, _a: S._Args, _c: StepContext) -> StepResult:
    value, bad = parse.to_integer(s)
    return value, bad, "invalid_format"


def _sign_by(s: pd.Series, a: S._Args, ctx: StepContext) -> StepResult:
    assert isinstance(a, S.SignByArgs)
    indicator = parse.as_text(ctx.source[a.column]).str.strip().str.upper()
    negative = indicator.isin([v.upper() for v in a.negative]).fillna(False)
    return s.where(~negative, -s), None, None


def _crosswalk(s: pd.Series, a: S._Args, ctx: StepContext) -> StepResult:
    assert isinstance(a, S.CrosswalkArgs)
    codes = ctx.crosswalks[a.name]
    text = parse.as_text(s)
    present = ~parse.blank(text)
    mapped = _lookup(text.where(present), codes)
    missing = present & mapped.isna()
    if a.on_missing == "block" and bool(missing.any()):
        sample = sorted(set(text[missing].head(5)))
        raise BlockingCodeError(
            f"{ctx.where}: crosswalk {a.name!r} has no entry for {sample} "
            f"({int(missing.sum())} rows); the mapping says this blocks the run"
        )
    return mapped, missing, "unmapped_code"


_TABLES: dict[int, tuple[dict[str, str], pa.Array, pa.Array]] = {}


def _lookup(text: pd.Series, codes: dict[str, str]) -> pd.Series:
    """``text.map(codes)`` as one hash lookup in Arrow (exact string equality, nulls stay
    null); the key and value arrays are built once per crosswalk."""
    hit = _TABLES.get(id(codes))
    if hit is None or hit[0] is not codes:
        if len(_TABLES) >= 64:  # a long-lived process that reloads projects stays bounded
            _TABLES.clear()
        keys = pa.array([str(k) for k in codes], pa.string())
        values = pa.array([None if v is None else str(v) for v in codes.values()], pa.string())
        hit = _TABLES[id(codes)] = (codes, keys, values)
    _, keys, values = hit
    where = pc.index_in(pa.array(text, pa.string()), value_set=keys)
    return pd.Series(pc.take(values, where), index=text.index, dtype="str")


def _mask(s: pd.Series, a: S._Args, _c: StepContext) -> StepResult:
    assert isinstance(a, S.MaskArgs)
    text = parse.as_text(s)
    if a.kind == "full":
        return text.where(text.isna(), "***"), None, None
    if a.kind == "last4":
        digits = text.str.replace(r"\D", "", regex=True)
        return ("***" + digits.str.slice(-4)).where(text.notna()), None, None
    key = mask_key()
    hashed = text.map(
        lambda v: (
            hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:32]
            if isinstance(v, str)
            else None
        )
    )
    return hashed.astype("str"), None, None


def _check_digit(s: pd.Series, _a: S._Args, _c: StepContext) -> StepResult:
    bad = ~parse.blank(s) & ~parse.aba_valid(s)
    return s, bad, "invalid_format"


def _each_number(s: pd.Series, fn: Callable[[Decimal], object]) -> tuple[pd.Series, pd.Series]:
    """``fn`` on each value read as an exact number (none stays none); the mask of values
    that are present but no number, or that ``fn`` refuses (returns None for)."""
    values, bad = numbers.numbers(s)
    out = [None if v is None else fn(v) for v in values]
    refused = [v is not None and o is None for v, o in zip(values, out, strict=True)]
    return pd.Series(out, index=s.index, dtype="object"), bad | pd.Series(refused, index=s.index)


def _signed(fn: Callable[[pd.Series], pd.Series], one: Callable[[Decimal], Decimal]) -> Any:
    """``abs`` or ``negate``: integer columns (cents after ``money``) at once, other values
    read as exact numbers (``Decimal``)."""

    def run(s: pd.Series, _a: S._Args, _c: StepContext) -> StepResult:
        if parse.is_integer(s):
            return fn(s), None, None
        value, bad = _each_number(s, one)
        return value, bad, numbers.REASON

    return run


def _format_number(s: pd.Series, a: S._Args, _c: StepContext) -> StepResult:
    """Fixed decimals, padded; a value that would need rounding is refused, never rounded."""
    assert isinstance(a, S.FormatNumberArgs)

    def fmt(v: Decimal) -> str | None:
        with localcontext() as exact:  # no rounding at the default 28 digits
            exact.prec = 4 * numbers.FORMAT_LIMIT
            if a.cents:
                v = v.scaleb(-2)
            if v and v.adjusted() >= numbers.FORMAT_LIMIT:
                return None
            if v and v.adjusted() < -2 * numbers.FORMAT_LIMIT:
                return None  # a non-zero digit far below any decimal declared
            q = v.quantize(Decimal(1).scaleb(-a.decimals))
        if q != v:
            return None
        sign, digits = ("-" if q < 0 else ""), f"{q.copy_abs():f}"
        if a.width is not None and a.pad == "zero":
            digits = digits.rjust(a.width - len(sign), "0")
        text = sign + digits
        return text.rjust(a.width) if a.width is not None else text

    value, bad = _each_number(s, fmt)
    return value.astype("str"), bad, numbers.REASON


IMPLEMENTATIONS: dict[str, Callable[[pd.Series, S._Args, StepContext], StepResult]] = {
    "strip": _text(lambda s: s.str.strip()),
    "upper": _text(lambda s: s.str.upper()),
    "lower": _text(lambda s: s.str.lower()),
    "title": _text(lambda s: s.str.title()),
    "collapse_spaces": _text(_collapse_spaces),
    "blank_to_null": _text(_blank_to_null),
    "ascii_fold": _text(_ascii_fold),
    "replace": _replace,
    "zfill": _zfill,
    "split": _split,
    "date": _date,
    "datetime": _datetime,
    "money": _money,
    "integer": _integer,
    "sign_by": _sign_by,
    "crosswalk": _crosswalk,
    "mask": _mask,
    "check_digit": _check_digit,
    "abs": _signed(lambda s: s.abs(), Decimal.copy_abs),  # exact: no context rounding
    "negate": _signed(lambda s: -s, Decimal.copy_negate),
    "format_number": _format_number,
}

assert set(IMPLEMENTATIONS) == set(S.STEP_ARGS), "every declared step needs an implementation"
