"""Load: transformed, validated rows written into staging, with their keys and lineage.

``bulk``          COPY on PostgreSQL, large ``executemany`` batches elsewhere; one chunk written
                  while the next is prepared
``keymap``        new ERP keys for legacy keys, persisted in staging
``key_lookups``   the ERP keys issued for legacy keys, looked up; the transform's resolver
``supplier_merge`` a later system's supplier matched to one staged (tax id, name and address)
``outcomes``      loaded rows get their lineage columns; rejects and filtered rows their records
``staged_checks`` a chunk checked against rows an earlier chunk or run staged
``retry``         which failures are transient, and a chunk retried with back-off
``statistics``    planner statistics refreshed as staging tables grow
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate.load.bulk import BackgroundWrites, delete_staged, stage_rows
    from migrate.load.key_lookups import KeyResolver, lookup
    from migrate.load.keymap import issue
    from migrate.load.outcomes import filtered_rows, reject_rows, with_lineage
    from migrate.load.retry import is_transient, with_retries
    from migrate.load.staged_checks import already_staged
    from migrate.load.statistics import refresh_statistics

__all__ = [
    "BackgroundWrites",
    "KeyResolver",
    "already_staged",
    "delete_staged",
    "filtered_rows",
    "is_transient",
    "issue",
    "lookup",
    "refresh_statistics",
    "reject_rows",
    "stage_rows",
    "with_lineage",
    "with_retries",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "BackgroundWrites": "bulk",
    "KeyResolver": "key_lookups",
    "already_staged": "staged_checks",
    "delete_staged": "bulk",
    "filtered_rows": "outcomes",
    "is_transient": "retry",
    "issue": "keymap",
    "lookup": "key_lookups",
    "refresh_statistics": "statistics",
    "reject_rows": "outcomes",
    "stage_rows": "bulk",
    "with_lineage": "outcomes",
    "with_retries": "retry",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
