"""A :class:`~reconcile.reading.rows.RowSource` answered by streaming rows through Python.

Used where SQL cannot compute an amount exactly (money text) and for flat files. Each
question is one pass over the stream; memory holds only aggregates (or the rows asked for),
never the whole source. Rows get their key hash and checksum here, with the Python twin of
the hash the other side computes in SQL (``hashing.py`` never picks a database-only hash
when one side is streamed).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace

from reconcile.interrupt import checkpoint
from reconcile.reading.cached import cached
from reconcile.reading.hashing import MD5, Hasher, row_checksum, texts_text
from reconcile.reading.relation import FIRST_SHIFT
from reconcile.reading.rows import (
    INVALID,
    BucketStats,
    GroupTotals,
    Picks,
    Profile,
    Row,
    Scan,
    Totals,
    Within,
    add_stats,
    group_profile,
    row_stats,
    tag,
    totals_of,
)


@dataclass(frozen=True)
class StreamSource:
    source: Callable[[], Iterator[Row]]
    width: int  # number of value columns
    hasher: Hasher = MD5
    first_shift: int = FIRST_SHIFT
    family: str = field(default="stream")

    def using(self, hasher: Hasher, first_shift: int) -> StreamSource:
        return replace(self, hasher=hasher, first_shift=first_shift)

    def rows(self) -> Iterator[Row]:
        """The stream, each row with its key hash and checksum."""
        for row in self.source():
            checkpoint()  # a worker thread's loop: no Ctrl-C reaches it otherwise
            h = self.hasher.py(row.key)
            th = self.hasher.py(texts_text(row.texts)) if row.texts else None
            yield replace(row, h=h, rh=row_checksum(h, [tag(v) for v in row.values], th))

    @cached
    def _scan(self) -> Scan:
        groups: dict[tuple[object, ...], tuple[int, list[int], list[int]]] = {}
        stats: BucketStats = {}
        for row in self.rows():
            n, sums, bad = groups.get(row.extras, (0, [0] * self.width, [0] * self.width))
            for i, v in enumerate(row.values):
                if v == INVALID:
                    bad[i] += 1
                elif isinstance(v, int):
                    sums[i] += v
            groups[row.extras] = (n + 1, sums, bad)
            add_stats(stats, row.h >> self.first_shift, row_stats(row.h, row.rh, self.first_shift))
        profile: Profile = [(k, n, tuple(s), tuple(b)) for k, (n, s, b) in groups.items()]
        return Scan(profile, stats)

    def scan(self) -> Scan:
        return self._scan

    def totals(self) -> Totals:
        return totals_of(self._scan.profile, self.width)

    def group_totals(self, extras: list[int]) -> GroupTotals:
        return group_profile(self._scan.profile, extras)

    def rows_for_keys(self, keys: Collection[str]) -> list[Row]:
        wanted = set(keys)
        return [r for r in self.rows() if r.key in wanted]

    def bucket_stats(self, shift: int, within: Within) -> BucketStats:
        if shift == self.first_shift and within is None:
            return self._scan.buckets
        stats: BucketStats = {}
        for row in self.rows():
            if within is None or (row.h >> within[0]) in within[1]:
                add_stats(stats, row.h >> shift, row_stats(row.h, row.rh, shift))
        return stats

    def bucket_rows(self, picks: Picks) -> list[Row]:
        return [r for r in self.rows() if any((r.h >> s) in b for s, b in picks)]

    def close(self) -> None:
        """Nothing is kept: every question streams again."""
