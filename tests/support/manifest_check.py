"""Compare a staged run's rejects with the estate manifest's planted defects."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from migrate.spec.loader import Project


@dataclass
class Comparison:
    wrong_reason: list[str] = field(default_factory=list)
    not_rejected: list[str] = field(default_factory=list)
    unexpected_rejects: list[str] = field(default_factory=list)
    cosmetic_not_loaded: list[str] = field(default_factory=list)
    checked: int = 0


def entity_by_table(project: Project, manifest: dict[str, object]) -> dict[tuple[str, str], str]:
    files: dict[str, str] = manifest.get("flat_files", {})  # type: ignore[assignment]
    flat = {Path(f).name: qualified.split(".", 1)[1] for qualified, f in files.items()}
    out: dict[tuple[str, str], str] = {}
    for name, ent in project.entities.items():
        src = ent.spec.source
        if src.table:
            out[(src.system, src.table)] = name
        elif src.file:
            table = flat.get(Path(src.file.path).name)
            if table:
                out[(src.system, table)] = name
    return out


def compare(project: Project, manifest_path: Path, staging_url: str, run_id: str) -> Comparison:
    manifest = json.loads(manifest_path.read_text())
    by_table = entity_by_table(project, manifest)
    engine = create_engine(staging_url)
    with engine.connect() as conn:
        if conn.dialect.name == "mysql":  # the queries below quote identifiers the SQL way
            conn.exec_driver_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
        rejects = conn.execute(
            text(
                'SELECT "ENTITY", "SOURCE_KEY", "REASON_CODE" FROM "MIG_REJECTS" '
                'WHERE "RUN_ID" = :r'
            ),
            {"r": run_id},
        ).all()
        staged: dict[str, set[str]] = {}
        for name, ent in project.entities.items():
            rows = (
                conn.execute(
                    text(
                        f'SELECT "MIG_SOURCE_KEY" FROM "{ent.spec.target.table}" '
                        'WHERE "MIG_RUN_ID" = :r AND "MIG_SOURCE_SYSTEM" = :s'
                    ),
                    {"r": run_id, "s": ent.spec.source.system},
                )
                .scalars()
                .all()
            )
            staged[name] = set(rows)
    engine.dispose()
    got: dict[tuple[str, str], list[str]] = {}
    for entity, key, reason in rejects:
        got.setdefault((entity, key), []).append(reason)
    result = Comparison()
    expected_keys: set[tuple[str, str]] = set()
    for d in manifest["defects"]:
        entity = by_table.get((d["system"], d["table"]))
        if entity is None or not d.get("key"):
            continue
        spec = project.spec(entity)
        key = "|".join(str(d["key"][c]).strip() for c in spec.source.key)
        where = f"{entity} {key} {d['defect']}"
        result.checked += 1
        if d["expected_reason"] is None:
            if key not in staged[entity]:
                result.cosmetic_not_loaded.append(f"{where}: rejected {got.get((entity, key))}")
            continue
        expected_keys.add((entity, key))
        reasons = got.get((entity, key), [])
        if not reasons:
            result.not_rejected.append(f"{where}: expected {d['expected_reason']}")
        elif d["expected_reason"] not in reasons:
            result.wrong_reason.append(f"{where}: expected {d['expected_reason']}, got {reasons}")
    for (entity, key), reasons in got.items():
        if (entity, key) not in expected_keys:
            result.unexpected_rejects.append(f"{entity} {key}: {Counter(reasons)}")
    return result
