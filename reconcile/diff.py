"""Keyed row diff by hashed key buckets, descending only into buckets that differ.

The approach of data-diff/reladiff, with hash buckets instead of key ranges (legacy keys are
mixed text and numbers, and each database orders text its own way, while a hash of the key
string is the same everywhere). Each row has a key hash ``h`` and a row checksum ``rh``
(``hashing.py``). Level 1 groups rows by the top 16 bits of ``h`` (65,536 buckets at most;
it comes out of the same scan as the totals, ``Relation.scan``) and compares, per bucket,
the row count and the sum of ``rh`` on both sides; differing buckets are split 64 ways (six
more bits) until the rows left in differing buckets are few enough (50,000) to pull and
compare key by key. Both sides answer each question at once, on their own connections (the
databases do the work, so Python's GIL does not serialise them), unless both run Python per
row (SQLite, streamed sides: :func:`at_once`). Equal tables cost one scan per side.

What a bucket checksum detects: a missing or extra row (count), any changed compared value
(amount or text) or key, values swapped between keys (the checksum is multiplied by a
key-dependent factor). What it cannot detect: columns that are not compared, and changes
whose checksum changes cancel within one bucket (about one chance in 2^31 per bucket; a
checksum, not a signature).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from reconcile.money import cents_to_decimal
from reconcile.report import RowDifference
from reconcile.rows import INVALID, BucketStats, Row, RowSource, Value, Within, add_stats

LEAF_ROWS = 50_000
FIRST_BITS, STEP_BITS = 16, 6
T = TypeVar("T")
U = TypeVar("U")
Content = tuple[str, tuple[Value, ...], tuple[str | None, ...]]  # a row as compared


def shifts() -> tuple[int, ...]:
    """Level shifts of the 32-bit key hash: 16 bits first, then six more per level."""
    return (*range(32 - FIRST_BITS, 0, -STEP_BITS), 0)


# sides that run Python once per row (SQLite calls our hash and parser back; a streamed side
# is Python): two of them in threads contend for the GIL and take longer than one after the
# other (1M rows per side on SQLite: 4.5 s at once, 3.7 s in turn)
PYTHON_PER_ROW = frozenset({"sqlite", "stream"})


def at_once(source: RowSource, staged: RowSource) -> bool:
    """Whether the two sides' questions gain from running concurrently (never for a side
    compared with itself: its cached scan is then computed once, on one connection)."""
    return source is not staged and not {source.family, staged.family} <= PYTHON_PER_ROW


def both(left: Callable[[], T], right: Callable[[], U], together: bool = True) -> tuple[T, U]:
    """Run the two sides' questions at once (each on its own database connection), or one
    after the other when ``together`` is false (see :func:`at_once`)."""
    if not together:
        return left(), right()
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(left), pool.submit(right)
        return a.result(), b.result()


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
    texts: tuple[str, ...] = (),
) -> tuple[list[RowDifference], DiffStats]:
    """Row differences between source (less ``excluded`` rows) and staging.

    ``columns`` names the amounts, ``texts`` the compared text columns. Both sides must
    use the same hasher and first shift (``RowSource.using``).
    """
    within: Within = None
    levels = shifts()
    together = at_once(source, staged)
    for level, shift in enumerate(levels, start=1):
        w = within
        got, stg = both(
            lambda: source.bucket_stats(shift, w),  # noqa: B023 - called before the loop moves
            lambda: staged.bucket_stats(shift, w),  # noqa: B023
            together,
        )
        src = _minus(got, excluded, shift, within)
        differing = frozenset(b for b, _ in src.items() ^ stg.items())  # set algebra in C
        if not differing:
            return [], DiffStats(level, 0, 0)
        size = sum(max(src.get(b, (0, 0))[0], stg.get(b, (0, 0))[0]) for b in differing)
        if size <= LEAF_ROWS or shift == levels[-1]:
            left, right = both(
                lambda: source.bucket_rows(shift, differing),  # noqa: B023
                lambda: staged.bucket_rows(shift, differing),  # noqa: B023
                together,
            )
            left = _remove(left, excluded)
            diffs = compare_rows(entity, columns, texts, left, right)
            return diffs, DiffStats(level, len(differing), len(left) + len(right))
        within = (shift, differing)
    raise AssertionError("unreachable: the last level always compares rows")


def _minus(stats: BucketStats, excluded: list[Row], shift: int, within: Within) -> BucketStats:
    if not excluded:  # a scanned bucket holds at least one row: nothing to drop
        return stats
    out = dict(stats)
    for row in excluded:
        if within is None or (row.h >> within[0]) in within[1]:
            add_stats(out, row.h >> shift, -1, -row.rh)
    return {b: v for b, v in out.items() if v != (0, 0)}


def _remove(rows: list[Row], excluded: list[Row]) -> list[Row]:
    """Rows less one copy per excluded row (rejected or filtered source rows)."""
    if not excluded:
        return rows
    pending: dict[str, list[Row]] = defaultdict(list)
    for row in excluded:
        pending[row.key].append(row)
    out: list[Row] = []
    for row in rows:
        waiting = pending.get(row.key)
        match = next((i for i, e in enumerate(waiting or []) if e.same_content(row)), None)
        if waiting and match is not None:
            waiting.pop(match)
        else:
            out.append(row)
    return out


def compare_rows(
    entity: str,
    columns: tuple[str, ...],
    texts: tuple[str, ...],
    source: list[Row],
    staged: list[Row],
) -> list[RowDifference]:
    source, staged = _unmatched(source, staged)
    by_src: dict[str, list[Row]] = defaultdict(list)
    by_stg: dict[str, list[Row]] = defaultdict(list)
    for r in source:
        by_src[r.key].append(r)
    for r in staged:
        by_stg[r.key].append(r)
    out: list[RowDifference] = []
    for key in sorted(set(by_src) | set(by_stg)):
        # rows of one key in a stable order: the same run reconciled twice pairs them alike
        left = sorted(by_src.get(key, []), key=Row.row_text)
        right = sorted(by_stg.get(key, []), key=Row.row_text)
        for a, b in zip(left, right, strict=False):
            out += [
                RowDifference(entity, key, "changed", col, show(va), show(vb))
                for col, va, vb in zip(columns, a.values, b.values, strict=True)
                if va != vb
            ]
            out += [
                RowDifference(entity, key, "changed", col, ta, tb)
                for col, ta, tb in zip(texts, a.texts, b.texts, strict=True)
                if ta != tb
            ]
        out += [RowDifference(entity, key, "missing") for _ in left[len(right) :]]
        out += [RowDifference(entity, key, "unexpected") for _ in right[len(left) :]]
    return out


def _unmatched(source: list[Row], staged: list[Row]) -> tuple[list[Row], list[Row]]:
    """Both sides less the rows the other side has exactly (key and compared content).

    Most rows of a differing bucket are equal (one changed row puts its whole bucket in
    question); dropping them by multiset difference first leaves only the rows to explain."""
    left = Counter(_content(r) for r in source)
    right = Counter(_content(r) for r in staged)
    both_sides = left & right
    if not both_sides:
        return source, staged
    return _less(source, both_sides), _less(staged, both_sides)


def _content(row: Row) -> Content:
    return row.key, row.values, row.texts


def _less(rows: list[Row], matched: Counter[Content]) -> list[Row]:
    left = Counter(matched)
    out: list[Row] = []
    for row in rows:
        c = _content(row)
        if left[c] > 0:
            left[c] -= 1
        else:
            out.append(row)
    return out


def show(value: Value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return "(not an amount)" if value == INVALID else value
    return str(cents_to_decimal(value))
