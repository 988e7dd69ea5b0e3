"""Run one entity end to end, chunk by chunk: extract, transform, validate, load.

Each chunk ends in exactly one place per row (invariant 2): loaded into the target table,
rejected into ``MIG_REJECTS`` with a reason, or filtered into ``MIG_FILTERED`` by a named
rule; all of it, plus key-map entries, the warnings on loaded rows (``MIG_WARNINGS``) and
the progress record, in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor

import pandas as pd
import pandera.pandas as pa
from sqlalchemy import Connection, Engine, MetaData, Table
from sqlalchemy.exc import IntegrityError

from migrate.errors import TerminalError
from migrate.extract.chunks import Chunk
from migrate.load import key_lookups, keymap, staged_checks, statistics
from migrate.load.bulk import BackgroundWrites, delete_staged, stage_rows
from migrate.load.outcomes import filtered_rows, reject_rows, with_lineage
from migrate.load.retry import is_duplicate_key, with_retries
from migrate.runs import partitions
from migrate.runs import records as runs
from migrate.runs.partitions import BATCH_STRIDE, WHOLE, Partition

# Context and EntityResult: reached as ``pipeline.<name>`` by the flows and tests
from migrate.runs.pipeline_types import Context as Context
from migrate.runs.pipeline_types import EntityResult as EntityResult
from migrate.runs.pipeline_types import Prepared, Progress
from migrate.runs.source_chunks import chunks_for
from migrate.spec.model import EntitySpec
from migrate.transform.engine import key_string, transform
from migrate.transform.failures import Failures
from migrate.transform.rowhash import source_hashes
from migrate.validate.coerce import coerce
from migrate.validate.rules import apply_checks
from migrate.validate.schema import compile_schema, validate
from migrate.validate.warnings import warning_rows

log = logging.getLogger("migrate.pipeline")


def _table(md: MetaData, name: str) -> Table:
    return md.tables[f"{md.schema}.{name}" if md.schema else name]


def run_entity(
    ctx: Context,
    name: str,
    progress: Progress | None = None,
    delta_after: object | None = None,
    partition: Partition | None = None,
) -> EntityResult:
    """Migrate one entity (or one key-range partition of it) for the run, resuming after
    its last committed chunk; a planned partition is marked done at the end."""
    spec = ctx.project.spec(name)
    table = _table(ctx.md, spec.target.table)
    schema = compile_schema(spec, table)
    result = EntityResult(name)
    part = partition or WHOLE
    stride = BATCH_STRIDE if partition is not None else 0
    resume = runs.resume_point(ctx.staging, ctx.md, ctx.run_id, name, part.first_batch, stride)
    started = time.perf_counter()
    begin = getattr(progress, "begin", None)
    if begin is not None:
        begin(name)

    def due(chunk: Chunk) -> bool:
        """Statistics are refreshed as the table grows: after chunks 1, 4, 16, 64, 256."""
        return chunk.batch_id - part.first_batch + 1 in (1, 4, 16, 64, 256)

    def finished(chunk: Chunk, counts: dict[str, int], t0: float, analysed: bool = False) -> None:
        """Bookkeeping once a chunk has committed."""
        result.batches += 1
        if due(chunk) and not analysed:
            refresh_statistics(ctx, spec)
        log.info("%s batch %d: %s in %.2fs", name, chunk.batch_id, counts, time.perf_counter() - t0)
        if progress:
            progress(name, result.rows_in, result.loaded, result.rejected)

    overlap = (
        _overlap(ctx, spec, table, schema, result, finished, due)
        if can_overlap(ctx, spec)
        else None
    )
    # lookups answered on a connection of their own while the chunk's other fields are
    # computed: only beside an overlapped write (its entity cannot change the key map)
    ahead = (
        ThreadPoolExecutor(1, thread_name_prefix=f"lookup-{name}")
        if overlap is not None and any(f.lookup for f in spec.fields.values())
        else None
    )
    try:
        for chunk in chunks_for(ctx, spec, resume, delta_after, part):
            if stride and chunk.batch_id >= part.first_batch + stride:
                raise TerminalError(
                    f"{name} partition {part.label()}: more than {stride:,} chunks; "
                    "use a larger chunk size or more partitions"
                )
            t0 = time.perf_counter()
            counts = with_retries(
                lambda chunk=chunk: _load_chunk(  # type: ignore[misc]
                    ctx, spec, table, schema, chunk, result, overlap, ahead
                ),
                f"{name} batch {chunk.batch_id}",
            )
            if overlap is None:
                finished(chunk, counts, t0)
            else:
                overlap.advance()
        if overlap is not None:
            overlap.settle()
    finally:
        if overlap is not None:
            overlap.close()
        if ahead is not None:
            ahead.shutdown(wait=True)
    refresh_statistics(ctx, spec, final=True)
    result.seconds = time.perf_counter() - started
    if partition is not None:
        partitions.mark_done(
            ctx.staging, ctx.md, ctx.run_id, name, partition, result.rows_in, result.seconds
        )
    return result


def can_overlap(ctx: Context, spec: EntitySpec) -> bool:
    """Whether a chunk may be prepared while the one before it is still being written.

    Only when preparing cannot read anything that write changes: no ERP keys issued (the
    key map and its next number), no unique checks or possible duplicates against staged
    rows, no delta replacements. Lookups then read key maps and rejects of other entities
    only, committed before this one started. On PostgreSQL, where the server ingests the
    COPY on a core of its own meanwhile.
    """
    return (
        ctx.staging.dialect.name == "postgresql"
        and ctx.mode != "delta"
        and spec.issues_keys is None
        and not any(check.unique or check.possible_duplicate for check in spec.checks)
    )


def _overlap(
    ctx: Context,
    spec: EntitySpec,
    table: Table,
    schema: pa.DataFrameSchema,
    result: EntityResult,
    finished: Callable[[Chunk, dict[str, int], float, bool], None],
    due: Callable[[Chunk], bool],
) -> BackgroundWrites[Prepared]:
    """Chunks written in the background (and statistics refreshed there when due); a failed
    write is redone here the usual way (retries, then checking each key), and an error it
    raises again stops the entity."""

    def write(ready: Prepared) -> None:
        with ctx.staging.begin() as conn:
            write_chunk(ctx, spec, table, conn, ready)
        if due(ready.chunk):
            try:
                refresh_statistics(ctx, spec)
            except Exception as exc:  # committed already: this must not look like a failed write
                log.warning("%s: statistics not refreshed (%s)", spec.entity, type(exc).__name__)

    def done(ready: Prepared, error: BaseException | None) -> None:
        chunk, counts = ready.chunk, ready.counts
        if error is None:
            _fold(result, ready)
        else:
            what = f"{spec.entity} batch {chunk.batch_id}"
            log.info("%s: write failed (%s); redoing it", what, type(error).__name__)
            counts = with_retries(
                lambda: _load_chunk(ctx, spec, table, schema, chunk, result), what
            )
        finished(chunk, counts, ready.started, error is None)

    return BackgroundWrites(f"load-{spec.entity}", write, done)


def _load_chunk(
    ctx: Context,
    spec: EntitySpec,
    table: Table,
    schema: pa.DataFrameSchema,
    chunk: Chunk,
    result: EntityResult,
    overlap: BackgroundWrites[Prepared] | None = None,
    ahead: Executor | None = None,
) -> dict[str, int]:
    """Load optimistically; if a target key is already staged, redo the chunk checking each.

    The unique constraint on every target key is the guard, so the per-row lookup of staged
    keys (a query per 1,000 keys) is only paid by the rare chunk that collides. With
    ``overlap`` the chunk is only prepared here and written in the background.
    """
    try:
        return process_chunk(ctx, spec, table, schema, chunk, result, False, overlap, ahead)
    except Exception as exc:
        if not unique_violation(ctx.staging, exc):
            raise
        log.info(
            "%s batch %d: target keys already staged; checking each", spec.entity, chunk.batch_id
        )
        return process_chunk(ctx, spec, table, schema, chunk, result, check_existing=True)


def unique_violation(engine: Engine, exc: BaseException) -> bool:
    """A duplicate key, from SQLAlchemy or straight from the driver (bulk loads write
    through the raw DB-API cursor, whose errors SQLAlchemy does not wrap)."""
    dbapi = engine.dialect.dbapi
    driver_error = getattr(dbapi, "IntegrityError", None) if dbapi is not None else None
    integrity = isinstance(exc, IntegrityError) or (
        isinstance(driver_error, type) and isinstance(exc, driver_error)
    )
    return integrity and is_duplicate_key(exc)


def refresh_statistics(ctx: Context, spec: EntitySpec, final: bool = False) -> None:
    """Planner statistics for what the entity writes (:mod:`migrate.load.statistics`): the
    queried columns as its tables grow, whole tables once it is done."""
    statistics.refresh_statistics(ctx.staging, ctx.md, spec, final)


def process_chunk(
    ctx: Context,
    spec: EntitySpec,
    table: Table,
    schema: pa.DataFrameSchema,
    chunk: Chunk,
    result: EntityResult,
    check_existing: bool = True,
    overlap: BackgroundWrites[Prepared] | None = None,
    ahead: Executor | None = None,
) -> dict[str, int]:
    """Transform, validate and write one chunk in one transaction (rows, rejects, filtered
    rows, key-map entries, progress). With ``overlap`` the chunk is prepared on a connection
    of its own and handed over, to be written in that one transaction in the background."""
    t0 = time.perf_counter()
    if overlap is not None:
        with ctx.staging.connect() as conn:
            ready = prepare_chunk(ctx, spec, table, schema, chunk, conn, False, t0, ahead)
        overlap.hand_over(ready)
        return ready.counts
    with ctx.staging.begin() as conn:
        ready = prepare_chunk(ctx, spec, table, schema, chunk, conn, check_existing, t0)
        write_chunk(ctx, spec, table, conn, ready)
    _fold(result, ready)
    return ready.counts


def prepare_chunk(
    ctx: Context,
    spec: EntitySpec,
    table: Table,
    schema: pa.DataFrameSchema,
    chunk: Chunk,
    conn: Connection,
    check_existing: bool,
    started: float,
    ahead: Executor | None = None,
) -> Prepared:
    """Everything up to the write: reads staging (key maps, rejects, staged keys) and, for an
    entity that issues keys, writes its key-map entries."""
    if spec.variants is not None:  # one source row, several target rows
        from migrate.runs.variant_chunk import prepare_variants

        return prepare_variants(ctx, spec, table, chunk, conn, check_existing, started)
    crosswalks = {n: c.codes for n, c in ctx.project.crosswalks.items()}
    resolver = key_lookups.resolver(
        conn, ctx.md, ctx.project.issuer_of, None if ahead is None else (ctx.staging, ahead)
    )
    # the lineage hash of every source row, computed while the key map answers lookups
    hashes: list[pd.Series] = []
    try:
        out = transform(
            spec,
            chunk.rows,
            crosswalks,
            resolver,
            where=spec.entity,
            meanwhile=lambda: hashes.append(source_hashes(chunk.rows)),
        )
    finally:
        resolver.close()
    frame = coerce(out.frame, table, out.failures, spec.cents_fields())
    validate(schema, frame, out.frame, out.failures)
    if check_existing:
        staged_checks.already_staged(conn, ctx.mode, spec, table, frame, out.failures)
    _duplicate_legacy_keys(spec, chunk, frame, out.failures)
    history = staged_checks.unique_history(
        conn, ctx.mode, ctx.md, spec, table, frame, out.source_keys
    )
    apply_checks(spec.checks, frame, out.failures, history)
    bad = out.failures.any_mask()
    accepted = frame[~bad]
    merged = keymap.issue_for_chunk(conn, ctx.md, ctx.run_id, spec, accepted, out, chunk.rows)
    accepted = accepted.drop(index=merged)
    if check_existing and spec.issues_keys is not None:
        # the target key may be the ERP key just issued (reused from the key map): only
        # now can a row staged by an earlier run be recognised
        staged_checks.already_staged(
            conn, ctx.mode, spec, table, accepted, out.failures, frame.index
        )
        bad = out.failures.any_mask()
        accepted = accepted[~bad.loc[accepted.index]]
    staged = with_lineage(accepted, chunk, out, ctx.run_id, spec, hashes[0])
    rejects = reject_rows(out, bad, chunk, ctx.run_id, spec)
    filtered = filtered_rows(out, merged, chunk, ctx.run_id, spec)
    counts = {
        "rows_in": len(chunk.rows),
        "loaded": len(staged),
        "rejected": len(rejects),
        "filtered": len(filtered),
    }
    assert counts["rows_in"] == counts["loaded"] + counts["rejected"] + counts["filtered"], (
        f"{spec.entity} batch {chunk.batch_id}: rows lost {counts}"
    )
    warnings = warning_rows(conn, spec, table, staged, ctx.run_id, chunk.batch_id)
    return Prepared(chunk, staged, rejects, filtered, counts, started, warnings)


def write_chunk(
    ctx: Context, spec: EntitySpec, table: Table, conn: Connection, ready: Prepared
) -> None:
    """The chunk's writes, in the caller's transaction; the progress record goes last."""
    if ctx.mode == "delta":
        delete_staged(conn, ctx.md, ctx.run_id, table, spec.target.key, ready.staged)
    stage_rows(conn, table, ready.staged)
    if ready.rejects:
        conn.execute(_table(ctx.md, "MIG_REJECTS").insert(), ready.rejects)
    if ready.filtered:
        conn.execute(_table(ctx.md, "MIG_FILTERED").insert(), ready.filtered)
    if ready.warnings:
        conn.execute(_table(ctx.md, "MIG_WARNINGS").insert(), ready.warnings)
    runs.record_progress(
        conn,
        ctx.md,
        ctx.run_id,
        spec.entity,
        ready.chunk.batch_id,
        ready.counts,
        ready.chunk.last_key,
        time.perf_counter() - ready.started,
    )


def _fold(result: EntityResult, ready: Prepared) -> None:
    for name in ("rows_in", "loaded", "rejected", "filtered"):
        setattr(result, name, getattr(result, name) + ready.counts[name])
    result.warnings += len(ready.warnings)
    for r in ready.rejects:
        reason = str(r["REASON_CODE"])
        result.reasons[reason] = result.reasons.get(reason, 0) + 1


def _duplicate_legacy_keys(
    spec: EntitySpec, chunk: Chunk, frame: pd.DataFrame, failures: Failures
) -> None:
    """Two rows with one legacy key would get one ERP key: the later ones are duplicates."""
    ik = spec.issues_keys
    if ik is None or frame.empty:
        return
    ok = ~failures.any_mask()
    legacy = key_string(chunk.rows.loc[frame.index], ik.legacy)
    dup = legacy.where(ok).duplicated(keep="first") & ok & legacy.notna()
    failures.add(dup, ik.column, "duplicate_key", legacy)
