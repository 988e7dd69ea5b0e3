"""A chunk of an entity with variants, prepared for its one transaction.

As :func:`migrate.runs.pipeline.prepare_chunk`, with the variants stacked
(:mod:`migrate.transform.variants`): checks see a source row's target rows together, a
source row is staged with all its variants or rejected once, and the counts stay per
source row (``loaded`` = source rows staged; each staged source row is exactly one target
row per variant, asserted here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Connection, Table

from migrate.load import key_lookups, staged_checks
from migrate.load.outcomes import filtered_rows, reject_rows, with_lineage
from migrate.spec.model import EntitySpec
from migrate.transform import variants
from migrate.transform.rowhash import source_hashes
from migrate.validate.rules import apply_checks
from migrate.validate.warnings import warning_rows

if TYPE_CHECKING:
    from migrate.extract.chunks import Chunk
    from migrate.runs.pipeline_types import Context, Prepared


def prepare_variants(
    ctx: Context,
    spec: EntitySpec,
    table: Table,
    chunk: Chunk,
    conn: Connection,
    check_existing: bool,
    started: float,
) -> Prepared:
    from migrate.runs.pipeline_types import Prepared

    assert spec.variants is not None
    crosswalks = {n: c.codes for n, c in ctx.project.crosswalks.items()}
    resolver = key_lookups.resolver(conn, ctx.md, ctx.project.issuer_of, None)
    hashes: list[pd.Series] = []
    try:
        ex = variants.expand(
            spec,
            chunk.rows,
            crosswalks,
            resolver,
            table,
            where=spec.entity,
            meanwhile=lambda: hashes.append(source_hashes(chunk.rows)),
        )
    finally:
        resolver.close()
    if check_existing:
        staged_checks.already_staged(conn, ctx.mode, spec, table, ex.frame, ex.failures)
    variants.spread(ex)  # before the row-set checks: a half journal is no journal
    history = staged_checks.unique_history(
        conn, ctx.mode, ctx.md, spec, table, ex.frame, ex.out.source_keys
    )
    apply_checks(spec.checks, ex.frame, ex.failures, history)
    variants.spread(ex)  # a check that failed one line fails its source row's others
    bad = ex.failures.any_mask()
    accepted = ex.frame[~bad]
    lines = pd.Series(hashes[0].loc[ex.origin.to_numpy()].to_numpy(), index=ex.origin.index)
    staged = with_lineage(accepted, chunk, ex.out, ctx.run_id, spec, lines)
    source, rejected = variants.per_source(ex)
    rejects = reject_rows(source, rejected, chunk, ctx.run_id, spec)
    filtered = filtered_rows(source, pd.Index([]), chunk, ctx.run_id, spec)
    per_row = len(spec.variants)
    assert len(staged) % per_row == 0, f"{spec.entity} batch {chunk.batch_id}: half a row staged"
    counts = {
        "rows_in": len(chunk.rows),
        "loaded": len(staged) // per_row,
        "rejected": len(rejects),
        "filtered": len(filtered),
    }
    assert counts["rows_in"] == counts["loaded"] + counts["rejected"] + counts["filtered"], (
        f"{spec.entity} batch {chunk.batch_id}: rows lost {counts}"
    )
    warnings = warning_rows(conn, spec, table, staged, ctx.run_id, chunk.batch_id)
    return Prepared(chunk, staged, rejects, filtered, counts, started, warnings)
