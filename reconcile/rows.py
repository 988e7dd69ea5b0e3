"""What both sides of a reconciliation answer, whatever they are (SQL table or streamed file).

A side is a set of rows, each a legacy key string plus one value per compared amount column
(integer cents, ``None`` for no amount, ``INVALID`` for text that is not an amount) plus raw
"extra" columns (grain columns). :class:`RowSource` is the contract; ``relation.py`` answers
it with SQL pushed into the database, ``stream.py`` by streaming rows through Python.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from reconcile.sqltext import h32

INVALID = "X"
Value = int | str | None
BucketStats = dict[int, tuple[int, int]]  # bucket -> (rows, sum of row hashes)
Within = tuple[int, frozenset[int]] | None  # only rows whose (hash >> shift) is in the set


def piece(value: Value) -> str:
    """A value's text in the row hash: cents, ``N`` for no amount, ``X`` for invalid."""
    if value is None:
        return "N"
    return INVALID if isinstance(value, str) else str(value)


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    values: tuple[Value, ...]
    extras: tuple[object, ...] = ()

    def row_text(self) -> str:
        return self.key + "".join(":" + piece(v) for v in self.values)

    @property
    def bucket_hash(self) -> int:
        return h32(self.key)

    @property
    def row_hash(self) -> int:
        return h32(self.row_text())


@dataclass(frozen=True)
class Totals:
    rows: int
    cents: tuple[int, ...]  # per value column, valid amounts only
    invalid: tuple[int, ...]  # per value column, rows whose text is not an amount


GroupTotals = dict[tuple[object, ...], tuple[int, tuple[int, ...]]]


class RowSource(Protocol):
    """One side of the comparison for one entity."""

    def totals(self) -> Totals: ...

    def group_totals(self, extras: list[int]) -> GroupTotals: ...

    def rows_for_keys(self, keys: Collection[str]) -> list[Row]: ...

    def bucket_stats(self, shift: int, within: Within) -> BucketStats: ...

    def bucket_rows(self, shift: int, buckets: frozenset[int]) -> list[Row]: ...


def add_stats(stats: BucketStats, bucket: int, rows: int, row_hash: int) -> None:
    n, s = stats.get(bucket, (0, 0))
    stats[bucket] = (n + rows, s + row_hash)
