"""Targets: where a run stages (:mod:`.locate`) and what staging is, declared as data.

A target definition (YAML) declares a staging table: its columns, types, required flags,
allowed values, formats, key and indexes (:mod:`.definition`, read by :mod:`.loader`). It
can be imported from a vendor's published layout (:mod:`.fbdi`), reflected from a table a
DBA created (:mod:`.reflect`), built into SQLAlchemy tables with the tool's own lineage
columns (:mod:`.build`) and checked against the live table (:mod:`.drift`). The shipped
staging tables are such definitions, a pack generated from vendor layouts (:mod:`.pack`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate.targets.locate import Located, has_staging, locate_run, staging_target

__all__ = ["Located", "has_staging", "locate_run", "staging_target"]


def __getattr__(name: str) -> Any:
    """The run-locating names, imported when first asked for: :mod:`.locate` pulls in the
    loader (pandas, Arrow), which building the staging tables from the pack does not need."""
    if name in __all__:
        from migrate.targets import locate

        return getattr(locate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
