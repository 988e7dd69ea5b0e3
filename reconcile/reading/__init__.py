"""How reconciliation reads a side, with its own code: never the pipeline's.

``sources``       the legacy side of an entity: SQL pushed down, or a flat file
``staging_side``  the staging side for one run: staged rows, rejects, filtered rows
``relation``      a row source answered by SQL in one database; ``stream`` by Python
``amount_sql``, ``bucket_sql``, ``driver_rows``  a compared amount as SQL, the SQL of bucket
                  questions, and the driver's rows decoded, for ``relation``
``rows``          what both sides answer, whatever they are
``arrowside``, ``arrowpg``, ``arrowread``, ``arrowbase``, ``arrowcalc``  full scans read as
                  Arrow batches and summed with numpy (SQLite, PostgreSQL)
``files``, ``fixed_records``  its own readers of delimited and fixed-width extracts
``money``, ``numbers``, ``rounding``  its own exact readers of amounts, numbers, days and
                  flags, and of a money step's rounding policy
``sqltext``       SQL fragments per dialect; ``hashing`` key hashes both databases compute
``kepthashes``, ``blockranges``, ``coltypes``, ``textrule``, ``cached``
``exported_files``, ``exported_staging``, ``exported_values``  an export's files and its
                  staged rows, read for its proof
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconcile.reading.files import file_records
    from reconcile.reading.money import InvalidAmount, parse_cents
    from reconcile.reading.relation import Relation
    from reconcile.reading.rounding import reading_of
    from reconcile.reading.rows import RowSource, Scan, Totals
    from reconcile.reading.sources import SourcePlan, plan_source
    from reconcile.reading.staging_side import Staging, staged_relation
    from reconcile.reading.stream import StreamSource

__all__ = [
    "InvalidAmount",
    "Relation",
    "RowSource",
    "Scan",
    "SourcePlan",
    "Staging",
    "StreamSource",
    "Totals",
    "file_records",
    "parse_cents",
    "plan_source",
    "reading_of",
    "staged_relation",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "InvalidAmount": "money",
    "Relation": "relation",
    "RowSource": "rows",
    "Scan": "rows",
    "SourcePlan": "sources",
    "Staging": "staging_side",
    "StreamSource": "stream",
    "Totals": "rows",
    "file_records": "files",
    "parse_cents": "money",
    "plan_source": "sources",
    "reading_of": "rounding",
    "staged_relation": "staging_side",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
