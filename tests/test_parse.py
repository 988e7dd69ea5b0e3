"""Exact parsers: money never drifts, blanks never become zero, bad values are flagged."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.load.bulk import cents_text
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


# Values both money paths must read alike: the RE2 fast path (plain ``-123.45``) and the
# full grammar (symbols, separators, parentheses) that handles everything else.
money_text = st.text(alphabet="0123456789 -.,$()\t", max_size=14)


@settings(max_examples=300, deadline=None)
@given(st.lists(money_text, min_size=1, max_size=60))
def test_fast_money_path_agrees_with_the_full_grammar(texts: list[str]) -> None:
    from migrate.transform.parse import _general_cents, blank

    s = pd.Series(texts, dtype="str")
    for encoding in ("fixed", "text"):
        got, bad = money_to_cents(s, encoding)
        present = ~blank(s)
        want, want_bad = _general_cents(s[present], encoding)
        assert list(bad[present]) == list(want_bad)
        assert [None if pd.isna(v) else int(v) for v in got[present]] == [
            None if pd.isna(v) else int(v) for v in want
        ]
        assert got[~present].isna().all() and not bad[~present].any()


# Chunks whose every value is ``123.45`` take a shortcut (a match, the dot removed); a
# chunk with one value of any other shape reads them all through the full path.
EDGES = ["0.00", "000000123.45", "9999999999999999.99", "92233720368547757.99"]
EDGES += ["92233720368547758.00", "-1.00", " 1.00", "1.00\t", "١.٠٠"]
dotted = st.from_regex(r"\A[0-9]{1,18}\.[0-9]{1,3}\Z", fullmatch=True) | st.sampled_from(EDGES)


@settings(max_examples=300, deadline=None)
@given(st.lists(dotted, min_size=1, max_size=8))
def test_dotted_shortcut_agrees_with_the_full_grammar(texts: list[str]) -> None:
    from migrate.transform.parse import _general_cents

    s = pd.Series(texts, dtype="str")
    for encoding in ("fixed", "text"):
        got, bad = money_to_cents(s, encoding)
        want, want_bad = _general_cents(s, encoding)
        assert list(bad) == list(want_bad)
        assert [None if pd.isna(v) else int(v) for v in got] == [
            None if pd.isna(v) else int(v) for v in want
        ]


def test_amounts_of_18_digits_in_cents_or_more_are_rejected_not_crashed_or_rounded() -> None:
    """The amount grammar's bound (docs/how-to/money.md): below 10**18 cents, what a
    NUMERIC(18, 2) staging column holds (it was int64's 2**63 - 1, beyond what PostgreSQL
    staging takes: a run stopped on NumericValueOutOfRange)."""
    got, bad = _cents(
        [
            "9999999999999999.99",
            "10000000000000000.00",
            "92233720368547757.99",
            "1" * 25,
            "0000000000000000012.00",
        ],
        "fixed",
    )
    assert got == [999999999999999999, None, None, None, 1200]
    assert bad == [False, True, True, True, False]


def test_integer_columns_skip_text_parsing_exactly() -> None:
    from migrate.transform.parse import as_text, to_integer

    ints = pd.Series([8, -3, 0, 2**53 + 1], dtype="Int64")
    assert list(as_text(ints)) == ["8", "-3", "0", str(2**53 + 1)]
    cents, bad = money_to_cents(ints, "fixed")  # a legacy quantity of 8 is 8.00
    assert list(cents) == [800, -300, 0, (2**53 + 1) * 100] and not bad.any()
    nullable = pd.Series([5, None], dtype="Int64")
    value, bad = to_integer(nullable)
    assert value.iloc[0] == 5 and pd.isna(value.iloc[1]) and not bad.any()


def test_cents_text_is_exact_at_the_edges() -> None:
    cents = pd.Series([0, 1, -1, 5, -5, 99, -100, 10**17, -(10**17), None], dtype="Int64")
    assert list(cents_text(cents).fillna("NULL")) == [
        "0.00",
        "0.01",
        "-0.01",
        "0.05",
        "-0.05",
        "0.99",
        "-1.00",
        "1000000000000000.00",
        "-1000000000000000.00",
        "NULL",
    ]


def test_copy_payload_keeps_null_apart_from_empty_text() -> None:
    """PostgreSQL CSV reads a bare empty field as NULL and ``""`` as an empty string."""
    from migrate.load.bulk import _csv_payload

    frame = pd.DataFrame(
        {
            "t": pd.Series(["a", "", None, 'say "hi"', "x,y", "l1\nl2", "\\N"], dtype="str"),
            "n": pd.Series([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
        }
    )
    payload, null = _csv_payload(frame)
    assert null == ""
    assert bytes(payload) == (b'"a",1\n"",\n,3\n"say ""hi""",4\n"x,y",5\n"l1\nl2",6\n"\\N",7\n')
