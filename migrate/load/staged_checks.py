"""A chunk checked against rows already staged: target keys staged by an earlier chunk or run
(a resumed or repeated chunk), and unique combinations (``checks: unique``) staged from
other source rows. Values are compared as their wire text; the database is asked only for
staged rows sharing the first column with the chunk.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, MetaData, String, Table, select

from migrate.load import keymap
from migrate.load.bulk import wire_columns
from migrate.spec.model import EntitySpec
from migrate.transform.failures import Failures


def existing(
    conn: Connection, table: Table, columns: list[str], values: pd.DataFrame
) -> set[tuple[str, ...]]:
    """Which of these value tuples are already staged (compared as text).

    Filters on the first column only (``IN`` batches that an index on the key can serve),
    then compares whole tuples here: a row-value ``IN`` list makes PostgreSQL scan the table.
    """
    cols = [table.c[c] for c in columns]
    wire = wire_columns(values, table, conn.dialect.name)
    wanted = {tuple(r) for r in wire.astype("str").itertuples(index=False, name=None)}
    firsts = list(dict.fromkeys(wire[columns[0]].astype("object").tolist()))
    seen: set[tuple[str, ...]] = set()
    if conn.dialect.name == "postgresql" and isinstance(cols[0].type, String):
        # one statement for the chunk, its values as one text array (a hashed ``= ANY``):
        # batches of 1,000 made a 50,000-row chunk scan the staged table fifty times
        prep = conn.dialect.identifier_preparer
        sql = (
            f"SELECT {', '.join(prep.quote(c) for c in columns)} FROM {prep.format_table(table)}"
            f" WHERE {prep.quote(columns[0])} = ANY(%s::text[])"
        )
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute(sql, ([str(v) for v in firsts],))
            for r in cur:
                t = tuple(str(v) for v in r)
                if t in wanted:
                    seen.add(t)
        return seen
    for start in range(0, len(firsts), 1000):
        stmt = select(*cols).where(cols[0].in_(firsts[start : start + 1000]))
        for r in conn.execute(stmt):
            t = tuple(str(v) for v in r)
            if t in wanted:
                seen.add(t)
    return seen


def as_tuples(frame: pd.DataFrame, table: Table, dialect: str) -> list[tuple[str, ...]]:
    wire = wire_columns(frame, table, dialect).astype("str")
    return [tuple(r) for r in wire.itertuples(index=False, name=None)]


def already_staged(
    conn: Connection,
    mode: str,
    spec: EntitySpec,
    table: Table,
    frame: pd.DataFrame,
    failures: Failures,
    index: pd.Index | None = None,
) -> None:
    """A target key staged by an earlier chunk or run is a duplicate (delta runs replace it).

    ``frame`` may be a subset of the chunk's rows; ``index`` is then the chunk's index."""
    key = spec.target.key
    if mode == "delta" or not all(k in frame.columns for k in key) or frame.empty:
        return
    candidates = frame.loc[~failures.any_mask(), key].dropna()
    if candidates.empty:
        return
    seen = existing(conn, table, key, candidates)
    if not seen:
        return
    hits = [t in seen for t in as_tuples(candidates, table, conn.dialect.name)]
    mask = pd.Series(False, index=frame.index if index is None else index)
    mask.loc[candidates.index] = pd.Series(hits, index=candidates.index)
    failures.add(mask, key[0], "duplicate_key", frame[key[0]].reindex(mask.index))


def unique_history(
    conn: Connection,
    mode: str,
    md: MetaData,
    spec: EntitySpec,
    table: Table,
    frame: pd.DataFrame,
    source_keys: pd.Series,
) -> pd.DataFrame | None:
    """Staged rows (from other source rows) sharing a unique combination with this chunk."""
    cols = sorted({c for chk in spec.checks if chk.unique for c in chk.unique.columns})
    if not cols or frame.empty:
        return None
    candidates = frame[cols].dropna()
    if candidates.empty:
        return None
    seen = existing(conn, table, cols, candidates)
    if not seen:
        return None
    rows = pd.DataFrame(sorted(seen), columns=cols)
    mine = as_tuples(candidates, table, conn.dialect.name)
    if mode == "delta":  # a changed row is compared with other rows, not its old self
        src = keymap.staged_frame(conn, md, spec.target.table, [*cols, "MIG_SOURCE_KEY"])
        src = src[~src["MIG_SOURCE_KEY"].isin(set(source_keys))]
        rows = src[cols].astype("str")
    texts = set(mine)
    rows = rows.astype("str")
    keep = [tuple(r) in texts for r in rows.itertuples(index=False, name=None)]
    return rows[keep].reset_index(drop=True)
