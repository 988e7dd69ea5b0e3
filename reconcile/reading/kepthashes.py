"""Every scanned row's (row id, key hash, row checksum), kept in a temporary file.

The Arrow side of a SQLite table (``arrowside.py``) writes them as it scans, so that the
bucket descent's deeper levels are summed from this file instead of the database, and the
rows it picks are fetched by row id. 16 bytes a row on disk; memory holds one chunk.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from reconcile.reading.arrowcalc import BucketSums, in_buckets, in_picks
from reconcile.reading.rows import BucketStats, Picks, Within

I64 = npt.NDArray[np.int64]


class Kept:
    """(row id, key hash, row checksum) of every row the scan read, 16 bytes a row in a
    temporary file (memory holds one chunk): the bucket descent reads them back instead of
    the database, and fetches the rows it picks by row id."""

    CHUNK = 1 << 18
    ROW = np.dtype([("r", "<i8"), ("h", "<u4"), ("rh", "<u4")])  # h < 2^32, rh < 2^31

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()

    def add(self, rowid: pa.Array, h: I64, rh: I64) -> bool:
        """Keep a batch's hashes; False (keep nothing more) where a row has no integer id."""
        if rowid.null_count or not pa.types.is_integer(rowid.type):
            self.close()
            return False
        rows = np.empty(len(h), dtype=self.ROW)
        rows["r"], rows["h"], rows["rh"] = np.asarray(rowid, dtype=np.int64), h, rh
        self.file.write(rows.tobytes())
        return True

    def chunks(self) -> Iterator[tuple[I64, I64, I64]]:
        self.file.seek(0)
        while True:
            part = np.fromfile(self.file, dtype=self.ROW, count=self.CHUNK)
            if len(part) == 0:
                return
            yield part["r"], part["h"].astype(np.int64), part["rh"].astype(np.int64)

    def stats(self, shift: int, within: Within) -> BucketStats:
        """Bucket sums at ``shift`` of the kept rows in ``within``: no read of the database."""
        sums = BucketSums(shift)
        for _, h, rh in self.chunks():
            keep = in_buckets(h, within)
            sums.add(h[keep], rh[keep])
        return sums.result()

    def picked_ids(self, picks: Picks) -> list[int]:
        """Row ids of the kept rows in any of the picked buckets."""
        return [r for rowid, h, _ in self.chunks() for r in rowid[in_picks(h, picks)].tolist()]

    def close(self) -> None:
        self.file.close()
