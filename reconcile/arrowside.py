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
answers are the same.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import adbc_driver_manager
import adbc_driver_sqlite
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.arrowcalc import BAD, I64, NONE, VALID, BucketSums, cents, crc32, row_checksums
from reconcile.cached import cached
from reconcile.hashing import CRC32
from reconcile.kepthashes import Kept
from reconcile.money import SPACE
from reconcile.relation import Relation
from reconcile.rows import (
    INVALID,
    BucketStats,
    GroupTotals,
    Picks,
    Profile,
    Row,
    RowSource,
    Scan,
    Totals,
    Value,
    Within,
    group_profile,
    totals_of,
)
from reconcile.sqltext import key_expr

log = logging.getLogger(__name__)
BATCH_ROWS = 65_536
_IDS = 20_000  # row ids per statement of picked rows
T = TypeVar("T")
# per check: a value's storage class as bits (1 integer, 2 REAL, 4 text, 8 BLOB, 0 NULL), as
# much as the check needs, in SQL, and the rule the bits seen over a read must obey. Every
# class for a grain column (one only), "is it a REAL" for a key column (none), "is it
# anything but an integer" (flagged as 2) for a staged amount
_CHECKS: dict[str, tuple[str, Callable[[int], bool]]] = {
    "one class": (
        "(CASE typeof({}) WHEN 'integer' THEN 1 WHEN 'real' THEN 2 WHEN 'text' THEN 4 "
        "WHEN 'blob' THEN 8 ELSE 0 END)",
        lambda bits: bits & (bits - 1) == 0,
    ),
    "no REAL": ("(CASE typeof({}) WHEN 'real' THEN 2 ELSE 0 END)", lambda bits: not bits & 2),
    "integers": (
        "(CASE typeof({}) WHEN 'integer' THEN 0 WHEN 'null' THEN 0 ELSE 2 END)",
        lambda bits: bits in (0, 1),
    ),
}
# per raw amount, one bit of ``xt`` after the checks' bits: the value is a REAL or a BLOB
# (not an amount, as ``mig_cents`` says), so the row's amount text is not looked at
_NOT_TEXT = "(CASE typeof({}) WHEN 'real' THEN {bit} WHEN 'blob' THEN {bit} ELSE 0 END)"
# a grain column's stand-in for NULL, by the storage class of its first non-NULL value
_FILL = {"integer": "0", "real": "0.0", "text": "''", "blob": "x''"}
_ALWAYS = "1 = 1"  # a measure without a sign test (``RawAmount.selected``)
Keep = Callable[[pa.RecordBatch, "I64"], "npt.NDArray[np.bool_]"]


class Unreadable(Exception):
    """The batches cannot carry a column as one type (or an amount overflows): ask SQL."""


def vectorised(side: RowSource) -> RowSource:
    """``side`` read as Arrow batches where that gives the same answers, else ``side``."""
    if not isinstance(side, Relation) or side.family != "sqlite" or side.hasher is not CRC32:
        return side
    if side.texts or (side.pre and any(v.raw is None for v in side.values)):
        return side
    if _flag_bits(side) > 63:  # storage classes (4 bits each) and amount flags in an int64
        return side
    uri = read_only_uri(side.engine.url)
    if uri is None:
        return side
    return ArrowSide(side, uri)


def read_only_uri(url: Any) -> str | None:
    """A ``file:`` URI opening the engine's database read-only; None for an in-memory
    database or a URI with options of its own (``vfs``, ``cache``: the SQL side reads it)."""
    db = str(url.database or "")
    query = {str(k): str(v) for k, v in url.query.items()}
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        return None
    if query.get("uri", "").lower() in ("true", "1"):
        other = set(query) - {"uri", "mode"}
        if "?" in db or other or query.get("mode", "ro") not in ("ro", "rw", "rwc"):
            return None
        return f"{db}?mode=ro"
    return Path(db).resolve().as_uri() + "?mode=ro"


@dataclass(frozen=True)
class ArrowSide:
    relation: Relation
    uri: str

    @property
    def family(self) -> str:
        return "arrow"

    @property
    def fell_back(self) -> bool:
        """Whether a question was answered through the SQL side (so are all later ones)."""
        return "_sql_only" in self.__dict__

    def using(self, hasher: Any, first_shift: int) -> ArrowSide:
        return ArrowSide(self.relation.using(hasher, first_shift), self.uri)

    # ---- reading -------------------------------------------------------------------

    @cached
    def _key_parts(self) -> tuple[str, ...] | None:
        """The key's columns, when the key is theirs trimmed and ``|``-joined
        (:func:`~reconcile.sqltext.key_expr`, every legacy key on SQLite): each is then read
        as plain text and trimmed and joined with Arrow's kernels, not SQLite's ``trim``
        (a tenth of the read). None: the key is read as the relation's SQL spells it, and
        always in a database not stored as UTF-8 (there SQL's ``||`` converts the parts back
        to UTF-16, turning a lone surrogate into U+FFFD; read apart, its bytes are not
        UTF-8 and would hash otherwise)."""
        r = self.relation
        if not r.key_columns or r.key_sql != key_expr(list(r.key_columns), "sqlite", str):
            return None
        with r.engine.connect() as conn:
            encoding = conn.exec_driver_sql("PRAGMA encoding").scalar()
        return r.key_columns if str(encoding).upper() == "UTF-8" else None

    @property
    def _key(self) -> str:
        parts = self._key_parts
        if parts is None:
            return f"CAST({self.relation.key_sql} AS TEXT) AS k"
        # never NULL (an all-NULL first batch would type the column as something else)
        return ", ".join(f"COALESCE(CAST({c} AS TEXT), '') AS kc{j}" for j, c in enumerate(parts))

    @cached
    def _null_fills(self) -> tuple[str | None, ...]:
        """Per grain column, a value of the storage class its first non-NULL value has (SQL),
        read in place of NULL, or None (no value to go by: read as is).

        The driver types a column from its first batch; one holding only NULLs is typed as
        an integer, and the text that follows stops the read ("Type mismatch"). A grain
        column added to a legacy table late is NULL on every old row, so the whole side
        would go to SQL, three times slower. Read never NULL, the NULLs are put back from
        the storage-class bits (0: NULL); a value of another class still fails the
        one-class check, as before."""
        r = self.relation
        where = _literal_params(r.where_sql, r.params)
        fills: list[str | None] = []
        with r.engine.connect() as conn:
            for e in r.extras:
                sql = f"SELECT typeof({e}) FROM {r.from_sql} WHERE ({where}) AND {e} IS NOT NULL"
                found = conn.exec_driver_sql(f"{sql} LIMIT 1").scalar()
                fills.append(_FILL.get(str(found)))
        return tuple(fills)

    def _prepared(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with its key ``k`` (built here from ``kc0..`` when read in parts) and
        its grain columns' NULLs put back (see :meth:`_null_fills`)."""
        for i, fill in enumerate(self._null_fills):
            name = f"e{i}"
            if fill is None or name not in batch.schema.names:
                continue
            null = (np.asarray(batch.column("xt"), dtype=np.int64) >> (4 * i)) & 15 == 0
            if null.any():
                column = batch.column(name)
                restored = pc.if_else(pa.array(null), pa.scalar(None, column.type), column)
                batch = batch.set_column(batch.schema.get_field_index(name), name, restored)
        parts = self._key_parts
        if parts is None:
            return batch
        texts = [pc.utf8_trim(batch.column(f"kc{j}"), characters=SPACE) for j in range(len(parts))]
        key = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, "|")
        return batch.append_column("k", key)

    def _columns(self) -> str:
        r = self.relation
        cols = [self._key]
        cols += [
            f"{e} AS e{i}" if fill is None else f"COALESCE({e}, {fill}) AS e{i}"
            for i, (e, fill) in enumerate(zip(r.extras, self._null_fills, strict=True))
        ]
        classed = _classed(r)
        # the storage classes met in each checked column, 4 bits each, then a bit per raw
        # amount that is a REAL or a BLOB: one integer per row for all of them
        words = [
            f"({_CHECKS[rule][0].format(c)} << {4 * i})" for i, (c, rule) in enumerate(classed)
        ]
        for i, v in enumerate(r.values):
            if v.raw is None:
                cols.append(f"{v.cents} AS v{i}")
                if v.present != "0":  # staged amounts: no flag to read where there is none
                    cols.append(f"{v.present} AS p{i}")
                continue
            col, sel = v.raw.column, v.raw.selected
            flag = _NOT_TEXT.format(col, bit=1 << self._flag_bit(i))
            amount = f"CAST({col} AS TEXT)"
            if sel != _ALWAYS:  # no amount (and no flag) on a row the sign test leaves out
                flag = f"(CASE WHEN {sel} THEN {flag} ELSE 0 END)"
                amount = f"(CASE WHEN {sel} THEN {amount} END)"
            words.append(flag)
            # never NULL (so the driver types it as text from the first batch on)
            cols.append(f"COALESCE({amount}, '') AS a{i}")
        if words:
            cols.append(" + ".join(words) + " AS xt")
        return "SELECT " + ", ".join(cols)

    def _flag_bit(self, i: int) -> int:
        """The bit of ``xt`` saying raw amount ``i`` is a REAL or a BLOB."""
        raw = [j for j, v in enumerate(self.relation.values) if v.raw is not None]
        return 4 * len(_classed(self.relation)) + raw.index(i)

    def _batches(self, where: str = "1 = 1") -> Iterator[pa.RecordBatch]:
        return self._read(self._columns(), where)

    def _read(self, select: str, where: str) -> Iterator[pa.RecordBatch]:
        r = self.relation
        sql = f"{select} FROM {r.from_sql} WHERE ({_literal_params(r.where_sql, r.params)})"
        return map(self._prepared, self._run(f"{sql} AND ({where})"))

    def _run(self, sql: str) -> Iterator[pa.RecordBatch]:
        """The driver's own statement (not its DB-API module, which imports pandas)."""
        try:
            with (
                closing(adbc_driver_sqlite.connect(self.uri)) as db,
                closing(adbc_driver_manager.AdbcConnection(db)) as conn,
                closing(adbc_driver_manager.AdbcStatement(conn)) as stmt,
            ):
                stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
                stmt.set_sql_query(sql)
                stream, _ = stmt.execute_query()
                with pa.RecordBatchReader.from_stream(stream) as reader:
                    yield from reader
        except (OSError, adbc_driver_manager.Error) as exc:  # "Type mismatch in column 1"
            raise Unreadable(str(exc)) from exc

    @cached
    def _has_rowid(self) -> bool:
        """Whether the side is a table whose rows have row ids (not a query or a view)."""
        if self.relation.from_sql.startswith("("):
            return False
        try:
            for _ in self._run(f"SELECT rowid FROM {self.relation.from_sql} LIMIT 0"):
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

    def _classes(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The batches, checked: the driver types a column from its first batch and converts
        later values of another storage class (an integer after text becomes text, after a
        REAL a float), and mixes them within a batch too, where the SQL side keeps each
        value's own class. So each grain column must hold one class over the whole read, a
        key column no REAL (its text differs between SQLite versions, ours and the
        driver's) and a staged amount integers only; else the question goes to SQL."""
        classed = _classed(self.relation)
        seen = 0
        for batch in batches:
            if classed and batch.num_rows:
                seen |= int(np.bitwise_or.reduce(np.asarray(batch.column("xt"), np.int64)))
                for i, (column, rule) in enumerate(classed):
                    bits = (seen >> (4 * i)) & 15
                    if not _CHECKS[rule][1](bits):
                        raise Unreadable(f"{column}: storage classes {bits:04b} ({rule})")
            yield batch

    # ---- per batch -----------------------------------------------------------------

    def _tagged(self, batch: pa.RecordBatch) -> list[tuple[I64, I64]]:
        """(tag, cents) per compared amount, per row of ``batch``."""
        out: list[tuple[I64, I64]] = []
        for i, v in enumerate(self.relation.values):
            if v.raw is not None:
                raw = batch.column(f"a{i}")  # text: never NULL, so typed from batch one
                xt = np.asarray(batch.column("xt"), dtype=np.int64)
                not_text = (xt >> self._flag_bit(i)) & 1 == 1
                if not_text.any():  # a BLOB's bytes may not be UTF-8: never look at them
                    raw = pc.if_else(pa.array(not_text), pa.scalar("", raw.type), raw)
                value, tag = cents(raw, not_text, v.raw.encoding)
            else:
                present = batch.column(f"p{i}") if v.present != "0" else None
                value, tag = _staged(batch.column(f"v{i}"), present)
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
        select = self._columns() + (", rowid AS r" if kept else "")
        for batch in self._classes(self._read(select, "1 = 1")):
            h, tagged, rh = self._hashed(batch)
            sums.add(h, rh)
            _add_groups(groups, batch, tagged, k)
            if kept is not None and not kept.add(batch.column("r"), h, rh):
                kept = self.__dict__["_kept"] = None
        profile: Profile = [
            (extras, acc[0], tuple(acc[1 : 1 + n]), tuple(acc[1 + n :]))
            for extras, acc in groups.items()
        ]
        return Scan(profile, sums.result())

    def scan(self) -> Scan:
        return self._scan

    def totals(self) -> Totals:
        return totals_of(self._scan.profile, len(self.relation.values))

    def group_totals(self, extras: list[int]) -> GroupTotals:
        return group_profile(self._scan.profile, extras)

    def bucket_stats(self, shift: int, within: Within) -> BucketStats:
        if shift == self.relation.first_shift and within is None:
            return self._scan.buckets

        def arrow() -> BucketStats:
            sums = BucketSums(shift)
            kept = self._kept_hashes()
            if kept is not None:  # no read of the database: the scan kept every row's hashes
                for _, h, rh in kept.chunks():
                    keep = _within(h, within)
                    sums.add(h[keep], rh[keep])
                return sums.result()
            for batch in self._batches():
                h = crc32(batch.column("k"))
                keep = _within(h, within)
                part = batch.filter(pa.array(keep))
                if part.num_rows:
                    sums.add(h[keep], row_checksums(h[keep], self._tagged(part)))
            return sums.result()

        return self._or_sql(arrow, lambda: self.relation.bucket_stats(shift, within))

    def bucket_rows(self, picks: Picks) -> list[Row]:
        def picked(h: I64) -> npt.NDArray[np.bool_]:
            mask = np.zeros(len(h), dtype=bool)
            for shift, buckets in picks:
                mask |= _within(h, (shift, buckets))
            return mask

        def arrow() -> list[Row]:
            kept = self._kept_hashes()
            ids = (
                None
                if kept is None
                else [r for rowid, h, _ in kept.chunks() for r in rowid[picked(h)].tolist()]
            )
            return self._rows(lambda _, h: picked(h), ids)

        return self._or_sql(arrow, lambda: self.relation.bucket_rows(picks))

    def _kept_hashes(self) -> Kept | None:
        self.scan()  # the scan keeps them (when it read a table through Arrow)
        kept: Kept | None = self.__dict__.get("_kept")
        return kept

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
        return self._picked(self._batches(), keep)

    def _picked_ids(self, keep: Keep) -> list[int]:
        ids: list[int] = []
        for batch in self._read(f"SELECT rowid AS r, {self._key}", "1 = 1"):
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
            out += self._picked(self._batches(f"rowid IN ({listed})"), keep)
        if len(out) != len(set(ids)):
            raise Unreadable(f"{len(out)} rows read back for {len(set(ids))} row ids")
        return out

    def _picked(self, batches: Iterator[pa.RecordBatch], keep: Keep) -> list[Row]:
        out: list[Row] = []
        k = len(self.relation.extras)
        for batch in self._classes(batches):
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

    def close(self) -> None:
        """Drop the kept hashes (a temporary file)."""
        kept = self.__dict__.pop("_kept", None)
        if kept is not None:
            kept.close()
        self.relation.close()


def _value(tag: int, c: int) -> Value:
    return c if tag == VALID else (None if tag == NONE else INVALID)


def _flag_bits(r: Relation) -> int:
    """Bits of ``xt`` a side needs: 4 per checked column, 1 per raw amount."""
    return 4 * len(_classed(r)) + sum(v.raw is not None for v in r.values)


def _classed(r: Relation) -> list[tuple[str, str]]:
    """(column SQL, rule) of every column whose storage classes the scan checks."""
    out = [(e, "one class") for e in r.extras]
    out += [(c, "no REAL") for c in r.key_columns]
    out += [(v.cents, "integers") for v in r.values if v.raw is None]
    return out


def _staged(v: pa.Array, present: pa.Array | None) -> tuple[I64, I64]:
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


def _within(h: I64, within: Within) -> npt.NDArray[np.bool_]:
    if within is None:
        return np.ones(len(h), dtype=bool)
    shift, buckets = within
    return np.isin(h >> shift, np.fromiter(buckets, dtype=np.int64, count=len(buckets)))


def _add_groups(
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


_PARAM = re.compile(r":(\w+)")


def _literal_params(sql: str, params: dict[str, object]) -> str:
    """Named parameters written as SQL literals (our own run id and system name)."""

    def literal(m: re.Match[str]) -> str:
        if m.group(1) not in params:
            raise Unreadable(f"no value for parameter {m.group(1)}")
        value = params[m.group(1)]
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise Unreadable(f"parameter {m.group(1)} of type {type(value).__name__}")
        return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"

    return _PARAM.sub(literal, sql)
