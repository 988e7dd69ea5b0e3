"""An entity that read rows and staged none of them: one warning line naming why.

"PASS after a run that staged nothing" was a defect class: a second ``migrate run`` in the
same staging rejects every row as ``duplicate_key`` and used to end like a success. The
line names the reasons that took the rows and, for ``duplicate_key``, the runs whose rows
are in the way (what to roll back). A delta that read no rows is normal: no line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, MetaData, Table, select
from sqlalchemy.exc import SQLAlchemyError

from migrate.runs.pipeline_types import EntityResult

log = logging.getLogger("migrate.runner")
SHOWN_RUNS = 3  # more runs in the way than this: the first few are enough to act on


def staged_none_line(result: EntityResult, staged_by: list[str]) -> str | None:
    """The warning for an entity that read rows and staged none (``None`` otherwise);
    ``staged_by``: the runs (newest first) whose rows of the entity are already staged."""
    if result.rows_in == 0 or result.loaded > 0:
        return None
    reasons = sorted(result.reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = []
    for reason, n in reasons:
        part = f"{reason} {n:,}"
        if reason == "duplicate_key" and staged_by:
            runs = "run" if len(staged_by) == 1 else "runs"
            part += f": already staged by {runs} {', '.join(staged_by[:SHOWN_RUNS])}"
            if len(staged_by) > SHOWN_RUNS:
                part += f" (+{len(staged_by) - SHOWN_RUNS} more)"
        parts.append(part)
    said = ", ".join(parts)
    if result.filtered:
        said = f"{said}; {result.filtered:,} filtered" if said else f"{result.filtered:,} filtered"
    if result.rejected and result.filtered:
        every = "every row rejected or filtered"
    elif result.rejected:
        every = "every row rejected"
    else:
        every = "every row filtered"
    line = f"warning: {result.entity} staged 0 of {result.rows_in:,} rows: {every} ({said})"
    if staged_by and "duplicate_key" in result.reasons:
        which = "that run" if len(staged_by) == 1 else "those runs"
        line += f"; roll {which} back first or run a delta"
    return line


def staged_by(engine: Engine, md: MetaData, table: str, entity: str, run_id: str) -> list[str]:
    """The other runs whose rows of ``entity`` are staged in ``table``, newest first (a run
    id sorts by its start); empty when the staging cannot say (the line still stands)."""
    try:
        target = Table(table, MetaData(schema=md.schema), autoload_with=engine)
        stmt = (
            select(target.c["MIG_RUN_ID"])
            .where(target.c["MIG_ENTITY"] == entity, target.c["MIG_RUN_ID"] != run_id)
            .distinct()
            .order_by(target.c["MIG_RUN_ID"].desc())
        )
        with engine.connect() as conn:
            return [str(r) for (r,) in conn.execute(stmt)]
    except (SQLAlchemyError, KeyError) as exc:  # a warning without the run ids is still one
        log.info("%s: runs already staged not found (%s)", entity, type(exc).__name__)
        return []


def staged_none_lines(
    engine: Engine, md: MetaData, tables: dict[str, str], run_id: str, results: list[EntityResult]
) -> list[str]:
    """One warning per entity of the run that read rows and staged none (``tables``: each
    entity's target table)."""
    lines = []
    for result in results:
        if result.rows_in == 0 or result.loaded > 0:
            continue
        others: list[str] = []
        if "duplicate_key" in result.reasons and result.entity in tables:
            others = staged_by(engine, md, tables[result.entity], result.entity, run_id)
        line = staged_none_line(result, others)
        if line is not None:
            lines.append(line)
    return lines


def outcome_line(entity: str, outcome: Mapping[str, Any]) -> str | None:
    """The same warning from a cutover's entity outcome (:func:`flows.load.outcome`: counts
    summed over its partitions, each partition's result, with ``staged_by`` when it read
    rows, staged none and had ``duplicate_key`` rejects)."""
    if outcome.get("status") != "completed":
        return None
    result = EntityResult(
        entity,
        rows_in=int(outcome.get("rows_in", 0)),
        loaded=int(outcome.get("loaded", 0)),
        rejected=int(outcome.get("rejected", 0)),
        filtered=int(outcome.get("filtered", 0)),
        reasons={str(k): int(v) for k, v in dict(outcome.get("reasons") or {}).items()},
    )
    parts = list(outcome.get("partitions") or [outcome])
    runs = {str(r) for part in parts for r in (part.get("staged_by") or [])}
    return staged_none_line(result, sorted(runs, reverse=True))
