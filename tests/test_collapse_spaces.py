"""``collapse_spaces`` rewrites only the values holding a collapsible run, with the same
result as the plain replace over every value, whichever regex engine the strings meet
(RE2 for Arrow-backed strings, Python's ``re`` for objects: their ``\\s`` differ)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.transform.steps import _collapse_spaces

SPACES = " \t\n\r\f\v\x1c\x1f\x85\xa0\u2003\u3000"
TEXT = st.one_of(
    st.none(),
    st.text(st.sampled_from([*SPACES, "a", "b", "é"]), max_size=12),
    st.text(max_size=8),
)


def _plain(s: pd.Series) -> pd.Series:
    """What the step did before: every value through the regex replace."""
    return s.str.replace(r"\s+", " ", regex=True).str.strip()


@settings(max_examples=200, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=20), st.sampled_from(["str", "object"]))
def test_collapse_spaces_equals_the_replace_on_every_value(
    values: list[str | None], dtype: str
) -> None:
    s = pd.Series(values, dtype=dtype, index=range(5, 5 + len(values)))
    got, want = _collapse_spaces(s), _plain(s)
    assert got.dtype == want.dtype
    pd.testing.assert_series_equal(got, want)


def test_text_without_a_run_is_only_trimmed() -> None:
    s = pd.Series([" WATER METER 5/8IN", "A\tB", "A  B", "A\u00a0B", None], dtype="str")
    assert _collapse_spaces(s).tolist()[:4] == ["WATER METER 5/8IN", "A B", "A B", "A\u00a0B"]
