"""Targets: where a run stages (:mod:`.locate`) and what staging is, declared as data.

A target definition (YAML) declares a staging table: its columns, types, required flags,
allowed values, formats, key and indexes (:mod:`.definition`, read by :mod:`.loader`). It
can be imported from a vendor's published layout (:mod:`.fbdi`), reflected from a table a
DBA created (:mod:`.reflect`), built into SQLAlchemy tables with the tool's own lineage
columns (:mod:`.build`) and checked against the live table (:mod:`.drift`).
"""

from __future__ import annotations

from migrate.targets.locate import Located, has_staging, locate_run, staging_target

__all__ = ["Located", "has_staging", "locate_run", "staging_target"]
