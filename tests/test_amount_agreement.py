"""The pipeline's amount parser and reconciliation's agree wherever it matters.

They are two parsers on purpose (invariant 3), so they may differ, but only in one
direction: a value the pipeline stages must be one reconciliation reads as the same cents
(else an amount the pipeline accepted shows as "not an amount" on the source side, and the
identity fails on a value that was migrated right). A value only reconciliation accepts is
rejected by the pipeline and counted by reconciliation among the rejected amounts.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.transform import engine
from migrate.transform.parse import SPACE, money_to_cents
from reconcile.reading import money, sqltext
from reconcile.reading.money import InvalidAmount, parse_cents

PAIRS = [("fixed", "decimal"), ("text", "money_text"), ("cents", "cents")]
PIECES = [*" \t\r\n\x0b\x0c\xa0+-.$,()0123456789", "12", "00", "1,234"]


def test_one_set_of_spaces_everywhere() -> None:
    assert SPACE == engine.KEY_SPACE == sqltext.KEY_SPACE == money.SPACE


def _reconcile(value: str, encoding: str) -> int | str | None:
    try:
        return parse_cents(value, encoding)
    except InvalidAmount:
        return "invalid"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=8).map("".join), max_size=40))
def test_what_the_pipeline_stages_reconciliation_reads_alike(values: list[str]) -> None:
    for pipeline_encoding, encoding in PAIRS:
        cents, bad = money_to_cents(pd.Series(values, dtype="str"), pipeline_encoding)
        for value, c, b in zip(values, cents, bad, strict=True):
            theirs = _reconcile(value, encoding)
            if b:  # rejected by the pipeline: reconciliation may read it either way
                continue
            ours = None if pd.isna(c) else int(c)
            assert ours == theirs, (pipeline_encoding, value)


def test_whitespace_wrapped_amounts_agree() -> None:
    """The cases found before the two used one set: tabs, CR/LF, vertical tab around an
    amount; a trailing minus in fixed text; a minus after parentheses."""
    cases = {
        ("fixed", "\t12.50\r\n"): 1250,
        ("fixed", "\x0b7 "): 700,
        ("fixed", " \t "): None,
        ("fixed", "3-"): "invalid",
        ("fixed", "- 12"): "invalid",
        ("fixed", "\xa012.50"): "invalid",
        ("text", "\t$1,234.50\r"): 123450,
        ("text", "(6)-"): "invalid",
        ("cents", "\t42\r"): 42,
    }
    for (pipeline_encoding, value), want in cases.items():
        cents, bad = money_to_cents(pd.Series([value], dtype="str"), pipeline_encoding)
        got = "invalid" if bad.iloc[0] else (None if pd.isna(cents.iloc[0]) else cents.iloc[0])
        assert got == want, (pipeline_encoding, value)
        encoding = dict(PAIRS)[pipeline_encoding]
        assert _reconcile(value, encoding) == want, (encoding, value)
