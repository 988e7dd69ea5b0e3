"""Key maps: new ERP keys for legacy keys, persisted in staging and shared by all entities.

An entity that ``issues_keys`` gets a new integer ERP key for each legacy key it loads (or
reuses the one a previous run issued, so re-runs are stable). Entities that refer to it
resolve legacy keys through the map; a miss is an orphan, unless the parent was rejected.
Suppliers merged from two systems share one ERP key: the later system's row maps to the
supplier already staged with the same tax id or the same normalised name and address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd
from sqlalchemy import Connection, Engine, MetaData, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

_BATCH = 900
_SUFFIXES = re.compile(r"\b(INC|INCORPORATED|LLC|L L C|CO|CORP|CORPORATION|COMPANY|LTD|THE)\b")
_ABBREV = {
    "STREET": "ST",
    "AVENUE": "AVE",
    "ROAD": "RD",
    "BOULEVARD": "BLVD",
    "DRIVE": "DR",
    "SUITE": "STE",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
}


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), _BATCH):
        yield values[i : i + _BATCH]


def lookup(
    conn: Connection, md: MetaData, domain: str, system: str, legacy: Iterable[str]
) -> dict[str, int]:
    """ERP keys already issued for these legacy keys."""
    km = md.tables[_name(md, "MIG_KEY_MAP")]
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


def rejected_keys(
    conn: Connection, md: MetaData, entities: list[str], legacy: Iterable[str]
) -> set[str]:
    """Which of these legacy keys were rejected by the entities that issue the domain."""
    rj = md.tables[_name(md, "MIG_REJECTS")]
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


def issue(
    conn: Connection,
    md: MetaData,
    domain: str,
    system: str,
    legacy: list[str],
    run_id: str,
    reuse: dict[str, int] | None = None,
) -> dict[str, int]:
    """ERP keys for legacy keys: existing ones kept, new ones numbered after the domain's max."""
    km = md.tables[_name(md, "MIG_KEY_MAP")]
    existing = lookup(conn, md, domain, system, legacy)
    reuse = reuse or {}
    new = [k for k in dict.fromkeys(legacy) if k not in existing]
    top = conn.execute(select(func.max(km.c["ERP_KEY"])).where(km.c["DOMAIN"] == domain)).scalar()
    next_key = int(top or 0) + 1
    rows = []
    for k in new:
        if k in reuse:
            existing[k] = reuse[k]
        else:
            existing[k] = next_key
            next_key += 1
        rows.append(
            {
                "DOMAIN": domain,
                "SOURCE_SYSTEM": system,
                "LEGACY_KEY": k,
                "ERP_KEY": existing[k],
                "RUN_ID": run_id,
            }
        )
    if rows:
        conn.execute(km.insert(), rows)
    return existing


def normalise_name(s: pd.Series) -> pd.Series:
    text = s.astype("str").str.upper().str.replace(r"[^\w\s]", " ", regex=True)
    text = text.str.replace(_SUFFIXES, " ", regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def normalise_address(s: pd.Series) -> pd.Series:
    text = s.astype("str").str.upper().str.replace(r"[^\w\s]", " ", regex=True)
    for word, abbr in _ABBREV.items():
        text = text.str.replace(rf"\b{word}\b", abbr, regex=True)
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def normalise_tax_id(s: pd.Series) -> pd.Series:
    digits = s.astype("str").str.replace(r"\D", "", regex=True)
    return digits.where(digits.str.len() > 0)


def merge_matches(
    candidates: pd.DataFrame,
    staged: pd.DataFrame,
    key_col: str,
    cols: dict[str, str],
    merge_on: Sequence[str],
) -> pd.Series:
    """For each candidate row, the ERP key of a staged row it merges into (or NA)."""
    result = pd.Series(pd.NA, index=candidates.index, dtype="Int64")
    if staged.empty:
        return result
    if "tax_id" in merge_on and "tax_id" in cols:
        staged_tax = normalise_tax_id(staged[cols["tax_id"]])
        by_tax = dict(
            zip(staged_tax.dropna(), staged.loc[staged_tax.notna(), key_col], strict=True)
        )
        tax = normalise_tax_id(candidates[cols["tax_id"]])
        result = result.fillna(tax.map(by_tax).astype("Int64"))
    if "name_address" in merge_on and {"name", "address"} <= set(cols):

        def na_key(frame: pd.DataFrame) -> pd.Series:
            return (
                normalise_name(frame[cols["name"]])
                + "@"
                + normalise_address(frame[cols["address"]])
            )

        by_na = dict(zip(na_key(staged), staged[key_col], strict=True))
        result = result.fillna(na_key(candidates).map(by_na).astype("Int64"))
    return result


def _name(md: MetaData, table: str) -> str:
    return f"{md.schema}.{table}" if md.schema else table


def staged_frame(
    engine_or_conn: Engine | Connection, md: MetaData, table: str, columns: list[str]
) -> pd.DataFrame:
    t = md.tables[_name(md, table)]
    stmt = select(*[t.c[c] for c in columns])
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            rows = conn.execute(stmt).all()
    else:
        rows = engine_or_conn.execute(stmt).all()
    return pd.DataFrame.from_records(rows, columns=columns)
