"""The money step's policy (issue 20, items 4 and 5): the pipeline's vectorised integer
rounding and float rule (``migrate/transform/rounding.py``) against reconciliation's own
statement of them (``reconcile/reading/rounding.py``: ``Decimal.quantize``, a float's shortest
decimal form), value by value, on generated values; and the policy's declaration."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from migrate.spec.stepargs import MoneyArgs
from migrate.transform.failures import REASONS
from migrate.transform.parse import money_step
from migrate.transform.rounding import money_reason
from reconcile.reading.money import InvalidAmount, step_cents

MODES = ["half_up", "half_even", "truncate"]


def pipeline(values: list[object], args: MoneyArgs, dtype: str | None = None) -> list[object]:
    """Each value as the pipeline stages it: cents, None (blank) or "X" (rejected)."""
    s = pd.Series(values, dtype=dtype) if dtype else pd.Series(values, dtype=object)
    cents, bad = money_step(s, args)
    return ["X" if b else (None if pd.isna(c) else int(c)) for c, b in zip(cents, bad, strict=True)]


def restated(values: list[object], args: MoneyArgs) -> list[object]:
    out: list[object] = []
    for v in values:
        try:
            out.append(step_cents(v, args))
        except InvalidAmount:
            out.append("X")
    return out


def nulls(values: list[float]) -> list[float | None]:
    """A float64 column's values as the driver handed them: there NaN is pandas' NULL."""
    return [None if v != v else v for v in values]


def held(values: list[float]) -> list[object]:
    """As the extract hands a NaN the database holds: the text "NaN"."""
    return ["NaN" if v != v else v for v in values]


def test_the_rounding_table_of_the_how_to() -> None:
    values = ["1.0050", "1.0150", "-1.0050", "1.0099"]
    want = {
        "half_up": [101, 102, -101, 101],
        "half_even": [100, 102, -100, 101],
        "truncate": [100, 101, -100, 100],
    }
    for mode, cents in want.items():
        args = MoneyArgs(encoding="fixed", scale=4, rounding=mode)  # type: ignore[arg-type]
        assert pipeline(values, args, "str") == cents == restated(values, args), mode


def test_floats_of_the_how_to() -> None:
    args = MoneyArgs(encoding="float")
    values = [1.98, 0.3, 2328.6, -0.99, 0.1 + 0.2, 1.234, 1e15, math.inf, math.nan]
    want = [198, 30, 232860, -99, "X", "X", "X", "X", None]
    assert pipeline(values, args, "float64") == want  # NaN in a float64 column: NULL
    assert restated(nulls(values), args) == want
    # a NaN the database holds as a value (the extract hands it over as the text "NaN";
    # the driver gives reconciliation float('nan')) is refused on both sides, never blank
    held = [*want[:-1], "X"]
    assert pipeline([*values[:-1], "NaN"], args) == held == restated(values, args)


def test_a_value_finer_than_the_scale_is_refused() -> None:
    args = MoneyArgs(encoding="text", scale=4, rounding="half_up")
    values = ["2.12345", "$2.1234", "(2.1234)", "2.123400", "2.1234000001"]
    want = ["X", 212, -212, 212, "X"]
    assert pipeline(values, args, "str") == want == restated(values, args)
    assert money_reason(args) == "invalid_amount" and "scale" in REASONS["invalid_amount"]
    assert money_reason(MoneyArgs(encoding="float")) == "inexact_float" in REASONS


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"encoding": "fixed", "scale": 4}, "scale 4 needs a rounding"),
        ({"encoding": "fixed", "rounding": "half_up"}, "rounding needs the source's scale"),
        ({"encoding": "cents", "scale": 4, "rounding": "half_up"}, "takes no scale"),
        ({"encoding": "fixed", "scale": 12, "rounding": "half_up"}, "less than or equal to 9"),
        ({"encoding": "fixed", "scale": 4, "rounding": "bankers"}, "half_even"),
    ],
)
def test_a_policy_must_be_whole(args: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        MoneyArgs.model_validate(args)


# floats next to amounts of the scale (the interesting ones), and any float at all
def _near(scale: int) -> st.SearchStrategy[float]:
    limit = 2**52 // 10**scale
    cents = st.integers(-(limit + 10), limit + 10)
    nudge = st.sampled_from([0, 1, -1, 2])

    def build(c: int, k: int) -> float:
        x = c / 10**scale
        for _ in range(abs(k)):
            x = math.nextafter(x, math.inf if k > 0 else -math.inf)
        return x

    return st.builds(build, cents, nudge)


FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), _near(2), _near(4))


@settings(max_examples=300, deadline=None)
@given(values=st.lists(FLOATS, min_size=1, max_size=30))
def test_the_float_rule_agrees_at_scale_two(values: list[float]) -> None:
    args = MoneyArgs(encoding="float")
    assert pipeline(values, args, "float64") == restated(nulls(values), args)
    assert pipeline(held(values), args) == restated(values, args)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(FLOATS, min_size=1, max_size=30), mode=st.sampled_from(MODES))
def test_the_float_rule_agrees_at_scale_four(values: list[float], mode: str) -> None:
    args = MoneyArgs(encoding="float", scale=4, rounding=mode)  # type: ignore[arg-type]
    assert pipeline(values, args, "float64") == restated(nulls(values), args)
    assert pipeline(held(values), args) == restated(values, args)


def test_the_float_bound_is_where_cents_stop_being_distinct() -> None:
    """Just below 2**52 / 100 every cent is its own float; at it, two cents share one."""
    args = MoneyArgs(encoding="float")
    below = (2**52 - 1) / 100
    at = 2**52 / 100
    assert pipeline([below, at], args, "float64") == [2**52 - 1, "X"]
    assert restated([below, at], args) == [2**52 - 1, "X"]
    assert np.nextafter(at, 0) != at


AMOUNT = st.builds(
    lambda sign, units, frac: f"{sign}{units}" + (f".{frac}" if frac is not None else ""),
    st.sampled_from(["", "-", " ", "$", "(", "+"]),
    st.integers(0, 10**13).map(str),
    st.one_of(st.none(), st.text("0123456789", max_size=7)),
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), AMOUNT, st.integers(-(10**9), 10**9)), max_size=30),
    encoding=st.sampled_from(["fixed", "text"]),
    scale=st.integers(3, 6),
    mode=st.sampled_from(MODES),
)
def test_rounding_agrees_on_any_text(
    values: list[object], encoding: str, scale: int, mode: str
) -> None:
    args = MoneyArgs(encoding=encoding, scale=scale, rounding=mode)  # type: ignore[arg-type]
    assert pipeline(values, args) == restated(values, args)
    texts = [v if isinstance(v, str) or v is None else str(v) for v in values]
    assert pipeline(texts, args, "str") == restated(texts, args)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.decimals(places=4, min_value=-(10**10), max_value=10**10, allow_nan=False),
        max_size=20,
    ),
    mode=st.sampled_from(MODES),
)
def test_a_numeric_column_read_as_decimals_agrees(values: list[Decimal], mode: str) -> None:
    """PostgreSQL's numeric(19,4) arrives as ``Decimal`` objects."""
    args = MoneyArgs(encoding="fixed", scale=4, rounding=mode)  # type: ignore[arg-type]
    assert pipeline(list(values), args) == restated(list(values), args)
