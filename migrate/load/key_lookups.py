"""Key-map lookups, apart from issuing keys: every entity that refers to another reads them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, MetaData, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY

from migrate.transform.parse import _arrow_int

_BATCH = 900


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), _BATCH):
        yield values[i : i + _BATCH]


def lookup(
    conn: Connection, md: MetaData, domain: str, system: str, legacy: Iterable[str]
) -> dict[str, int]:
    """ERP keys already issued for these legacy keys."""
    km = md.tables[qualified(md, "MIG_KEY_MAP")]
    wanted = sorted({k for k in legacy if k})
    found: dict[str, int] = {}
    # PostgreSQL takes the whole list as one array parameter: one round trip per chunk.
    parts = [wanted] if conn.dialect.name == "postgresql" else list(_chunks(wanted))
    for part in parts:
        if not part:
            continue
        if conn.dialect.name == "postgresql":
            match = km.c["LEGACY_KEY"] == any_(bindparam("keys", part, type_=ARRAY(String)))
        else:
            match = km.c["LEGACY_KEY"].in_(part)
        rows = conn.execute(
            select(km.c["LEGACY_KEY"], km.c["ERP_KEY"]).where(
                km.c["DOMAIN"] == domain, km.c["SOURCE_SYSTEM"] == system, match
            )
        )
        found.update({str(k): int(v) for k, v in rows})
    return found


def lookup_column(
    conn: Connection, md: MetaData, domain: str, system: str, legacy: pd.Series
) -> pd.Series:
    """ERP keys (``Int64``, NA where none was issued) for a column of legacy keys: what
    ``legacy.map(lookup(...))`` gives, with the per-value Python taken out.

    On PostgreSQL the distinct keys are found by Arrow, sent through the raw cursor (no
    SQLAlchemy result machinery), each looked up through the key map's unique index, and
    matched back by an Arrow hash lookup. The keys travel as one text joined by Arrow and
    split by the server, and the answers come back as one text in the same order, so no
    Python object is made per key (a list parameter is escaped key by key in Python:
    about 0.2 s per 1M invoice lines, on the loader's critical path); a key holding the
    separator sends the list instead.
    """
    if not _by_arrow(conn, legacy):
        found = lookup(conn, md, domain, system, legacy.dropna())
        return legacy.map(found).astype("Int64")
    text = pa.array(legacy, pa.string(), from_pandas=True)
    return _arrow_int(_erp_keys(conn, md, domain, system, text), legacy.index)


def _by_arrow(conn: Connection, legacy: pd.Series) -> bool:
    return conn.dialect.name == "postgresql" and pd.api.types.is_string_dtype(legacy.dtype)


def _erp_keys(
    conn: Connection, md: MetaData, domain: str, system: str, text: pa.Array | pa.ChunkedArray
) -> pa.Array | pa.ChunkedArray:
    """The ERP key of each legacy key (null where none): Arrow in, Arrow out, so a
    background lookup shares no pandas object with the thread that asked."""
    wanted = pc.unique(pc.filter(text, pc.fill_null(pc.not_equal(text, ""), False)))
    km = md.tables[qualified(md, "MIG_KEY_MAP")]
    prep = conn.dialect.identifier_preparer
    # One unique-index probe per wanted key (a subquery per key), whatever the size of the
    # map: with ``= ANY`` the planner scans the whole domain for every chunk (a parallel
    # scan past ~1M keys), so the lookups of a run grew with the square of its size.
    probe = (
        f"SELECT m.{prep.quote('ERP_KEY')} FROM {prep.format_table(km)} AS m "
        f"WHERE m.{prep.quote('DOMAIN')} = %s AND m.{prep.quote('SOURCE_SYSTEM')} = %s "
        f"AND m.{prep.quote('LEGACY_KEY')} = w.k"
    )
    erp = pa.array([], pa.int64())
    if len(wanted):
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur:
            if bool(pc.any(pc.match_substring(wanted, _SEP)).as_py()):
                keys: object = wanted.to_pylist()
                split = "%s::text[]"
            else:
                one = pa.ListArray.from_arrays(pa.array([0, len(wanted)], pa.int32()), wanted)
                keys = pc.binary_join(one, _SEP)[0].as_py()
                split = "string_to_array(%s, chr(31))"
            cur.execute(
                f"SELECT string_agg(COALESCE(({probe})::text, ''), ',' ORDER BY w.n) "
                f"FROM unnest({split}) WITH ORDINALITY AS w(k, n)",
                (domain, system, keys),
            )
            answers = cur.fetchone()[0]
        erp = _integers(answers, len(wanted))
    return pc.take(erp, pc.index_in(text, value_set=wanted))


_SEP = "\x1f"  # ASCII unit separator: ``chr(31)`` in the query


def _integers(text: str, count: int) -> pa.Array:
    """``"12,,7"`` as the int64 array ``[12, null, 7]`` (an empty item is a null)."""
    items = pc.list_flatten(pc.split_pattern(pa.array([text]), ","))
    if len(items) != count:
        raise AssertionError(f"key map lookup: {len(items)} answers for {count} keys")
    return pc.cast(pc.if_else(pc.equal(items, ""), None, items), pa.int64())


class KeyResolver:
    """Legacy keys to ERP keys through the map (a transform's ``Resolver``), in the caller's
    transaction; a miss is an orphan, or a rejected parent when an entity issuing the
    domain rejected that key.

    With ``ahead`` (an engine and a one-thread executor), :meth:`begin` sends a chunk's
    lookup on a connection of its own while the caller computes the chunk's other fields:
    the key map's index probes took about a quarter of a chunk's preparation, the loader's
    critical path, waiting on the server. Only for an entity that cannot change the map
    while it runs (it issues no keys): the other connection then reads what the caller's
    transaction would, the parents' committed keys.
    """

    def __init__(
        self,
        conn: Connection,
        md: MetaData,
        issuers_of: Callable[[str], list[str]],
        ahead: tuple[Engine, Executor] | None = None,
    ) -> None:
        self.conn, self.md, self.issuers_of, self.ahead = conn, md, issuers_of, ahead
        self.pending: list[Future[pa.Array | pa.ChunkedArray]] = []

    def __call__(
        self, domain: str, system: str, legacy: pd.Series
    ) -> tuple[pd.Series, pd.Series, pd.Series]:
        return self._answer(
            domain, legacy, lookup_column(self.conn, self.md, domain, system, legacy)
        )

    def begin(
        self, domain: str, system: str, legacy: pd.Series
    ) -> Callable[[], tuple[pd.Series, pd.Series, pd.Series]]:
        """Start looking ``legacy`` up; the returned call gives what ``self(...)`` would."""
        if self.ahead is None or not _by_arrow(self.conn, legacy):
            return lambda: self(domain, system, legacy)
        engine, pool = self.ahead
        text = pa.array(legacy, pa.string(), from_pandas=True)

        def look_up() -> pa.Array | pa.ChunkedArray:
            with engine.connect() as conn:
                return _erp_keys(conn, self.md, domain, system, text)

        pending = pool.submit(look_up)
        self.pending.append(pending)
        return lambda: self._answer(domain, legacy, _arrow_int(pending.result(), legacy.index))

    def close(self) -> None:
        """Drop the lookups not started (a chunk that failed before taking them: its retry
        must not wait behind them)."""
        for pending in self.pending:
            pending.cancel()

    def _answer(
        self, domain: str, legacy: pd.Series, keys: pd.Series
    ) -> tuple[pd.Series, pd.Series, pd.Series]:
        orphan = legacy.notna() & keys.isna()
        issuers = self.issuers_of(domain)
        rejected = rejected_keys(self.conn, self.md, issuers, legacy[orphan].dropna())
        return keys, orphan, legacy.isin(rejected) & orphan


def resolver(
    conn: Connection,
    md: MetaData,
    issuers_of: Callable[[str], list[str]],
    ahead: tuple[Engine, Executor] | None = None,
) -> KeyResolver:
    """A :class:`KeyResolver` for one chunk's transform."""
    return KeyResolver(conn, md, issuers_of, ahead)


def rejected_keys(
    conn: Connection, md: MetaData, entities: list[str], legacy: Iterable[str]
) -> set[str]:
    """Which of these legacy keys were rejected by the entities that issue the domain."""
    rj = md.tables[qualified(md, "MIG_REJECTS")]
    wanted = sorted({k for k in legacy if k})
    out: set[str] = set()
    if not entities:
        return out
    for part in _chunks(wanted):
        rows = conn.execute(
            select(rj.c["SOURCE_KEY"]).where(
                rj.c["ENTITY"].in_(entities), rj.c["SOURCE_KEY"].in_(part)
            )
        )
        out.update(str(r[0]) for r in rows)
    return out


def qualified(md: MetaData, table: str) -> str:
    """A staging table's key in ``md.tables`` (schema-qualified where staging has a schema)."""
    return f"{md.schema}.{table}" if md.schema else table
