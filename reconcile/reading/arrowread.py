"""What a SQLite side read as Arrow batches asks SQLite for, and its batches made whole.

The read must hand ``arrowside.py`` what the SQL side would compute from: the key text, the
grain columns, each amount's text (or the staged cents), with each value's storage class
kept in view, because the ADBC driver types a column from its first batch and converts what
follows. So the statement is built here (the key read as plain parts and trimmed and joined
with Arrow's kernels; per row one integer ``xt`` holding every checked column's storage
class and every raw amount's REAL/BLOB flag; grain NULLs read as a stand-in of their class),
each batch is made whole again (key built, NULLs put back) and the classes are checked over
the whole read. Anything the batches cannot carry raises :class:`Unreadable`, and the side
answers through SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adbc_driver_manager
import adbc_driver_sqlite
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.interrupt import checkpoint
from reconcile.reading.arrowcalc import Unreadable
from reconcile.reading.cached import cached
from reconcile.reading.money import SPACE
from reconcile.reading.relation import Relation
from reconcile.reading.sqltext import key_expr

BATCH_ROWS = 65_536
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
class SideReader:
    """The statements and batches of one side (a relation on the file at ``uri``)."""

    relation: Relation
    uri: str

    @cached
    def key_parts(self) -> tuple[str, ...] | None:
        """The key's columns, when the key is theirs trimmed and ``|``-joined
        (:func:`~reconcile.reading.sqltext.key_expr`, every legacy key on SQLite): each is then read
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
    def key(self) -> str:
        parts = self.key_parts
        if parts is None:
            return f"CAST({self.relation.key_sql} AS TEXT) AS k"
        # never NULL (an all-NULL first batch would type the column as something else)
        return ", ".join(f"COALESCE(CAST({c} AS TEXT), '') AS kc{j}" for j, c in enumerate(parts))

    @cached
    def null_fills(self) -> tuple[str | None, ...]:
        """Per grain column, a value of the storage class its first non-NULL value has (SQL),
        read in place of NULL, or None (no value to go by: read as is).

        The driver types a column from its first batch; one holding only NULLs is typed as
        an integer, and the text that follows stops the read ("Type mismatch"). A grain
        column added to a legacy table late is NULL on every old row, so the whole side
        would go to SQL, three times slower. Read never NULL, the NULLs are put back from
        the storage-class bits (0: NULL); a value of another class still fails the
        one-class check, as before."""
        r = self.relation
        where = literal_params(r.where_sql, r.params)
        fills: list[str | None] = []
        with r.engine.connect() as conn:
            for e in r.extras:
                sql = f"SELECT typeof({e}) FROM {r.from_sql} WHERE ({where}) AND {e} IS NOT NULL"
                found = conn.exec_driver_sql(f"{sql} LIMIT 1").scalar()
                fills.append(_FILL.get(str(found)))
        return tuple(fills)

    def prepared(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with its key ``k`` (built here from ``kc0..`` when read in parts) and
        its grain columns' NULLs put back (see :meth:`null_fills`)."""
        for i, fill in enumerate(self.null_fills):
            name = f"e{i}"
            if fill is None or name not in batch.schema.names:
                continue
            null = (np.asarray(batch.column("xt"), dtype=np.int64) >> (4 * i)) & 15 == 0
            if null.any():
                column = batch.column(name)
                restored = pc.if_else(pa.array(null), pa.scalar(None, column.type), column)
                batch = batch.set_column(batch.schema.get_field_index(name), name, restored)
        parts = self.key_parts
        if parts is None:
            return batch
        texts = [pc.utf8_trim(batch.column(f"kc{j}"), characters=SPACE) for j in range(len(parts))]
        key = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, "|")
        return batch.append_column("k", key)

    def columns(self) -> str:
        r = self.relation
        cols = [self.key]
        cols += [
            f"{e} AS e{i}" if fill is None else f"COALESCE({e}, {fill}) AS e{i}"
            for i, (e, fill) in enumerate(zip(r.extras, self.null_fills, strict=True))
        ]
        checks = classed(r)
        # the storage classes met in each checked column, 4 bits each, then a bit per raw
        # amount that is a REAL or a BLOB: one integer per row for all of them
        words = [f"({_CHECKS[rule][0].format(c)} << {4 * i})" for i, (c, rule) in enumerate(checks)]
        for i, v in enumerate(r.values):
            if v.raw is None:
                cols.append(f"{v.cents} AS v{i}")
                if v.present != "0":  # staged amounts: no flag to read where there is none
                    cols.append(f"{v.present} AS p{i}")
                continue
            col, sel = v.raw.column, v.raw.selected
            flag = _NOT_TEXT.format(col, bit=1 << self.flag_bit(i))
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

    def flag_bit(self, i: int) -> int:
        """The bit of ``xt`` saying raw amount ``i`` is a REAL or a BLOB."""
        raw = [j for j, v in enumerate(self.relation.values) if v.raw is not None]
        return 4 * len(classed(self.relation)) + raw.index(i)

    def batches(self, where: str = "1 = 1") -> Iterator[pa.RecordBatch]:
        return self.read(self.columns(), where)

    def read(self, select: str, where: str) -> Iterator[pa.RecordBatch]:
        r = self.relation
        sql = f"{select} FROM {r.from_sql} WHERE ({literal_params(r.where_sql, r.params)})"
        return map(self.prepared, self.run(f"{sql} AND ({where})"))

    def run(self, sql: str) -> Iterator[pa.RecordBatch]:
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
                    for batch in reader:
                        checkpoint()  # read in a worker thread too: Ctrl-C stops it here
                        yield batch
        except (OSError, adbc_driver_manager.Error) as exc:  # "Type mismatch in column 1"
            raise Unreadable(str(exc)) from exc

    def checked(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The batches, checked: the driver types a column from its first batch and converts
        later values of another storage class (an integer after text becomes text, after a
        REAL a float), and mixes them within a batch too, where the SQL side keeps each
        value's own class. So each grain column must hold one class over the whole read, a
        key column no REAL (its text differs between SQLite versions, ours and the
        driver's) and a staged amount integers only; else the question goes to SQL."""
        checks = classed(self.relation)
        seen = 0
        for batch in batches:
            if checks and batch.num_rows:
                seen |= int(np.bitwise_or.reduce(np.asarray(batch.column("xt"), np.int64)))
                for i, (column, rule) in enumerate(checks):
                    bits = (seen >> (4 * i)) & 15
                    if not _CHECKS[rule][1](bits):
                        raise Unreadable(f"{column}: storage classes {bits:04b} ({rule})")
            yield batch


def flag_bits(r: Relation) -> int:
    """Bits of ``xt`` a side needs: 4 per checked column, 1 per raw amount."""
    return 4 * len(classed(r)) + sum(v.raw is not None for v in r.values)


def classed(r: Relation) -> list[tuple[str, str]]:
    """(column SQL, rule) of every column whose storage classes the scan checks."""
    out = [(e, "one class") for e in r.extras]
    out += [(c, "no REAL") for c in r.key_columns]
    out += [(v.cents, "integers") for v in r.values if v.raw is None]
    return out


_PARAM = re.compile(r":(\w+)")


def literal_params(sql: str, params: dict[str, object]) -> str:
    """Named parameters written as SQL literals (our own run id and system name)."""

    def literal(m: re.Match[str]) -> str:
        if m.group(1) not in params:
            raise Unreadable(f"no value for parameter {m.group(1)}")
        value = params[m.group(1)]
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise Unreadable(f"parameter {m.group(1)} of type {type(value).__name__}")
        return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"

    return _PARAM.sub(literal, sql)
