"""The vectorised lineage hash and reject rows give exactly what the per-value code gave."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.extract.chunks import Chunk
from migrate.lineage.masking import mask_value
from migrate.load.outcomes import reject_rows
from migrate.spec.loader import load_project
from migrate.spec.model import EntitySpec
from migrate.transform.engine import TransformOutput
from migrate.transform.failures import REASONS, Failures
from migrate.transform.rowhash import hex16, source_hashes

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def reference_hashes(rows: pd.DataFrame) -> list[str]:
    """What ``_with_lineage`` computed before: hash of every value as text, 16 hex digits."""
    hashes = pd.util.hash_pandas_object(rows.astype("str"), index=False)
    return [f"{h:016x}" for h in hashes]


def mixed_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    ints = rng.integers(-(10**18), 10**18, n)
    return pd.DataFrame(
        {
            "id": np.arange(n) - 5,
            "cents": pd.array(np.where(rng.random(n) < 0.2, None, ints), dtype="Int64"),
            "small": pd.Series(rng.integers(0, 9, n), dtype="int32"),
            "code": pd.Series(
                np.where(rng.random(n) < 0.2, None, rng.choice(["A", "b ", "", "é€"], n)),
                dtype="str",
            ),
            "amount": pd.Series([Decimal("1.50") if i % 3 else None for i in range(n)]),
            "day": pd.Series([datetime.date(2020, 1, 1 + i % 28) for i in range(n)]),
            "ratio": np.arange(n) / 7,
            "flag": np.arange(n) % 2 == 0,
        },
        index=pd.RangeIndex(n) * 3 + 11,
    )


def test_source_hashes_match_pandas_on_every_column_kind() -> None:
    rows = mixed_frame(2_000)
    got = source_hashes(rows)
    assert got.tolist() == reference_hashes(rows)
    assert got.index.equals(rows.index)
    assert source_hashes(rows.iloc[:0]).tolist() == []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
            st.one_of(st.none(), st.text(max_size=12)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_source_hashes_match_pandas_on_any_values(
    values: list[tuple[int | None, str | None]],
) -> None:
    rows = pd.DataFrame(
        {
            "n": pd.array([v for v, _ in values], dtype="Int64"),
            "s": pd.Series([s for _, s in values], dtype="str"),
        }
    )
    assert source_hashes(rows).tolist() == reference_hashes(rows)


def test_hex16_pads_and_covers_the_whole_range() -> None:
    values = np.array([0, 1, 255, 2**32, 2**64 - 1], dtype=np.uint64)
    got = hex16(values, pd.RangeIndex(5)).tolist()
    assert got == [f"{int(v):016x}" for v in values]


def reference_rejects(
    out: TransformOutput, chunk: Chunk, run_id: str, spec: EntitySpec
) -> list[dict[str, object]]:
    """``reject_rows`` as it was: a Python join per row and a lookup per reject."""
    cases = out.failures.to_frame()
    if cases.empty:
        return []
    cases = cases.sort_values(["row", "order"], kind="stable")
    cases["text"] = (
        cases["column"]
        + ": "
        + cases["reason"]
        + " ("
        + cases["reason"].map(lambda c: REASONS.get(c, c))
        + ")"
    )
    messages = cases.groupby("row", sort=True)["text"].agg("; ".join)
    first = cases.drop_duplicates("row").set_index("row").loc[messages.index]

    def masked(column: str, value: object) -> object:
        rule = spec.fields.get(column)
        return mask_value(rule.personal, value) if rule is not None and rule.personal else value

    return [
        {
            "RUN_ID": run_id,
            "BATCH_ID": chunk.batch_id,
            "ENTITY": spec.entity,
            "SOURCE_SYSTEM": spec.source.system,
            "SOURCE_KEY": out.source_keys.loc[row],
            "COLUMN_NAME": column,
            "REASON_CODE": reason,
            "OFFENDING_VALUE": masked(str(column), value),
            "MESSAGE": message,
        }
        for row, column, reason, value, message in zip(
            messages.index, first["column"], first["reason"], first["value"], messages, strict=True
        )
    ]


def test_reject_rows_match_the_per_row_version() -> None:
    spec = load_project(MAPPINGS, ["workers"]).spec("workers")
    index = pd.RangeIndex(40) * 2 + 100
    rows = pd.DataFrame({"k": [f"E{i}" for i in range(40)]}, index=index)
    failures = Failures(index)
    ssn = pd.Series([f"123-45-{i:04d}" for i in range(40)], index=index, dtype="str")
    every_third = pd.Series([i % 3 == 0 for i in range(40)], index=index)
    every_fifth = pd.Series([i % 5 == 0 for i in range(40)], index=index)
    failures.add(every_fifth, "NATIONAL_IDENTIFIER", "invalid_format", ssn)
    failures.add(every_third, "START_DATE", "invalid_date", rows["k"])
    failures.add(every_third & every_fifth, "LAST_NAME", "required_missing", pd.Series())
    out = TransformOutput(rows, failures, {}, rows["k"])
    chunk = Chunk(7, rows, "[]")
    bad = failures.any_mask()
    got = reject_rows(out, bad, chunk, "run1", spec)
    assert got == reference_rejects(out, chunk, "run1", spec)
    assert any(";" in str(r["MESSAGE"]) for r in got)
    assert any(str(r["OFFENDING_VALUE"]).startswith("***") for r in got)
    empty = TransformOutput(rows, Failures(index), {}, rows["k"])
    assert reject_rows(empty, bad & False, chunk, "run1", spec) == []


STAMPS = st.datetimes(datetime.datetime(1700, 1, 1), datetime.datetime(2200, 1, 1))
STAMP = st.one_of(
    st.none(),
    STAMPS,
    STAMPS.map(lambda d: d.replace(hour=0, minute=0, second=0, microsecond=0)),
    STAMPS.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    STAMPS.map(lambda d: d.replace(microsecond=0)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(STAMP, st.integers(-5, 5)), min_size=1, max_size=12), st.booleans())
def test_a_rows_hash_is_its_own_whatever_else_is_in_the_chunk(
    values: list[tuple[datetime.datetime | None, int]], durations: bool
) -> None:
    """Timestamps (and durations) mixing midnights, times of day and fractions: each row
    hashes as it would alone, and a chunk of one shape as pandas hashes it."""
    stamps = pd.Series(pd.to_datetime([v for v, _ in values]))
    if durations:
        stamps = stamps - pd.Timestamp("1990-01-01")
    rows = pd.DataFrame({"at": stamps, "n": pd.array([n for _, n in values], dtype="Int64")})
    whole = source_hashes(rows).tolist()
    assert whole == [source_hashes(rows.iloc[[i]]).tolist()[0] for i in range(len(rows))]
    assert [reference_hashes(rows.iloc[[i]])[0] for i in range(len(rows))] == whole
