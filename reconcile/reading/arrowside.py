"""A SQLite side read as Arrow batches and summed with numpy, not called back per row.

SQLite has no hash function and no exact decimal parser, so its SQL side (``relation.py``)
calls Python twice per row (``mig_crc32``, ``mig_cents``) and sorts every row twice for its
``GROUP BY``s: about 3 s per million rows. Here SQLite only reads: the ADBC SQLite driver
hands over the key text, the grain columns and the amount text (or the staged cents) in
batches of 65,536 rows, decoded in C, and ``arrowcalc.py`` computes the same CRC-32 key
hashes, cents, row checksums and bucket sums without a Python call per row (amounts of an
unusual shape go through the scalar parser itself). Memory holds one batch and the
aggregates; every question is one read of the side. The answers are those of the SQL side,
value for value (``tests/test_arrow_side.py`` holds the two equal).

Used for a SQLite relation on a file, when both sides hash with CRC-32 and no text columns
are compared (their normalisation runs in Python, :func:`vectorised`). The file is opened
read-only. Anything the batches cannot carry as one type per column (SQLite lets a column
hold integers and text side by side) makes that side answer through SQL from then on, whose
answers are the same. What is read, and how each batch is made whole and checked, is
``arrowread.py``'s; this module answers the questions from the batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.reading.arrowbase import ScannedSide
from reconcile.reading.arrowcalc import (
    I64,
    NONE,
    VALID,
    BucketSums,
    Unreadable,
    add_groups,
    cents,
    crc32,
    in_buckets,
    in_picks,
    row_checksums,
    staged_cents,
)
from reconcile.reading.arrowread import SideReader, flag_bits, read_only_uri
from reconcile.reading.cached import cached
from reconcile.reading.hashing import CRC32
from reconcile.reading.kepthashes import Kept
from reconcile.reading.relation import Relation
from reconcile.reading.rows import (
    INVALID,
    BucketStats,
    Picks,
    Profile,
    Row,
    RowSource,
    Scan,
    Value,
    Within,
)

log = logging.getLogger(__name__)
_IDS = 20_000  # row ids per statement of picked rows
T = TypeVar("T")
Keep = Callable[[pa.RecordBatch, "I64"], "npt.NDArray[np.bool_]"]


def vectorised(side: RowSource) -> RowSource:
    """``side`` read as Arrow batches where that gives the same answers, else ``side``."""
    if not isinstance(side, Relation) or side.family != "sqlite" or side.hasher is not CRC32:
        return side
    if side.texts or (side.pre and any(v.raw is None for v in side.values)):
        return side
    if flag_bits(side) > 63:  # storage classes (4 bits each) and amount flags in an int64
        return side
    uri = read_only_uri(side.engine.url)
    if uri is None:
        return side
    return ArrowSide(side, uri)


@dataclass(frozen=True)
class ArrowSide(ScannedSide):
    relation: Relation
    uri: str

    @property
    def family(self) -> str:
        return "arrow"

    def using(self, hasher: Any, first_shift: int) -> ArrowSide:
        return ArrowSide(self.relation.using(hasher, first_shift), self.uri)

    @cached
    def _reader(self) -> SideReader:
        """One per side: it keeps what it learnt of the file (key parts, NULL stand-ins)."""
        return SideReader(self.relation, self.uri)

    @cached
    def _has_rowid(self) -> bool:
        """Whether the side is a table whose rows have row ids (not a query or a view)."""
        if self.relation.from_sql.startswith("("):
            return False
        try:
            for _ in self._reader.run(f"SELECT rowid FROM {self.relation.from_sql} LIMIT 0"):
                pass
        except Unreadable:
            return False
        return True

    def _or_sql(self, fn: Callable[[], T], fallback: Callable[[], T]) -> T:
        """``fn``, or ``fallback`` (the SQL side's answer) from the first question on that
        the batches could not carry."""
        if "_sql_only" not in self.__dict__:
            try:
                return fn()
            except (Unreadable, pa.ArrowException, UnicodeDecodeError) as exc:  # not UTF-8
                log.info("reading %s through SQL instead: %s", self.relation.from_sql, exc)
                self.__dict__["_sql_only"] = True
        return fallback()

    # ---- per batch -----------------------------------------------------------------

    def _tagged(self, batch: pa.RecordBatch) -> list[tuple[I64, I64]]:
        """(tag, cents) per compared amount, per row of ``batch``."""
        out: list[tuple[I64, I64]] = []
        for i, v in enumerate(self.relation.values):
            if v.raw is not None:
                raw = batch.column(f"a{i}")  # text: never NULL, so typed from batch one
                xt = np.asarray(batch.column("xt"), dtype=np.int64)
                not_text = (xt >> self._reader.flag_bit(i)) & 1 == 1
                if not_text.any():  # a BLOB's bytes may not be UTF-8: never look at them
                    raw = pc.if_else(pa.array(not_text), pa.scalar("", raw.type), raw)
                value, tag = cents(raw, not_text, v.raw.encoding)
            else:
                present = batch.column(f"p{i}") if v.present != "0" else None
                value, tag = staged_cents(batch.column(f"v{i}"), present)
            out.append((tag, value))
        return out

    def _hashed(self, batch: pa.RecordBatch) -> tuple[I64, list[tuple[I64, I64]], I64]:
        h = crc32(batch.column("k"))
        tagged = self._tagged(batch)
        return h, tagged, row_checksums(h, tagged)

    # ---- the RowSource questions -----------------------------------------------------

    @cached
    def _scan(self) -> Scan:
        return self._or_sql(self._arrow_scan, self.relation.scan)

    def _arrow_scan(self) -> Scan:
        n, k = len(self.relation.values), len(self.relation.extras)
        groups: dict[tuple[object, ...], list[int]] = {}
        sums = BucketSums(self.relation.first_shift)
        kept = Kept() if self._has_rowid else None
        self.__dict__["_kept"] = kept
        select = self._reader.columns() + (", rowid AS r" if kept else "")
        for batch in self._reader.checked(self._reader.read(select, "1 = 1")):
            h, tagged, rh = self._hashed(batch)
            sums.add(h, rh)
            add_groups(groups, batch, tagged, k)
            if kept is not None and not kept.add(batch.column("r"), h, rh):
                kept = self.__dict__["_kept"] = None
        profile: Profile = [
            (extras, acc[0], tuple(acc[1 : 1 + n]), tuple(acc[1 + n :]))
            for extras, acc in groups.items()
        ]
        return Scan(profile, sums.result())

    def bucket_stats(self, shift: int, within: Within) -> BucketStats:
        if shift == self.relation.first_shift and within is None:
            return self._scan.buckets

        def arrow() -> BucketStats:
            kept = self._kept_hashes()
            if kept is not None:  # no read of the database: the scan kept every row's hashes
                return kept.stats(shift, within)
            sums = BucketSums(shift)
            for batch in self._reader.batches():
                h = crc32(batch.column("k"))
                keep = in_buckets(h, within)
                part = batch.filter(pa.array(keep))
                if part.num_rows:
                    sums.add(h[keep], row_checksums(h[keep], self._tagged(part)))
            return sums.result()

        return self._or_sql(arrow, lambda: self.relation.bucket_stats(shift, within))

    def bucket_rows(self, picks: Picks) -> list[Row]:
        def arrow() -> list[Row]:
            kept = self._kept_hashes()
            ids = None if kept is None else kept.picked_ids(picks)
            return self._rows(lambda _, h: in_picks(h, picks), ids)

        return self._or_sql(arrow, lambda: self.relation.bucket_rows(picks))

    def rows_for_keys(self, keys: Collection[str]) -> list[Row]:
        wanted = pa.array(sorted(set(keys)), pa.large_string())

        def keep(batch: pa.RecordBatch, h: I64) -> npt.NDArray[np.bool_]:
            key = batch.column("k").cast(pa.large_string())
            return np.asarray(pc.fill_null(pc.is_in(key, value_set=wanted), False), dtype=bool)

        return self._or_sql(lambda: self._rows(keep), lambda: self.relation.rows_for_keys(keys))

    def _rows(self, keep: Keep, ids: list[int] | None = None) -> list[Row]:
        """The rows ``keep`` selects, with their hashes; amounts parsed for those rows only.

        From a table: the row ids picked (``ids``, from the kept hashes, or found by reading
        the table's row ids and keys, a third of the full read), then those rows, by row id;
        the rows fetched are selected again by ``keep`` and must be as many as were picked,
        else (a view, a table without row ids, a table that changed between the reads)
        everything is read once more."""
        if not self.relation.from_sql.startswith("("):
            try:
                return self._fetch(self._picked_ids(keep) if ids is None else ids, keep)
            except Unreadable as exc:
                log.info("reading %s whole: %s", self.relation.from_sql, exc)
        return self._picked(self._reader.batches(), keep)

    def _picked_ids(self, keep: Keep) -> list[int]:
        ids: list[int] = []
        for batch in self._reader.read(f"SELECT rowid AS r, {self._reader.key}", "1 = 1"):
            rowid = batch.column("r")
            if rowid.null_count or not pa.types.is_integer(rowid.type):
                raise Unreadable("no row ids")
            mask = keep(batch, crc32(batch.column("k")))
            ids += np.asarray(rowid, dtype=np.int64)[mask].tolist()
        return ids

    def _fetch(self, ids: list[int], keep: Keep) -> list[Row]:
        """The rows of these row ids that ``keep`` selects (all of them, or Unreadable)."""
        out: list[Row] = []
        for start in range(0, len(ids), _IDS):
            listed = ", ".join(map(str, ids[start : start + _IDS]))
            out += self._picked(self._reader.batches(f"rowid IN ({listed})"), keep)
        if len(out) != len(set(ids)):
            raise Unreadable(f"{len(out)} rows read back for {len(set(ids))} row ids")
        return out

    def _picked(self, batches: Iterator[pa.RecordBatch], keep: Keep) -> list[Row]:
        out: list[Row] = []
        k = len(self.relation.extras)
        for batch in self._reader.checked(batches):
            h = crc32(batch.column("k"))
            mask = keep(batch, h)
            if not mask.any():
                continue
            part, hk = batch.filter(pa.array(mask)), h[mask]
            tagged = self._tagged(part)
            rh = row_checksums(hk, tagged)
            columns = [
                [_value(t, c) for t, c in zip(tag.tolist(), value.tolist(), strict=True)]
                for tag, value in tagged
            ]
            extras = [part.column(f"e{i}").to_pylist() for i in range(k)]
            values = zip(*columns, strict=True) if columns else ((),) * part.num_rows
            parts = zip(
                part.column("k").to_pylist(),
                values,
                zip(*extras, strict=True) if extras else ((),) * part.num_rows,
                hk.tolist(),
                rh.tolist(),
                strict=True,
            )
            out += [Row(str(key), tuple(v), tuple(e), (), h_, rh_) for key, v, e, h_, rh_ in parts]
        return out


def _value(tag: int, c: int) -> Value:
    return c if tag == VALID else (None if tag == NONE else INVALID)
