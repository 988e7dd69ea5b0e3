"""A PostgreSQL side whose full scan is read as Arrow batches and summed with numpy.

The SQL side (``relation.py``) asks the server for everything at once: per row the amount's
validity regex and parse, the row checksum, then a ``GROUPING SETS`` hash aggregate; that
is most of a reconciliation's time (1M legacy rows: about 1.7 CPU-seconds of the server's).
Here the server only evaluates what it must (the key hash, with the pair's hasher, the
grain columns, each amount as text and the staged cents) and streams it as binary ``COPY``
through the ADBC driver, decoded to Arrow in C; ``arrowcalc.py`` parses the amounts, computes
the checksums and sums the buckets and the totals, as for a SQLite file (``arrowside.py``).
The one scan is about twice as fast. A table's scan also keeps every row's ``ctid``, key
hash and checksum in a temporary file (``kepthashes.py``, as a SQLite file's scan keeps its
row ids): the descent's deeper levels are summed from it, and the rows of the buckets that
differ are fetched by ``ctid`` (a TID scan), not found by hashing the whole table again.
Rows looked up by key stay SQL, pushed down.

The rows come from SQL, so the two must agree value for value: the key hash is the same
SQL; an amount is valid under the same rule (ASCII digits only, as PostgreSQL's regex;
``tests/test_arrow_pg.py`` holds the two sides equal, rows and bucket sums alike).
Anything the batches cannot carry (a grain column of a type whose Python value could differ
from the SQL driver's, a nondeterministic collation, sums that could pass 64 bits) makes the
side answer through SQL.
The connection is read-only, as every legacy connection.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import adbc_driver_manager
import adbc_driver_postgresql
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text

from reconcile.interrupt import checkpoint
from reconcile.reading.arrowbase import ScannedSide
from reconcile.reading.arrowcalc import (
    I64,
    BucketSums,
    Unreadable,
    add_groups,
    cents,
    in_picks,
    row_checksums,
    staged_cents,
)
from reconcile.reading.arrowread import literal_params
from reconcile.reading.cached import cached
from reconcile.reading.hashing import Hasher
from reconcile.reading.kepthashes import Kept
from reconcile.reading.relation import Relation
from reconcile.reading.rows import (
    BucketStats,
    Picks,
    Profile,
    Row,
    RowSource,
    Scan,
    Within,
)

log = logging.getLogger(__name__)
BATCH_BYTES = 4 << 20  # the driver's batch size hint: about 100,000 rows of a scan
PARSED = frozenset({"decimal", "cents", "integer"})  # encodings ``arrowcalc.cents`` reads
READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
_TIDS = 20_000  # row ids per statement of picked rows
# past a few thousand row ids the planner prefers reading the whole table (its estimate of a
# random read per row id, where the pages are cached): 0.1 to 0.3 s for 9,000 rows, against
# about 0.02 s through the row ids
_TID_SCAN = "SET LOCAL enable_seqscan = off"
_BY_TID = "ctid = ANY(CAST(:tids AS tid[]))"


# grain column types (PostgreSQL's names) whose values the driver hands over as psycopg does
# for the SQL side: text, integers, booleans, dates. Others go to SQL (``numeric`` arrives as
# text, ``money`` as integer cents, ``oid`` as a signed 32-bit integer)
CARRIED = frozenset(
    {"text", "varchar", "bpchar", "char", "name", "int2", "int4", "int8", "bool", "date"}
)


def _carried(field: pa.Field) -> bool:
    meta = field.metadata or {}
    return meta.get(b"POSTGRESQL:type", b"").decode() in CARRIED


def read_as_arrow(side: RowSource) -> RowSource:
    """``side`` with its scan read as Arrow batches, where that gives the same answers."""
    if not isinstance(side, Relation) or side.family != "postgresql" or side.texts:
        return side
    if side.pre and any(v.raw is None for v in side.values):
        return side  # a legacy amount this module does not know how to read
    if any(v.raw is not None and v.raw.encoding not in PARSED for v in side.values):
        return side
    return PgArrowSide(side, adbc_uri(side.engine.url))


def adbc_uri(url: Any) -> str:
    """The libpq URI of a SQLAlchemy URL (the driver name dropped, the password kept)."""
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


@dataclass(frozen=True)
class PgArrowSide(ScannedSide):
    relation: Relation
    uri: str

    @property
    def family(self) -> str:
        return "pg-arrow"

    def using(self, hasher: Hasher, first_shift: int) -> PgArrowSide:
        return PgArrowSide(self.relation.using(hasher, first_shift), self.uri)

    def select(self) -> str:
        """The scan's statement: ``h``, ``e0..``, per amount its text ``a{i}`` (NULL where the
        sign test leaves it out) or the staged cents ``v{i}`` and presence ``p{i}``."""
        r = self.relation
        cols = [f"{r.hasher.sql(r.key_sql, 'postgresql')} AS h"]
        cols += [f"{e} AS e{i}" for i, e in enumerate(r.extras)]
        for i, v in enumerate(r.values):
            if v.raw is None:
                cols.append(f"{v.cents} AS v{i}")
                if v.present != "0":
                    cols.append(f"{v.present} AS p{i}")
                continue
            amount = f"CAST({v.raw.column} AS TEXT)"
            if v.raw.selected != "1 = 1":
                amount = f"(CASE WHEN {v.raw.selected} THEN {amount} END)"
            cols.append(f"{amount} AS a{i}")
        if self.is_table:
            cols.append("ctid AS r")
        where = literal_params(r.where_sql, r.params)
        return f"SELECT {', '.join(cols)} FROM {r.from_sql} WHERE {where}"

    @cached
    def is_table(self) -> bool:
        """Whether the side reads one plain table (or materialised view), whose rows each
        have their own ``ctid``: not a query, a view, a partitioned table or a table with
        inheritance children (rows of two partitions can share a ``ctid``)."""
        r = self.relation
        if r.from_sql.lstrip().startswith("("):
            return False
        sql = (
            "SELECT relkind IN ('r', 'm') AND NOT relhassubclass FROM pg_class "
            "WHERE oid = CAST(:t AS regclass)"
        )
        with r.engine.connect() as conn:
            return bool(conn.execute(text(sql), {"t": r.from_sql}).scalar())

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The scan's rows, batch by batch, through the driver's own statement."""
        try:
            with (
                closing(adbc_driver_postgresql.connect(self.uri)) as db,
                closing(adbc_driver_manager.AdbcConnection(db)) as conn,
                closing(adbc_driver_manager.AdbcStatement(conn)) as stmt,
            ):
                stmt.set_sql_query(READ_ONLY)
                stmt.execute_update()
                stmt.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})
                stmt.set_sql_query(self.select())
                stream, _ = stmt.execute_query()
                with pa.RecordBatchReader.from_stream(stream) as reader:
                    for batch in reader:
                        checkpoint()  # read in a worker thread too: Ctrl-C stops it here
                        yield batch
        except (OSError, adbc_driver_manager.Error) as exc:
            raise Unreadable(str(exc)) from exc

    def _hashed(self, batch: pa.RecordBatch) -> tuple[I64, list[tuple[I64, I64]]]:
        """(key hash, (tag, cents) per amount) of every row of ``batch``."""
        hashes = batch.column("h")
        if hashes.null_count or not pa.types.is_integer(hashes.type):
            raise Unreadable("a key without a hash (NULL key)")
        for i in range(len(self.relation.extras)):
            field = batch.schema.field(f"e{i}")
            if not _carried(field):
                raise Unreadable(f"grain column {i} of a type read otherwise ({field})")
        tagged: list[tuple[I64, I64]] = []
        for i, v in enumerate(self.relation.values):
            if v.raw is None:
                present = batch.column(f"p{i}") if v.present != "0" else None
                value, tag = staged_cents(batch.column(f"v{i}"), present)
            else:
                raw = batch.column(f"a{i}")
                # PostgreSQL's rule reads ASCII digits only: anything else is not an amount
                other = pc.invert(pc.fill_null(pc.string_is_ascii(raw), True))
                value, tag = cents(raw, np.asarray(other, dtype=bool), v.raw.encoding)
            tagged.append((tag, value))
        return np.asarray(hashes, dtype=np.int64), tagged

    def _grouped_alike(self) -> bool:
        """Whether Arrow's grouping (byte for byte) is the server's: not where the database
        has a nondeterministic collation (``'abc'`` and ``'ABC'`` one group there), which a
        text grain column could use."""
        if not self.relation.extras:
            return True
        sql = "SELECT EXISTS (SELECT 1 FROM pg_collation WHERE NOT collisdeterministic)"
        with self.relation.engine.connect() as conn:
            return not conn.execute(text(sql)).scalar()

    def _arrow_scan(self) -> Scan:
        if not self._grouped_alike():
            raise Unreadable("a nondeterministic collation: grain columns grouped by SQL")
        n, k = len(self.relation.values), len(self.relation.extras)
        groups: dict[tuple[object, ...], list[int]] = {}
        sums = BucketSums(self.relation.first_shift)
        kept = Kept() if self.is_table else None
        self.__dict__["_kept"] = kept
        for batch in self.batches():
            h, tagged = self._hashed(batch)
            rh = row_checksums(h, tagged)
            sums.add(h, rh)
            add_groups(groups, batch, tagged, k)
            if kept is not None and not kept.add(row_ids(batch.column("r")), h, rh):
                kept = self.__dict__["_kept"] = None
        profile: Profile = [
            (extras, acc[0], tuple(acc[1 : 1 + n]), tuple(acc[1 + n :]))
            for extras, acc in groups.items()
        ]
        return Scan(profile, sums.result())

    @cached
    def _scan(self) -> Scan:
        try:
            return self._arrow_scan()
        except (Unreadable, pa.ArrowException) as exc:
            log.info("reading %s through SQL instead: %s", self.relation.from_sql, exc)
            self.__dict__["_sql_only"] = True
            self._drop_kept()
            return self.relation.scan()

    def bucket_stats(self, shift: int, within: Within) -> BucketStats:
        if shift == self.relation.first_shift and within is None:
            return self._scan.buckets
        kept = self._kept_hashes()
        if kept is None:
            return self.relation.bucket_stats(shift, within)
        return kept.stats(shift, within)  # no read of the database

    def bucket_rows(self, picks: Picks) -> list[Row]:
        """The picked rows, fetched by ``ctid`` (a TID scan, not a scan of the table), each
        checked to be in a picked bucket still; if any is not, or is missing (a row updated
        or deleted since the scan), all are read again the usual way. A row inserted since
        is not seen, as the scan did not see it."""
        kept = self._kept_hashes()
        if kept is None:
            return self.relation.bucket_rows(picks)
        ids = kept.picked_ids(picks)
        out: list[Row] = []
        for start in range(0, len(ids), _TIDS):
            # one array literal, not a list the driver adapts value by value
            tids = ",".join(f'"({i >> 16},{i & 0xFFFF})"' for i in ids[start : start + _TIDS])
            out += self.relation.rows_where(_BY_TID, {"tids": "{" + tids + "}"}, _TID_SCAN)
        hashes = np.fromiter((r.h for r in out), dtype=np.int64, count=len(out))
        if len(out) != len(ids) or not in_picks(hashes, picks).all():
            log.info("%s changed since its scan: its rows read again", self.relation.from_sql)
            return self.relation.bucket_rows(picks)
        return out

    def rows_for_keys(self, keys: Collection[str]) -> list[Row]:
        return self.relation.rows_for_keys(keys)


def row_ids(tids: pa.Array) -> pa.Array:
    """Each ``ctid`` (the driver hands over its 6 bytes: block, then offset, big-endian) as
    one integer, ``block << 16 | offset``."""
    storage = tids.storage if isinstance(tids, pa.ExtensionArray) else tids
    if not pa.types.is_binary(storage.type) or storage.null_count:
        raise Unreadable(f"row ids read as {tids.type}")
    n = len(storage)
    if n == 0:
        return pa.array([], pa.int64())
    _, offsets_buf, data_buf = storage.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=n + 1, offset=storage.offset * 4)
    if offsets[-1] - offsets[0] != 6 * n or np.any(np.diff(offsets) != 6):
        raise Unreadable("row ids that are not 6 bytes each")
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[0] + 6 * n]
    parts: npt.NDArray[np.int64] = data.reshape(n, 6).astype(np.int64)
    block = (parts[:, 0] << 24) | (parts[:, 1] << 16) | (parts[:, 2] << 8) | parts[:, 3]
    return pa.array((block << 16) | (parts[:, 4] << 8) | parts[:, 5])
