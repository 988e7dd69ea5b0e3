"""The plain-Python steps the Prefect tasks wrap: each opens what it needs from small arguments.

Task arguments cross process boundaries (Dask workers, a resumed flow run), so every step
takes a working folder, the mappings folder, a run id and names, and builds settings,
engines and the project itself; nothing heavier than a dict of counts comes back.

``begin_run``/``end_run`` repeat the few lines of ``migrate.runs.runner.run_migration`` that
start and close a run, because the runner has no public call for them (see the how-to).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, MetaData

from flows import console
from flows.plan import load_project
from migrate.config import Settings, load_settings, redact
from migrate.db import readonly_engine, writable_engine
from migrate.errors import RunStateError
from migrate.runs import hooks, partitions, pipeline, runner
from migrate.runs import records as runs
from migrate.runs.partitions import plan as partition_plan
from migrate.runs.replaced_rows import refuse_late_delta_resume
from migrate.runs.staged_none import staged_by
from migrate.staging.create import ensure_staging
from migrate.targets.drift import refuse_drift


def settings_for(workdir: str, config: str | None = None) -> Settings:
    return load_settings(Path(workdir), Path(config) if config else None)


@contextmanager
def staging(settings: Settings, mode: str) -> Iterator[tuple[Engine, MetaData]]:
    """The run's staging (a rehearsal has its own), tables created if missing."""
    url, schema = runner.staging_target(settings, mode)
    md = ensure_staging(url, schema)
    engine = writable_engine(url)
    try:
        yield engine, md
    finally:
        engine.dispose()


def begin_run(
    workdir: str,
    mappings: str,
    mode: str,
    entities: list[str],
    config: str | None = None,
    run_id: str | None = None,
) -> str:
    """Record a new run in MIG_RUNS and return its id."""
    if mode not in runner.MODES:
        raise RunStateError(f"unknown mode {mode!r} (one of {', '.join(runner.MODES)})")
    settings = settings_for(workdir, config)
    project = load_project(Path(mappings), entities)
    with staging(settings, mode) as (engine, md):
        where, schema_of = runner.staging_target(settings, mode)
        refuse_drift(where, project.targets, schema_of)  # a declared table altered: stop
        run_id = runs.start_run(
            engine, md, mode, project.mapping_hashes(), runner.source_identity(settings), run_id
        )
        url, schema = runner.staging_target(settings, mode)
    ctx = runner.open_context(settings, project, run_id, mode, 1)
    try:  # the next delta starts after what existed now
        runner.record_start_watermarks(ctx, project)
        runner.record_keys_and_references(ctx, project)  # what a later rollback checks
    finally:
        ctx.staging.dispose()
        for source in ctx.sources.values():
            source.dispose()
    hooks.on_run_started(settings, hooks.RunEvent(run_id, mode, redact(url), schema))
    return run_id


def reopen_run(workdir: str, run_id: str, config: str | None = None) -> str:
    """Mark a stopped run running again (to resume it) and return its mode."""
    info = run_info(workdir, run_id, config)
    runs.refuse_unresumable(info)
    with staging(settings_for(workdir, config), info.mode) as (engine, md):
        if info.mode == "delta":
            with engine.connect() as conn:
                refuse_late_delta_resume(conn, md, info)
        runs.set_run(engine, md, run_id, STATUS="running", ENDED_AT=None)
    # an attempt of the run starts: in the audit log, as ``migrate resume`` records it (the
    # rehearsal timings leave out the time before it, when the run stood stopped)
    settings = settings_for(workdir, config)
    url, schema = runner.staging_target(settings, info.mode)
    hooks.on_run_started(settings, hooks.RunEvent(run_id, info.mode, redact(url), schema))
    return info.mode


def clear_rehearsals(workdir: str, keep: str | None = None, config: str | None = None) -> list[str]:
    """Roll back earlier rehearsals so a new one starts on an empty rehearsal staging (only
    the rehearsal staging is touched; see ``migrate.runs.rollback.clear_rehearsals``); their
    timings survive in ``artifacts/timing`` for the comparison."""
    return runner.clear_rehearsals(settings_for(workdir, config), keep)


def delta_watermarks(
    workdir: str, mode: str, config: str | None = None, run_id: str | None = None
) -> dict[str, int | str]:
    """Per entity, the watermark a delta run starts after (empty for other modes): that of
    the last complete run started before this one (also when this one is resumed)."""
    if mode != "delta":
        return {}
    before = run_info(workdir, run_id, config).started_at if run_id else None
    with staging(settings_for(workdir, config), mode) as (engine, md):
        marks = runner.previous_watermarks(engine, md, before=before)
    return {k: v if isinstance(v, int | str) else str(v) for k, v in marks.items()}


def plan_partitions(
    workdir: str,
    mappings: str,
    run_id: str,
    entities: list[str],
    mode: str,
    partitions: int,
    config: str | None = None,
) -> dict[str, list[dict[str, object]]]:
    """Each entity's key-range partitions for the run (stored ones when resuming).

    One call for the whole run: the project is loaded and the engines opened once, not once
    per entity (that was a task run, a project load and two engines per entity).
    """
    settings = settings_for(workdir, config)
    project = load_project(Path(mappings))
    url, schema = runner.staging_target(settings, mode)
    md = ensure_staging(url, schema)
    engine = writable_engine(url)
    sources: dict[str, Engine] = {}
    try:
        out: dict[str, list[dict[str, object]]] = {}
        for entity in entities:
            spec = project.spec(entity)
            source = None
            if spec.source.file is None:
                system = spec.source.system
                if system not in sources:
                    sources[system] = readonly_engine(settings.url(system))
                source = sources[system]
            planned = partition_plan(engine, md, source, spec, run_id, partitions)
            out[entity] = [dataclasses.asdict(p) for p in planned]
        return out
    finally:
        engine.dispose()
        for source_engine in sources.values():
            source_engine.dispose()


def migrate_entity(
    workdir: str,
    mappings: str,
    run_id: str,
    entity: str,
    mode: str,
    chunk_size: int,
    delta_after: object | None = None,
    config: str | None = None,
    partition: dict[str, object] | None = None,
) -> dict[str, object]:
    """One entity (or one planned partition of it) of the run; resumes after its last
    committed chunk, so a retry is safe."""
    settings = settings_for(workdir, config)
    project = load_project(Path(mappings))
    ctx = runner.open_context(settings, project, run_id, mode, chunk_size)
    shown = console.current()  # ``migrate cutover`` in this process: its terminal, Ctrl-C
    try:
        part = None
        if partition is not None:
            part = _stored_partition(ctx, entity, partition)
        number = int(partition.get("number", 0)) if partition else 0  # type: ignore[call-overload]
        progress = shown.progress_for(entity, number) if shown is not None else None
        if shown is not None:
            shown.begin(entity)
        result = pipeline.run_entity(ctx, entity, progress, delta_after, part)
        out = dataclasses.asdict(result)
        if result.rows_in and not result.loaded and "duplicate_key" in result.reasons:
            # staged nothing: whose rows are in the way, for the console's warning line
            table = project.spec(entity).target.table
            out["staged_by"] = staged_by(ctx.staging, ctx.md, table, entity, run_id)
        return out
    finally:
        ctx.staging.dispose()
        for engine in ctx.sources.values():
            engine.dispose()


def _stored_partition(
    ctx: pipeline.Context, entity: str, asked: dict[str, object]
) -> partitions.Partition:
    """The partition as the run planned it: the stored bounds are the ones that count."""
    planned = {p.number: p for p in partitions.stored(ctx.staging, ctx.md, ctx.run_id, entity)}
    number = asked.get("number")
    found = planned.get(number) if isinstance(number, int) else None
    if found is None or (found.lo, found.hi) != (asked.get("lo"), asked.get("hi")):
        raise RunStateError(f"{entity}: partition {asked} is not one the run {ctx.run_id} planned")
    return found


def end_run(
    workdir: str,
    mappings: str,
    run_id: str,
    mode: str,
    entities: list[str],
    failed: list[str],
    config: str | None = None,
) -> str:
    """Close the run: ``complete`` or ``failed`` (its delta watermarks were recorded when it
    started); returns the status."""
    settings = settings_for(workdir, config)
    status = "failed" if failed else "complete"
    values: dict[str, object] = {"STATUS": status, "ENDED_AT": runs.now()}
    url, schema = runner.staging_target(settings, mode)
    event = hooks.RunEvent(run_id, mode, redact(url), schema)
    with console.whole(), staging(settings, mode) as (engine, md):
        runs.set_run(engine, md, run_id, **values)
    if failed:
        hooks.on_run_failed(settings, dataclasses.replace(event, error=f"failed: {failed}"))
    else:
        hooks.on_run_completed(settings, event)
    return status


def reconcile(
    workdir: str,
    mappings: str,
    run_id: str,
    entities: list[str] | None,
    output: str | None = None,
    config: str | None = None,
) -> dict[str, object]:
    """Reconcile the run (only the selected entities) and keep it as the run's next
    numbered reconciliation; returns its verdict, number, workbook path and SHA-256."""
    from migrate.progress import ReconcileProgress
    from reconcile.reports.history import record
    from reconcile.run import locate_run, print_entity, reconcile_run

    settings = settings_for(workdir, config)
    folder = Path(output) if output else settings.artifacts
    url, schema, run_id = locate_run(settings, run_id)
    # a domain or entity selection: entities outside it were not staged by this run
    project = load_project(Path(mappings), entities)
    shown = console.current()
    quiet = shown is not None and shown.progress is None
    if shown is not None and not quiet:
        print(f"    reconciling run {run_id}", flush=True)
    lines = None if shown is None or quiet else ReconcileProgress()  # on the terminal
    report = reconcile_run(
        settings, project, run_id, None, None if quiet else print_entity, progress=lines
    )
    with console.whole():  # Ctrl-C: recorded whole, or not at all
        ev = record(settings, report, folder, url, schema)
    return {
        "verdict": report.verdict,
        "number": ev.number,
        "workbook": str(ev.workbook),
        "sha256": ev.workbook_sha256,
        "differences": str(ev.differences),
        "exceptions": sum(len(e.exceptions) for e in report.entities),
    }


def run_info(workdir: str, run_id: str, config: str | None = None) -> runs.RunInfo:
    settings = settings_for(workdir, config)
    for mode in ("full", "rehearsal"):
        with staging(settings, mode) as (engine, md):
            try:
                return runs.get_run(engine, md, run_id)
            except RunStateError:
                continue
    raise RunStateError(f"unknown run id {run_id!r}")
