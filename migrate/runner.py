"""Whole runs: full, rehearsal and delta runs over every entity, resume and rollback.

A rehearsal writes into its own staging (a ``rehearsal`` schema on PostgreSQL, a separate
SQLite file otherwise) so the real staging is never touched. A delta run picks up source
rows past each entity's watermark (``source.delta_column``) and replaces staged rows with
the same target key.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, Table, delete, func, select
from sqlalchemy.engine import make_url

from migrate import hooks, runs
from migrate.config import Settings, redact
from migrate.db import readonly_engine, writable_engine
from migrate.errors import RunStateError
from migrate.load import ensure_staging
from migrate.pipeline import Context, EntityResult, Progress, run_entity
from migrate.spec.loader import Project, load_project

log = logging.getLogger("migrate.runner")
MODES = ("full", "rehearsal", "delta")


@dataclass
class RunSummary:
    run_id: str
    mode: str
    staging_url: str
    schema: str | None
    entities: list[EntityResult] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        keys = ("rows_in", "loaded", "rejected", "filtered")
        return {k: sum(getattr(e, k) for e in self.entities) for k in keys}


def staging_target(settings: Settings, mode: str) -> tuple[str, str | None]:
    """(staging URL, schema) for a mode: rehearsals never touch the real staging."""
    url = settings.url("staging")
    if mode != "rehearsal":
        return url, settings.staging_schema
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database:
        db = Path(u.database)
        return str(u.set(database=str(db.with_name(db.stem + "_rehearsal" + db.suffix)))), None
    if u.get_backend_name() == "postgresql":
        return url, "rehearsal"
    return str(u.set(database=(u.database or "staging") + "_rehearsal")), None


def open_context(
    settings: Settings, project: Project, run_id: str, mode: str, chunk_size: int
) -> Context:
    url, schema = staging_target(settings, mode)
    md = ensure_staging(url, schema)
    systems = {
        e.spec.source.system for e in project.entities.values() if e.spec.source.file is None
    }
    sources = {s: readonly_engine(settings.url(s)) for s in sorted(systems)}
    return Context(
        project, sources, writable_engine(url), md, run_id, chunk_size, settings.workdir, mode
    )


def source_identity(settings: Settings) -> dict[str, str]:
    return {name: redact(url) for name, url in settings.urls.items()}


def run_migration(
    settings: Settings,
    mappings: Path,
    mode: str = "full",
    entities: list[str] | None = None,
    chunk_size: int = 50_000,
    progress: Progress | None = None,
    run_id: str | None = None,
) -> RunSummary:
    """Start a new run over the entities (all by default) in dependency order."""
    if mode not in MODES:
        raise RunStateError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    project = load_project(mappings, entities)
    if mode == "rehearsal":
        clear_rehearsals(settings)
    url, schema = staging_target(settings, mode)
    md = ensure_staging(url, schema)
    staging = writable_engine(url)
    watermarks = previous_watermarks(staging, md) if mode == "delta" else {}
    run_id = runs.start_run(
        staging, md, mode, project.mapping_hashes(), source_identity(settings), run_id
    )
    staging.dispose()
    return _execute(settings, project, run_id, mode, chunk_size, progress, watermarks)


def clear_rehearsals(settings: Settings, keep: str | None = None) -> list[str]:
    """Roll back earlier rehearsals, so a new one starts on an empty rehearsal staging
    (staged rows are unique per key: a rehearsal on top of another would reject them all)."""
    url, schema = staging_target(settings, "rehearsal")
    md = ensure_staging(url, schema)
    engine = writable_engine(url)
    table = md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]
    try:
        with engine.connect() as conn:
            ids = conn.execute(
                select(table.c["RUN_ID"])
                .where(table.c["STATUS"] != "rolled_back")
                .order_by(table.c["STARTED_AT"].desc())
            ).scalars()
            stale = [i for i in ids if i != keep]
    finally:
        engine.dispose()
    for run_id in stale:
        log.info("rolling back earlier rehearsal %s", run_id)
        rollback_run(settings, run_id)
    return stale


def resume_run(
    settings: Settings,
    mappings: Path,
    run_id: str,
    chunk_size: int = 50_000,
    progress: Progress | None = None,
) -> RunSummary:
    """Finish a run that stopped: committed chunks are kept, the rest is done once."""
    for mode in ("full", "rehearsal"):
        url, schema = staging_target(settings, mode)
        md = ensure_staging(url, schema)
        engine = writable_engine(url)
        try:
            info = runs.get_run(engine, md, run_id)
        except RunStateError:
            continue
        finally:
            engine.dispose()
        if info.status == "complete":
            raise RunStateError(f"run {run_id} already completed; nothing to resume")
        project = load_project(mappings)
        marks: dict[str, object] = {}
        if info.mode == "delta":  # the same watermarks the run started from
            engine = writable_engine(url)
            try:
                marks = previous_watermarks(engine, md, before=info.started_at)
            finally:
                engine.dispose()
        return _execute(settings, project, run_id, info.mode, chunk_size, progress, marks)
    raise RunStateError(f"unknown run id {run_id!r}")


def _execute(
    settings: Settings,
    project: Project,
    run_id: str,
    mode: str,
    chunk_size: int,
    progress: Progress | None,
    watermarks: dict[str, object],
) -> RunSummary:
    settings = dataclasses.replace(
        settings, extra={**settings.extra, "mappings": str(project.root)}
    )
    ctx = open_context(settings, project, run_id, mode, chunk_size)
    url, schema = staging_target(settings, mode)
    summary = RunSummary(run_id, mode, url, schema)
    event = hooks.RunEvent(run_id, mode, redact(url), schema, project.mapping_hashes())
    hooks.on_run_started(settings, event)
    try:
        for name in project.order:
            summary.entities.append(run_entity(ctx, name, progress, watermarks.get(name)))
    except BaseException as exc:
        runs.set_run(ctx.staging, ctx.md, run_id, STATUS="failed", ENDED_AT=runs.now())
        entities = _entity_dicts(summary)
        hooks.on_run_failed(settings, dataclasses.replace(event, entities=entities, error=str(exc)))
        raise
    runs.set_run(
        ctx.staging,
        ctx.md,
        run_id,
        STATUS="complete",
        ENDED_AT=runs.now(),
        WATERMARKS=json.dumps(final_watermarks(ctx, project)),
    )
    hooks.on_run_completed(settings, dataclasses.replace(event, entities=_entity_dicts(summary)))
    return summary


def _entity_dicts(summary: RunSummary) -> list[dict[str, object]]:
    return [dataclasses.asdict(e) for e in summary.entities]


def final_watermarks(ctx: Context, project: Project) -> dict[str, object]:
    """Highest delta-column value per entity at the end of the run (for the next delta)."""
    from migrate.extract import source_selectable

    out: dict[str, object] = {}
    for name in project.order:
        spec = project.spec(name)
        if spec.source.delta_column and spec.source.table:
            engine = ctx.sources[spec.source.system]
            table = source_selectable(spec, engine)
            with engine.connect() as conn:
                top = conn.execute(select(func.max(table.c[spec.source.delta_column]))).scalar()
            if top is not None:
                out[name] = top if isinstance(top, int | str) else str(top)
    return out


def previous_watermarks(
    engine: Engine, md: MetaData, before: datetime | None = None
) -> dict[str, object]:
    """Watermarks of the latest complete full or delta run (started before ``before``)."""
    r = md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]
    stmt = select(r.c["WATERMARKS"]).where(r.c["STATUS"] == "complete", r.c["MODE"] != "rehearsal")
    if before is not None:
        stmt = stmt.where(r.c["STARTED_AT"] < before)
    with engine.connect() as conn:
        row = conn.execute(stmt.order_by(r.c["STARTED_AT"].desc()).limit(1)).first()
    if row is None:
        raise RunStateError("a delta run needs a completed full run first")
    return dict(json.loads(row[0] or "{}"))


def rollback_run(settings: Settings, run_id: str) -> dict[str, int]:
    """Delete everything the run staged: rows, rejects, filtered, key-map entries, progress."""
    for mode in ("full", "rehearsal"):
        url, schema = staging_target(settings, mode)
        md = ensure_staging(url, schema)
        engine = writable_engine(url)
        try:
            runs.get_run(engine, md, run_id)
        except RunStateError:
            engine.dispose()
            continue
        removed: dict[str, int] = {}
        with engine.begin() as conn:
            refuse_if_replaced_later(conn, md, run_id)
            for table in md.sorted_tables:
                col = (
                    table.c.get("MIG_RUN_ID") if "MIG_RUN_ID" in table.c else table.c.get("RUN_ID")
                )
                if col is None or table.name == "MIG_RUNS":
                    continue
                n = conn.execute(delete(table).where(col == run_id)).rowcount
                if n:
                    removed[table.name] = int(n)
            restored = restore_replaced(conn, md, run_id)
            removed.update({f"restored {name}": n for name, n in restored.items()})
            runs_t = md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]
            conn.execute(
                runs_t.update()
                .where(runs_t.c["RUN_ID"] == run_id)
                .values(STATUS="rolled_back", ENDED_AT=runs.now())
            )
        engine.dispose()
        hooks.on_rollback(settings, hooks.RunEvent(run_id, mode, redact(url), schema), removed)
        return removed
    raise RunStateError(f"unknown run id {run_id!r}")


def _archives(md: MetaData) -> list[Table]:
    return [t for t in md.sorted_tables if "replaces" in t.info]


def refuse_if_replaced_later(conn: Connection, md: MetaData, run_id: str) -> None:
    """A run whose rows a later live run has replaced cannot be rolled back before it:
    restoring under the later rows would duplicate keys."""
    runs_t = md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]
    live = select(runs_t.c["RUN_ID"]).where(
        runs_t.c["STATUS"] != "rolled_back", runs_t.c["RUN_ID"] != run_id
    )
    for archive in _archives(md):
        later = conn.execute(
            select(archive.c["REPLACED_BY_RUN"])
            .where(archive.c["MIG_RUN_ID"] == run_id, archive.c["REPLACED_BY_RUN"].in_(live))
            .limit(1)
        ).scalar()
        if later is not None:
            raise RunStateError(
                f"run {later} replaced rows that run {run_id} staged in "
                f"{archive.info['replaces']}: roll back {later} first"
            )


def restore_replaced(conn: Connection, md: MetaData, run_id: str) -> dict[str, int]:
    """Undo a delta run's replacements (its own rows already deleted): the versions it
    replaced go back into their tables."""
    restored: dict[str, int] = {}
    for archive in _archives(md):
        name = str(archive.info["replaces"])
        target = md.tables[f"{md.schema}.{name}" if md.schema else name]
        cols = list(target.c.keys())
        back = select(*[archive.c[c] for c in cols]).where(archive.c["REPLACED_BY_RUN"] == run_id)
        n = conn.execute(target.insert().from_select(cols, back)).rowcount
        conn.execute(delete(archive).where(archive.c["REPLACED_BY_RUN"] == run_id))
        if n and n > 0:
            restored[name] = int(n)
    return restored


def count_source_rows(settings: Settings, project: Project) -> dict[str, int]:
    """Rows per entity in the live sources (for progress percentages)."""
    from migrate.extract import source_selectable

    out: dict[str, int] = {}
    for name in project.order:
        spec = project.spec(name)
        if spec.source.table is None:
            continue
        engine = readonly_engine(settings.url(spec.source.system))
        table = source_selectable(spec, engine)
        with engine.connect() as conn:
            out[name] = int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
        engine.dispose()
    return out
