"""Keyed row diff by hashed key buckets, descending only into buckets that differ.

The approach of data-diff/reladiff, with hash buckets instead of key ranges (legacy keys are
mixed text and numbers, and each database orders text its own way, while an MD5 of the key
string is the same everywhere). Each row gets ``h = h32(key)`` and ``rh = h32(key:values)``.
Level 1 groups rows by the top bits of ``h`` (about one bucket per 32 rows, between 1,024
and 65,536 buckets) and compares, per bucket, the row count and the sum of ``rh`` on both
sides; differing buckets are split 64 ways (six more bits) until the rows left in differing
buckets are few enough (50,000) to pull and compare key by key. Equal tables cost one
aggregate query per side.

What a bucket checksum detects: a missing or extra row (count), any changed compared value
or key (``rh`` changes unless two changes in one bucket cancel exactly modulo the sum, a
chance near 2^-32 per bucket), values swapped between keys (the key is inside ``rh``).
What it cannot detect: columns that are not compared (only amounts are hashed), and two
rows of one bucket whose hash changes cancel (vanishingly rare, not adversarial-proof: MD5
truncated to 32 bits is a checksum, not a signature).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from reconcile.money import cents_to_decimal
from reconcile.report import RowDifference
from reconcile.rows import INVALID, BucketStats, Row, RowSource, Value, Within, add_stats

LEAF_ROWS = 50_000
ROWS_PER_BUCKET = 32
MIN_BITS, MAX_BITS, STEP_BITS = 10, 16, 6


def shifts(rows: int) -> tuple[int, ...]:
    """Level shifts: the first level has ~rows/32 buckets (1,024 to 65,536), then 64-way."""
    bits = min(MAX_BITS, max(MIN_BITS, (rows // ROWS_PER_BUCKET).bit_length()))
    first = 32 - bits
    return (*range(first, 0, -STEP_BITS), 0)


@dataclass(frozen=True)
class DiffStats:
    levels: int
    buckets_differing: int
    rows_pulled: int


def keyed_diff(
    entity: str,
    columns: tuple[str, ...],
    source: RowSource,
    staged: RowSource,
    excluded: list[Row],
    rows: int = 0,
) -> tuple[list[RowDifference], DiffStats]:
    """Row differences between source (less ``excluded`` rows) and staging.

    ``rows`` (the source row count, known from the totals) sizes the first level.
    """
    within: Within = None
    levels = shifts(rows)
    for level, shift in enumerate(levels, start=1):
        src = _minus(source.bucket_stats(shift, within), excluded, shift, within)
        stg = staged.bucket_stats(shift, within)
        differing = frozenset(b for b in set(src) | set(stg) if src.get(b) != stg.get(b))
        if not differing:
            return [], DiffStats(level, 0, 0)
        size = sum(max(src.get(b, (0, 0))[0], stg.get(b, (0, 0))[0]) for b in differing)
        if size <= LEAF_ROWS or shift == levels[-1]:
            left = _remove(source.bucket_rows(shift, differing), excluded)
            right = staged.bucket_rows(shift, differing)
            diffs = compare_rows(entity, columns, left, right)
            return diffs, DiffStats(level, len(differing), len(left) + len(right))
        within = (shift, differing)
    raise AssertionError("unreachable: the last level always compares rows")


def _minus(stats: BucketStats, excluded: list[Row], shift: int, within: Within) -> BucketStats:
    out = dict(stats)
    for row in excluded:
        h = row.bucket_hash
        if within is None or (h >> within[0]) in within[1]:
            add_stats(out, h >> shift, -1, -row.row_hash)
    return {b: v for b, v in out.items() if v != (0, 0)}


def _remove(rows: list[Row], excluded: list[Row]) -> list[Row]:
    """Rows less one copy per excluded row (rejected or filtered source rows)."""
    pending: dict[str, list[Row]] = defaultdict(list)
    for row in excluded:
        pending[row.key].append(row)
    out: list[Row] = []
    for row in rows:
        waiting = pending.get(row.key)
        match = next((i for i, e in enumerate(waiting or []) if e.values == row.values), None)
        if waiting and match is not None:
            waiting.pop(match)
        else:
            out.append(row)
    return out


def compare_rows(
    entity: str, columns: tuple[str, ...], source: list[Row], staged: list[Row]
) -> list[RowDifference]:
    by_src: dict[str, list[Row]] = defaultdict(list)
    by_stg: dict[str, list[Row]] = defaultdict(list)
    for r in source:
        by_src[r.key].append(r)
    for r in staged:
        by_stg[r.key].append(r)
    out: list[RowDifference] = []
    for key in sorted(set(by_src) | set(by_stg)):
        left, right = by_src.get(key, []), by_stg.get(key, [])
        for a, b in zip(left, right, strict=False):
            out += [
                RowDifference(entity, key, "changed", col, show(va), show(vb))
                for col, va, vb in zip(columns, a.values, b.values, strict=True)
                if va != vb
            ]
        out += [RowDifference(entity, key, "missing") for _ in left[len(right) :]]
        out += [RowDifference(entity, key, "unexpected") for _ in right[len(left) :]]
    return out


def show(value: Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return "(not an amount)" if value == INVALID else value
    return str(cents_to_decimal(value))
