"""What both sides of a reconciliation answer, whatever they are (SQL table or streamed file).

A side is a set of rows, each a legacy key string plus one value per compared amount column
(integer cents, ``None`` for no amount, ``INVALID`` for text that is not an amount), one
normalised string per compared text column, and raw "extra" columns (grain columns). Rows
pulled for the diff carry their key hash ``h`` and row checksum ``rh`` as the database
computed them (``hashing.py``), so Python never has to reproduce a database-only hash.
:class:`RowSource` is the contract; ``relation.py`` answers it with SQL pushed into the
database, ``stream.py`` by streaming rows through Python, ``arrowside.py`` (SQLite files) by
reading Arrow batches and summing them with numpy.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from reconcile.reading.hashing import Hasher

INVALID = "X"
Value = int | str | None
# bucket -> (rows, sum of row checksums, and the sums W, T, U of :func:`row_stats`)
Stats = tuple[int, int, int, int, int]
BucketStats = dict[int, Stats]
Within = tuple[int, frozenset[int]] | None  # only rows whose (hash >> shift) is in the set
Picks = tuple[tuple[int, frozenset[int]], ...]  # rows in any of these (shift, buckets)
GroupTotals = dict[tuple[object, ...], tuple[int, tuple[int, ...]]]
Profile = list[tuple[tuple[object, ...], int, tuple[int, ...], tuple[int, ...]]]


def piece(value: Value) -> str:
    """A value's text in the row text: cents, ``N`` for no amount, ``X`` for invalid."""
    if value is None:
        return "N"
    return INVALID if isinstance(value, str) else str(value)


def tag(value: Value) -> tuple[int, int]:
    """(tag, cents) of an amount in the row checksum: 0 valid, 1 no amount, 2 invalid."""
    if value is None:
        return 1, 0
    return (2, 0) if isinstance(value, str) else (0, value)


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    values: tuple[Value, ...]
    extras: tuple[object, ...] = ()
    texts: tuple[str | None, ...] = ()
    h: int = field(default=0, compare=False)
    rh: int = field(default=0, compare=False)

    def row_text(self) -> str:
        """A stable sort key of the row's compared content."""
        return "\x1f".join([self.key, *map(piece, self.values), *(t or "\x00" for t in self.texts)])

    def same_content(self, other: Row) -> bool:
        return self.values == other.values and self.texts == other.texts


@dataclass(frozen=True)
class Totals:
    rows: int
    cents: tuple[int, ...]  # per value column, valid amounts only
    invalid: tuple[int, ...]  # per value column, rows whose text is not an amount


@dataclass(frozen=True)
class Scan:
    """One pass over a side: totals per combination of extras, and first-level buckets."""

    profile: Profile  # (extras, rows, cents sums, invalid counts); an extras value may
    # appear once per part scanned (``merged_scans``): read it through the functions below
    buckets: BucketStats


def merged_scans(scans: list[Scan]) -> Scan:
    """One scan from scans of disjoint parts of a side: their totals rows side by side (every
    reader adds them up), their bucket stats added up."""
    buckets: BucketStats = {}
    for scan in scans:
        for bucket, stats in scan.buckets.items():
            add_stats(buckets, bucket, stats)
    return Scan([row for scan in scans for row in scan.profile], buckets)


def totals_of(profile: Profile, width: int) -> Totals:
    count, cents, invalid = 0, [0] * width, [0] * width
    for _, rows, sums, bad in profile:
        count += rows
        cents = [a + b for a, b in zip(cents, sums, strict=True)]
        invalid = [a + b for a, b in zip(invalid, bad, strict=True)]
    return Totals(count, tuple(cents), tuple(invalid))


def group_profile(profile: Profile, extras: list[int]) -> GroupTotals:
    acc: dict[tuple[object, ...], tuple[int, list[int]]] = {}
    for values, rows, sums, _ in profile:
        key = tuple(values[i] for i in extras)
        n, total = acc.get(key, (0, [0] * len(sums)))
        acc[key] = (n + rows, [a + b for a, b in zip(total, sums, strict=True)])
    return {k: (n, tuple(s)) for k, (n, s) in acc.items()}


class RowSource(Protocol):
    """One side of the comparison for one entity."""

    @property
    def family(self) -> str:
        """``sqlite`` | ``postgresql`` | ``mysql`` | ``stream`` (read in Python) | ``arrow``
        (a SQLite file read as Arrow batches, ``arrowside.py``) | ``pg-arrow`` (a PostgreSQL
        side whose scan is read as Arrow batches, ``arrowpg.py``)."""
        ...

    def using(self, hasher: Hasher, first_shift: int) -> RowSource:
        """This side hashing with ``hasher``, first-level buckets ``h >> first_shift``."""
        ...

    def scan(self) -> Scan: ...

    def totals(self) -> Totals: ...

    def group_totals(self, extras: list[int]) -> GroupTotals: ...

    def rows_for_keys(self, keys: Collection[str]) -> list[Row]: ...

    def bucket_stats(self, shift: int, within: Within) -> BucketStats: ...

    def bucket_rows(self, picks: Picks) -> list[Row]:
        """Rows whose ``h >> shift`` is in ``buckets`` for any (shift, buckets) of ``picks``."""
        ...

    def close(self) -> None:
        """Release what the side kept between questions (SQLite's scanned rows)."""
        ...


HINT_BITS = 4  # a bucket's sums point at one of its 16 sub-buckets (``diff.py``)


def sub_bucket(h: int, shift: int) -> int:
    """Which of the 16 sub-buckets of bucket ``h >> shift`` the key hash falls in (0 where a
    bucket has too few bits left to split)."""
    return (h >> (shift - HINT_BITS)) & 15 if shift >= HINT_BITS else 0


def weight(rh: int) -> int:
    """A row's weight in the sub-bucket sums: the low 16 bits of its checksum, plus one (so
    a missing or extra row always moves ``W``, and a changed row almost always does)."""
    return (rh & 65535) + 1


def row_stats(h: int, rh: int, shift: int) -> Stats:
    """One row's contribution to its bucket's stats at level ``shift``: 1, its checksum,
    its weight ``w`` (``W``), ``w * s`` (``T``) and ``w * s * s`` (``U``), where ``s`` is
    its sub-bucket + 1."""
    w, s = weight(rh), sub_bucket(h, shift) + 1
    return 1, rh, w, w * s, w * s * s


def add_stats(stats: BucketStats, bucket: int, delta: Stats, sign: int = 1) -> None:
    old = stats.get(bucket, (0, 0, 0, 0, 0))
    stats[bucket] = (
        old[0] + sign * delta[0],
        old[1] + sign * delta[1],
        old[2] + sign * delta[2],
        old[3] + sign * delta[3],
        old[4] + sign * delta[4],
    )
