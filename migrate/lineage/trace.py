"""Trace one row: from a staged ERP row back to its legacy record(s), or from a legacy key on.

Forward: the staged row (by its target key, or by ``MIG_SOURCE_KEY``), the legacy row(s) it
came from (every legacy record that shares its ERP key in ``MIG_KEY_MAP``: both sides of a
merged supplier), the rule behind each column, the run, the mapping version that run used,
and the reconciliation and sign-off recorded for it. Reverse: where a legacy record went:
staged, rejected (reason), filtered (rule) or merged into another record.

Everything returned is already masked: personal columns never leave this module raw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table, select

from migrate.audit import log as audit
from migrate.config import Settings
from migrate.db import writable_engine
from migrate.errors import ConfigError, RunStateError
from migrate.extract.files import origins
from migrate.lineage.legacy import key_match, read_source_row
from migrate.lineage.masking import mask_row, mask_value, target_personal
from migrate.lineage.rules import ColumnRule, column_rules
from migrate.lineage.specs import mappings_root, run_specs
from migrate.runs import records as runs
from migrate.spec.model import EntitySpec
from migrate.staging.tables import build_metadata
from migrate.transform.variants import SEP as VARIANT_SEP
from migrate.transform.variants import split_key, variant_key


@dataclass(frozen=True)
class SourceRecord:
    """A legacy record: where it lives and its current values (masked)."""

    entity: str
    system: str
    table: str
    key: str
    row: dict[str, object] | None
    via: str = "MIG_SOURCE_KEY"


@dataclass(frozen=True)
class StagedRow:
    entity: str
    table: str
    values: dict[str, object]
    run_id: str
    source_system: str
    source_key: str
    source_hash: str


@dataclass(frozen=True)
class Outcome:
    """What became of a legacy record in one run: staged, rejected, filtered or merged."""

    entity: str
    kind: str
    run_id: str
    detail: str = ""


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    mode: str
    status: str
    started_at: str
    started_by: str | None
    mappings: dict[str, dict[str, object]]
    verdict: str | None
    workbook_sha256: str | None
    audit: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Trace:
    direction: str
    table: str
    key: str
    staged: list[StagedRow] = field(default_factory=list)
    sources: list[SourceRecord] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    rules: dict[str, list[ColumnRule]] = field(default_factory=dict)
    runs: list[RunFacts] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def trace(
    settings: Settings,
    table: str,
    key: str,
    reverse: bool = False,
    system: str | None = None,
    mappings: Path | None = None,
) -> Trace:
    """Forward from a staging table and key, or (``reverse``) from a legacy table and key."""
    loaded = [r.loaded for r in run_specs(mappings_root(settings, mappings), {}) if r.loaded]
    for item in loaded:  # a copybook's path is relative to its mapping's folder
        origins.remember_entity(item.spec.entity, item.path)
    specs = [item.spec for item in loaded]
    md = build_metadata(settings.staging_schema)
    engine = writable_engine(settings.url("staging"))
    try:
        with engine.connect() as conn:
            if reverse:
                result = _reverse(settings, conn, md, specs, table, key, system)
            else:
                result = _forward(settings, conn, md, specs, table, key, system)
            result.runs = _runs(settings, conn, md, result, mappings)
    finally:
        engine.dispose()
    return result


def _t(md: MetaData, name: str) -> Table:
    return md.tables[f"{md.schema}.{name}" if md.schema else name]


def _staging_table(md: MetaData, name: str) -> Table:
    for t in md.tables.values():
        if t.name.upper() == name.upper() and "target_key" in t.info:
            return t
    known = ", ".join(sorted(t.name for t in md.tables.values() if "target_key" in t.info))
    raise ConfigError(f"unknown staging table {name!r} (known: {known})")


def _forward(
    settings: Settings,
    conn: Connection,
    md: MetaData,
    specs: list[EntitySpec],
    table: str,
    key: str,
    system: str | None,
) -> Trace:
    t = _staging_table(md, table)
    out = Trace("forward", t.name, key)
    terms = key_match(t, list(t.info["target_key"]), key)
    stmt = select(t).where(*terms) if terms else None
    by_source = select(t).where(t.c["MIG_SOURCE_KEY"] == key)
    if system:
        by_source = by_source.where(t.c["MIG_SOURCE_SYSTEM"] == system)
    rows = list(conn.execute(stmt).mappings()) if stmt is not None else []
    rows += [r for r in conn.execute(by_source).mappings() if r not in rows]
    personal = target_personal(specs).get(t.name.upper(), {})
    for row in rows:
        spec = _entity_for(specs, str(row["MIG_ENTITY"]))
        name = spec.entity if spec else "?"
        out.staged.append(_staged(name, t.name, row, personal))
        if spec is None:
            out.warnings.append(f"no mapping {row['MIG_ENTITY']!r} (it staged this row)")
            continue
        out.rules[spec.entity] = column_rules(spec)
        out.sources += _sources_of(settings, conn, md, specs, spec, row)
    if not rows:
        out.warnings.append(f"no staged row in {t.name} with key or source key {key!r}")
    return out


def _staged(entity: str, table: str, row: Any, personal: dict[str, str]) -> StagedRow:
    values = {k: _plain(v) for k, v in row.items() if not str(k).startswith("MIG_")}
    return StagedRow(
        entity,
        table,
        mask_row(values, personal),
        str(row["MIG_RUN_ID"]),
        str(row["MIG_SOURCE_SYSTEM"]),
        str(row["MIG_SOURCE_KEY"]),
        str(row["MIG_SOURCE_HASH"]),
    )


def _entity_for(specs: list[EntitySpec], entity: str) -> EntitySpec | None:
    """The mapping that staged a row: each staged row records its entity."""
    return next((s for s in specs if s.entity == entity), None)


def _sources_of(
    settings: Settings,
    conn: Connection,
    md: MetaData,
    specs: list[EntitySpec],
    spec: EntitySpec,
    row: Any,
) -> list[SourceRecord]:
    """The row's own legacy record, plus every other legacy record sharing its ERP key."""
    key = str(row["MIG_SOURCE_KEY"])
    if spec.variants is not None:  # legacy key @ variant: the legacy row, and which variant
        key, _, variant = key.rpartition(VARIANT_SEP)
        return [_record(settings, spec, key, f"MIG_SOURCE_KEY (variant {variant})")]
    out = [_record(settings, spec, key, "MIG_SOURCE_KEY")]
    ik = spec.issues_keys
    if ik is None or row.get(ik.column) is None:
        return out
    km = _t(md, "MIG_KEY_MAP")
    mapped = conn.execute(
        select(km.c["SOURCE_SYSTEM"], km.c["LEGACY_KEY"]).where(
            km.c["DOMAIN"] == ik.domain, km.c["ERP_KEY"] == int(row[ik.column])
        )
    ).all()
    for sys_name, legacy in mapped:
        if (sys_name, legacy) == (spec.source.system, key):
            continue
        issuer = next(
            (
                s
                for s in specs
                if s.issues_keys
                and s.issues_keys.domain == ik.domain
                and s.source.system == sys_name
            ),
            None,
        )
        if issuer is not None:
            via = f"MIG_KEY_MAP {ik.domain} {row[ik.column]} (merged record)"
            out.append(_record(settings, issuer, str(legacy), via))
    return out


def _record(settings: Settings, spec: EntitySpec, key: str, via: str) -> SourceRecord:
    where = spec.source.table or (spec.source.file.path if spec.source.file else "query")
    row = read_source_row(settings, spec, key)
    return SourceRecord(spec.entity, spec.source.system, where, key, row, via)


def _reverse(
    settings: Settings,
    conn: Connection,
    md: MetaData,
    specs: list[EntitySpec],
    table: str,
    key: str,
    system: str | None,
) -> Trace:
    matches = [
        s for s in specs if _reads(s, table) and (system is None or s.source.system == system)
    ]
    if not matches:
        raise ConfigError(
            f"no mapping reads legacy table {table!r}" + (f" in {system}" if system else "")
        )
    out = Trace("reverse", table, key)
    for spec in matches:
        out.sources.append(_record(settings, spec, key, "legacy key"))
        out.rules[spec.entity] = column_rules(spec)
        out.outcomes += _outcomes(conn, md, spec, key, out, specs)
    if not out.outcomes:
        out.warnings.append(
            "not found in any run's staged, rejected or filtered rows "
            "(not migrated yet, or its run was rolled back)"
        )
    return out


def _reads(spec: EntitySpec, table: str) -> bool:
    src = spec.source
    names = [src.table or ""]
    if src.file is not None:
        names += [src.file.path, Path(src.file.path).name, Path(src.file.path).stem]
    return table.upper() in (n.upper() for n in names if n)


def _outcomes(
    conn: Connection,
    md: MetaData,
    spec: EntitySpec,
    key: str,
    out: Trace,
    specs: list[EntitySpec],
) -> list[Outcome]:
    t = _t(md, spec.target.table)
    personal = target_personal(specs).get(t.name.upper(), {})
    found: list[Outcome] = []
    keys = [key] if spec.variants is None else [variant_key(key, v) for v in spec.variants]
    staged = conn.execute(
        select(t).where(t.c["MIG_ENTITY"] == spec.entity, t.c["MIG_SOURCE_KEY"].in_(keys))
    ).mappings()
    for row in staged:
        out.staged.append(_staged(spec.entity, t.name, row, personal))
        into = f"into {t.name}"
        if spec.variants is not None:
            into += f" as variant {split_key(str(row['MIG_SOURCE_KEY']))[1]}"
        found.append(Outcome(spec.entity, "staged", str(row["MIG_RUN_ID"]), into))
    rj = _t(md, "MIG_REJECTS")
    for r in conn.execute(
        select(rj).where(rj.c["ENTITY"] == spec.entity, rj.c["SOURCE_KEY"] == key)
    ).mappings():
        kind = personal.get(str(r["COLUMN_NAME"] or "").upper())
        shown = mask_value(kind, r["OFFENDING_VALUE"])
        detail = f"{r['REASON_CODE']} on {r['COLUMN_NAME']} (value {shown!r}): {r['MESSAGE']}"
        found.append(Outcome(spec.entity, "rejected", str(r["RUN_ID"]), detail))
    fl = _t(md, "MIG_FILTERED")
    for r in conn.execute(
        select(fl).where(fl.c["ENTITY"] == spec.entity, fl.c["SOURCE_KEY"] == key)
    ).mappings():
        rule = str(r["RULE"])
        if rule == "merged_into_existing_record":
            found.append(_merged(conn, md, spec, key, str(r["RUN_ID"]), out, personal))
        else:
            found.append(Outcome(spec.entity, "filtered", str(r["RUN_ID"]), f"by rule {rule}"))
    return found


def _merged(
    conn: Connection,
    md: MetaData,
    spec: EntitySpec,
    key: str,
    run_id: str,
    out: Trace,
    personal: dict[str, str],
) -> Outcome:
    """A merged record has no row of its own: follow its key-map entry to the one it joined."""
    ik = spec.issues_keys
    if ik is None:
        return Outcome(spec.entity, "merged", run_id, "merged (entity issues no keys)")
    km = _t(md, "MIG_KEY_MAP")
    erp = conn.execute(
        select(km.c["ERP_KEY"]).where(
            km.c["DOMAIN"] == ik.domain,
            km.c["SOURCE_SYSTEM"] == spec.source.system,
            km.c["LEGACY_KEY"] == key,
        )
    ).scalar()
    if erp is None:
        return Outcome(spec.entity, "merged", run_id, "merged, but no key-map entry found")
    t = _t(md, spec.target.table)
    for row in conn.execute(select(t).where(t.c[ik.column] == erp)).mappings():
        out.staged.append(_staged(spec.entity, t.name, row, personal))
    detail = f"merged into {t.name} {ik.column}={erp} (MIG_KEY_MAP {ik.domain})"
    return Outcome(spec.entity, "merged", run_id, detail)


def _runs(
    settings: Settings, conn: Connection, md: MetaData, result: Trace, mappings: Path | None
) -> list[RunFacts]:
    ids = sorted({s.run_id for s in result.staged} | {o.run_id for o in result.outcomes})
    entries = list(audit.read_entries(audit.log_path(settings)))
    facts: list[RunFacts] = []
    for run_id in ids:
        try:
            info = runs.get_run(conn.engine, md, run_id)
        except RunStateError:
            result.warnings.append(f"run {run_id} is not in MIG_RUNS")
            continue
        used = _mapping_versions(settings, info.mapping_hashes, set(result.rules), mappings)
        for name, m in used.items():
            if not m["unchanged"]:
                result.warnings.append(f"{name}: the mapping file changed since run {run_id}")
        logged = [e for _, e in entries if e.get("payload", {}).get("run_id") == run_id]
        facts.append(
            RunFacts(
                run_id,
                info.mode,
                info.status,
                info.started_at.isoformat(),
                info.started_by,
                used,
                info.verdict,
                info.workbook_sha256,
                [{k: e.get(k) for k in ("seq", "time", "kind", "payload")} for e in logged],
            )
        )
    return facts


def _mapping_versions(
    settings: Settings, hashes: dict[str, str], entities: set[str], mappings: Path | None
) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for rs in run_specs(mappings_root(settings, mappings), hashes):
        if rs.loaded and rs.loaded.spec.entity in entities:
            out[rs.loaded.spec.entity] = {
                "file": rs.display,
                "sha256_used": rs.recorded_sha256,
                "sha256_now": rs.current_sha256,
                "unchanged": rs.unchanged,
            }
    return out


def _plain(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
