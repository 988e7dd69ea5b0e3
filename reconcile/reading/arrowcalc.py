"""Per-row arithmetic of the bucket diff over Arrow columns, with numpy: no Python per row.

The vectorised twins of what a SQLite side otherwise asks Python for once per row
(``arrowside.py``): the CRC-32 key hash (bit for bit ``zlib.crc32`` of the UTF-8 text, so
such a side pairs with MariaDB, streamed and other SQLite sides alike), the exact cents of a
legacy amount (the usual shapes here, every other value through the scalar parser
:func:`~reconcile.reading.money.cents_or_flag` itself, so the two cannot disagree), the row checksum
(:func:`~reconcile.reading.hashing.row_checksum`) and the bucket sums
(:func:`~reconcile.reading.rows.row_stats`).
Every intermediate of the checksum stays below 2^62, as in SQL, so int64 never overflows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.reading.hashing import K, P
from reconcile.reading.money import SPACE, cents_or_flag
from reconcile.reading.rows import HINT_BITS, BucketStats, Picks, Within, add_stats

I64 = npt.NDArray[np.int64]
VALID, NONE, BAD = 0, 1, 2  # the checksum's tags: an amount, no amount, not an amount


class Unreadable(Exception):
    """The batches cannot carry a column as one type (or an amount overflows): ask SQL."""


def _crc_table() -> npt.NDArray[np.uint32]:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table[i] = c
    return table


_CRC = _crc_table()


def crc32(texts: pa.Array) -> I64:
    """``zlib.crc32`` of each value's UTF-8 bytes (a NULL hashes as the empty text): one
    numpy step per byte position, over the rows sorted by length so that the rows still
    that long are a tail of them."""
    arr = texts.cast(pa.large_string()) if texts.type != pa.large_string() else texts
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    arr = pc.fill_null(arr, "")
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64, count=n + 1, offset=arr.offset * 8)
    empty = np.zeros(0, dtype=np.uint8)
    data = empty if data_buf is None else np.frombuffer(data_buf, dtype=np.uint8)
    lengths = np.diff(offsets)
    order = np.argsort(lengths, kind="stable")
    by_length, start = lengths[order], offsets[:-1][order]
    crc = np.full(n, 0xFFFFFFFF, dtype=np.uint32)
    for j in range(int(by_length[-1])):
        first = int(np.searchsorted(by_length, j, side="right"))  # rows longer than j
        c = crc[first:]
        crc[first:] = _CRC[(c ^ data[start[first:] + j]) & 0xFF] ^ (c >> 8)
    out = np.empty(n, dtype=np.int64)
    out[order] = crc ^ np.uint32(0xFFFFFFFF)
    return out


# the usual shapes, answered with Arrow kernels; anything else goes to ``cents_or_flag``
_FAST = {
    "decimal": (r"^-?[0-9]{1,16}\.[0-9][0-9]$", r"^-?[0-9]{1,16}$", 100),
    "cents": (None, r"^-?[0-9]{1,17}$", 1),
    "integer": (None, r"^-?[0-9]{1,16}$", 100),
}


def cents(raw: pa.Array, not_text: npt.NDArray[np.bool_], encoding: str) -> tuple[I64, I64]:
    """(cents, tag) per row of a legacy amount column read as text.

    ``raw`` is the value as the database's ``CAST(x AS TEXT)`` (NULL where there is no
    amount or the row's sign test excluded it); ``not_text`` marks values that are never an
    amount: on SQLite those stored as REAL or BLOB, which the scalar parser refuses (a float
    is not an exact amount), on PostgreSQL text that is not ASCII. Cents are 0 where the tag
    is not ``VALID``."""
    n = len(raw)
    out = np.zeros(n, dtype=np.int64)
    tag = np.full(n, NONE, dtype=np.int64)
    text = pc.utf8_trim(raw, characters=SPACE)
    present = np.asarray(pc.fill_null(pc.not_equal(text, ""), False), dtype=bool)
    tag[present | not_text] = BAD  # a REAL or a BLOB is never an amount, even an empty one
    todo = present & ~not_text
    dotted, whole, scale = _FAST[encoding]
    for pattern, digits_only in ((dotted, False), (whole, True)):
        if pattern is None or not todo.any():
            continue
        hit = todo & np.asarray(pc.fill_null(pc.match_substring_regex(text, pattern), False))
        if not hit.any():
            continue
        picked = pc.filter(text, pa.array(hit))
        number = picked if digits_only else pc.replace_substring(picked, ".", "")
        out[hit] = np.asarray(pc.cast(number, pa.int64())) * (scale if digits_only else 1)
        tag[hit] = VALID
        todo &= ~hit
    for i in np.flatnonzero(todo):  # other shapes: the scalar parser, row by row
        value = cents_or_flag(text[int(i)].as_py(), encoding)
        if isinstance(value, int):
            out[i], tag[i] = value, VALID
        elif value is None:
            tag[i] = NONE
    return out, tag


def row_checksums(h: I64, tagged: Sequence[tuple[I64, I64]]) -> I64:
    """:func:`~reconcile.reading.hashing.row_checksum` of every row (``tagged``: (tag, cents) arrays
    per amount; no compared text columns)."""
    acc = np.zeros(len(h), dtype=np.int64)
    for i, (tag, value) in enumerate(tagged):
        c = np.mod(value, P)  # floor modulo, as Python's %: 0 <= c < P
        acc = tag.copy() if i == 0 else (acc * K + tag) % P
        acc = (acc * K + c) % P
        acc = (acc * K + (c * c) % P) % P
    return ((acc + h) % P) * (h % K + 1) % P


class BucketSums:
    """Per bucket ``h >> shift``, summed batch by batch: (rows, sum of ``rh``, W, T, U), as
    :func:`~reconcile.reading.rows.row_stats` adds them, in int64 (``np.add.at``: exact, no float).
    Dense arrays where the level has at most 2^20 buckets (the first level has 8,192),
    merged dictionaries below that."""

    def __init__(self, shift: int) -> None:
        self.shift = shift
        self.size = 1 << (32 - shift)
        self.dense = np.zeros((5, self.size), dtype=np.int64) if self.size <= 1 << 20 else None
        self.sparse: BucketStats = {}

    def add(self, h: I64, rh: I64) -> None:
        if len(h) == 0:
            return
        shift = self.shift
        sub = (h >> (shift - HINT_BITS)) & 15 if shift >= HINT_BITS else np.zeros_like(h)
        w = (rh & 65535) + 1
        s = sub + 1
        columns = (np.ones_like(h), rh, w, w * s, w * s * s)
        if self.dense is not None:
            for row, values in zip(self.dense, columns, strict=True):
                np.add.at(row, h >> shift, values)
            return
        buckets, at = np.unique(h >> shift, return_inverse=True)
        sums = np.zeros((5, len(buckets)), dtype=np.int64)
        for row, values in zip(sums, columns, strict=True):
            np.add.at(row, at, values)
        for i, b in enumerate(buckets.tolist()):
            add_stats(self.sparse, b, tuple(int(x) for x in sums[:, i]))  # type: ignore[arg-type]

    def result(self) -> BucketStats:
        if self.dense is None:
            return dict(self.sparse)
        d = self.dense
        return {
            int(b): (int(d[0, b]), int(d[1, b]), int(d[2, b]), int(d[3, b]), int(d[4, b]))
            for b in np.flatnonzero(d[0])
        }


def staged_cents(v: pa.Array, present: pa.Array | None) -> tuple[I64, I64]:
    """(cents, tag) of an amount SQL computed (staged cents): NULL is no amount, or not an
    amount where the row says one was present (``present`` None: never)."""
    if not (pa.types.is_integer(v.type) or pa.types.is_null(v.type)):
        raise Unreadable(f"staged cents read as {v.type}")
    value = np.asarray(pc.fill_null(v.cast(pa.int64()), 0), dtype=np.int64)
    missing = np.asarray(v.is_null(), dtype=bool)
    flagged = np.zeros(len(v), dtype=bool)
    if present is not None:
        flagged = np.asarray(pc.fill_null(present.cast(pa.int64()), 0), dtype=np.int64) == 1
    tag = np.where(missing, np.where(flagged, BAD, NONE), VALID).astype(np.int64)
    return value, tag


def add_groups(
    groups: dict[tuple[object, ...], list[int]],
    batch: pa.RecordBatch,
    tagged: list[tuple[I64, I64]],
    k: int,
) -> None:
    """Add one batch's rows, cents and invalid counts to the totals by extras."""
    n = len(tagged)
    columns: dict[str, Any] = {f"e{i}": batch.column(f"e{i}") for i in range(k)}
    columns["n"] = np.ones(batch.num_rows, dtype=np.int64)
    for i, (tag, value) in enumerate(tagged):
        big = max(-int(value.min()), int(value.max())) if len(value) else 0  # |INT64_MIN| too
        if big >= (1 << 62) // max(len(value), 1):
            raise Unreadable("amounts too large to sum in 64 bits per batch")
        columns[f"v{i}"] = np.where(tag == VALID, value, 0)
        columns[f"i{i}"] = (tag == BAD).astype(np.int64)
    names = ["n", *(f"v{i}" for i in range(n)), *(f"i{i}" for i in range(n))]
    if k == 0:
        acc = groups.setdefault((), [0] * (1 + 2 * n))
        for j, name in enumerate(names):
            acc[j] += int(np.sum(columns[name]))
        return
    table = pa.table(columns)
    keys = [f"e{i}" for i in range(k)]
    done = table.group_by(keys, use_threads=False).aggregate([(c, "sum") for c in names])
    rows = done.to_pydict()
    for r in range(done.num_rows):
        extras = tuple(rows[key][r] for key in keys)
        acc = groups.setdefault(extras, [0] * (1 + 2 * n))
        for j, name in enumerate(names):
            acc[j] += int(rows[f"{name}_sum"][r])


def in_buckets(h: I64, within: Within) -> npt.NDArray[np.bool_]:
    """Rows whose key hash falls in the buckets of ``within`` (all rows for None)."""
    if within is None:
        return np.ones(len(h), dtype=bool)
    shift, buckets = within
    return np.isin(h >> shift, np.fromiter(buckets, dtype=np.int64, count=len(buckets)))


def in_picks(h: I64, picks: Picks) -> npt.NDArray[np.bool_]:
    """Rows whose key hash falls in any of the picked buckets."""
    mask = np.zeros(len(h), dtype=bool)
    for pick in picks:
        mask |= in_buckets(h, pick)
    return mask
