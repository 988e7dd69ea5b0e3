"""One amount grammar, stated twice: the pipeline's (``migrate/transform/amounts.py``, Arrow
and numpy) and reconciliation's (``reconcile/reading/money.py``, a hand-written scanner) must give
the same cents, or both refuse, for any value, under every encoding and policy of the
``money`` step (``docs/how-to/money.md``, "The amount grammar").

The values are built to hit the grammar's edges: Unicode digits (``٦``, ``６``), NUL and
other control characters, every sign and marker in every place, ``$`` once or twice, other
currency symbols, thousands groups right and wrong, exponents, blanks of every kind, and
magnitudes on both sides of 10**18 units; and the objects drivers hand over (integers
beyond 64 bits, ``Decimal`` in exponent form or NaN, floats NaN and infinite).
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from migrate.spec.stepargs import MoneyArgs
from migrate.transform import numbers
from migrate.transform.parse import money_step, to_integer
from reconcile.proving import restate_steps
from reconcile.reading.money import InvalidAmount, step_cents

POLICIES = [
    MoneyArgs(encoding="cents"),
    MoneyArgs(encoding="fixed"),
    MoneyArgs(encoding="text"),
    MoneyArgs(encoding="float"),
    MoneyArgs(encoding="fixed", scale=4, rounding="half_up"),
    MoneyArgs(encoding="text", scale=3, rounding="half_even"),
    MoneyArgs(encoding="text", scale=9, rounding="truncate"),
    MoneyArgs(encoding="float", scale=4, rounding="half_even"),
]
PIECES = [
    *"0123456789",
    "٦",  # ARABIC-INDIC DIGIT SIX
    "١٢٣",
    "６",  # FULLWIDTH DIGIT SIX
    "߀",  # NKO DIGIT ZERO
    "𝟙",  # MATHEMATICAL DOUBLE-STRUCK DIGIT ONE
    "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\x85",
    "\xa0",
    "\u2007",
    "\u202f",
    *" \t\n\r\x0b\x0c",
    "+",
    "-",
    "−",  # MINUS SIGN
    "$",
    "$$",
    "€",
    "£",
    ",",
    ".",
    "(",
    ")",
    "e",
    "E",
    "e+",
    "_",
    "NaN",
    "inf",
    "Infinity",
    "9" * 16,
    "9" * 17,
    "1" + "0" * 15,
    "1" + "0" * 16,
    "1" + "0" * 17,
    "0" * 20,
    ",000",
    ",00",
    ".00",
    ".005",
    "0000",
]
SOUPS = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
# near-valid amounts: a shape of the grammar, with a magnitude anywhere up to 10**20
SHAPED = st.builds(
    lambda pre, units, frac, post: f"{pre}{units}{frac}{post}",
    st.sampled_from(["", "-", "+", "$", "-$", "$-", "(", "($", " ", "$ - ", "--", "(-"]),
    st.one_of(
        st.integers(0, 10**20).map(str),
        st.integers(0, 10**20).map(lambda n: f"{n:,}"),
        st.just(""),
    ),
    st.one_of(st.just(""), st.text("0123456789", max_size=12).map(lambda d: "." + d)),
    st.sampled_from(["", ")", "-", ")-", " ", "\t", "\x00", " -"]),
)
TEXTS = st.one_of(SOUPS, SHAPED, st.text(st.characters(exclude_categories=["Cs"]), max_size=12))
OBJECTS = st.one_of(
    st.none(),
    st.integers(-(10**20), 10**20),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.decimals(min_value=-(10**17), max_value=10**17, places=4),
    st.sampled_from([Decimal("1E+2"), Decimal("1E-7"), Decimal("-0"), Decimal("sNaN")]),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXTS,
)


def handed_over(v: object) -> object:
    """A driver's value as the extract hands it to the pipeline: a float NaN the database
    holds is the text ``NaN`` (pandas keeps a float NaN for NULL)."""
    return "NaN" if isinstance(v, float) and v != v else v


def pipeline(values: list[object], args: MoneyArgs, dtype: str) -> list[object]:
    values = [handed_over(v) for v in values]
    cents, bad = money_step(pd.Series(values, dtype=dtype), args)
    return ["X" if b else (None if c is pd.NA else int(c)) for c, b in zip(cents, bad, strict=True)]


def restated(values: list[object], args: MoneyArgs) -> list[object]:
    out: list[object] = []
    for v in values:
        try:
            out.append(step_cents(v, args))
        except InvalidAmount:
            out.append("X")
    return out


@settings(max_examples=400, deadline=None)
@given(values=st.lists(TEXTS, min_size=1, max_size=20), which=st.sampled_from(range(8)))
@example(values=["$1,234.5٦", "$١٢٣.٠٠", "+5.00", "$$5.00", "1\x002"], which=2)
@example(values=["10000000000000000", "100000000000000000.00", "99999999999999999"], which=0)
@example(values=["10000000000000000", "9999999999999999.99", "--5", "(-5)", "5-"], which=2)
def test_text_agrees_under_every_encoding(values: list[str], which: int) -> None:
    args = POLICIES[which]
    assert pipeline(values, args, "str") == restated(values, args)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(OBJECTS, min_size=1, max_size=20), which=st.sampled_from(range(8)))
@example(values=[float("nan"), float("inf"), Decimal("NaN"), 10**16, 10**18], which=1)
def test_driver_objects_agree_under_every_encoding(values: list[object], which: int) -> None:
    """An object column: a NaN or infinity held as a value is refused on both sides,
    never read as blank (the pipeline gets the NaN as the extract hands it over)."""
    args = POLICIES[which]
    assert pipeline(values, args, "object") == restated(values, args)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(TEXTS, min_size=1, max_size=20))
@example(values=["١٢", "1\x002", "99999999999999999999", "9223372036854775808", " +7 "])
def test_the_integer_step_agrees(values: list[str]) -> None:
    got, bad = to_integer(pd.Series(values, dtype="str"))
    mine = ["X" if b else (None if v is pd.NA else int(v)) for v, b in zip(got, bad, strict=True)]
    theirs: list[object] = []
    for v in values:
        try:
            theirs.append(restate_steps.to_integer(v))
        except restate_steps.Unreadable:
            theirs.append("X")
    assert mine == theirs


@settings(max_examples=200, deadline=None)
@given(values=st.lists(TEXTS, min_size=1, max_size=20))
def test_numbers_agree_on_text(values: list[str]) -> None:
    """Conditions and the number steps read text the same way on both sides."""
    from reconcile.reading import numbers as N

    read, bad = numbers.numbers(pd.Series(values, dtype="str"))
    mine = ["X" if b else v for v, b in zip(read, bad, strict=True)]
    theirs: list[object] = []
    for v in values:
        try:
            theirs.append(N.number(v))
        except N.NotNumber:
            theirs.append("X")
    assert mine == theirs


@settings(max_examples=200, deadline=None)
@given(values=st.lists(OBJECTS, min_size=1, max_size=20))
@example(values=["١٢", "NaN", "Infinity", "1_000", "1,234.5", " 7 ", float("nan"), 3])
def test_expression_operands_agree(values: list[object]) -> None:
    """An expression's operand (``expr: QTY * 2``): the same number, none (blank), or a
    refusal (``X``: the pipeline rejects the row, reconciliation refuses it) on both sides;
    Unicode digits, NaN, infinity and underscores are no numbers."""
    from migrate.transform.expr import computed
    from migrate.transform.expr import parse as parse_expr
    from reconcile.proving import restate_expr as E
    from reconcile.proving.restate_steps import Unreadable

    frame = pd.DataFrame({"QTY": pd.Series([handed_over(v) for v in values], dtype="object")})
    got, refused = computed(parse_expr("QTY * 2"), frame)
    mine = ["X" if any(r.rows.iloc[i] for r in refused) else v for i, v in enumerate(got)]
    theirs: list[object] = []
    for v in values:
        try:
            theirs.append(E.compute(E.read("QTY * 2"), {"QTY": v}))
        except Unreadable:
            theirs.append("X")
    assert mine == theirs
