"""``validate`` builds its failure report itself; it must equal Pandera's lazy report.

The reference below is the former implementation (``schema.validate(frame, lazy=True)``
and its ``SchemaErrors.failure_cases`` grouped by column and check). Random frames with
nulls, duplicates (with null key parts), too-long text, unknown codes, bad patterns and
out-of-range amounts must give the same failures, in the same order, as the fast path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.errors import SchemaErrors

from migrate.transform.failures import Failures
from migrate.validate.schema import _REASON_OF_BUILTIN, validate


def _reference(
    schema: pa.DataFrameSchema, frame: pd.DataFrame, raw: pd.DataFrame, failures: Failures
) -> None:
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            reason = _REASON_OF_BUILTIN.get(str(check), str(check))
            mask = pd.Series(False, index=frame.index)
            mask.loc[group["index"].astype(frame.index.dtype).unique()] = True
            col = str(column)
            values = raw[col] if col in raw.columns else frame[col]
            failures.add(mask, col, reason, values)


def _schema(report: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "ID": pa.Column(nullable=False, checks=[pa.Check.ge(1, error="out_of_range")]),
            "LINE": pa.Column(nullable=False),
            "CODE": pa.Column(
                nullable=True,
                checks=[
                    pa.Check.str_length(max_value=3, error="too_long"),
                    pa.Check.isin(["AB", "CD", "EFGH"], error="invalid_value"),
                ],
            ),
            "REF": pa.Column(
                nullable=False, checks=[pa.Check.str_matches(r"^R\d+$", error="invalid_format")]
            ),
            "AMOUNT": pa.Column(
                nullable=True,
                checks=[
                    pa.Check.ge(0, error="negative_amount"),
                    pa.Check.ge(-500, error="out_of_range"),
                    pa.Check.le(900, error="out_of_range"),
                ],
            ),
            "DAY": pa.Column(
                nullable=True,
                checks=[pa.Check.le(pd.Timestamp("2024-06-30"), error="out_of_range")],
            ),
        },
        unique=["ID", "LINE"],
        report_duplicates=report,
        name="things",
    )


def _frame(seed: int, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def nulls(values: pd.Series, p: float) -> pd.Series:
        return values.mask(rng.random(n) < p)

    frame = pd.DataFrame(
        {
            "ID": nulls(pd.Series(rng.integers(0, n // 3 + 2, n), dtype="Int64"), 0.05),
            "LINE": nulls(pd.Series(rng.integers(1, 4, n), dtype="Int64"), 0.03),
            "CODE": nulls(
                pd.Series(rng.choice(["AB", "CD", "EFGH", "XY"], n), dtype="string"), 0.2
            ),
            "REF": nulls(
                pd.Series(rng.choice(["R1", "R22", "X3", "R"], n, p=[0.5, 0.4, 0.05, 0.05])),
                0.02,
            ).astype("string"),
            "AMOUNT": nulls(pd.Series(rng.integers(-600, 1000, n), dtype="Int64"), 0.1),
            "DAY": nulls(
                pd.Series(
                    pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D")
                ),
                0.1,
            ),
        },
        index=pd.RangeIndex(7, 7 + n),
    )
    raw = frame[["ID", "CODE"]].astype("object").astype("string")
    return frame, raw


def _report(failures: Failures) -> list[tuple[str, str, list[int], list[object]]]:
    cases = failures.to_frame()
    return [
        (str(col), str(reason), group["row"].tolist(), group["value"].tolist())
        for (_, col, reason), group in cases.groupby(["order", "column", "reason"], sort=True)
    ]


@pytest.mark.parametrize("report", ["exclude_first", "exclude_last", "all"])
@pytest.mark.parametrize("seed", range(12))
def test_same_failures_in_the_same_order_as_pandera(seed: int, report: str) -> None:
    schema = _schema(report)
    frame, raw = _frame(seed, [1, 5, 40, 400][seed % 4])
    if seed % 6 == 5:  # the first duplicate row has a null ID: LINE reports first
        frame.loc[frame.index[:3], ["ID", "LINE"]] = [pd.NA, 2]
    fast, slow = Failures(frame.index), Failures(frame.index)
    validate(schema, frame, raw, fast)
    _reference(schema, frame, raw, slow)
    assert _report(fast) == _report(slow)


def test_clean_and_empty_frames_have_no_failures() -> None:
    schema = _schema("exclude_first")
    frame = pd.DataFrame(
        {
            "ID": pd.Series([1, 2], dtype="Int64"),
            "LINE": pd.Series([1, 1], dtype="Int64"),
            "CODE": pd.Series(["AB", None], dtype="string"),
            "REF": pd.Series(["R1", "R2"], dtype="string"),
            "AMOUNT": pd.Series([0, 900], dtype="Int64"),
            "DAY": pd.Series([pd.Timestamp("2024-01-01"), pd.NaT]),
        }
    )
    for f in (frame, frame.iloc[:0]):
        failures = Failures(f.index)
        validate(schema, f, f, failures)
        assert failures.items == []
