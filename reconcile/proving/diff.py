"""Keyed row diff by hashed key buckets, descending only into buckets that differ.

The approach of data-diff/reladiff, with hash buckets instead of key ranges (legacy keys are
mixed text and numbers, and each database orders text its own way, while a hash of the key
string is the same everywhere). Each row has a key hash ``h`` and a row checksum ``rh``
(``hashing.py``). Level 1 groups rows by the top 13 bits of ``h`` (8,192 buckets at most, few
enough for the database's hash table to stay in the CPU cache; it comes out of the same scan
as the totals, ``Relation.scan``) and compares, per bucket, the row count, the sum of ``rh``
and three sums that point at the sixteenths of the bucket (its sub-buckets, four more bits
of ``h``) where the changes lie, when they lie in one or two
(:func:`~reconcile.proving.bucket_hints.pointed`). Where the rows to pull are few enough
(50,000 per side), only those sub-buckets are pulled, or whole buckets where the sums point
nowhere; a sub-bucket whose rows do not account for its bucket's whole difference has its
bucket pulled whole, or examined a level down when it is too big
(:func:`~reconcile.proving.bucket_hints.unexplained`). The 50,000 is an estimate (a
sixteenth of a bucket per sub-bucket pointed at), not a hard bound. Otherwise the next
level (six more bits) examines the sub-buckets pointed at and the whole of the other differing
buckets; there the pointed sub-buckets must account for their bucket's whole difference,
or the rest of that bucket is examined too (:meth:`_Descent._unkept`). Both sides answer
each question at once, on their own connections (the databases do the work, so Python's GIL
does not serialise them), unless both run Python per row (SQLite read through SQL,
streamed sides: :func:`~reconcile.proving.both_sides.at_once`; a SQLite file read as Arrow
batches, ``arrowside.py``, does its work in C and numpy and runs at once). Equal tables cost
one scan per side.

What a bucket checksum detects: a missing or extra row (count), any changed compared value
(amount or text) or key, values swapped between keys (the checksum is multiplied by a
key-dependent factor). What it cannot detect: columns that are not compared, and changes
whose checksum changes cancel within one bucket (about one chance in 2^31 per bucket; a
checksum, not a signature).
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from reconcile.proving.both_sides import at_once, both
from reconcile.proving.bucket_hints import (
    SUBS,
    ZERO,
    Hints,
    delta,
    fine_buckets,
    picks_of,
    pointed,
    rows_to_pull,
    unexplained,
)
from reconcile.reading.money import cents_to_decimal
from reconcile.reading.rows import (
    HINT_BITS,
    INVALID,
    BucketStats,
    Picks,
    Row,
    RowSource,
    Stats,
    Value,
    Within,
    add_stats,
    row_stats,
)
from reconcile.report import RowDifference

LEAF_ROWS = 50_000
FIRST_BITS, STEP_BITS = 13, 6
Content = tuple[str, tuple[Value, ...], tuple[str | None, ...]]  # a row as compared


def shifts() -> tuple[int, ...]:
    """Level shifts of the 32-bit key hash: ``FIRST_BITS`` first, then six more per level."""
    return (*range(32 - FIRST_BITS, 0, -STEP_BITS), 0)


@dataclass(frozen=True)
class DiffStats:
    """How far the descent went: the deepest level reached, the differing buckets whose rows
    were compared (summed over the levels where that happened), and the rows pulled from
    both sides (a bucket pulled again whole after a wrong pointer counts twice)."""

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
    found, stats = iter_keyed_diff(entity, columns, source, staged, excluded, texts)
    return list(found), stats


def iter_keyed_diff(
    entity: str,
    columns: tuple[str, ...],
    source: RowSource,
    staged: RowSource,
    excluded: list[Row],
    texts: tuple[str, ...] = (),
) -> tuple[Iterator[RowDifference], DiffStats]:
    """:func:`keyed_diff` with the differences made one at a time as they are read, so a
    caller that keeps the first few and counts the rest never holds them all."""
    descent = _Descent(source, staged, excluded, shifts(), at_once(source, staged))
    work = deque([_Region(None, 0, {})])
    while work:
        work.extend(descent.examine(work.popleft()))
    left = _remove(descent.left, excluded)
    found = iter_compare_rows(entity, columns, texts, left, descent.right)
    return found, DiffStats(descent.depth, descent.differing, descent.pulled)


@dataclass(frozen=True)
class _Region:
    """Rows to examine at level ``depth``: those ``within``, where ``claims`` names the
    buckets of the level above whose whole difference the hints placed in this region
    (bucket -> its difference and the sub-buckets pointed at)."""

    within: Within
    depth: int
    claims: dict[int, tuple[Stats, tuple[int, ...]]]


@dataclass
class _Descent:
    source: RowSource
    staged: RowSource
    excluded: list[Row]
    levels: tuple[int, ...]
    together: bool
    left: list[Row] = field(default_factory=list)
    right: list[Row] = field(default_factory=list)
    depth: int = 0
    differing: int = 0
    pulled: int = 0

    def examine(self, region: _Region) -> list[_Region]:
        """Compare one region's buckets; pull their rows where few, else return the regions
        to examine one level down (and the rest of any bucket a hint got wrong)."""
        shift, within = self.levels[region.depth], region.within
        self.depth = max(self.depth, region.depth + 1)
        got, stg = both(
            lambda: self.source.bucket_stats(shift, within),
            lambda: self.staged.bucket_stats(shift, within),
            self.together,
        )
        src = _minus(got, self.excluded, shift, within)
        more = self._unkept(region, src, stg)
        differing = frozenset(b for b, _ in src.items() ^ stg.items())  # set algebra in C
        if not differing:
            return more
        hints = pointed(src, stg, differing, shift)
        last = region.depth == len(self.levels) - 1
        if not last and rows_to_pull(src, stg, differing, hints) > LEAF_ROWS:
            return [*more, _below(shift, region.depth, differing, hints, src, stg)]
        a, b = self._pull(picks_of(shift, differing, hints))
        wrong = unexplained(hints, src, stg, a, b, self.excluded, shift)
        if wrong:  # a hint pointed at the wrong sub-buckets: the rest of the bucket differs
            a = [r for r in a if (r.h >> shift) not in wrong]
            b = [r for r in b if (r.h >> shift) not in wrong]
            if rows_to_pull(src, stg, wrong, {}) <= LEAF_ROWS:
                more_a, more_b = self._pull(((shift, wrong),))
                a, b, wrong = a + more_a, b + more_b, frozenset()
            else:
                more.append(_Region((shift, wrong), region.depth + 1, {}))
        self.left += a
        self.right += b
        self.differing += len(differing) - len(wrong)
        return more

    def _pull(self, picks: Picks) -> tuple[list[Row], list[Row]]:
        got = both(
            lambda: self.source.bucket_rows(picks),
            lambda: self.staged.bucket_rows(picks),
            self.together,
        )
        self.pulled += len(got[0]) + len(got[1])
        return got

    def _unkept(self, region: _Region, src: BucketStats, stg: BucketStats) -> list[_Region]:
        """The rest of each claimed bucket whose difference this region does not account
        for (count, checksum sum and ``W``, which do not depend on the level): its other
        sub-buckets, examined at this level. A claim kept means the rest of the bucket is
        equal, with the same guarantee as an equal bucket."""
        if not region.claims:
            return []
        shift, above = self.levels[region.depth], self.levels[region.depth - 1]
        found: dict[int, tuple[int, int, int]] = {}
        for stats, sign in ((src, 1), (stg, -1)):
            for c, (n, rh, w, _, _) in stats.items():
                if (b := c >> (above - shift)) in region.claims:
                    fn, frh, fw = found.get(b, (0, 0, 0))
                    found[b] = (fn + sign * n, frh + sign * rh, fw + sign * w)
        rest = frozenset(
            (b << HINT_BITS) | j
            for b, (delta, subs) in region.claims.items()
            if found.get(b, (0, 0, 0)) != delta[:3]
            for j in range(SUBS)
            if j not in subs
        )
        return [_Region((above - HINT_BITS, rest), region.depth, {})] if rest else []


def _below(
    shift: int,
    depth: int,
    differing: frozenset[int],
    hints: Hints,
    src: BucketStats,
    stg: BucketStats,
) -> _Region:
    """The next level's region: the sub-buckets the hints point at and the whole of the
    other differing buckets (a hint's claim is checked there, by :meth:`_Descent._unkept`)."""
    if not hints:
        return _Region((shift, differing), depth + 1, {})
    whole = {(b << HINT_BITS) | j for b in differing if b not in hints for j in range(SUBS)}
    claims = {b: (delta(src, stg, b), subs) for b, subs in hints.items()}
    return _Region((shift - HINT_BITS, fine_buckets(hints) | whole), depth + 1, claims)


def _minus(stats: BucketStats, excluded: list[Row], shift: int, within: Within) -> BucketStats:
    if not excluded:  # a scanned bucket holds at least one row: nothing to drop
        return stats
    out = dict(stats)
    for row in excluded:
        if within is None or (row.h >> within[0]) in within[1]:
            add_stats(out, row.h >> shift, row_stats(row.h, row.rh, shift), -1)
    return {b: v for b, v in out.items() if v != ZERO}


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
    return list(iter_compare_rows(entity, columns, texts, source, staged))


def iter_compare_rows(
    entity: str,
    columns: tuple[str, ...],
    texts: tuple[str, ...],
    source: list[Row],
    staged: list[Row],
) -> Iterator[RowDifference]:
    """The differences of the pulled rows, key by key in key order, one at a time."""
    source, staged = _unmatched(source, staged)
    by_src: dict[str, list[Row]] = defaultdict(list)
    by_stg: dict[str, list[Row]] = defaultdict(list)
    for r in source:
        by_src[r.key].append(r)
    for r in staged:
        by_stg[r.key].append(r)
    for key in sorted(set(by_src) | set(by_stg)):
        # rows of one key in a stable order: the same run reconciled twice pairs them alike
        left = sorted(by_src.pop(key, []), key=Row.row_text)
        right = sorted(by_stg.pop(key, []), key=Row.row_text)
        for a, b in zip(left, right, strict=False):
            for col, va, vb in zip(columns, a.values, b.values, strict=True):
                if va != vb:
                    yield RowDifference(entity, key, "changed", col, show(va), show(vb))
            for col, ta, tb in zip(texts, a.texts, b.texts, strict=True):
                if ta != tb:
                    yield RowDifference(entity, key, "changed", col, ta, tb)
        for _ in left[len(right) :]:
            yield RowDifference(entity, key, "missing")
        for _ in right[len(left) :]:
            yield RowDifference(entity, key, "unexpected")


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
