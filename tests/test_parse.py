"""Exact parsers: money never drifts, blanks never become zero, bad values are flagged."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.load import cents_text
from migrate.transform.expr import ExprError, columns_of, evaluate, parse
from migrate.transform.parse import aba_valid, money_to_cents, to_date


def _cents(values: list[object], encoding: str) -> tuple[list[object], list[bool]]:
    got, bad = money_to_cents(pd.Series(values, dtype="object"), encoding)
    return [None if pd.isna(v) else int(v) for v in got], list(bad)


def test_money_text_as_legacy_exports_write_it() -> None:
    got, bad = _cents(["$51,862.00 ", "($21.00)", "$873.63 ", "", None, "abc", "1.005"], "text")
    assert got == [5186200, -2100, 87363, None, None, None, None]
    assert bad == [False, False, False, False, False, True, True]


def test_money_fixed_and_cents() -> None:
    assert _cents(["000012345.67", "12.3", "12.300", "$5"], "fixed") == (
        [1234567, 1230, 1230, None],
        [False, False, False, True],
    )
    assert _cents([123, "45", "4.5", None], "cents") == (
        [123, 45, None, None],
        [False, False, True, False],
    )


def test_two_digit_years_with_pivot() -> None:
    got, bad = to_date(pd.Series(["10/24/79", "6/1/16", "2/29/00", "13/1/99", ""]), "%m/%d/%y", 20)
    assert [None if pd.isna(v) else v.date().isoformat() for v in got] == [
        "1979-10-24",
        "2016-06-01",
        "2000-02-29",
        None,
        None,
    ]
    assert list(bad) == [False, False, False, True, False]


def test_impossible_dates_are_flagged() -> None:
    got, bad = to_date(pd.Series(["20190231", "20190228"]), "%Y%m%d")
    assert list(bad) == [True, False]


def test_aba_routing_check_digit() -> None:
    assert list(aba_valid(pd.Series(["011000015", "011000016", "12345678"]))) == [
        True,
        False,
        False,
    ]


def test_expression_grammar_is_not_eval() -> None:
    frame = pd.DataFrame({"Qty": ["3", "2"], "UnitPrice": ["1.10", "0.05"]})
    assert list(evaluate(parse("Qty * UnitPrice + 1"), frame)) == [Decimal("4.30"), Decimal("1.10")]
    assert columns_of("(a + b) * -c") == ["a", "b", "c"]
    for bad in ("__import__('os')", "a ** b", "a;b", "a +"):
        try:
            parse(bad)
        except ExprError:
            continue
        raise AssertionError(f"{bad!r} parsed")


amounts = st.lists(st.integers(min_value=-(10**11), max_value=10**11), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(amounts)
def test_sums_stay_exact_through_parse_and_wire(cents: list[int]) -> None:
    """Money text -> cents -> wire text -> Decimal sums exactly, where floats would drift."""
    text = pd.Series([f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}" for c in cents])
    parsed, bad = money_to_cents(text, "fixed")
    assert not bad.any()
    assert int(parsed.sum()) == sum(cents)
    wire = cents_text(parsed)
    assert sum(Decimal(v) for v in wire) == Decimal(sum(cents)).scaleb(-2)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from([1, 10, 20, 30]), min_size=10, max_size=300))
def test_float_would_drift_but_cents_do_not(dimes: list[int]) -> None:
    """Amounts like 0.10 and 0.20 drift as floats; the cents path stays exact."""
    text = pd.Series([f"0.{d:02d}" for d in dimes])
    parsed, _ = money_to_cents(text, "fixed")
    exact = sum(Decimal(t) for t in text)
    assert Decimal(int(parsed.sum())).scaleb(-2) == exact
