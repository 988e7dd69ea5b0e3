"""Whole runs: full, rehearsal and delta runs over every entity, and resume.

A rehearsal writes into its own staging (see :mod:`migrate.targets`), so the real staging
is never touched. A delta run picks up source rows past each entity's watermark
(``source.delta_column``, recorded when the previous run started) and replaces staged rows
with the same target key. Rollback lives in :mod:`migrate.runs.rollback`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, MetaData, func, select

from migrate.config import Settings, redact
from migrate.db import readonly_engine, writable_engine
from migrate.errors import MigrationError, RunFailed, RunStateError
from migrate.extract.files import origins
from migrate.load import keymap
from migrate.runs import history, hooks, partitions, preflight
from migrate.runs import records as runs
from migrate.runs.failure import describe
from migrate.runs.locate import locate_run, staging_target
from migrate.runs.lock import run_lock
from migrate.runs.pipeline import run_entity
from migrate.runs.pipeline_types import Context, EntityResult, Progress
from migrate.runs.replaced_rows import refuse_late_delta_resume
from migrate.runs.rollback import clear_rehearsals, rollback_run
from migrate.runs.staged_none import staged_none_lines
from migrate.spec.loader import Project, load_project
from migrate.staging.create import ensure_staging
from migrate.targets.drift import refuse_drift

log = logging.getLogger("migrate.runner")
MODES = ("full", "rehearsal", "delta")
__all__ = [
    "MODES",
    "RunSummary",
    "clear_rehearsals",
    "final_watermarks",
    "open_context",
    "previous_watermarks",
    "record_start_watermarks",
    "resume_run",
    "rollback_run",
    "run_migration",
    "staging_target",
]


@dataclass
class RunSummary:
    run_id: str
    mode: str
    staging_url: str
    schema: str | None
    entities: list[EntityResult] = field(default_factory=list)
    # one warning per entity that read rows and staged none: the run did not do its work
    staged_none: list[str] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        keys = ("rows_in", "loaded", "rejected", "filtered")
        return {k: sum(getattr(e, k) for e in self.entities) for k in keys}


def open_context(
    settings: Settings, project: Project, run_id: str, mode: str, chunk_size: int
) -> Context:
    origins.remember(project)  # a copybook's path is relative to its mapping's folder
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
    preflight.legacy_roles(settings, project)  # warns, or refuses before the run has a row
    url, schema = staging_target(settings, mode)
    run_id = run_id or runs.new_run_id()
    with run_lock(url, schema, run_id):  # before the run's row: a refused run leaves none
        if mode == "rehearsal":
            clear_rehearsals(settings)
        md = ensure_staging(url, schema)
        refuse_drift(url, project.targets, schema)  # a declared table altered since: stop
        staging = writable_engine(url)
        watermarks = previous_watermarks(staging, md) if mode == "delta" else {}
        run_id = runs.start_run(
            staging, md, mode, project.mapping_hashes(), source_identity(settings), run_id
        )
        staging.dispose()
        return _execute(settings, project, run_id, mode, chunk_size, progress, watermarks)


def resume_run(
    settings: Settings,
    mappings: Path,
    run_id: str,
    chunk_size: int = 50_000,
    progress: Progress | None = None,
) -> RunSummary:
    """Finish a run that stopped: committed chunks (and finished partitions) are kept, the
    rest is done once, for the entities the run was started with."""
    found = locate_run(settings, run_id)
    preflight.legacy_roles(settings, load_project(mappings))  # as at the run's start
    with run_lock(found.url, found.schema, run_id):  # a run still running holds it
        return _resume_locked(settings, mappings, run_id, chunk_size, progress)


def _resume_locked(
    settings: Settings,
    mappings: Path,
    run_id: str,
    chunk_size: int,
    progress: Progress | None,
) -> RunSummary:
    found = locate_run(settings, run_id)  # read again under the lock: it may have finished
    info = found.info
    runs.refuse_unresumable(info)
    everything = load_project(mappings)
    chosen = [n for n, e in everything.entities.items() if e.display in info.mapping_hashes]
    project = load_project(mappings, chosen or None)
    refuse_drift(found.url, project.targets, found.schema)  # a declared table altered since
    marks: dict[str, object] = {}
    if info.mode == "delta":  # the same watermarks the run started from
        engine = writable_engine(found.url)
        try:
            with engine.connect() as conn:
                refuse_late_delta_resume(conn, found.md, info)
            marks = previous_watermarks(engine, found.md, before=info.started_at)
        finally:
            engine.dispose()
    return _execute(settings, project, run_id, info.mode, chunk_size, progress, marks)


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
        for message in preflight.unanswered_lookups(project, ctx.staging, ctx.md):
            log.warning("%s", message)
        record_start_watermarks(ctx, project)
        record_keys_and_references(ctx, project)
        for name in project.order:
            summary.entities.append(_entity_run(ctx, project, name, progress, watermarks))
    except BaseException as exc:
        runs.set_run(ctx.staging, ctx.md, run_id, STATUS="failed", ENDED_AT=runs.now())
        entities = _entity_dicts(summary)
        hooks.on_run_failed(settings, dataclasses.replace(event, entities=entities, error=str(exc)))
        if isinstance(exc, Exception):
            exc.add_note(
                f"run {run_id} is left resumable: fix the cause, then migrate resume {run_id}"
            )
        raise
    runs.set_run(ctx.staging, ctx.md, run_id, STATUS="complete", ENDED_AT=runs.now())
    tables = {n: project.spec(n).target.table for n in project.order}
    summary.staged_none = staged_none_lines(ctx.staging, ctx.md, tables, run_id, summary.entities)
    record_history(settings, ctx, run_id, mode)
    hooks.on_run_completed(settings, dataclasses.replace(event, entities=_entity_dicts(summary)))
    return summary


def record_keys_and_references(ctx: Context, project: Project) -> None:
    """Before any chunk: the key spaces this run issues get their high-water mark rows, and
    the staging learns which columns of the run's entities hold whose keys (what a later
    rollback checks before it may remove keys others refer to)."""
    with ctx.staging.begin() as conn:
        runs.record_references(conn, ctx.md, project)
    issued = [project.spec(n).issues_keys for n in project.order]
    keymap.open_key_spaces(ctx.staging, ctx.md, [k.domain for k in issued if k is not None])


def _entity_run(
    ctx: Context,
    project: Project,
    name: str,
    progress: Progress | None,
    watermarks: dict[str, object],
) -> EntityResult:
    """One entity of the run; an exception nobody foresaw becomes :class:`RunFailed`, one
    line naming the entity, the chunk's rows and the column (``--debug``: the traceback)."""
    try:
        return run_planned(ctx, name, progress, watermarks.get(name))
    except MigrationError:
        raise
    except Exception as exc:
        raise RunFailed(describe(exc, project.entities[name])) from exc


def record_history(settings: Settings, ctx: Context, run_id: str, mode: str) -> None:
    """The run's figures kept for ``migrate rehearsals`` (a later rehearsal rolls this one
    back); a snapshot that cannot be written is reported, the run itself is complete."""
    try:
        started = runs.get_run(ctx.staging, ctx.md, run_id).started_at.isoformat()
        path = history.snapshot(settings, ctx.staging, ctx.md, run_id, mode, started)
        log.info("run %s: figures kept in %s", run_id, path)
    except Exception as exc:  # noqa: BLE001 - the run is complete; only the record is missing
        log.warning("run %s: figures not kept for comparison (%s)", run_id, type(exc).__name__)


def run_planned(
    ctx: Context, name: str, progress: Progress | None, delta_after: object | None
) -> EntityResult:
    """The entity as this run planned it: its unfinished partitions one after the other if
    a cutover split it (a resumed partitioned run), else the whole entity."""
    planned = partitions.stored(ctx.staging, ctx.md, ctx.run_id, name)
    if len(planned) <= 1:
        total = run_entity(ctx, name, progress, delta_after)
    else:
        total = EntityResult(name)
        counted = None if progress is None else SplitProgress(progress, total)
        for part in planned:
            if not part.done:
                total.add(run_entity(ctx, name, counted, delta_after, part))
    whole_run_counts(ctx, total)
    end = getattr(progress, "end", None)
    if end is not None:
        end(name, total.rows_in, total.loaded, total.rejected, total.filtered)
    return total


def whole_run_counts(ctx: Context, result: EntityResult) -> None:
    """Replace this attempt's counts by the run's: a resumed run read only what was left,
    but its summary, audit log entry and lineage statistics speak for the whole run."""
    whole = runs.whole_run(ctx.staging, ctx.md, ctx.run_id, result.entity)
    for key, value in whole.counts.items():
        setattr(result, key, value)
    result.batches = whole.batches
    result.warnings = whole.warnings
    result.reasons = whole.reasons


@dataclasses.dataclass
class SplitProgress:
    """Progress of an entity run partition by partition: each reports its own rows, the
    terminal shows the entity's (the partitions finished before it included)."""

    inner: Progress
    before: EntityResult  # the finished partitions, added up as they finish

    def begin(self, entity: str) -> None:
        begin = getattr(self.inner, "begin", None)
        if begin is not None:
            begin(entity)

    def __call__(self, entity: str, done: int, loaded: int, rejected: int) -> None:
        b = self.before
        self.inner(entity, b.rows_in + done, b.loaded + loaded, b.rejected + rejected)


def record_start_watermarks(ctx: Context, project: Project) -> None:
    """The next delta starts after what existed when this run started (rows that arrive
    while it runs are read again by the next delta and replaced in place, never missed).
    A resumed run keeps the watermarks of its start."""
    run = ctx.md.tables[f"{ctx.md.schema}.MIG_RUNS" if ctx.md.schema else "MIG_RUNS"]
    with ctx.staging.connect() as conn:
        current = conn.execute(
            select(run.c["WATERMARKS"]).where(run.c["RUN_ID"] == ctx.run_id)
        ).scalar()
    if current is None:
        marks = json.dumps(final_watermarks(ctx, project))
        runs.set_run(ctx.staging, ctx.md, ctx.run_id, WATERMARKS=marks)


def _entity_dicts(summary: RunSummary) -> list[dict[str, object]]:
    return [dataclasses.asdict(e) for e in summary.entities]


def final_watermarks(ctx: Context, project: Project) -> dict[str, object]:
    """Highest delta-column value per entity in the sources now (for the next delta)."""
    from migrate.extract.database import source_selectable

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


def count_source_rows(settings: Settings, project: Project) -> dict[str, int]:
    """Rows per entity in the live sources (for progress percentages)."""
    from migrate.extract.database import source_selectable

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
