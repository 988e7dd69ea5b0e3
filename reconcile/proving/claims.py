"""What a run claims, checked before and beside the entities: the mappings it ran with, and
that every row it staged belongs to one of its entities.

A reconciliation proves a run only against the mappings the run used: a mapping changed
since (a measure removed, a rule relaxed) would prove something else, so the entity FAILs;
a mapping gone (a file deleted or renamed) cannot be reconciled at all. And staged rows
are attributed by ``MIG_ENTITY``: a row of the run under a name no entity of the run has
is reconciled by nobody, so it FAILs the entity that shares its table.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam, text

from migrate.errors import ConfigError
from migrate.spec.loader import Project
from migrate.staging.tables import build_metadata
from reconcile.reading.staging_side import Staging


def refuse_missing_mappings(project: Project, mapping_hashes: dict[str, str]) -> None:
    """A mapping the run used that the mappings folder no longer has: stop (exit 2)."""
    present = {e.display for e in project.entities.values()}
    gone = sorted(d for d in mapping_hashes if d not in present)
    if gone:
        raise ConfigError(
            f"the run used {', '.join(gone)}, which the mappings folder no longer has: "
            "reconcile with the mappings the run used (the run records their SHA-256)"
        )


def changed_mapping(project: Project, name: str, mapping_hashes: dict[str, str]) -> str | None:
    """Why the entity's mapping is not the one the run used, or None."""
    loaded = project.entities[name]
    ran = mapping_hashes.get(loaded.display)
    if ran is None or ran == loaded.sha256:
        return None
    return (
        f"mapping {loaded.display} changed since the run (run {ran[:12]}, now "
        f"{loaded.sha256[:12]}): reconciled against a mapping the run did not use"
    )


def unclaimed_rows(st: Staging, project: Project, started: list[str]) -> dict[str, list[str]]:
    """Per target table of the run's entities: rows of the run staged under an entity name
    the run did not have for that table (as 'N row(s) in TABLE under ENTITY')."""
    owners: dict[str, set[str]] = defaultdict(set)
    for name in started:
        owners[project.spec(name).target.table].add(name)
    targets = [t.name for t in build_metadata().tables.values() if "target_key" in t.info]
    q = st.engine.dialect.identifier_preparer.quote
    found: dict[str, list[str]] = {}
    with st.engine.connect() as conn:
        for table in targets:
            names = sorted(owners.get(table, set())) or [""]
            sql = text(
                f"SELECT {q('MIG_ENTITY')}, COUNT(*) FROM {st.table(table)} "
                f"WHERE {q('MIG_RUN_ID')} = :run AND {q('MIG_ENTITY')} NOT IN :names "
                f"GROUP BY {q('MIG_ENTITY')} ORDER BY {q('MIG_ENTITY')}"
            ).bindparams(bindparam("names", expanding=True))
            rows = conn.execute(sql, {"run": st.run_id, "names": names}).all()
            if rows:
                found[table] = [f"{n:,} row(s) in {table} under {e!r}" for e, n in rows]
    return found
