"""What the pipeline stages, reconciliation's restatement states alike, rule by rule.

The pipeline (``migrate.transform``, ``migrate.validate.coerce``: pandas and Arrow over a
chunk) and reconciliation (``reconcile/proving/restate_steps.py``: plain Python on one value) are
two
implementations of the mapping language on purpose (invariant 3). They may differ only in
one direction: a value the pipeline refuses (its row rejected) reconciliation may read
either way, since rejected rows are not compared; a value the pipeline stages must be the
value reconciliation restates, or a correctly migrated row would show as a difference. The
law is checked for every step and option on generated legacy values, through the whole
field: origin, steps, ``when``, ``default``, then the cast to the staging column's type.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.extract.database import _exact_integers
from migrate.spec.model import EntitySpec
from migrate.staging.tables import METADATA
from migrate.transform.engine import transform
from migrate.transform.failures import Failures
from migrate.validate.coerce import coerce
from reconcile.proving import restate_expr as E
from reconcile.proving.restate import Restated, column_kind
from reconcile.proving.restate_steps import Unreadable

CODES = {"A": "ALPHA", "b": "BRAVO", " C": "CHARLIE", "Ä": "UMLAUT"}
# characters legacy text is made of, with the awkward ones: every kind of space, accents,
# ligatures, case pairs that differ between Unicode's simple and full mappings, separators
PIECES = [
    *"aAzZ09 -,./$()\t\n\r\x0b\x0c\xa0\u2003\x1c\x85",
    *"éÉñÑäÄøØßẞﬁİıǆǅǄ",
    "Smith, John A",
    "o'neil",
    "  ",
    "123-45-6789",
    "021000021",
    "12.5",
]
TEXT = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)
VALUES = st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=25)


def _spec(target_table: str, target: str, field: dict[str, Any]) -> EntitySpec:
    return EntitySpec.model_validate(
        {
            "entity": "e",
            "domain": "hr",
            "source": {"system": "hr", "table": "t", "key": ["k"]},
            "target": {"table": target_table, "key": [target]},
            "fields": {target: field},
        }
    )


def _no_lookups(*_: object) -> tuple[pd.Series, pd.Series, pd.Series]:
    raise AssertionError("no lookup here")


def check(table: str, target: str, field: dict[str, Any], records: list[dict[str, object]]) -> None:
    """For every row the pipeline stages, the restated value equals the staged one."""
    spec = _spec(table, target, field)
    columns = sorted({c for r in records for c in r})
    rows = [tuple(r.get(c) for c in columns) for r in records]
    frame = _exact_integers(pd.DataFrame.from_records(rows, columns=columns), rows)  # as read
    frame.insert(0, "k", [str(i) for i in range(len(records))])
    out = transform(spec, frame, {"codes": CODES}, _no_lookups)
    failures = Failures(out.frame.index)
    typed = coerce(out.frame, METADATA.tables[table], failures, spec.cents_fields())
    bad = out.failures.any_mask() | failures.any_mask()
    kind = column_kind(METADATA.tables[table].c[target])
    assert kind is not None
    r = Restated(target, spec.fields[target], kind)
    for i, record in enumerate(records):
        if bad.iloc[i]:
            continue  # rejected: reconciliation never compares it
        staged = typed[target].iloc[i]
        staged = None if staged is None or staged is pd.NA or staged is pd.NaT else staged
        if kind == "money" and staged is not None:
            staged = Decimal(int(staged)).scaleb(-2)  # cents, as staging holds them
        assert r.source(record, {"codes": CODES}) == r.staged(staged, "postgresql"), (
            field,
            record,
            staged,
        )


TEXT_RULES: list[dict[str, Any]] = [
    {"steps": ["strip"]},
    {"steps": ["upper"]},
    {"steps": ["lower"]},
    {"steps": ["title"]},
    {"steps": ["collapse_spaces"]},
    {"steps": ["blank_to_null"]},
    {"steps": ["ascii_fold"]},
    {"steps": [{"replace": {"old": "-", "new": ""}}]},
    {"steps": [{"replace": {"old": " ", "new": "_"}}, "upper"]},
    {"steps": [{"zfill": 6}]},
    {"steps": [{"split": {"sep": ",", "index": 0}}]},
    {"steps": [{"split": {"sep": ",", "index": 1}}, "strip"]},
    {"steps": [{"split": {"sep": ",", "index": -1}}]},
    {"steps": [{"split": {"sep": ",", "index": 0, "rest": True}}]},
    {"steps": [{"split": {"sep": " ", "index": 1, "rest": True}}, "collapse_spaces"]},
    {"steps": [{"mask": "last4"}]},
    {"steps": [{"mask": "full"}]},
    {"steps": [{"mask": "hash"}]},
    {"steps": ["strip", "check_digit"]},
    {"steps": [{"crosswalk": "codes"}]},
    {"steps": ["strip", "blank_to_null"], "default": "NONE"},
    {"steps": ["strip"], "when": {"column": "w", "equals": " yes "}},
    {"steps": ["strip"], "when": {"column": "w", "in": ["y", "ß"], "negate": True}},
    {"when": {"column": "w", "is_blank": True}},
    {"when": {"column": "w", "is_blank": False, "negate": True}, "default": "-"},
]


@pytest.mark.parametrize("rule", TEXT_RULES, ids=lambda r: str(r)[:60])
@settings(max_examples=60, deadline=None)
@given(values=VALUES, flags=st.lists(st.one_of(st.none(), TEXT), min_size=25, max_size=25))
def test_text_rules_agree(
    rule: dict[str, Any], values: list[str | None], flags: list[str | None]
) -> None:
    records = [{"v": v, "w": w} for v, w in zip(values, flags, strict=False)]
    check("WORKERS", "LAST_NAME", {"from": "v", **rule}, records)


def test_from_several_columns_and_a_constant_agree() -> None:
    records = [{"a": " 12 ", "b": None}, {"a": "x", "b": 7}, {"a": None, "b": None}]
    check("WORKERS", "LAST_NAME", {"from": ["a", "b"], "join": "-"}, records)
    check("WORKERS", "LAST_NAME", {"const": "C1"}, records)
    check("WORKER_BANK_ACCOUNTS", "PRIORITY", {"const": 3}, records)
    check("PAYROLL_HISTORY", "HOURS", {"const": 8}, records)


# -- dates, timestamps -----------------------------------------------------------------

DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
FORMATS = ["%m/%d/%Y", "%Y%m%d", "%d.%m.%y", "%Y-%m-%d", "%b %d %Y"]


@st.composite
def date_texts(draw: st.DrawFn, fmt: str) -> str | None:
    """A date written in ``fmt`` (sometimes unpadded, padded with blanks, or broken)."""
    kind = draw(st.sampled_from(["ok", "ok", "ok", "unpadded", "blank", "broken", "none"]))
    day = draw(DAYS)
    if kind == "none":
        return None
    if kind == "blank":
        return draw(st.sampled_from(["", "  ", "\t"]))
    text = day.strftime(fmt)
    if kind == "unpadded":
        text = text.replace("/0", "/").lstrip("0")
    if kind == "broken":
        text = draw(st.sampled_from(["13/45/2001", "2001-02-30", "02/29/01", "x", "29.02.01"]))
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", " ", "\t"]))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("pivot", [None, 20, 69])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_dates_in_any_format_agree(fmt: str, pivot: int | None, data: st.DataObject) -> None:
    values = data.draw(st.lists(date_texts(fmt), min_size=1, max_size=20))
    step = {"date": {"format": fmt, "pivot": pivot}} if pivot is not None else {"date": fmt}
    check("WORKERS", "START_DATE", {"from": "v", "steps": [step]}, [{"v": v} for v in values])


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.one_of(DAYS, st.datetimes(), st.none()), min_size=1, max_size=20))
def test_date_and_timestamp_values_agree(values: list[date | datetime | None]) -> None:
    """A legacy DATE or TIMESTAMP value (as the database driver hands it over) into a date
    or a timestamp column, and text that is ISO already."""
    records = [{"v": v} for v in values]
    check("WORKERS", "START_DATE", {"from": "v"}, records)
    check("PAYROLL_HISTORY", "PAY_DATE", {"from": "v"}, records)
    texts = [{"v": None if v is None else v.isoformat()[:10]} for v in values]
    check("WORKERS", "START_DATE", {"from": "v"}, texts)


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.datetimes(min_value=datetime(1900, 1, 1), timezones=ZONES), min_size=1, max_size=10
    ),
    one_zone=st.booleans(),
)
def test_timestamps_with_a_time_zone_agree(values: list[datetime], one_zone: bool) -> None:
    """A ``timestamptz`` value: staging holds the UTC time (and the UTC day)."""
    if one_zone:
        values = [v.astimezone(values[0].tzinfo) for v in values]
    records: list[dict[str, object]] = [{"v": v} for v in values]
    check("PAYROLL_HISTORY", "PAY_DATE", {"from": "v"}, records)
    check("WORKERS", "START_DATE", {"from": "v"}, records)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.datetimes(min_value=datetime(1970, 1, 1)), min_size=1, max_size=20))
def test_timestamps_from_text_agree(values: list[datetime]) -> None:
    fmt = "%m/%d/%Y %I:%M:%S %p"
    records = [{"v": v.strftime(fmt)} for v in values]
    check("PAYROLL_HISTORY", "PAY_DATE", {"from": "v", "steps": [{"datetime": fmt}]}, records)


def test_a_high_date_made_null_by_when_agrees() -> None:
    records = [{"v": v} for v in [date(9999, 1, 1), date(2021, 3, 4), "9999-01-01", None]]
    rule = {"from": "v", "when": {"column": "v", "equals": "9999-01-01", "negate": True}}
    check("WORKERS", "TERMINATION_DATE", rule, records)


# -- money, integers, signs ------------------------------------------------------------

AMOUNT_PIECES = [*" \t-.$,()0123456789", "12", "00", "1,234", "\xa0"]
AMOUNTS = st.lists(st.sampled_from(AMOUNT_PIECES), max_size=8).map("".join)


@pytest.mark.parametrize("encoding", ["cents", "fixed", "text"])
@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), AMOUNTS), min_size=1, max_size=20),
    signs=st.lists(st.sampled_from(["D", " c ", "C", None, "x"]), min_size=20, max_size=20),
)
def test_money_in_every_encoding_with_signs_agrees(
    encoding: str, values: list[str | None], signs: list[str | None]
) -> None:
    records = [{"v": v, "s": s} for v, s in zip(values, signs, strict=False)]
    steps = [{"money": encoding}, {"sign_by": {"column": "s", "negative": ["c"]}}]
    check("PAYROLL_HISTORY", "GROSS_AMOUNT", {"from": "v", "steps": steps}, records)
    check(
        "PAYROLL_HISTORY", "GROSS_AMOUNT", {"from": "v", "steps": steps[:1], "default": 0}, records
    )


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            AMOUNTS,
            st.integers(-(10**12), 10**12),
            st.decimals(
                places=2, allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9
            ),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_amounts_cast_to_a_money_column_agree(values: list[object]) -> None:
    """No money step: the staging column's cast reads units (fixed-point text, integers)."""
    check("PAYROLL_HISTORY", "HOURS", {"from": "v"}, [{"v": v} for v in values])


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), AMOUNTS, st.integers(-(10**9), 10**9)), min_size=1, max_size=20
    )
)
def test_integers_agree(values: list[object]) -> None:
    records = [{"v": v} for v in values]
    check("WORKER_BANK_ACCOUNTS", "PRIORITY", {"from": "v", "steps": ["integer"]}, records)
    check("WORKER_BANK_ACCOUNTS", "PRIORITY", {"from": "v"}, records)


# -- arithmetic (expr) -------------------------------------------------------------------

EXPRESSIONS = [
    *("a * b", "a + b - 1.5", "-(a - b) / 4", "a / b", "(a + 2) * (b - a)", "a", "-a"),
    "b / (a - a)",
]
NUMBERS = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6).map(str),  # an integer column: see the test after this one
    st.decimals(
        places=3, allow_nan=False, allow_infinity=False, min_value=-(10**6), max_value=10**6
    ),
    st.sampled_from(["1,234.5", " 7 ", "", "x", "0", "12.345", "3", "0.00", " \t"]),
    # no numbers: the row is rejected (invalid_number), never staged blank
    st.sampled_from(["12O.50", "abc", ",", "\xa01", "NaN", "1_000", "1e", Decimal("NaN")]),
)
EXPR_REASONS = ("invalid_number", "division_by_zero")


def check_refusals(field: dict[str, Any], records: list[dict[str, object]]) -> None:
    """The rows the pipeline rejects for an expression (an operand that is no number, a
    division by zero) are the rows reconciliation refuses, for the same reason: so a row
    the pipeline staged blank instead would show as a difference, never agree."""
    spec = _spec("WORKERS", "LAST_NAME", field)
    columns = sorted({c for r in records for c in r})
    rows = [tuple(r.get(c) for c in columns) for r in records]
    frame = _exact_integers(pd.DataFrame.from_records(rows, columns=columns), rows)
    frame.insert(0, "k", [str(i) for i in range(len(records))])
    out = transform(spec, frame, {}, _no_lookups)
    rejects = out.failures.to_frame()
    piped = {int(r.row): r.reason for r in rejects.itertuples() if r.reason in EXPR_REASONS}
    read = E.read(field["expr"])
    restated: dict[int, str] = {}
    for i, record in enumerate(records):
        try:
            E.compute(read, record)
        except Unreadable as exc:
            restated[i] = exc.reason
    assert piped == restated, (field, records)


@pytest.mark.parametrize("expr", EXPRESSIONS)
@settings(max_examples=40, deadline=None)
@given(a=st.lists(NUMBERS, min_size=1, max_size=15), b=st.lists(NUMBERS, min_size=15, max_size=15))
def test_expressions_agree(expr: str, a: list[object], b: list[object]) -> None:
    """Into a money column (cents, a third decimal refused), text and an integer column."""
    records = [{"a": x, "b": y} for x, y in zip(a, b, strict=False)]
    check("PAYROLL_HISTORY", "HOURS", {"expr": expr}, records)
    check("WORKERS", "LAST_NAME", {"expr": expr}, records)
    check("WORKER_BANK_ACCOUNTS", "PRIORITY", {"expr": expr}, records)
    check("PAYROLL_HISTORY", "GROSS_AMOUNT", {"expr": expr, "steps": [{"money": "fixed"}]}, records)
    check_refusals({"expr": expr}, records)


def test_expression_over_a_nullable_integer_column_agrees() -> None:
    records: list[dict[str, object]] = [{"a": 12345678901234567, "b": 1}, {"a": None, "b": 1}]
    check("WORKERS", "LAST_NAME", {"expr": "a * b"}, records)
