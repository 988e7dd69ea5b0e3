"""Key maps: new ERP keys for legacy keys, persisted in staging and shared by all entities.

An entity that ``issues_keys`` gets a new integer ERP key for each legacy key it loads (or
reuses the one a previous run issued, so re-runs are stable). Entities that refer to it
resolve legacy keys through the map (:mod:`migrate.load.key_lookups`); a miss is an orphan,
unless the parent was rejected. Suppliers merged from two systems share one ERP key: the
later system's row maps to the supplier already staged with the same tax id or the same
normalised name and address (:mod:`migrate.load.supplier_merge`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, Engine, MetaData, func, select

from migrate.load.bulk import insert_frame
from migrate.load.key_lookups import lookup_column, qualified
from migrate.load.supplier_merge import merge_matches
from migrate.spec.model import EntitySpec
from migrate.transform.engine import TransformOutput, key_string


def issue(
    conn: Connection,
    md: MetaData,
    domain: str,
    system: str,
    legacy: list[str],
    run_id: str,
    reuse: dict[str, int] | None = None,
) -> dict[str, int]:
    """ERP keys for legacy keys: existing ones kept, new ones numbered after the highest key
    the domain ever issued (:func:`reserve`), never one a rolled-back run had."""
    km = md.tables[qualified(md, "MIG_KEY_MAP")]
    wanted = list(dict.fromkeys(k for k in legacy if k))
    found = lookup_column(conn, md, domain, system, pd.Series(wanted, dtype="str"))
    existing = {k: int(v) for k, v in zip(wanted, found.tolist(), strict=True) if not pd.isna(v)}
    reuse = reuse or {}
    new = [k for k in dict.fromkeys(legacy) if k and k not in existing]  # '' is no key
    next_key = reserve(conn, md, domain, sum(1 for k in new if k not in reuse))
    for k in new:
        if k in reuse:
            existing[k] = reuse[k]
        else:
            existing[k] = next_key
            next_key += 1
    if new:  # the database's bulk path (COPY on PostgreSQL): a chunk can issue 50,000 keys
        rows = {
            "DOMAIN": domain,
            "SOURCE_SYSTEM": system,
            "LEGACY_KEY": pd.Series(new, dtype="str"),
            "ERP_KEY": pd.Series([existing[k] for k in new], dtype="Int64"),
            "RUN_ID": run_id,
        }
        insert_frame(conn, km, pd.DataFrame(rows))
    return existing


def reserve(conn: Connection, md: MetaData, domain: str, count: int) -> int:
    """The first of ``count`` new ERP keys of the key space, moving its high-water mark
    (``MIG_KEY_SPACES``, locked until the caller commits) past them. Rollbacks remove
    key-map entries but never lower the mark: numbering after the map's maximum gave a
    rolled-back run's keys to other records, under later runs' references (issue 22)."""
    ks = md.tables[qualified(md, "MIG_KEY_SPACES")]
    km = md.tables[qualified(md, "MIG_KEY_MAP")]
    mark = conn.execute(
        select(ks.c["LAST_ERP_KEY"]).where(ks.c["DOMAIN"] == domain).with_for_update()
    ).scalar()
    top = conn.execute(select(func.max(km.c["ERP_KEY"])).where(km.c["DOMAIN"] == domain)).scalar()
    last = max(int(mark or 0), int(top or 0))
    if count:
        values = {"LAST_ERP_KEY": last + count}
        if mark is None:
            conn.execute(ks.insert().values(DOMAIN=domain, **values))
        else:
            conn.execute(ks.update().where(ks.c["DOMAIN"] == domain).values(**values))
    return last + 1


def open_key_spaces(engine: Engine, md: MetaData, domains: Iterable[str]) -> None:
    """Give each key space its high-water mark row before a run issues keys (one writer,
    under the run lock): chunks then only update it and never race to insert it."""
    ks, km = md.tables[qualified(md, "MIG_KEY_SPACES")], md.tables[qualified(md, "MIG_KEY_MAP")]
    with engine.begin() as conn:
        for domain in sorted(set(domains) - set(conn.execute(select(ks.c["DOMAIN"])).scalars())):
            top = conn.execute(
                select(func.max(km.c["ERP_KEY"])).where(km.c["DOMAIN"] == domain)
            ).scalar()
            conn.execute(ks.insert().values(DOMAIN=domain, LAST_ERP_KEY=int(top or 0)))


def issue_for_chunk(
    conn: Connection,
    md: MetaData,
    run_id: str,
    spec: EntitySpec,
    accepted: pd.DataFrame,
    out: TransformOutput,
    source: pd.DataFrame,
) -> pd.Index:
    """Fill the ERP key column of a chunk's accepted rows (``source`` is the chunk's source
    rows); returns the rows merged into an already staged record."""
    ik = spec.issues_keys
    if ik is None or accepted.empty:
        return pd.Index([])
    rows = source.loc[accepted.index]
    legacy = key_string(rows, ik.legacy)
    reuse: dict[str, int] = {}
    merged = pd.Index([])
    if ik.merge_on:
        staged = staged_frame(
            conn,
            md,
            spec.target.table,
            [ik.column, *ik.match_columns.values(), "MIG_ENTITY", "MIG_SOURCE_KEY"],
        )
        # a record never merges into its own earlier version (a delta or a re-run of it)
        own = (staged["MIG_ENTITY"] == spec.entity) & staged["MIG_SOURCE_KEY"].isin(
            set(out.source_keys.loc[accepted.index])
        )
        staged = staged[~own]
        matches = merge_matches(accepted, staged, ik.column, ik.match_columns, ik.merge_on)
        merged = matches.index[matches.notna()]
        reuse = {legacy[i]: int(matches[i]) for i in merged}
    keys = issue(conn, md, ik.domain, spec.source.system, list(legacy), run_id, reuse)
    accepted[ik.column] = legacy.map(keys).astype("Int64")
    return merged


def staged_frame(
    engine_or_conn: Engine | Connection, md: MetaData, table: str, columns: list[str]
) -> pd.DataFrame:
    t = md.tables[qualified(md, table)]
    stmt = select(*[t.c[c] for c in columns])
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            rows = conn.execute(stmt).all()
    else:
        rows = engine_or_conn.execute(stmt).all()
    return pd.DataFrame.from_records(rows, columns=columns)
