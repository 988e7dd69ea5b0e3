"""The values a declared column takes, read twice: by validation (what is staged or rejected)
and by reconciliation's own reader (what staging must hold). Both must agree on every value,
or a reconciliation could PASS a value the pipeline changed; neither may round or truncate.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Boolean, Column, MetaData, Table

from migrate.targets.build import ExactDecimal
from migrate.targets.definition import ColumnDef
from migrate.transform.failures import Failures
from migrate.validate.coerce import coerce, target_kind
from migrate.validate.declared import breaks_format, format_regex, to_boolean, to_decimal
from reconcile.reading import numbers as N
from reconcile.reading.coltypes import Kind, column_kind

VALUES: list[Any] = [
    "0.75",
    " 1.2500 ",
    0.1,
    0.33333,
    1.0,
    12.5,
    "9.9999",
    "10",
    "-9.9999",
    "1.23456",
    "abc",
    "",
    "   ",
    "NaN",
    "Infinity",
    "1,000",
    "+0.5",
    ".5",
    "5.",
    "\u00a00.5",
    "\u0665",
    None,
    "1e-2",
    Decimal("0.0001"),
    Decimal("0.00001"),
    7,
    True,
]


def fte() -> Column[Any]:
    table = Table("T", MetaData(), Column("FTE", ExactDecimal(5, 4)))
    return table.c.FTE


def flag(definition: ColumnDef | None = None) -> Column[Any]:
    column: Column[Any] = Column("F", Boolean())
    if definition is not None:
        column.info["definition"] = definition
    Table("B", MetaData(), column)
    return column


@pytest.mark.parametrize("value", VALUES, ids=[repr(v) for v in VALUES])
def test_a_decimal_is_staged_exactly_or_refused_and_reconciliation_agrees(value: Any) -> None:
    column = fte()
    staged, bad, inexact = to_decimal(pd.Series([value], dtype="object"), column)
    kind = column_kind(column)
    assert isinstance(kind, Kind) and kind == "decimal" and target_kind(column) == "decimal"
    try:
        restated = N.exact(value, *kind.shape())
        refused = None
    except N.Refused as exc:
        restated, refused = None, exc.reason
    if bad.iloc[0]:
        assert refused == "invalid_decimal"
    elif inexact.iloc[0]:
        assert refused == "inexact_float"
    else:
        assert refused is None
        got = staged.iloc[0]
        assert got is None if restated is None else isinstance(got, Decimal) and got == restated


def test_nothing_is_rounded_or_cut() -> None:
    staged, bad, inexact = to_decimal(
        pd.Series(["1.23456", 0.33333, 12.5, "0.1250"], dtype="object"), fte()
    )
    assert list(bad) == [True, False, True, False]
    assert list(inexact) == [False, True, False, False]
    assert staged.iloc[3] == Decimal("0.125") and isinstance(staged.iloc[3], Decimal)


def test_a_boolean_takes_its_declared_spellings_alone() -> None:
    declared = ColumnDef.model_validate(
        {"type": "boolean", "true_values": ["J", "1"], "false_values": ["N", "0"]}
    )
    column = flag(declared)
    values = pd.Series(["j", " N", "1", "Y", "true", None], dtype="object")
    flags, bad = to_boolean(values, column)
    assert list(bad) == [False, False, False, True, True, False]
    assert [flags.iloc[i] for i in (0, 1, 2)] == [True, False, True]
    kind = column_kind(column)
    assert kind is not None
    true, false = kind.spellings()
    for i, value in enumerate(values):
        if bad.iloc[i]:
            with pytest.raises(N.Refused):
                N.flag(value, true, false)
        else:
            assert N.flag(value, true, false) == (None if value is None else flags.iloc[i])


def test_a_boolean_without_declared_spellings_takes_the_usual_ones() -> None:
    flags, bad = to_boolean(pd.Series(["Y", "no", "T", "0", "maybe"]), flag())
    assert list(bad) == [False, False, False, False, True]
    assert list(flags.iloc[:4]) == [True, False, True, False]


def test_a_bad_value_is_a_failure_with_column_reason_and_value() -> None:
    table = Table(
        "A",
        MetaData(),
        Column("FTE", ExactDecimal(5, 4)),
        Column("F", Boolean()),
    )
    frame = pd.DataFrame({"FTE": ["0.5", "0.123456"], "F": ["Y", "perhaps"]})
    failures = Failures(frame.index)
    coerce(frame, table, failures)
    found = failures.to_frame()[["row", "column", "reason", "value"]].values.tolist()
    assert found == [
        [1, "FTE", "invalid_decimal", "0.123456"],
        [1, "F", "invalid_boolean", "perhaps"],
    ]


@pytest.mark.parametrize(
    ("fmt", "value", "breaks"),
    [
        ("YYYY/MM/DD", "2015/01/05", False),
        ("YYYY/MM/DD", "2015-01-05", True),
        ("YYYY/MM/DD", "2015/1/5", True),
        ("YYYY/MM/DD", "2023/02/30", True),
        ("YYYY/MM/DD", " 2015/01/05", True),
        ("YYYY/MM/DD", None, False),
        ("YYYY/MM/DD HH24:MI:SS", "2015/01/05 23:59:59", False),
        ("YYYY/MM/DD HH24:MI:SS", "2015/01/05 24:00:00", True),
        ("YYYY/MM/DD HH24:MI:SS:FF", "2015/01/05 10:11:12:123456", False),
    ],
)
def test_a_text_format_is_enforced_as_written(fmt: str, value: str | None, breaks: bool) -> None:
    assert bool(breaks_format(pd.Series([value], dtype="object"), fmt).iloc[0]) is breaks


def test_a_format_the_tool_cannot_check_is_said() -> None:
    assert format_regex("DD-MON-YYYY") is None
    assert format_regex("YYYY/MM/DD") is not None
