"""Runs: the stages put together, and what a run leaves for resume, rollback and audit.

``runner``        whole runs: full, rehearsal and delta runs over every entity, and resume
``pipeline``      one entity chunk by chunk: extract, transform, validate, load
``pipeline_types`` what running an entity takes and gives: its context, result, a prepared chunk
``source_chunks`` an entity's chunks from its flat file or database, resumed and partitioned
``variant_chunk`` a chunk of an entity with variants, prepared for its one transaction
``partitions``    key-range partitions: the unit of parallel and resumable work
``records``       the run record, per-chunk progress, and what a resume must skip
``lock``          one writer per staging
``rollback``      undoing runs; ``run_dependents`` the live runs that refer to a run's keys
                  (its rollback refused, or cascaded); ``replaced_rows`` what a delta run
                  replaced, brought back; ``brin_summaries`` a rolled-back run's BRIN ranges
``history``       each run's figures, kept after a rollback; rehearsals compared
``hooks``         run events for lineage and the audit trail
``locate``        which staging a run wrote to (the real one or its rehearsal's)
``listing``       ``migrate runs``; ``plan`` ``migrate run --dry-run``
``preflight``     checks before a run's first chunk; ``failure`` an escaped error in one line
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate.runs.listing import list_runs
    from migrate.runs.locate import Located, has_staging, locate_run, staging_target
    from migrate.runs.lock import run_lock
    from migrate.runs.pipeline import run_entity
    from migrate.runs.pipeline_types import Context, EntityResult
    from migrate.runs.plan import plan_run
    from migrate.runs.records import RunInfo, get_run, latest_run, new_run_id
    from migrate.runs.rollback import rollback_cascade, rollback_run
    from migrate.runs.runner import RunSummary, resume_run, run_migration

__all__ = [
    "Context",
    "EntityResult",
    "Located",
    "RunInfo",
    "RunSummary",
    "get_run",
    "has_staging",
    "latest_run",
    "list_runs",
    "locate_run",
    "new_run_id",
    "plan_run",
    "resume_run",
    "rollback_cascade",
    "rollback_run",
    "run_entity",
    "run_lock",
    "run_migration",
    "staging_target",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "Context": "pipeline_types",
    "EntityResult": "pipeline_types",
    "Located": "locate",
    "RunInfo": "records",
    "RunSummary": "runner",
    "get_run": "records",
    "has_staging": "locate",
    "latest_run": "records",
    "list_runs": "listing",
    "locate_run": "locate",
    "new_run_id": "records",
    "plan_run": "plan",
    "resume_run": "runner",
    "rollback_cascade": "rollback",
    "rollback_run": "rollback",
    "run_entity": "pipeline",
    "run_lock": "lock",
    "run_migration": "runner",
    "staging_target": "locate",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
