"""A :class:`~reconcile.rows.RowSource` answered by streaming rows through Python.

Used where SQL cannot compute an amount exactly (money text) and for flat files. Each
question is one pass over the stream; memory holds only aggregates (or the rows asked for),
never the whole source.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from reconcile.rows import INVALID, BucketStats, GroupTotals, Row, Totals, Within, add_stats


@dataclass(frozen=True)
class StreamSource:
    rows: Callable[[], Iterator[Row]]
    width: int  # number of value columns

    def totals(self) -> Totals:
        count = 0
        cents = [0] * self.width
        invalid = [0] * self.width
        for row in self.rows():
            count += 1
            for i, v in enumerate(row.values):
                if v == INVALID:
                    invalid[i] += 1
                elif isinstance(v, int):
                    cents[i] += v
        return Totals(count, tuple(cents), tuple(invalid))

    def group_totals(self, extras: list[int]) -> GroupTotals:
        acc: dict[tuple[object, ...], tuple[int, list[int]]] = {}
        for row in self.rows():
            key = tuple(row.extras[i] for i in extras)
            n, sums = acc.get(key, (0, [0] * self.width))
            for i, v in enumerate(row.values):
                if isinstance(v, int):
                    sums[i] += v
            acc[key] = (n + 1, sums)
        return {k: (n, tuple(s)) for k, (n, s) in acc.items()}

    def rows_for_keys(self, keys: Collection[str]) -> list[Row]:
        wanted = set(keys)
        return [r for r in self.rows() if r.key in wanted]

    def bucket_stats(self, shift: int, within: Within) -> BucketStats:
        stats: BucketStats = {}
        for row in self.rows():
            h = row.bucket_hash
            if within is None or (h >> within[0]) in within[1]:
                add_stats(stats, h >> shift, 1, row.row_hash)
        return stats

    def bucket_rows(self, shift: int, buckets: frozenset[int]) -> list[Row]:
        return [r for r in self.rows() if (r.bucket_hash >> shift) in buckets]
